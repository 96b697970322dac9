/* test_bad_input.c - every kind of bad input gets its own code and changes nothing.
 *
 * Frame errors come back as PROTOCOL_ERROR frames; refusals before a decision as
 * REJECTED (nothing recorded); business declines as RECORDED/DECLINED (one ledger
 * entry, no postings, no balance moved). One daemon serves the whole group,
 * started with --frame-timeout-ms 1000 for the slow-client cases. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "pointclear/codec.h"
#include "pointclear/frame.h"
#include "pointclear/sign.h"

#include "harness.h"

#define RECORDED POINTCLEAR__V1__DISPOSITION__RECORDED
#define REJECTED POINTCLEAR__V1__DISPOSITION__REJECTED
#define APPROVED POINTCLEAR__V1__STATUS__APPROVED
#define DECLINED POINTCLEAR__V1__STATUS__DECLINED
#define C(x) POINTCLEAR__V1__CODE__##x

/* What "changes nothing" is measured by. */
struct snap {
	int64_t ledger, postings, balances, held, holds_active;
};

static struct snap take(struct harness *h)
{
	struct snap s;
	s.ledger = harness_ledger_count(h);
	s.postings = harness_sql_int64(h, "SELECT count(*) FROM postings", NULL);
	s.balances = harness_sql_int64(h, "SELECT coalesce(sum(abs(balance)), 0) FROM members", NULL);
	s.held = harness_sql_int64(h, "SELECT coalesce(sum(held), 0) FROM members", NULL);
	s.holds_active = harness_sql_int64(h, "SELECT count(*) FROM holds WHERE state = 1", NULL);
	return s;
}

static void same_except_ledger(const struct snap *a, const struct snap *b, int64_t ledger_delta)
{
	assert_int_equal(b->ledger, a->ledger + ledger_delta);
	assert_int_equal(b->postings, a->postings);
	assert_int_equal(b->balances, a->balances);
	assert_int_equal(b->held, a->held);
	assert_int_equal(b->holds_active, a->holds_active);
}

/* Submits a ready envelope as merchant; expects REJECTED code; nothing changes. */
static void rejected_env(struct harness *h, const char *merchant, uint8_t *env, size_t len,
                         int code)
{
	struct snap a = take(h);
	struct harness_result r;
	harness_submit_envelope(h, merchant, env, len, &r);
	harness_expect(h, &r, REJECTED, code, 0);
	assert_null(r.res->receipt);
	harness_result_free(&r);
	struct snap b = take(h);
	same_except_ledger(&a, &b, 0);
	free(env);
}

/* Signs ev with signer's key, submits on merchant's connection, expects REJECTED. */
static void rejected(struct harness *h, const char *merchant, const char *signer, pc_event *ev,
                     int code)
{
	size_t len;
	uint8_t *env = harness_sign(h, signer, ev, &len);
	harness_event_free(ev);
	rejected_env(h, merchant, env, len, code);
}

/* Expects a decision recorded as DECLINED with code: one ledger entry, nothing moved. */
static void declined(struct harness *h, const char *merchant, pc_event *ev, int code)
{
	struct snap a = take(h);
	struct harness_result r;
	harness_submit(h, merchant, ev, &r);
	harness_expect(h, &r, RECORDED, code, DECLINED);
	assert_true(harness_receipt_valid(h, &r));
	assert_true(harness_leaf_valid(h, &r));
	char seq[32], cd[16];
	snprintf(seq, sizeof seq, "%" PRIu64, r.seq);
	snprintf(cd, sizeof cd, "%d", code);
	assert_int_equal(harness_sql_int64(h,
		"SELECT count(*) FROM ledger WHERE seq = $1 AND status = 2 AND code = $2",
		seq, cd, NULL), 1);
	harness_result_free(&r);
	harness_event_free(ev);
	struct snap b = take(h);
	same_except_ledger(&a, &b, 1);
}

static uint64_t approved(struct harness *h, const char *merchant, pc_event *ev)
{
	struct harness_result r;
	harness_submit(h, merchant, ev, &r);
	harness_expect(h, &r, RECORDED, 0, APPROVED);
	uint64_t seq = r.seq;
	harness_result_free(&r);
	harness_event_free(ev);
	return seq;
}

/* ---------------------------------------------------------------- raw frames */

