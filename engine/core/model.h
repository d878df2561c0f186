/* Engine model: the compiled, immutable shape of a tràmit (definition), one running case
 * (expedient) and what happens to it (event). Pure data: no I/O, no clock, libc only.
 * Invariant: a definition never changes after compilation; its hash names it forever. */
#ifndef ENG_MODEL_H
#define ENG_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

struct eng_calendar;
struct eng_host;

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
	ENG_FIELD_MONEY,    /* euros as typed ("12", "12,50"); stored as integer cents ("1250") */
	ENG_FIELD_MULTICHOICE, /* some of options; stored as the values joined by "," */
	ENG_FIELD_PERSON_NIF,  /* DNI or NIE of a person */
	ENG_FIELD_COMPANY_NIF, /* NIF of a legal entity (the old CIF) */
	ENG_FIELD_IBAN,
	ENG_FIELD_MUNICIPALITY, /* INE municipality code with its control digit (6 digits) */
	ENG_FIELD_CADASTRAL,    /* cadastral reference: 20 characters with 2 control letters */
	ENG_FIELD_ADDRESS,      /* a postal address, one or more lines, with a postal code */
	ENG_FIELD_FILE,         /* uploaded files; see struct eng_field's accept/max_bytes */
	ENG_FIELD__COUNT
};

/* Maps a DSL type name ("text", "longtext", ...) to its enum; returns -1 if unknown. */
int eng_field_type_from_name(const char *name);
const char *eng_field_type_name(enum eng_field_type type);

struct eng_option {
	const char *value;
	struct eng_text label;
};

/* Lua functions of a definition (guards, fees, visibility, ...) are named by an id: id k is
 * def->fns[k - 1], and 0 means "none", so a zeroed struct has no functions. engine/core never
 * runs them itself: see struct eng_host. */
enum eng_fn_kind {
	ENG_FN_GUARD,    /* action guard: ok, or a refusal message */
	ENG_FN_FEE,      /* fee formula: an amount in cents */
	ENG_FN_VISIBLE,  /* field visibility: ok = shown */
	ENG_FN_REQUIRED, /* conditional requirement: ok = required */
	ENG_FN_COMPUTED, /* computed field value: value */
	ENG_FN_CHECK,    /* custom field check: ok, or a bilingual message */
};

struct eng_fn {
	enum eng_fn_kind kind;
	const char *owner; /* what it belongs to: the action, fee or field name */
	int line;          /* where the function is written */
};

/* Where a form value may be prefilled from: the applicant's stored data. */
enum eng_prefill {
	ENG_PREFILL_NONE,
	ENG_PREFILL_NAME,
	ENG_PREFILL_NIF,
	ENG_PREFILL_EMAIL,
	ENG_PREFILL_PHONE,
	ENG_PREFILL_ADDRESS,
};

struct eng_field {
	const char *name;
	enum eng_field_type type;
	struct eng_text label;
	struct eng_text help;    /* may be empty */
	const char *section;     /* name of the section holding it */
	bool required;
	bool has_min, has_max;
	int64_t min, max;        /* numbers, money (cents): value range; text types: length in
	                          * characters; multichoice: how many options; file: how many files */
	struct eng_option *options;
	size_t n_options;
	int line;                /* line in the tràmit file, for messages */
	/* Added by the language of issue 3; all zero/NULL/-1 means "not used". */
	const char *group;       /* repeatable group holding it; values are named group.N.name */
	const char *pattern;     /* POSIX extended regex the whole value must match */
	struct eng_text pattern_msg; /* what the pattern expects, for the error message */
	const char *const *accept; /* file: accepted extensions, lower case ("pdf") */
	size_t n_accept;
	int64_t max_bytes;       /* file: the largest file accepted; 0 = no limit of its own */
	enum eng_prefill prefill;
	int visible_fn, required_fn, computed_fn, check_fn; /* function ids, 0 = none */
};

/* A repeatable group of fields (people, premises, ...) inside a section: the citizen adds
 * between min and max instances, numbered from 1. */
struct eng_group {
	const char *name;
	struct eng_text label;
	const char *section;
	int64_t min, max;
	int line;
};

/* Files travel in a form value as one line per file: "name|bytes|sha256". */

struct eng_section {
	const char *name;
	struct eng_text label;
	int line;
};

