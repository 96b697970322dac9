/* test_e2e.c - one member's life over real mTLS: earn, redeem, hold and capture,
 * hold and void, partial and full reversals (down to points owed), each answer's
 * receipt and leaf checked against the operator key and the ledger row; and the
 * daemon's periodic line of write-path latencies accounts for what it recorded. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_dstats.h"
#include "harness.h"

#define RECORDED POINTCLEAR__V1__DISPOSITION__RECORDED
#define APPROVED POINTCLEAR__V1__STATUS__APPROVED
#define DECLINED POINTCLEAR__V1__STATUS__DECLINED

static const char *M1 = "m000001";

/* Submits ev as merchant, expects RECORDED with the given status and code, checks
 * receipt and leaf against the ledger row, frees ev; returns the sequence and
 * fills the decision into d (may be NULL). */
static uint64_t submit_checked(struct harness *h, const char *merchant, pc_event *ev,
                               int status, int code, Pointclear__V1__Decision *d)
{
	struct harness_result r;
	harness_submit(h, merchant, ev, &r);
	harness_expect(h, &r, RECORDED, code, status);
	assert_non_null(r.body);
	assert_non_null(r.body->decision);
	assert_true(harness_receipt_valid(h, &r));
	assert_true(harness_leaf_valid(h, &r));
	assert_string_equal(r.body->alliance_id, HARNESS_ALLIANCE);
	assert_string_equal(r.body->merchant_id, merchant);
	assert_string_equal(r.body->event_id, ev->event_id);

	/* the ledger row (whose leaf harness_leaf_valid held to the receipt's) holds
	 * exactly the bytes sent */
	char seq[32];
	snprintf(seq, sizeof seq, "%" PRIu64, r.seq);
	assert_int_equal(harness_sql_int64(h,
		"SELECT count(*) FROM ledger WHERE alliance_id = $1 AND seq = $2 "
		"AND merchant_id = $3 AND event_id = $4",
		HARNESS_ALLIANCE, seq, merchant, ev->event_id, NULL), 1);
	char *env_hex = malloc(r.envelope_len * 2 + 1);
	assert_non_null(env_hex);
	for (size_t i = 0; i < r.envelope_len; i++)
		snprintf(env_hex + 2 * i, 3, "%02x", r.envelope[i]);
	env_hex[r.envelope_len * 2] = '\0';
	assert_int_equal(harness_sql_int64(h,
		"SELECT count(*) FROM ledger WHERE alliance_id = $1 AND seq = $2 "
		"AND envelope = decode($3, 'hex')", HARNESS_ALLIANCE, seq, env_hex, NULL), 1);
	free(env_hex);

	if (d)
		*d = *r.body->decision;
	uint64_t s = r.seq;
	harness_result_free(&r);
	harness_event_free(ev);
	harness_check_books(h);
	return s;
}

static int64_t account(struct harness *h, int kind, const char *owner)
{
	char k[8];
	snprintf(k, sizeof k, "%d", kind);
	return harness_sql_int64(h,
		"SELECT coalesce((SELECT balance FROM accounts WHERE alliance_id = $1 "
		"AND account_kind = $2 AND owner_id = $3), 0)", HARNESS_ALLIANCE, k, owner, NULL);
}

