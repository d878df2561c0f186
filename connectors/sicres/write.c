/* Writes a SICRES 3.0 exchange file from a record: segments and fields in the XSD's order,
 * no namespace, UTF-8. Every value is checked against the field's length first, so a file we
 * write is one our own reader accepts. */
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "connectors/sicres/sicres_internal.h"

struct writer {
	xmlNodePtr seg;
	const char *seg_name;
	int index;  /* 1-based position of a repeated segment, 0 for single ones */
	struct eng_arena arena;
	struct conn_sicres_error *err;
	int rc;
};

static void seg_open(struct writer *w, xmlNodePtr root, const char *name, int index)
{
	w->seg = xmlNewChild(root, NULL, BAD_CAST name, NULL);
	w->seg_name = name;
	w->index = index;
}

static const char *where(struct writer *w, const char *field)
{
	return w->index ? eng_arena_printf(&w->arena, "%s[%d]/%s", w->seg_name, w->index, field)
	                : eng_arena_printf(&w->arena, "%s/%s", w->seg_name, field);
}

/* One text field; NULL values are left out unless required. */
static void field(struct writer *w, const char *name, const char *value, bool required)
{
	if (w->rc)
		return;
	if (!value) {
		if (required)
			w->rc = sicres__fail(w->err, CONN_SICRES_EINVALID, "%s: required, and missing",
			                     where(w, name));
		return;
	}
	long chars = sicres__utf8_chars(value);
	int max = sicres__max_len(name);
	if (chars < 0)
		w->rc = sicres__fail(w->err, CONN_SICRES_EINVALID, "%s: not valid UTF-8", where(w, name));
	else if (max && chars > max)
		w->rc = sicres__fail(w->err, CONN_SICRES_EINVALID, "%s: %ld characters, at most %d",
		                     where(w, name), chars, max);
	else
		xmlNewTextChild(w->seg, NULL, BAD_CAST name, BAD_CAST value);
}

static void write_origin_destination(struct writer *w, xmlNodePtr root,
                                     const struct conn_sicres_record *r)
{
	seg_open(w, root, "De_Origen_o_Remitente", 0);
	field(w, "Codigo_Entidad_Registral_Origen", r->origin_code, true);
	field(w, "Decodificacion_Entidad_Registral_Origen", r->origin_name, false);
	field(w, "Numero_Registro_Entrada", r->entry_number, true);
	field(w, "Fecha_Hora_Entrada", r->entry_time, true);
	field(w, "Codigo_Unidad_Tramitacion_Origen", r->origin_unit, false);
	field(w, "Decodificacion_Unidad_Tramitacion_Origen", r->origin_unit_name, false);
	seg_open(w, root, "De_Destino", 0);
	field(w, "Codigo_Entidad_Registral_Destino", r->destination_code, true);
	field(w, "Decodificacion_Entidad_Registral_Destino", r->destination_name, false);
	field(w, "Codigo_Unidad_Tramitacion_Destino", r->destination_unit, false);
	field(w, "Decodificacion_Unidad_Tramitacion_Destino", r->destination_unit_name, false);
}

static void write_parties(struct writer *w, xmlNodePtr root, const struct conn_sicres_record *r)
{
	if (r->n_parties == 0 && !w->rc)
		w->rc = sicres__fail(w->err, CONN_SICRES_EINVALID, "De_Interesado: at least one is required");
	for (size_t i = 0; i < r->n_parties; i++) {
		const struct conn_sicres_party *p = &r->parties[i];
		seg_open(w, root, "De_Interesado", (int)i + 1);
		field(w, "Tipo_Documento_Identificacion_Interesado", p->doc_type, false);
		field(w, "Documento_Identificacion_Interesado", p->doc_id, false);
		field(w, "Razon_Social_Interesado", p->company, false);
		field(w, "Nombre_Interesado", p->name, false);
		field(w, "Primer_Apellido_Interesado", p->surname1, false);
		field(w, "Segundo_Apellido_Interesado", p->surname2, false);
		field(w, "Correo_Electronico_Interesado", p->email, false);
		field(w, "Telefono_Contacto_Interesado", p->phone, false);
	}
}

static void write_annexes(struct writer *w, xmlNodePtr root, const struct conn_sicres_record *r)
{
	for (size_t i = 0; i < r->n_annexes && !w->rc; i++) {
		const struct conn_sicres_annex *x = &r->annexes[i];
		char hash[48];
		sicres__sha256_b64(hash, x->content, x->len);
		seg_open(w, root, "De_Anexo", (int)i + 1);
		field(w, "Nombre_Fichero_Anexado", x->file_name, true);
		field(w, "Identificador_Fichero", x->file_id, true);
		field(w, "Validez_Documento", x->validity, false);
		field(w, "Tipo_Documento", x->doc_type, true);
		/* The hash is always computed here from the bytes sent, never taken from the caller. */
		field(w, "Hash", hash, true);
		field(w, "Tipo_MIME", x->mime, false);
		field(w, "Anexo", sicres__b64(&w->arena, x->content, x->len), true);
	}
}

static void write_control(struct writer *w, xmlNodePtr root, const struct conn_sicres_record *r)
{
	seg_open(w, root, "De_Internos_Control", 0);
	field(w, "Nombre_Usuario", r->user_name, false);
	field(w, "Identificador_Intercambio", r->exchange_id, true);
	field(w, "Tipo_Anotacion", r->annotation_type, true);
	field(w, "Descripcion_Tipo_Anotacion", r->annotation_text, false);
	field(w, "Tipo_Registro", r->record_type, true);
	field(w, "Documentacion_Fisica", r->physical_docs, true);
	field(w, "Indicador_Prueba", r->test_flag, true);
	field(w, "Codigo_Entidad_Registral_Inicio", r->start_code, true);
	field(w, "Decodificacion_Entidad_Registral_Inicio", r->start_name, false);
	seg_open(w, root, "De_Formulario_Generico", 0);
	field(w, "Expone", r->expone ? r->expone : "", true);
	field(w, "Solicita", r->solicita ? r->solicita : "", true);
}

int conn_sicres_write(char **out, size_t *len, const struct conn_sicres_record *r,
                      struct conn_sicres_error *err)
{
	*out = NULL;
	*len = 0;
	struct writer w = {.err = err};
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr root = xmlNewNode(NULL, BAD_CAST SICRES_ROOT);
	xmlDocSetRootElement(doc, root);
	write_origin_destination(&w, root, r);
	write_parties(&w, root, r);
	seg_open(&w, root, "De_Asunto", 0);
	field(&w, "Resumen", r->summary, true);
	field(&w, "Numero_Expediente", r->expedient_number, false);
	write_annexes(&w, root, r);
	write_control(&w, root, r);
	if (w.rc == 0) {
		xmlChar *buf = NULL;
		int n = 0;
		xmlDocDumpFormatMemoryEnc(doc, &buf, &n, "UTF-8", 1);
		if (!buf || n <= 0 || !(*out = malloc((size_t)n + 1))) {
			w.rc = sicres__fail(err, CONN_SICRES_EFAIL, "out of memory writing the exchange file");
		} else {
			memcpy(*out, buf, (size_t)n);
			(*out)[n] = '\0';
			*len = (size_t)n;
		}
		xmlFree(buf);
	}
	xmlFreeDoc(doc);
	eng_arena_free(&w.arena);
	return w.rc;
}
