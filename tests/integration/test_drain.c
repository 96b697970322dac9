/* test_drain.c - SIGTERM in the middle of pipelined traffic (PROTOCOL.md,
 * "Shutdown").
 *
 * Four connections each pipeline 1,500 SUBMITs through the non-blocking client
 * (harness_nb.c) and read their answers; once some are answered the daemon gets
 * SIGTERM. Every request the daemon read (the sum of requests= over its
 * "closed" log lines) must get exactly one answer: RECORDED with a valid
 * receipt and in the ledger, or RETRYABLE / SHUTTING_DOWN and not in the
 * ledger. Requests never answered (never read) are not in the ledger either.
 * Each connection ends with the daemon's close_notify, and the daemon exits 0. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "pointclear/codec.h"
#include "pointclear/frame.h"

#include "harness.h"

#define NCONN 4
#define PER_CONN 1500
#define SIGNAL_AFTER 400   /* answers seen before SIGTERM */

struct stream {
	struct harness *h;
	struct harness_nb *nb;
	const char *merchant;
	uint8_t *env[PER_CONN];
	size_t len[PER_CONN];
	int answers[PER_CONN];     /* answers per request (request id i + 1) */
	struct harness_result res[PER_CONN];
	int bad_frames;
	char err[256];             /* why the stream ended */
};

static atomic_int answered;

static void *pump(void *arg)
{
	struct stream *s = arg;
	for (;;) {
		if (harness_nb_pump(s->nb, true, 100, NULL, s->err, sizeof s->err) < 0)
			break;
		uint8_t type;
		uint64_t rid;
		uint8_t *body;
		size_t blen;
		int rc;
		while ((rc = harness_nb_next_frame(s->nb, &type, &rid, &body, &blen)) == 1) {
			if (type != PC_MSG_SUBMIT_RESULT || rid < 1 || rid > PER_CONN) {
				s->bad_frames++;
				free(body);
				continue;
			}
			int i = (int)rid - 1;
			if (s->answers[i]++ == 0) {
				if (harness_result_decode(&s->res[i], type, rid, body, blen) != 0)
					s->bad_frames++;
			} else {
				free(body);
			}
			atomic_fetch_add(&answered, 1);
		}
		if (rc < 0) {
			snprintf(s->err, sizeof s->err, "not frames");
			break;
		}
	}
	/* frames that came with the close_notify */
	uint8_t type;
	uint64_t rid;
	uint8_t *body;
	size_t blen;
	while (harness_nb_next_frame(s->nb, &type, &rid, &body, &blen) == 1) {
		if (type == PC_MSG_SUBMIT_RESULT && rid >= 1 && rid <= PER_CONN) {
			int i = (int)rid - 1;
			if (s->answers[i]++ == 0 &&
			    harness_result_decode(&s->res[i], type, rid, body, blen) == 0)
				body = NULL;
		} else {
			s->bad_frames++;
		}
		free(body);
	}
	return NULL;
}

static bool enough_answered(struct harness *h, void *arg)
{
	(void)h;
	(void)arg;
	return atomic_load(&answered) >= SIGNAL_AFTER;
}

/* The sum of requests=N over the daemon's "closed" lines. */
static long requests_read(struct harness *h)
{
	char *log = harness_log_text(h, NULL);
	long sum = 0;
	for (const char *p = log; (p = strstr(p, " closed reason=")) != NULL; p++) {
		const char *q = strstr(p, "requests=");
		const char *eol = strchr(p, '\n');
		if (q && (!eol || q < eol))
			sum += strtol(q + strlen("requests="), NULL, 10);
	}
	free(log);
	return sum;
}

