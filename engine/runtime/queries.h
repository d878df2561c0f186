/* Read models and small writes the web layer needs: entities and demo data, sessions,
 * expedient views and lists, receipts by CSV. Results are allocated in the caller's arena.
 * Thread-safety: as struct eng_store (one per thread). */
#ifndef ENG_QUERIES_H
#define ENG_QUERIES_H

#include "store.h"

/* Creates the entity if missing (name and demo flag are refreshed). */
int eng_store_entity_ensure(struct eng_store *s, const char *id, const char *name_ca,
                            const char *name_es, bool demo, struct eng_error *err);

/* Demo data for `tramit serve --demo`: the demo municipality, a citizen (12345678Z, Maria
 * Demo Ciutadana) and an employee (demo.empleat, role tramitador in unit registre). Idempotent. */
/* Besides: demo.empleat holds a role in every unit the catalogue uses; demo.padro (Marta Demo
 * Padró) holds padro@padro only and so sees the Padró's expedients only. */
int eng_store_seed_demo(struct eng_store *s, const char *entity_id, struct eng_error *err);

struct eng_entity_view {
	const char *id, *name_ca, *name_es;
	bool demo;
};
int eng_store_entity_get(struct eng_store *s, struct eng_arena *a, const char *id,
                         struct eng_entity_view *out, struct eng_error *err);

/* roles: the grants as they apply, "role@unit", each also in every unit below the one granted
 * (employee_grants, migration 0025), sorted; the same list eng_session.roles carries. */
struct eng_employee_view {
	const char *username, *name;
	const char **roles;
	size_t n_roles;
};
int eng_store_employee_get(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                           const char *username, struct eng_employee_view *out,
                           struct eng_error *err);

/* Sessions: the token is returned to the client once; only its SHA-256 is stored. */
struct eng_session {
	const char *entity_id;
	const char *principal_kind; /* "citizen" or "employee" */
	const char *principal_id;
	const char *csrf;
	const char *name;   /* the person's or employee's name; NULL if they no longer exist */
	const char **roles; /* an employee's grants as "role@unit"; none for citizens */
	size_t n_roles;
	/* How the person signed in ("certificate", "password", "demo", "proxy"; NULL: unknown),
	 * the company their certificate represents, and whom a citizen acts for now (NULL:
	 * themselves) with that party's name and what covers them today: "*" (every tràmit: the
	 * certificate's company or a general mandate), the codes joined by ",", or NULL when
	 * nothing covers them any more (migration 0022). */
	const char *method, *cert_company;
	const char *acting_as, *acting_name, *acting_scope;
};
/* Creates a session lasting idle_seconds since last use and at most absolute_seconds.
 * Writes a new random token (43 chars base64url) into token. */
int eng_store_session_create(struct eng_store *s, char token[64], char csrf[64],
                             const char *entity_id, const char *kind, const char *principal,
                             int absolute_seconds, struct eng_error *err);
/* Finds a live session, its principal and whom they act for, and refreshes its idle time
 * (one round trip); ENG_ENOTFOUND if none or expired. */
int eng_store_session_get(struct eng_store *s, struct eng_arena *a, const char *token,
                          int idle_seconds, struct eng_session *out, struct eng_error *err);
int eng_store_session_delete(struct eng_store *s, const char *token, struct eng_error *err);

struct eng_expedient_view {
	const char *id, *number, *tramit_code, *definition_hash, *state;
	int64_t version;
	const char *applicant_nif, *applicant_name, *lang;
	struct eng_value *data;
	size_t n_data;
	const char *created_at, *updated_at;     /* ISO 8601, Europe/Madrid */
	const char *registry_number, *presented_at; /* NULL when not registered */
	const char *receipt_csv;                 /* NULL when no receipt */
};
/* eng_store_apply, then the expedient as pages show it, read inside the same transaction
 * after the change (no extra round trip). */
int eng_store_apply_view(struct eng_store *s, struct eng_arena *arena, const struct eng_command *cmd,
                         eng_definition_lookup lookup, void *lookup_payload,
                         struct eng_outcome *outcome, struct eng_expedient_view *view,
                         struct eng_error *err);
int eng_store_expedient_get(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                            const char *id, struct eng_expedient_view *out, struct eng_error *err);

/* Lists, newest first, at most limit rows. applicant_nif NULL lists every expedient. */
int eng_store_expedient_list(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                             const char *applicant_nif, int limit,
                             struct eng_expedient_view **out, size_t *n, struct eng_error *err);

/* The back office's filters; NULL means any. due: "overdue" (a legal time limit already
 * passed) or "soon" (one ends within five days). text: part of the number, registry number,
 * or the applicant's NIF or name, matched literally and without case. */
struct eng_inbox_filter {
	const char *state, *tramit, *text, *due;
	const char *assigned; /* an employee's username, or "" for nobody */
	/* Issue 5: only the expedients of these tràmit codes (NULL: every one; n_tramits 0:
	 * none), and only those whose "CODE/state" is listed in waiting (NULL: any). */
	const char *const *tramits;
	size_t n_tramits;
	const char *const *waiting;
	size_t n_waiting;
};
/* The entity's expedients that pass f, the most urgent first; (*due_ms)[i] is row i's next
 * legal time limit (Unix ms), 0 when none runs; (*assignee)[i] the username handling it, or "".
 * *total counts every expedient that passes f, beyond limit too. */
