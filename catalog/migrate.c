/* Running expedients follow a new version of their tràmit only as the migration map says:
 * each moved expedient gets its state and fields mapped, in one transaction with a
 * "migration" event, so the hash chain and replay follow the move. */
#include "migrate.h"

#include <string.h>
#include <time.h>

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Maps the values of the old fields onto the new version: renamed or dropped as the map
 * says, kept when the new version has the field, and dropped otherwise (tramit diff made sure
 * the map covers every removed field). */
static struct eng_value *map_data(struct eng_arena *a, const struct eng_pinned *x,
                                  const struct eng_definition *new_def, const struct cat_map *map,
                                  size_t *n)
{
	struct eng_value *v = eng_arena_alloc(a, sizeof(*v) * (x->n_data + 1));
	*n = 0;
	for (size_t i = 0; i < x->n_data; i++) {
		const struct cat_map_entry *e = map ? cat_map_field(map, x->data[i].name) : NULL;
		const char *name = e ? e->to : x->data[i].name;
		if (!name[0] || !eng_definition_field(new_def, name))
			continue;
		v[*n] = (struct eng_value){name, x->data[i].value};
		(*n)++;
	}
	return v;
}

int cat_migrate(struct eng_store *s, const char *entity_id, const struct eng_definition *old_def,
                const struct eng_definition *new_def, const struct cat_map *map, const char *map_name,
                const char *operator_id, bool dry_run, FILE *out, struct cat_migration_report *report,
                struct eng_error *err)
{
	memset(report, 0, sizeof(*report));
	struct cat_diff *diff = NULL;
	int rc = cat_diff_compare(&diff, old_def, new_def, map, err);
	if (rc)
		return rc;
	if (diff->verdict == CAT_CHANGE_BREAKING && !diff->migrated) {
		rc = eng_error_set(err, ENG_EINVALID, "the change is breaking and %s: see tramit diff %s",
		                   map ? "the migration map is incomplete" : "there is no migration map",
		                   map ? "--map" : "");
		cat_diff_free(diff);
		return rc;
	}
	cat_diff_free(diff);
	struct eng_arena a = {0};
	struct eng_pinned *xs = NULL;
	size_t n = 0;
	rc = eng_store_pinned(s, &a, entity_id, old_def->hash, &xs, &n, err);
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct eng_state *st = eng_definition_state(old_def, xs[i].state);
		if (st && st->final) {
			report->kept_final++;
			continue;
		}
		const char *to = map ? cat_map_state(map, xs[i].state) : NULL;
		if (!to)
			to = xs[i].state;
		if (!eng_definition_state(new_def, to)) {
			rc = eng_error_set(err, ENG_EINVALID, "expedient %s is in state %s, which the new version "
			                   "lacks and the map does not move", xs[i].number, xs[i].state);
			break;
		}
		size_t nd = 0;
		struct eng_value *data = map_data(&a, &xs[i], new_def, map, &nd);
		if (!dry_run) {
			struct eng_repin r = {
				.entity_id = entity_id, .expedient_id = xs[i].id, .from = old_def, .to = new_def,
				.to_state = to, .data = data, .n_data = nd, .operator_id = operator_id,
				.map_name = map_name, .time_ms = now_ms(),
			};
			struct eng_outcome o;
			rc = eng_store_repin(s, &r, &o, err);
			if (rc)
				break;
		}
		fprintf(out, "%s: %s -> %s\n", xs[i].number, xs[i].state, to);
		report->moved++;
	}
	eng_arena_free(&a);
	return rc;
}