static void put_header(uint8_t *p, uint32_t length, uint8_t type, uint64_t rid)
{
	p[0] = (uint8_t)(length >> 24);
	p[1] = (uint8_t)(length >> 16);
	p[2] = (uint8_t)(length >> 8);
	p[3] = (uint8_t)length;
	p[4] = type;
	for (int i = 0; i < 8; i++)
		p[5 + i] = (uint8_t)(rid >> (56 - 8 * i));
}

/* Reads one frame; expects a PROTOCOL_ERROR with code and request id. */
static void expect_protocol_error(struct harness *h, struct pc_client *c, int code, uint64_t rid)
{
	uint8_t type;
	uint64_t got_rid;
	uint8_t *body = NULL;
	size_t len = 0;
	int rc = pc_client_read_frame(c, &type, &got_rid, &body, &len);
	if (rc != 0)
		harness_fail(h, "expected PROTOCOL_ERROR %s, got %s", pc_code_name((pc_code)code),
		             rc > 0 ? "EOF" : "a read error or timeout");
	if (type != PC_MSG_PROTOCOL_ERROR)
		harness_fail(h, "expected PROTOCOL_ERROR %s, got frame type 0x%02x",
		             pc_code_name((pc_code)code), type);
	Pointclear__V1__ProtocolError *pe = pc_protocol_error_unpack(body ? body : (uint8_t *)"", len);
	assert_non_null(pe);
	if ((int)pe->code != code)
		harness_fail(h, "expected PROTOCOL_ERROR %s, got %s (%s)", pc_code_name((pc_code)code),
		             pc_code_name(pe->code), pe->message);
	assert_int_equal(got_rid, rid);
	pc_protocol_error_free(pe);
	free(body);
}

/* The daemon closed the connection: the next read is EOF (or an error, never a frame). */
static void expect_closed(struct pc_client *c)
{
	uint8_t type;
	uint64_t rid;
	uint8_t *body = NULL;
	size_t len = 0;
	int rc = pc_client_read_frame(c, &type, &rid, &body, &len);
	free(body);
	assert_int_not_equal(rc, 0);
}

static void ping_pong(struct harness *h, struct pc_client *c, uint64_t rid)
{
	assert_int_equal(pc_client_send_frame(c, PC_MSG_PING, rid, NULL, 0), 0);
	uint8_t type;
	uint64_t got;
	uint8_t *body = NULL;
	size_t len = 0;
	int rc = pc_client_read_frame(c, &type, &got, &body, &len);
	free(body);
	if (rc != 0)
		harness_fail(h, "PING %" PRIu64 ": no PONG (%s)", rid, rc > 0 ? "EOF" : "error");
	assert_int_equal(type, PC_MSG_PONG);
	assert_int_equal(got, rid);
}

static void test_malformed_frame(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	struct snap a = take(h);
	struct pc_client *c = harness_connect(h, "cafe");
	uint8_t buf[PC_FRAME_HEADER_SIZE];
	put_header(buf, 5, PC_MSG_SUBMIT, 99);   /* L = 5 < 9: the length and 5 more bytes */
	assert_int_equal(pc_client_send_raw(c, buf, 4 + 5), 0);
	expect_protocol_error(h, c, C(MALFORMED_FRAME), 0);
	expect_closed(c);
	pc_client_close(c);
	struct snap b = take(h);
	same_except_ledger(&a, &b, 0);
}

/* Requests read before a frame error are still answered before the goodbye: they
 * may be recorded, and an answer sent after close_notify is never read. The
 * writer is held so that all of them are still in flight at the error. */
