/* Notice templates: the built-in Valencian and Spanish texts for the engine's notification
 * channels, an entity's own files loaded and checked at start-up, and placeholder filling. */
#include "templates.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/config.h"
#include "message.h"

/* The notice only says where to look: the notification itself is made available at the
 * e-office, and a notice that fails does not invalidate it (Llei 39/2015, art. 41.6). */
static const struct conn__smtp_template builtin[] = {
	{"binding", "ca", "Teniu una notificació en la seu electrònica",
	 "Vos informem que hi ha una notificació a la vostra disposició en la seu electrònica, "
	 "relativa a l'expedient {{expedient}}.\n\n"
	 "Per a accedir-hi, entreu en {{sede_url}} i identifiqueu-vos.\n\n"
	 "Este correu és només un avís: la notificació es practica quan hi accediu en la seu "
	 "electrònica. Si no hi accediu en 10 dies naturals, s'entendrà rebutjada (arts. 41 i 43 "
	 "de la Llei 39/2015).\n"},
	{"binding", "es", "Tiene una notificación en la sede electrónica",
	 "Le informamos de que tiene a su disposición una notificación en la sede electrónica, "
	 "relativa al expediente {{expedient}}.\n\n"
	 "Para acceder a ella, entre en {{sede_url}} e identifíquese.\n\n"
	 "Este correo es solo un aviso: la notificación se practica cuando accede a ella en la "
	 "sede electrónica. Si no accede en 10 días naturales, se entenderá rechazada (arts. 41 y "
	 "43 de la Ley 39/2015).\n"},
	/* A message from the unit (web/messages.c): the text stays at the e-office, where the
	 * person is identified; the notice only says there is one. */
	{"message", "ca", "Teniu un missatge nou sobre l'expedient {{number}}",
	 "La unitat que tramita el vostre expedient {{number}} vos ha escrit un missatge. Podeu "
	 "llegir-lo i respondre en la vostra carpeta ciutadana: {{sede_url}}.\n\n"
	 "Este correu és només un avís informatiu.\n"},
	{"message", "es", "Tiene un mensaje nuevo sobre el expediente {{number}}",
	 "La unidad que tramita su expediente {{number}} le ha escrito un mensaje. Puede leerlo y "
	 "responder en su carpeta ciudadana: {{sede_url}}.\n\n"
	 "Este correo es solo un aviso informativo.\n"},
	{"informative", "ca", "Novetats en el vostre expedient {{expedient}}",
	 "Hi ha novetats en el vostre expedient {{expedient}}. Podeu consultar-lo en "
	 "{{sede_url}}.\n\nEste correu és només un avís informatiu.\n"},
	{"informative", "es", "Novedades en su expediente {{expedient}}",
	 "Hay novedades en su expediente {{expedient}}. Puede consultarlo en {{sede_url}}.\n\n"
	 "Este correo es solo un aviso informativo.\n"},
};

static char *read_small(const char *path, struct conn_error *err, const char *label)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		conn__errorf(err, CONN_EINVALID, "templates_dir: %s: %s", label, strerror(errno));
		return NULL;
	}
	enum { MAX = 64 * 1024 };
	char *text = malloc(MAX + 1);
	size_t n = text ? fread(text, 1, MAX + 1, f) : 0;
	fclose(f);
	if (!text || n > MAX) {
		conn__errorf(err, CONN_EINVALID, "templates_dir: %s: larger than 64 KiB", label);
		free(text);
		return NULL;
	}
	text[n] = '\0';
	if (strlen(text) != n || !conn__smtp_utf8_valid(text)) {
		conn__errorf(err, CONN_EINVALID, "templates_dir: %s: expected UTF-8 text", label);
		free(text);
		return NULL;
	}
	return text;
}

/* "Subject: ...\n\nbody": splits text in place into subject and body. */
static int split(char *text, char **subject, char **body, struct conn_error *err,
                 const char *label)
{
	if (strncmp(text, "Subject: ", 9) != 0)
		return conn__errorf(err, CONN_EINVALID,
		                    "templates_dir: %s:1: expected \"Subject: ...\" on the first line", label);
	char *nl = strchr(text, '\n');
	if (!nl || nl[1] != '\n')
		return conn__errorf(err, CONN_EINVALID,
		                    "templates_dir: %s:2: expected a blank line after the subject", label);
	*nl = '\0';
	if (nl > text && nl[-1] == '\r')
		nl[-1] = '\0';
	*subject = text + 9;
	*body = nl + 2;
	if (!conn__smtp_header_safe(*subject))
		return conn__errorf(err, CONN_EINVALID,
		                    "templates_dir: %s:1: the subject has control characters", label);
	return 0;
}

static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-'))
			return false;
	return true;
}

