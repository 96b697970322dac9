/* test_protocol_gaps.c - the protocol rules an independent client found
 * missing, against the real daemon over TLS: a non-canonical SUBMIT envelope,
 * a request id already in flight, a PING with a body, and LOOKUP (found,
 * declined, in a tree of several entries, not found, another merchant's,
 * malformed, the CLI, a stopped database). Answers the test vectors define
 * (proto/testvectors/signing.json: protocol_errors, lookup_results) are compared
 * byte for byte. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pointclear/codec.h"
#include "pointclear/frame.h"

#include "harness.h"

#define D(x) POINTCLEAR__V1__DISPOSITION__##x
#define C(x) POINTCLEAR__V1__CODE__##x
#define APPROVED POINTCLEAR__V1__STATUS__APPROVED
#define DECLINED POINTCLEAR__V1__STATUS__DECLINED

/* ---------------------------------------------------------------- vectors */

static char *vectors;

static void load_vectors(void)
{
	if (vectors)
		return;
	FILE *f = fopen(PC_VECTORS_DIR "/signing.json", "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	vectors = malloc((size_t)n + 1);
	assert_non_null(vectors);
	assert_int_equal(fread(vectors, 1, (size_t)n, f), (size_t)n);
	vectors[n] = '\0';
	fclose(f);
}

/* The hex string of key in the vector named name (the occurrence after
 * skip earlier ones of the same key), decoded; malloc'd. */
static uint8_t *vector_bytes(const char *name, const char *key, int skip, size_t *len)
{
	load_vectors();
	char needle[128];
	snprintf(needle, sizeof needle, "\"name\": \"%s\"", name);
	const char *p = strstr(vectors, needle);
	assert_non_null(p);
	snprintf(needle, sizeof needle, "\"%s\": ", key);
	p = strstr(p, needle);
	assert_non_null(p);
	p += strlen(needle);
	if (*p == '[')
		p = strchr(p, '"');
	for (int i = 0; i < skip; i++)
		p = strchr(strchr(p + 1, '"') + 1, '"');
	assert_true(*p == '"');
	p++;
	const char *end = strchr(p, '"');
	size_t hex = (size_t)(end - p);
	uint8_t *out = malloc(hex / 2 + 1);
	assert_non_null(out);
	for (size_t i = 0; i < hex / 2; i++) {
		unsigned v;
		assert_int_equal(sscanf(p + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	*len = hex / 2;
	return out;
}

/* ---------------------------------------------------------------- frames */

/* Reads one frame whole: header and body as on the wire, malloc'd. */
static uint8_t *read_wire(struct harness *h, struct pc_client *c, uint8_t *type, uint64_t *rid,
                          size_t *len)
{
	uint8_t *body = NULL;
	size_t body_len = 0;
	if (pc_client_read_frame(c, type, rid, &body, &body_len) != 0)
		harness_fail(h, "no answer frame");
	uint8_t *wire = malloc(PC_FRAME_HEADER_SIZE + body_len);
	assert_non_null(wire);
	pc_frame_header_encode(wire, *type, *rid, body_len);
	if (body_len)
		memcpy(wire + PC_FRAME_HEADER_SIZE, body, body_len);
	free(body);
	*len = PC_FRAME_HEADER_SIZE + body_len;
	return wire;
}

static void expect_pong(struct harness *h, struct pc_client *c, uint64_t rid)
{
	assert_int_equal(pc_client_send_frame(c, PC_MSG_PING, rid, NULL, 0), 0);
	uint8_t type;
	uint64_t got;
	size_t len;
	uint8_t *wire = read_wire(h, c, &type, &got, &len);
	assert_int_equal(type, PC_MSG_PONG);
	assert_int_equal(got, rid);
	assert_int_equal(len, PC_FRAME_HEADER_SIZE);
	free(wire);
}

/* One LOOKUP of body, its LOOKUP_RESULT decoded into r. */
static void lookup_raw(struct harness *h, struct pc_client *c, const uint8_t *body, size_t len,
                       struct harness_result *r)
{
	uint64_t rid = harness_request_id(h);
	assert_int_equal(pc_client_send_frame(c, PC_MSG_LOOKUP, rid, body, len), 0);
	uint8_t type;
	uint64_t got;
	uint8_t *ans = NULL;
	size_t ans_len = 0;
	if (pc_client_read_frame(c, &type, &got, &ans, &ans_len) != 0)
		harness_fail(h, "no LOOKUP_RESULT");
	assert_int_equal(type, PC_MSG_LOOKUP_RESULT);
	assert_int_equal(got, rid);
	memset(r, 0, sizeof *r);
	assert_int_equal(harness_result_decode(r, type, got, ans, ans_len), 0);
	/* the type is checked above; the body is a SubmitResult, which is what
	 * harness_expect reads */
	r->type = PC_MSG_SUBMIT_RESULT;
}

static void lookup_id(struct harness *h, struct pc_client *c, const char *event_id,
                      struct harness_result *r)
{
	Pointclear__V1__Lookup lk = POINTCLEAR__V1__LOOKUP__INIT;
	lk.event_id = (char *)event_id;
	size_t len;
	uint8_t *body = pc_pack(&lk.base, &len);
	assert_non_null(body);
	lookup_raw(h, c, body, len, r);
	free(body);
}

static int64_t ledger_has(struct harness *h, const char *merchant, const char *event_id)
{
	return harness_sql_int64(h, "SELECT count(*) FROM ledger WHERE merchant_id = $1 AND event_id = $2",
	                         merchant, event_id, NULL);
}

/* ---------------------------------------------------------------- envelope */

/* A SignedEvent with an unknown 16,000-byte field, or with its payload's length
 * padded to a longer varint, is NON_CANONICAL and stores nothing. */
static void test_envelope_not_canonical(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	int64_t before = harness_ledger_count(h);
	size_t len;
	uint8_t *env = harness_signed_earn(h, "cafe", "junk-1", "m000001", 10, &len);

	size_t junk = 16000;
	uint8_t *big = calloc(1, len + 3 + junk);
	assert_non_null(big);
	memcpy(big, env, len);
	big[len] = (15 << 3) | 2;   /* field 15, length-delimited: not in SignedEvent */
	big[len + 1] = (uint8_t)(0x80 | (junk & 0x7f));
	big[len + 2] = (uint8_t)(junk >> 7);
	struct harness_result r = { 0 };
	harness_submit_envelope(h, "cafe", big, len + 3 + junk, &r);
	harness_expect(h, &r, D(REJECTED), C(NON_CANONICAL), 0);
	assert_string_equal(r.res->message, "the envelope is not in canonical encoding");
	harness_result_free(&r);

	/* field 1 (payload) first: its length one byte longer than it need be */
	assert_int_equal(env[0], 0x0a);
	assert_true(env[1] < 0x80);
	uint8_t *pad = malloc(len + 1);
	assert_non_null(pad);
	pad[0] = 0x0a;
	pad[1] = (uint8_t)(0x80 | env[1]);
	pad[2] = 0x00;
	memcpy(pad + 3, env + 2, len - 2);
	memset(&r, 0, sizeof r);
	harness_submit_envelope(h, "cafe", pad, len + 1, &r);
	harness_expect(h, &r, D(REJECTED), C(NON_CANONICAL), 0);
	harness_result_free(&r);

	assert_int_equal(harness_ledger_count(h), before);
	assert_int_equal(ledger_has(h, "cafe", "junk-1"), 0);
	/* the canonical bytes are still welcome */
	memset(&r, 0, sizeof r);
	harness_submit_envelope(h, "cafe", env, len, &r);
	harness_expect(h, &r, D(RECORDED), C(OK), APPROVED);
	harness_result_free(&r);
	free(big);
	free(pad);
	free(env);
}

/* ---------------------------------------------------------------- frame errors */

static void test_duplicate_request_id(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	struct pc_client *c = harness_connect(h, "cafe");
	size_t n0, n1, alen;
	uint8_t *f0 = vector_bytes("duplicate_request_id", "requests", 0, &n0);
	uint8_t *f1 = vector_bytes("duplicate_request_id", "requests", 1, &n1);
	uint8_t *want = vector_bytes("duplicate_request_id", "answer", 0, &alen);
	/* one write: both frames are read before the first can be answered */
	uint8_t *both = malloc(n0 + n1);
	assert_non_null(both);
	memcpy(both, f0, n0);
	memcpy(both + n0, f1, n1);
	assert_int_equal(pc_client_send_raw(c, both, n0 + n1), 0);

	int errors = 0, results = 0;
	for (int i = 0; i < 2; i++) {
		uint8_t type;
		uint64_t rid;
		size_t len;
		uint8_t *wire = read_wire(h, c, &type, &rid, &len);
		assert_int_equal(rid, 9);
		if (type == PC_MSG_PROTOCOL_ERROR) {
			errors++;
			assert_int_equal(len, alen);
			assert_memory_equal(wire, want, alen);
		} else {
			assert_int_equal(type, PC_MSG_SUBMIT_RESULT);
			results++;
		}
		free(wire);
	}
	assert_int_equal(errors, 1);
	assert_int_equal(results, 1);
	expect_pong(h, c, 77);   /* the connection is kept */

	/* the same for a LOOKUP, and across SUBMIT and LOOKUP */
	Pointclear__V1__Lookup lk = POINTCLEAR__V1__LOOKUP__INIT;
	lk.event_id = "dup-lookup";
	size_t blen;
	uint8_t *body = pc_pack(&lk.base, &blen);
	assert_non_null(body);
	size_t env_len;
	uint8_t *env = harness_signed_earn(h, "cafe", "dup-1", "m000002", 5, &env_len);
	size_t total = 3 * PC_FRAME_HEADER_SIZE + 2 * blen + env_len, off = 0;
	uint8_t *three = malloc(total);
	assert_non_null(three);
	off += pc_frame_header_encode(three + off, PC_MSG_LOOKUP, 31, blen);
	memcpy(three + off, body, blen);
	off += blen;
	off += pc_frame_header_encode(three + off, PC_MSG_LOOKUP, 31, blen);
	memcpy(three + off, body, blen);
	off += blen;
	off += pc_frame_header_encode(three + off, PC_MSG_SUBMIT, 31, env_len);
	memcpy(three + off, env, env_len);
	off += env_len;
	assert_int_equal(off, total);
	assert_int_equal(pc_client_send_raw(c, three, total), 0);
	errors = results = 0;
	for (int i = 0; i < 3; i++) {
		uint8_t type;
		uint64_t rid;
		size_t len;
		uint8_t *wire = read_wire(h, c, &type, &rid, &len);
		assert_int_equal(rid, 31);
		if (type == PC_MSG_PROTOCOL_ERROR)
			errors++;
		else if (type == PC_MSG_LOOKUP_RESULT)
			results++;
		else
			fail_msg("unexpected frame type 0x%02x", type);
		free(wire);
	}
	assert_int_equal(errors, 2);
	assert_int_equal(results, 1);
	assert_int_equal(ledger_has(h, "cafe", "dup-1"), 0);   /* the skipped SUBMIT */
	/* answered: the id is free again */
	struct harness_result r = { 0 };
	assert_int_equal(harness_submit_on(c, 31, env, env_len, &r, NULL, 0), 0);
	harness_expect(h, &r, D(RECORDED), C(OK), APPROVED);
	harness_result_free(&r);

	free(three);
	free(env);
	free(body);
	free(both);
	free(f0);
	free(f1);
	free(want);
	pc_client_close(c);
}

static void test_ping_with_body(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	struct pc_client *c = harness_connect(h, "cafe");
	size_t n, alen;
	uint8_t *ping = vector_bytes("ping_with_body", "requests", 0, &n);
	uint8_t *want = vector_bytes("ping_with_body", "answer", 0, &alen);
	assert_int_equal(pc_client_send_raw(c, ping, n), 0);
	uint8_t type;
	uint64_t rid;
	size_t len;
	uint8_t *wire = read_wire(h, c, &type, &rid, &len);
	assert_int_equal(len, alen);
	assert_memory_equal(wire, want, alen);
	free(wire);
	/* no PONG for it: the next frame answers the next PING */
	expect_pong(h, c, 11);
	free(ping);
	free(want);
	pc_client_close(c);
}

/* ---------------------------------------------------------------- lookup */

/* The SUBMIT_RESULT body a resubmission of env gets. */
static void resubmit(struct harness *h, const uint8_t *env, size_t len, struct harness_result *r)
{
	memset(r, 0, sizeof *r);
	harness_submit_envelope(h, "cafe", env, len, r);
	harness_expect(h, r, D(REPLAYED), r->code, 0);
}

static void expect_lookup_equals(struct harness *h, struct pc_client *c, const char *event_id,
                                 const uint8_t *env, size_t env_len, int status, int code)
{
	struct harness_result lr, rr;
	lookup_id(h, c, event_id, &lr);
	harness_expect(h, &lr, D(REPLAYED), code, status);
	assert_true(harness_receipt_valid(h, &lr));
	assert_string_equal(lr.body->event_id, event_id);
	assert_string_equal(lr.body->merchant_id, "cafe");
	resubmit(h, env, env_len, &rr);
	assert_int_equal(lr.raw_len, rr.raw_len);
	assert_memory_equal(lr.raw, rr.raw, rr.raw_len);
	harness_result_free(&lr);
	harness_result_free(&rr);
}

static void test_lookup(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	struct pc_client *c = harness_connect(h, "cafe");

	/* an approved earn, a declined redeem */
	size_t e1_len, e2_len;
	uint8_t *e1 = harness_signed_earn(h, "cafe", "look-1", "m000003", 50, &e1_len);
	pc_event *rd = harness_redeem("cafe", "look-2", "m000003", 5000);
	uint8_t *e2 = harness_sign(h, "cafe", rd, &e2_len);
	struct harness_result r = { 0 };
	harness_submit_envelope(h, "cafe", e1, e1_len, &r);
	harness_expect(h, &r, D(RECORDED), C(OK), APPROVED);
	harness_result_free(&r);
	memset(&r, 0, sizeof r);
	harness_submit_envelope(h, "cafe", e2, e2_len, &r);
	harness_expect(h, &r, D(RECORDED), C(INSUFFICIENT_POINTS), DECLINED);
	harness_result_free(&r);

	/* a burst on one connection: its entries share receipt trees */
	enum { N = 12 };
	uint8_t *env[N];
	size_t len[N];
	char ids[N][16];
	for (int i = 0; i < N; i++) {
		snprintf(ids[i], sizeof ids[i], "look-t%d", i);
		env[i] = harness_signed_earn(h, "cafe", ids[i], "m000004", 1 + i, &len[i]);
	}
	struct pc_client *b = harness_connect(h, "cafe");
	struct harness_burst out = { 0 };
	char err[256];
	if (harness_burst(b, env, len, N, &out, err, sizeof err) != 0)
		harness_fail(h, "burst: %s", err);
	assert_int_equal(out.approved, N);
	pc_client_close(b);
	assert_true(harness_sql_int64(h, "SELECT count(*) FROM ledger l JOIN receipt_trees t"
	                                 " ON t.alliance_id = l.alliance_id AND l.seq BETWEEN"
	                                 " t.first_seq AND t.first_seq + t.size - 1"
	                                 " WHERE t.size > 1 AND l.event_id LIKE 'look-t%'", NULL) > 0);

	int64_t before = harness_ledger_count(h);
	expect_lookup_equals(h, c, "look-1", e1, e1_len, APPROVED, C(OK));
	expect_lookup_equals(h, c, "look-2", e2, e2_len, DECLINED, C(INSUFFICIENT_POINTS));
	for (int i = 0; i < N; i++)
		expect_lookup_equals(h, c, ids[i], env[i], len[i], APPROVED, C(OK));

	/* not found, byte for byte the vector's answer; the id stays free */
	size_t want_len;
	uint8_t *want = vector_bytes("not_found", "result", 0, &want_len);
	lookup_id(h, c, "look-new", &r);
	harness_expect(h, &r, D(REJECTED), C(NOT_FOUND), 0);
	assert_int_equal(r.raw_len, want_len);
	assert_memory_equal(r.raw, want, want_len);
	harness_result_free(&r);
	free(want);
	/* another merchant's id: not found either */
	struct pc_client *other = harness_connect(h, "gym");
	lookup_id(h, other, "look-1", &r);
	harness_expect(h, &r, D(REJECTED), C(NOT_FOUND), 0);
	harness_result_free(&r);
	pc_client_close(other);

	/* malformed Lookups */
	static const uint8_t non_canonical[] = { 0x0a, 0x00 };
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff };
	lookup_raw(h, c, non_canonical, sizeof non_canonical, &r);
	harness_expect(h, &r, D(REJECTED), C(NON_CANONICAL), 0);
	harness_result_free(&r);
	lookup_raw(h, c, garbage, sizeof garbage, &r);
	harness_expect(h, &r, D(REJECTED), C(BAD_PAYLOAD), 0);
	harness_result_free(&r);
	want = vector_bytes("invalid_event_id", "result", 0, &want_len);
	lookup_id(h, c, "e 1", &r);
	harness_expect(h, &r, D(REJECTED), C(INVALID_FIELD), 0);
	assert_int_equal(r.raw_len, want_len);
	assert_memory_equal(r.raw, want, want_len);
	harness_result_free(&r);
	free(want);
	want = vector_bytes("missing_event_id", "result", 0, &want_len);
	lookup_raw(h, c, NULL, 0, &r);
	harness_expect(h, &r, D(REJECTED), C(MISSING_FIELD), 0);
	assert_int_equal(r.raw_len, want_len);
	assert_memory_equal(r.raw, want, want_len);
	harness_result_free(&r);
	free(want);

	/* lookups recorded nothing (the resubmissions above were replays) */
	assert_int_equal(harness_ledger_count(h), before);
	assert_int_equal(ledger_has(h, "cafe", "look-new"), 0);
	/* NOT_FOUND took no id: a SUBMIT of it now is recorded */
	size_t nl;
	uint8_t *ne = harness_signed_earn(h, "cafe", "look-new", "m000003", 1, &nl);
	memset(&r, 0, sizeof r);
	harness_submit_envelope(h, "cafe", ne, nl, &r);
	harness_expect(h, &r, D(RECORDED), C(OK), APPROVED);
	harness_result_free(&r);
	free(ne);

	/* the CLI: 0 with the REPLAYED line, 3 with "not found" */
	char server[64];
	snprintf(server, sizeof server, "127.0.0.1:%d", h->port);
	char *outp = NULL;
	int rc = harness_cli(h, &outp, "lookup", "--server", server, HARNESS_ALLIANCE, "cafe",
	                     "look-2", NULL);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(outp, "REPLAYED"));
	free(outp);
	outp = NULL;
	rc = harness_cli(h, &outp, "lookup", "--server", server, HARNESS_ALLIANCE, "cafe",
	                 "look-none", NULL);
	assert_int_equal(rc, 3);
	assert_non_null(strstr(outp, "not found"));
	free(outp);

	for (int i = 0; i < N; i++)
		free(env[i]);
	free(e1);
	free(e2);
	harness_event_free(rd);
	pc_client_close(c);
}

static int setup(void **state)
{
	struct harness_opts o = {.name = "protocol_gaps", .merchants = 2, .members = 6};
	*state = harness_new(&o);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	return harness_free(HARNESS_STATE(state));
}

/* ---------------------------------------------------------------- database down */

static bool lookup_found(struct harness *h, void *arg)
{
	struct harness_result r;
	lookup_id(h, arg, "down-1", &r);
	bool found = r.disposition == D(REPLAYED);
	harness_result_free(&r);
	return found;
}

/* With PostgreSQL stopped a LOOKUP is RETRYABLE / UNAVAILABLE; once it is back,
 * the entry is found again. */
static void test_lookup_database_down(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	size_t len;
	uint8_t *env = harness_signed_earn(h, "cafe", "down-1", "m000001", 3, &len);
	struct harness_result r = { 0 };
	harness_submit_envelope(h, "cafe", env, len, &r);
	harness_expect(h, &r, D(RECORDED), C(OK), APPROVED);
	harness_result_free(&r);

	struct pc_client *c = harness_connect(h, "cafe");
	harness_pg_halt(h, "fast");
	lookup_id(h, c, "down-1", &r);
	harness_expect(h, &r, D(RETRYABLE), C(UNAVAILABLE), 0);
	harness_result_free(&r);
	lookup_id(h, c, "down-1", &r);   /* the loss is known now: answered at once */
	harness_expect(h, &r, D(RETRYABLE), C(UNAVAILABLE), 0);
	harness_result_free(&r);
	harness_pg_resume(h);
	assert_true(harness_wait_until(h, 60000, lookup_found, c));
	pc_client_close(c);
	free(env);
}

static int setup_private(void **state)
{
	struct harness_opts o = {.name = "gaps_down", .merchants = 1, .members = 2,
	                         .private_pg = true};
	*state = harness_new(&o);
	return *state ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_envelope_not_canonical),
		cmocka_unit_test(test_duplicate_request_id),
		cmocka_unit_test(test_ping_with_body),
		cmocka_unit_test(test_lookup),
	};
	const struct CMUnitTest down[] = {
		cmocka_unit_test(test_lookup_database_down),
	};
	int rc = cmocka_run_group_tests_name("integration.protocol_gaps", tests, setup, teardown);
	rc += cmocka_run_group_tests_name("integration.protocol_gaps_down", down, setup_private,
	                                  teardown);
	free(vectors);
	return rc;
}
