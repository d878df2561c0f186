/* bench/outbox_http: outbox deliveries per second from the backoffice connector's perform() to
 * an HTTP subscriber, from THREADS threads each delivering one item after another (as the
 * dispatcher's workers do), with p50 and p99 latency per delivery. Built and run by
 * bench/outbox-http.sh, which measures wrk against the same subscriber as the baseline.
 *
 * Usage: outbox_http URL THREADS SECONDS   prints "RATE P50_MS P99_MS FAILED"
 *        outbox_http --body                prints a body of the size and shape it sends */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "connectors/backoffice/backoffice.h"

#define ARGS "{\"nif\":\"12345678Z\",\"municipi\":\"46250\",\"motiu\":\"alta per naixement\"}"

struct worker {
	pthread_t thread;
	void *state;
	double deadline;
	int index;
	double *lat; /* seconds per delivery */
	size_t n, cap;
	long failed;
	char last_error[256];
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	char key[64];
	for (long i = 0;; i++) {
		double start = now();
		if (start >= w->deadline)
			break;
		snprintf(key, sizeof(key), "EXP-2026-%06d/%ld/0", w->index, i);
		struct eng_outbox_item item = {
			.id = i, .entity_id = "demo", .expedient_id = "EXP-2026-000042",
			.kind = "backoffice", .effect_id = "backoffice:alta_padro", .target = "alta_padro",
			.args_json = ARGS, .idempotency_key = key, .attempts = 1,
		};
		struct eng_delivery d = {0};
		conn_backoffice_type.perform(w->state, &item, &d);
		if (d.status != ENG_DELIVERY_DONE) {
			w->failed++;
			snprintf(w->last_error, sizeof(w->last_error), "%s", d.error);
			continue;
		}
		if (w->n == w->cap) {
			w->cap = w->cap ? w->cap * 2 : 4096;
			w->lat = realloc(w->lat, w->cap * sizeof(*w->lat));
			if (!w->lat)
				abort();
		}
		w->lat[w->n++] = now() - start;
	}
	return NULL;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The body perform() sends for the bench's items, with a fixed time, for wrk to POST. */
static int print_body(void)
{
	json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "event", "alta_padro",
	                        "delivery", "EXP-2026-000000/0/0", "entity", "demo",
	                        "expedient", "EXP-2026-000042", "effect", "backoffice:alta_padro",
	                        "time", "2026-01-01T00:00:00Z", "args", json_loads(ARGS, 0, NULL));
	char *text = json_dumps(doc, JSON_COMPACT);
	char sig[72];
	conn_backoffice_sign(sig, "bench-secret-0123456789", 1767225600, text, strlen(text));
	printf("%s\n%s\n", text, sig);
	free(text);
	json_decref(doc);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--body") == 0)
		return print_body();
	if (argc != 4) {
		fprintf(stderr, "usage: outbox_http URL THREADS SECONDS | outbox_http --body\n");
		return 2;
	}
	int threads = atoi(argv[2]);
	double seconds = atof(argv[3]);
	char config[1024];
	snprintf(config, sizeof(config),
	         "{\"subscribers\": [{\"name\": \"bench\", \"url\": \"%s\", \"secret\": "
	         "\"bench-secret-0123456789\", \"events\": [\"alta_padro\"]}]}", argv[1]);
	void *state = NULL;
	struct conn_error err = {0};
	if (conn_backoffice_type.open(&state, config, &err) != 0) {
		fprintf(stderr, "outbox_http: %s\n", err.msg);
		return 1;
	}
	struct worker *w = calloc((size_t)threads, sizeof(*w));
	double start = now();
	for (int i = 0; i < threads; i++) {
		w[i] = (struct worker){.state = state, .deadline = start + seconds, .index = i};
		pthread_create(&w[i].thread, NULL, run, &w[i]);
	}
	size_t total = 0;
	long failed = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(w[i].thread, NULL);
		total += w[i].n;
		failed += w[i].failed;
	}
	double elapsed = now() - start;
	double *all = malloc((total ? total : 1) * sizeof(*all));
	size_t k = 0;
	for (int i = 0; i < threads; i++) {
		memcpy(all + k, w[i].lat, w[i].n * sizeof(*all));
		k += w[i].n;
		if (w[i].failed)
			fprintf(stderr, "outbox_http: thread %d: %ld failed, last: %s\n", i, w[i].failed,
			        w[i].last_error);
		free(w[i].lat);
	}
	qsort(all, total, sizeof(*all), by_value);
	double p50 = total ? all[total / 2] : 0, p99 = total ? all[total * 99 / 100] : 0;
	printf("%.0f %.3f %.3f %ld\n", (double)total / elapsed, p50 * 1e3, p99 * 1e3, failed);
	free(all);
	free(w);
	conn_backoffice_type.close(state);
	return failed ? 1 : 0;
}
