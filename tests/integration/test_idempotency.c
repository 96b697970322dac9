/* test_idempotency.c - (alliance, merchant, event id) decides once.
 *
 * The same signed bytes again are REPLAYED with the original receipt byte for
 * byte (across connections and a daemon restart), a decline stays a decline,
 * other bytes under the same id are a CONFLICT, and duplicates inside one
 * pipelined burst take effect once. Receipts signed a tree at a time replay
 * byte for byte too. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pointclear/codec.h"
#include "pointclear/frame.h"

#include "harness.h"

#define RECORDED POINTCLEAR__V1__DISPOSITION__RECORDED
#define REPLAYED POINTCLEAR__V1__DISPOSITION__REPLAYED
#define REJECTED POINTCLEAR__V1__DISPOSITION__REJECTED
#define APPROVED POINTCLEAR__V1__STATUS__APPROVED
#define DECLINED POINTCLEAR__V1__STATUS__DECLINED
#define C(x) POINTCLEAR__V1__CODE__##x

/* The receipt as bytes, for byte-for-byte comparison. */
static uint8_t *receipt_bytes(const struct harness_result *r, size_t *len)
{
	assert_non_null(r->res);
	assert_non_null(r->res->receipt);
	uint8_t *b = pc_pack(&r->res->receipt->base, len);
	assert_non_null(b);
	return b;
}

static void same_receipt(const struct harness_result *a, const struct harness_result *b)
{
	size_t la, lb;
	uint8_t *ra = receipt_bytes(a, &la);
	uint8_t *rb = receipt_bytes(b, &lb);
	assert_int_equal(la, lb);
	assert_memory_equal(ra, rb, la);
	free(ra);
	free(rb);
	/* and the parts themselves, as sent */
	assert_int_equal(a->res->receipt->body.len, b->res->receipt->body.len);
	assert_memory_equal(a->res->receipt->body.data, b->res->receipt->body.data,
	                    a->res->receipt->body.len);
	assert_int_equal(a->res->receipt->signature.len, b->res->receipt->signature.len);
	assert_memory_equal(a->res->receipt->signature.data, b->res->receipt->signature.data,
	                    a->res->receipt->signature.len);
}

static void test_replay_approved(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	const char *mem = "m000001";
	size_t len;
	uint8_t *env = harness_signed_earn(h, "cafe", "idem-1", mem, 100, &len);

	struct harness_result first, again, other_conn, after_restart;
	harness_submit_envelope(h, "cafe", env, len, &first);
	harness_expect(h, &first, RECORDED, 0, APPROVED);
	int64_t n = harness_ledger_count(h);

	harness_submit_envelope(h, "cafe", env, len, &again);
	harness_expect(h, &again, REPLAYED, 0, APPROVED);
	same_receipt(&first, &again);
	assert_true(harness_receipt_valid(h, &again));

	harness_drop_connections(h, "cafe");   /* a new connection: same answer */
	harness_submit_envelope(h, "cafe", env, len, &other_conn);
	harness_expect(h, &other_conn, REPLAYED, 0, APPROVED);
	same_receipt(&first, &other_conn);

	harness_restart_daemon(h);             /* nothing kept in the daemon matters */
	harness_submit_envelope(h, "cafe", env, len, &after_restart);
	harness_expect(h, &after_restart, REPLAYED, 0, APPROVED);
	same_receipt(&first, &after_restart);

	assert_int_equal(harness_ledger_count(h), n);
	assert_int_equal(harness_balance(h, mem), 100);
	harness_result_free(&first);
	harness_result_free(&again);
	harness_result_free(&other_conn);
	harness_result_free(&after_restart);
	free(env);
	harness_check_books(h);
}

static void test_replay_declined(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	const char *mem = "m000002";
	pc_event *ev = harness_redeem("gym", "idem-decl", mem, 500);
	size_t len;
	uint8_t *env = harness_sign(h, "gym", ev, &len);
	harness_event_free(ev);

	struct harness_result first, again, r;
	harness_submit_envelope(h, "gym", env, len, &first);
	harness_expect(h, &first, RECORDED, C(INSUFFICIENT_POINTS), DECLINED);

	/* now the member could afford it, but the decision is final for this id */
	ev = harness_earn("cafe", "idem-decl-funds", mem, 1000);
	harness_submit(h, "cafe", ev, &r);
	harness_event_free(ev);
	harness_expect(h, &r, RECORDED, 0, APPROVED);
	harness_result_free(&r);
	int64_t n = harness_ledger_count(h);

	harness_submit_envelope(h, "gym", env, len, &again);
	harness_expect(h, &again, REPLAYED, C(INSUFFICIENT_POINTS), DECLINED);
	same_receipt(&first, &again);
	assert_int_equal(harness_ledger_count(h), n);
	assert_int_equal(harness_balance(h, mem), 1000);

	/* a new attempt takes a new id */
	ev = harness_redeem("gym", "idem-decl-2", mem, 500);
	harness_submit(h, "gym", ev, &r);
	harness_event_free(ev);
	harness_expect(h, &r, RECORDED, 0, APPROVED);
	harness_result_free(&r);
	assert_int_equal(harness_balance(h, mem), 500);

	harness_result_free(&first);
	harness_result_free(&again);
	free(env);
}

