/* The two ENI XML documents of an export, built as libxml2 trees (values become text nodes, so
 * user data is escaped by the library, never concatenated): a document's enidoc:documento and
 * the expedient's eniexp:expediente holding the index and the expedient metadata. Element
 * order follows the NTI v1.0 schemas. */
#include <libxml/xmlstring.h>
#include <stdio.h>
#include <string.h>

#include "connectors/eni/eni_internal.h"

/* The default regulation of CSV generation when the municipality configures none. */
static const char default_regulation[] = "Ley 40/2015, art. 42.b); Real Decreto 203/2021";

/* Builder state: the first value that is not UTF-8 is remembered and fails the build. */
struct builder {
	xmlDocPtr doc;
	const char *bad_field;
};

static xmlNodePtr add(struct builder *b, xmlNodePtr parent, xmlNsPtr ns, const char *name,
                      const char *value)
{
	if (value && !xmlCheckUTF8(BAD_CAST value)) {
		if (!b->bad_field)
			b->bad_field = name;
		value = "";
	}
	return xmlNewTextChild(parent, ns, BAD_CAST name, value ? BAD_CAST value : NULL);
}

static int finish(struct builder *b, xmlChar **out, int *len, const char *what,
                  struct conn_eni_error *err)
{
	*out = NULL;
	if (b->bad_field) {
		xmlFreeDoc(b->doc);
		return eni__fail(err, CONN_ENI_EFAIL, "%s: %s: the value is not UTF-8", what, b->bad_field);
	}
	xmlDocDumpFormatMemoryEnc(b->doc, out, len, "UTF-8", 1);
	xmlFreeDoc(b->doc);
	if (!*out)
		return eni__fail(err, CONN_ENI_EFAIL, "%s: out of memory serialising the XML", what);
	return 0;
}

static xmlNodePtr new_root(struct builder *b, const char *ns_uri, const char *prefix,
                           const char *name, xmlNsPtr *ns)
{
	b->doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr root = xmlNewDocNode(b->doc, NULL, BAD_CAST name, NULL);
	xmlDocSetRootElement(b->doc, root);
	*ns = xmlNewNs(root, BAD_CAST ns_uri, BAD_CAST prefix);
	xmlSetNs(root, *ns);
	return root;
}

static void document_metadata(struct builder *b, xmlNodePtr root, const struct eni__doc *d,
                              const char *organ)
{
	xmlNsPtr ns = xmlNewNs(root, BAD_CAST ENI_NS_DOC_META, BAD_CAST "enidocmeta");
	xmlNodePtr meta = add(b, root, ns, "metadatos", NULL);
	add(b, meta, ns, "VersionNTI", ENI_NS_DOC);
	add(b, meta, ns, "Identificador", d->id);
	add(b, meta, ns, "Organo", organ);
	add(b, meta, ns, "FechaCaptura", d->captured_at);
	/* 0 citizen, 1 administration (DOMAIN.md 10.1). */
	add(b, meta, ns, "OrigenCiudadanoAdministracion", d->origin ? d->origin : "1");
	xmlNodePtr state = add(b, meta, ns, "EstadoElaboracion", NULL);
	add(b, state, ns, "ValorEstadoElaboracion", d->state);
	if (d->origin_id)
		add(b, state, ns, "IdentificadorDocumentoOrigen", d->origin_id);
	add(b, meta, ns, "TipoDocumental", d->doc_type);
}

static void document_signature(struct builder *b, xmlNodePtr root, const struct eni__doc *d,
                               const char *regulation)
{
	xmlNsPtr ns = xmlNewNs(root, BAD_CAST ENI_NS_SIGNATURE, BAD_CAST "enids");
	xmlNodePtr firma = add(b, add(b, root, ns, "firmas", NULL), ns, "firma", NULL);
	add(b, firma, ns, "TipoFirma", "TF01");
	xmlNodePtr csv = add(b, add(b, firma, ns, "ContenidoFirma", NULL), ns, "CSV", NULL);
	add(b, csv, ns, "ValorCSV", d->csv);
	add(b, csv, ns, "RegulacionGeneracionCSV", regulation ? regulation : default_regulation);
}

