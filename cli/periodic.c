/* A chore `tramit serve` runs in the background every so often (cli.h: cli_periodic): its
 * own thread and database connection, opened on the first run and again after a failure, and
 * a stop that wakes the thread at once instead of waiting out the period. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli.h"
#include "engine/runtime/store.h"

struct cli_periodic {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	int period_s;
	bool at_once; /* the first run at start rather than after one period */
	const char *name, *conninfo;
	const struct eng_calendar *calendar;
	cli_periodic_fn fn;
	void *payload;
};

static void *run(void *arg)
{
	struct cli_periodic *p = arg;
	struct eng_store *store = NULL;
	pthread_mutex_lock(&p->lock);
	for (bool first = true; !p->stop; first = false) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += p->period_s;
		while (!(first && p->at_once) && !p->stop &&
		       pthread_cond_timedwait(&p->wake, &p->lock, &until) != ETIMEDOUT)
			;
		if (p->stop)
			break;
		pthread_mutex_unlock(&p->lock);
		struct eng_error err = {0};
		if (!store && eng_store_open(&store, p->conninfo, &err) != 0) {
			fprintf(stderr, "tramit: %s: %s (trying again in %d s)\n", p->name, err.msg, p->period_s);
		} else {
			eng_store_set_calendar(store, p->calendar);
			p->fn(store, p->payload);
		}
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	eng_store_close(store);
	return NULL;
}

int cli_periodic_start(struct cli_periodic **out, const char *name, int period_s, bool at_once,
                       const char *conninfo, const struct eng_calendar *calendar,
                       cli_periodic_fn fn, void *payload)
{
	*out = NULL;
	struct cli_periodic *p = calloc(1, sizeof(*p));
	if (!p)
		return 1;
	*p = (struct cli_periodic){.period_s = period_s, .at_once = at_once, .name = name, .conninfo = conninfo,
	                           .calendar = calendar, .fn = fn, .payload = payload};
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	if (pthread_create(&p->thread, NULL, run, p) != 0) {
		fprintf(stderr, "tramit: cannot start the %s thread\n", name);
		pthread_mutex_destroy(&p->lock);
		pthread_cond_destroy(&p->wake);
		free(p);
		return 1;
	}
	*out = p;
	return 0;
}

void cli_periodic_stop(struct cli_periodic *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->wake);
	free(p);
}
