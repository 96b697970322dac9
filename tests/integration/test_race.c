/* test_race.c - concurrent spending of one member from many connections.
 *
 * 8 connections (4 merchants, 2 each) pipeline 25 redemptions of 10 points each
 * against a member holding 1000: exactly 100 are approved, the balance ends at
 * exactly 0 and no ledger entry ever shows it below zero. A second round mixes
 * holds and redemptions against 500 points. */
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

#include "pointclear/frame.h"

#include "harness.h"

#define RECORDED POINTCLEAR__V1__DISPOSITION__RECORDED
#define APPROVED POINTCLEAR__V1__STATUS__APPROVED
#define DECLINED POINTCLEAR__V1__STATUS__DECLINED
#define C(x) POINTCLEAR__V1__CODE__##x

#define NCONN 8
#define PER_CONN 25

struct worker {
	struct pc_client *c;
	pthread_barrier_t *go;
	uint8_t *env[PER_CONN];
	size_t len[PER_CONN];
	struct harness_burst got;
	char err[256];
};

/* Sends all its frames at once, then reads every answer. No cmocka here. */
static void *worker_run(void *arg)
{
	struct worker *w = arg;
	pthread_barrier_wait(w->go);
	harness_burst(w->c, w->env, w->len, PER_CONN, &w->got, w->err, sizeof w->err);
	return NULL;
}

/* Runs NCONN workers; make(h, conn, i, id) builds each event. */
static void race(struct harness *h, const char *tag, pc_event *(*make)(int conn, int i,
                 const char *merchant, const char *id), int *approved, int *declined)
{
	struct worker w[NCONN];
	pthread_t t[NCONN];
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, NCONN);
	memset(w, 0, sizeof w);
	for (int k = 0; k < NCONN; k++) {
		const char *merchant = harness_merchant_ids[k % 4];
		w[k].c = harness_connect(h, merchant);
		w[k].go = &go;
		for (int i = 0; i < PER_CONN; i++) {
			char id[64];
			snprintf(id, sizeof id, "%s-c%d-%d", tag, k, i);
			pc_event *ev = make(k, i, merchant, id);
			w[k].env[i] = harness_sign(h, merchant, ev, &w[k].len[i]);
			harness_event_free(ev);
		}
	}
	for (int k = 0; k < NCONN; k++)
		assert_int_equal(pthread_create(&t[k], NULL, worker_run, &w[k]), 0);
	for (int k = 0; k < NCONN; k++)
		pthread_join(t[k], NULL);
	pthread_barrier_destroy(&go);
	*approved = *declined = 0;
	int other = 0;
	for (int k = 0; k < NCONN; k++) {
		for (int i = 0; i < PER_CONN; i++)
			free(w[k].env[i]);
		pc_client_close(w[k].c);
		if (w[k].err[0])
			harness_fail(h, "connection %d: %s", k, w[k].err);
		*approved += w[k].got.approved;
		*declined += w[k].got.declined_insufficient;
		other += w[k].got.other;
	}
	if (other)
		harness_fail(h, "%d answers were neither approved nor INSUFFICIENT_POINTS", other);
}

static pc_event *make_redeem(int conn, int i, const char *merchant, const char *id)
{
	(void)conn;
	(void)i;
	return harness_redeem(merchant, id, "m000001", 10);
}

static pc_event *make_mixed(int conn, int i, const char *merchant, const char *id)
{
	(void)i;
	if (conn % 2)
		return harness_hold(merchant, id, "m000002", 10, 600);
	return harness_redeem(merchant, id, "m000002", 10);
}

static void never_negative(struct harness *h, const char *member)
{
	assert_true(harness_sql_int64(h,
		"SELECT min(balance) FROM ledger WHERE member_id = $1", member, NULL) >= 0);
	assert_true(harness_sql_int64(h,
		"SELECT min(available) FROM ledger WHERE member_id = $1", member, NULL) >= 0);
}

static void test_redeem_race(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	struct harness_result r;
	pc_event *ev = harness_earn("cafe", "race-seed", "m000001", 1000);
	harness_submit(h, "cafe", ev, &r);
	harness_event_free(ev);
	harness_expect(h, &r, RECORDED, 0, APPROVED);
	harness_result_free(&r);

	int approved, declined;
	race(h, "race", make_redeem, &approved, &declined);
	assert_int_equal(approved, 100);
	assert_int_equal(declined, 100);
	assert_int_equal(harness_balance(h, "m000001"), 0);
	assert_int_equal(harness_sql_int64(h,
		"SELECT count(*) FROM ledger WHERE member_id = 'm000001' AND kind = 2 AND status = 1",
		NULL), 100);
	assert_int_equal(harness_sql_int64(h,
		"SELECT count(*) FROM ledger WHERE member_id = 'm000001' AND kind = 2 AND status = 2 "
		"AND code = 50", NULL), 100);
	never_negative(h, "m000001");
	harness_check_books(h);
}

static void test_hold_redeem_race(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	struct harness_result r;
	pc_event *ev = harness_earn("gym", "race2-seed", "m000002", 500);
	harness_submit(h, "gym", ev, &r);
	harness_event_free(ev);
	harness_expect(h, &r, RECORDED, 0, APPROVED);
	harness_result_free(&r);

	int approved, declined;
	race(h, "race2", make_mixed, &approved, &declined);
	assert_int_equal(approved, 50);
	assert_int_equal(declined, 150);
	/* what was not redeemed is held: spendable is exactly 0 */
	int64_t bal = harness_balance(h, "m000002");
	int64_t held = harness_held(h, "m000002");
	assert_int_equal(bal - held, 0);
	assert_int_equal(held, 10 * harness_sql_int64(h,
		"SELECT count(*) FROM ledger WHERE member_id = 'm000002' AND kind = 3 AND status = 1",
		NULL));
	never_negative(h, "m000002");
	harness_check_books(h);
}

static int setup(void **state)
{
	struct harness_opts o = {.name = "race", .members = 5};
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
		cmocka_unit_test(test_redeem_race),
		cmocka_unit_test(test_hold_redeem_race),
	};
	return cmocka_run_group_tests_name("integration.race", tests, setup, teardown);
}
