/* Reads an incoming SICRES 3.0 exchange file, hardened: the size is checked before parsing,
 * a DOCTYPE stops the parser before any declaration is read (so no entity can be defined or
 * expanded), the network is off, and elements are counted before any field is read. Then every
 * field the record needs is checked: present when required, within the XSD's length, DIR3
 * codes and dates well formed, codes known, each annex's Hash equal to its content's SHA-256.
 * Every refusal names the field as Segment[n]/Field and says what was expected. */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "connectors/sicres/sicres_internal.h"
#include "engine/core/ids.h"

struct reader {
	struct eng_arena *a;
	struct conn_sicres_error *err;
	xmlNodePtr seg;
	const char *seg_name;
	int index;
	int rc;
};

static void refuse_doctype(void *ctx, const xmlChar *name, const xmlChar *public_id,
                           const xmlChar *system_id)
{
	(void)name, (void)public_id, (void)system_id;
	xmlParserCtxtPtr ctxt = ctx;
	*(bool *)ctxt->_private = true;
	xmlStopParser(ctxt);
}

static int parse(xmlDocPtr *out, const unsigned char *xml, size_t len, struct conn_sicres_error *err)
{
	*out = NULL;
	if (len > CONN_SICRES_MAX_BYTES)
		return sicres__fail(err, CONN_SICRES_EINVALID, "the file is %zu bytes; the limit is %d "
		                    "bytes (annexes that large travel by reference, which is not "
		                    "supported)", len, CONN_SICRES_MAX_BYTES);
	xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return sicres__fail(err, CONN_SICRES_EFAIL, "out of memory");
	bool doctype = false;
	ctxt->_private = &doctype;
	ctxt->sax->internalSubset = refuse_doctype;
	xmlDocPtr doc = xmlCtxtReadMemory(ctxt, (const char *)xml, (int)len, NULL, NULL,
	                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	int rc = 0;
	if (doctype) {
		rc = sicres__fail(err, CONN_SICRES_EINVALID, "DOCTYPE refused: exchange files may not "
		                  "carry a DTD or entity declarations");
	} else if (!doc || !ctxt->wellFormed) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		char msg[200] = "unknown error";
		if (e && e->message)
			snprintf(msg, sizeof(msg), "%s", e->message);
		msg[strcspn(msg, "\n")] = '\0';
		rc = sicres__fail(err, CONN_SICRES_EINVALID, "not well-formed XML: line %d: %s",
		                  e ? e->line : 0, msg);
	}
	if (rc)
		xmlFreeDoc(doc);
	else
		*out = doc;
	xmlFreeParserCtxt(ctxt);
	return rc;
}

