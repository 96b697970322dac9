/* test_backpressure.c - a client that does not read, and more load than allowed.
 *
 * Stalled reader: one connection pipelines 20000 pre-signed earns and reads no
 * answer (a non-blocking client with small socket buffers, harness_nb.c). The
 * daemon must stop reading it once its answers pile up: its events stop reaching
 * the ledger, with thousands answered and unread. Meanwhile another merchant's events, one at a time, keep being
 * answered, and the daemon's resident memory grows by less than 100 MiB. Then the
 * client reads: every one of its events gets exactly one answer, all approved.
 *
 * Global limit: with --global-max-pending 50 and the writer held back (the ledger
 * head locked), eight connections pipeline 200 earns each; the daemon logs
 * "backpressure=on" with no more than 50 live requests, then, released,
 * "backpressure=off", and every event is answered exactly once. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pointclear/frame.h"

#include "harness.h"

#define RECORDED POINTCLEAR__V1__DISPOSITION__RECORDED
#define APPROVED POINTCLEAR__V1__STATUS__APPROVED

#define NSTALL 20000            /* events of the client that does not read */
#define NLIVE 20                /* events of the other merchant meanwhile */
#define RSS_GROWTH_MAX_KB (100 * 1024)
#define STALL_CHECK_MS 500      /* the stalled client's progress is sampled this often */
#define STALL_SAMPLES 6         /* ... and it is stalled after this many without any:
                                 * longer than this shared host's pauses */
#define MIN_UNREAD 2000         /* answers the stalled client has, at the least, unread */
#define ANSWER_GAP_MS 20000     /* liveness: the longest wait for its next answer */

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t recorded_of(struct harness *h, const char *merchant)
{
	return harness_sql_int64(h, "SELECT count(*) FROM ledger WHERE merchant_id = $1",
	                         merchant, NULL);
}

static void submit_ok(struct harness *h, const char *merchant, const char *id,
                      const char *member)
{
	struct harness_result r;
	pc_event *ev = harness_earn(merchant, id, member, 3);
	harness_submit(h, merchant, ev, &r);
	harness_event_free(ev);
	harness_expect(h, &r, RECORDED, 0, APPROVED);
	harness_result_free(&r);
}

