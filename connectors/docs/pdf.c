/* The page writer of generated documents (libharu, Helvetica in WinAnsi/Windows-1252): flowing
 * text that wraps and paginates, then a stamp on every page with the CSV and verification URL
 * written vertically in the left margin (the Spanish convention), a QR code of the URL
 * (libqrencode) and "page n of N". Invariant: nothing here reads a clock or a random source,
 * so the same calls give the same bytes. */
#include <hpdf.h>
#include <qrencode.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/config.h"
#include "docs_internal.h"

/* A4 portrait in points, and the frame that flowing text stays inside. The bottom leaves room
 * for the QR code and the page number; the left for the two vertical margin lines. */
static const float page_h = 841.89f;
static const float text_left = 64, text_right = 547, text_top = 782, text_bottom = 124;
static const float qr_size = 76, qr_x = 547 - 76, qr_y = 36;
static const float margin_x1 = 30, margin_x2 = 41, margin_from = 40, margin_size = 7;
static const float value_indent = 12;

struct style {
	bool bold;
	float size, indent;
};

static const struct style styles[] = {
	[CONN__DOC_ENTITY] = {true, 13, 0},
	[CONN__DOC_TITLE] = {true, 15, 0},
	[CONN__DOC_HEADING] = {true, 11, 0},
	[CONN__DOC_LABEL] = {true, 8.5f, 0},
	[CONN__DOC_VALUE] = {false, 10.5f, value_indent},
	[CONN__DOC_NOTE] = {false, 8.5f, 0},
};

struct conn__doc_pdf {
	struct conn__doc_setup setup; /* borrowed strings: they outlive the writer */
	HPDF_STATUS error, detail;    /* libharu's first error, reported by finish */
	bool out_of_memory;
	HPDF_Doc doc;
	HPDF_Font regular, bold;
	HPDF_Page *pages;
	size_t n_pages, cap_pages;
	float y;
};

/* libharu reports errors through a callback; the first one is kept and finish fails. */
static void on_pdf_error(HPDF_STATUS error, HPDF_STATUS detail, void *user_data)
{
	struct conn__doc_pdf *w = user_data;
	if (!w->error) {
		w->error = error;
		w->detail = detail;
	}
}

static HPDF_Page current(struct conn__doc_pdf *w)
{
	return w->n_pages ? w->pages[w->n_pages - 1] : NULL;
}