static long count_elements(xmlNodePtr n)
{
	long k = 0;
	for (; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			k += 1 + count_elements(n->children);
	return k;
}

static bool named(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !n->ns && strcmp((const char *)n->name, name) == 0;
}

static size_t count_children(xmlNodePtr parent, const char *name)
{
	size_t k = 0;
	for (xmlNodePtr c = parent->children; c; c = c->next)
		k += named(c, name);
	return k;
}

static xmlNodePtr nth_child(xmlNodePtr parent, const char *name, size_t nth)
{
	for (xmlNodePtr c = parent->children; c; c = c->next)
		if (named(c, name) && nth-- == 0)
			return c;
	return NULL;
}

static const char *where(struct reader *r, const char *field)
{
	return r->index ? eng_arena_printf(r->a, "%s[%d]/%s", r->seg_name, r->index, field)
	                : eng_arena_printf(r->a, "%s/%s", r->seg_name, field);
}

static int fail(struct reader *r, const char *field, const char *why)
{
	if (!r->rc)
		r->rc = sicres__fail(r->err, CONN_SICRES_EINVALID, "%s: %s", where(r, field), why);
	return r->rc;
}

/* A segment that occurs exactly once: true, or false with the reason. */
static bool seg_one(struct reader *r, xmlNodePtr root, const char *name)
{
	size_t n = count_children(root, name);
	r->seg_name = name;
	r->index = 0;
	r->seg = n == 1 ? nth_child(root, name, 0) : NULL;
	if (n > 1 && !r->rc)
		r->rc = sicres__fail(r->err, CONN_SICRES_EINVALID, "%s: occurs %zu times, expected once",
		                     name, n);
	else if (n == 0 && !r->rc)
		r->rc = sicres__fail(r->err, CONN_SICRES_EINVALID, "%s: required segment missing", name);
	return r->seg != NULL;
}

/* A text field of the current segment, arena copy; NULL when absent (a failure if required). */
static const char *text(struct reader *r, const char *name, bool required)
{
	if (r->rc || !r->seg)
		return NULL;
	size_t n = count_children(r->seg, name);
	if (n == 0) {
		if (required)
			fail(r, name, "required field missing");
		return NULL;
	}
	if (n > 1) {
		fail(r, name, eng_arena_printf(r->a, "occurs %zu times, expected once", n));
		return NULL;
	}
	xmlNodePtr node = nth_child(r->seg, name, 0);
	for (xmlNodePtr c = node->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE) {
			fail(r, name, "expected text, found a child element");
			return NULL;
		}
	xmlChar *v = xmlNodeGetContent(node);
	const char *s = eng_arena_strdup(r->a, v ? (const char *)v : "");
	xmlFree(v);
	int max = sicres__max_len(name);
	long chars = sicres__utf8_chars(s);
	if (max && chars > max)
		fail(r, name, eng_arena_printf(r->a, "%ld characters, at most %d", chars, max));
	else if (required && !*s && strcmp(name, "Expone") != 0 && strcmp(name, "Solicita") != 0)
		fail(r, name, "required field is empty");
	return r->rc ? NULL : s;
}

static const char *dir3(struct reader *r, const char *name, bool required)
{
	const char *v = text(r, name, required);
	struct conn_sicres_error e = {0};
	if (v && conn_sicres_dir3_check(v, &e) != 0)
		fail(r, name, e.msg);
	return r->rc ? NULL : v;
}

static const char *coded(struct reader *r, const char *name, const char *table, bool required)
{
	const char *v = text(r, name, required);
	if (v && !sicres__meaning(table, v))
		fail(r, name, eng_arena_printf(r->a, "unknown code '%.20s'", v));
	return r->rc ? NULL : v;
}

/* yyyyMMddHHmmss naming a real moment. */
static const char *timestamp(struct reader *r, const char *name)
{
	const char *v = text(r, name, true);
	if (!v)
		return NULL;
	int y, mo, d, h, mi, s;
	bool digits = strlen(v) == 14;
	for (size_t i = 0; digits && v[i]; i++)
		digits = isdigit((unsigned char)v[i]);
	if (!digits || sscanf(v, "%4d%2d%2d%2d%2d%2d", &y, &mo, &d, &h, &mi, &s) != 6) {
		fail(r, name, eng_arena_printf(r->a, "expected yyyyMMddHHmmss, found '%.20s'", v));
		return NULL;
	}
	static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > days[mo - 1] || (mo == 2 && d == 29 && !leap) ||
	    h > 23 || mi > 59 || s > 59)
		fail(r, name, eng_arena_printf(r->a, "'%s' is not a real date and time", v));
	return r->rc ? NULL : v;
}

static void read_origin_destination(struct reader *r, xmlNodePtr root, struct conn_sicres_record *o)
{
	if (seg_one(r, root, "De_Origen_o_Remitente")) {
		o->origin_code = dir3(r, "Codigo_Entidad_Registral_Origen", true);
		o->origin_name = text(r, "Decodificacion_Entidad_Registral_Origen", false);
		o->entry_number = text(r, "Numero_Registro_Entrada", true);
		o->entry_time = timestamp(r, "Fecha_Hora_Entrada");
		o->origin_unit = dir3(r, "Codigo_Unidad_Tramitacion_Origen", false);
		o->origin_unit_name = text(r, "Decodificacion_Unidad_Tramitacion_Origen", false);
	}
	if (seg_one(r, root, "De_Destino")) {
		o->destination_code = dir3(r, "Codigo_Entidad_Registral_Destino", true);
		o->destination_name = text(r, "Decodificacion_Entidad_Registral_Destino", false);
		o->destination_unit = dir3(r, "Codigo_Unidad_Tramitacion_Destino", false);
		o->destination_unit_name = text(r, "Decodificacion_Unidad_Tramitacion_Destino", false);
	}
}

/* A party needs a name, and a NIF, NIE or CIF must carry its control character. */
static void check_party(struct reader *r, const struct conn_sicres_party *p)
{
	if (!p->company && !p->name)
		fail(r, "Nombre_Interesado", "a party needs Nombre_Interesado or Razon_Social_Interesado");
	if (r->rc || !p->doc_type || !strchr("NCE", p->doc_type[0]))
		return;
	if (!p->doc_id) {
		fail(r, "Documento_Identificacion_Interesado", "required when the document type is N, C or E");
		return;
	}
	struct eng_error e = {0};
	if (eng_nif_check(p->doc_id, &e) != 0)
		fail(r, "Documento_Identificacion_Interesado", e.msg);
}

