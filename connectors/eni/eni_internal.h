/* Shared internals of the ENI export: the NTI namespaces, one ENI document as written, and the
 * small file and hash helpers export.c and verify.c both use. */
#ifndef CONN_ENI_INTERNAL_H
#define CONN_ENI_INTERNAL_H

#include <libxml/tree.h>
#include <stddef.h>

#include "connectors/eni/eni.h"

/* The namespaces of the NTI ENI v1.0 schemas (DOMAIN.md names none; these are the published
 * XSDs' target namespaces). VersionNTI takes the document's or the expedient's namespace. */
#define ENI_NS_BASE "http://administracionelectronica.gob.es/ENI/XSD/v1.0/"
#define ENI_NS_DOC ENI_NS_BASE "documento-e"
#define ENI_NS_DOC_CONTENT ENI_NS_BASE "documento-e/contenido"
#define ENI_NS_DOC_META ENI_NS_BASE "documento-e/metadatos"
#define ENI_NS_SIGNATURE ENI_NS_BASE "firma"
#define ENI_NS_EXP ENI_NS_BASE "expediente-e"
#define ENI_NS_INDEX ENI_NS_BASE "expediente-e/indice-e"
#define ENI_NS_INDEX_CONTENT ENI_NS_BASE "expediente-e/indice-e/contenido"
#define ENI_NS_EXP_META ENI_NS_BASE "expediente-e/metadatos"
/* FuncionResumen: the XML Encryption URI names SHA-256 without ambiguity. */
#define ENI_HASH_SHA256 "http://www.w3.org/2001/04/xmlenc#sha256"

/* One ENI document of an export. Strings are borrowed from the expedient or static. */
struct eni__doc {
	char id[160];               /* ENI Identificador, also the file name stem */
	char file[176];             /* "<id>.<ext>" under documents/ */
	const char *format;         /* NombreFormato */
	const char *state;          /* ValorEstadoElaboracion: EE01 original, EE02 copy */
	const char *origin_id;      /* IdentificadorDocumentoOrigen for copies, else NULL */
	const char *doc_type;       /* TipoDocumental */
	const char *captured_at;    /* FechaCaptura and FechaIncorporacionExpediente */
	const char *csv;            /* ValorCSV (TipoFirma TF01) */
	const char *origin;         /* OrigenCiudadanoAdministracion: "0" citizen, "1" administration */
	const unsigned char *bytes;
	size_t len;
	const struct conn_eni_attachment *attachment; /* bytes streamed from the repository instead */
	char sha256_b64[48];
};

/* documents/<id>.xml: enidoc:documento. index.xml before sealing: eniexp:expediente. Both
 * return 0 with *out (xmlFree) of *len bytes, UTF-8, or CONN_ENI_EFAIL naming the field whose
 * value is not UTF-8. */
int eni__document_xml(xmlChar **out, int *len, const struct eni__doc *d, const char *organ,
                      const char *regulation, struct conn_eni_error *err);
int eni__index_xml(xmlChar **out, int *len, const struct conn_eni_expedient *x,
                   const char *identifier, const struct eni__doc *docs, size_t n,
                   const char *indexed_at, struct conn_eni_error *err);

/* Base64 of the SHA-256 of the bytes (44 characters and a NUL). */
void eni__sha256_b64(char out[48], const unsigned char *data, size_t len);
/* The same of a file's bytes, read a piece at a time; CONN_ENI_EFAIL naming the path. */
int eni__file_sha256_b64(char out[48], const char *path, struct conn_eni_error *err);
/* Whole-file read (*out malloc'd, NUL-terminated) and write; CONN_ENI_EFAIL naming the path. */
int eni__file_read(unsigned char **out, size_t *len, const char *path, struct conn_eni_error *err);
int eni__file_write(const char *path, const unsigned char *data, size_t len,
                    struct conn_eni_error *err);
int eni__fail(struct conn_eni_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
