/* test_core_batching.c - how the core groups requests: the writer's batch rules
 * (batching.c: batch size, limits after a failure, when a batch may go out) and
 * the order of each client's outcomes, driven through the core's API on a real
 * event loop and real worker threads but without a database: valid events are
 * then answered RETRYABLE / UNAVAILABLE, invalid ones REJECTED. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "batching.h"
#include "core.h"
#include "request.h"
#include "test_core_fixture.h"

#define CODE(x) POINTCLEAR__V1__CODE__##x
#define DISP(x) POINTCLEAR__V1__DISPOSITION__##x

/* A queue of n requests; the first limited of them carry batch_limit limit. */
static void fill_queue(struct pc_request_list *q, struct pc_request **reqs, int n, int limited,
                       int limit)
{
	TAILQ_INIT(q);
	for (int i = 0; i < n; i++) {
		reqs[i] = pc_request_new(NULL, 0, (uint64_t)i + 1);
		reqs[i]->batch_limit = i < limited ? limit : 0;
		TAILQ_INSERT_TAIL(q, reqs[i], stage_link);
	}
}

static void free_queue(struct pc_request **reqs, int n)
{
	for (int i = 0; i < n; i++)
		pc_request_free(reqs[i]);
}

static void test_take(void **state)
{
	(void)state;
	struct pc_request_list q;
	struct pc_request *reqs[10];

	fill_queue(&q, reqs, 10, 0, 0);
	assert_int_equal(pc_batch_take(&q, 10, 4), 4);      /* a full batch */
	assert_int_equal(pc_batch_take(&q, 10, 64), 10);    /* everything queued */
	free_queue(reqs, 10);

	/* the front half of a bisected batch of 10: five of them, no more */
	fill_queue(&q, reqs, 10, 10, 5);
	assert_int_equal(pc_batch_take(&q, 10, 64), 5);
	free_queue(reqs, 10);

	/* the failed events do not share a batch with others behind them */
	fill_queue(&q, reqs, 10, 2, 3);
	assert_int_equal(pc_batch_take(&q, 10, 64), 2);
	free_queue(reqs, 10);
}

static void test_may_send(void **state)
{
	(void)state;
	assert_false(pc_batch_may_send(0, 0, 2, 64));      /* nothing queued */
	assert_true(pc_batch_may_send(1, 0, 2, 64));       /* idle: at once, even one event */
	assert_false(pc_batch_may_send(15, 1, 2, 64));     /* one runs: wait for a quarter */
	assert_true(pc_batch_may_send(16, 1, 2, 64));
	assert_false(pc_batch_may_send(64, 2, 2, 64));     /* the pipeline is full */
}

static void test_after_error(void **state)
{
	(void)state;
	struct pc_request_list q;
	struct pc_request *reqs[7];

	/* a deadlock: the same batch again, each retry counted, until they are spent */
	fill_queue(&q, reqs, 7, 0, 0);
	for (int i = 0; i < PC_BATCH_MAX_RETRIES; i++)
		assert_int_equal(pc_batch_after_error(reqs, 7, "40P01"), PC_BATCH_RETRY);
	assert_int_equal(reqs[6]->retries, PC_BATCH_MAX_RETRIES);
	assert_int_equal(pc_batch_after_error(reqs, 7, "40P01"), PC_BATCH_BISECT);
	assert_int_equal(reqs[0]->batch_limit, 4);
	assert_int_equal(reqs[6]->batch_limit, 4);
	free_queue(reqs, 7);

	/* a serialization failure is transient too */
	fill_queue(&q, reqs, 1, 0, 0);
	assert_int_equal(pc_batch_after_error(reqs, 1, "40001"), PC_BATCH_RETRY);
	free_queue(reqs, 1);

	/* anything else: halved until the event that fails is alone, then given up */
	fill_queue(&q, reqs, 7, 0, 0);
	assert_int_equal(pc_batch_after_error(reqs, 7, "23505"), PC_BATCH_BISECT);
	assert_int_equal(reqs[3]->batch_limit, 4);
	assert_int_equal(pc_batch_after_error(reqs, 2, "23505"), PC_BATCH_BISECT);
	assert_int_equal(reqs[0]->batch_limit, 1);
	assert_int_equal(pc_batch_after_error(reqs, 1, "23505"), PC_BATCH_GIVE_UP);
	assert_int_equal(pc_batch_after_error(reqs, 1, NULL), PC_BATCH_GIVE_UP);
	free_queue(reqs, 7);
}

/* --- the order of outcomes, through the core --- */

#define N_PER_CLIENT 60

struct seen {
	int n;
	uint64_t ids[N_PER_CLIENT];
	int codes[N_PER_CLIENT];
	int dispositions[N_PER_CLIENT];
};

static struct pc_core *core;
static struct event_base *base;
static int answers_after_free;

