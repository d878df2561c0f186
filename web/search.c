/* Search over the catalogue: titles, summaries, descriptions and codes, in both languages at
 * once (a Spanish speaker on the Valencian page finds "subvención"), without accents or case
 * ("padro" finds "Padró" and "empadronament"), each word of the query found in the tràmit:
 * anywhere in a word when it has three letters or more, at the start of one otherwise.
 * Ranked: a word in the title counts more than one in the summary, which counts more than one
 * in the description. The catalogue holds at most a few hundred tràmits, so every search
 * scans it: no index to keep in step, and a search costs well under a millisecond. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum { SEARCH_MAX_QUERY = 200, SEARCH_MAX_WORDS = 8 };

/* Latin-1 supplement letters (U+00C0..U+00FF) folded to their base letter, lower case. */
static const char fold_latin1[64] = "aaaaaaaceeeeiiii" "dnooooo\0ouuuuyts" "aaaaaaaceeeeiiii" "dnooooo\0ouuuuyty";

/* Lower-case ASCII words of s, accents folded, separated by single spaces; the middle dot of
 * "col·legi" (and a typed "col.legi") joins the word. Into out (cap bytes). */
static void normalize(char *out, size_t cap, const char *s)
{
	size_t n = 0;
	bool space = true;
	const unsigned char *p = (const unsigned char *)s;
	while (*p && n + 1 < cap) {
		char ch = 0;
		if (*p < 0x80) {
			ch = (*p >= 'A' && *p <= 'Z') ? (char)(*p + 32) : (char)*p;
			p++;
		} else if (*p == 0xc3 && p[1] >= 0x80 && p[1] <= 0xbf) {
			ch = fold_latin1[p[1] - 0x80];
			p += 2;
		} else if (*p == 0xc2 && p[1] == 0xb7) { /* middle dot */
			p += 2;
			continue;
		} else {
			p++;
			while ((*p & 0xc0) == 0x80)
				p++;
		}
		bool letter = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
		if (ch == '.' && n > 0 && out[n - 1] == 'l' && *p == 'l')
			continue; /* "col.legi" */
		if (letter) {
			out[n++] = ch;
			space = false;
		} else if (!space) {
			out[n++] = ' ';
			space = true;
		}
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

/* Whether word (len bytes, NUL-terminated) is in text (normalised): inside any word when it
 * has three letters or more, at the start of one otherwise. */
static bool has_word(const char *text, const char *word, size_t len)
{
	if (len >= 3)
		return strstr(text, word) != NULL;
	for (const char *t = text; t && *t; t = strchr(t, ' '), t = t ? t + 1 : NULL)
		if (strncmp(t, word, len) == 0)
			return true;
	return false;
}

/* Short words that say nothing about which tràmit is meant, in both languages. */
static bool stopword(const char *w, size_t len)
{
	static const char *const stop[] = {"a", "al", "amb", "con", "de", "del", "el", "els", "en",
	                                   "i", "la", "las", "les", "lo", "los", "per", "para", "por",
	                                   "un", "una", "y", NULL};
	for (const char *const *s = stop; *s; s++)
		if (strlen(*s) == len && strncmp(*s, w, len) == 0)
			return true;
	return false;
}

struct hit {
	const struct eng_definition *d;
	int score;
};

static int by_score(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	if (x->score != y->score)
		return y->score - x->score;
	return strcmp(x->d->code, y->d->code);
}

/* The score of d for the query's words (0: some word matches nothing). */
static int score(struct web_ctx *c, const struct eng_definition *d, const char *const *words,
                 const size_t *lens, size_t n)
{
	const struct eng_text *fields[] = {&d->title, &d->summary, &d->description};
	static const int weight[] = {10, 4, 1};
	char *norm[4];
	for (int f = 0; f < 3; f++) {
		const char *both = eng_arena_printf(&c->arena, "%s %s", fields[f]->ca ? fields[f]->ca : "",
		                                    fields[f]->es ? fields[f]->es : "");
		size_t cap = strlen(both) + 1;
		norm[f] = eng_arena_alloc(&c->arena, cap);
		normalize(norm[f], cap, both);
	}
	norm[3] = eng_arena_alloc(&c->arena, strlen(d->code) + 1);
	normalize(norm[3], strlen(d->code) + 1, d->code);
	int total = 0;
	for (size_t i = 0; i < n; i++) {
		int best = has_word(norm[3], words[i], lens[i]) ? 20 : 0;
		for (int f = 0; f < 3; f++)
			if (weight[f] > best && has_word(norm[f], words[i], lens[i]))
				best = weight[f];
		if (best == 0)
			return 0;
		total += best;
	}
	return total;
}

int web_search(struct web_ctx *c, const char *query, const struct eng_definition ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (strlen(query) > SEARCH_MAX_QUERY)
		return -1;
	char q[SEARCH_MAX_QUERY + 1];
	normalize(q, sizeof(q), query);
	const char *words[SEARCH_MAX_WORDS];
	size_t lens[SEARCH_MAX_WORDS], nw = 0, kept = 0;
	for (char *w = q; *w && nw < SEARCH_MAX_WORDS;) {
		size_t len = strcspn(w, " ");
		words[nw] = w;
		lens[nw++] = len;
		bool more = w[len] == ' ';
		w[len] = '\0';
		w += len + more;
	}
	/* Stop words count only when the query has nothing else. */
	for (size_t i = 0; i < nw; i++)
		if (!stopword(words[i], lens[i]) || nw == 1)
			words[kept] = words[i], lens[kept++] = lens[i];
	if (kept == 0)
		return 0;
	const struct cat_catalog *cat = c->srv->catalog;
	struct hit *hits = eng_arena_alloc(&c->arena, sizeof(*hits) * (cat_catalog_count(cat) + 1));
	size_t found = 0;
	for (size_t i = 0; i < cat_catalog_count(cat); i++) {
		const struct eng_definition *d = cat_catalog_at(cat, i);
		int s = score(c, d, words, lens, kept);
		if (s > 0)
			hits[found++] = (struct hit){d, s};
	}
	qsort(hits, found, sizeof(*hits), by_score);
	const struct eng_definition **list = eng_arena_alloc(&c->arena, sizeof(*list) * (found + 1));
	for (size_t i = 0; i < found; i++)
		list[i] = hits[i].d;
	*out = list;
	*n = found;
	return 0;
}

/* GET /cerca?q=...: the results in the page's language, each with its summary. */
void web_route_search(struct web_ctx *c)
{
	const char *q = web_query_get(c, "q");
	const struct eng_definition **ds = NULL;
	size_t n = 0;
	if (!q)
		q = "";
	if (web_search(c, q, &ds, &n) != 0)
		return web_error_page(c, 400, "search.long.title", "search.long");
	web_page_begin(c, web_t(c, "search.title"));
	web_printf(c, "<h1>%s</h1><form method=\"get\" action=\"/cerca\" role=\"search\" class=\"search\">"
	              "<label for=\"search-q\">%s</label> <input type=\"search\" id=\"search-q\" name=\"q\" "
	              "maxlength=\"%d\" value=\"", web_t(c, "search.title"), web_t(c, "search.label"),
	           SEARCH_MAX_QUERY);
	web_attr(c, q);
	web_printf(c, "\"> <button type=\"submit\">%s</button></form>", web_t(c, "search.button"));
	if (*q) {
		web_printf(c, "<p id=\"search-count\" role=\"status\">");
		web_printf(c, "%zu ", n);
		web_html(c, web_t(c, n == 1 ? "search.one" : "search.many"));
		web_printf(c, " «");
		web_html(c, q);
		web_printf(c, "»</p>");
	}
	if (*q && n == 0)
		web_printf(c, "<p id=\"search-none\">%s</p>", web_t(c, "search.none"));
	if (n)
		web_printf(c, "<ul class=\"catalogue\" id=\"results\">");
	for (size_t i = 0; i < n; i++) {
		web_printf(c, "<li><a href=\"/tramits/%s\">", web_url_encode(c, ds[i]->code));
		web_html(c, eng_text_get(&ds[i]->title, c->lang));
		web_printf(c, "</a> <span class=\"hint\">");
		web_html(c, eng_text_get(&ds[i]->summary, c->lang));
		web_printf(c, "</span></li>");
	}
	if (n)
		web_printf(c, "</ul>");
	web_page_end(c);
	web_send(c, 200, "text/html; charset=utf-8");
}
