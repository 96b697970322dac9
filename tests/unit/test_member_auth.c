/* test_member_auth.c - the member authorization's bytes (PROTOCOL.md, "Member
 * authorization"): signed and verified under its own payload type, canonical
 * or refused as MEMBER_AUTH_INVALID, and carried verbatim as Event field 8 by
 * the builder, whose splice equals protobuf-c's own encoding of the whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "pointclear/codec.h"
#include "pointclear/event_build.h"
#include "pointclear/sign.h"

#define C(x) POINTCLEAR__V1__CODE__##x

static uint8_t sk[PC_SK_SIZE], pk[PC_PK_SIZE];
static char key_id[PC_KEY_ID_LEN + 1];
static const uint8_t nonce[PC_AUTH_NONCE_SIZE] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
                                                   14, 15, 16 };

static int setup(void **state)
{
	uint8_t seed[PC_SEED_SIZE];
	(void)state;
	if (sodium_init() < 0)
		return -1;
	memset(seed, 0x05, sizeof seed);
	pc_keypair_from_seed(pk, sk, seed);
	pc_key_id(key_id, pk);
	return 0;
}

static uint8_t *sample(size_t *len)
{
	struct pc_authorization_desc a = {
		.alliance_id = "al", .member_id = "m-1", .merchant_id = "m-42", .max_points = 500,
		.expires_at_us = 1700000000000000, .nonce = nonce, .nonce_len = sizeof nonce,
	};
	uint8_t *auth = pc_authorization_sign(&a, sk, key_id, len, NULL);
	assert_non_null(auth);
	return auth;
}

static void test_sign_verify(void **state)
{
	size_t len;
	pc_code code;
	(void)state;
	uint8_t *auth = sample(&len);
	Pointclear__V1__SignedAuthorization *sa = pc_signed_authorization_unpack(auth, len, &code);
	assert_non_null(sa);
	assert_int_equal(code, C(OK));
	assert_string_equal(sa->key_id, key_id);
	assert_true(pc_verify(sa->signature.data, PC_MEMBER_AUTH_PAYLOAD_TYPE, sa->body.data,
	                      sa->body.len, pk));
	/* not under the event's payload type */
	assert_false(pc_verify(sa->signature.data, PC_EVENT_PAYLOAD_TYPE, sa->body.data,
	                       sa->body.len, pk));
	Pointclear__V1__MemberAuthorization *ma =
		pc_member_authorization_unpack(sa->body.data, sa->body.len, &code);
	assert_non_null(ma);
	assert_string_equal(ma->member_id, "m-1");
	assert_string_equal(ma->merchant_id, "m-42");
	assert_int_equal(ma->max_points, 500);
	assert_int_equal(ma->nonce.len, 16);
	assert_memory_equal(ma->nonce.data, nonce, 16);
	pc_member_authorization_free(ma);
	pc_signed_authorization_free(sa);
	free(auth);
}

/* Bytes that are not the canonical encoding, or do not parse: MEMBER_AUTH_INVALID. */
static void test_canonical_refusals(void **state)
{
	size_t len;
	pc_code code = C(OK);
	(void)state;
	uint8_t *auth = sample(&len);
	uint8_t *bad = malloc(len + 3);
	assert_non_null(bad);

	/* an unknown trailing field: 99, varint 0 (its tag takes two bytes) */
	memcpy(bad, auth, len);
	bad[len] = 0x98;
	bad[len + 1] = 0x06;
	bad[len + 2] = 0x00;
	/* it parses as protobuf, and only the canonical rule refuses it */
	Pointclear__V1__SignedAuthorization *raw =
		pointclear__v1__signed_authorization__unpack(NULL, len + 3, bad);
	assert_non_null(raw);
	pointclear__v1__signed_authorization__free_unpacked(raw, NULL);
	assert_null(pc_signed_authorization_unpack(bad, len + 3, &code));
	assert_int_equal(code, C(MEMBER_AUTH_INVALID));
	/* truncated */
	code = C(OK);
	assert_null(pc_signed_authorization_unpack(auth, len - 1, &code));
	assert_int_equal(code, C(MEMBER_AUTH_INVALID));
	/* a body with a default value written out: max_points 0 as a field */
	static const uint8_t zero_field[] = { 0x20, 0x00 };
	code = C(OK);
	assert_null(pc_member_authorization_unpack(zero_field, sizeof zero_field, &code));
	assert_int_equal(code, C(MEMBER_AUTH_INVALID));
	/* fields out of order: member_id (2) before alliance_id (1) */
	static const uint8_t swapped[] = { 0x12, 0x01, 'm', 0x0a, 0x01, 'a' };
	code = C(OK);
	assert_null(pc_member_authorization_unpack(swapped, sizeof swapped, &code));
	assert_int_equal(code, C(MEMBER_AUTH_INVALID));
	free(bad);
	free(auth);
}

/* The builder's splice is protobuf-c's encoding of the Event with the field set,
 * and the daemon's decoder takes it as canonical. */
static void test_builder_splice(void **state)
{
	size_t alen, elen;
	(void)state;
	uint8_t *auth = sample(&alen);
	struct pc_event_desc d = {
		.kind = PC_EVENT_REDEEM, .alliance_id = "al", .merchant_id = "m-42",
		.event_id = "e-1", .event_time_us = 1700000000000000, .store_id = "s-1",
		.terminal_id = "t-1", .member_id = "m-1", .amount = 120,
		.authorization = auth, .authorization_len = alen,
	};
	assert_int_equal(pc_event_encode(&d, NULL, 0, &elen), PC_EB_TOO_SMALL);
	uint8_t *ev = malloc(elen);
	assert_non_null(ev);
	assert_int_equal(pc_event_encode(&d, ev, elen, &elen), PC_EB_OK);

	struct pc_event_msg m;
	assert_int_equal(pc_event_msg_init(&m, &d), PC_EB_OK);
	m.event.authorization = pointclear__v1__signed_authorization__unpack(NULL, alen, auth);
	assert_non_null(m.event.authorization);
	size_t want_len;
	uint8_t *want = pc_pack(&m.event.base, &want_len);
	assert_int_equal(elen, want_len);
	assert_memory_equal(ev, want, elen);
	pointclear__v1__signed_authorization__free_unpacked(m.event.authorization, NULL);

	pc_code code;
	Pointclear__V1__Event *back = pc_event_unpack(ev, elen, &code);
	assert_non_null(back);
	assert_non_null(back->authorization);
	assert_int_equal(back->redeem->points, 120);
	pc_event_free(back);

	/* an earn does not carry one */
	d.kind = PC_EVENT_EARN;
	assert_int_equal(pc_event_encode(&d, ev, elen, &elen), PC_EB_STRAY_FIELD);
	free(want);
	free(ev);
	free(auth);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_canonical_refusals),
		cmocka_unit_test(test_builder_splice),
	};
	return cmocka_run_group_tests_name("unit.member_auth", tests, setup, NULL);
}