static void on_answer(void *cookie, uint64_t request_id, const struct pc_outcome *o)
{
	struct seen *s = cookie;
	assert_non_null(s);
	assert_true(s->n < N_PER_CLIENT);
	assert_non_null(o->message);
	assert_null(o->receipt);
	s->ids[s->n] = request_id;
	s->codes[s->n] = o->code;
	s->dispositions[s->n] = o->disposition;
	s->n++;
}

static void on_released(void *arg)
{
	(void)arg;
	if (pc_core_live(core) == 0)
		event_base_loopbreak(base);
}

static void on_answer_counting(void *cookie, uint64_t request_id, const struct pc_outcome *o)
{
	(void)cookie;
	(void)request_id;
	(void)o;
	answers_after_free++;
}

static struct pc_config cfg = { .workers = 4, .batch_max = 64, .batches_in_flight = 2 };

static void start_core(void (*answer)(void *, uint64_t, const struct pc_outcome *))
{
	base = event_base_new();
	assert_non_null(base);
	struct pc_core_hooks hooks = { .answer = answer, .answer_lookup = answer, .released = on_released };
	core = pc_core_new(base, &cfg, &hooks);
}

static void stop_core(void)
{
	pc_core_free(core);
	event_base_free(base);
}

/* Request i of a client: valid when i is a multiple of 3, else junk. */
static uint8_t *envelope(int i, size_t *len)
{
	if (i % 3 == 0) {
		struct sample s;
		char id[32];
		snprintf(id, sizeof id, "e-%d", i);
		sample_init(&s, SAMPLE_EARN);
		s.event.event_id = id;
		s.event.event_time_us = pc_now_us();
		return sign_sample(&s, NULL, len);
	}
	uint8_t *junk = malloc(3);
	junk[0] = 0xff, junk[1] = 0xff, junk[2] = 0xff;
	*len = 3;
	return junk;
}

static void test_client_order(void **state)
{
	(void)state;
	pc_keys_publish(make_keys());
	start_core(on_answer);
	struct pc_identity id = { "al", "m-42" };
	struct seen a = { 0 }, b = { 0 };
	struct pc_core_client *ca = pc_core_client_new(core, &id, &a);
	struct pc_core_client *cb = pc_core_client_new(core, &id, &b);
	for (int i = 0; i < N_PER_CLIENT; i++) {
		size_t len;
		uint8_t *env = envelope(i, &len);
		pc_core_submit(ca, 1000 + (uint64_t)i, env, len);
		env = envelope(N_PER_CLIENT - 1 - i, &len);
		pc_core_submit(cb, 2000 + (uint64_t)i, env, len);
		if (i % 7 == 6)
			pc_core_dispatch(core);   /* several hand-offs, racing the workers */
	}
	pc_core_dispatch(core);
	assert_int_equal(pc_core_live(core), 2 * N_PER_CLIENT);
	event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);

	assert_int_equal(a.n, N_PER_CLIENT);
	assert_int_equal(b.n, N_PER_CLIENT);
	for (int i = 0; i < N_PER_CLIENT; i++) {
		assert_int_equal(a.ids[i], 1000 + (uint64_t)i);
		assert_int_equal(b.ids[i], 2000 + (uint64_t)i);
		int ib = N_PER_CLIENT - 1 - i;
		if (i % 3 == 0) {   /* valid, no database: retryable */
			assert_int_equal(a.dispositions[i], DISP(RETRYABLE));
			assert_int_equal(a.codes[i], CODE(UNAVAILABLE));
		} else {
			assert_int_equal(a.dispositions[i], DISP(REJECTED));
			assert_int_equal(a.codes[i], CODE(BAD_ENVELOPE));
		}
		assert_int_equal(b.codes[i], ib % 3 == 0 ? CODE(UNAVAILABLE) : CODE(BAD_ENVELOPE));
	}
	pc_core_client_free(ca);
	pc_core_client_free(cb);
	stop_core();
}

/* A client that goes away leaves its requests to finish detached: they leave the
 * core and nobody is answered. */
static void test_detached_client(void **state)
{
	(void)state;
	pc_keys_publish(make_keys());
	start_core(on_answer_counting);
	struct pc_identity id = { "al", "m-42" };
	struct pc_core_client *c = pc_core_client_new(core, &id, NULL);
	for (int i = 0; i < 30; i++) {
		size_t len;
		uint8_t *env = envelope(i, &len);
		pc_core_submit(c, (uint64_t)i, env, len);
	}
	pc_core_dispatch(core);
	pc_core_client_free(c);
	event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
	assert_int_equal(pc_core_live(core), 0);
	assert_int_equal(answers_after_free, 0);
	stop_core();
}

int main(void)
{
	if (fixture_init() < 0 || evthread_use_pthreads() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_take),
		cmocka_unit_test(test_may_send),
		cmocka_unit_test(test_after_error),
		cmocka_unit_test(test_client_order),
		cmocka_unit_test(test_detached_client),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	pc_keys_publish(NULL);
	return rc;
}
