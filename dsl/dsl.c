/* The public entry points of dsl.h: compile a tràmit file or string, and the diagnostics list.
 * Invariant: a compilation returns either a complete, hashed definition and no new diagnostics,
 * or no definition and at least one diagnostic. */
#include "dsl/sandbox.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void dsl__diag_add(struct dsl_diags *d, const char *path, int line, const char *fmt, ...)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct dsl_diag *items = realloc(d->items, cap * sizeof(*items));
		if (!items)
			abort();
		d->items = items;
		d->cap = cap;
	}
	struct dsl_diag *diag = &d->items[d->n++];
	va_list ap;
	snprintf(diag->path, sizeof(diag->path), "%s", path);
	diag->line = line;
	va_start(ap, fmt);
	vsnprintf(diag->msg, sizeof(diag->msg), fmt, ap);
	va_end(ap);
	/* Messages quote designer strings; one must never forge a second log line or send a
	 * terminal escape, so control characters become spaces. */
	for (char *p = diag->msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

int dsl_cpu_limit_ms(void)
{
	return DSL_CPU_LIMIT_MS;
}

void dsl_diags_free(struct dsl_diags *d)
{
	if (!d)
		return;
	free(d->items);
	d->items = NULL;
	d->n = d->cap = 0;
}

void dsl_diag_format(const struct dsl_diag *d, char *buf, size_t size)
{
	if (d->line > 0)
		snprintf(buf, size, "%s:%d: %s", d->path, d->line, d->msg);
	else
		snprintf(buf, size, "%s: %s", d->path, d->msg);
}

int dsl_compile_string(struct eng_definition **out, const char *chunkname, const char *src,
                       size_t len, const struct dsl_limits *limits, struct dsl_diags *diags)
{
	struct dsl_sandbox *sb = NULL;
	struct eng_definition *def = NULL;
	struct eng_error err = { 0 };
	int rc;

	*out = NULL;
	rc = dsl__sandbox_open(&sb, limits, &err);
	if (rc < 0) {
		dsl__diag_add(diags, chunkname, 0, "%s", err.msg);
		goto done;
	}
	rc = dsl__sandbox_run(sb, chunkname, src, len, diags);
	if (rc < 0)
		goto done;
	def = calloc(1, sizeof(*def));
	if (!def) {
		rc = ENG_EINTERNAL;
		dsl__diag_add(diags, chunkname, 0, "out of memory");
		goto done;
	}
	rc = dsl__compile(def, sb, chunkname, diags);
	if (rc < 0)
		goto done;
	/* Functions are named in the hash by their code, stripped of layout and comments. */
	if (def->n_fns > 0) {
		char digest[65];
		rc = dsl__code_digest(sb, src, len, digest);
		if (rc < 0) {
			dsl__diag_add(diags, chunkname, 0, "cannot compute the digest of the functions");
			goto done;
		}
		def->code_digest = eng_arena_strdup(&def->arena, digest);
		dsl__host_attach(def, chunkname, src, len);
	}
	rc = dsl__definition_hash(def);
	if (rc < 0) {
		dsl__diag_add(diags, chunkname, 0, "cannot compute the content hash");
		goto done;
	}
	*out = def;
	def = NULL;
done:
	eng_definition_free(def);
	dsl__sandbox_close(sb);
	return rc;
}

int dsl_compile_file(struct eng_definition **out, const char *path,
                     const struct dsl_limits *limits, struct dsl_diags *diags)
{
	size_t cap = limits && limits->memory_bytes ? limits->memory_bytes : DSL_DEFAULT_MEMORY;
	char *src = NULL;
	size_t len = 0;
	struct stat st;
	int rc = ENG_EINVALID;
	FILE *f = fopen(path, "rb");

	*out = NULL;
	if (!f) {
		rc = errno == ENOENT ? ENG_ENOTFOUND : ENG_EINVALID;
		dsl__diag_add(diags, path, 0, "cannot open: %s", strerror(errno));
		goto done;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		dsl__diag_add(diags, path, 0, "not a regular file");
		goto done;
	}
	/* A source larger than the memory cap could never load; refuse it before reading it. */
	if ((uintmax_t)st.st_size > cap) {
		dsl__diag_add(diags, path, 0, "file is larger than the memory limit");
		goto done;
	}
	src = malloc((size_t)st.st_size + 1);
	if (!src) {
		rc = ENG_EINTERNAL;
		dsl__diag_add(diags, path, 0, "out of memory");
		goto done;
	}
	len = fread(src, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		dsl__diag_add(diags, path, 0, "cannot read: %s", strerror(errno));
		goto done;
	}
	rc = dsl_compile_string(out, path, src, len, limits, diags);
done:
	if (f)
		fclose(f);
	free(src);
	return rc;
}
