/* Form posts with files: the multipart body read under limits, each file checked against its
 * field (size, extension, and the content sniffed to match the extension) and scanned by the
 * antivirus before anything is stored. Invariant: a file is staged only when every file of
 * the post passed; one refusal and nothing of the post is written. The scanner fails closed:
 * no engine, no signatures, an error, a limit or an encrypted archive all refuse the file. */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connectors/antivirus/antivirus.h"
#include "connectors/connector.h"
#include "internal.h"

enum { MAX_PARTS = 64, MAX_VALUE = 64 * 1024 };

static bool has_prefix(const char *d, size_t n, const char *magic, size_t m)
{
	return n >= m && memcmp(d, magic, m) == 0;
}

static bool is_pdf(const char *d, size_t n)
{
	/* Readers accept the header anywhere in the first kilobyte. */
	return memmem(d, n < 1024 ? n : 1024, "%PDF-", 5) != NULL;
}

static bool is_png(const char *d, size_t n)
{
	return has_prefix(d, n, "\x89PNG\r\n\x1a\n", 8);
}

static bool is_jpeg(const char *d, size_t n)
{
	return has_prefix(d, n, "\xff\xd8\xff", 3);
}

static bool is_zip(const char *d, size_t n)
{
	return has_prefix(d, n, "PK\x03\x04", 4) || has_prefix(d, n, "PK\x05\x06", 4);
}

static bool is_text(const char *d, size_t n)
{
	return memchr(d, '\0', n) == NULL;
}

static bool is_xml(const char *d, size_t n)
{
	size_t i = has_prefix(d, n, "\xef\xbb\xbf", 3) ? 3 : 0;
	while (i < n && strchr(" \t\r\n", d[i]))
		i++;
	return i < n && d[i] == '<' && is_text(d, n);
}

/* What an extension promises, and how to check the content keeps the promise. Extensions
 * not listed are stored as application/octet-stream when a field accepts them. */
