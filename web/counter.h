/* Assisted filing at the counter (counter.c, counter_api.c): one filing as the page and the API
 * build it, checked piece by piece into bilingual messages beside their fields. Not used
 * outside web/counter*.c. */
#ifndef WEB_COUNTER_H
#define WEB_COUNTER_H

#include "engine/runtime/counter.h"
#include "internal.h"

enum { WEB_COUNTER_MAX_ERRORS = 16, WEB_COUNTER_MAX_SCAN = 5 << 20 };

struct web_counter_filing {
	const struct eng_definition *def; /* NULL until a tràmit that admits it is chosen */
	const char *code;                 /* as asked for */
	const char *nif;                  /* upper case, without separators */
	struct eng_assisted a;            /* the person, the consent and its scan */
	bool consent;                     /* the box "consents expressly" ticked */
	struct web_form form;             /* the tràmit's answers, as form.c shows them */
	struct web_form_error errors[WEB_COUNTER_MAX_ERRORS]; /* the counter's own fields' */
	size_t n_errors;
	struct eng_value *own;            /* the post's counter:* values */
	size_t n_own;
	const char *scan_name;            /* the scan as posted, before its checks */
	const unsigned char *scan_data;
	size_t scan_len;
};

/* Whether d may be filed at the counter: it admits persons and an employee filing for them, and
 * has no file fields of its own (the counter attaches only the consent's scan). */
bool web_counter_tramit_ok(const struct eng_definition *d);
/* Each check fills f and adds a message for what is wrong (ids c-nif, c-name, c-email, c-lang,
 * c-tramit, c-consent, c-method, c-doctype, c-docnumber, c-scan). The scan is checked first
 * (type, size, antivirus), then the consent. */
void web_counter_person_check(struct web_ctx *c, struct web_counter_filing *f, const char *nif,
                              const char *name, const char *email, const char *lang);
void web_counter_tramit_check(struct web_ctx *c, struct web_counter_filing *f, const char *code);
void web_counter_scan_check(struct web_ctx *c, struct web_counter_filing *f, const char *name,
                            const unsigned char *data, size_t len);
void web_counter_consent_check(struct web_ctx *c, struct web_counter_filing *f, bool consent,
                               const char *method, const char *doc_type, const char *doc_number);
/* The engine's dry run over the form's answers, as the person would file them; and the form's
 * visibility, fees and errors (NULL: none shown) from it. */
const struct eng_step_result *web_counter_form_check(struct web_ctx *c, struct web_counter_filing *f);
void web_counter_form_eval(struct web_ctx *c, struct web_counter_filing *f,
                           const struct eng_step_result *errors);
/* Files f (every check passed) under key (may be NULL); as eng_store_apply_view. */
int web_counter_file(struct web_ctx *c, struct web_counter_filing *f, const char *key,
                     struct eng_outcome *out, struct eng_expedient_view *view, struct eng_error *err);

#endif