static void test_stalled_reader(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	char member[16], id[32], err[256];

	/* warm up, then the baseline */
	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof id, "bp-warm-%d", i);
		submit_ok(h, "gym", id, harness_member(1 + i, member));
	}
	int64_t rss_base = harness_daemon_rss_kb(h);

	struct harness_nb *nb = harness_nb_connect(h, "cafe", 4096, err, sizeof err);
	if (!nb)
		harness_fail(h, "stalled client: %s", err);
	for (int i = 0; i < NSTALL; i++) {
		snprintf(id, sizeof id, "bp-%05d", i);
		size_t len;
		uint8_t *env = harness_signed_earn(h, "cafe", id, harness_member(1 + i % 20, member), 1,
		                                   &len);
		harness_nb_queue(nb, PC_MSG_SUBMIT, (uint64_t)i + 1, env, len);
		free(env);
	}
	size_t queued = harness_nb_unsent(nb);

	/* write, never read, until the ledger stops growing for STALL_SAMPLES samples in
	 * a row: the daemon has answered all it read and reads no more */
	int64_t deadline = mono_ms() + 30000, next_check = mono_ms() + STALL_CHECK_MS;
	int64_t last_count = -1, rss_max = rss_base;
	int quiet = 0;
	while (quiet < STALL_SAMPLES) {
		if (mono_ms() > deadline)
			harness_fail(h, "the stalled client's events kept being recorded for 30 s "
			             "(%zu of %zu bytes unsent)", harness_nb_unsent(nb), queued);
		if (harness_nb_pump(nb, false, 100, NULL, err, sizeof err) != 0)
			harness_fail(h, "stalled client: %s", err);
		if (mono_ms() < next_check)
			continue;
		next_check = mono_ms() + STALL_CHECK_MS;
		int64_t count = recorded_of(h, "cafe");
		int64_t rss = harness_daemon_rss_kb(h);
		rss_max = rss > rss_max ? rss : rss_max;
		if (count == NSTALL)
			harness_fail(h, "the daemon took all %d events of a client that reads no answer",
			             NSTALL);
		quiet = count == last_count && count > 0 ? quiet + 1 : 0;
		last_count = count;
	}
	int64_t unread = last_count;
	print_message("stalled: %" PRId64 " events recorded and answered unread, %zu of %zu "
	              "bytes unsent; daemon RSS %" PRId64 " KiB, was %" PRId64 " KiB\n", unread,
	              harness_nb_unsent(nb), queued, rss_max, rss_base);
	if (unread < MIN_UNREAD)
		harness_fail(h, "the daemon stopped reading after only %" PRId64 " answers", unread);

	/* another merchant is served meanwhile, one event at a time (each read waits at
	 * most 10 s: a liveness bound) */
	for (int i = 0; i < NLIVE; i++) {
		snprintf(id, sizeof id, "bp-live-%02d", i);
		submit_ok(h, "gym", id, harness_member(1 + i % 20, member));
		int64_t rss = harness_daemon_rss_kb(h);
		rss_max = rss > rss_max ? rss : rss_max;
	}
	/* it is the daemon that does not read: the client must not be blamed for a
	 * frame left half-read meanwhile */
	if (harness_log_count(h, "protocol_error=FRAME_TIMEOUT") > 0)
		harness_fail(h, "the daemon dropped the stalled client with FRAME_TIMEOUT while it "
		             "was itself not reading it (a frame of it half-read, its answers unread)");
	/* and the stalled client is still not read: nothing more of it recorded */
	if (harness_nb_pump(nb, false, 200, NULL, err, sizeof err) != 0)
		harness_fail(h, "stalled client: %s", err);
	assert_int_equal(recorded_of(h, "cafe"), unread);
	print_message("daemon RSS at most %" PRId64 " KiB, %" PRId64 " KiB over the baseline\n",
	              rss_max, rss_max - rss_base);
	if (rss_max - rss_base >= RSS_GROWTH_MAX_KB)
		harness_fail(h, "the daemon's RSS grew by %" PRId64 " KiB", rss_max - rss_base);

	/* now it reads: exactly one answer for each, all approved. A bound on progress,
	 * not on the total: how fast a Debug build gets through them varies with the
	 * host, and speed is the bench's to measure. */
	bool *seen = calloc(NSTALL, sizeof *seen);
	assert_non_null(seen);
	int answers = 0, answers_then = 0;
	deadline = mono_ms() + ANSWER_GAP_MS;
	while (answers < NSTALL) {
		if (answers > answers_then) {
			answers_then = answers;
			deadline = mono_ms() + ANSWER_GAP_MS;
		}
		if (mono_ms() > deadline)
			harness_fail(h, "no answer for %d s after %d of %d", ANSWER_GAP_MS / 1000,
			             answers, NSTALL);
		if (harness_nb_pump(nb, true, 200, NULL, err, sizeof err) != 0)
			harness_fail(h, "reading the answers after %d: %s%s", answers, err,
			             harness_log_count(h, "protocol_error=FRAME_TIMEOUT") > 0
			             ? " (the daemon logged FRAME_TIMEOUT for it)" : "");
		uint8_t type;
		uint64_t rid;
		uint8_t *body;
		size_t blen;
		int rc;
		while ((rc = harness_nb_next_frame(nb, &type, &rid, &body, &blen)) == 1) {
			struct harness_result r = {0};
			if (harness_result_decode(&r, type, rid, body, blen) != 0 || rid < 1 ||
			    rid > NSTALL)
				harness_fail(h, "answer of type 0x%02x to request %" PRIu64 " is not one "
				             "of ours", type, rid);
			if (seen[rid - 1])
				harness_fail(h, "a second answer to request %" PRIu64, rid);
			seen[rid - 1] = true;
			harness_expect(h, &r, RECORDED, 0, APPROVED);
			harness_result_free(&r);
			answers++;
		}
		if (rc < 0)
			harness_fail(h, "the answers are not frames");
	}
	harness_nb_close(nb);
	free(seen);

	assert_int_equal(recorded_of(h, "cafe"), NSTALL);
	assert_int_equal(harness_sql_int64(h, "SELECT count(DISTINCT event_id) FROM ledger "
	                                      "WHERE merchant_id = 'cafe'", NULL), NSTALL);
	assert_int_equal(recorded_of(h, "gym"), 5 + NLIVE);
	assert_int_equal(harness_sql_int64(h, "SELECT sum(balance) FROM members", NULL),
	                 NSTALL + 3 * (5 + NLIVE));
	assert_int_equal(harness_sql_int64(h, "SELECT max(seq) + 1 - count(*) FROM ledger", NULL), 0);
	harness_check_books(h);
}

/* ---------------------------------------------------------------- global limit */

#define GLOBAL_MAX 50
#define NCONN 8
#define PER_CONN 200

struct worker {
	struct pc_client *c;
	const char *merchant;
	uint8_t *env[PER_CONN];
	size_t len[PER_CONN];
	struct harness_burst got;
	char err[256];
};

