/* test_key_life.c - what becomes of keys, merchants and certificates after
 * `merchant add`, against the real daemon, database and TLS.
 *
 * A rotated key stays usable for its grace and is refused after it; bytes
 * recorded under a key are REPLAYED with the original receipt whatever became of
 * that key since (retired, past its grace, revoked), while anything new it signs
 * is refused and records nothing. revoke-key is immediate. A suspended merchant's
 * live connections are cut, new ones refused, and its events refused by the
 * database even when the daemon's cache has not heard of it yet. A revoked client
 * certificate cuts the live connection using it, without a restart, and cannot
 * connect again; a new certificate for the merchant works.
 *
 * The daemon reloads its key cache only on NOTIFY pc_keys here (the periodic
 * reload is an hour), so a change the owner makes without one is one the
 * daemon's cache has not seen. Nothing waits on a clock: the end of a grace is
 * set in the past by the owner, and every change the daemon must notice is
 * polled for. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libgen.h>
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
#define C(x) POINTCLEAR__V1__CODE__##x

/* ---------------------------------------------------------------- helpers */

/* An earn signed with the given key. */
static uint8_t *earn_with(const char *merchant, const char *event_id, const char *member,
                          int64_t points, const uint8_t sk[64], const char *key_id, size_t *len)
{
	pc_event *ev = harness_earn(merchant, event_id, member, points);
	size_t plen;
	uint8_t *payload = harness_event_pack(ev, &plen);
	uint8_t *env = harness_envelope(payload, plen, sk, key_id, len);
	free(payload);
	harness_event_free(ev);
	return env;
}

static void same_receipt(const struct harness_result *a, const struct harness_result *b)
{
	size_t la, lb;
	assert_non_null(a->res);
	assert_non_null(b->res);
	assert_non_null(a->res->receipt);
	assert_non_null(b->res->receipt);
	uint8_t *ra = pc_pack(&a->res->receipt->base, &la);
	uint8_t *rb = pc_pack(&b->res->receipt->base, &lb);
	assert_int_equal(la, lb);
	assert_memory_equal(ra, rb, la);
	free(ra);
	free(rb);
}

/* Sends env and expects a replay of first, with its receipt byte for byte. */
static void expect_replay(struct harness *h, const char *merchant, const uint8_t *env,
                          size_t len, const struct harness_result *first)
{
	struct harness_result r;
	harness_submit_envelope(h, merchant, env, len, &r);
	harness_expect(h, &r, REPLAYED, 0, APPROVED);
	same_receipt(first, &r);
	assert_true(harness_receipt_valid(h, &r));
	harness_result_free(&r);
}

static void expect_refused(struct harness *h, const char *merchant, const uint8_t *env,
                           size_t len, int code)
{
	int64_t n = harness_ledger_count(h);
	struct harness_result r;
	harness_submit_envelope(h, merchant, env, len, &r);
	harness_expect(h, &r, REJECTED, code, 0);
	harness_result_free(&r);
	assert_int_equal(harness_ledger_count(h), n);
}

/* Polls with fresh earns signed by a key until one gets `want`: the daemon has
 * reloaded. RECORDED is wanted as the disposition, any other code as a refusal. */
struct key_poll {
	const char *merchant;
	const uint8_t *sk;
	const char *key_id;
	int want;
	int n;
	int last;
};

static bool poll_key(struct harness *h, void *arg)
{
	struct key_poll *p = arg;
	char id[64], mem[16];
	snprintf(id, sizeof id, "poll-%s-%s-%d", p->merchant, p->key_id, ++p->n);
	size_t len;
	uint8_t *env = earn_with(p->merchant, id, harness_member(9, mem), 1, p->sk, p->key_id, &len);
	struct harness_result r;
	harness_submit_envelope(h, p->merchant, env, len, &r);
	p->last = r.disposition == RECORDED ? -1 : r.code;
	bool done = p->want == -1 ? r.disposition == RECORDED
	                          : (r.disposition == REJECTED && r.code == p->want);
	harness_result_free(&r);
	free(env);
	return done;
}

static void wait_key(struct harness *h, const char *merchant, const uint8_t *sk,
                     const char *key_id, int want, const char *what)
{
	struct key_poll p = {.merchant = merchant, .sk = sk, .key_id = key_id, .want = want};
	if (!harness_wait_until(h, 20000, poll_key, &p))
		harness_fail(h, "%s: still %s after 20 s", what,
		             p.last == -1 ? "RECORDED" : pc_code_name((pc_code)p.last));
}

/* The merchant's files, as the harness enrolled it. */
static void merchant_file(const struct harness_merchant *m, const char *name, char *out,
                          size_t len)
{
	char dir[sizeof m->cert];
	snprintf(dir, sizeof dir, "%s", m->cert);
	snprintf(out, len, "%s/%s", dirname(dir), name);
}

