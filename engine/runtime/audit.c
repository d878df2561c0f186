/* Hash chains over the event log, and their verification. The hash covers every column that
 * describes an event, so changing any of them, deleting an event or reordering two is found
 * at the first link that no longer matches. */
#include "audit.h"

#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

const char eng_genesis_hash[65] = "0000000000000000000000000000000000000000000000000000000000000000";

void eng_event_hash(char out[65], const char *prev_hash, const struct eng_event_record *e)
{
	char head[1024];
	int n = snprintf(head, sizeof(head), "%s\n%s\n%lld\n%s\n%s\n%s\n%s\n%s\n%s\n%lld\n", prev_hash,
	                 e->expedient_id, (long long)e->seq, e->kind, e->action, e->actor_kind,
	                 e->actor_id, e->from_state, e->to_state, (long long)e->at_ms);
	size_t hl = n < 0 ? 0 : (size_t)n < sizeof(head) ? (size_t)n : sizeof(head) - 1;
	size_t pl = strlen(e->payload);
	char *material = malloc(hl + pl + 1);
	memcpy(material, head, hl);
	memcpy(material + hl, e->payload, pl + 1);
	eng_store__sha256_hex(out, material, hl + pl);
	free(material);
}

int eng_audit_verify(struct eng_store *s, FILE *out, struct eng_audit_report *report,
                     struct eng_error *err)
{
	memset(report, 0, sizeof(*report));
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	/* Single-row mode streams the log instead of loading it whole. */
	if (!PQsendQuery(s->conn,
	                 "SELECT e.expedient_id, x.number, e.seq, e.kind, coalesce(e.action, ''), "
	                 "e.actor_kind, e.actor_id, coalesce(e.from_state, ''), e.to_state, "
	                 "round(extract(epoch FROM e.at) * 1000)::bigint, e.payload::text, e.prev_hash, "
	                 "e.hash, x.last_hash FROM event e JOIN expedient x ON x.id = e.expedient_id "
	                 "ORDER BY e.expedient_id, e.seq") ||
	    !PQsetSingleRowMode(s->conn))
		return eng_error_set(err, ENG_EUNAVAILABLE, "audit query: %s", PQerrorMessage(s->conn));
	char current[40] = "", number[40] = "", prev[65] = "", last_hash[65] = "";
	int64_t expect_seq = 0;
	bool broken = false;
	PGresult *r;
	while ((r = PQgetResult(s->conn))) {
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_FATAL_ERROR) {
			rc = eng_error_set(err, ENG_EINTERNAL, "audit query: %s", PQresultErrorMessage(r));
			PQclear(r);
			continue;
		}
		if (st != PGRES_SINGLE_TUPLE) {
			PQclear(r);
			continue;
		}
		const char *id = PQgetvalue(r, 0, 0);
		if (strcmp(id, current) != 0) {
			if (current[0] && !broken && strcmp(prev, last_hash) != 0) {
				fprintf(out, "expedient %s (%s): its newest event hash is not the one the expedient records\n",
				        current, number);
				report->broken++;
			}
			snprintf(current, sizeof(current), "%s", id);
			snprintf(number, sizeof(number), "%s", PQgetvalue(r, 0, 1));
			snprintf(prev, sizeof(prev), "%s", eng_genesis_hash);
			snprintf(last_hash, sizeof(last_hash), "%s", PQgetvalue(r, 0, 13));
			expect_seq = 1;
			broken = false;
			report->expedients++;
		}
		report->events++;
		if (broken) {
			PQclear(r);
			continue;
		}
		struct eng_event_record e = {
			.expedient_id = id, .seq = atoll(PQgetvalue(r, 0, 2)), .kind = PQgetvalue(r, 0, 3),
			.action = PQgetvalue(r, 0, 4), .actor_kind = PQgetvalue(r, 0, 5),
			.actor_id = PQgetvalue(r, 0, 6), .from_state = PQgetvalue(r, 0, 7),
			.to_state = PQgetvalue(r, 0, 8), .at_ms = atoll(PQgetvalue(r, 0, 9)),
			.payload = PQgetvalue(r, 0, 10),
		};
		char want[65];
		const char *why = NULL;
		if (e.seq != expect_seq)
			why = "events are missing before it (sequence gap)";
		else if (strcmp(PQgetvalue(r, 0, 11), prev) != 0)
			why = "it does not point to the hash of the event before it";
		else {
			eng_event_hash(want, prev, &e);
			if (strcmp(want, PQgetvalue(r, 0, 12)) != 0)
				why = "its content does not match its hash (changed after it was written)";
		}
		if (why) {
			fprintf(out, "expedient %s (%s): event %lld: %s\n", current, number, (long long)e.seq, why);
			report->broken++;
			broken = true;
		}
		snprintf(prev, sizeof(prev), "%s", PQgetvalue(r, 0, 12));
		expect_seq++;
		PQclear(r);
	}
	if (rc == 0 && current[0] && !broken && strcmp(prev, last_hash) != 0) {
		fprintf(out, "expedient %s (%s): its newest event hash is not the one the expedient records\n",
		        current, number);
		report->broken++;
	}
	return rc;
}
