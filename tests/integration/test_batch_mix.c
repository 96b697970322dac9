/* test_batch_mix.c - one batch, many kinds of outcome.
 *
 * First at the SQL level, deterministic: one hand-built call of pc_record_batch
 * mixes redemptions of one member that together exceed the balance (exactly those
 * that fit, in order, are approved), an earn between them that later ones see, a
 * hold and its capture, an earn and its reversal, an unknown member (refused, no
 * sequence used) and repeated event ids (same payload: replay; other payload:
 * CONFLICT), and every returned row, balance, ledger row and posting is checked.
 *
 * Then through the daemon (--batches-in-flight 1): the ledger head is locked so
 * the writer's first batch waits; four connections pipeline redemptions of one
 * member interleaved with bad events, each ending with an event the daemon itself
 * refuses, whose answer proves everything before it reached the writer's queue.
 * Unlocked, all of them form one batch (seen in the debug log), every bad event
 * gets its own code, the others in the same transaction are approved, and the
 * member never goes below zero.
 *
 * Last, a batch holding one event the database fails on: that one is answered
 * RETRYABLE, the others are recorded. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "pointclear/frame.h"

#include "harness.h"

#define RECORDED POINTCLEAR__V1__DISPOSITION__RECORDED
#define REPLAYED POINTCLEAR__V1__DISPOSITION__REPLAYED
#define REJECTED POINTCLEAR__V1__DISPOSITION__REJECTED
#define APPROVED POINTCLEAR__V1__STATUS__APPROVED
#define DECLINED POINTCLEAR__V1__STATUS__DECLINED
#define C(x) POINTCLEAR__V1__CODE__##x

/* ================================================================ SQL level */

/* A text-format array literal, built element by element: every element is
 * double-quoted with " and \ escaped, NULL is written bare. */
struct arr {
	char *s;
	size_t len, cap;
	int n;
};

static void arr_raw(struct arr *a, const char *p, size_t n)
{
	if (a->len + n + 1 > a->cap) {
		a->cap = (a->len + n + 1) * 2;
		a->s = realloc(a->s, a->cap);
		if (!a->s)
			abort();
	}
	memcpy(a->s + a->len, p, n);
	a->len += n;
	a->s[a->len] = '\0';
}

static void arr_add(struct arr *a, const char *v)
{
	arr_raw(a, a->n++ ? "," : "{", 1);
	if (!v) {
		arr_raw(a, "NULL", 4);
		return;
	}
	arr_raw(a, "\"", 1);
	for (const char *p = v; *p; p++) {
		if (*p == '"' || *p == '\\')
			arr_raw(a, "\\", 1);
		arr_raw(a, p, 1);
	}
	arr_raw(a, "\"", 1);
}

static const char *arr_done(struct arr *a)
{
	arr_raw(a, a->n ? "}" : "{}", a->n ? 1 : 2);
	return a->s;
}

/* pc_record_batch's parameters, in its order */
enum {
	P_ALLIANCE, P_MERCHANT, P_EVENT, P_KEY, P_KIND, P_ENVELOPE, P_HASH, P_TIME, P_STORE,
	P_TERMINAL, P_MEMBER, P_AMOUNT, P_REF_EVENT, P_REF_SEQ, P_DURATION, P_REASON,
	P_BENEFICIARY, P_CHANNEL, P_CAMPAIGN, P_CODE, P_TOUCH, P_CURRENCY, NPARAMS
};

enum { K_EARN = 1, K_REDEEM = 2, K_HOLD = 3, K_CAPTURE = 4, K_REVERSAL = 6 };

/* One event of a hand-built batch. `variant` stands for the signed bytes: the same
 * id with the same variant is the same payload, with another it is a conflict. */
struct sql_event {
	const char *merchant;
	const char *event_id;
	int kind;
	const char *member;
	const char *amount;
	const char *ref_event;
	const char *duration;
	const char *variant;
};

#define NUL INT64_MIN   /* an expected NULL column */

/* What one returned row must say (leaf hash and times are checked separately). */
struct row_expect {
	int disp, code;
	int64_t seq;
	int status;           /* 0: NULL */
	int64_t balance, available, applied, remaining;
	int64_t original;     /* r_original_seq */
};