/* The daemon ended c: EOF (or a reset) on the next read, never a frame. */
static void expect_cut(struct harness *h, struct pc_client *c, const char *what)
{
	uint8_t type;
	uint64_t rid;
	uint8_t *body = NULL;
	size_t len = 0;
	int rc = pc_client_read_frame(c, &type, &rid, &body, &len);
	free(body);
	if (rc == 0)
		harness_fail(h, "%s: the connection is still served (frame type %u)", what, type);
}

static bool pong(struct pc_client *c, uint64_t rid)
{
	uint8_t type;
	uint64_t got;
	uint8_t *body = NULL;
	size_t len = 0;
	if (pc_client_send_frame(c, PC_MSG_PING, rid, NULL, 0) != 0)
		return false;
	int rc = pc_client_read_frame(c, &type, &got, &body, &len);
	free(body);
	return rc == 0 && type == PC_MSG_PONG && got == rid;
}

/* A connection with these files that is refused: at the handshake, or closed
 * before its first answer. */
static void expect_refused_connection(struct harness *h, const char *cert, const char *key,
                                      const char *what)
{
	char err[512];
	struct pc_client *c = harness_connect_raw(h, cert, key, 30000, err, sizeof err);
	if (!c)
		return;
	if (pong(c, 1))
		harness_fail(h, "%s: a new connection is served", what);
	pc_client_close(c);
}

struct conn_files {
	const char *cert, *key;
};

static bool connection_served(struct harness *h, void *arg)
{
	struct conn_files *f = arg;
	char err[512];
	struct pc_client *c = harness_connect_raw(h, f->cert, f->key, 10000, err, sizeof err);
	bool ok = c && pong(c, 7);
	if (c)
		pc_client_close(c);
	return ok;
}

/* ---------------------------------------------------------------- rotation */

static void test_rotation_grace_and_replay(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	struct harness_merchant *m = harness_merchant(h, "cafe");
	char mem[16], path[600], err[256];
	harness_member(1, mem);
	uint8_t old_sk[64];
	char old_id[17];
	memcpy(old_sk, m->sk, sizeof old_sk);
	memcpy(old_id, m->key_id, sizeof old_id);

	/* recorded under the key that will be rotated */
	size_t l1;
	uint8_t *e1 = earn_with("cafe", "kl-before", mem, 10, old_sk, old_id, &l1);
	struct harness_result first;
	harness_submit_envelope(h, "cafe", e1, l1, &first);
	harness_expect(h, &first, RECORDED, 0, APPROVED);

	harness_cli_ok(h, NULL, "merchant", "rotate-key", HARNESS_ALLIANCE, "cafe", "--grace",
	               "3600", NULL);
	merchant_file(m, "sign.key", path, sizeof path);
	if (pc_load_signing_key(path, m->sk, m->key_id, err, sizeof err) != 0)
		harness_fail(h, "loading %s: %s", path, err);
	assert_string_not_equal(m->key_id, old_id);
	wait_key(h, "cafe", m->sk, m->key_id, -1, "the new key after rotate-key");
	assert_int_equal(harness_sql_int64(h,
		"SELECT count(*) FROM merchant_keys WHERE key_id = $1 AND retired_at IS NOT NULL"
		" AND grace_until > now() + interval '50 minutes' AND revoked_at IS NULL",
		old_id, NULL), 1);

	/* within the grace the old key still signs new events */
	size_t l2;
	uint8_t *e2 = earn_with("cafe", "kl-in-grace", mem, 20, old_sk, old_id, &l2);
	struct harness_result second;
	harness_submit_envelope(h, "cafe", e2, l2, &second);
	harness_expect(h, &second, RECORDED, 0, APPROVED);
	expect_replay(h, "cafe", e1, l1, &first);

	/* the grace over (its end set in the past, as time would) */
	harness_sql_exec(h, "UPDATE merchant_keys SET grace_until = retired_at WHERE key_id = $1",
	                 old_id, NULL);
	/* the database refuses on its own clock, before the daemon has heard */
	size_t l3;
	uint8_t *e3 = earn_with("cafe", "kl-after-grace", mem, 30, old_sk, old_id, &l3);
	expect_refused(h, "cafe", e3, l3, C(KEY_REVOKED));
	harness_sql_exec(h, "NOTIFY pc_keys", NULL);
	wait_key(h, "cafe", old_sk, old_id, C(KEY_REVOKED), "the old key after its grace");
	expect_refused(h, "cafe", e3, l3, C(KEY_REVOKED));
	/* what it recorded is replayed, before and during the grace alike */
	expect_replay(h, "cafe", e1, l1, &first);
	expect_replay(h, "cafe", e2, l2, &second);
	/* another event under a recorded id is refused for the key, not a CONFLICT */
	size_t lc;
	uint8_t *ec = earn_with("cafe", "kl-before", mem, 99, old_sk, old_id, &lc);
	expect_refused(h, "cafe", ec, lc, C(KEY_REVOKED));
	/* and a signature that does not verify is refused as such */
	e1[l1 - 1] ^= 1;
	expect_refused(h, "cafe", e1, l1, C(BAD_SIGNATURE));
	e1[l1 - 1] ^= 1;

	/* revoked outright: still replayed */
	harness_cli_ok(h, NULL, "merchant", "revoke-key", HARNESS_ALLIANCE, "cafe", old_id, NULL);
	expect_replay(h, "cafe", e1, l1, &first);
	expect_replay(h, "cafe", e2, l2, &second);

	assert_int_equal(harness_balance(h, mem), 30);
	harness_result_free(&first);
	harness_result_free(&second);
	free(e1);
	free(e2);
	free(e3);
	free(ec);
	harness_check_books(h);
}