static void test_answers_before_goodbye(void **state)
{
	enum { N = 4 };
	struct harness *h = HARNESS_STATE(state);
	int64_t ledger = harness_ledger_count(h);
	struct harness_gate gate;
	uint8_t *env[N];
	size_t len[N];
	bool answered[N + 1] = {false};

	harness_hold_writer(h, &gate, "cafe", "bad-drain-gate", "m000001");
	struct pc_client *c = harness_connect(h, "cafe");
	for (int i = 0; i < N; i++) {
		char id[32];
		snprintf(id, sizeof id, "bad-drain-%d", i);
		env[i] = harness_signed_earn(h, "cafe", id, "m000001", 10, &len[i]);
	}
	assert_int_equal(harness_send_all(c, env, len, 0, N), 0);
	uint8_t buf[PC_FRAME_HEADER_SIZE];
	put_header(buf, 5, PC_MSG_SUBMIT, 99);
	assert_int_equal(pc_client_send_raw(c, buf, 4 + 5), 0);
	expect_protocol_error(h, c, C(MALFORMED_FRAME), 0);

	harness_release_writer(h, &gate);
	for (int i = 0; i < N; i++) {
		struct harness_result r = {0};
		int rc = harness_read_answer(c, &r);
		if (rc != 0)
			harness_fail(h, "answer %d of %d: %s before it", i + 1, N,
			             rc > 0 ? "the goodbye came" : "a read error");
		assert_true(r.request_id >= 1 && r.request_id <= N && !answered[r.request_id]);
		answered[r.request_id] = true;
		harness_expect(h, &r, RECORDED, 0, APPROVED);
		harness_result_free(&r);
	}
	expect_closed(c);
	pc_client_close(c);
	for (int i = 0; i < N; i++)
		free(env[i]);
	assert_int_equal(harness_ledger_count(h), ledger + N + 1);
}

static void test_frame_too_large(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	struct snap a = take(h);
	struct pc_client *c = harness_connect(h, "cafe");
	uint8_t hdr[PC_FRAME_HEADER_SIZE];
	put_header(hdr, PC_FRAME_MAX_LENGTH + 1, PC_MSG_SUBMIT, 77);
	/* the header alone: the daemon must answer before any body arrives */
	assert_int_equal(pc_client_send_raw(c, hdr, sizeof hdr), 0);
	expect_protocol_error(h, c, C(FRAME_TOO_LARGE), 77);
	expect_closed(c);
	pc_client_close(c);
	struct snap b = take(h);
	same_except_ledger(&a, &b, 0);
}

/* The largest frame is accepted as a frame (its garbage body is then a bad envelope). */
static void test_largest_frame(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	size_t blen = PC_FRAME_MAX_BODY;
	uint8_t *body = malloc(blen);
	assert_non_null(body);
	memset(body, 0xff, blen);
	rejected_env(h, "cafe", body, blen, C(BAD_ENVELOPE));
}

static void test_unknown_message_type(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	struct snap a = take(h);
	struct pc_client *c = harness_connect(h, "cafe");
	assert_int_equal(pc_client_send_frame(c, 0x33, 5, (const uint8_t *)"abc", 3), 0);
	expect_protocol_error(h, c, C(UNKNOWN_MESSAGE_TYPE), 5);
	ping_pong(h, c, 6);   /* the connection stays usable */
	pc_client_close(c);
	struct snap b = take(h);
	same_except_ledger(&a, &b, 0);
}

static void test_bad_envelope(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	uint8_t *env = malloc(3);
	assert_non_null(env);
	memset(env, 0xff, 3);
	rejected_env(h, "cafe", env, 3, C(BAD_ENVELOPE));
}

static void test_bad_payload(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	struct harness_merchant *m = harness_merchant(h, "cafe");
	uint8_t junk[8];
	memset(junk, 0xff, sizeof junk);
	size_t len;
	uint8_t *env = harness_envelope(junk, sizeof junk, m->sk, m->key_id, &len);
	rejected_env(h, "cafe", env, len, C(BAD_PAYLOAD));

	/* an Event that parses but has no body */
	pc_event *ev = harness_earn("cafe", "bad-nobody", "m000001", 10);
	protobuf_c_message_free_unpacked(&ev->earn->base, NULL);
	ev->earn = NULL;
	ev->body_case = POINTCLEAR__V1__EVENT__BODY__NOT_SET;
	rejected(h, "cafe", "cafe", ev, C(BAD_PAYLOAD));
}

/* Concatenates two encodings: protobuf merges them into the same Event, but the
 * bytes are not the canonical form. */
static void non_canonical(struct harness *h, pc_event *first, pc_event *second)
{
	struct harness_merchant *m = harness_merchant(h, "cafe");
	size_t l1, l2, len;
	uint8_t *p1 = harness_event_pack(first, &l1);
	uint8_t *p2 = harness_event_pack(second, &l2);
	uint8_t *payload = malloc(l1 + l2);
	assert_non_null(payload);
	memcpy(payload, p1, l1);
	memcpy(payload + l1, p2, l2);
	uint8_t *env = harness_envelope(payload, l1 + l2, m->sk, m->key_id, &len);
	free(p1);
	free(p2);
	free(payload);
	harness_event_free(first);
	harness_event_free(second);
	rejected_env(h, "cafe", env, len, C(NON_CANONICAL));
}