static void read_parties(struct reader *r, xmlNodePtr root, struct conn_sicres_record *o)
{
	size_t n = count_children(root, "De_Interesado");
	if (n == 0 || n > CONN_SICRES_MAX_PARTIES) {
		if (!r->rc)
			r->rc = sicres__fail(r->err, CONN_SICRES_EINVALID, "De_Interesado: %zu found, expected "
			                     "1 to %d", n, CONN_SICRES_MAX_PARTIES);
		return;
	}
	o->parties = eng_arena_alloc(r->a, n * sizeof(*o->parties));
	o->n_parties = n;
	r->seg_name = "De_Interesado";
	for (size_t i = 0; i < n && !r->rc; i++) {
		struct conn_sicres_party *p = &o->parties[i];
		r->seg = nth_child(root, "De_Interesado", i);
		r->index = (int)i + 1;
		p->doc_type = coded(r, "Tipo_Documento_Identificacion_Interesado",
		                    "Tipo_Documento_Identificacion", false);
		p->doc_id = text(r, "Documento_Identificacion_Interesado", false);
		p->company = text(r, "Razon_Social_Interesado", false);
		p->name = text(r, "Nombre_Interesado", false);
		p->surname1 = text(r, "Primer_Apellido_Interesado", false);
		p->surname2 = text(r, "Segundo_Apellido_Interesado", false);
		p->email = text(r, "Correo_Electronico_Interesado", false);
		p->phone = text(r, "Telefono_Contacto_Interesado", false);
		check_party(r, p);
	}
}

static void read_annex(struct reader *r, struct conn_sicres_annex *x)
{
	x->file_name = text(r, "Nombre_Fichero_Anexado", true);
	x->file_id = text(r, "Identificador_Fichero", true);
	x->validity = coded(r, "Validez_Documento", "Validez_Documento", false);
	x->doc_type = coded(r, "Tipo_Documento", "Tipo_Documento", true);
	x->hash_b64 = text(r, "Hash", true);
	x->mime = text(r, "Tipo_MIME", false);
	const char *content = text(r, "Anexo", false);
	if (r->rc)
		return;
	if (!content) {
		fail(r, "Anexo", "content missing (annexes sent by reference are not supported)");
		return;
	}
	unsigned char *hash, *bytes;
	size_t hash_len = 0;
	if (sicres__unb64(&hash, &hash_len, r->a, x->hash_b64) != 0 || hash_len != 32) {
		fail(r, "Hash", "expected the base64 of a SHA-256 digest (32 bytes)");
		return;
	}
	if (sicres__unb64(&bytes, &x->len, r->a, content) != 0) {
		fail(r, "Anexo", "not valid base64");
		return;
	}
	x->content = bytes;
	char got[48], want[48];
	sicres__sha256_b64(got, bytes, x->len);
	/* Compare the digests, not their spelling: the sender may break base64 into lines. */
	snprintf(want, sizeof(want), "%s", sicres__b64(r->a, hash, 32));
	if (strcmp(got, want) != 0)
		fail(r, "Hash", eng_arena_printf(r->a, "is %s but the SHA-256 of the %zu bytes of Anexo "
		                                 "is %s: the annex was altered", want, x->len, got));
}

static void read_annexes(struct reader *r, xmlNodePtr root, struct conn_sicres_record *o)
{
	size_t n = count_children(root, "De_Anexo");
	if (n > CONN_SICRES_MAX_ANNEXES) {
		if (!r->rc)
			r->rc = sicres__fail(r->err, CONN_SICRES_EINVALID, "De_Anexo: %zu found, at most %d",
			                     n, CONN_SICRES_MAX_ANNEXES);
		return;
	}
	o->annexes = eng_arena_alloc(r->a, (n ? n : 1) * sizeof(*o->annexes));
	o->n_annexes = n;
	r->seg_name = "De_Anexo";
	for (size_t i = 0; i < n && !r->rc; i++) {
		r->seg = nth_child(root, "De_Anexo", i);
		r->index = (int)i + 1;
		read_annex(r, &o->annexes[i]);
	}
}