static void page_add(struct conn__doc_pdf *w)
{
	if (w->n_pages == w->cap_pages) {
		size_t cap = w->cap_pages ? w->cap_pages * 2 : 4;
		HPDF_Page *p = realloc(w->pages, cap * sizeof(*p));
		if (!p) {
			w->out_of_memory = true;
			return;
		}
		w->pages = p;
		w->cap_pages = cap;
	}
	HPDF_Page page = HPDF_AddPage(w->doc);
	if (!page)
		return;
	HPDF_Page_SetSize(page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
	w->pages[w->n_pages++] = page;
	w->y = text_top;
}

static HPDF_Date pdf_date(const struct conn__doc_time *t)
{
	return (HPDF_Date){.year = t->year, .month = t->month, .day = t->day, .hour = t->hour,
	                   .minutes = t->minute, .seconds = t->second, .ind = t->sign,
	                   .off_hour = t->off_hour, .off_minutes = t->off_minute};
}

int conn__doc_pdf_new(struct conn__doc_pdf **out, const struct conn__doc_setup *setup,
                      struct conn_error *err)
{
	struct conn__doc_pdf *w = calloc(1, sizeof(*w));
	*out = NULL;
	if (!w)
		return conn__errorf(err, CONN_ENOMEM, "out of memory for a PDF writer");
	w->setup = *setup;
	w->doc = HPDF_New(on_pdf_error, w);
	if (!w->doc) {
		free(w);
		return conn__errorf(err, CONN_EUNAVAILABLE, "libharu: cannot create a document");
	}
	HPDF_SetCompressionMode(w->doc, HPDF_COMP_ALL);
	/* The creation date is the document's own time, never the clock: re-renders are equal. */
	HPDF_SetInfoDateAttr(w->doc, HPDF_INFO_CREATION_DATE, pdf_date(&setup->created));
	if (setup->title)
		HPDF_SetInfoAttr(w->doc, HPDF_INFO_TITLE, setup->title);
	w->regular = HPDF_GetFont(w->doc, "Helvetica", "WinAnsiEncoding");
	w->bold = HPDF_GetFont(w->doc, "Helvetica-Bold", "WinAnsiEncoding");
	page_add(w);
	*out = w;
	return 0;
}

void conn__doc_pdf_free(struct conn__doc_pdf *w)
{
	if (!w)
		return;
	HPDF_Free(w->doc);
	free(w->pages);
	free(w);
}

static float text_width(HPDF_Font font, float size, const char *s, size_t n)
{
	if (!n)
		return 0;
	HPDF_TextWidth tw = HPDF_Font_TextWidth(font, (const HPDF_BYTE *)s, (HPDF_UINT)n);
	return (float)tw.width * size / 1000.0f;
}

static void text_at(HPDF_Page page, HPDF_Font font, float size, float x, float y, const char *s)
{
	HPDF_Page_BeginText(page);
	HPDF_Page_SetFontAndSize(page, font, size);
	HPDF_Page_TextOut(page, x, y, s);
	HPDF_Page_EndText(page);
}

float conn__doc_pdf_line_height(enum conn__doc_style style)
{
	return styles[style].size * 1.35f;
}

void conn__doc_pdf_keep(struct conn__doc_pdf *w, float pt)
{
	if (w->y - pt < text_bottom)
		page_add(w);
}

void conn__doc_pdf_gap(struct conn__doc_pdf *w, float pt)
{
	/* A gap never opens a page on its own: the next line does when it needs to. */
	w->y -= pt;
}

/* Writes one line of n bytes, on a new page when this one is full. */
static void line_put(struct conn__doc_pdf *w, const struct style *st, const char *s, size_t n)
{
	float h = st->size * 1.35f;
	if (w->y - h < text_bottom)
		page_add(w);
	HPDF_Page page = current(w);
	w->y -= h;
	if (!page || !n)
		return;
	char *line = strndup(s, n);
	if (!line) {
		w->out_of_memory = true;
		return;
	}
	text_at(page, st->bold ? w->bold : w->regular, st->size, text_left + st->indent,
	        w->y + st->size * 0.35f, line);
	free(line);
}

/* How many bytes of s (n long) fit in width: up to the last space that fits, or as many
 * characters as fit when a single word is too wide (always at least one). *skip gets the
 * bytes to step over, spaces at the break included. */
static size_t line_fit(HPDF_Font font, float size, float width, const char *s, size_t n,
                       size_t *skip)
{
	size_t fit = 0;
	float used = 0;
	while (fit < n) {
		float c = text_width(font, size, s + fit, 1);
		if (used + c > width)
			break;
		used += c;
		fit++;
	}
	if (fit == n) {
		*skip = n;
		return n;
	}
	size_t brk = fit;
	while (brk > 0 && s[brk] != ' ')
		brk--;
	if (brk == 0) {
		brk = fit ? fit : 1;
		*skip = brk;
		return brk;
	}
	size_t end = brk;
	while (end < n && s[end] == ' ')
		end++;
	while (brk > 0 && s[brk - 1] == ' ')
		brk--;
	*skip = end;
	return brk;
}

void conn__doc_pdf_text(struct conn__doc_pdf *w, enum conn__doc_style style, const char *text)
{
	const struct style *st = &styles[style];
	HPDF_Font font = st->bold ? w->bold : w->regular;
	float width = text_right - text_left - st->indent;
	for (const char *p = text;;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n == 0)
			line_put(w, st, p, 0);
		while (n > 0) {
			size_t skip, len = line_fit(font, st->size, width, p, n, &skip);
			line_put(w, st, p, len);
			p += skip;
			n -= skip;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
}

/* ---- The stamp on every page ---------------------------------------------------------- */

/* Draws the QR code of text with its bottom-left corner at (x, y), merging each row's dark
 * modules into runs so renderers show no seams between them. */
static int qr_draw(HPDF_Page page, const char *text, float x, float y, float size,
                   struct conn_error *err)
{
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!qr)
		return conn__errorf(err, CONN_EUNAVAILABLE, "libqrencode cannot encode the %zu-byte "
		                    "verification URL", strlen(text));
	float m = size / (float)qr->width;
	HPDF_Page_SetRGBFill(page, 0, 0, 0);
	for (int row = 0; row < qr->width; row++) {
		const unsigned char *d = qr->data + (size_t)row * (size_t)qr->width;
		for (int col = 0; col < qr->width;) {
			if (!(d[col] & 1)) {
				col++;
				continue;
			}
			int start = col;
			while (col < qr->width && (d[col] & 1))
				col++;
			HPDF_Page_Rectangle(page, x + (float)start * m, y + size - (float)(row + 1) * m,
			                    (float)(col - start) * m, m);
		}
	}
	HPDF_Page_Fill(page);
	QRcode_free(qr);
	return 0;
}

/* Text drawn upwards (rotated 90 degrees counter-clockwise) with its baseline at x, shrunk
 * when needed so that it fits the page's height. */
static void vertical_text(HPDF_Page page, HPDF_Font font, float x, const char *s)
{
	float room = page_h - 2 * margin_from;
	float w = text_width(font, margin_size, s, strlen(s));
	float size = w > room ? margin_size * room / w : margin_size;
	HPDF_Page_BeginText(page);
	HPDF_Page_SetFontAndSize(page, font, size);
	HPDF_Page_SetTextMatrix(page, 0, 1, -1, 0, x, margin_from);
	HPDF_Page_ShowText(page, s);
	HPDF_Page_EndText(page);
}

/* Our own literals, in UTF-8 here and converted once: they always convert. */
static char *literal(const char *utf8)
{
	char *s = NULL;
	struct conn_error ignored;
	conn__doc_cp1252(&s, utf8, "literal", &ignored);
	return s;
}

static char *pick_literal(enum conn__doc_lang lang, const char *ca, const char *es)
{
	char *a = literal(ca), *b = literal(es);
	char *s = a && b ? conn__doc_pick(lang, a, b) : NULL;
	free(a);
	free(b);
	return s;
}

static int stamp(struct conn__doc_pdf *w, HPDF_Page page, size_t index, const char *csv_label,
                 const char *url_label, struct conn_error *err)
{
	enum conn__doc_lang lang = w->setup.lang;
	size_t cap = strlen(csv_label) + strlen(url_label) + strlen(w->setup.csv) +
	             strlen(w->setup.url) + 8;
	char *line = malloc(cap), page_ca[64], page_es[64];
	if (!line)
		return conn__errorf(err, CONN_ENOMEM, "out of memory for the margin of page %zu",
		                    index + 1);
	HPDF_Page_SetGrayFill(page, 0.2f);
	snprintf(line, cap, "%s: %s", csv_label, w->setup.csv);
	vertical_text(page, w->regular, margin_x1, line);
	snprintf(line, cap, "%s: %s", url_label, w->setup.url);
	vertical_text(page, w->regular, margin_x2, line);
	free(line);
	/* "Pàgina": 0xE0 is à in Windows-1252. */
	snprintf(page_ca, sizeof(page_ca), "P\xE0gina %zu de %zu", index + 1, w->n_pages);
	snprintf(page_es, sizeof(page_es), "P\xE1gina %zu de %zu", index + 1, w->n_pages);
	char *numbers = conn__doc_pick(lang, page_ca, page_es);
	if (!numbers)
		return conn__errorf(err, CONN_ENOMEM, "out of memory for page numbers");
	text_at(page, w->regular, 8, text_left, qr_y + 4, numbers);
	free(numbers);
	if (index > 0 && w->setup.running)
		text_at(page, w->regular, 8, text_left, text_top + 18, w->setup.running);
	return qr_draw(page, w->setup.url, qr_x, qr_y, qr_size, err);
}

static int bytes_take(struct conn__doc_pdf *w, unsigned char **out, size_t *len,
                      struct conn_error *err)
{
	HPDF_SaveToStream(w->doc);
	HPDF_UINT32 size = HPDF_GetStreamSize(w->doc);
	if (w->error || size == 0)
		return conn__errorf(err, CONN_EUNAVAILABLE, "libharu failed with error 0x%04lX "
		                    "(detail %lu)", (unsigned long)w->error, (unsigned long)w->detail);
	*out = malloc(size);
	if (!*out)
		return conn__errorf(err, CONN_ENOMEM, "out of memory for a %u-byte PDF", (unsigned)size);
	HPDF_UINT32 got = size;
	HPDF_ResetStream(w->doc);
	HPDF_STATUS st = HPDF_ReadFromStream(w->doc, *out, &got);
	if ((st != HPDF_OK && st != HPDF_STREAM_EOF) || got != size) {
		free(*out);
		*out = NULL;
		return conn__errorf(err, CONN_EUNAVAILABLE, "libharu: read %u of %u bytes of the PDF",
		                    (unsigned)got, (unsigned)size);
	}
	*len = got;
	return 0;
}

int conn__doc_pdf_finish(struct conn__doc_pdf *w, unsigned char **out, size_t *len,
                         struct conn_error *err)
{
	*out = NULL;
	*len = 0;
	if (w->out_of_memory)
		return conn__errorf(err, CONN_ENOMEM, "out of memory while laying out the PDF");
	char *csv_label = pick_literal(w->setup.lang, "Codi segur de verificació (CSV)",
	                               "Código seguro de verificación (CSV)");
	char *url_label = pick_literal(w->setup.lang, "Verificació a", "Verificación en");
	int rc = 0;
	if (!csv_label || !url_label)
		rc = conn__errorf(err, CONN_ENOMEM, "out of memory for the margin text");
	for (size_t i = 0; !rc && i < w->n_pages; i++)
		rc = stamp(w, w->pages[i], i, csv_label, url_label, err);
	free(csv_label);
	free(url_label);
	return rc ? rc : bytes_take(w, out, len, err);
}