int eni__document_xml(xmlChar **out, int *len, const struct eni__doc *d, const char *organ,
                      const char *regulation, struct conn_eni_error *err)
{
	struct builder b = {0};
	xmlNsPtr ns;
	xmlNodePtr root = new_root(&b, ENI_NS_DOC, "enidoc", "documento", &ns);
	xmlNsPtr content_ns = xmlNewNs(root, BAD_CAST ENI_NS_DOC_CONTENT, BAD_CAST "enifile");
	xmlNodePtr content = add(&b, root, content_ns, "contenido", NULL);
	add(&b, content, content_ns, "referenciaFichero", d->file);
	add(&b, content, content_ns, "NombreFormato", d->format);
	document_metadata(&b, root, d, organ);
	document_signature(&b, root, d, regulation);
	char what[200];
	snprintf(what, sizeof(what), "documents/%s.xml", d->id);
	return finish(&b, out, len, what, err);
}

static void index_content(struct builder *b, xmlNodePtr parent, const struct eni__doc *docs,
                          size_t n, const char *indexed_at)
{
	xmlNsPtr ns = xmlNewNs(parent, BAD_CAST ENI_NS_INDEX_CONTENT, BAD_CAST "eniconind");
	xmlNodePtr content = add(b, parent, ns, "IndiceContenido", NULL);
	add(b, content, ns, "FechaIndiceElectronico", indexed_at);
	for (size_t i = 0; i < n; i++) {
		char order[24];
		snprintf(order, sizeof(order), "%zu", i + 1);
		xmlNodePtr doc = add(b, content, ns, "DocumentoIndizado", NULL);
		add(b, doc, ns, "IdentificadorDocumento", docs[i].id);
		add(b, doc, ns, "ValorHuella", docs[i].sha256_b64);
		add(b, doc, ns, "FuncionResumen", ENI_HASH_SHA256);
		add(b, doc, ns, "FechaIncorporacionExpediente", docs[i].captured_at);
		add(b, doc, ns, "OrdenDocumentoExpediente", order);
	}
}

static void expedient_metadata(struct builder *b, xmlNodePtr root,
                               const struct conn_eni_expedient *x, const char *identifier)
{
	xmlNsPtr ns = xmlNewNs(root, BAD_CAST ENI_NS_EXP_META, BAD_CAST "eniexpmeta");
	xmlNodePtr meta = add(b, root, ns, "metadatosExp", NULL);
	add(b, meta, ns, "VersionNTI", ENI_NS_EXP);
	add(b, meta, ns, "Identificador", identifier);
	add(b, meta, ns, "Organo", x->organ);
	add(b, meta, ns, "FechaAperturaExpediente", x->opened_at);
	add(b, meta, ns, "Clasificacion", x->tramit_code);
	/* E01 Abierto: the store does not know which tràmit states are final (the definition
	 * does), so an export never claims the expedient closed. */
	add(b, meta, ns, "Estado", "E01");
	add(b, meta, ns, "Interesado", x->applicant_nif);
}

int eni__index_xml(xmlChar **out, int *len, const struct conn_eni_expedient *x,
                   const char *identifier, const struct eni__doc *docs, size_t n,
                   const char *indexed_at, struct conn_eni_error *err)
{
	struct builder b = {0};
	xmlNsPtr ns;
	xmlNodePtr root = new_root(&b, ENI_NS_EXP, "eniexp", "expediente", &ns);
	xmlNsPtr index_ns = xmlNewNs(root, BAD_CAST ENI_NS_INDEX, BAD_CAST "eniexpind");
	index_content(&b, add(&b, root, index_ns, "indice", NULL), docs, n, indexed_at);
	expedient_metadata(&b, root, x, identifier);
	return finish(&b, out, len, "index.xml", err);
}