static void hex(char *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* "\x..." of SHA-256(id "/" variant) or of the envelope text. */
static void bytea_of(char *out, const char *what, const char *id, const char *variant,
                     bool hash)
{
	char text[256];
	snprintf(text, sizeof text, "%s %s/%s", what, id, variant);
	out[0] = '\\';
	out[1] = 'x';
	if (hash) {
		uint8_t d[crypto_hash_sha256_BYTES];
		crypto_hash_sha256(d, (const uint8_t *)text, strlen(text));
		hex(out + 2, d, sizeof d);
	} else {
		hex(out + 2, (const uint8_t *)text, strlen(text));
	}
}

static void merchant_key(struct harness *h, const char *merchant, char key[17])
{
	char buf[64];
	harness_sql_text(h, buf, sizeof buf,
	                 "SELECT key_id FROM merchant_keys WHERE alliance_id = $1 AND "
	                 "merchant_id = $2 AND revoked_at IS NULL ORDER BY valid_from DESC LIMIT 1",
	                 HARNESS_ALLIANCE, merchant, NULL);
	snprintf(key, 17, "%.16s", buf);
}

/* Calls pc_record_batch once with evs, without receipt trees; the rows come
 * back ordered by r_idx, the leaf hash as hex. */
static PGresult *apply_batch(struct harness *h, const struct sql_event *evs, int n)
{
	struct arr a[NPARAMS];
	memset(a, 0, sizeof a);
	for (int i = 0; i < n; i++) {
		const struct sql_event *e = &evs[i];
		char key[17], kind[8], env[600], ph[80];
		merchant_key(h, e->merchant, key);
		snprintf(kind, sizeof kind, "%d", e->kind);
		bytea_of(env, "envelope", e->event_id, e->variant, false);
		bytea_of(ph, "payload", e->event_id, e->variant, true);
		arr_add(&a[P_ALLIANCE], HARNESS_ALLIANCE);
		arr_add(&a[P_MERCHANT], e->merchant);
		arr_add(&a[P_EVENT], e->event_id);
		arr_add(&a[P_KEY], key);
		arr_add(&a[P_KIND], kind);
		arr_add(&a[P_ENVELOPE], env);
		arr_add(&a[P_HASH], ph);
		arr_add(&a[P_TIME], "2030-01-01 00:00:00+00");
		arr_add(&a[P_STORE], "store-1");
		arr_add(&a[P_TERMINAL], "pos-1");
		arr_add(&a[P_MEMBER], e->member);
		arr_add(&a[P_AMOUNT], e->amount);
		arr_add(&a[P_REF_EVENT], e->ref_event);
		arr_add(&a[P_REF_SEQ], NULL);
		arr_add(&a[P_DURATION], e->duration ? e->duration : "0");
		arr_add(&a[P_REASON], "batch mix");
		arr_add(&a[P_BENEFICIARY], NULL);
		arr_add(&a[P_CHANNEL], NULL);
		arr_add(&a[P_CAMPAIGN], NULL);
		arr_add(&a[P_CODE], NULL);
		arr_add(&a[P_TOUCH], NULL);
		arr_add(&a[P_CURRENCY], NULL);
	}
	const char *values[NPARAMS];
	for (int i = 0; i < NPARAMS; i++)
		values[i] = arr_done(&a[i]);
	PGresult *r = PQexecParams(harness_db(h),
		"SELECT r_idx, r_disposition, r_code, r_seq, r_accepted_at_us, r_status, r_balance,"
		" r_available, r_applied, r_remaining, r_hold_expires_at_us,"
		" encode(r_leaf_hash, 'hex'), r_original_seq"
		" FROM pc_record_batch($1::text[], $2::text[], $3::text[], $4::text[],"
		" $5::smallint[], $6::bytea[], $7::bytea[], $8::timestamptz[], $9::text[],"
		" $10::text[], $11::text[], $12::bigint[], $13::text[], $14::bigint[],"
		" $15::integer[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[],"
		" $21::timestamptz[], $22::text[], 0) WHERE r_idx > 0 ORDER BY r_idx",
		NPARAMS, NULL, values, NULL, NULL, 0);
	for (int i = 0; i < NPARAMS; i++)
		free(a[i].s);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		char msg[1024];
		snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(r));
		PQclear(r);
		harness_fail(h, "pc_record_batch failed: %s", msg);
	}
	if (PQntuples(r) != n || PQnfields(r) != 13) {
		int rows = PQntuples(r);
		PQclear(r);
		harness_fail(h, "pc_record_batch returned %d rows for %d events", rows, n);
	}
	return r;
}

enum { COL_IDX, COL_DISP, COL_CODE, COL_SEQ, COL_ACCEPTED, COL_STATUS, COL_BALANCE,
       COL_AVAILABLE, COL_APPLIED, COL_REMAINING, COL_HOLD, COL_LEAF, COL_ORIGINAL };

static int64_t col(const PGresult *r, int row, int c)
{
	return PQgetisnull(r, row, c) ? NUL : strtoll(PQgetvalue(r, row, c), NULL, 10);
}