/* revoke-key takes effect at once (no grace), and the replay rule holds for it. */
static void test_revoke_key_immediate(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	struct harness_merchant *m = harness_merchant(h, "bookshop");
	char mem[16];
	harness_member(2, mem);
	size_t l1;
	uint8_t *e1 = earn_with("bookshop", "kr-1", mem, 5, m->sk, m->key_id, &l1);
	struct harness_result first;
	harness_submit_envelope(h, "bookshop", e1, l1, &first);
	harness_expect(h, &first, RECORDED, 0, APPROVED);

	harness_cli_ok(h, NULL, "merchant", "revoke-key", HARNESS_ALLIANCE, "bookshop", m->key_id,
	               NULL);
	/* the database refuses at once, whatever the daemon has heard so far */
	size_t l2;
	uint8_t *e2 = earn_with("bookshop", "kr-2", mem, 5, m->sk, m->key_id, &l2);
	expect_refused(h, "bookshop", e2, l2, C(KEY_REVOKED));
	wait_key(h, "bookshop", m->sk, m->key_id, C(KEY_REVOKED), "a revoked key");
	expect_replay(h, "bookshop", e1, l1, &first);
	assert_int_equal(harness_balance(h, mem), 5);
	harness_result_free(&first);
	free(e1);
	free(e2);
}

/* ---------------------------------------------------------------- suspension */

static void test_suspend_and_resume(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	struct harness_merchant *m = harness_merchant(h, "gym");
	char mem[16];
	harness_member(3, mem);
	struct harness_result r;

	/* suspended behind the daemon's back: the database refuses all the same */
	harness_sql_exec(h, "UPDATE merchants SET status = 'suspended' WHERE merchant_id = 'gym'",
	                 NULL);
	size_t l1;
	uint8_t *e1 = earn_with("gym", "sus-1", mem, 7, m->sk, m->key_id, &l1);
	expect_refused(h, "gym", e1, l1, C(MERCHANT_INACTIVE));
	harness_sql_exec(h, "UPDATE merchants SET status = 'active' WHERE merchant_id = 'gym'",
	                 NULL);
	harness_submit_envelope(h, "gym", e1, l1, &r);
	harness_expect(h, &r, RECORDED, 0, APPROVED);
	harness_result_free(&r);

	/* a live connection, cut by the suspension */
	struct pc_client *live = harness_connect(h, "gym");
	assert_true(pong(live, 1));
	int before = harness_log_count(h, "reason=\"merchant_suspended\"");
	harness_cli_ok(h, NULL, "merchant", "suspend", HARNESS_ALLIANCE, "gym", NULL);
	expect_cut(h, live, "a suspended merchant's live connection");
	pc_client_close(live);
	harness_drop_connections(h, "gym");
	assert_true(harness_log_count(h, "reason=\"merchant_suspended\"") > before);
	expect_refused_connection(h, m->cert, m->key, "a suspended merchant");
	assert_int_equal(harness_sql_int64(h, "SELECT count(*) FROM merchants WHERE merchant_id ="
	                                      " 'gym' AND status = 'suspended'", NULL), 1);

	harness_cli_ok(h, NULL, "merchant", "resume", HARNESS_ALLIANCE, "gym", NULL);
	struct conn_files f = {m->cert, m->key};
	if (!harness_wait_until(h, 20000, connection_served, &f))
		harness_fail(h, "a resumed merchant still cannot connect after 20 s");
	size_t l2;
	uint8_t *e2 = earn_with("gym", "sus-2", mem, 8, m->sk, m->key_id, &l2);
	harness_submit_envelope(h, "gym", e2, l2, &r);
	harness_expect(h, &r, RECORDED, 0, APPROVED);
	harness_result_free(&r);
	assert_int_equal(harness_balance(h, mem), 15);
	free(e1);
	free(e2);
}

