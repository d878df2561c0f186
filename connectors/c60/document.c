/* The Cuaderno 60 payment document as a PDF (libharu), with the barcode encoded as Code 128 by
 * libzint and drawn as vector bars. Invariant: the document shows exactly the codes
 * conn_c60_code_make computed, and every label exists in Valencian and in Spanish. */
#include <hpdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zint.h>

#include "c60.h"
#include "connectors/config.h"

enum { TEXT_MAX = 512 };

/* Code 128 bar width: 0.33 mm, the usual X dimension for bank counters' scanners. */
static const float module_pt = 0.33f * 72.0f / 25.4f;
static const float bar_height_pt = 42.0f;

/* libharu reports errors through a callback; we keep the first and check return values. */
struct pdf_failure {
	HPDF_STATUS error, detail;
};

static void on_pdf_error(HPDF_STATUS error, HPDF_STATUS detail, void *user_data)
{
	struct pdf_failure *f = user_data;
	if (!f->error) {
		f->error = error;
		f->detail = detail;
	}
}

/* UTF-8 to Windows-1252, the encoding of the standard PDF fonts. Returns 0, or -1 for a
 * character the font cannot show or text longer than cap - 1 bytes. */
static int to_cp1252(char *out, size_t cap, const char *s)
{
	static const struct { unsigned cp; unsigned char b; } extra[] = {
		{0x20AC, 0x80}, {0x2018, 0x91}, {0x2019, 0x92}, {0x201C, 0x93}, {0x201D, 0x94},
		{0x2013, 0x96}, {0x2014, 0x97}, {0x2026, 0x85},
	};
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		unsigned cp;
		int n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : 0;
		if (!n)
			return -1;
		cp = n == 1 ? *p : n == 2 ? *p & 0x1Fu : *p & 0x0Fu;
		for (int i = 1; i < n; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return -1;
			cp = cp << 6 | (p[i] & 0x3Fu);
		}
		p += n;
		int b = (cp >= 0x20 && cp < 0x7F) || (cp >= 0xA0 && cp <= 0xFF) ? (int)cp : -1;
		for (size_t i = 0; b < 0 && i < sizeof(extra) / sizeof(extra[0]); i++)
			if (extra[i].cp == cp)
				b = extra[i].b;
		if (b < 0 || o + 1 >= cap)
			return -1;
		out[o++] = (char)b;
	}
	out[o] = '\0';
	return 0;
}

/* "1.234,56 €" in Windows-1252: Valencian and Spanish write amounts alike. */
static void amount_text(char out[64], long long cents)
{
	char whole[32], grouped[48];
	snprintf(whole, sizeof(whole), "%lld", cents / 100);
	size_t len = strlen(whole), o = 0;
	for (size_t i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			grouped[o++] = '.';
		grouped[o++] = whole[i];
	}
	grouped[o] = '\0';
	snprintf(out, 64, "%s,%02lld \x80", grouped, cents % 100);
}

static const char *const months_va[] = {
	"gener", "febrer", "març", "abril", "maig", "juny", "juliol", "agost", "setembre",
	"octubre", "novembre", "desembre",
};
static const char *const months_es[] = {
	"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
	"octubre", "noviembre", "diciembre",
};

struct page {
	HPDF_Page page;
	HPDF_Font regular, bold;
	float y;
};

static void text_at(struct page *p, HPDF_Font font, float size, float x, float y, const char *s)
{
	HPDF_Page_BeginText(p->page);
	HPDF_Page_SetFontAndSize(p->page, font, size);
	HPDF_Page_TextOut(p->page, x, y, s);
	HPDF_Page_EndText(p->page);
}

/* One row: the label in Valencian / Spanish, then the value, already in Windows-1252. */
static void row(struct page *p, const char *label_va, const char *label_es, const char *value)
{
	char label[TEXT_MAX], va[128], es[128];
	/* Labels are our own literals in UTF-8 and always convert. */
	to_cp1252(va, sizeof(va), label_va);
	to_cp1252(es, sizeof(es), label_es);
	snprintf(label, sizeof(label), "%s / %s", va, es);
	text_at(p, p->bold, 9, 50, p->y, label);
	text_at(p, p->regular, 11, 245, p->y, value);
	p->y -= 22;
}

