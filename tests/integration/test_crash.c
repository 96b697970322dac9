/* test_crash.c - acknowledged means durable, across a SIGKILL of the daemon.
 *
 * A client thread pipelines 2000 signed earns; the daemon is killed with SIGKILL
 * part-way; a new daemon starts on the same port; everything not acknowledged is
 * sent again, the same bytes under the same ids. Then: every acknowledged event
 * is in the ledger exactly once under the sequence its receipt named, every
 * event is in exactly once, balances equal the sum of the earns, every earn has
 * exactly its two postings, and receipts of acknowledged events replay byte for
 * byte. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pointclear/codec.h"
#include "pointclear/frame.h"

#include "harness.h"

#define RECORDED POINTCLEAR__V1__DISPOSITION__RECORDED
#define REPLAYED POINTCLEAR__V1__DISPOSITION__REPLAYED
#define RETRYABLE POINTCLEAR__V1__DISPOSITION__RETRYABLE
#define APPROVED POINTCLEAR__V1__STATUS__APPROVED

#define NEVENTS 2000
#define NMEMBERS 50
#define WINDOW 64

struct item {
	uint8_t *env;
	size_t len;
	int64_t points;
	char member[16];
	char event_id[32];
	bool acked;            /* RECORDED or REPLAYED, approved */
	bool acked_before_crash;
	int disposition;
	uint64_t seq;
	uint8_t *receipt;      /* packed Receipt of the first acknowledgement */
	size_t receipt_len;
};

struct pipeline {
	struct pc_client *c;
	struct item *items;
	int *todo;             /* indices to send */
	int ntodo;
	atomic_int acked;
	atomic_bool done;
	int retryable;         /* RETRYABLE answers: resent in the next round */
	int unexpected;        /* answers that are neither approved nor retryable */
	char unexpected_msg[256];
	char err[256];
};

/* Sends the todo list with at most WINDOW requests outstanding; request id =
 * item index + 1. Stops at the first I/O error (the daemon died). No cmocka. */
static void pipeline_loop(struct pipeline *p);

static void *pipeline_run(void *arg)
{
	struct pipeline *p = arg;
	pipeline_loop(p);
	atomic_store(&p->done, true);
	return NULL;
}

static void pipeline_loop(struct pipeline *p)
{
	int sent = 0, answered = 0;
	while (answered < p->ntodo) {
		while (sent < p->ntodo && sent - answered < WINDOW) {
			struct item *it = &p->items[p->todo[sent]];
			if (pc_client_send_frame(p->c, PC_MSG_SUBMIT, (uint64_t)p->todo[sent] + 1,
			                         it->env, it->len) != 0) {
				snprintf(p->err, sizeof p->err, "send failed after %d answers", answered);
				return;
			}
			sent++;
		}
		uint8_t type;
		uint64_t rid;
		uint8_t *body = NULL;
		size_t blen = 0;
		int rc = pc_client_read_frame(p->c, &type, &rid, &body, &blen);
		if (rc != 0) {
			snprintf(p->err, sizeof p->err, "%s after %d answers", rc > 0 ? "EOF" : "read error",
			         answered);
			return;
		}
		answered++;
		struct harness_result r = {0};
		if (harness_result_decode(&r, type, rid, body, blen) != 0 || rid < 1 ||
		    rid > NEVENTS) {
			p->unexpected++;
			snprintf(p->unexpected_msg, sizeof p->unexpected_msg,
			         "undecodable answer type 0x%02x request %" PRIu64, type, rid);
			harness_result_free(&r);
			continue;
		}
		struct item *it = &p->items[rid - 1];
		if ((r.disposition == RECORDED || r.disposition == REPLAYED) && r.status == APPROVED &&
		    r.code == 0 && r.res->receipt) {
			if (!it->acked) {
				it->acked = true;
				it->disposition = r.disposition;
				it->seq = r.seq;
				it->receipt = pc_pack(&r.res->receipt->base, &it->receipt_len);
				atomic_fetch_add(&p->acked, 1);
			}
		} else if (r.disposition == RETRYABLE) {
			p->retryable++;
		} else {
			p->unexpected++;
			snprintf(p->unexpected_msg, sizeof p->unexpected_msg,
			         "%s: disposition %d code %s", it->event_id, r.disposition,
			         pc_code_name((pc_code)r.code));
		}
		harness_result_free(&r);
	}
	return;
}