static void test_non_canonical(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	/* fields out of order: alliance_id (1) after the body (10) */
	pc_event *rest = harness_earn("cafe", "bad-noncanon-1", "m000001", 10);
	harness_set_str(&rest->alliance_id, "");
	pc_event *alliance = harness_earn("cafe", "x", "m000001", 10);
	harness_set_str(&alliance->merchant_id, "");
	harness_set_str(&alliance->event_id, "");
	harness_set_str(&alliance->store_id, "");
	harness_set_str(&alliance->terminal_id, "");
	alliance->event_time_us = 0;
	protobuf_c_message_free_unpacked(&alliance->earn->base, NULL);
	alliance->earn = NULL;
	alliance->body_case = POINTCLEAR__V1__EVENT__BODY__NOT_SET;
	non_canonical(h, rest, alliance);

	/* a field repeated with the same value */
	pc_event *whole = harness_earn("cafe", "bad-noncanon-2", "m000001", 10);
	pc_event *again = harness_earn("cafe", "bad-noncanon-2", "m000001", 10);
	harness_set_str(&again->alliance_id, "");
	harness_set_str(&again->merchant_id, "");
	harness_set_str(&again->store_id, "");
	harness_set_str(&again->terminal_id, "");
	again->event_time_us = 0;
	protobuf_c_message_free_unpacked(&again->earn->base, NULL);
	again->earn = NULL;
	again->body_case = POINTCLEAR__V1__EVENT__BODY__NOT_SET;
	non_canonical(h, whole, again);
}

static void test_bad_signature(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	struct harness_merchant *m = harness_merchant(h, "cafe");
	pc_event *ev = harness_earn("cafe", "bad-sig-1", "m000001", 10);
	size_t plen, len;
	uint8_t *payload = harness_event_pack(ev, &plen);
	uint8_t sig[PC_SIG_SIZE];
	assert_int_equal(pc_sign(sig, PC_EVENT_PAYLOAD_TYPE, payload, plen, m->sk), 0);
	sig[10] ^= 0x01;
	Pointclear__V1__SignedEvent se = POINTCLEAR__V1__SIGNED_EVENT__INIT;
	se.payload.data = payload;
	se.payload.len = plen;
	se.key_id = m->key_id;
	se.signature.data = sig;
	se.signature.len = sizeof sig;
	uint8_t *env = pc_pack(&se.base, &len);
	free(payload);
	harness_event_free(ev);
	rejected_env(h, "cafe", env, len, C(BAD_SIGNATURE));

	/* a signature over other bytes (another event) */
	pc_event *other = harness_earn("cafe", "bad-sig-2", "m000001", 11);
	pc_event *sent = harness_earn("cafe", "bad-sig-2", "m000001", 12);
	uint8_t *p_other = harness_event_pack(other, &plen);
	assert_int_equal(pc_sign(sig, PC_EVENT_PAYLOAD_TYPE, p_other, plen, m->sk), 0);
	payload = harness_event_pack(sent, &plen);
	se.payload.data = payload;
	se.payload.len = plen;
	env = pc_pack(&se.base, &len);
	free(p_other);
	free(payload);
	harness_event_free(other);
	harness_event_free(sent);
	rejected_env(h, "cafe", env, len, C(BAD_SIGNATURE));
}

static void test_unknown_key(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	uint8_t pk[32], sk[64];
	char kid[17];
	crypto_sign_keypair(pk, sk);
	pc_key_id(kid, pk);
	pc_event *ev = harness_earn("cafe", "bad-key-1", "m000001", 10);
	size_t plen, len;
	uint8_t *payload = harness_event_pack(ev, &plen);
	uint8_t *env = harness_envelope(payload, plen, sk, kid, &len);
	free(payload);
	harness_event_free(ev);
	rejected_env(h, "cafe", env, len, C(UNKNOWN_KEY));
}

struct key_poll {
	const char *merchant;
	const uint8_t *sk;
	const char *key_id;
	int want;
	int n;
	int last_code;
};