/* Draws the Code 128 symbol zint encoded for the barcode digits, bars only, at (x, y). */
static int barcode_draw(struct page *p, float x, float y, const char *digits,
                        struct conn_error *err)
{
	struct zint_symbol *sym = ZBarcode_Create();
	if (!sym)
		return conn__errorf(err, CONN_ENOMEM, "libzint: out of memory");
	sym->symbology = BARCODE_CODE128;
	sym->show_hrt = 0;
	int rc = ZBarcode_Encode_and_Buffer_Vector(sym, (const unsigned char *)digits,
	                                           (int)strlen(digits), 0);
	if (rc >= ZINT_ERROR || !sym->vector || sym->width <= 0) {
		conn__errorf(err, CONN_EUNAVAILABLE, "libzint could not encode the barcode: %s",
		             sym->errtxt);
		ZBarcode_Delete(sym);
		return err->code;
	}
	/* Vector units per module: the whole drawing is sym->width modules wide. */
	float unit = sym->vector->width / (float)sym->width;
	HPDF_Page_SetRGBFill(p->page, 0, 0, 0);
	for (const struct zint_vector_rect *r = sym->vector->rectangles; r; r = r->next)
		HPDF_Page_Rectangle(p->page, x + r->x / unit * module_pt, y, r->width / unit * module_pt,
		                    bar_height_pt);
	HPDF_Page_Fill(p->page);
	ZBarcode_Delete(sym);
	return 0;
}

/* The texts of the document, checked and converted before anything is drawn. */
struct texts {
	char entity_va[TEXT_MAX], entity_es[TEXT_MAX], concept_va[TEXT_MAX], concept_es[TEXT_MAX];
	char payer[TEXT_MAX];
};

static int texts_convert(struct texts *t, const struct conn_c60_document *doc,
                         struct conn_error *err)
{
	const struct { const char *name, *value; char *out; } fields[] = {
		{"entity_va", doc->entity_va, t->entity_va}, {"entity_es", doc->entity_es, t->entity_es},
		{"concept_va", doc->concept_va, t->concept_va},
		{"concept_es", doc->concept_es, t->concept_es},
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (!fields[i].value || !*fields[i].value)
			return conn__errorf(err, CONN_EINVALID, "%s: required", fields[i].name);
		if (to_cp1252(fields[i].out, TEXT_MAX, fields[i].value) != 0)
			return conn__errorf(err, CONN_EINVALID, "%s: expected at most %d characters that "
			                    "Windows-1252 can print (Valencian and Spanish letters, €)",
			                    fields[i].name, TEXT_MAX - 1);
	}
	t->payer[0] = '\0';
	if (doc->payer_name) {
		char name[TEXT_MAX];
		if (to_cp1252(name, sizeof(name), doc->payer_name) != 0 || strlen(name) > 200 ||
		    (doc->payer_id && strlen(doc->payer_id) > 20))
			return conn__errorf(err, CONN_EINVALID, "payer_name: expected at most 200 characters "
			                    "that Windows-1252 can print, and payer_id at most 20");
		snprintf(t->payer, sizeof(t->payer), "%s%s%s", name, doc->payer_id ? " - " : "",
		         doc->payer_id ? doc->payer_id : "");
	}
	return 0;
}