static void check_row(struct harness *h, const PGresult *r, int row,
                      const struct sql_event *e, const struct row_expect *x)
{
	struct { const char *name; int c; int64_t want; } f[] = {
		{ "r_idx", COL_IDX, row + 1 },
		{ "r_disposition", COL_DISP, x->disp },
		{ "r_code", COL_CODE, x->code },
		{ "r_seq", COL_SEQ, x->seq },
		{ "r_status", COL_STATUS, x->status ? x->status : NUL },
		{ "r_balance", COL_BALANCE, x->balance },
		{ "r_available", COL_AVAILABLE, x->available },
		{ "r_applied", COL_APPLIED, x->applied },
		{ "r_remaining", COL_REMAINING, x->remaining },
		{ "r_original_seq", COL_ORIGINAL, x->original },
	};
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
		int64_t got = col(r, row, f[i].c);
		if (got != f[i].want) {
			char g[32], w[32];
			snprintf(g, sizeof g, got == NUL ? "NULL" : "%" PRId64, got);
			snprintf(w, sizeof w, f[i].want == NUL ? "NULL" : "%" PRId64, f[i].want);
			harness_fail(h, "event %d (%s %s): %s is %s, expected %s", row + 1, e->merchant,
			             e->event_id, f[i].name, g, w);
		}
	}
	/* recorded or replayed rows name the time their entry was accepted; a replay
	 * carries the leaf hash of the entry under its sequence, a new entry none (the
	 * daemon hashes it) */
	if (x->disp == 1 || x->disp == 2) {
		char seq[32];
		snprintf(seq, sizeof seq, "%" PRId64, x->seq);
		if (PQgetisnull(r, row, COL_ACCEPTED) || PQgetisnull(r, row, COL_LEAF) != (x->disp == 1))
			harness_fail(h, "event %d (%s): no time accepted, or a leaf hash where none belongs",
			             row + 1, e->event_id);
		if (harness_sql_int64(h, "SELECT count(*) FROM ledger l WHERE alliance_id = $1 AND seq = $2"
		                         " AND pc_us(accepted_at) = $3 AND merchant_id = $4 AND event_id = $5"
		                         " AND ($6 = '' OR $6 = encode(pc_entry_leaf_hash(l), 'hex'))",
		                      HARNESS_ALLIANCE, seq, PQgetvalue(r, row, COL_ACCEPTED), e->merchant,
		                      e->event_id, PQgetvalue(r, row, COL_LEAF), NULL) != 1)
			harness_fail(h, "event %d (%s): leaf hash or time accepted differ from ledger seq %s",
			             row + 1, e->event_id, seq);
	} else if (!PQgetisnull(r, row, COL_LEAF) || !PQgetisnull(r, row, COL_ACCEPTED)) {
		harness_fail(h, "event %d (%s) was refused but has a leaf hash or time", row + 1,
		             e->event_id);
	}
}