/* Submits a fresh earn signed with the poll's key; true once it gets `want`. */
static bool poll_key(struct harness *h, void *arg)
{
	struct key_poll *p = arg;
	char id[64];
	snprintf(id, sizeof id, "keypoll-%s-%d", p->merchant, ++p->n);
	pc_event *ev = harness_earn(p->merchant, id, "m000010", 1);
	size_t plen, len;
	uint8_t *payload = harness_event_pack(ev, &plen);
	uint8_t *env = harness_envelope(payload, plen, p->sk, p->key_id, &len);
	struct harness_result r;
	harness_submit_envelope(h, p->merchant, env, len, &r);
	p->last_code = r.code;
	bool done = r.disposition == REJECTED && r.code == p->want;
	harness_result_free(&r);
	free(env);
	free(payload);
	harness_event_free(ev);
	return done;
}

static void test_key_not_yet_valid(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	uint8_t pk[32], sk[64];
	char kid[17], pkhex[65];
	crypto_sign_keypair(pk, sk);
	pc_key_id(kid, pk);
	for (int i = 0; i < 32; i++)
		snprintf(pkhex + 2 * i, 3, "%02x", pk[i]);
	harness_sql_exec(h,
		"INSERT INTO merchant_keys (alliance_id, key_id, merchant_id, public_key, valid_from) "
		"VALUES ($1, $2, 'bookshop', decode($3, 'hex'), now() + interval '1 hour')",
		HARNESS_ALLIANCE, kid, pkhex, NULL);
	harness_sql_exec(h, "NOTIFY pc_keys", NULL);
	struct key_poll p = {.merchant = "bookshop", .sk = sk, .key_id = kid,
	                     .want = C(KEY_NOT_YET_VALID)};
	if (!harness_wait_until(h, 10000, poll_key, &p))
		harness_fail(h, "a key valid from in an hour still gives %s after 10 s",
		             pc_code_name((pc_code)p.last_code));
	/* and once it is known, it changes nothing */
	struct snap a = take(h);
	assert_true(poll_key(h, &p));
	struct snap b = take(h);
	same_except_ledger(&a, &b, 0);
}

static void test_wrong_merchant(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	/* the gym's event, signed by the gym, on the cafe's connection */
	rejected(h, "cafe", "gym", harness_earn("gym", "bad-wm-1", "m000001", 10),
	         C(WRONG_MERCHANT));
	/* the cafe's event signed with the gym's key */
	rejected(h, "cafe", "gym", harness_earn("cafe", "bad-wm-2", "m000001", 10),
	         C(WRONG_MERCHANT));
	/* the gym's event signed with the cafe's key, on the cafe's connection */
	rejected(h, "cafe", "cafe", harness_earn("gym", "bad-wm-3", "m000001", 10),
	         C(WRONG_MERCHANT));
}

static void test_unknown_alliance(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	pc_event *ev = harness_earn("cafe", "bad-alliance-1", "m000001", 10);
	harness_set_str(&ev->alliance_id, "no-such-alliance");
	rejected(h, "cafe", "cafe", ev, C(UNKNOWN_ALLIANCE));
}

static void test_unknown_member(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	rejected(h, "cafe", "cafe", harness_earn("cafe", "bad-member-1", "nobody-here", 10),
	         C(UNKNOWN_MEMBER));
	rejected(h, "gym", "gym", harness_redeem("gym", "bad-member-2", "nobody-here", 10),
	         C(UNKNOWN_MEMBER));
}

static void test_fields(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	pc_event *ev = harness_earn("cafe", "bad-field-1", "m000001", 10);
	harness_set_str(&ev->store_id, "");
	rejected(h, "cafe", "cafe", ev, C(MISSING_FIELD));
	ev = harness_earn("cafe", "bad-field-2", "", 10);
	rejected(h, "cafe", "cafe", ev, C(MISSING_FIELD));
	ev = harness_earn("cafe", "bad/field 3", "m000001", 10);
	rejected(h, "cafe", "cafe", ev, C(INVALID_FIELD));
	ev = harness_purchase("cafe", "bad-field-4", "m000001", 1000, "USD");
	rejected(h, "cafe", "cafe", ev, C(INVALID_FIELD));
}

