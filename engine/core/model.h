/* Engine model: the compiled, immutable shape of a tràmit (definition), one running case
 * (expedient) and what happens to it (event). Pure data: no I/O, no clock, libc only.
 * Invariant: a definition never changes after compilation; its hash names it forever. */
#ifndef ENG_MODEL_H
#define ENG_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

/* Error codes shared by every layer (STYLE.md: negative, specific only where callers care). */
enum {
	ENG_OK = 0,
	ENG_EINVALID = -1,     /* bad input: form values, a tràmit file, a request */
	ENG_EDENIED = -2,      /* the actor may not do this */
	ENG_ENOTFOUND = -3,    /* no such expedient, action, code */
	ENG_ECONFLICT = -4,    /* optimistic version mismatch, or action not available in this state */
	ENG_EUNAVAILABLE = -5, /* a dependency (database, connector) is down */
	ENG_EINTERNAL = -6,
};

struct eng_error {
	int code;
	char msg[256];
};

/* Sets err (if not NULL) and returns code. */
int eng_error_set(struct eng_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A text in the two languages every citizen-visible string must exist in. */
struct eng_text {
	const char *ca; /* Valencian */
	const char *es; /* Spanish */
};

enum eng_lang { ENG_LANG_CA = 0, ENG_LANG_ES = 1 };

/* Returns the text in lang, falling back to the other language, then to "". */
const char *eng_text_get(const struct eng_text *t, enum eng_lang lang);

enum eng_field_type {
	ENG_FIELD_TEXT,     /* one line */
	ENG_FIELD_LONGTEXT, /* several paragraphs */
	ENG_FIELD_NUMBER,   /* integer */
	ENG_FIELD_DATE,     /* YYYY-MM-DD */
	ENG_FIELD_CHOICE,   /* one of options */
	ENG_FIELD_YESNO,    /* "yes" / "no" */
	ENG_FIELD_EMAIL,
	ENG_FIELD_PHONE,    /* Spanish or international phone number */
	ENG_FIELD_NIF,      /* DNI/NIE of a person or NIF of a legal entity */
	ENG_FIELD_POSTAL,   /* Spanish postal code, province 01-52 */
};

/* Maps a DSL type name ("text", "longtext", ...) to its enum; returns -1 if unknown. */
int eng_field_type_from_name(const char *name);
const char *eng_field_type_name(enum eng_field_type type);

struct eng_option {
	const char *value;
	struct eng_text label;
};

struct eng_field {
	const char *name;
	enum eng_field_type type;
	struct eng_text label;
	struct eng_text help;    /* may be empty */
	const char *section;     /* name of the section holding it */
	bool required;
	bool has_min, has_max;
	int64_t min, max;        /* numbers: value range; text types: length in characters */
	struct eng_option *options;
	size_t n_options;
	int line;                /* line in the tràmit file, for messages */
};

struct eng_section {
	const char *name;
	struct eng_text label;
	int line;
};

enum eng_actor_rule {
	ENG_BY_APPLICANT, /* the person who started the expedient (or, later, their representative) */
	ENG_BY_ROLE,      /* an employee holding `role` */
	ENG_BY_SYSTEM,    /* the engine itself (timers, connector results) */
};

/* What an action does besides moving the expedient (DSL: register = "in", receipt = true). */
enum {
	ENG_ACTION_FORM = 1 << 0,        /* carries the form; values are validated and stored */
	ENG_ACTION_REGISTER_IN = 1 << 1, /* creates an entry in the registry book */
	ENG_ACTION_RECEIPT = 1 << 2,     /* issues a receipt (justificant) with a CSV */
};

struct eng_action {
	const char *name;
	struct eng_text label;
	enum eng_actor_rule by;
	const char *role;   /* for ENG_BY_ROLE */
	const char *to;     /* target state name; resolved at compile time */
	unsigned flags;     /* ENG_ACTION_* */
	int line;
};

struct eng_state {
	const char *name;
	struct eng_text label;    /* what the citizen sees */
	bool initial;
	bool final;
	bool applicant_must_act;  /* the citizen has something to do in this state */
	struct eng_action *actions;
	size_t n_actions;
	int line;
};

enum eng_silence { ENG_SILENCE_NONE, ENG_SILENCE_POSITIVE, ENG_SILENCE_NEGATIVE, ENG_SILENCE_LAPSE };

enum {
	ENG_APPLICANT_PERSON = 1 << 0,
	ENG_APPLICANT_COMPANY = 1 << 1,
};

struct eng_definition {
	struct eng_arena arena; /* owns every pointer below */
	const char *code;       /* e.g. "GEN-001" */
	const char *version;    /* designer's label, e.g. "1" */
	struct eng_text title, summary, description;
	const char *family;
	const char *unit;       /* responsible org unit */
	const char *legal_basis;
	unsigned applicants;    /* ENG_APPLICANT_* */
	int resolve_months;     /* maximum resolution time; 0 if not stated */
	enum eng_silence silence;
	struct eng_section *sections;
	size_t n_sections;
	struct eng_field *fields;
	size_t n_fields;
	struct eng_state *states;
	size_t n_states;
	const char *source_path; /* file it was compiled from (for messages) */
	char hash[65];           /* SHA-256 of the canonical form, lowercase hex */
};

void eng_definition_free(struct eng_definition *def);
const struct eng_state *eng_definition_state(const struct eng_definition *def, const char *name);
const struct eng_state *eng_definition_initial(const struct eng_definition *def);
const struct eng_field *eng_definition_field(const struct eng_definition *def, const char *name);
const struct eng_action *eng_state_action(const struct eng_state *st, const char *name);

/* A name/value pair; form values are strings until validated. */
struct eng_value {
	const char *name;
	const char *value;
};

enum eng_principal_kind { ENG_PRINCIPAL_CITIZEN, ENG_PRINCIPAL_EMPLOYEE, ENG_PRINCIPAL_SYSTEM };

struct eng_actor {
	enum eng_principal_kind kind;
	const char *id;           /* NIF for citizens, username for employees */
	const char *const *roles; /* roles held by an employee */
	size_t n_roles;
};

/* One running case. Borrowed pointers; the caller owns the storage. */
struct eng_expedient {
	const char *state;   /* NULL before creation */
	int64_t version;     /* optimistic concurrency counter; 0 before creation */
	const char *applicant_id;
	struct eng_value *data;
	size_t n_data;
};

enum eng_event_kind {
	ENG_EVENT_ACTION, /* an actor takes one of the actions of the current state */
	ENG_EVENT_TIMER,  /* timer `timer` came due at time_ms (the due time, not the firing time) */
	ENG_EVENT_RESULT, /* the outbox delivered effect `effect_id`; outcome in `form` values */
};

struct eng_event {
	enum eng_event_kind kind;
	const char *action;
	const char *timer;            /* ENG_EVENT_TIMER */
	const char *effect_id;        /* ENG_EVENT_RESULT */
	struct eng_actor actor;
	int64_t time_ms;              /* when it happened (Unix ms); the engine reads no clock */
	const struct eng_value *form; /* submitted form values, for ENG_ACTION_FORM */
	size_t n_form;
	const char *csv;              /* a fresh random CSV, supplied for ENG_ACTION_RECEIPT */
};

#endif