static void test_conflict(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	const char *mem = "m000003";
	struct harness_result first, r;
	pc_event *ev = harness_earn("cafe", "idem-conf", mem, 100);
	harness_submit(h, "cafe", ev, &first);
	harness_expect(h, &first, RECORDED, 0, APPROVED);
	int64_t n = harness_ledger_count(h);

	/* other points */
	ev->earn->points = 101;
	harness_submit(h, "cafe", ev, &r);
	harness_expect(h, &r, REJECTED, C(CONFLICT), 0);
	assert_int_equal(r.res->original_sequence, first.seq);
	assert_null(r.res->receipt);
	harness_result_free(&r);

	/* same content, another event time: other bytes too */
	ev->earn->points = 100;
	ev->event_time_us += 1;
	harness_submit(h, "cafe", ev, &r);
	harness_expect(h, &r, REJECTED, C(CONFLICT), 0);
	harness_result_free(&r);
	harness_event_free(ev);

	assert_int_equal(harness_ledger_count(h), n);
	assert_int_equal(harness_balance(h, mem), 100);
	harness_result_free(&first);
}

/* The key is (alliance, merchant, event id): another merchant may use the same id. */
static void test_same_id_other_merchant(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	const char *mem = "m000004";
	struct harness_result r;
	pc_event *ev = harness_earn("cafe", "idem-shared", mem, 10);
	harness_submit(h, "cafe", ev, &r);
	harness_event_free(ev);
	harness_expect(h, &r, RECORDED, 0, APPROVED);
	harness_result_free(&r);
	ev = harness_earn("gym", "idem-shared", mem, 20);
	harness_submit(h, "gym", ev, &r);
	harness_event_free(ev);
	harness_expect(h, &r, RECORDED, 0, APPROVED);
	harness_result_free(&r);
	assert_int_equal(harness_balance(h, mem), 30);
}

#define BURST 6

/* One connection, all frames sent before any answer is read. */
/* Sends n SUBMIT bodies on c at once (request ids 1..n) and reads one answer to
 * each into r[i]. */
static void send_all_read_all(struct pc_client *c, uint8_t *const *env, const size_t *len,
                              int n, struct harness_result *r)
{
	assert_int_equal(harness_send_all(c, env, len, 0, n), 0);
	memset(r, 0, (size_t)n * sizeof *r);
	for (int k = 0; k < n; k++) {
		struct harness_result a = {0};
		assert_int_equal(harness_read_answer(c, &a), 0);
		assert_true(a.request_id >= 1 && a.request_id <= (uint64_t)n);
		assert_null(r[a.request_id - 1].raw);
		assert_int_equal(a.type, PC_MSG_SUBMIT_RESULT);
		r[a.request_id - 1] = a;
	}
}