static void test_event_time(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	pc_event *ev = harness_earn("cafe", "bad-time-1", "m000001", 10);
	ev->event_time_us = harness_now_us() + INT64_C(600) * 1000000;   /* window: 300 s */
	rejected(h, "cafe", "cafe", ev, C(EVENT_TIME_IN_FUTURE));
	ev = harness_earn("cafe", "bad-time-2", "m000001", 10);
	ev->event_time_us = harness_now_us() - INT64_C(8) * 86400 * 1000000;   /* 7 days */
	rejected(h, "cafe", "cafe", ev, C(EVENT_TIME_TOO_OLD));
}

static void test_invalid_amount(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	rejected(h, "cafe", "cafe", harness_earn("cafe", "bad-amount-1", "m000001", 0),
	         C(INVALID_AMOUNT));
	rejected(h, "cafe", "cafe", harness_earn("cafe", "bad-amount-2", "m000001", -5),
	         C(INVALID_AMOUNT));
	rejected(h, "gym", "gym", harness_redeem("gym", "bad-amount-3", "m000001", -1),
	         C(INVALID_AMOUNT));
	rejected(h, "gym", "gym", harness_hold("gym", "bad-amount-4", "m000001", 0, 60),
	         C(INVALID_AMOUNT));
}

static void test_amount_too_large(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	rejected(h, "cafe", "cafe",
	         harness_earn("cafe", "bad-large-1", "m000009", INT64_C(1000000000001)),
	         C(AMOUNT_TOO_LARGE));
	rejected(h, "cafe", "cafe", harness_earn("cafe", "bad-large-2", "m000009", INT64_MAX),
	         C(AMOUNT_TOO_LARGE));
	/* the largest amount itself is fine */
	approved(h, "cafe", harness_earn("cafe", "large-ok", "m000009", INT64_C(1000000000000)));
	assert_int_equal(harness_balance(h, "m000009"), INT64_C(1000000000000));
}

static void test_insufficient_points(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	approved(h, "cafe", harness_earn("cafe", "od-earn", "m000002", 100));
	declined(h, "gym", harness_redeem("gym", "od-redeem", "m000002", 150),
	         C(INSUFFICIENT_POINTS));
	declined(h, "gym", harness_hold("gym", "od-hold", "m000002", 101, 60),
	         C(INSUFFICIENT_POINTS));
	assert_int_equal(harness_balance(h, "m000002"), 100);
	assert_int_equal(harness_held(h, "m000002"), 0);
}

static void test_holds(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	const char *mem = "m000003";
	approved(h, "cafe", harness_earn("cafe", "h-earn", mem, 200));
	approved(h, "bookshop", harness_hold("bookshop", "h-hold-1", mem, 100, 600));
	declined(h, "bookshop", harness_capture("bookshop", "h-cap-1", "h-hold-1", 150),
	         C(HOLD_EXCEEDED));
	assert_int_equal(harness_held(h, mem), 100);
	approved(h, "bookshop", harness_void("bookshop", "h-void-1", "h-hold-1"));
	declined(h, "bookshop", harness_capture("bookshop", "h-cap-2", "h-hold-1", 50),
	         C(HOLD_VOIDED));
	declined(h, "bookshop", harness_void("bookshop", "h-void-2", "h-hold-1"), C(HOLD_VOIDED));
	declined(h, "bookshop", harness_capture("bookshop", "h-cap-3", "no-such-hold", 5),
	         C(HOLD_NOT_FOUND));
	declined(h, "bookshop", harness_void("bookshop", "h-void-3", "no-such-hold"),
	         C(HOLD_NOT_FOUND));
	assert_int_equal(harness_balance(h, mem), 200);
	assert_int_equal(harness_held(h, mem), 0);
}

static bool nothing_held(struct harness *h, void *arg)
{
	return harness_held(h, arg) == 0;
}

static void test_hold_expired(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	const char *mem = "m000005";
	approved(h, "cafe", harness_earn("cafe", "hx-earn", mem, 80));
	approved(h, "bookshop", harness_hold("bookshop", "hx-hold", mem, 50, 1));
	/* the sweep (every second) releases it; declined() then holds the capture to
	 * changing nothing (a capture that meets it first releases it itself, which
	 * tests/sql/test_schema.sql covers) */
	assert_true(harness_wait_until(h, 10000, nothing_held, (void *)mem));
	declined(h, "bookshop", harness_capture("bookshop", "hx-cap", "hx-hold", 10),
	         C(HOLD_EXPIRED));
	assert_int_equal(harness_balance(h, mem), 80);
	assert_int_equal(harness_held(h, mem), 0);
}