/* Sends all, then reads all (PER_CONN answers fit the daemon's output buffer). */
static void *worker_run(void *arg)
{
	struct worker *w = arg;
	harness_burst(w->c, w->env, w->len, PER_CONN, &w->got, w->err, sizeof w->err);
	return NULL;
}

static bool log_has_on(struct harness *h, void *arg)
{
	(void)arg;
	return harness_log_count(h, "backpressure=on") > 0;
}

static void test_global_limit(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	static const char *const args[] = { "--global-max-pending", "50", NULL };
	for (int i = 0; i < HARNESS_MAX_ARGS; i++)
		h->opts.daemon_args[i] = i < 3 ? args[i] : NULL;
	harness_restart_daemon(h);
	int64_t before = harness_ledger_count(h);

	struct worker w[NCONN];
	pthread_t t[NCONN];
	memset(w, 0, sizeof w);
	for (int k = 0; k < NCONN; k++) {
		w[k].merchant = harness_merchant_ids[k % 4];
		struct harness_merchant *m = harness_merchant(h, w[k].merchant);
		char err[256];
		w[k].c = harness_connect_raw(h, m->cert, m->key, 30000, err, sizeof err);
		if (!w[k].c)
			harness_fail(h, "connect as %s: %s", w[k].merchant, err);
		for (int i = 0; i < PER_CONN; i++) {
			char id[48], member[16];
			snprintf(id, sizeof id, "gl-%d-%03d", k, i);
			w[k].env[i] = harness_signed_earn(h, w[k].merchant, id,
			                                  harness_member(1 + i % 20, member), 2, &w[k].len[i]);
		}
	}

	/* with the writer held back, requests can only pile up: the limit is reached */
	PGconn *lock = harness_lock_heads(h);
	for (int k = 0; k < NCONN; k++)
		assert_int_equal(pthread_create(&t[k], NULL, worker_run, &w[k]), 0);
	bool on = harness_wait_until(h, 10000, log_has_on, NULL);
	harness_unlock_heads(h, lock);
	for (int k = 0; k < NCONN; k++)
		pthread_join(t[k], NULL);
	if (!on)
		harness_fail(h, "no \"backpressure=on\" with %d requests pipelined and a limit of %d",
		             NCONN * PER_CONN, GLOBAL_MAX);

	int approved = 0, other = 0;
	for (int k = 0; k < NCONN; k++) {
		for (int i = 0; i < PER_CONN; i++)
			free(w[k].env[i]);
		pc_client_close(w[k].c);
		if (w[k].err[0])
			harness_fail(h, "connection %d (%s): %s", k, w[k].merchant, w[k].err);
		approved += w[k].got.approved;
		other += w[k].got.declined_insufficient + w[k].got.other;
	}
	assert_int_equal(other, 0);
	assert_int_equal(approved, NCONN * PER_CONN);
	assert_int_equal(harness_ledger_count(h), before + NCONN * PER_CONN);

	/* the log: on, never above the limit, and off again after it */
	char *log = harness_log_text(h, NULL);
	const char *first_on = strstr(log, "backpressure=on");
	int ons = 0;
	for (const char *p = first_on; p; p = strstr(p + 1, "backpressure=on")) {
		int live;
		if (sscanf(p, "backpressure=on live=%d", &live) != 1 || live > GLOBAL_MAX) {
			free(log);
			harness_fail(h, "backpressure turned on above the limit (%.40s)", p);
		}
		ons++;
	}
	bool off_after = first_on && strstr(first_on, "backpressure=off") != NULL;
	free(log);
	print_message("backpressure turned on %d times\n", ons);
	if (!off_after)
		harness_fail(h, "no \"backpressure=off\" after \"backpressure=on\"");
	harness_check_books(h);
}

static int setup(void **state)
{
	/* AddressSanitizer keeps up to 256 MB of freed memory in quarantine, and RSS
	 * counts it: the daemon (which inherits this) gets a small one, so that growth
	 * means memory held, not memory recently freed */
	const char *asan = getenv("ASAN_OPTIONS");
	char opts[1024];
	snprintf(opts, sizeof opts, "%s%squarantine_size_mb=16", asan ? asan : "",
	         asan && *asan ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
	/* a short frame timeout: a daemon that holds a client's frame half-read while
	 * it is itself not reading must not blame the client (FRAME_TIMEOUT) */
	struct harness_opts o = {
		.name = "backpressure",
		.members = 20,
		.daemon_args = { "--frame-timeout-ms", "2000", NULL },
	};
	*state = harness_new(&o);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	return harness_free(HARNESS_STATE(state));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stalled_reader),
		cmocka_unit_test(test_global_limit),
	};
	return cmocka_run_group_tests_name("integration.backpressure", tests, setup, teardown);
}