static void draw(struct page *p, const struct conn_c60_document *doc, const struct texts *t,
                 const struct conn_c60_code *code)
{
	const struct conn_c60_input *in = &doc->payment;
	char line[TEXT_MAX], amount[64], date_va[64], date_es[64];
	text_at(p, p->bold, 16, 50, 780, t->entity_va);
	text_at(p, p->bold, 16, 50, 760, t->entity_es);
	to_cp1252(line, sizeof(line),
	          "Document de pagament / Documento de pago - Cuaderno 60, modalitat 2 / modalidad 2");
	text_at(p, p->regular, 11, 50, 730, line);
	p->y = 690;
	row(p, "Concepte", "Concepto", t->concept_va);
	text_at(p, p->regular, 11, 245, p->y + 8, t->concept_es);
	p->y -= 14;
	if (t->payer[0])
		row(p, "Obligat al pagament", "Obligado al pago", t->payer);
	amount_text(amount, in->amount_cents);
	row(p, "Import", "Importe", amount);
	/* Months are our own literals: conversion cannot fail. */
	char month_va[32], month_es[32];
	to_cp1252(month_va, sizeof(month_va), months_va[in->deadline_month - 1]);
	to_cp1252(month_es, sizeof(month_es), months_es[in->deadline_month - 1]);
	snprintf(date_va, sizeof(date_va), "%d de %s de %d", in->deadline_day, month_va,
	         in->deadline_year);
	snprintf(date_es, sizeof(date_es), "%d de %s de %d", in->deadline_day, month_es,
	         in->deadline_year);
	snprintf(line, sizeof(line), "%s / %s", date_va, date_es);
	row(p, "Termini de pagament", "Plazo de pago", line);
	row(p, "Emissora", "Emisora", in->emisora);
	row(p, "Referència", "Referencia", code->reference);
	row(p, "Identificació", "Identificación", code->identification);
	to_cp1252(line, sizeof(line),
	          "Podeu pagar en qualsevol entitat col·laboradora amb este document.");
	text_at(p, p->regular, 9, 50, p->y - 6, line);
	to_cp1252(line, sizeof(line),
	          "Puede pagar en cualquier entidad colaboradora con este documento.");
	text_at(p, p->regular, 9, 50, p->y - 18, line);
	p->y -= 12;
}

static int pdf_render(unsigned char **out, size_t *len, const struct conn_c60_document *doc,
                      const struct texts *t, const struct conn_c60_code *code,
                      struct conn_error *err)
{
	struct pdf_failure failure = {0};
	HPDF_Doc pdf = HPDF_New(on_pdf_error, &failure);
	if (!pdf)
		return conn__errorf(err, CONN_ENOMEM, "libharu: cannot create a document");
	int rc = 0;
	struct page p = {.page = HPDF_AddPage(pdf)};
	HPDF_Page_SetSize(p.page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
	p.regular = HPDF_GetFont(pdf, "Helvetica", "WinAnsiEncoding");
	p.bold = HPDF_GetFont(pdf, "Helvetica-Bold", "WinAnsiEncoding");
	draw(&p, doc, t, code);
	float bar_y = p.y - 70;
	if ((rc = barcode_draw(&p, 50, bar_y, code->barcode, err)) != 0)
		goto done;
	text_at(&p, p.regular, 10, 50, bar_y - 14, code->barcode);
	HPDF_SaveToStream(pdf);
	HPDF_UINT32 size = HPDF_GetStreamSize(pdf);
	if (failure.error || size == 0) {
		rc = conn__errorf(err, CONN_EUNAVAILABLE, "libharu failed with error 0x%04lX (detail %lu)",
		                  (unsigned long)failure.error, (unsigned long)failure.detail);
		goto done;
	}
	*out = malloc(size);
	if (!*out) {
		rc = conn__errorf(err, CONN_ENOMEM, "out of memory for a %u-byte PDF", (unsigned)size);
		goto done;
	}
	HPDF_UINT32 got = size;
	HPDF_ResetStream(pdf);
	if (HPDF_ReadFromStream(pdf, *out, &got) != HPDF_OK && got != size) {
		free(*out);
		*out = NULL;
		rc = conn__errorf(err, CONN_EUNAVAILABLE, "libharu: cannot read the PDF back");
		goto done;
	}
	*len = got;
done:
	HPDF_Free(pdf);
	return rc;
}

int conn_c60_pdf(unsigned char **out, size_t *len, const struct conn_c60_document *doc,
                 struct conn_error *err)
{
	*out = NULL;
	*len = 0;
	struct conn_c60_code code;
	struct texts *t = calloc(1, sizeof(*t));
	if (!t)
		return conn__errorf(err, CONN_ENOMEM, "out of memory");
	int rc = conn_c60_code_make(&code, &doc->payment, err);
	if (!rc)
		rc = texts_convert(t, doc, err);
	if (!rc)
		rc = pdf_render(out, len, doc, t, &code, err);
	free(t);
	return rc;
}