static void test_reversals(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	const char *mem = "m000004";
	uint64_t earn = approved(h, "cafe", harness_earn("cafe", "r-earn", mem, 100));
	approved(h, "cafe", harness_reversal("cafe", "r-rev-1", "r-earn", 60));
	declined(h, "cafe", harness_reversal("cafe", "r-rev-2", "r-earn", 50),
	         C(REVERSAL_EXCEEDS_REMAINING));
	assert_int_equal(harness_balance(h, mem), 40);
	/* another merchant's event, by sequence */
	declined(h, "gym", harness_reversal_seq("gym", "r-rev-3", earn, 10), C(FOREIGN_EVENT));
	declined(h, "gym", harness_reversal("gym", "r-rev-4", "no-such-event", 10),
	         C(ORIGINAL_NOT_FOUND));
	/* a hold is not reversible */
	approved(h, "cafe", harness_hold("cafe", "r-hold", mem, 10, 600));
	declined(h, "cafe", harness_reversal("cafe", "r-rev-5", "r-hold", 5), C(NOT_REVERSIBLE));
	approved(h, "cafe", harness_void("cafe", "r-void", "r-hold"));
	assert_int_equal(harness_balance(h, mem), 40);
}

static void test_conflict(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	const char *mem = "m000006";
	uint64_t seq = approved(h, "cafe", harness_earn("cafe", "c-1", mem, 10));
	struct snap a = take(h);
	struct harness_result r;
	pc_event *ev = harness_earn("cafe", "c-1", mem, 20);
	harness_submit(h, "cafe", ev, &r);
	harness_event_free(ev);
	harness_expect(h, &r, REJECTED, C(CONFLICT), 0);
	assert_int_equal(r.res->original_sequence, seq);
	harness_result_free(&r);
	struct snap b = take(h);
	same_except_ledger(&a, &b, 0);
	assert_int_equal(harness_balance(h, mem), 10);
}

static void test_key_revoked(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	struct harness_merchant *m = harness_merchant(h, "airline");
	approved(h, "airline", harness_earn("airline", "kr-before", "m000007", 5));
	harness_cli_ok(h, NULL, "merchant", "revoke-key", HARNESS_ALLIANCE, "airline", m->key_id,
	               NULL);
	struct key_poll p = {.merchant = "airline", .sk = m->sk, .key_id = m->key_id,
	                     .want = C(KEY_REVOKED)};
	if (!harness_wait_until(h, 10000, poll_key, &p))
		harness_fail(h, "a revoked key still gives %s after 10 s",
		             pc_code_name((pc_code)p.last_code));
	struct snap a = take(h);
	assert_true(poll_key(h, &p));
	struct snap b = take(h);
	same_except_ledger(&a, &b, 0);
}

static void test_no_client_certificate(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	char err[512];
	struct pc_client *c = harness_connect_raw(h, NULL, NULL, 5000, err, sizeof err);
	if (!c)
		return;   /* refused during the handshake */
	/* TLS 1.3: the refusal arrives on the first read; never a PONG */
	if (pc_client_send_frame(c, PC_MSG_PING, 1, NULL, 0) == 0)
		expect_closed(c);
	pc_client_close(c);
}