enum eng_actor_rule {
	ENG_BY_APPLICANT, /* the person who started the expedient, or whoever the tràmit lets act
	                   * for them (a representative, an employee assisting them: see
	                   * def->applicants) */
	ENG_BY_ROLE,      /* an employee holding `role` (in `unit`, when set) */
	ENG_BY_SYSTEM,    /* the engine itself (timers, connector results) */
	ENG_BY_REPRESENTATIVE, /* only a representative of the applicant */
};

/* What an action does besides moving the expedient (DSL: register = "in", receipt = true). */
enum {
	ENG_ACTION_FORM = 1 << 0,        /* carries the form; values are validated and stored */
	ENG_ACTION_REGISTER_IN = 1 << 1, /* creates an entry in the registry book */
	ENG_ACTION_RECEIPT = 1 << 2,     /* issues a receipt (justificant) with a CSV */
	ENG_ACTION_REGISTER_OUT = 1 << 3, /* creates an exit-registry entry (for its documents) */
};

/* Notifications: binding ones are made available at the e-office and count legally
 * (arts. 40-46); informative ones are a notice by e-mail or SMS (art. 41.6). */
enum eng_notify_kind { ENG_NOTIFY_BINDING, ENG_NOTIFY_INFORMATIVE };

struct eng_notify {
	enum eng_notify_kind kind;
	const char *template_name;
};

enum eng_sign_order { ENG_SIGN_SEQUENTIAL, ENG_SIGN_PARALLEL };

/* A signature circuit: who signs document `document`, in which order, and whether all of
 * them or any one must sign. */
struct eng_sign {
	const char *document;
	const char *const *signers; /* role names */
	size_t n_signers;
	enum eng_sign_order order;
	bool any;                   /* one signature is enough */
	/* Added by the portasignatures (issue 6): the circuit as lines, always filled by the
	 * compiler (the signers/order/need form becomes one parallel line, or one line per
	 * signer in order). Lines run one after another; the signers of a line act in parallel. */
	struct eng_sign_line *lines;
	size_t n_lines;
	bool explicit_lines;        /* written as lines = {...}; the canonical form lists them */
};

/* One signer of a line: an employee holding `role`; approve = a visto bueno (approval
 * without a signature) instead of a signature. */
struct eng_sign_signer {
	const char *role;
	bool approve;
};

/* One line of a circuit: done when all its signers acted, or any one (any). */
struct eng_sign_line {
	struct eng_sign_signer *signers;
	size_t n_signers;
	bool any;
};

struct eng_action {
	const char *name;
	struct eng_text label;
	enum eng_actor_rule by;
	const char *role;   /* for ENG_BY_ROLE */
	const char *to;     /* target state name; resolved at compile time */
	unsigned flags;     /* ENG_ACTION_* */
	int line;
	/* Added by the language of issue 3. */
	const char *unit;   /* ENG_BY_ROLE: the org unit the role must be held in, or NULL */
	int guard_fn;       /* function id, 0 = none */
	const char *const *documents; /* templates to generate, in order */
	size_t n_documents;
	struct eng_notify *notify;
	size_t n_notify;
	struct eng_sign *sign;        /* NULL: no signature circuit */
	const char *const *fees;      /* fees to compute and record */
	size_t n_fees;
	const char *pay;              /* fee to open a payment order for */
	const char *const *backoffice; /* integrations to call */
	size_t n_backoffice;
	const char *const *requires_paid;   /* fees that must be paid before this action */
	size_t n_requires_paid;
	const char *const *requires_signed; /* documents that must be signed before it */
	size_t n_requires_signed;
	bool extend;        /* extends the current state's deadline by half (art. 32) */
};

enum eng_duration_unit {
	ENG_UNIT_NONE,
	ENG_UNIT_BUSINESS_DAYS,
	ENG_UNIT_NATURAL_DAYS,
	ENG_UNIT_MONTHS,
	ENG_UNIT_YEARS,
	ENG_UNIT_HOURS,
};

struct eng_duration {
	enum eng_duration_unit unit;
	int amount;
};

/* Whose time a deadline measures: the party's (art. 31.2.b: a filing on a non-business day
 * counts from the next business day) or the Administration's own. */
enum eng_deadline_clock { ENG_DEADLINE_PARTY, ENG_DEADLINE_ADMINISTRATION };

/* A deadline armed on entering a state: when it runs out the expedient moves to on_expiry
 * (by the system actor); alert, when set, warns staff that much time after entering. */
