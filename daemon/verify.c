/* verify.c - the verification worker pool (see verify.h). */
#include "verify.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>

#include "keycache.h"
#include "log.h"
#include "validate.h"

struct pc_verify {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct pc_request_list jobs;
	struct pc_request_list done;
	bool stopping;
	int idle;                 /* workers waiting for jobs */
	int nthreads;
	pthread_t *threads;
	struct event *done_ev;
	void (*done_cb)(struct pc_request *r, void *arg);
	void *arg;
};

static void *worker_main(void *arg)
{
	struct pc_verify *v = arg;
	pthread_mutex_lock(&v->lock);
	for (;;) {
		while (!v->stopping && TAILQ_EMPTY(&v->jobs)) {
			v->idle++;
			pthread_cond_wait(&v->wake, &v->lock);
			v->idle--;
		}
		if (v->stopping)
			break;
		struct pc_request *r = TAILQ_FIRST(&v->jobs);
		TAILQ_REMOVE(&v->jobs, r, stage_link);
		pthread_mutex_unlock(&v->lock);

		struct pc_keys *keys = pc_keys_acquire();
		/* the stage itself is the loop's to change, once it takes r back */
		r->verdict_ok = pc_validate(r, keys, pc_now_us());
		pc_keys_release(keys);

		pthread_mutex_lock(&v->lock);
		bool was_empty = TAILQ_EMPTY(&v->done);
		TAILQ_INSERT_TAIL(&v->done, r, stage_link);
		pthread_mutex_unlock(&v->lock);
		/* Outside the lock: event_active takes the loop's own lock and writes to
		 * its wake-up descriptor, and the loop, once woken, wants this lock to
		 * drain done; holding it here made the loop block on it. Results pushed
		 * meanwhile by other workers ride on this activation. */
		if (was_empty)
			event_active(v->done_ev, EV_READ, 0);
		pthread_mutex_lock(&v->lock);
	}
	pthread_mutex_unlock(&v->lock);
	return NULL;
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct pc_verify *v = arg;
	struct pc_request_list batch = TAILQ_HEAD_INITIALIZER(batch);
	(void)fd;
	(void)what;

	pthread_mutex_lock(&v->lock);
	TAILQ_CONCAT(&batch, &v->done, stage_link);
	pthread_mutex_unlock(&v->lock);

	struct pc_request *r;
	while ((r = TAILQ_FIRST(&batch)) != NULL) {
		TAILQ_REMOVE(&batch, r, stage_link);
		r->stage = r->verdict_ok ? PC_REQ_VERIFIED : PC_REQ_REJECTED;
		r->mono_verified_us = pc_mono_us();
		v->done_cb(r, v->arg);
	}
}

struct pc_verify *pc_verify_new(struct event_base *base, int threads,
                                void (*done)(struct pc_request *r, void *arg), void *arg)
{
	struct pc_verify *v = calloc(1, sizeof *v);
	if (!v)
		fatal("verify: calloc");
	pthread_mutex_init(&v->lock, NULL);
	pthread_cond_init(&v->wake, NULL);
	TAILQ_INIT(&v->jobs);
	TAILQ_INIT(&v->done);
	v->done_cb = done;
	v->arg = arg;
	v->done_ev = event_new(base, -1, 0, on_done, v);
	if (!v->done_ev)
		fatal("verify: event_new");
	v->nthreads = threads;
	v->threads = calloc((size_t)threads, sizeof *v->threads);
	if (!v->threads)
		fatal("verify: calloc");
	for (int i = 0; i < threads; i++)
		if (pthread_create(&v->threads[i], NULL, worker_main, v) != 0)
			fatalx("verify: pthread_create failed");
	return v;
}

void pc_verify_submit(struct pc_verify *v, struct pc_request_list *reqs)
{
	struct pc_request *r;
	int n = 0;
	TAILQ_FOREACH(r, reqs, stage_link) {
		r->stage = PC_REQ_VERIFYING;
		n++;
	}
	pthread_mutex_lock(&v->lock);
	TAILQ_CONCAT(&v->jobs, reqs, stage_link);
	int idle = v->idle;
	pthread_mutex_unlock(&v->lock);
	/* A worker that is not waiting takes the next job before it sleeps, so only
	 * idle workers need waking, and no more of them than there are jobs. Woken
	 * after the unlock: a worker woken under the lock blocks on it at once. */
	if (idle > 0 && n >= idle)
		pthread_cond_broadcast(&v->wake);
	else
		for (int i = 0; i < n && i < idle; i++)
			pthread_cond_signal(&v->wake);
}

void pc_verify_free(struct pc_verify *v)
{
	if (!v)
		return;
	pthread_mutex_lock(&v->lock);
	v->stopping = true;
	pthread_cond_broadcast(&v->wake);
	pthread_mutex_unlock(&v->lock);
	for (int i = 0; i < v->nthreads; i++)
		pthread_join(v->threads[i], NULL);
	struct pc_request *r;
	while ((r = TAILQ_FIRST(&v->jobs)) != NULL) {
		TAILQ_REMOVE(&v->jobs, r, stage_link);
		pc_request_free(r);
	}
	while ((r = TAILQ_FIRST(&v->done)) != NULL) {
		TAILQ_REMOVE(&v->done, r, stage_link);
		pc_request_free(r);
	}
	event_free(v->done_ev);
	free(v->threads);
	free(v);
}