/* A certificate from another CA (the operator's TLS CA signs only the server). */
static void test_foreign_certificate(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	char cert[256], key[256], err[512];
	snprintf(cert, sizeof cert, "%s/tls/server.crt", h->home);
	snprintf(key, sizeof key, "%s/tls/server.key", h->home);
	struct pc_client *c = harness_connect_raw(h, cert, key, 5000, err, sizeof err);
	if (!c)
		return;
	if (pc_client_send_frame(c, PC_MSG_PING, 1, NULL, 0) == 0)
		expect_closed(c);
	pc_client_close(c);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for the daemon to drop a stalled connection: FRAME_TIMEOUT then EOF, or EOF. */
static void expect_timed_out(struct harness *h, struct pc_client *c, int64_t started)
{
	uint8_t type;
	uint64_t rid;
	uint8_t *body = NULL;
	size_t len = 0;
	int rc = pc_client_read_frame(c, &type, &rid, &body, &len);
	int64_t waited = mono_ms() - started;
	if (rc == 0) {
		if (type != PC_MSG_PROTOCOL_ERROR)
			harness_fail(h, "a stalled frame got an answer of type 0x%02x", type);
		Pointclear__V1__ProtocolError *pe = pc_protocol_error_unpack(body ? body : (uint8_t *)"",
		                                                             len);
		assert_non_null(pe);
		if (pe->code != C(FRAME_TIMEOUT))
			harness_fail(h, "a stalled frame got %s", pc_code_name(pe->code));
		pc_protocol_error_free(pe);
		expect_closed(c);
	} else if (waited >= 7500) {
		harness_fail(h, "a stalled connection was not closed within 7.5 s");
	}
	free(body);
	if (waited < 800)
		harness_fail(h, "closed after %" PRId64 " ms, before the 1000 ms frame timeout", waited);
}

static void test_frame_timeout(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	char err[512];
	struct harness_merchant *m = harness_merchant(h, "cafe");
	struct pc_client *slow = harness_connect_raw(h, m->cert, m->key, 8000, err, sizeof err);
	assert_non_null(slow);
	struct pc_client *other = harness_connect(h, "gym");
	ping_pong(h, other, 1);

	/* half a frame header, then nothing */
	uint8_t hdr[PC_FRAME_HEADER_SIZE];
	put_header(hdr, PC_FRAME_MIN_LENGTH, PC_MSG_PING, 3);
	int64_t t0 = mono_ms();
	assert_int_equal(pc_client_send_raw(slow, hdr, 6), 0);
	harness_sleep_ms(300);
	ping_pong(h, other, 2);   /* others are served meanwhile */
	expect_timed_out(h, slow, t0);
	pc_client_close(slow);
	ping_pong(h, other, 3);

	/* a frame dribbled a byte every 250 ms: the timeout is for the whole frame,
	 * not for silence between bytes */
	slow = harness_connect_raw(h, m->cert, m->key, 8000, err, sizeof err);
	assert_non_null(slow);
	t0 = mono_ms();
	bool sent_all = true;
	for (size_t i = 0; i < sizeof hdr; i++) {
		if (pc_client_send_raw(slow, hdr + i, 1) != 0) {
			sent_all = false;
			break;
		}
		harness_sleep_ms(250);
	}
	(void)sent_all;   /* the daemon may have closed already; either way: */
	expect_timed_out(h, slow, t0);
	pc_client_close(slow);
	ping_pong(h, other, 4);
	pc_client_close(other);
}

static int setup(void **state)
{
	struct harness_opts o = {
		.name = "bad_input",
		.members = 10,
		.daemon_args = {"--frame-timeout-ms", "1000"},
	};
	*state = harness_new(&o);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	if (h) {
		/* whatever happened above, the books still balance */
		harness_check_books(h);
	}
	return harness_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_malformed_frame),
		cmocka_unit_test(test_answers_before_goodbye),
		cmocka_unit_test(test_frame_too_large),
		cmocka_unit_test(test_largest_frame),
		cmocka_unit_test(test_unknown_message_type),
		cmocka_unit_test(test_bad_envelope),
		cmocka_unit_test(test_bad_payload),
		cmocka_unit_test(test_non_canonical),
		cmocka_unit_test(test_bad_signature),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_key_not_yet_valid),
		cmocka_unit_test(test_wrong_merchant),
		cmocka_unit_test(test_unknown_alliance),
		cmocka_unit_test(test_unknown_member),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_event_time),
		cmocka_unit_test(test_invalid_amount),
		cmocka_unit_test(test_amount_too_large),
		cmocka_unit_test(test_insufficient_points),
		cmocka_unit_test(test_holds),
		cmocka_unit_test(test_hold_expired),
		cmocka_unit_test(test_reversals),
		cmocka_unit_test(test_conflict),
		cmocka_unit_test(test_no_client_certificate),
		cmocka_unit_test(test_foreign_certificate),
		cmocka_unit_test(test_frame_timeout),
		cmocka_unit_test(test_key_revoked),   /* last: the airline has no key after it */
	};
	return cmocka_run_group_tests_name("integration.bad_input", tests, setup, teardown);
}
