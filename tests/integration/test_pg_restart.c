/* test_pg_restart.c - PostgreSQL goes away under load, and comes back.
 *
 * The test runs its own PostgreSQL cluster (the shared one serves other tests at
 * the same time). Three connections pipeline 3000 earns. After 30% are
 * acknowledged the server is stopped (fast shutdown: sessions terminated), more
 * events are sent while it is down, and it is started again; after 65% it is
 * stopped as in a crash (immediate) and started at once. Which events a lane may
 * send depends on the phase, so that some are always sent while the server is
 * down and some only after each restart. The daemon (--reconnect-ms 100) must
 * answer what it cannot record RETRYABLE / UNAVAILABLE, never approve what is not
 * in the ledger, and reconnect by itself. The clients resend RETRYABLE events,
 * same bytes under the same id, until each has a final answer. Then: every event
 * is in the ledger exactly once, every answer's sequence and leaf hash is the
 * ledger's, sequences have no gap, and the balances add up to what was approved. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pointclear/frame.h"

#include "harness.h"

#define RECORDED POINTCLEAR__V1__DISPOSITION__RECORDED
#define REPLAYED POINTCLEAR__V1__DISPOSITION__REPLAYED
#define RETRYABLE POINTCLEAR__V1__DISPOSITION__RETRYABLE
#define APPROVED POINTCLEAR__V1__STATUS__APPROVED
#define C(x) POINTCLEAR__V1__CODE__##x

#define NLANES 3
#define PER_LANE 1000
#define NEVENTS (NLANES * PER_LANE)
#define NMEMBERS 50
#define WINDOW 32
#define RESEND_PAUSE_MS 50
#define LANE_DEADLINE_MS 45000   /* a lane gives up (and the test fails) after this */

/* phases of the test; in each a lane sends fresh events up to this share of its own */
enum { PH_BEFORE, PH_DOWN1, PH_AFTER1, PH_DOWN2, PH_AFTER2 };
static const int gate_percent[] = { 60, 70, 80, 90, 100 };

struct item {
	uint8_t *env;
	size_t len;
	char event_id[32];
	char member[16];
	int64_t points;
	int64_t not_before_ms;     /* resend pause after a RETRYABLE answer */
	bool final;                /* RECORDED or REPLAYED, approved */
	int disposition;
	int final_phase;
	uint64_t seq;
	uint8_t leaf[32];
	int retryable;
};