static void test_drain(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	static struct stream streams[NCONN];
	pthread_t th[NCONN];
	char member[16];
	for (int k = 0; k < NCONN; k++) {
		struct stream *s = &streams[k];
		s->h = h;
		s->merchant = harness_merchant_ids[k];
		for (int i = 0; i < PER_CONN; i++) {
			char id[32];
			snprintf(id, sizeof id, "drain-%d", i);
			s->env[i] = harness_signed_earn(h, s->merchant, id,
			                                harness_member(1 + i % 10, member), 1, &s->len[i]);
		}
		char err[256];
		s->nb = harness_nb_connect(h, s->merchant, 0, err, sizeof err);
		if (!s->nb)
			harness_fail(h, "connect: %s", err);
		for (int i = 0; i < PER_CONN; i++)
			harness_nb_queue(s->nb, PC_MSG_SUBMIT, (uint64_t)i + 1, s->env[i], s->len[i]);
	}
	for (int k = 0; k < NCONN; k++)
		assert_int_equal(pthread_create(&th[k], NULL, pump, &streams[k]), 0);
	assert_true(harness_wait_until(h, 120000, enough_answered, NULL));
	kill(h->daemon_pid, SIGTERM);
	for (int k = 0; k < NCONN; k++)
		pthread_join(th[k], NULL);
	int st = harness_kill_daemon(h, SIGTERM);   /* reaps it; it has stopped by now */
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);

	long answers = 0;
	int recorded = 0, shutting = 0, unanswered = 0;
	for (int k = 0; k < NCONN; k++) {
		struct stream *s = &streams[k];
		if (strcmp(s->err, "the daemon closed the connection") != 0)
			harness_fail(h, "%s: no close_notify: %s", s->merchant, s->err);
		assert_int_equal(s->bad_frames, 0);
		for (int i = 0; i < PER_CONN; i++) {
			char id[32];
			snprintf(id, sizeof id, "drain-%d", i);
			int64_t in_ledger = harness_sql_int64(
				h, "SELECT count(*) FROM ledger WHERE merchant_id = $1 AND event_id = $2",
				s->merchant, id, NULL);
			struct harness_result *r = &s->res[i];
			if (s->answers[i] > 1)
				harness_fail(h, "%s/%s answered %d times", s->merchant, id, s->answers[i]);
			answers += s->answers[i];
			if (s->answers[i] == 0) {
				unanswered++;
				assert_int_equal(in_ledger, 0);   /* never read, never recorded */
			} else if (r->disposition == POINTCLEAR__V1__DISPOSITION__RECORDED) {
				recorded++;
				assert_true(harness_receipt_valid(h, r));
				r->envelope = s->env[i];
				r->envelope_len = s->len[i];
				assert_true(harness_leaf_valid(h, r));
				assert_int_equal(in_ledger, 1);
			} else {
				harness_expect(h, r, POINTCLEAR__V1__DISPOSITION__RETRYABLE,
				               POINTCLEAR__V1__CODE__SHUTTING_DOWN, 0);
				shutting++;
				assert_int_equal(in_ledger, 0);
			}
			r->envelope = NULL;
			harness_result_free(r);
			free(s->env[i]);
		}
		harness_nb_close(s->nb);
	}
	print_message("drain: recorded=%d shutting_down=%d unread=%d\n", recorded, shutting,
	              unanswered);
	assert_true(recorded >= SIGNAL_AFTER);
	/* the signal came with requests still unread: some were read during the
	 * window and answered SHUTTING_DOWN, not left unanswered */
	assert_true(shutting > 0);
	/* every request the daemon read got its one answer */
	assert_int_equal(requests_read(h), answers);
	assert_int_equal(harness_ledger_count(h), recorded);
	harness_check_books(h);
	harness_start_daemon(h);   /* harness_free stops it as usual */
}

static int setup(void **state)
{
	struct harness_opts o = {.name = "drain", .merchants = NCONN, .members = 10,
	                         .daemon_args = { "--drain-window-ms", "300", NULL }};
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
		cmocka_unit_test(test_drain),
	};
	return cmocka_run_group_tests_name("integration.drain", tests, setup, teardown);
}