static void test_sql_mixed_batch(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	const char *m1 = "m000001", *m2 = "m000002";

	/* the member starts with 100 points, recorded at seq 0 in a batch of its own */
	static const struct sql_event seed[] = {
		{ "cafe", "seed-earn", K_EARN, "m000001", "100", NULL, NULL, "a" },
	};
	PGresult *r = apply_batch(h, seed, 1);
	static const struct row_expect seed_x = { 1, 0, 0, APPROVED, 100, 100, 100, 100, NUL };
	check_row(h, r, 0, &seed[0], &seed_x);
	int64_t seed_accepted = col(r, 0, COL_ACCEPTED);
	PQclear(r);

	static const struct sql_event evs[] = {
		/* 1-3: 40 + 50 fit in 100, 30 does not */
		{ "cafe", "mix-r1", K_REDEEM, "m000001", "40", NULL, NULL, "a" },
		{ "cafe", "mix-r2", K_REDEEM, "m000001", "50", NULL, NULL, "a" },
		{ "cafe", "mix-r3", K_REDEEM, "m000001", "30", NULL, NULL, "a" },
		/* 4-6: an earn in between; the next redemption sees it, the one after not */
		{ "cafe", "mix-e1", K_EARN, "m000001", "25", NULL, NULL, "a" },
		{ "cafe", "mix-r4", K_REDEEM, "m000001", "30", NULL, NULL, "a" },
		{ "cafe", "mix-r5", K_REDEEM, "m000001", "10", NULL, NULL, "a" },
		/* 7-8: a hold and its capture of part of it, same batch, another merchant */
		{ "gym", "mix-h1", K_HOLD, "m000001", "5", NULL, "600", "a" },
		{ "gym", "mix-c1", K_CAPTURE, NULL, "3", "mix-h1", NULL, "a" },
		/* 9: unknown member: refused, no sequence */
		{ "cafe", "mix-x1", K_REDEEM, "m999999", "1", NULL, NULL, "a" },
		/* 10-11: an earn and its partial reversal, same batch */
		{ "bookshop", "mix-e2", K_EARN, "m000002", "70", NULL, NULL, "a" },
		{ "bookshop", "mix-v1", K_REVERSAL, NULL, "20", "mix-e2", NULL, "a" },
		/* 12-13: ids repeated within the batch: same payload, other payload */
		{ "cafe", "mix-r1", K_REDEEM, "m000001", "40", NULL, NULL, "a" },
		{ "cafe", "mix-r2", K_REDEEM, "m000001", "1", NULL, NULL, "b" },
		/* 14-15: an id already in the ledger: same payload, other payload */
		{ "cafe", "seed-earn", K_EARN, "m000001", "100", NULL, NULL, "a" },
		{ "cafe", "seed-earn", K_EARN, "m000001", "999", NULL, NULL, "b" },
		/* 16: the sequences go on without a gap: 2 left after the capture */
		{ "cafe", "mix-r6", K_REDEEM, "m000001", "2", NULL, NULL, "a" },
	};
	static const struct row_expect xs[] = {
		{ 1, 0, 1, APPROVED, 60, 60, 40, 40, NUL },
		{ 1, 0, 2, APPROVED, 10, 10, 50, 50, NUL },
		/* declines without the member's authorization tell no balance: 0 */
		{ 1, C(INSUFFICIENT_POINTS), 3, DECLINED, 0, 0, 0, 0, NUL },
		{ 1, 0, 4, APPROVED, 35, 35, 25, 25, NUL },
		{ 1, 0, 5, APPROVED, 5, 5, 30, 30, NUL },
		{ 1, C(INSUFFICIENT_POINTS), 6, DECLINED, 0, 0, 0, 0, NUL },
		{ 1, 0, 7, APPROVED, 5, 0, 5, 0, NUL },
		{ 1, 0, 8, APPROVED, 2, 2, 3, 2, NUL },
		{ 3, C(UNKNOWN_MEMBER), NUL, 0, NUL, NUL, NUL, NUL, NUL },
		{ 1, 0, 9, APPROVED, 70, 70, 70, 70, NUL },
		{ 1, 0, 10, APPROVED, 50, 50, 20, 50, NUL },
		{ 2, 0, 1, APPROVED, 60, 60, 40, 40, NUL },
		{ 3, C(CONFLICT), NUL, 0, NUL, NUL, NUL, NUL, 2 },
		{ 2, 0, 0, APPROVED, 100, 100, 100, 100, NUL },
		{ 3, C(CONFLICT), NUL, 0, NUL, NUL, NUL, NUL, 0 },
		{ 1, 0, 11, APPROVED, 0, 0, 2, 2, NUL },
	};
	const int n = (int)(sizeof evs / sizeof evs[0]);
	assert_int_equal(n, (int)(sizeof xs / sizeof xs[0]));
	r = apply_batch(h, evs, n);
	for (int i = 0; i < n; i++)
		check_row(h, r, i, &evs[i], &xs[i]);

	/* one clock for the batch; the hold runs 600 s from it and the capture says so */
	int64_t accepted = col(r, 0, COL_ACCEPTED);
	for (int i = 0; i < n; i++) {
		if (xs[i].disp == 1 && col(r, i, COL_ACCEPTED) != accepted)
			harness_fail(h, "event %d was accepted at another time than event 1", i + 1);
		int64_t want_hold = i == 6 || i == 7 ? accepted + INT64_C(600000000) : 0;
		if (xs[i].disp != 3 && col(r, i, COL_HOLD) != want_hold)
			harness_fail(h, "event %d: hold expiry %" PRId64 ", expected %" PRId64, i + 1,
			             col(r, i, COL_HOLD), want_hold);
	}
	/* the replays, of row 1 within the batch and of the seed from the ledger, carry
	 * their originals' leaf hashes (check_row) and times */
	assert_int_equal(col(r, 11, COL_ACCEPTED), accepted);
	assert_int_equal(col(r, 13, COL_ACCEPTED), seed_accepted);
	assert_true(seed_accepted < accepted);
	PQclear(r);

	/* balances, holds, accounts */
	assert_int_equal(harness_balance(h, m1), 0);
	assert_int_equal(harness_held(h, m1), 0);
	assert_int_equal(harness_balance(h, m2), 50);
	assert_int_equal(harness_sql_int64(h, "SELECT state * 1000 + resolved_seq FROM holds "
	                                      "WHERE seq = 7 AND amount = 5 AND member_id = $1",
	                                   m1, NULL), 2 * 1000 + 8);
	struct { int kind; const char *owner; int64_t balance; } acc[] = {
		{ 2, "cafe", -125 }, { 3, "cafe", 122 }, { 3, "gym", 3 }, { 2, "bookshop", -50 },
	};
	for (size_t i = 0; i < sizeof acc / sizeof acc[0]; i++) {
		char kind[8];
		snprintf(kind, sizeof kind, "%d", acc[i].kind);
		assert_int_equal(harness_sql_int64(h, "SELECT balance FROM accounts WHERE "
		                                      "account_kind = $1 AND owner_id = $2",
		                                   kind, acc[i].owner, NULL), acc[i].balance);
	}
	assert_int_equal(harness_sql_int64(h, "SELECT count(*) FROM accounts", NULL), 4);

	/* the ledger: 12 entries, seq 0..11 without gaps, one per id, nothing refused */
	assert_int_equal(harness_ledger_count(h), 12);
	assert_int_equal(harness_sql_int64(h, "SELECT count(DISTINCT seq) FROM ledger "
	                                      "WHERE seq BETWEEN 0 AND 11", NULL), 12);
	assert_int_equal(harness_sql_int64(h, "SELECT next_seq FROM ledger_heads", NULL), 12);
	assert_int_equal(harness_sql_int64(h, "SELECT count(*) FROM ledger WHERE member_id = "
	                                      "'m999999' OR event_id = 'mix-x1'", NULL), 0);
	assert_int_equal(harness_sql_int64(h, "SELECT count(*) FROM ledger WHERE event_id IN "
	                                      "('mix-r1', 'mix-r2', 'seed-earn')", NULL), 3);
	assert_int_equal(harness_sql_int64(h, "SELECT amount FROM ledger WHERE event_id = 'mix-r2'",
	                                   NULL), 50);
	assert_int_equal(harness_sql_int64(h, "SELECT count(*) FROM ledger WHERE seq IN (3, 6) "
	                                      "AND status = 2 AND code = 50", NULL), 2);
	assert_int_equal(harness_sql_int64(h, "SELECT ref_seq FROM ledger WHERE seq = 8", NULL), 7);
	assert_int_equal(harness_sql_int64(h, "SELECT ref_seq FROM ledger WHERE seq = 10", NULL), 9);
	/* postings: two legs for each approved entry that moves points (not the hold),
	 * none for declines, each entry summing to zero */
	assert_int_equal(harness_sql_int64(h, "SELECT count(*) FROM postings", NULL), 18);
	assert_int_equal(harness_sql_int64(h,
		"SELECT count(*) FROM ledger l WHERE (SELECT count(*) FROM postings p WHERE "
		"p.alliance_id = l.alliance_id AND p.seq = l.seq) <> "
		"CASE WHEN l.status = 1 AND l.kind <> 3 THEN 2 ELSE 0 END", NULL), 0);
	harness_check_books(h);
}