int eng_store_expedient_inbox(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                              const struct eng_inbox_filter *f, int limit,
                              struct eng_expedient_view **out, int64_t **due_ms,
                              const char ***assignee, size_t *n, size_t *total,
                              struct eng_error *err);
/* Hands expedient id to employee `to` (NULL or "": to nobody), logged as done by `by`.
 * ENG_ENOTFOUND when the entity has no such expedient among the tràmits listed (NULL: any),
 * so an expedient the employee may not see is not found either. */
int eng_store_expedient_assign(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                               const char *id, const char *const *tramits, size_t n_tramits,
                               const char *to, const char *by, struct eng_error *err);
/* A PostgreSQL array literal of the items, quoted, in the arena; NULL when items is NULL. */
const char *eng_pg_array(struct eng_arena *a, const char *const *items, size_t n);
/* The name of the employee handling expedient id, or NULL (nobody, or the database failed). */
const char *eng_store_expedient_assignee(struct eng_store *s, struct eng_arena *a,
                                         const char *entity_id, const char *id);

struct eng_event_view {
	int64_t seq;
	const char *action, *actor_kind, *actor_id, *from_state, *to_state, *at;
	/* From the event's payload, NULL when absent: the reason the actor gave (eng_command.
	 * reason), and the registry entry and receipt the transition made. */
	const char *reason, *registry_number, *presented_at, *receipt_csv;
};
int eng_store_event_list(struct eng_store *s, struct eng_arena *a, const char *expedient_id,
                         struct eng_event_view **out, size_t *n, struct eng_error *err);

struct eng_document_view {
	const char *id, *kind, *csv, *sha256, *media_type, *created_at;
	const char *content;
	size_t content_len;
	bool withdrawn;
};
/* Looks up a document by normalised CSV and logs the lookup with client, within the
 * client's allowance: per_minute lookups in the last minute, counted over every server on
 * the database (0: no limit). ENG_ENOTFOUND when unknown or withdrawn (callers must not tell
 * the two apart); ENG_EDENIED when the client used its allowance up, a refusal that is not
 * logged as a lookup and tells nothing about the code. */
int eng_store_csv_lookup(struct eng_store *s, struct eng_arena *a, const char *csv,
                         const char *client, int64_t per_minute, struct eng_document_view *out,
                         struct eng_error *err);

/* Records a back-office callback's delivery id: 0 when it is new, 1 when it was already
 * received (a replay), or a negative code when the database fails. Ids older than ten
 * minutes are forgotten. */
int eng_store_callback_seen(struct eng_store *s, const char *entity_id, const char *subscriber,
                            const char *delivery, struct eng_error *err);

/* A payment order a card gateway knows, by the order number the payment connector gave it
 * (in its effect's result): which expedient and effect ("payment:FEE"), the amount, and
 * whether that fee is already paid. ENG_ENOTFOUND for an order we never issued. */
struct eng_payment_order {
	const char *expedient_id, *effect_id;
	int64_t amount_cents;
	bool paid;
};
int eng_store_payment_order(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                            const char *order, struct eng_payment_order *out, struct eng_error *err);

/* Employees. eng_store_employee_add creates the entity row if missing (named by its id until
 * `tramit serve` names it), creates or renames the employee and adds the grants ("role@unit";
 * the units must exist: ENG_ENOTFOUND naming them otherwise). */
int eng_store_employee_add(struct eng_store *s, const char *entity_id, const char *username,
                           const char *name, const char *const *roles, size_t n_roles,
                           struct eng_error *err);
/* Stores a hash from eng_password_hash; ENG_ENOTFOUND if there is no such employee. */
int eng_store_employee_password_set(struct eng_store *s, const char *entity_id,
                                    const char *username, const char *hash, struct eng_error *err);
/* The stored hash (NULL: no password set); ENG_ENOTFOUND if there is no such employee. */
int eng_store_employee_password_get(struct eng_store *s, struct eng_arena *a,
                                    const char *entity_id, const char *username,
                                    const char **out, struct eng_error *err);

/* Sign-in rate limiting, shared by every server on the database: failures are counted per
 * username and per client address within a sliding window. */
struct eng_signin_limits {
	int window_seconds, max_per_username, max_per_client;
};
/* *until is NULL when sign-in may be attempted, else the local time ("18:52") from which it
 * may be attempted again. */
int eng_store_signin_blocked(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                             const char *username, const char *client,
                             const struct eng_signin_limits *lim, const char **until,
                             struct eng_error *err);
int eng_store_signin_failed(struct eng_store *s, const char *entity_id, const char *username,
                            const char *client, struct eng_error *err);
/* Clears the username's failures and records the sign-in time. */
int eng_store_signin_succeeded(struct eng_store *s, const char *entity_id, const char *username,
                               struct eng_error *err);
/* Creates the person (named by their NIF) if missing: a citizen vouched for by a trusted
 * proxy may not have filed anything yet. */
int eng_store_person_ensure(struct eng_store *s, const char *entity_id, const char *nif,
                            struct eng_error *err);

/* Passwords (scrypt from OpenSSL, N=32768, r=8, p=1, 16-byte salt, 32-byte key). The hash
 * string names its algorithm and parameters. eng_password_verify compares in constant time
 * and takes as long for a NULL or unreadable hash as for a real one. Thread-safe. */
enum { ENG_PASSWORD_HASH_MAX = 160 };
int eng_password_hash(char out[ENG_PASSWORD_HASH_MAX], const char *password, struct eng_error *err);
bool eng_password_verify(const char *stored, const char *password);

#endif