static void test_burst_duplicates(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	const char *mem = "m000005";
	pc_event *x = harness_earn("bookshop", "idem-burst-x", mem, 7);
	pc_event *y = harness_earn("bookshop", "idem-burst-y", mem, 30);
	pc_event *z = harness_earn("bookshop", "idem-burst-y", mem, 31);   /* y's id, other bytes */
	size_t lx, ly, lz;
	uint8_t *ex = harness_sign(h, "bookshop", x, &lx);
	uint8_t *ey = harness_sign(h, "bookshop", y, &ly);
	uint8_t *ez = harness_sign(h, "bookshop", z, &lz);
	harness_event_free(x);
	harness_event_free(y);
	harness_event_free(z);
	/* x x y x z x */
	uint8_t *env[BURST] = {ex, ex, ey, ex, ez, ex};
	size_t len[BURST] = {lx, lx, ly, lx, lz, lx};

	int64_t n = harness_ledger_count(h);
	struct pc_client *c = harness_connect(h, "bookshop");
	struct harness_result r[BURST];
	send_all_read_all(c, env, len, BURST, r);
	pc_client_close(c);

	/* x: one RECORDED, the rest REPLAYED, all with the same receipt */
	int recorded = 0, replayed = 0, first_x = -1;
	for (int i = 0; i < BURST; i++) {
		if (env[i] != ex)
			continue;
		assert_int_equal(r[i].code, 0);
		assert_int_equal(r[i].status, APPROVED);
		if (r[i].disposition == RECORDED)
			recorded++;
		else if (r[i].disposition == REPLAYED)
			replayed++;
		if (first_x < 0)
			first_x = i;
		else
			same_receipt(&r[first_x], &r[i]);
	}
	assert_int_equal(recorded, 1);
	assert_int_equal(replayed, 3);
	/* y and z: one of them recorded, the other a conflict naming it */
	struct harness_result *won = r[2].disposition == RECORDED ? &r[2] : &r[4];
	struct harness_result *lost = won == &r[2] ? &r[4] : &r[2];
	harness_expect(h, won, RECORDED, 0, APPROVED);
	harness_expect(h, lost, REJECTED, C(CONFLICT), 0);
	assert_int_equal(lost->res->original_sequence, won->seq);

	assert_int_equal(harness_ledger_count(h), n + 2);
	assert_int_equal(harness_balance(h, mem), 7 + (won == &r[2] ? 30 : 31));
	for (int i = 0; i < BURST; i++)
		harness_result_free(&r[i]);
	free(ex);
	free(ey);
	free(ez);
	harness_check_books(h);
}

static uint64_t tree_size_of(const struct harness_result *r)
{
	const Pointclear__V1__Receipt *rc = r->res->receipt;
	Pointclear__V1__ReceiptTreeHead *head =
		pc_receipt_tree_head_unpack(rc->tree_head.data, rc->tree_head.len);
	assert_non_null(head);
	uint64_t size = head->size;
	pc_receipt_tree_head_free(head);
	return size;
}

/* Receipts are signed a tree at a time: a replay rebuilds its whole original tree
 * (the other entries' receipts too) and comes back byte for byte, alone, after a
 * restart, and mixed with new events and with replays from other trees. */