struct lane {
	const char *merchant;
	struct pc_client *c;
	struct item items[PER_LANE];
	atomic_int *phase;
	atomic_int finals;
	atomic_int retryable;
	int unexpected;
	char unexpected_msg[256];
	char err[256];
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void note_unexpected(struct lane *l, const char *fmt, const char *id, int a, int b)
{
	if (!l->unexpected++)
		snprintf(l->unexpected_msg, sizeof l->unexpected_msg, fmt, id, a, b);
}

/* Resends after a RETRYABLE answer, first in first out (so in not_before order). */
struct retry_queue {
	int idx[PER_LANE];   /* an item is queued, outstanding or final: never twice here */
	int head, tail;
};

/* Files one answer; RETRYABLE ones go on the retry queue. No cmocka here. */
static void lane_answer(struct lane *l, struct harness_result *r, struct retry_queue *q)
{
	if (r->request_id < 1 || r->request_id > PER_LANE) {
		note_unexpected(l, "%s: answer to request %d (type %d)", "?", (int)r->request_id,
		                r->type);
		return;
	}
	int idx = (int)r->request_id - 1;
	struct item *it = &l->items[idx];
	if (r->type != PC_MSG_SUBMIT_RESULT) {
		note_unexpected(l, "%s: frame type 0x%02x code %d", it->event_id, r->type, r->code);
		return;
	}
	if ((r->disposition == RECORDED || r->disposition == REPLAYED) && r->status == APPROVED &&
	    r->code == 0 && r->body && r->body->leaf_hash.len == 32) {
		if (it->final) {
			note_unexpected(l, "%s: a second final answer (%d, after %d)", it->event_id,
			                r->disposition, it->disposition);
			return;
		}
		it->final = true;
		it->disposition = r->disposition;
		it->seq = r->seq;
		memcpy(it->leaf, r->body->leaf_hash.data, 32);
		it->final_phase = atomic_load(l->phase);
		atomic_fetch_add(&l->finals, 1);
	} else if (r->disposition == RETRYABLE && r->code == C(UNAVAILABLE) && !r->body) {
		it->retryable++;
		atomic_fetch_add(&l->retryable, 1);
		it->not_before_ms = mono_ms() + RESEND_PAUSE_MS;
		q->idx[q->tail++ % PER_LANE] = idx;
	} else {
		note_unexpected(l, "%s: disposition %d code %d", it->event_id, r->disposition, r->code);
	}
}

/* Keeps up to WINDOW requests outstanding until every item has a final answer:
 * resends first, then fresh events as far as the phase allows. Request id = item
 * index + 1, the same on every resend. */
static void *lane_run(void *arg)
{
	struct lane *l = arg;
	struct retry_queue *q = calloc(1, sizeof *q);
	if (!q)
		abort();
	int fresh = 0, outstanding = 0;
	int64_t deadline = mono_ms() + LANE_DEADLINE_MS;
	while (atomic_load(&l->finals) < PER_LANE && !l->unexpected) {
		int64_t now = mono_ms();
		if (now > deadline) {
			snprintf(l->err, sizeof l->err, "gave up with %d of %d final",
			         atomic_load(&l->finals), PER_LANE);
			break;
		}
		int limit = PER_LANE * gate_percent[atomic_load(l->phase)] / 100;
		while (outstanding < WINDOW) {
			int idx;
			if (q->head < q->tail && l->items[q->idx[q->head % PER_LANE]].not_before_ms <= now)
				idx = q->idx[q->head++ % PER_LANE];
			else if (fresh < limit)
				idx = fresh++;
			else
				break;
			if (pc_client_send_frame(l->c, PC_MSG_SUBMIT, (uint64_t)idx + 1, l->items[idx].env,
			                         l->items[idx].len) != 0) {
				snprintf(l->err, sizeof l->err, "send failed");
				goto out;
			}
			outstanding++;
		}
		if (outstanding == 0) {
			harness_sleep_ms(5);
			continue;
		}
		uint8_t type;
		uint64_t rid;
		uint8_t *body = NULL;
		size_t blen = 0;
		int rc = pc_client_read_frame(l->c, &type, &rid, &body, &blen);
		if (rc != 0) {
			snprintf(l->err, sizeof l->err, "%s with %d outstanding",
			         rc > 0 ? "the daemon closed the connection" : "no answer for 10 s",
			         outstanding);
			break;
		}
		outstanding--;
		struct harness_result r = {0};
		if (harness_result_decode(&r, type, rid, body, blen) != 0)
			note_unexpected(l, "%s: answer of type 0x%02x to %d does not decode", "?", type,
			                (int)rid);
		else
			lane_answer(l, &r, q);
		harness_result_free(&r);
	}
out:
	free(q);
	return NULL;
}

static int total_finals(struct lane *lanes)
{
	int n = 0;
	for (int k = 0; k < NLANES; k++)
		n += atomic_load(&lanes[k].finals);
	return n;
}

static int total_retryable(struct lane *lanes)
{
	int n = 0;
	for (int k = 0; k < NLANES; k++)
		n += atomic_load(&lanes[k].retryable);
	return n;
}

/* Waits (bounded) until fn(lanes) reaches want; false when it did not. */
static bool wait_for(struct lane *lanes, int (*fn)(struct lane *), int want, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	while (fn(lanes) < want) {
		if (mono_ms() > deadline)
			return false;
		harness_sleep_ms(2);
	}
	return true;
}

static void unhex32(struct harness *h, const char *s, uint8_t out[32])
{
	if (strlen(s) != 64)
		harness_fail(h, "leaf hash \"%s\" is not 32 bytes", s);
	for (int i = 0; i < 32; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			harness_fail(h, "leaf hash \"%s\" is not hex", s);
		out[i] = (uint8_t)v;
	}
}

static void test_restart_under_load(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	atomic_int phase;
	atomic_init(&phase, PH_BEFORE);
	struct lane *lanes = calloc(NLANES, sizeof *lanes);
	assert_non_null(lanes);
	int64_t total = 0;
	for (int k = 0; k < NLANES; k++) {
		struct lane *l = &lanes[k];
		l->merchant = harness_merchant_ids[k];
		l->phase = &phase;
		atomic_init(&l->finals, 0);
		atomic_init(&l->retryable, 0);
		for (int i = 0; i < PER_LANE; i++) {
			struct item *it = &l->items[i];
			harness_member(1 + (i * NLANES + k) % NMEMBERS, it->member);
			snprintf(it->event_id, sizeof it->event_id, "pr-%d-%04d", k, i);
			it->points = 1 + (i + k) % 13;
			total += it->points;
			pc_event *ev = harness_earn(l->merchant, it->event_id, it->member, it->points);
			it->env = harness_sign(h, l->merchant, ev, &it->len);
			harness_event_free(ev);
		}
		l->c = harness_connect(h, l->merchant);
	}
	pthread_t t[NLANES];
	for (int k = 0; k < NLANES; k++)
		assert_int_equal(pthread_create(&t[k], NULL, lane_run, &lanes[k]), 0);

	/* 30% acknowledged: a fast shutdown; the lanes send more only once it is down,
	 * so some events surely meet a daemon without its database */
	bool ok = wait_for(lanes, total_finals, NEVENTS * 30 / 100, 30000);
	int at_halt1 = total_finals(lanes);
	if (ok)
		harness_pg_halt(h, "fast");
	atomic_store(&phase, PH_DOWN1);
	bool retry_seen = ok && wait_for(lanes, total_retryable, 1, 10000);
	if (ok)
		harness_pg_resume(h);
	atomic_store(&phase, PH_AFTER1);

	/* 65%: as a crash, and up again at once */
	bool ok2 = ok && wait_for(lanes, total_finals, NEVENTS * 65 / 100, 30000);
	int at_halt2 = total_finals(lanes);
	if (ok2)
		harness_pg_halt(h, "immediate");
	atomic_store(&phase, PH_DOWN2);
	if (ok2)
		harness_pg_resume(h);
	atomic_store(&phase, PH_AFTER2);

	for (int k = 0; k < NLANES; k++)
		pthread_join(t[k], NULL);
	for (int k = 0; k < NLANES; k++)
		pc_client_close(lanes[k].c);
	print_message("final answers: %d at the first stop, %d at the second, %d in all; "
	              "%d RETRYABLE answers\n", at_halt1, at_halt2, total_finals(lanes),
	              total_retryable(lanes));
	if (!ok)
		harness_fail(h, "only %d of %d acknowledged before the first restart", at_halt1, NEVENTS);
	for (int k = 0; k < NLANES; k++) {
		if (lanes[k].unexpected)
			harness_fail(h, "%s: %d unexpected answers, first: %s", lanes[k].merchant,
			             lanes[k].unexpected, lanes[k].unexpected_msg);
		if (lanes[k].err[0])
			harness_fail(h, "%s: %s", lanes[k].merchant, lanes[k].err);
	}
	if (!ok2)
		harness_fail(h, "no progress after PostgreSQL came back: %d of %d acknowledged",
		             at_halt2, NEVENTS);

	/* the daemon noticed, said so, and came back by itself: three times ready */
	assert_true(harness_log_count(h, "db=writer state=down") >= 2);
	assert_true(harness_log_count(h, "db=writer state=ready") >= 3);
	/* events sent while the server was down were answered RETRYABLE */
	if (!retry_seen)
		harness_fail(h, "no RETRYABLE answer while PostgreSQL was down");
	print_message("batches lost in flight and answered RETRYABLE: %d\n",
	              harness_log_count(h, "outcome=unknown answered=retryable"));
	int after1 = 0, after2 = 0, replayed = 0;
	for (int k = 0; k < NLANES; k++)
		for (int i = 0; i < PER_LANE; i++) {
			const struct item *it = &lanes[k].items[i];
			after1 += it->final_phase >= PH_AFTER1;
			after2 += it->final_phase >= PH_AFTER2;
			replayed += it->disposition == REPLAYED;
		}
	print_message("acknowledged after the first restart %d, after the second %d; "
	              "%d were replays of events committed unacknowledged\n", after1, after2,
	              replayed);
	assert_true(after1 > 0);
	assert_true(after2 > 0);

	/* every event in the ledger exactly once, under the sequence and leaf its
	 * answer named */
	PGresult *r = PQexec(harness_db(h), "SELECT merchant_id, event_id, seq, "
	                                    "encode(pc_entry_leaf_hash(l), 'hex') FROM ledger l "
	                                    "ORDER BY seq");
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		harness_fail(h, "reading the ledger: %s", PQresultErrorMessage(r));
	bool *seen = calloc(NEVENTS, sizeof *seen);
	assert_non_null(seen);
	for (int row = 0; row < PQntuples(r); row++) {
		const char *id = PQgetvalue(r, row, 1);
		int k, i;
		if (sscanf(id, "pr-%d-%d", &k, &i) != 2 || k < 0 || k >= NLANES || i < 0 ||
		    i >= PER_LANE || strcmp(PQgetvalue(r, row, 0), lanes[k].merchant) != 0)
			harness_fail(h, "ledger seq %s holds an event nobody sent: %s",
			             PQgetvalue(r, row, 2), id);
		if (seen[k * PER_LANE + i])
			harness_fail(h, "%s is in the ledger twice", id);
		seen[k * PER_LANE + i] = true;
		const struct item *it = &lanes[k].items[i];
		uint8_t leaf[32];
		unhex32(h, PQgetvalue(r, row, 3), leaf);
		if (strtoull(PQgetvalue(r, row, 2), NULL, 10) != it->seq ||
		    memcmp(leaf, it->leaf, 32) != 0)
			harness_fail(h, "%s: answered as seq %" PRIu64 ", in the ledger as seq %s or "
			             "with another leaf hash", id, it->seq, PQgetvalue(r, row, 2));
	}
	int rows = PQntuples(r);
	PQclear(r);
	for (int j = 0; j < NEVENTS; j++)
		if (!seen[j])
			harness_fail(h, "pr-%d-%04d was acknowledged but is not in the ledger",
			             j / PER_LANE, j % PER_LANE);
	free(seen);
	assert_int_equal(rows, NEVENTS);
	/* gapless, and the money */
	assert_int_equal(harness_sql_int64(h, "SELECT max(seq) + 1 FROM ledger", NULL), NEVENTS);
	assert_int_equal(harness_sql_int64(h, "SELECT next_seq FROM ledger_heads", NULL), NEVENTS);
	assert_int_equal(harness_sql_int64(h, "SELECT sum(balance) FROM members", NULL), total);
	assert_int_equal(harness_sql_int64(h, "SELECT count(*) FROM ledger WHERE status = 1 "
	                                      "AND kind = 1", NULL), NEVENTS);
	harness_check_books(h);

	for (int k = 0; k < NLANES; k++)
		for (int i = 0; i < PER_LANE; i++)
			free(lanes[k].items[i].env);
	free(lanes);
}

static int setup(void **state)
{
	struct harness_opts o = {
		.name = "pg_restart",
		.members = NMEMBERS,
		.private_pg = true,
		.daemon_args = { "--reconnect-ms", "100", NULL },
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
		cmocka_unit_test(test_restart_under_load),
	};
	return cmocka_run_group_tests_name("integration.pg_restart", tests, setup, teardown);
}