static int add_file(struct conn__smtp_templates *t, const char *dir, const char *file,
                    struct conn_error *err)
{
	size_t len = strlen(file);
	if (len < 8 || strcmp(file + len - 4, ".txt") != 0)
		return 0;
	const char *lang = file + len - 6; /* NAME.ca.txt */
	if (lang[-1] != '.' || (strncmp(lang, "ca", 2) != 0 && strncmp(lang, "es", 2) != 0))
		return 0;
	if (!name_ok(file, len - 7))
		return conn__errorf(err, CONN_EINVALID,
		                    "templates_dir: %s: expected a name of a-z, 0-9, _ and -", file);
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	char *text = read_small(path, err, file), *subject = NULL, *body = NULL;
	if (!text)
		return CONN_EINVALID;
	int rc = split(text, &subject, &body, err, file);
	struct conn__smtp_template *items = rc ? NULL : realloc(t->items, (t->n + 1) * sizeof(*items));
	if (!rc && !items)
		rc = conn__errorf(err, CONN_ENOMEM, "templates_dir: out of memory");
	if (!rc) {
		t->items = items;
		struct conn__smtp_template *e = &items[t->n];
		e->name = strndup(file, len - 7);
		e->lang = strndup(lang, 2);
		e->subject = strdup(subject);
		e->body = strdup(body);
		t->n++;
		if (!e->name || !e->lang || !e->subject || !e->body)
			rc = conn__errorf(err, CONN_ENOMEM, "templates_dir: out of memory");
	}
	free(text);
	return rc;
}

int conn__smtp_templates_load(struct conn__smtp_templates *t, const char *dir,
                              struct conn_error *err)
{
	DIR *d = opendir(dir);
	if (!d)
		return conn__errorf(err, CONN_EINVALID, "templates_dir: cannot open %s: %s", dir,
		                    strerror(errno));
	int rc = 0;
	struct dirent *e;
	while (!rc && (e = readdir(d)) != NULL)
		rc = add_file(t, dir, e->d_name, err);
	closedir(d);
	return rc;
}

void conn__smtp_templates_free(struct conn__smtp_templates *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free((char *)t->items[i].name);
		free((char *)t->items[i].lang);
		free((char *)t->items[i].subject);
		free((char *)t->items[i].body);
	}
	free(t->items);
	t->items = NULL;
	t->n = 0;
}

const struct conn__smtp_template *conn__smtp_template_find(const struct conn__smtp_templates *t,
                                                           const char *name, const char *channel,
                                                           const char *lang)
{
	for (size_t i = 0; t && i < t->n; i++)
		if (strcmp(t->items[i].name, name) == 0 && strcmp(t->items[i].lang, lang) == 0)
			return &t->items[i];
	for (int pass = 0; pass < 2; pass++) {
		const char *want = pass == 0 ? name : channel;
		for (size_t i = 0; want && i < sizeof(builtin) / sizeof(builtin[0]); i++)
			if (strcmp(builtin[i].name, want) == 0 && strcmp(builtin[i].lang, lang) == 0)
				return &builtin[i];
	}
	return NULL;
}

static bool append(char **s, size_t *n, size_t *cap, const char *p, size_t len)
{
	if (*n + len + 1 > *cap) {
		size_t bigger = (*n + len + 1) * 2;
		char *q = realloc(*s, bigger);
		if (!q)
			return false;
		*s = q;
		*cap = bigger;
	}
	memcpy(*s + *n, p, len);
	*n += len;
	(*s)[*n] = '\0';
	return true;
}

int conn__smtp_template_fill(char **out, const char *text, const json_t *vars, char err[256])
{
	char *s = NULL;
	size_t n = 0, cap = 0;
	bool ok = append(&s, &n, &cap, "", 0);
	const char *p = text;
	while (ok && *p) {
		const char *open = strstr(p, "{{"), *end = open ? strstr(open + 2, "}}") : NULL;
		if (!open || !end) {
			ok = append(&s, &n, &cap, p, strlen(p));
			break;
		}
		char key[64];
		snprintf(key, sizeof(key), "%.*s", (int)(end - open - 2), open + 2);
		const char *v = json_string_value(json_object_get(vars, key));
		if (!v || end - open - 2 >= (long)sizeof(key)) {
			snprintf(err, 256, "the template uses {{%s}}, which the notify effect's args do "
			         "not carry", key);
			free(s);
			return -1;
		}
		ok = append(&s, &n, &cap, p, (size_t)(open - p)) && append(&s, &n, &cap, v, strlen(v));
		p = end + 2;
	}
	if (!ok) {
		free(s);
		snprintf(err, 256, "out of memory while filling a template");
		return -1;
	}
	*out = s;
	return 0;
}
