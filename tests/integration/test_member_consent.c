/* test_member_consent.c - members' consent to spending, over real mTLS, daemon
 * and PostgreSQL (PROTOCOL.md, "Member authorization").
 *
 * Member m000001 registers a device key made by `pointclear member keygen`; the
 * alliance starts without a policy, which is then set to a threshold of 100
 * points. Each case is an authorization the member's app would sign, or one a
 * merchant forged or replayed, and the answer the daemon must give: refused
 * before any decision (nothing recorded), or recorded with the nonce spent. The
 * cases run in order on one database. */
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

#include "harness.h"
#include "pointclear/event_build.h"

#define RECORDED POINTCLEAR__V1__DISPOSITION__RECORDED
#define REPLAYED POINTCLEAR__V1__DISPOSITION__REPLAYED
#define REJECTED POINTCLEAR__V1__DISPOSITION__REJECTED
#define APPROVED POINTCLEAR__V1__STATUS__APPROVED
#define DECLINED POINTCLEAR__V1__STATUS__DECLINED
#define C(x) POINTCLEAR__V1__CODE__##x

static const char *M1 = "m000001", *M2 = "m000002", *NOBODY = "m999999";

/* the member's device key, as the app holds it */
static uint8_t dev_sk[64];
static char dev_id[17];
static char dev_dir[256];

/* An authorization by the device key; expires_in_s from now (negative: past). */
static uint8_t *authorize(const char *member, const char *merchant, int64_t max_points,
                          int64_t expires_in_s, size_t *len)
{
	uint8_t nonce[PC_AUTH_NONCE_SIZE];
	randombytes_buf(nonce, sizeof nonce);
	struct pc_authorization_desc a = {
		.alliance_id = HARNESS_ALLIANCE, .member_id = member, .merchant_id = merchant,
		.max_points = max_points, .expires_at_us = harness_now_us() + expires_in_s * 1000000,
		.nonce = nonce, .nonce_len = sizeof nonce,
	};
	uint8_t *auth = pc_authorization_sign(&a, dev_sk, dev_id, len, NULL);
	assert_non_null(auth);
	return auth;
}

/* ev with the authorization auth (len bytes) attached; auth is not taken. */
static pc_event *with_auth(pc_event *ev, const uint8_t *auth, size_t len)
{
	ev->authorization = pointclear__v1__signed_authorization__unpack(NULL, len, auth);
	assert_non_null(ev->authorization);
	return ev;
}

/* Submits ev (freed), expects a refusal with code, and nothing in the ledger under its id. */
static void expect_refused(struct harness *h, const char *merchant, pc_event *ev, int code)
{
	struct harness_result r;
	harness_submit(h, merchant, ev, &r);
	harness_expect(h, &r, REJECTED, code, 0);
	assert_null(r.res->receipt);
	assert_int_equal(harness_sql_int64(h, "SELECT count(*) FROM ledger WHERE merchant_id = $1"
	                                      " AND event_id = $2", merchant, ev->event_id, NULL), 0);
	harness_result_free(&r);
	harness_event_free(ev);
}

/* Submits ev (freed), expects it recorded with status and code; *d its decision. */
static uint64_t expect_recorded(struct harness *h, const char *merchant, pc_event *ev, int status,
                                int code, Pointclear__V1__Decision *d)
{
	struct harness_result r;
	harness_submit(h, merchant, ev, &r);
	harness_expect(h, &r, RECORDED, code, status);
	assert_true(harness_receipt_valid(h, &r));
	assert_true(harness_leaf_valid(h, &r));
	if (d)
		*d = *r.body->decision;
	uint64_t seq = r.seq;
	harness_result_free(&r);
	harness_event_free(ev);
	return seq;
}

static int64_t nonces(struct harness *h)
{
	return harness_sql_int64(h, "SELECT count(*) FROM member_auth_nonces", NULL);
}

/* The daemon applies the policy once it reloaded: a hold for an unknown member,
 * refused either way and recording nothing, tells which policy it has. */