/* ================================================================ daemon level */

#define NCONN 4
#define NREDEEM 20          /* per connection */
#define START_BALANCE 1000
#define MAX_ITEMS 32

enum item_kind { I_REDEEM, I_UNKNOWN_MEMBER, I_OVERDRAFT, I_NO_HOLD, I_NO_ORIGINAL, I_FENCE };

struct item {
	enum item_kind kind;
	int64_t points;
	uint8_t *env;
	size_t len;
	struct harness_result r;
	bool answered;
};

struct lane {
	const char *merchant;
	struct pc_client *c;
	struct item items[MAX_ITEMS];
	int n;
};

static const char *const MEMBER = "m000003";

static void add_item(struct harness *h, struct lane *l, enum item_kind kind,
                     int64_t points)
{
	struct item *it = &l->items[l->n];
	char id[64];
	snprintf(id, sizeof id, "bm-%s-%02d", l->merchant, l->n);
	pc_event *ev;
	switch (kind) {
	case I_UNKNOWN_MEMBER:
		ev = harness_redeem(l->merchant, id, "nobody-here", points);
		break;
	case I_NO_HOLD:
		ev = harness_capture(l->merchant, id, "no-such-hold", points);
		break;
	case I_NO_ORIGINAL:
		ev = harness_reversal(l->merchant, id, "no-such-event", points);
		break;
	default:
		ev = harness_redeem(l->merchant, id, MEMBER, points);
		break;
	}
	it->kind = kind;
	it->points = points;
	it->env = harness_sign(h, l->merchant, ev, &it->len);
	harness_event_free(ev);
	l->n++;
}

