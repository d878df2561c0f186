/* Representation (LPAC arts. 5-6): mandates a representative holds for another person or
 * company, and what a web session records about who signed in, how, and for whom they act.
 * A mandate covers a tràmit on a day when it is not revoked, the day lies in [valid_from,
 * valid_to] (Europe/Madrid) and its scope is every tràmit or lists the tràmit's code.
 * Results are allocated in the caller's arena. Thread-safety: as struct eng_store. */
#ifndef ENG_MANDATES_H
#define ENG_MANDATES_H

#include "store.h"

enum { ENG_MANDATE_MAX_SCOPE = 32 };

struct eng_mandate_new {
	const char *representative_nif, *represented_nif;
	const char *represented_name; /* the company's or person's name; NULL: keep what is known */
	const char *const *scope;     /* tràmit codes; n_scope 0: every tràmit */
	size_t n_scope;
	const char *valid_from, *valid_to; /* YYYY-MM-DD, inclusive */
	const char *registered_by;    /* "employee:USERNAME" or "import:SOURCE" */
};

struct eng_mandate_view {
	long long id;
	const char *representative_nif, *represented_nif, *represented_name;
	const char **scope; /* n_scope 0: every tràmit */
	size_t n_scope;
	const char *valid_from, *valid_to, *registered_by, *registered_at;
	const char *revoked_at; /* NULL while in force */
	bool valid_today;       /* not revoked and today lies within its days */
};

/* Records a mandate after checking it: both NIFs valid and different, dates real and in
 * order, at most ENG_MANDATE_MAX_SCOPE codes of 1-32 characters [A-Za-z0-9_-], registered_by
 * of the two forms. Both parties are added as persons if unknown. ENG_EINVALID with err
 * naming the value, or a database code. *id receives the new mandate's number. */
int eng_mandate_add(struct eng_store *s, const char *entity_id, const struct eng_mandate_new *m,
                    long long *id, struct eng_error *err);
/* Mandates where nif (NULL: anyone) is the representative or the represented, newest first. */
int eng_mandate_list(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                     const char *nif, struct eng_mandate_view **out, size_t *n,
                     struct eng_error *err);
/* Revokes mandate id now; ENG_ENOTFOUND when there is none in the entity, ENG_ECONFLICT when
 * it was revoked already. by as registered_by. */
int eng_mandate_revoke(struct eng_store *s, const char *entity_id, long long id, const char *by,
                       struct eng_error *err);

/* A party the representative may act for today: scope "*" for every tràmit, or the codes
 * joined by ",". */
struct eng_represented {
	const char *nif, *name, *scope;
};
/* Everyone representative may act for today through a mandate, by name. */
int eng_mandate_represented_today(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                                  const char *representative, struct eng_represented **out,
                                  size_t *n, struct eng_error *err);

/* Sets (NULL: clears) the party the session acts for. */
int eng_session_acting_set(struct eng_store *s, const char *token, const char *acting_as,
                           struct eng_error *err);
/* Records how the session's person signed in and the company their certificate represents
 * (may be NULL); a company also becomes the party acted for. */
int eng_session_mark(struct eng_store *s, const char *token, const char *method,
                     const char *cert_company, struct eng_error *err);
/* Creates the person or, if their name is still only their NIF, names them. */
int eng_person_name(struct eng_store *s, const char *entity_id, const char *nif, const char *name,
                    struct eng_error *err);

/* The employee whose certificate carries nif: *username (arena), or ENG_ENOTFOUND. */
int eng_employee_by_nif(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                        const char *nif, const char **username, struct eng_error *err);
/* Links employee username to the NIF of their certificate; ENG_ENOTFOUND when no such
 * employee, ENG_ECONFLICT when another employee of the entity has that NIF. */
int eng_employee_nif_set(struct eng_store *s, const char *entity_id, const char *username,
                         const char *nif, struct eng_error *err);

#endif
