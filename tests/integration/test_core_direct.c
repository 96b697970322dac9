/* test_core_direct.c - a second front end: the core driven in-process, without
 * any TLS connection or frame.
 *
 * The database and home are made by the real CLI (the harness, no daemon); the
 * test then runs the core (daemon/core.h) on an event base of its own, with its
 * key cache loaded by control.c from that database, submits signed events for
 * the identity a front end would have authenticated, and checks each outcome:
 * recorded, declined, replayed (the same receipt byte for byte), refused by
 * validation and refused as a conflict; then looks entries up (pc_core_lookup):
 * found, byte for byte the replay's receipt, not found, another merchant's,
 * malformed. Every receipt is checked with
 * libpcproto's pc_receipt_check against the operator's public key, while the
 * outcome is delivered, as a front end would before passing it on. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "pointclear/codec.h"
#include "pointclear/receipt_check.h"

#include "control.h"
#include "core.h"
#include "harness.h"
#include "receipt.h"

#define RECORDED POINTCLEAR__V1__DISPOSITION__RECORDED
#define REPLAYED POINTCLEAR__V1__DISPOSITION__REPLAYED
#define REJECTED POINTCLEAR__V1__DISPOSITION__REJECTED
#define APPROVED POINTCLEAR__V1__STATUS__APPROVED
#define DECLINED POINTCLEAR__V1__STATUS__DECLINED
#define C(x) POINTCLEAR__V1__CODE__##x

#define MAX_REQUESTS 16

/* What the front end kept of one outcome. */
struct answer {
	bool done;
	int disposition, code, status;
	uint64_t original_sequence, sequence;
	char event_id[65], merchant[65];
	uint8_t *receipt;          /* the packed Receipt, NULL without one */
	size_t receipt_len;
	const char *receipt_error; /* pc_receipt_check's verdict; NULL: it checks */
};

struct front {
	struct harness *h;
	struct event_base *base;
	struct pc_core *core;
	bool db_ready;
	int lookups_answered;
	struct answer answers[MAX_REQUESTS];   /* by request id */
};

static struct front *front_of_hooks;

static void on_answer(void *cookie, uint64_t request_id, const struct pc_outcome *o)
{
	struct front *f = cookie;
	assert_true(request_id < MAX_REQUESTS);
	struct answer *a = &f->answers[request_id];
	assert_false(a->done);
	a->done = true;
	a->disposition = o->disposition;
	a->code = o->code;
	a->original_sequence = o->original_sequence;
	assert_non_null(o->message);
	if (!o->receipt)
		return;
	Pointclear__V1__Receipt rc;
	ProtobufCBinaryData steps[PC_MERKLE_MAX_PATH];
	Pointclear__V1__ReceiptBody *body = NULL;
	pc_outcome_receipt(&rc, steps, o->receipt);
	a->receipt_error = pc_receipt_check(&rc, f->h->operator_pk, NULL, &body);
	if (a->receipt_error)
		return;
	assert_string_equal(rc.key_id, f->h->operator_key_id);
	a->sequence = body->sequence;
	a->status = body->decision->status;
	assert_int_equal(body->decision->code, o->code);
	snprintf(a->event_id, sizeof a->event_id, "%s", body->event_id);
	snprintf(a->merchant, sizeof a->merchant, "%s", body->merchant_id);
	pc_receipt_body_free(body);
	a->receipt = pc_pack(&rc.base, &a->receipt_len);
	assert_non_null(a->receipt);
}

static void on_answer_lookup(void *cookie, uint64_t request_id, const struct pc_outcome *o)
{
	struct front *f = cookie;
	f->lookups_answered++;
	on_answer(cookie, request_id, o);
}

static void on_released(void *arg)
{
	struct front *f = arg;
	if (pc_core_live(f->core) == 0)
		event_base_loopbreak(f->base);
}

static void on_db_ready(void *arg)
{
	struct front *f = arg;
	f->db_ready = true;
	event_base_loopbreak(f->base);
}

static void on_first_keys(void *arg)
{
	struct front *f = arg;
	pc_core_open_db(f->core, on_db_ready, f);
}

static struct pc_config cfg;

