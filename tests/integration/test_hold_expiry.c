/* test_hold_expiry.c - the daemon's sweep releases expired holds by itself.
 *
 * The alliance allows holds of 2 s by default and 5 s at most; the daemon sweeps
 * every 200 ms. Expiry is counted from the clearing house's clock at acceptance,
 * a longer request is clamped, and an expired hold goes back to spendable with no
 * further event and no ledger entry. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define RECORDED POINTCLEAR__V1__DISPOSITION__RECORDED
#define APPROVED POINTCLEAR__V1__STATUS__APPROVED
#define DECLINED POINTCLEAR__V1__STATUS__DECLINED
#define C(x) POINTCLEAR__V1__CODE__##x

static struct harness_result submit(struct harness *h, const char *merchant, pc_event *ev,
                                    int code, int status)
{
	struct harness_result r;
	harness_submit(h, merchant, ev, &r);
	harness_event_free(ev);
	harness_expect(h, &r, RECORDED, code, status);
	return r;
}

static bool nothing_held(struct harness *h, void *arg)
{
	return harness_held(h, (const char *)arg) == 0;
}

static void test_sweep_releases(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	const char *mem = "m000001";
	struct harness_result r = submit(h, "cafe", harness_earn("cafe", "hx-earn", mem, 100), 0,
	                                 APPROVED);
	harness_result_free(&r);

	/* default duration (0): the alliance's 2 s */
	r = submit(h, "gym", harness_hold("gym", "hx-hold-default", mem, 30, 0), 0, APPROVED);
	assert_int_equal(r.body->decision->hold_expires_at_us - r.body->accepted_at_us,
	                 INT64_C(2000000));
	harness_result_free(&r);
	/* an hour asked, clamped to the 5 s maximum */
	r = submit(h, "gym", harness_hold("gym", "hx-hold-long", mem, 40, 3600), 0, APPROVED);
	assert_int_equal(r.body->decision->hold_expires_at_us - r.body->accepted_at_us,
	                 INT64_C(5000000));
	assert_int_equal(r.body->decision->available, 30);
	harness_result_free(&r);
	assert_int_equal(harness_held(h, mem), 70);

	/* nothing else is sent: the sweep alone must release both */
	int64_t entries = harness_ledger_count(h);
	if (!harness_wait_until(h, 9000, nothing_held, (void *)mem))
		harness_fail(h, "held is still %" PRId64 " 9 s later", harness_held(h, mem));
	assert_int_equal(harness_sql_int64(h,
		"SELECT count(*) FROM holds WHERE member_id = $1 AND state = 4 "
		"AND resolved_at = expires_at", mem, NULL), 2);
	assert_int_equal(harness_ledger_count(h), entries);   /* no entry for an expiry */
	assert_int_equal(harness_balance(h, mem), 100);

	/* all 100 are spendable again; the expired hold cannot be captured */
	r = submit(h, "gym", harness_capture("gym", "hx-cap", "hx-hold-long", 10),
	           C(HOLD_EXPIRED), DECLINED);
	harness_result_free(&r);
	r = submit(h, "gym", harness_redeem("gym", "hx-redeem", mem, 100), 0, APPROVED);
	assert_int_equal(r.body->decision->balance, 0);
	harness_result_free(&r);
	harness_check_books(h);
}

/* A hold still running is left alone by the sweep. */
static void test_sweep_keeps_live_holds(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	const char *mem = "m000002";
	struct harness_result r = submit(h, "cafe", harness_earn("cafe", "hl-earn", mem, 50), 0,
	                                 APPROVED);
	harness_result_free(&r);
	r = submit(h, "gym", harness_hold("gym", "hl-hold", mem, 20, 5), 0, APPROVED);
	harness_result_free(&r);
	harness_sleep_ms(1500);   /* several sweeps */
	assert_int_equal(harness_held(h, mem), 20);
	r = submit(h, "gym", harness_capture("gym", "hl-cap", "hl-hold", 20), 0, APPROVED);
	assert_int_equal(r.body->decision->balance, 30);
	harness_result_free(&r);
	assert_int_equal(harness_held(h, mem), 0);
}

static int setup(void **state)
{
	struct harness_opts o = {
		.name = "hold_expiry",
		.members = 3,
		.alliance_args = {"--default-hold", "2", "--max-hold", "5"},
		.daemon_args = {"--hold-sweep-ms", "200"},
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
		cmocka_unit_test(test_sweep_releases),
		cmocka_unit_test(test_sweep_keeps_live_holds),
	};
	return cmocka_run_group_tests_name("integration.hold_expiry", tests, setup, teardown);
}