/* Reads one answer on lane l and files it under its request id (index + 1). */
static void read_one(struct harness *h, struct lane *l)
{
	uint8_t type;
	uint64_t rid;
	uint8_t *body = NULL;
	size_t blen = 0;
	int rc = pc_client_read_frame(l->c, &type, &rid, &body, &blen);
	if (rc != 0)
		harness_fail(h, "%s: %s while reading answers", l->merchant,
		             rc > 0 ? "EOF" : "read error or 10 s without an answer");
	if (rid < 1 || rid > (uint64_t)l->n || l->items[rid - 1].answered) {
		free(body);
		harness_fail(h, "%s: unexpected or repeated answer to request %" PRIu64, l->merchant,
		             rid);
	}
	struct item *it = &l->items[rid - 1];
	if (harness_result_decode(&it->r, type, rid, body, blen) != 0)
		harness_fail(h, "%s: answer to %" PRIu64 " does not decode", l->merchant, rid);
	it->r.envelope = malloc(it->len);
	if (!it->r.envelope)
		abort();
	memcpy(it->r.envelope, it->env, it->len);
	it->r.envelope_len = it->len;
	it->answered = true;
}

/* The largest N of the log's "writer batch=K events=N" lines, and how many. */
static int largest_batch(struct harness *h, int *nbatches)
{
	char *log = harness_log_text(h, NULL);
	int best = 0;
	*nbatches = 0;
	for (const char *p = strstr(log, "writer batch="); p; p = strstr(p + 1, "writer batch=")) {
		unsigned long long k;
		int n;
		if (sscanf(p, "writer batch=%llu events=%d", &k, &n) == 2) {
			(*nbatches)++;
			if (n > best)
				best = n;
		}
	}
	free(log);
	return best;
}