static void test_lifecycle(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	Pointclear__V1__Decision d;

	assert_int_equal(harness_ledger_count(h), 0);

	/* earn 500 at the cafe */
	uint64_t earn_seq = submit_checked(h, "cafe", harness_earn("cafe", "e2e-earn-1", M1, 500),
	                                   APPROVED, 0, &d);
	assert_int_equal(earn_seq, 0);   /* the first entry of the alliance */
	assert_int_equal(d.balance, 500);
	assert_int_equal(d.available, 500);
	assert_int_equal(d.amount, 500);
	assert_int_equal(harness_balance(h, M1), 500);
	assert_int_equal(harness_sql_int64(h,
		"SELECT count(*) FROM postings WHERE seq = 0", NULL), 2);
	assert_int_equal(account(h, 2, "cafe"), -500);

	/* redeem 120 at the gym */
	uint64_t redeem_seq = submit_checked(h, "gym",
		harness_redeem("gym", "e2e-redeem-1", M1, 120), APPROVED, 0, &d);
	assert_int_equal(redeem_seq, 1);
	assert_int_equal(d.balance, 380);
	assert_int_equal(harness_balance(h, M1), 380);
	assert_int_equal(account(h, 3, "gym"), 120);

	/* hold 100 at the bookshop: balance stays, spendable drops */
	int64_t before = harness_now_us();
	submit_checked(h, "bookshop", harness_hold("bookshop", "e2e-hold-1", M1, 100, 600),
	               APPROVED, 0, &d);
	assert_int_equal(d.balance, 380);
	assert_int_equal(d.available, 280);
	assert_int_equal(d.amount, 100);
	/* expiry counted from the clearing house's clock, 600 s */
	assert_true(d.hold_expires_at_us >= before + 599 * INT64_C(1000000));
	assert_true(d.hold_expires_at_us <= harness_now_us() + 601 * INT64_C(1000000));
	assert_int_equal(harness_balance(h, M1), 380);
	assert_int_equal(harness_held(h, M1), 100);

	/* capture 60 of it: the other 40 are released */
	submit_checked(h, "bookshop", harness_capture("bookshop", "e2e-capture-1", "e2e-hold-1", 60),
	               APPROVED, 0, &d);
	assert_int_equal(d.balance, 320);
	assert_int_equal(d.available, 320);
	assert_int_equal(d.amount, 60);
	assert_int_equal(d.remaining, 40);
	assert_int_equal(harness_balance(h, M1), 320);
	assert_int_equal(harness_held(h, M1), 0);
	assert_int_equal(account(h, 3, "bookshop"), 60);

	/* a second resolution of the same hold is refused, naming how it was resolved */
	submit_checked(h, "bookshop", harness_void("bookshop", "e2e-void-dup", "e2e-hold-1"),
	               DECLINED, POINTCLEAR__V1__CODE__HOLD_CAPTURED, NULL);

	/* hold 50, then void it */
	submit_checked(h, "bookshop", harness_hold("bookshop", "e2e-hold-2", M1, 50, 0),
	               APPROVED, 0, &d);
	assert_int_equal(d.available, 270);
	assert_int_equal(harness_held(h, M1), 50);
	submit_checked(h, "bookshop", harness_void("bookshop", "e2e-void-2", "e2e-hold-2"),
	               APPROVED, 0, &d);
	assert_int_equal(d.balance, 320);
	assert_int_equal(d.available, 320);
	assert_int_equal(harness_held(h, M1), 0);
	assert_int_equal(harness_balance(h, M1), 320);

	/* partial reversal of the earn: 200 of 500 */
	submit_checked(h, "cafe", harness_reversal("cafe", "e2e-rev-1", "e2e-earn-1", 200),
	               APPROVED, 0, &d);
	assert_int_equal(d.balance, 120);
	assert_int_equal(d.amount, 200);
	assert_int_equal(d.remaining, 300);
	assert_int_equal(harness_balance(h, M1), 120);
	assert_int_equal(account(h, 2, "cafe"), -300);

	/* full reversal of the redemption, by sequence: the points come back */
	submit_checked(h, "gym", harness_reversal_seq("gym", "e2e-rev-2", redeem_seq, 120),
	               APPROVED, 0, &d);
	assert_int_equal(d.balance, 240);
	assert_int_equal(d.remaining, 0);
	assert_int_equal(harness_balance(h, M1), 240);
	assert_int_equal(account(h, 3, "gym"), 0);

	/* the rest of the earn, 300, although only 240 are left: points owed */
	submit_checked(h, "cafe", harness_reversal("cafe", "e2e-rev-3", "e2e-earn-1", 300),
	               APPROVED, 0, &d);
	assert_int_equal(d.balance, -60);
	assert_int_equal(d.remaining, 0);
	assert_int_equal(harness_balance(h, M1), -60);
	assert_int_equal(account(h, 2, "cafe"), 0);

	/* nothing is spendable while points are owed */
	submit_checked(h, "gym", harness_redeem("gym", "e2e-redeem-2", M1, 10),
	               DECLINED, POINTCLEAR__V1__CODE__INSUFFICIENT_POINTS, &d);
	/* a decline without the member's authorization tells no balance */
	assert_int_equal(d.balance, 0);
	assert_int_equal(d.available, 0);
	assert_int_equal(harness_balance(h, M1), -60);

	/* the next earn repays first */
	submit_checked(h, "airline", harness_earn("airline", "e2e-earn-2", M1, 100),
	               APPROVED, 0, &d);
	assert_int_equal(d.balance, 40);
	assert_int_equal(harness_balance(h, M1), 40);

	/* every entry so far is in the ledger, gapless from 0 */
	int64_t n = harness_ledger_count(h);
	assert_int_equal(n, 12);
	assert_int_equal(harness_sql_int64(h, "SELECT max(seq) + 1 FROM ledger", NULL), n);
	assert_int_equal(harness_sql_int64(h,
		"SELECT next_seq FROM ledger_heads WHERE alliance_id = $1", HARNESS_ALLIANCE, NULL), n);
	/* members plus merchants: 40 - 100 (airline issued) + 60 (bookshop redeemed) = 0 */
	assert_int_equal(account(h, 2, "airline"), -100);
}