#define SHARED 69
static void test_replay_from_shared_tree(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	const char *m = "gym";
	uint8_t *env[SHARED + 2];
	size_t len[SHARED + 2];
	for (int i = 0; i < SHARED + 2; i++) {
		char id[32];
		snprintf(id, sizeof id, "idem-tree-%d", i);
		/* the last one is a fence: refused before the writer */
		pc_event *ev = harness_earn(m, id, "m000007", i == SHARED + 1 ? 0 : 10 + i);
		env[i] = harness_sign(h, m, ev, &len[i]);
		harness_event_free(ev);
	}

	/* one batch for all but the first: the writer waits on the ledger head with
	 * the first while the others queue behind it */
	PGconn *lock = harness_lock_heads(h);
	struct pc_client *c = harness_connect(h, m);
	assert_int_equal(pc_client_send_frame(c, PC_MSG_SUBMIT, 1, env[0], len[0]), 0);
	assert_true(harness_wait_until(h, 10000, harness_batch_waits, NULL));
	assert_int_equal(harness_send_all(c, env, len, 1, SHARED + 2), 0);
	struct harness_result first[SHARED + 2];
	memset(first, 0, sizeof first);
	assert_int_equal(harness_read_answer(c, &first[SHARED + 1]), 0);
	assert_int_equal(first[SHARED + 1].request_id, SHARED + 2);   /* the fence: everything before is queued */
	harness_expect(h, &first[SHARED + 1], REJECTED, C(INVALID_AMOUNT), 0);
	harness_unlock_heads(h, lock);
	for (int k = 0; k < SHARED + 1; k++) {
		struct harness_result a = {0};
		assert_int_equal(harness_read_answer(c, &a), 0);
		assert_true(a.request_id >= 1 && a.request_id <= SHARED + 1);
		first[a.request_id - 1] = a;
	}
	for (int i = 0; i < SHARED + 1; i++) {
		harness_expect(h, &first[i], RECORDED, 0, APPROVED);
		assert_true(harness_receipt_valid(h, &first[i]));
	}
	/* A second batch may go out while the head is locked (with what had arrived
	 * by then, when that is a quarter of a full batch); whatever it did not take
	 * went out after them in one batch. So some tree holds at least half of
	 * the 68 after the first two: replay from it, at its ends and inside. */
	int big = 1;
	for (int i = 1; i < SHARED + 1; i++) {
		assert_true(tree_size_of(&first[i]) <= 64);
		if (tree_size_of(&first[i]) > tree_size_of(&first[big]))
			big = i;
	}
	assert_true(tree_size_of(&first[big]) >= 34);
	uint64_t lo = UINT64_MAX, hi = 0;
	const ProtobufCBinaryData *big_head = &first[big].res->receipt->tree_head;
	for (int i = 1; i < SHARED + 1; i++)
		if (first[i].res->receipt->tree_head.len == big_head->len &&
		    memcmp(first[i].res->receipt->tree_head.data, big_head->data, big_head->len) == 0) {
			lo = first[i].seq < lo ? first[i].seq : lo;
			hi = first[i].seq > hi ? first[i].seq : hi;
		}
	int at_lo = -1, at_hi = -1, inside = -1;
	for (int i = 1; i < SHARED + 1; i++) {
		if (first[i].seq == lo)
			at_lo = i;
		else if (first[i].seq == hi)
			at_hi = i;
		else if (first[i].seq == lo + (hi - lo) / 2)
			inside = i;
	}
	assert_true(at_lo > 0 && at_hi > 0 && inside > 0);
	int64_t n = harness_ledger_count(h);

	struct harness_result again;
	harness_submit_envelope(h, m, env[inside], len[inside], &again);
	harness_expect(h, &again, REPLAYED, 0, APPROVED);
	same_receipt(&first[inside], &again);
	harness_result_free(&again);

	harness_restart_daemon(h);
	pc_client_close(c);
	c = harness_connect(h, m);
	pc_event *fresh = harness_earn(m, "idem-tree-fresh", "m000007", 5);
	size_t flen;
	uint8_t *fenv = harness_sign(h, m, fresh, &flen);
	harness_event_free(fresh);
	uint8_t *mix[5] = { env[at_hi], fenv, env[at_lo], env[inside], env[0] };
	size_t mlen[5] = { len[at_hi], flen, len[at_lo], len[inside], len[0] };
	struct harness_result r[5];
	send_all_read_all(c, mix, mlen, 5, r);
	harness_expect(h, &r[1], RECORDED, 0, APPROVED);
	assert_true(harness_receipt_valid(h, &r[1]));
	const int from[5] = { at_hi, -1, at_lo, inside, 0 };
	for (int i = 0; i < 5; i++) {
		if (from[i] < 0)
			continue;
		harness_expect(h, &r[i], REPLAYED, 0, APPROVED);
		same_receipt(&first[from[i]], &r[i]);
		assert_true(harness_receipt_valid(h, &r[i]));
	}
	assert_int_equal(harness_ledger_count(h), n + 1);
	pc_client_close(c);

	for (int i = 0; i < 5; i++)
		harness_result_free(&r[i]);
	for (int i = 0; i < SHARED + 2; i++) {
		harness_result_free(&first[i]);
		free(env[i]);
	}
	free(fenv);
	harness_check_books(h);
}

/* The same bytes on two connections at once: one effect. */
static void test_two_connections(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	const char *mem = "m000006";
	pc_event *ev = harness_earn("airline", "idem-two", mem, 44);
	size_t len;
	uint8_t *env = harness_sign(h, "airline", ev, &len);
	harness_event_free(ev);
	struct pc_client *a = harness_connect(h, "airline");
	struct pc_client *b = harness_connect(h, "airline");
	assert_int_equal(pc_client_send_frame(a, PC_MSG_SUBMIT, 1, env, len), 0);
	assert_int_equal(pc_client_send_frame(b, PC_MSG_SUBMIT, 1, env, len), 0);
	struct harness_result ra = {0}, rb = {0};
	assert_int_equal(harness_read_answer(a, &ra), 0);
	assert_int_equal(harness_read_answer(b, &rb), 0);
	assert_int_equal(ra.status, APPROVED);
	assert_int_equal(rb.status, APPROVED);
	assert_true((ra.disposition == RECORDED && rb.disposition == REPLAYED) ||
	            (ra.disposition == REPLAYED && rb.disposition == RECORDED));
	same_receipt(&ra, &rb);
	assert_int_equal(harness_balance(h, mem), 44);
	harness_result_free(&ra);
	harness_result_free(&rb);
	pc_client_close(a);
	pc_client_close(b);
	free(env);
}

static int setup(void **state)
{
	struct harness_opts o = {.name = "idempotency", .members = 8};
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
		cmocka_unit_test(test_replay_approved),
		cmocka_unit_test(test_replay_declined),
		cmocka_unit_test(test_conflict),
		cmocka_unit_test(test_same_id_other_merchant),
		cmocka_unit_test(test_burst_duplicates),
		cmocka_unit_test(test_replay_from_shared_tree),
		cmocka_unit_test(test_two_connections),
	};
	return cmocka_run_group_tests_name("integration.idempotency", tests, setup, teardown);
}