static struct front *front_start(struct harness *h)
{
	struct front *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->h = h;
	cfg = (struct pc_config){
		.db = h->conninfo, .home = h->home, .workers = 2, .batch_max = 64,
		.batches_in_flight = 2, .reconnect_ms = 500, .batch_timeout_ms = 30000,
	};
	char path[256];
	snprintf(path, sizeof path, "%s/operator/receipt.key", h->home);
	assert_int_equal(pc_receipt_load_key(path), 0);
	f->base = event_base_new();
	assert_non_null(f->base);
	struct pc_core_hooks hooks = { on_answer, on_answer_lookup, on_released, f };
	f->core = pc_core_new(f->base, &cfg, &hooks);
	struct pc_control_hooks ch = { NULL, on_first_keys, f };
	pc_control_start(f->base, &cfg, &ch);
	/* the key cache loads, then the writer connects (no timer: the loop ends
	 * when it is ready; a database that never answers fails by ctest's timeout) */
	event_base_loop(f->base, EVLOOP_NO_EXIT_ON_EMPTY);
	assert_true(f->db_ready);
	front_of_hooks = f;
	return f;
}

static void front_stop(struct front *f)
{
	pc_core_free(f->core);
	pc_control_stop();
	event_base_free(f->base);
	for (int i = 0; i < MAX_REQUESTS; i++)
		free(f->answers[i].receipt);
	free(f);
}

/* Runs the loop until every submitted request is answered. */
static void run_until_answered(struct front *f)
{
	pc_core_dispatch(f->core);
	if (pc_core_live(f->core) > 0)
		event_base_loop(f->base, EVLOOP_NO_EXIT_ON_EMPTY);
	assert_int_equal(pc_core_live(f->core), 0);
}

static void expect(const struct answer *a, int disposition, int code, int status)
{
	assert_true(a->done);
	if (a->disposition != disposition || a->code != code)
		fail_msg("want %d/%s, got %d/%s", disposition, pc_code_name(code), a->disposition,
		         pc_code_name(a->code));
	if (status) {
		assert_non_null(a->receipt);
		assert_null(a->receipt_error);
		assert_int_equal(a->status, status);
	}
}