struct eng_deadline {
	struct eng_duration period;
	struct eng_duration alert;   /* unit ENG_UNIT_NONE: no pre-alert */
	const char *on_expiry;       /* state name, or NULL (the deadline only informs) */
	enum eng_deadline_clock clock;
	bool roll;                   /* natural days: roll a non-business last day forward */
	int line;
};

/* A connector result routed to an action: outcome "signed" runs system action "notify". */
struct eng_on_result {
	const char *outcome;
	const char *action;
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
	/* Added by the language of issue 3. */
	struct eng_deadline *deadline;  /* NULL: none */
	bool suspends_resolution;       /* art. 22: the resolution clock stops while here */
	struct eng_on_result *on;       /* connector outcomes -> system actions of this state */
	size_t n_on;
};

/* A fee: a fixed amount, a tariff (rate by the value of one field, optionally times the value
 * of another), or a Lua formula. Amounts are integer cents. A tariff may follow its fiscal
 * ordinance's versions: each rate then applies from a date until a later version of the same
 * key, and the fee is computed with the rate in force on the day of the action. */
enum eng_fee_kind { ENG_FEE_FIXED, ENG_FEE_TARIFF, ENG_FEE_FORMULA };

struct eng_rate {
	const char *key;
	int64_t cents;
	int32_t from; /* versioned fee: the day number from which it applies (engine/core/calendar.h) */
};

struct eng_fee {
	const char *name;
	struct eng_text label;
	enum eng_fee_kind kind;
	int64_t amount;          /* ENG_FEE_FIXED */
	const char *by;          /* ENG_FEE_TARIFF: the field whose value picks the rate */
	const char *per;         /* ENG_FEE_TARIFF: a number field to multiply by, or NULL */
	const char *ordinance;   /* ENG_FEE_TARIFF: the fiscal ordinance it applies, or NULL */
	bool versioned;          /* ENG_FEE_TARIFF: rates follow the ordinance's versions by date */
	struct eng_rate *rates;  /* sorted by key, then by from */
	size_t n_rates;
	int fn;                  /* ENG_FEE_FORMULA: function id */
	int line;
};

enum eng_silence { ENG_SILENCE_NONE, ENG_SILENCE_POSITIVE, ENG_SILENCE_NEGATIVE, ENG_SILENCE_LAPSE };

enum {
	ENG_APPLICANT_PERSON = 1 << 0,
	ENG_APPLICANT_COMPANY = 1 << 1,
	ENG_APPLICANT_REPRESENTATIVE = 1 << 2, /* a representative may file for the party */
	ENG_APPLICANT_EMPLOYEE = 1 << 3,       /* an authorised employee may file for them (art. 12) */
};

/* Identification level required to apply (eIDAS levels of assurance). */
enum eng_ident_level { ENG_IDENT_ANY, ENG_IDENT_LOW, ENG_IDENT_SUBSTANTIAL, ENG_IDENT_HIGH };

/* Issue 6: a document the tràmit issues, from a bilingual template whose body names
 * placeholders such as {expedient.number} or {data.FIELD} (engine/core/template.h). An action's
 * document = "name" names one of these. */
enum eng_doc_kind {
	ENG_DOC_REQUIREMENT,
	ENG_DOC_RESOLUTION,
	ENG_DOC_CERTIFICATE,
	ENG_DOC_SILENCE_CERTIFICATE,
	ENG_DOC_PROPOSAL,
	ENG_DOC_OTHER,
};

struct eng_template {
	const char *name;        /* what actions name it by, e.g. "resolucio" */
	enum eng_doc_kind kind;
	struct eng_text title, body;
	int line;
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
	/* Added by the language of issue 3. */
	enum eng_ident_level identification;
	bool electronic_only;    /* electronic means compulsory for every applicant (art. 14.3) */
	struct eng_duration resolve_within; /* maximum resolution time, ENG_UNIT_NONE if unstated */
	const char *on_silence;  /* state entered when the resolution time runs out, or NULL */
	struct eng_group *groups;
	size_t n_groups;
	struct eng_fee *fees;
	size_t n_fees;
	struct eng_fn *fns;      /* the Lua functions the definition refers to */
	size_t n_fns;
	const char *code_digest; /* SHA-256 of the designer code (hex) when n_fns > 0, else NULL */
	struct eng_host *host;   /* runs the functions; set by whoever compiled the definition */
	/* Added by issue 6: the documents the tràmit issues (DSL documents = { ... }). */
	struct eng_template *templates;
	size_t n_templates;
};