/* A touch and a purchase are recorded and move no points. */
static void test_referral_purchase(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	const char *m2 = "m000002";
	int64_t b = harness_balance(h, m2);
	submit_checked(h, "cafe", harness_referral("cafe", "e2e-ref-1", m2, "gym", "spring"),
	               APPROVED, 0, NULL);
	submit_checked(h, "gym", harness_purchase("gym", "e2e-buy-1", m2, 2599, "EUR"),
	               APPROVED, 0, NULL);
	assert_int_equal(harness_balance(h, m2), b);
	assert_int_equal(harness_sql_int64(h,
		"SELECT count(*) FROM referral_touches WHERE member_id = $1", m2, NULL), 1);
	assert_int_equal(harness_sql_int64(h,
		"SELECT amount_minor FROM purchases WHERE member_id = $1", m2, NULL), 2599);
	/* a full refund of the purchase */
	submit_checked(h, "gym", harness_reversal("gym", "e2e-buy-1-refund", "e2e-buy-1", 2599),
	               APPROVED, 0, NULL);
	assert_int_equal(harness_balance(h, m2), b);
}

/* PING is answered with PONG carrying the same request id. */
static void test_ping(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	struct pc_client *c = harness_connect(h, "airline");
	assert_int_equal(pc_client_send_frame(c, 0x02, 4242, NULL, 0), 0);
	uint8_t type;
	uint64_t rid;
	uint8_t *body = NULL;
	size_t len = 0;
	assert_int_equal(pc_client_read_frame(c, &type, &rid, &body, &len), 0);
	assert_int_equal(type, 0x82);
	assert_int_equal(rid, 4242);
	assert_int_equal(len, 0);
	free(body);
	pc_client_close(c);
}

struct stats_sum {
	uint64_t events, lines, busy_lines;
};

/* Adds up the daemon's "stats" lines so far, checking each busy one: quantiles in
 * order, and the whole time in the daemon never below one of its stages (each
 * event's total is at least each part, so each quantile of it is too). */
static struct stats_sum read_stats_lines(struct harness *h)
{
	struct stats_sum sum = {0};
	char *log = harness_log_text(h, NULL);
	for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
		const char *s = strstr(line, BENCH_DSTATS_MARK);
		struct bench_dstats ds;
		if (!s)
			continue;
		sum.lines++;
		if (strstr(s, " events=0 ")) {
			assert_non_null(strstr(s, " batches=0 "));
			continue;
		}
		if (bench_dstats_parse(s, &ds) != 0) {
			fprintf(stderr, "unparsable stats line: %s\n", line);
			fail();
		}
		const double *q[4] = {ds.verify, ds.wait, ds.batch, ds.daemon};
		assert_true(ds.batches >= 1 && ds.batches <= ds.events);
		for (int k = 0; k < 4; k++)
			assert_true(q[k][0] <= q[k][1] && q[k][1] <= q[k][2]);
		for (int k = 0; k < 3; k++)
			for (int j = 0; j < 3; j++)
				assert_true(q[3][j] >= q[k][j]);
		sum.events += ds.events;
		sum.busy_lines++;
	}
	free(log);
	return sum;
}

/* Every event a committed batch answered is counted once in the stats lines: a
 * ledger entry each, and replays on top. So once a line has passed since the last
 * answer, the lines add up to at least the ledger, and to no more than was sent. */
static void test_stats_lines(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	for (int i = 0; i < 4; i++) {
		char id[32];
		snprintf(id, sizeof id, "e2e-stats-%d", i);
		submit_checked(h, "bookshop", harness_earn("bookshop", id, "m000003", 10 + i), APPROVED, 0, NULL);
	}
	int64_t ledger = harness_sql_int64(h, "SELECT count(*) FROM ledger", NULL);
	struct stats_sum sum = {0};
	for (int i = 0; i < 100; i++) {   /* lines come every 200 ms */
		sum = read_stats_lines(h);
		if (sum.events >= (uint64_t)ledger)
			break;
		usleep(50000);
	}
	assert_true(sum.busy_lines >= 1);
	assert_true(sum.events >= (uint64_t)ledger);
	assert_true(sum.events <= h->next_request_id);
}

static int setup(void **state)
{
	struct harness_opts o = {.name = "e2e", .members = 5,
	                         .daemon_args = {"--stats-interval-ms", "200", NULL}};
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
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_referral_purchase),
		cmocka_unit_test(test_ping),
		cmocka_unit_test(test_stats_lines),
	};
	return cmocka_run_group_tests_name("integration.e2e", tests, setup, teardown);
}