/* ---------------------------------------------------------------- certificates */

static void test_revoke_cert(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	struct harness_merchant *m = harness_merchant(h, "airline");
	char mem[16], old_cert[600], old_key[600];
	harness_member(4, mem);

	/* merchant add recorded the certificate it issued */
	assert_int_equal(harness_sql_int64(h, "SELECT count(*) FROM merchant_certs"
	                                      " WHERE merchant_id = 'airline' AND revoked_at IS NULL",
	                                      NULL), 1);
	/* keep the old files: issue-cert replaces them */
	snprintf(old_cert, sizeof old_cert, "%s/old-airline.crt", h->tmp);
	snprintf(old_key, sizeof old_key, "%s/old-airline.key", h->tmp);
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "cp -p '%s' '%s' && cp -p '%s' '%s'", m->cert, old_cert, m->key,
	         old_key);
	assert_int_equal(system(cmd), 0);

	struct pc_client *live = harness_connect(h, "airline");
	assert_true(pong(live, 1));
	int before = harness_log_count(h, "reason=\"cert_revoked\"");
	harness_cli_ok(h, NULL, "merchant", "revoke-cert", HARNESS_ALLIANCE, "airline", NULL);
	expect_cut(h, live, "the live connection of a revoked certificate");
	pc_client_close(live);
	harness_drop_connections(h, "airline");
	assert_true(harness_log_count(h, "reason=\"cert_revoked\"") > before);
	expect_refused_connection(h, old_cert, old_key, "a revoked certificate");
	/* revoking it again changes nothing and says so */
	harness_cli_ok(h, NULL, "merchant", "revoke-cert", HARNESS_ALLIANCE, "airline", NULL);

	/* a new certificate for the merchant is served; the old one stays refused */
	harness_cli_ok(h, NULL, "merchant", "issue-cert", HARNESS_ALLIANCE, "airline", NULL);
	struct conn_files f = {m->cert, m->key};
	if (!harness_wait_until(h, 20000, connection_served, &f))
		harness_fail(h, "the new certificate cannot connect after 20 s");
	expect_refused_connection(h, old_cert, old_key, "the revoked certificate after issue-cert");
	struct harness_result r;
	pc_event *ev = harness_earn("airline", "cert-1", mem, 3);
	harness_submit(h, "airline", ev, &r);
	harness_expect(h, &r, RECORDED, 0, APPROVED);
	harness_result_free(&r);
	harness_event_free(ev);

	/* bad input: a serial that is not one, another merchant's serial */
	char *out = NULL;
	assert_int_not_equal(harness_cli(h, &out, "merchant", "revoke-cert", HARNESS_ALLIANCE,
	                                 "airline", "not-hex", NULL), 0);
	free(out);
	char serial[64];
	harness_sql_text(h, serial, sizeof serial,
	                 "SELECT serial FROM merchant_certs WHERE merchant_id = 'cafe'", NULL);
	assert_int_not_equal(harness_cli(h, &out, "merchant", "revoke-cert", HARNESS_ALLIANCE,
	                                 "airline", serial, NULL), 0);
	free(out);
	assert_int_equal(harness_sql_int64(h, "SELECT count(*) FROM merchant_certs"
	                                      " WHERE merchant_id = 'cafe' AND revoked_at IS NOT NULL",
	                                      NULL), 0);

	/* a serial as `openssl x509 -text` shows it (lower case, colons) names the
	 * same certificate: the new one is revoked, no row is added */
	harness_sql_text(h, serial, sizeof serial,
	                 "SELECT lower(regexp_replace(serial, '(..)(?!$)', '\\1:', 'g'))"
	                 " FROM merchant_certs WHERE merchant_id = 'airline' AND revoked_at IS NULL",
	                 NULL);
	harness_cli_ok(h, NULL, "merchant", "revoke-cert", HARNESS_ALLIANCE, "airline", serial,
	               NULL);
	assert_int_equal(harness_sql_int64(h, "SELECT count(*) FROM merchant_certs"
	                                      " WHERE merchant_id = 'airline' AND revoked_at IS NULL",
	                                      NULL), 0);
	assert_int_equal(harness_sql_int64(h, "SELECT count(*) FROM merchant_certs"
	                                      " WHERE merchant_id = 'airline'", NULL), 2);
}

static int setup(void **state)
{
	struct harness_opts o = {.name = "key_life", .merchants = 4, .members = 10,
	                         .daemon_args = {"--key-reload-ms", "3600000", NULL}};
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
		cmocka_unit_test(test_rotation_grace_and_replay),
		cmocka_unit_test(test_revoke_key_immediate),
		cmocka_unit_test(test_suspend_and_resume),
		cmocka_unit_test(test_revoke_cert),
	};
	return cmocka_run_group_tests_name("integration.key_life", tests, setup, teardown);
}
