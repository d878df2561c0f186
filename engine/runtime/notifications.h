/* Binding notifications by appearance at the e-office (Llei 39/2015, arts. 40-43). The act
 * that notifies makes the notification available in its own transition (the row, the hash of
 * the exact content, the deemed-rejection timer and the notice to the applicant's channel);
 * the recipient's first access, or the timer after 10 natural days, settles it in another
 * transition that appends the engine's result event ("notify:TEMPLATE" with outcome
 * "accessed" or "rejected") and records the evidence.
 * Invariant: a notification is settled once: both settlements update it only while it is
 * still 'made_available', so when they race exactly one commits and the other changes nothing.
 * Thread-safety: as struct eng_store (one connection, one thread). */
#ifndef ENG_NOTIFICATIONS_H
#define ENG_NOTIFICATIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/* Art. 43.2 and DOMAIN.md 6.2: made available at made_ms, the notification may be accessed
 * through the 10th natural day counted from the next one (Europe/Madrid days, not rolled past
 * holidays) and is deemed rejected at 00:00 of the 11th: *reject_ms. last_day gets that 10th
 * day as YYYY-MM-DD. */
void eng_notification_window(int64_t made_ms, int64_t *reject_ms, char last_day[11]);

/* Art. 14.2: the NIF of a legal person or of an entity without legal personality (its first
 * character is one of the entity-type letters of DOMAIN.md 8.3), which must always be
 * notified electronically. */
bool eng_nif_obliged(const char *nif);

/* A notification as pages show it. Times are ISO 8601 in Europe/Madrid; NULL when not set. */
struct eng_notification_view {
	const char *id, *expedient_id, *expedient_number, *tramit_code, *template_name;
	const char *effect_id;              /* "notify:TEMPLATE", as results reach the engine */
	const char *recipient_nif;
	bool recipient_obliged;
	const char *state;                  /* "made_available", "accessed" or "rejected" */
	const char *made_available_at, *reject_at, *last_day;
	const char *accessed_at, *accessed_by, *auth_method, *rejected_at;
	const char *content_sha256;
	const char *content;                /* the content made available (JSON) */
	const char *evidence, *evidence_sha256; /* NULL while made available */
	const char *evidence_csv;           /* the evidence issued as a document, or NULL */
	int64_t reject_ms;                  /* reject_at as Unix ms */
};

/* Notifications of an entity, newest first: one recipient's (recipient_nif) and/or one
 * expedient's (expedient_id); NULL means any. At most 200. Arena-allocated. */
int eng_notification_list(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                          const char *recipient_nif, const char *expedient_id,
                          struct eng_notification_view **out, size_t *n, struct eng_error *err);
/* One notification of the entity; ENG_ENOTFOUND when unknown or not recipient_nif's (a NULL
 * recipient_nif is staff, who may read any of the entity). */
int eng_notification_get(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                         const char *id, const char *recipient_nif,
                         struct eng_notification_view *out, struct eng_error *err);

/* The recipient opens a notification at time_ms. The first opening records the access (time,
 * identity, how they authenticated), cancels the rejection timer, applies the engine's
 * "accessed" result (which may run the state's `on` action) and stores the evidence, all in
 * one transaction; *first tells whether this call did it. Opening again, or after the deemed
 * rejection, changes nothing; opening it past the window records the rejection that came
 * first (at its time) instead of an access. ENG_ENOTFOUND when the notification is not nif's (as if it did
 * not exist), ENG_EUNAVAILABLE when the database fails. out holds the state afterwards. */
struct eng_notification_access {
	const char *entity_id, *notification_id;
	const char *nif;         /* who opens it: only the recipient may */
	const char *auth_method; /* e.g. "clave", "certificate", "demo" */
	int64_t time_ms;
};
int eng_notification_open(struct eng_store *s, struct eng_arena *a,
                          const struct eng_notification_access *acc, eng_definition_lookup lookup,
                          void *lookup_payload, struct eng_notification_view *out, bool *first,
                          struct eng_error *err);

/* Timers named "notification.ID" are a notification's deemed rejection. */
bool eng_notification_timer(const char *timer_name);
/* Fires such a timer (cmd as the scheduler built it: timer_id, due time, expedient): records
 * the rejection at the due time, applies the engine's "rejected" result and marks the timer
 * fired, in one transaction. ENG_ECONFLICT when the notification was accessed first or the
 * timer is no longer ours. */
int eng_notification_expire(struct eng_store *s, struct eng_arena *a, const struct eng_command *cmd,
                            eng_definition_lookup lookup, void *lookup_payload,
                            struct eng_error *err);

/* Issues the evidence of a settled notification as a document under csv (made by the caller,
 * who owns CSV generation), once: a second call, or one racing it, leaves the first. content
 * is what the document holds, of media_type: the evidence sealed by the caller, or NULL for
 * the evidence record itself (JSON). */
int eng_notification_issue_evidence(struct eng_store *s, const char *entity_id, const char *id,
                                    const char *csv, const char *content, const char *media_type,
                                    struct eng_error *err);

/* Where a person's notices (avisos) go: "email" or "sms", and the phone for SMS. */
struct eng_notice_prefs {
	const char *channel, *phone, *email;
};
int eng_notice_prefs_get(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                         const char *nif, struct eng_notice_prefs *out, struct eng_error *err);
/* Sets them (the person row must exist). ENG_EINVALID, changing nothing, when channel is not
 * "email" or "sms", the phone is not a valid phone number, or "sms" comes without a phone. */
int eng_notice_prefs_set(struct eng_store *s, const char *entity_id, const char *nif,
                         const char *channel, const char *phone, struct eng_error *err);

/* Internals for the store (store_effects.c): inside a transition's transaction. */
struct eng__tx;
int eng_store__notifications_prepare(struct eng_store *s, struct eng_error *err);
/* A binding notify effect to the applicant: writes the notification and arms its timer. */
int eng_store__notification_make_available(struct eng__tx *t, const struct eng_effect *e,
                                           struct eng_error *err);
/* The command settles a notification (cmd->notification_id): ENG_ECONFLICT at the flush when
 * it was settled already. */
int eng_store__notification_settle(struct eng__tx *t, struct eng_error *err);

#endif