static void test_daemon_mixed_batch(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	struct harness_result r;
	pc_event *ev = harness_earn("cafe", "bm-seed", MEMBER, START_BALANCE);
	harness_submit(h, "cafe", ev, &r);
	harness_event_free(ev);
	harness_expect(h, &r, RECORDED, 0, APPROVED);
	harness_result_free(&r);
	int64_t seq_before = harness_sql_int64(h, "SELECT next_seq FROM ledger_heads", NULL);

	/* the events: redemptions of 5..40 (about 1800 in all), bad ones in between,
	 * and last an amount of 0, which the daemon refuses before the writer */
	struct lane lanes[NCONN];
	memset(lanes, 0, sizeof lanes);
	int to_writer = 0;
	for (int k = 0; k < NCONN; k++) {
		struct lane *l = &lanes[k];
		l->merchant = harness_merchant_ids[k];
		for (int i = 0; i < NREDEEM; i++) {
			add_item(h, l, I_REDEEM, 5 + ((i * 7 + k * 3) % 8) * 5);
			if (i == 5)
				add_item(h, l, I_UNKNOWN_MEMBER, 10);
			if (i == 12)
				add_item(h, l, I_OVERDRAFT, 1000000);
			if (i == 9 && k == 0)
				add_item(h, l, I_NO_HOLD, 10);
			if (i == 9 && k == 1)
				add_item(h, l, I_NO_ORIGINAL, 10);
		}
		to_writer += l->n;
		add_item(h, l, I_REDEEM, 0);
		l->items[l->n - 1].kind = I_FENCE;
		l->c = harness_connect(h, l->merchant);
	}

	/* hold the writer: its next batch (the gate) waits for the ledger head */
	struct harness_gate gate;
	harness_hold_writer(h, &gate, harness_merchant_ids[4], "bm-gate", "m000004");

	/* pipeline everything, interleaved across the connections */
	for (int i = 0; i < MAX_ITEMS; i++)
		for (int k = 0; k < NCONN; k++)
			if (i < lanes[k].n && pc_client_send_frame(lanes[k].c, PC_MSG_SUBMIT,
			                                           (uint64_t)i + 1, lanes[k].items[i].env,
			                                           lanes[k].items[i].len) != 0)
				harness_fail(h, "%s: send %d failed", lanes[k].merchant, i);
	/* a connection hands its events to the writer in order, so the fence's answer
	 * means all before it are queued there (the writer is blocked: none is answered) */
	for (int k = 0; k < NCONN; k++) {
		struct lane *l = &lanes[k];
		while (!l->items[l->n - 1].answered)
			read_one(h, l);
		for (int i = 0; i < l->n - 1; i++)
			if (l->items[i].answered)
				harness_fail(h, "%s: event %d was answered while the writer was blocked",
				             l->merchant, i);
		harness_expect(h, &l->items[l->n - 1].r, REJECTED, C(INVALID_AMOUNT), 0);
	}
	assert_true(harness_batch_waits(h, NULL));
	harness_release_writer(h, &gate);
	for (int k = 0; k < NCONN; k++) {
		struct lane *l = &lanes[k];
		for (int i = 0; i < l->n - 1; i++)
			while (!l->items[i].answered)
				read_one(h, l);
		pc_client_close(l->c);
	}

	/* the batches: the gate alone, then all the rest together */
	int nbatches, largest = largest_batch(h, &nbatches);
	print_message("%d batches logged, the largest of %d events (%d sent to the writer)\n",
	              nbatches, largest, to_writer);
	if (nbatches == 0)
		harness_fail(h, "no \"writer batch=... events=N\" lines: is --log-level debug set?");
	if (largest < 2)
		harness_fail(h, "no batch had more than one event");
	assert_int_equal(largest, to_writer);

	/* every answer */
	int64_t approved_sum = 0, min_declined = INT64_MAX;
	int approved = 0, declined = 0;
	int64_t accepted = 0;
	for (int k = 0; k < NCONN; k++) {
		struct lane *l = &lanes[k];
		for (int i = 0; i < l->n - 1; i++) {
			struct item *it = &l->items[i];
			switch (it->kind) {
			case I_UNKNOWN_MEMBER:
				harness_expect(h, &it->r, REJECTED, C(UNKNOWN_MEMBER), 0);
				assert_null(it->r.res->receipt);
				continue;
			case I_OVERDRAFT:
				harness_expect(h, &it->r, RECORDED, C(INSUFFICIENT_POINTS), DECLINED);
				break;
			case I_NO_HOLD:
				harness_expect(h, &it->r, RECORDED, C(HOLD_NOT_FOUND), DECLINED);
				break;
			case I_NO_ORIGINAL:
				harness_expect(h, &it->r, RECORDED, C(ORIGINAL_NOT_FOUND), DECLINED);
				break;
			default:
				if (it->r.disposition == RECORDED && it->r.status == APPROVED) {
					harness_expect(h, &it->r, RECORDED, 0, APPROVED);
					approved++;
					approved_sum += it->points;
					assert_true(it->r.body->decision->balance >= 0);
				} else {
					harness_expect(h, &it->r, RECORDED, C(INSUFFICIENT_POINTS), DECLINED);
					declined++;
					/* declined only when it did not fit at its turn */
					assert_true(it->r.body->decision->available < it->points);
					if (it->points < min_declined)
						min_declined = it->points;
				}
				break;
			}
			if (!harness_receipt_valid(h, &it->r) || !harness_leaf_valid(h, &it->r))
				harness_fail(h, "%s event %d: receipt or leaf hash does not verify",
				             l->merchant, i);
			/* one transaction: everything recorded shares one time accepted */
			if (!accepted)
				accepted = it->r.body->accepted_at_us;
			if (it->r.body->accepted_at_us != accepted)
				harness_fail(h, "%s event %d was accepted in another batch", l->merchant, i);
		}
	}
	print_message("approved %d redemptions (%" PRId64 " points), declined %d\n", approved,
	              approved_sum, declined);
	assert_true(approved > 0);
	assert_true(declined > 0);
	assert_true(approved_sum <= START_BALANCE);
	int64_t balance = harness_balance(h, MEMBER);
	assert_int_equal(balance, START_BALANCE - approved_sum);
	assert_true(balance >= 0);
	assert_true(balance < min_declined);   /* greedy in order: what was left did not fit */
	assert_true(harness_sql_int64(h, "SELECT min(balance) FROM ledger WHERE member_id = $1",
	                              MEMBER, NULL) >= 0);
	assert_int_equal(harness_sql_int64(h, "SELECT count(*) FROM ledger WHERE member_id = $1 "
	                                      "AND kind = 2 AND status = 1", MEMBER, NULL), approved);

	/* recorded: everything but the unknown members and the fences, plus the gate */
	int64_t recorded = to_writer - NCONN + 1;
	assert_int_equal(harness_sql_int64(h, "SELECT next_seq FROM ledger_heads", NULL),
	                 seq_before + recorded);
	assert_int_equal(harness_sql_int64(h, "SELECT max(seq) + 1 - count(*) FROM ledger", NULL), 0);
	harness_check_books(h);

	for (int k = 0; k < NCONN; k++)
		for (int i = 0; i < lanes[k].n; i++) {
			harness_result_free(&lanes[k].items[i].r);
			free(lanes[k].items[i].env);
		}
}