static bool policy_on(struct harness *h, void *arg)
{
	(void)arg;
	static int n;
	char id[32];
	snprintf(id, sizeof id, "probe-%d", n++);
	struct harness_result r;
	pc_event *ev = harness_hold("cafe", id, NOBODY, 1000, 0);
	harness_submit(h, "cafe", ev, &r);
	harness_event_free(ev);
	bool on = r.code == C(MEMBER_AUTH_REQUIRED);
	harness_result_free(&r);
	return on;
}

/* No policy: spending needs no authorization, as before; a decline without one
 * tells no balance all the same. */
static void test_policy_off(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	Pointclear__V1__Decision d;
	expect_recorded(h, "cafe", harness_earn("cafe", "earn-1", M1, 1000), APPROVED, 0, &d);
	expect_recorded(h, "cafe", harness_earn("cafe", "earn-2", M2, 1000), APPROVED, 0, &d);
	expect_recorded(h, "cafe", harness_redeem("cafe", "off-1", M1, 500), APPROVED, 0, &d);
	assert_int_equal(d.balance, 500);
	expect_recorded(h, "gym", harness_redeem("gym", "off-2", M1, 1000000), DECLINED,
	                C(INSUFFICIENT_POINTS), &d);
	assert_int_equal(d.balance, 0);
	assert_int_equal(d.available, 0);
	/* the ledger keeps the decision as told, and the member's row the truth */
	assert_int_equal(harness_sql_int64(h, "SELECT balance + available FROM ledger"
	                                      " WHERE event_id = 'off-2'", NULL), 0);
	assert_int_equal(harness_balance(h, M1), 500);
	expect_refused(h, "cafe", harness_redeem("cafe", "off-3", NOBODY, 500), C(UNKNOWN_MEMBER));

	char *out = NULL;
	harness_cli_ok(h, &out, "alliance", "set-consent", HARNESS_ALLIANCE, "--threshold", "100",
	               NULL);
	free(out);
	assert_true(harness_wait_until(h, 10000, policy_on, NULL));
}

/* Policy on: above the threshold, no authorization is refused before the member
 * is looked for, so a known and an unknown member get the same answer. */
static void test_required(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	expect_refused(h, "cafe", harness_redeem("cafe", "req-1", M1, 101), C(MEMBER_AUTH_REQUIRED));
	expect_refused(h, "cafe", harness_redeem("cafe", "req-2", NOBODY, 101),
	               C(MEMBER_AUTH_REQUIRED));
	expect_refused(h, "cafe", harness_hold("cafe", "req-3", M1, 101, 0), C(MEMBER_AUTH_REQUIRED));
	/* the threshold itself needs none */
	Pointclear__V1__Decision d;
	expect_recorded(h, "cafe", harness_redeem("cafe", "req-4", M1, 100), APPROVED, 0, &d);
	assert_int_equal(d.balance, 400);
	/* an earn never does */
	expect_recorded(h, "cafe", harness_earn("cafe", "req-5", M1, 600), APPROVED, 0, &d);
	assert_int_equal(harness_balance(h, M1), 1000);
}

/* A valid authorization, as `pointclear member authorize` prints it: approved,
 * its nonce spent with the entry; used again, refused; the same event resent is
 * a replay, not a reuse. */