static int pending(struct item *items, int *todo)
{
	int n = 0;
	for (int i = 0; i < NEVENTS; i++)
		if (!items[i].acked)
			todo[n++] = i;
	return n;
}

static void test_kill_mid_stream(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	struct item *items = calloc(NEVENTS, sizeof *items);
	int *todo = calloc(NEVENTS, sizeof *todo);
	assert_non_null(items);
	assert_non_null(todo);
	int64_t total = 0;
	for (int i = 0; i < NEVENTS; i++) {
		struct item *it = &items[i];
		harness_member(1 + i % NMEMBERS, it->member);
		snprintf(it->event_id, sizeof it->event_id, "crash-%05d", i);
		it->points = 1 + i % 17;
		total += it->points;
		it->env = harness_signed_earn(h, "cafe", it->event_id, it->member, it->points, &it->len);
	}

	/* first run: killed part-way */
	struct pipeline p = {.items = items, .todo = todo};
	p.ntodo = pending(items, todo);
	atomic_init(&p.acked, 0);
	atomic_init(&p.done, false);
	p.c = harness_connect(h, "cafe");
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, pipeline_run, &p), 0);
	/* kill once a quarter is acknowledged; give up when answers stop for 15 s */
	int last = 0, stalled_ms = 0;
	while (atomic_load(&p.acked) < NEVENTS / 4 && !atomic_load(&p.done) &&
	       stalled_ms < 15000) {
		harness_sleep_ms(2);
		int now = atomic_load(&p.acked);
		stalled_ms = now == last ? stalled_ms + 2 : 0;
		last = now;
	}
	int at_kill = atomic_load(&p.acked);
	harness_kill_daemon(h, SIGKILL);
	pthread_join(t, NULL);
	pc_client_close(p.c);
	if (p.unexpected)
		harness_fail(h, "%d unexpected answers, e.g. %s", p.unexpected, p.unexpected_msg);
	int before = atomic_load(&p.acked);
	print_message("acknowledged: %d when killed, %d before the connection ended (%s)\n",
	              at_kill, before, p.err[0] ? p.err : "all answered");
	if (at_kill < NEVENTS / 4)
		harness_fail(h, "only %d of %d acknowledged before the kill (%d RETRYABLE; "
		             "connection: %s)", at_kill, NEVENTS, p.retryable,
		             p.err[0] ? p.err : "all answered");
	for (int i = 0; i < NEVENTS; i++)
		items[i].acked_before_crash = items[i].acked;

	/* what was acknowledged is there, before anything is resent */
	for (int i = 0; i < NEVENTS; i++) {
		if (!items[i].acked)
			continue;
		char seq[32];
		snprintf(seq, sizeof seq, "%" PRIu64, items[i].seq);
		if (harness_sql_int64(h, "SELECT count(*) FROM ledger WHERE alliance_id = $1 AND "
		                         "seq = $2 AND merchant_id = 'cafe' AND event_id = $3",
		                      HARNESS_ALLIANCE, seq, items[i].event_id, NULL) != 1)
			harness_fail(h, "%s was acknowledged as seq %s but is not in the ledger",
			             items[i].event_id, seq);
	}

	/* second run: a new daemon, everything not acknowledged again */
	harness_start_daemon(h);
	for (int round = 0; round < 5; round++) {
		struct pipeline q = {.items = items, .todo = todo};
		q.ntodo = pending(items, todo);
		if (q.ntodo == 0)
			break;
		atomic_init(&q.acked, 0);
		q.c = harness_connect(h, "cafe");
		pipeline_loop(&q);
		pc_client_close(q.c);
		if (q.err[0])
			harness_fail(h, "resending: %s", q.err);
		if (q.unexpected)
			harness_fail(h, "%d unexpected answers, e.g. %s", q.unexpected, q.unexpected_msg);
		if (q.retryable)
			print_message("round %d: %d RETRYABLE answers, resending\n", round + 1,
			              q.retryable);
	}
	int replayed = 0;
	for (int i = 0; i < NEVENTS; i++) {
		if (!items[i].acked)
			harness_fail(h, "%s never acknowledged", items[i].event_id);
		if (!items[i].acked_before_crash && items[i].disposition == REPLAYED)
			replayed++;   /* committed, but the answer was lost with the daemon */
	}
	print_message("resent %d, of which %d had been committed unacknowledged\n",
	              NEVENTS - before, replayed);

	/* exactly once each, gapless */
	assert_int_equal(harness_ledger_count(h), NEVENTS);
	assert_int_equal(harness_sql_int64(h,
		"SELECT count(DISTINCT event_id) FROM ledger WHERE merchant_id = 'cafe'", NULL), NEVENTS);
	assert_int_equal(harness_sql_int64(h, "SELECT max(seq) + 1 FROM ledger", NULL), NEVENTS);
	assert_int_equal(harness_sql_int64(h, "SELECT next_seq FROM ledger_heads", NULL), NEVENTS);
	/* every sequence a receipt named holds that event */
	for (int i = 0; i < NEVENTS; i++) {
		char seq[32];
		snprintf(seq, sizeof seq, "%" PRIu64, items[i].seq);
		if (harness_sql_int64(h, "SELECT count(*) FROM ledger WHERE seq = $1 AND event_id = $2",
		                      seq, items[i].event_id, NULL) != 1)
			harness_fail(h, "receipt of %s names seq %s, which holds another event",
			             items[i].event_id, seq);
	}
	/* the money */
	assert_int_equal(harness_sql_int64(h, "SELECT sum(balance) FROM members", NULL), total);
	assert_int_equal(harness_sql_int64(h,
		"SELECT balance FROM accounts WHERE account_kind = 2 AND owner_id = 'cafe'", NULL),
		-total);
	assert_int_equal(harness_sql_int64(h,
		"SELECT count(*) FROM ledger WHERE status = 1 AND kind = 1", NULL), NEVENTS);
	assert_int_equal(harness_sql_int64(h,
		"SELECT count(*) FROM ledger l WHERE l.status = 1 AND (SELECT count(*) FROM postings p "
		"WHERE p.alliance_id = l.alliance_id AND p.seq = l.seq) <> 2", NULL), 0);
	assert_int_equal(harness_sql_int64(h, "SELECT count(*) FROM postings", NULL), 2 * NEVENTS);
	harness_check_books(h);

	/* receipts given before the crash replay byte for byte */
	int checked = 0;
	for (int i = 0; i < NEVENTS && checked < 20; i++) {
		if (!items[i].acked_before_crash)
			continue;
		struct harness_result r;
		harness_submit_envelope(h, "cafe", items[i].env, items[i].len, &r);
		harness_expect(h, &r, REPLAYED, 0, APPROVED);
		size_t len;
		uint8_t *b = pc_pack(&r.res->receipt->base, &len);
		assert_int_equal(len, items[i].receipt_len);
		assert_memory_equal(b, items[i].receipt, len);
		free(b);
		harness_result_free(&r);
		checked++;
	}
	assert_int_equal(harness_ledger_count(h), NEVENTS);

	for (int i = 0; i < NEVENTS; i++) {
		free(items[i].env);
		free(items[i].receipt);
	}
	free(items);
	free(todo);
}

static int setup(void **state)
{
	struct harness_opts o = {.name = "crash", .members = NMEMBERS};
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
		cmocka_unit_test(test_kill_mid_stream),
	};
	return cmocka_run_group_tests_name("integration.crash", tests, setup, teardown);
}