static void test_core_direct(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	struct front *f = front_start(h);
	struct pc_identity cafe = { HARNESS_ALLIANCE, "cafe" };
	struct pc_core_client *cl = pc_core_client_new(f->core, &cafe, f);

	/* round one: an earn, a redeem beyond the balance, a bad signature */
	size_t earn_len, redeem_len, bad_len;
	uint8_t *earn = harness_signed_earn(h, "cafe", "direct-1", "m000001", 100, &earn_len);
	pc_event *rd = harness_redeem("cafe", "direct-2", "m000001", 1000);
	uint8_t *redeem = harness_sign(h, "cafe", rd, &redeem_len);
	uint8_t *bad = harness_signed_earn(h, "cafe", "direct-3", "m000001", 5, &bad_len);
	bad[bad_len - 1] ^= 1;   /* the signature's last byte */
	uint8_t *earn_copy = malloc(earn_len);
	memcpy(earn_copy, earn, earn_len);
	pc_core_submit(cl, 1, earn_copy, earn_len);
	pc_core_submit(cl, 2, redeem, redeem_len);
	pc_core_submit(cl, 3, bad, bad_len);
	run_until_answered(f);

	expect(&f->answers[1], RECORDED, C(OK), APPROVED);
	assert_string_equal(f->answers[1].event_id, "direct-1");
	assert_string_equal(f->answers[1].merchant, "cafe");
	expect(&f->answers[2], RECORDED, C(INSUFFICIENT_POINTS), DECLINED);
	assert_string_equal(f->answers[2].event_id, "direct-2");
	expect(&f->answers[3], REJECTED, C(BAD_SIGNATURE), 0);
	assert_null(f->answers[3].receipt);
	assert_int_equal(harness_ledger_count(h), 2);

	/* round two: the same earn bytes again, other bytes under its id */
	pc_core_submit(cl, 4, earn, earn_len);
	size_t other_len;
	uint8_t *other = harness_signed_earn(h, "cafe", "direct-1", "m000001", 101, &other_len);
	pc_core_submit(cl, 5, other, other_len);
	run_until_answered(f);

	expect(&f->answers[4], REPLAYED, C(OK), APPROVED);
	assert_int_equal(f->answers[4].sequence, f->answers[1].sequence);
	assert_int_equal(f->answers[4].receipt_len, f->answers[1].receipt_len);
	assert_memory_equal(f->answers[4].receipt, f->answers[1].receipt, f->answers[1].receipt_len);
	expect(&f->answers[5], REJECTED, C(CONFLICT), 0);
	assert_int_equal(f->answers[5].original_sequence, f->answers[1].sequence);
	assert_int_equal(harness_ledger_count(h), 2);
	assert_int_equal(harness_balance(h, "m000001"), 100);
	harness_check_books(h);

	/* round three: lookups, answered through answer_lookup, recording nothing */
	struct pc_identity shop = { HARNESS_ALLIANCE, "" };
	snprintf(shop.merchant, sizeof shop.merchant, "%s", harness_merchant_ids[1]);
	struct pc_core_client *other_cl = pc_core_client_new(f->core, &shop, f);
	pc_core_lookup(cl, 6, "direct-1");
	pc_core_lookup(cl, 7, "direct-2");
	pc_core_lookup(cl, 8, "direct-9");
	pc_core_lookup(other_cl, 9, "direct-1");   /* cafe's id, asked by another merchant */
	pc_core_lookup(cl, 10, "");
	pc_core_lookup(cl, 11, "e 1");
	assert_int_equal(f->lookups_answered, 0);   /* nothing answers inside pc_core_lookup */
	run_until_answered(f);
	assert_int_equal(f->lookups_answered, 6);

	expect(&f->answers[6], REPLAYED, C(OK), APPROVED);
	assert_int_equal(f->answers[6].receipt_len, f->answers[1].receipt_len);
	assert_memory_equal(f->answers[6].receipt, f->answers[1].receipt, f->answers[1].receipt_len);
	expect(&f->answers[7], REPLAYED, C(INSUFFICIENT_POINTS), DECLINED);
	assert_int_equal(f->answers[7].receipt_len, f->answers[2].receipt_len);
	assert_memory_equal(f->answers[7].receipt, f->answers[2].receipt, f->answers[2].receipt_len);
	expect(&f->answers[8], REJECTED, C(NOT_FOUND), 0);
	assert_null(f->answers[8].receipt);
	expect(&f->answers[9], REJECTED, C(NOT_FOUND), 0);
	expect(&f->answers[10], REJECTED, C(MISSING_FIELD), 0);
	expect(&f->answers[11], REJECTED, C(INVALID_FIELD), 0);
	assert_int_equal(harness_ledger_count(h), 2);

	/* round four: a shutdown answers what was not started SHUTTING_DOWN */
	size_t late_len;
	uint8_t *late = harness_signed_earn(h, "cafe", "direct-4", "m000001", 7, &late_len);
	pc_core_shutdown(f->core);
	assert_true(pc_core_stopping(f->core));
	pc_core_submit(cl, 12, late, late_len);
	pc_core_lookup(cl, 13, "direct-1");
	run_until_answered(f);
	expect(&f->answers[12], POINTCLEAR__V1__DISPOSITION__RETRYABLE, C(SHUTTING_DOWN), 0);
	expect(&f->answers[13], POINTCLEAR__V1__DISPOSITION__RETRYABLE, C(SHUTTING_DOWN), 0);
	assert_int_equal(harness_ledger_count(h), 2);

	pc_core_client_free(other_cl);
	pc_core_client_free(cl);
	harness_event_free(rd);
	front_stop(f);
}

static int setup(void **state)
{
	struct harness_opts o = {.name = "core_direct", .merchants = 2, .members = 4,
	                         .no_daemon = true};
	*state = harness_new(&o);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	return harness_free(HARNESS_STATE(state));
}

int main(void)
{
	if (evthread_use_pthreads() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_core_direct),
	};
	return cmocka_run_group_tests_name("integration.core_direct", tests, setup, teardown);
}