static void test_valid_then_reused(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	char *hex = NULL, key[300];
	snprintf(key, sizeof key, "%s/device.key", dev_dir);
	harness_cli_ok(h, &hex, "member", "authorize", "--key", key, HARNESS_ALLIANCE, M1, "cafe",
	               "--max-points", "200", "--ttl", "300", NULL);
	size_t hexlen = strcspn(hex, "\n"), len;
	uint8_t *auth = malloc(hexlen / 2);
	assert_non_null(auth);
	assert_int_equal(sodium_hex2bin(auth, hexlen / 2, hex, hexlen, NULL, &len, NULL), 0);
	free(hex);

	int64_t before = nonces(h);
	Pointclear__V1__Decision d;
	pc_event *ev = with_auth(harness_redeem("cafe", "auth-1", M1, 150), auth, len);
	uint8_t *env = NULL;
	size_t env_len = 0;
	env = harness_sign(h, "cafe", ev, &env_len);
	uint64_t seq = expect_recorded(h, "cafe", ev, APPROVED, 0, &d);
	assert_int_equal(d.balance, 850);
	assert_int_equal(nonces(h), before + 1);
	char s[32];
	snprintf(s, sizeof s, "%" PRIu64, seq);
	assert_int_equal(harness_sql_int64(h, "SELECT count(*) FROM member_auth_nonces WHERE"
	                                      " seq = $1 AND member_id = $2 AND merchant_id = 'cafe'",
	                                      s, M1, NULL), 1);

	struct harness_result r;
	harness_submit_envelope(h, "cafe", env, env_len, &r);
	harness_expect(h, &r, REPLAYED, 0, APPROVED);
	harness_result_free(&r);
	free(env);

	expect_refused(h, "cafe", with_auth(harness_redeem("cafe", "auth-2", M1, 150), auth, len),
	               C(MEMBER_AUTH_REUSED));
	assert_int_equal(nonces(h), before + 1);
	free(auth);
}

/* One authorization on two events sent together, the writer held so that they
 * share a batch: the first is decided, the second refused. */
static void test_reused_in_batch(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	size_t len;
	uint8_t *auth = authorize(M1, "cafe", 200, 300, &len);
	uint8_t *env[2];
	size_t env_len[2];
	for (int i = 0; i < 2; i++) {
		char id[32];
		snprintf(id, sizeof id, "batch-%d", i);
		pc_event *ev = with_auth(harness_redeem("cafe", id, M1, 110), auth, len);
		env[i] = harness_sign(h, "cafe", ev, &env_len[i]);
		harness_event_free(ev);
	}
	free(auth);

	struct harness_gate g;
	harness_hold_writer(h, &g, "gym", "batch-gate", M2);
	struct pc_client *c = harness_connect(h, "cafe");
	assert_int_equal(harness_send_all(c, env, env_len, 0, 2), 0);
	harness_release_writer(h, &g);
	struct harness_result r[2];
	for (int i = 0; i < 2; i++) {
		memset(&r[i], 0, sizeof r[i]);
		assert_int_equal(harness_read_answer(c, &r[i]), 0);
	}
	assert_int_equal(r[0].request_id, 1);
	harness_expect(h, &r[0], RECORDED, 0, APPROVED);
	harness_expect(h, &r[1], REJECTED, C(MEMBER_AUTH_REUSED), 0);
	for (int i = 0; i < 2; i++) {
		harness_result_free(&r[i]);
		free(env[i]);
	}
	pc_client_close(c);
	assert_int_equal(harness_sql_int64(h, "SELECT count(*) FROM ledger WHERE event_id = 'batch-1'",
	                                   NULL), 0);
}