static bool exchange_id_ok(const char *v)
{
	const char *u1 = strchr(v, '_'), *u2 = u1 ? strchr(u1 + 1, '_') : NULL;
	if (!u1 || !u2 || u1 == v || u1 - v > 21 || u2 - u1 != 3 || strlen(u2 + 1) != 8)
		return false;
	for (const char *p = v; *p; p++)
		if (p != u1 && p != u2 && !(isdigit((unsigned char)*p) || (p < u1 && isupper((unsigned char)*p))))
			return false;
	return true;
}

static void read_control(struct reader *r, xmlNodePtr root, struct conn_sicres_record *o)
{
	if (seg_one(r, root, "De_Internos_Control")) {
		o->user_name = text(r, "Nombre_Usuario", false);
		o->exchange_id = text(r, "Identificador_Intercambio", true);
		if (o->exchange_id && !exchange_id_ok(o->exchange_id))
			fail(r, "Identificador_Intercambio", eng_arena_printf(r->a, "expected <registry "
			     "office code>_<YY>_<8 digits>, found '%.40s'", o->exchange_id));
		o->annotation_type = coded(r, "Tipo_Anotacion", "Tipo_Anotacion", true);
		o->annotation_text = text(r, "Descripcion_Tipo_Anotacion", false);
		o->record_type = coded(r, "Tipo_Registro", "Tipo_Registro", true);
		o->physical_docs = coded(r, "Documentacion_Fisica", "Documentacion_Fisica", true);
		o->test_flag = coded(r, "Indicador_Prueba", "Indicador_Prueba", true);
		o->start_code = dir3(r, "Codigo_Entidad_Registral_Inicio", true);
		o->start_name = text(r, "Decodificacion_Entidad_Registral_Inicio", false);
	}
	if (seg_one(r, root, "De_Formulario_Generico")) {
		o->expone = text(r, "Expone", true);
		o->solicita = text(r, "Solicita", true);
	}
}

int conn_sicres_read(struct conn_sicres_record *out, struct eng_arena *a, const unsigned char *xml,
                     size_t len, struct conn_sicres_error *err)
{
	memset(out, 0, sizeof(*out));
	xmlDocPtr doc;
	int rc = parse(&doc, xml, len, err);
	if (rc)
		return rc;
	xmlNodePtr root = xmlDocGetRootElement(doc);
	long n = root ? count_elements(root) : 0;
	struct reader r = {.a = a, .err = err};
	if (!root || !named(root, SICRES_ROOT))
		r.rc = sicres__fail(err, CONN_SICRES_EINVALID, "the root element is %s%.80s, expected "
		                    SICRES_ROOT " without a namespace", root && root->ns ? "namespaced " : "",
		                    root ? (const char *)root->name : "missing");
	else if (n > CONN_SICRES_MAX_ELEMENTS)
		r.rc = sicres__fail(err, CONN_SICRES_EINVALID, "the file has %ld elements, at most %d",
		                    n, CONN_SICRES_MAX_ELEMENTS);
	if (!r.rc) {
		read_origin_destination(&r, root, out);
		read_parties(&r, root, out);
		if (seg_one(&r, root, "De_Asunto")) {
			out->summary = text(&r, "Resumen", true);
			out->expedient_number = text(&r, "Numero_Expediente", false);
		}
		read_annexes(&r, root, out);
		read_control(&r, root, out);
	}
	xmlFreeDoc(doc);
	if (r.rc)
		memset(out, 0, sizeof(*out));
	return r.rc;
}

int conn_sicres_dir3_check(const char *code, struct conn_sicres_error *err)
{
	size_t n = strlen(code);
	bool ok = n >= 1 && n <= 21 && isupper((unsigned char)code[0]);
	for (size_t i = 1; ok && i < n; i++)
		ok = isupper((unsigned char)code[i]) || isdigit((unsigned char)code[i]);
	if (!ok)
		return sicres__fail(err, CONN_SICRES_EINVALID, "'%.40s' is not a DIR3 code (1 to 21 "
		                    "upper-case letters and digits, starting with a letter)", code);
	if (n == 9 && strncmp(code, "L01", 3) == 0) {
		struct eng_error e = {0};
		if (eng_dir3_municipality_check(code, &e) != 0)
			return sicres__fail(err, CONN_SICRES_EINVALID, "'%s' is not an ayuntamiento's DIR3 "
			                    "code: %s", code, e.msg);
	}
	return 0;
}