/* One event the database cannot record (a test trigger makes its INSERT fail)
 * in a batch of 40: the writer halves the failed batch until the failure is
 * alone; that event is answered RETRYABLE INTERNAL, the 39 others are recorded,
 * and once the database takes it again the same bytes are recorded. */
#define POISON_N 40
#define POISON_AT 17
static void test_daemon_poison_event(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	const char *m = harness_merchant_ids[1], *mem = "m000001";
	harness_sql_exec(h,
		"CREATE FUNCTION t_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
		"IF NEW.event_id LIKE 'bm-poison-%' THEN RAISE EXCEPTION 'poisoned for the test'; "
		"END IF; RETURN NEW; END $$", NULL);
	harness_sql_exec(h, "CREATE TRIGGER t_poison BEFORE INSERT ON ledger "
	                    "FOR EACH ROW EXECUTE FUNCTION t_poison()", NULL);
	int64_t before = harness_balance(h, mem);
	int bisections = harness_log_count(h, "bisecting");

	uint8_t *env[POISON_N + 1];
	size_t len[POISON_N + 1];
	for (int i = 0; i <= POISON_N; i++) {
		char id[32];
		snprintf(id, sizeof id, i == POISON_AT ? "bm-poison-%02d" : "bm-p-%02d", i);
		/* the last is a fence, refused before the writer */
		env[i] = harness_signed_earn(h, m, id, mem, i == POISON_N ? 0 : 1, &len[i]);
	}
	struct harness_gate gate;
	harness_hold_writer(h, &gate, harness_merchant_ids[4], "bm-p-gate", "m000004");
	struct pc_client *c = harness_connect(h, m);
	assert_int_equal(harness_send_all(c, env, len, 0, POISON_N + 1), 0);
	struct harness_result r[POISON_N + 1];
	memset(r, 0, sizeof r);
	assert_int_equal(harness_read_answer(c, &r[POISON_N]), 0);
	assert_int_equal(r[POISON_N].request_id, POISON_N + 1);   /* the fence: all 40 are queued as one */
	harness_expect(h, &r[POISON_N], REJECTED, C(INVALID_AMOUNT), 0);
	harness_release_writer(h, &gate);
	for (int k = 0; k < POISON_N; k++) {
		struct harness_result a = {0};
		assert_int_equal(harness_read_answer(c, &a), 0);
		assert_true(a.request_id >= 1 && a.request_id <= POISON_N);
		assert_null(r[a.request_id - 1].raw);
		r[a.request_id - 1] = a;
	}
	for (int i = 0; i < POISON_N; i++) {
		if (i == POISON_AT) {
			harness_expect(h, &r[i], POINTCLEAR__V1__DISPOSITION__RETRYABLE, C(INTERNAL), 0);
			assert_null(r[i].res->receipt);
			continue;
		}
		harness_expect(h, &r[i], RECORDED, 0, APPROVED);
		assert_true(harness_receipt_valid(h, &r[i]));
	}
	assert_true(harness_log_count(h, "bisecting") > bisections);
	assert_int_equal(harness_balance(h, mem), before + POISON_N - 1);
	assert_int_equal(harness_sql_int64(h, "SELECT count(*) FROM ledger WHERE event_id LIKE 'bm-p%'",
	                                   NULL), POISON_N);   /* 39 and the gate */

	harness_sql_exec(h, "DROP TRIGGER t_poison ON ledger", NULL);
	harness_sql_exec(h, "DROP FUNCTION t_poison()", NULL);
	struct harness_result again;
	harness_submit_envelope(h, m, env[POISON_AT], len[POISON_AT], &again);
	harness_expect(h, &again, RECORDED, 0, APPROVED);
	harness_result_free(&again);
	assert_int_equal(harness_balance(h, mem), before + POISON_N);
	assert_int_equal(harness_sql_int64(h, "SELECT max(seq) + 1 - count(*) FROM ledger", NULL), 0);
	harness_check_books(h);

	pc_client_close(c);
	for (int i = 0; i <= POISON_N; i++) {
		harness_result_free(&r[i]);
		free(env[i]);
	}
}

static int setup(void **state)
{
	struct harness_opts o = {
		.name = "batch_mix",
		.merchants = 5,
		.members = 5,
		.daemon_args = { "--batches-in-flight", "1", "--log-level", "debug", NULL },
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
		cmocka_unit_test(test_sql_mixed_batch),
		cmocka_unit_test(test_daemon_mixed_batch),
		cmocka_unit_test(test_daemon_poison_event),
	};
	return cmocka_run_group_tests_name("integration.batch_mix", tests, setup, teardown);
}