/* Each way an authorization can be wrong has its own answer; none records. */
static void test_refusals(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	int64_t before = nonces(h);
	size_t len;
	uint8_t *a;

	a = authorize(M1, "cafe", 200, 300, &len);
	expect_refused(h, "gym", with_auth(harness_redeem("gym", "bad-merchant", M1, 150), a, len),
	               C(MEMBER_AUTH_MISMATCH));
	free(a);

	a = authorize(M1, "cafe", 50, 300, &len);
	expect_refused(h, "cafe", with_auth(harness_redeem("cafe", "bad-over", M1, 150), a, len),
	               C(MEMBER_AUTH_EXCEEDED));
	free(a);

	a = authorize(M1, "cafe", 200, -1, &len);
	expect_refused(h, "cafe", with_auth(harness_redeem("cafe", "bad-expired", M1, 150), a, len),
	               C(MEMBER_AUTH_EXPIRED));
	free(a);
	a = authorize(M1, "cafe", 200, 7200, &len);
	expect_refused(h, "cafe", with_auth(harness_hold("cafe", "bad-long", M1, 150, 0), a, len),
	               C(MEMBER_AUTH_EXPIRED));
	free(a);

	/* a flipped signature bit: the signature is the last 64 bytes */
	a = authorize(M1, "cafe", 200, 300, &len);
	a[len - 10] ^= 0x01;
	expect_refused(h, "cafe", with_auth(harness_redeem("cafe", "bad-sig", M1, 150), a, len),
	               C(MEMBER_AUTH_INVALID));
	free(a);

	/* signed for a member whose key this is not, known or not: one answer */
	a = authorize(NOBODY, "cafe", 200, 300, &len);
	expect_refused(h, "cafe", with_auth(harness_redeem("cafe", "bad-nobody", NOBODY, 150), a, len),
	               C(MEMBER_AUTH_INVALID));
	free(a);
	a = authorize(M2, "cafe", 200, 300, &len);
	expect_refused(h, "cafe", with_auth(harness_redeem("cafe", "bad-other", M2, 150), a, len),
	               C(MEMBER_AUTH_INVALID));
	free(a);

	/* only REDEEM and HOLD carry one */
	a = authorize(M1, "cafe", 200, 300, &len);
	expect_refused(h, "cafe", with_auth(harness_earn("cafe", "bad-earn", M1, 150), a, len),
	               C(INVALID_FIELD));
	free(a);
	assert_int_equal(nonces(h), before);
}

/* A decline with the member's authorization tells the balance, and spends it. */
static void test_decline_with_auth(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	size_t len;
	uint8_t *a = authorize(M1, "cafe", 1000000, 300, &len);
	int64_t before = nonces(h), balance = harness_balance(h, M1);
	Pointclear__V1__Decision d;
	expect_recorded(h, "cafe", with_auth(harness_redeem("cafe", "decl-auth", M1, 1000000), a, len),
	                DECLINED, C(INSUFFICIENT_POINTS), &d);
	assert_true(balance > 0);
	assert_int_equal(d.balance, balance);
	assert_int_equal(d.available, balance);
	assert_int_equal(nonces(h), before + 1);
	free(a);
}

/* A revoked device key signs nothing any more. */
static void test_revoked(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	char *out = NULL;
	harness_cli_ok(h, &out, "member", "revoke-device", HARNESS_ALLIANCE, M1, dev_id, NULL);
	free(out);
	size_t len;
	uint8_t *a = authorize(M1, "cafe", 200, 300, &len);
	expect_refused(h, "cafe", with_auth(harness_redeem("cafe", "rev-1", M1, 150), a, len),
	               C(MEMBER_AUTH_INVALID));
	free(a);
	harness_check_books(h);
}

static int setup(void **state)
{
	struct harness_opts o = {.name = "consent", .members = 3};
	struct harness *h = harness_new(&o);
	char *out = NULL, key[300], pub[300];
	if (!h || sodium_init() < 0)
		return -1;
	snprintf(dev_dir, sizeof dev_dir, "%s/device", h->tmp);
	harness_cli_ok(h, NULL, "member", "keygen", dev_dir, NULL);
	snprintf(key, sizeof key, "%s/device.key", dev_dir);
	snprintf(pub, sizeof pub, "%s/device.pub", dev_dir);
	harness_cli_ok(h, &out, "member", "add-device", HARNESS_ALLIANCE, M1, "--public-key", pub,
	               NULL);
	free(out);
	char err[256];
	if (pc_load_signing_key(key, dev_sk, dev_id, err, sizeof err) != 0)
		return -1;
	/* the daemon loads the key on NOTIFY; test_policy_off waits for a later one */
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	sodium_memzero(dev_sk, sizeof dev_sk);
	return harness_free(HARNESS_STATE(state));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_off),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_valid_then_reused),
		cmocka_unit_test(test_reused_in_batch),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_decline_with_auth),
		cmocka_unit_test(test_revoked),
	};
	return cmocka_run_group_tests_name("integration.member_consent", tests, setup, teardown);
}