void eng_definition_free(struct eng_definition *def);
const struct eng_state *eng_definition_state(const struct eng_definition *def, const char *name);
const struct eng_state *eng_definition_initial(const struct eng_definition *def);
const struct eng_field *eng_definition_field(const struct eng_definition *def, const char *name);
const struct eng_action *eng_state_action(const struct eng_state *st, const char *name);
const struct eng_fee *eng_definition_fee(const struct eng_definition *def, const char *name);
const struct eng_group *eng_definition_group(const struct eng_definition *def, const char *name);
/* "business_days", "natural_days", "months", "years", "hours" ("" for none). */
const char *eng_duration_unit_name(enum eng_duration_unit unit);
int eng_duration_unit_from_name(const char *name);

/* A name/value pair; form values are strings until validated. */
struct eng_value {
	const char *name;
	const char *value;
};

enum eng_principal_kind { ENG_PRINCIPAL_CITIZEN, ENG_PRINCIPAL_EMPLOYEE, ENG_PRINCIPAL_SYSTEM };

struct eng_actor {
	enum eng_principal_kind kind;
	const char *id;           /* NIF for citizens, username for employees */
	const char *const *roles; /* roles held by an employee: "role", or "role@unit" when held in a unit */
	size_t n_roles;
	/* Added by issue 3. */
	const char *unit;         /* the org unit the employee's roles are held in, or NULL */
	const char *represents;   /* NIF of the party this actor acts for, once the runtime has
	                           * verified the mandate (REA, apud acta) or, for an employee, the
	                           * party's recorded consent (art. 12); NULL otherwise */
};

/* One running case. Borrowed pointers; the caller owns the storage. */
struct eng_expedient {
	const char *state;   /* NULL before creation */
	int64_t version;     /* optimistic concurrency counter; 0 before creation */
	const char *applicant_id;
	struct eng_value *data;
	size_t n_data;
	/* The engine's own bookkeeping, which the runtime stores beside data and hands back
	 * unchanged: fees computed ("fee.NAME" = cents), payments and signatures done
	 * ("paid.NAME", "signed.DOC" = "yes"), armed deadlines ("due.STATE" = Unix ms,
	 * "start.STATE" = local day the count started, "extended.STATE"), the resolution clock
	 * ("due.resolution", "paused.resolution" = ms left while suspended, "suspended_ms" =
	 * total paused time). Names never collide with field names (they contain a dot). */
	const struct eng_value *vars;
	size_t n_vars;
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
	/* Added by issue 3. */
	const char *outcome;          /* ENG_EVENT_RESULT: "signed", "paid", "accessed", ... */
	const struct eng_calendar *calendar; /* non-business days for deadlines: the seat's, or
	                                      * its union with the party's (art. 30.6); borrowed */
	bool replay;                  /* use `recorded` instead of running designer functions */
	const struct eng_fn_record *recorded; /* what the functions returned the first time */
	size_t n_recorded;
};

/* What one designer function returned during a step, and what it read. The step result lists
 * them in call order; the runtime stores them in the event, and a replay hands them back
 * (event.replay) so history never depends on running Lua again. */
struct eng_fn_record {
	int fn;                      /* function id */
	bool ok;                     /* guards, checks, visibility, requirement */
	int64_t amount;              /* fees: cents */
	const char *value;           /* computed values */
	struct eng_text message;     /* guards and checks that failed: why */
	const struct eng_value *inputs; /* the form values it read, as they were */
	size_t n_inputs;
};

/* What a designer function sees when it runs. */
struct eng_fn_call {
	const struct eng_definition *def;
	int fn;                      /* function id */
	const struct eng_value *data; /* the form values as they stand (typed by their fields) */
	size_t n_data;
	const struct eng_value *vars;
	size_t n_vars;
	const char *value;           /* ENG_FN_CHECK: the value being checked */
	const char *state;
	const struct eng_actor *actor;
	int64_t time_ms;
};

/* The callback interface through which the pure engine runs designer code without knowing
 * Lua (dsl/ implements it). `run` fills *out (fn, result fields and the inputs it read, all
 * allocated in arena) and returns 0, or a negative code with err naming file:line when the
 * function failed (raised, ran out of budget or memory, returned the wrong type). It must be
 * deterministic given its call (no clock, no randomness) and safe to call from several
 * threads at once on one definition; the step never calls it during a replay. */
struct eng_host {
	int (*run)(struct eng_fn_record *out, struct eng_arena *arena,
	           const struct eng_fn_call *call, struct eng_error *err, void *payload);
	void *payload;
};

#endif
