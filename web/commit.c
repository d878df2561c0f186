/* Group commit for the web. Loops hand transitions to one committer thread, which applies
 * whatever has queued up meanwhile in one transaction (eng_store_apply_batch) and hands each
 * answer back to the loop that owns the request. A loop never waits for a commit, and a client
 * is answered only after its own transition committed.
 * Invariants: every job queued is answered exactly once, on its own loop's thread; a batch's
 * arena lives until the last of its answers was sent. */
#include <event2/event.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>

#include "internal.h"

enum { BATCH_MAX = 128 };

struct web_committer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct web_job *head, **tail;
	bool stop, running;
	struct eng_store *store;
	const struct cat_catalog *catalog;
};

/* The answers of one batch share its arena (the views and step results point into it). */
struct batch {
	struct eng_arena arena;
	atomic_int pending;
};

static void batch_release(struct batch *b)
{
	if (atomic_fetch_sub(&b->pending, 1) == 1) {
		eng_arena_free(&b->arena);
		free(b);
	}
}

/* On the request's loop: answer, then end the request. */
static void on_answer(evutil_socket_t fd, short what, void *payload)
{
	struct web_job *job = payload;
	struct batch *b = job->batch;
	job->answer(job->c, job);
	web_request_end(job->c);
	batch_release(b);
}

static size_t take(struct web_committer *k, struct web_job **jobs)
{
	pthread_mutex_lock(&k->lock);
	while (!k->head && !k->stop)
		pthread_cond_wait(&k->wake, &k->lock);
	size_t n = 0;
	while (k->head && n < BATCH_MAX) {
		jobs[n++] = k->head;
		k->head = k->head->next;
	}
	if (!k->head)
		k->tail = &k->head;
	pthread_mutex_unlock(&k->lock);
	return n;
}

static void *committer_main(void *payload)
{
	struct web_committer *k = payload;
	struct web_job *jobs[BATCH_MAX];
	struct eng_batch_item items[BATCH_MAX];
	size_t n;
	while ((n = take(k, jobs)) > 0) {
		struct batch *b = calloc(1, sizeof(*b));
		if (!b)
			abort(); /* no memory to answer with: nothing sensible is left to do */
		atomic_init(&b->pending, (int)n);
		for (size_t i = 0; i < n; i++)
			items[i] = (struct eng_batch_item){.cmd = &jobs[i]->cmd, .view = &jobs[i]->view};
		eng_store_apply_batch(k->store, &b->arena, items, n, cat_catalog_lookup, (void *)k->catalog);
		static const struct timeval now = {0, 0};
		for (size_t i = 0; i < n; i++) {
			jobs[i]->out = items[i].out;
			jobs[i]->rc = items[i].rc;
			jobs[i]->err = items[i].err;
			jobs[i]->batch = b;
			if (event_base_once(jobs[i]->c->base, -1, EV_TIMEOUT, on_answer, jobs[i], &now) != 0) {
				/* The loop is gone (shutting down): the request dies with it. */
				batch_release(b);
			}
		}
	}
	return NULL;
}

int web_committer_start(struct web_committer **out, const struct web_config *cfg,
                        const struct cat_catalog *catalog, struct eng_error *err)
{
	*out = NULL;
	struct web_committer *k = calloc(1, sizeof(*k));
	if (!k)
		return eng_error_set(err, ENG_EINTERNAL, "out of memory");
	int rc = eng_store_open(&k->store, cfg->conninfo, err);
	if (rc) {
		free(k);
		return rc;
	}
	eng_store_set_calendar(k->store, cfg->calendar);
	k->catalog = catalog;
	k->tail = &k->head;
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->wake, NULL);
	k->running = pthread_create(&k->thread, NULL, committer_main, k) == 0;
	if (!k->running) {
		web_committer_stop(k);
		return eng_error_set(err, ENG_EINTERNAL, "cannot start the committer thread");
	}
	*out = k;
	return 0;
}

/* Applies what is queued, then stops; answers for loops already stopped are dropped. */
void web_committer_stop(struct web_committer *k)
{
	if (!k)
		return;
	pthread_mutex_lock(&k->lock);
	k->stop = true;
	pthread_cond_signal(&k->wake);
	pthread_mutex_unlock(&k->lock);
	if (k->running)
		pthread_join(k->thread, NULL);
	pthread_mutex_destroy(&k->lock);
	pthread_cond_destroy(&k->wake);
	eng_store_close(k->store);
	free(k);
}

void web_commit(struct web_ctx *c, struct web_job *job)
{
	struct web_committer *k = c->srv->committer;
	job->c = c;
	job->next = NULL;
	c->deferred = true;
	pthread_mutex_lock(&k->lock);
	*k->tail = job;
	k->tail = &job->next;
	pthread_cond_signal(&k->wake);
	pthread_mutex_unlock(&k->lock);
}