static const struct file_type {
	const char *ext, *media_type, *label;
	bool (*sniff)(const char *d, size_t n);
} types[] = {
	{"pdf", "application/pdf", "PDF", is_pdf},
	{"png", "image/png", "PNG", is_png},
	{"jpg", "image/jpeg", "JPEG", is_jpeg},
	{"jpeg", "image/jpeg", "JPEG", is_jpeg},
	{"zip", "application/zip", "ZIP", is_zip},
	{"odt", "application/vnd.oasis.opendocument.text", "ODT", is_zip},
	{"ods", "application/vnd.oasis.opendocument.spreadsheet", "ODS", is_zip},
	{"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "DOCX", is_zip},
	{"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "XLSX", is_zip},
	{"txt", "text/plain", "TXT", is_text},
	{"csv", "text/csv", "CSV", is_text},
	{"xml", "application/xml", "XML", is_xml},
	{"xsig", "application/xml", "XSIG", is_xml},
};

static const struct file_type *type_of(const char *ext)
{
	for (size_t i = 0; ext && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(types[i].ext, ext) == 0)
			return &types[i];
	return NULL;
}

static const char *extension(const char *name)
{
	const char *dot = strrchr(name, '.');
	return dot && dot[1] ? dot + 1 : NULL;
}

const char *web_size_text(struct web_ctx *c, long long n)
{
	if (n >= 1 << 20 && n % (1 << 20) == 0)
		return eng_arena_printf(&c->arena, "%lld MiB", n >> 20);
	if (n >= 1 << 20)
		return eng_arena_printf(&c->arena, "%lld,%lld MiB", n >> 20, ((n % (1 << 20)) * 10) >> 20);
	if (n >= 1024 && n % 1024 == 0)
		return eng_arena_printf(&c->arena, "%lld KiB", n >> 10);
	if (n >= 1024)
		return eng_arena_printf(&c->arena, "%lld,%lld KiB", n >> 10, ((n % 1024) * 10) >> 10);
	return eng_arena_printf(&c->arena, "%lld bytes", n);
}

/* The accepted formats of a field for messages and hints: "PDF, ZIP". */
const char *web_upload_formats(struct web_ctx *c, const struct eng_field *f)
{
	const char *out = "";
	for (size_t i = 0; i < f->n_accept; i++) {
		const struct file_type *t = type_of(f->accept[i]);
		out = eng_arena_printf(&c->arena, "%s%s%s", out, i ? ", " : "", t ? t->label : f->accept[i]);
	}
	return out;
}

long long web_upload_limit(const struct eng_field *f)
{
	return f->max_bytes > 0 && f->max_bytes < WEB_UPLOAD_MAX_FILE ? f->max_bytes : WEB_UPLOAD_MAX_FILE;
}

/* A name short enough for a message that also holds a reason (cut at a character boundary). */
static const char *shown(struct web_ctx *c, const char *name)
{
	size_t n = strlen(name);
	if (n <= 60)
		return name;
	size_t cut = 57;
	while (cut > 0 && ((unsigned char)name[cut] & 0xC0) == 0x80)
		cut--;
	return eng_arena_printf(&c->arena, "%.*s…", (int)cut, name);
}

static void refuse(struct eng_step_result *r, const struct eng_field *f, const char *ca,
                   const char *es)
{
	if (r->n_errors >= ENG_STEP_MAX_ERRORS)
		return;
	struct eng_field_error *e = &r->errors[r->n_errors++];
	e->field = f->name;
	snprintf(e->ca, sizeof(e->ca), "%s", ca);
	snprintf(e->es, sizeof(e->es), "%s", es);
}

/* The antivirus's verdict in words a citizen can act on. The signature's name goes to the
 * operators' log only. */
static void refuse_scan(struct web_ctx *c, struct eng_step_result *r, const struct eng_field *f,
                        const char *name, const struct conn_av_result *av)
{
	const char *ca, *es;
	switch (av->reason) {
	case CONN_AV_REASON_SIGNATURE:
		ca = "conté un virus i no s'ha acceptat";
		es = "contiene un virus y no se ha aceptado";
		break;
	case CONN_AV_REASON_ENCRYPTED:
		ca = "està xifrat o protegit amb contrasenya i no es pot analitzar; adjunteu-lo sense xifrar";
		es = "está cifrado o protegido con contraseña y no se puede analizar; adjúntelo sin cifrar";
		break;
	case CONN_AV_REASON_LIMIT:
	case CONN_AV_REASON_TIMEOUT:
		ca = "és massa gran o complex per a analitzar-lo; adjunteu-lo en parts més menudes";
		es = "es demasiado grande o complejo para analizarlo; adjúntelo en partes más pequeñas";
		break;
	default:
		ca = "no s'ha pogut analitzar amb l'antivirus i no s'accepta; torneu-ho a provar més tard";
		es = "no se ha podido analizar con el antivirus y no se acepta; vuelva a intentarlo más tarde";
	}
	fprintf(stderr, "tramit: upload refused (%s): %s\n", conn_av_reason_code(av->reason), av->msg);
	refuse(r, f, eng_arena_printf(&c->arena, "«%s»: %s.", shown(c, name), ca),
	       eng_arena_printf(&c->arena, "«%s»: %s.", shown(c, name), es));
}

/* Size, type and content of one file against its field; then the scan. true when accepted. */
static bool check_file(struct web_ctx *c, const struct eng_field *f, struct eng_doc_upload *u,
                       struct eng_step_result *r)
{
	const char *nm = shown(c, u->name);
	if (u->len == 0) {
		refuse(r, f, eng_arena_printf(&c->arena, "«%s»: el fitxer està buit.", nm),
		       eng_arena_printf(&c->arena, "«%s»: el fichero está vacío.", nm));
		return false;
	}
	long long limit = web_upload_limit(f);
	if ((long long)u->len > limit) {
		refuse(r, f, eng_arena_printf(&c->arena, "«%s»: ocupa %s i el màxim és %s.", nm,
		                              web_size_text(c, (long long)u->len), web_size_text(c, limit)),
		       eng_arena_printf(&c->arena, "«%s»: ocupa %s y el máximo es %s.", nm,
		                        web_size_text(c, (long long)u->len), web_size_text(c, limit)));
		return false;
	}
	const char *ext = extension(u->name);
	bool accepted = f->n_accept == 0;
	for (size_t i = 0; ext && i < f->n_accept; i++)
		accepted = accepted || strcasecmp(ext, f->accept[i]) == 0;
	if (!accepted) {
		const char *fm = web_upload_formats(c, f);
		refuse(r, f, eng_arena_printf(&c->arena, "«%s»: aquest tipus de fitxer no s'accepta; formats admesos: %s.", nm, fm),
		       eng_arena_printf(&c->arena, "«%s»: este tipo de fichero no se acepta; formatos admitidos: %s.", nm, fm));
		return false;
	}
	const struct file_type *t = type_of(ext);
	if (t && !t->sniff(u->data, u->len)) {
		refuse(r, f, eng_arena_printf(&c->arena, "«%s»: el contingut no és un fitxer %s.", nm, t->label),
		       eng_arena_printf(&c->arena, "«%s»: el contenido no es un fichero %s.", nm, t->label));
		return false;
	}
	u->media_type = t ? t->media_type : "application/octet-stream";
	struct conn_av_result av;
	const struct conn_av *engine = conn_set_state(c->srv->cfg.connectors, "antivirus");
	if (conn_av_scan_buffer(engine, u->data, u->len, u->name, &av) != 0) {
		refuse_scan(c, r, f, u->name, &av);
		return false;
	}
	return true;
}

/* Answers a malformed body with 400 and the reason in the reader's language. */
static bool malformed(struct web_ctx *c, const char *why)
{
	web_error_page(c, 400, "err.badrequest.title", why);
	return false;
}

/* Sorts the parts into plain values and files; false when it answered. */
static bool sort_parts(struct web_ctx *c, const struct eng_definition *d, struct web_part *parts,
                       size_t n, struct web_upload_post *out)
{
	out->values = eng_arena_alloc(&c->arena, sizeof(*out->values) * (n + 1));
	out->files = eng_arena_alloc(&c->arena, sizeof(*out->files) * (n + 1));
	for (size_t i = 0; i < n; i++) {
		struct web_part *p = &parts[i];
		const struct eng_field *f = eng_definition_field(d, p->name);
		bool file_field = f && f->type == ENG_FIELD_FILE;
		if (!web_utf8_valid(p->name, strlen(p->name)))
			return malformed(c, "mp.encoding");
		if (!p->filename) {
			if (p->len > MAX_VALUE || memchr(p->data, '\0', p->len))
				return malformed(c, "mp.value");
			if (!web_utf8_valid(p->data, p->len))
				return malformed(c, "mp.encoding");
			if (file_field)
				continue; /* a file field's value comes from its files, never from text */
			out->values[out->n_values++] = (struct eng_value){
				p->name, eng_arena_strndup(&c->arena, p->data, p->len)};
			continue;
		}
		if (!file_field)
			return malformed(c, "mp.field");
		if (!*p->filename && p->len == 0)
			continue; /* a file input left empty */
		const char *name = web_filename_clean(c, p->filename);
		out->files[out->n_files++] = (struct eng_doc_upload){
			.field = f->name, .name = *name ? name : "fitxer", .data = p->data, .len = p->len};
	}
	return true;
}

/* Pulls the csrf and submission values out of the plain ones; false when it answered. */
static bool take_tokens(struct web_ctx *c, struct web_upload_post *out)
{
	const char *csrf = NULL;
	size_t k = 0;
	for (size_t i = 0; i < out->n_values; i++) {
		if (strcmp(out->values[i].name, "csrf") == 0)
			csrf = out->values[i].value;
		else if (strcmp(out->values[i].name, "submission") == 0)
			out->key = out->values[i].value;
		else
			out->values[k++] = out->values[i];
	}
	out->n_values = k;
	if (!web_csrf_ok(c, csrf)) {
		web_error_page(c, 403, "err.csrf.title", "err.csrf");
		return false;
	}
	/* Files are linked by the submission key (migration 0012), so a post always has one. */
	if (!out->key || strlen(out->key) < 8 || strlen(out->key) > 200) {
		if (!(out->key = web_random_hex(c, 16))) {
			web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
			return false;
		}
	}
	return true;
}

static void check_counts(struct web_ctx *c, const struct eng_definition *d, struct web_upload_post *p)
{
	for (size_t i = 0; i < d->n_fields; i++) {
		const struct eng_field *f = &d->fields[i];
		long long k = 0;
		for (size_t j = 0; j < p->n_files; j++)
			k += strcmp(p->files[j].field, f->name) == 0;
		if (f->type == ENG_FIELD_FILE && f->has_max && k > f->max)
			refuse(p->refused, f, eng_arena_printf(&c->arena, "Podeu adjuntar com a màxim %lld fitxers.", (long long)f->max),
			       eng_arena_printf(&c->arena, "Puede adjuntar como máximo %lld ficheros.", (long long)f->max));
	}
}

bool web_upload_read(struct web_ctx *c, const struct eng_definition *d, struct web_upload_post *out)
{
	*out = (struct web_upload_post){0};
	out->refused = eng_arena_alloc(&c->arena, sizeof(*out->refused));
	struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
	size_t len = evbuffer_get_length(in);
	if (len > WEB_UPLOAD_MAX_BODY) {
		web_error_page(c, 413, "err.toolarge.title", "err.toolarge");
		return false;
	}
	/* One contiguous copy at most: the body is already in memory (evhttp reads it whole). */
	const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
	struct web_part *parts;
	size_t n;
	const char *why = NULL;
	if (!body || web_multipart_parse(c, web_header(c, "Content-Type"), body, len, MAX_PARTS,
	                                 &parts, &n, &why) != 0)
		return malformed(c, why ? why : "mp.structure");
	if (!sort_parts(c, d, parts, n, out) || !take_tokens(c, out))
		return false;
	check_counts(c, d, out);
	for (size_t i = 0; i < out->n_files; i++)
		check_file(c, eng_definition_field(d, out->files[i].field), &out->files[i], out->refused);
	return true;
}

int web_upload_stage(struct web_ctx *c, struct web_upload_post *post, struct eng_error *err)
{
	if (post->n_files == 0)
		return 0;
	const char *principal = eng_arena_printf(&c->arena, "citizen:%s", c->session.principal_id);
	int rc = eng_docstore_stage(c->store, c->srv->documents_dir, c->srv->cfg.entity_id, principal,
	                            post->key, post->files, post->n_files, err);
	if (rc)
		return rc;
	/* Each file field's value lists its files, one "name|bytes|sha256" line each, in order. */
	struct eng_value *v = eng_arena_alloc(&c->arena, sizeof(*v) * (post->n_values + post->n_files + 1));
	memcpy(v, post->values, sizeof(*v) * post->n_values);
	size_t n = post->n_values;
	for (size_t i = 0; i < post->n_files; i++) {
		const struct eng_doc_upload *f = &post->files[i];
		const char *line = eng_arena_printf(&c->arena, "%s|%zu|%s", f->name, f->len, f->sha256);
		size_t j = n;
		for (size_t k = post->n_values; k < n; k++)
			if (strcmp(v[k].name, f->field) == 0)
				j = k;
		if (j == n)
			v[n++] = (struct eng_value){f->field, line};
		else
			v[j].value = eng_arena_printf(&c->arena, "%s\n%s", v[j].value, line);
	}
	post->values = v;
	post->n_values = n;
	return 0;
}

int web_upload_folder(const char **out, struct eng_error *err)
{
	const char *dir = getenv("TRAMIT_DOCUMENTS_DIR");
	*out = NULL;
	if (!dir || !*dir)
		return 0;
	struct stat st;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) != 0)
		return eng_error_set(err, ENG_EUNAVAILABLE, "TRAMIT_DOCUMENTS_DIR: %s is not a folder this "
		                     "server can write; create it or unset the variable to keep uploads "
		                     "in PostgreSQL", dir);
	*out = dir;
	return 0;
}
