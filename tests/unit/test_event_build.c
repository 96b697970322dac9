/* test_event_build.c - the event builder against proto/testvectors/signing.json
 * byte for byte, through the daemon's canonical decoder, and its refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "pointclear/codec.h"
#include "pointclear/event_build.h"
#include "pointclear/sign.h"
#include "samples.h"
#include "testutil.h"

#define VECTORS PC_VECTORS_DIR "/signing.json"

struct fixture {
	json_object *root;
	uint8_t pk[PC_PK_SIZE], sk[PC_SK_SIZE];
	char key_id[PC_KEY_ID_LEN + 1];
};

static const char *str(json_object *o, const char *name)
{
	json_object *v;

	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
		fail_msg("vector lacks string %s", name);
	return json_object_get_string(v);
}

/* The samples are signed by the first key of the vectors. */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	json_object *keys;
	uint8_t *seed;
	size_t len;

	if (f == NULL || sodium_init() < 0 || !(f->root = json_object_from_file(VECTORS)) ||
	    !json_object_object_get_ex(f->root, "keys", &keys))
		return -1;
	seed = hex_decode(str(json_object_array_get_idx(keys, 0), "seed"), &len);
	pc_keypair_from_seed(f->pk, f->sk, seed);
	pc_key_id(f->key_id, f->pk);
	free(seed);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	json_object_put(f->root);
	free(f);
	return 0;
}

static json_object *vector_named(json_object *root, const char *name)
{
	json_object *events;

	assert_true(json_object_object_get_ex(root, "events", &events));
	for (size_t i = 0; i < json_object_array_length(events); i++) {
		json_object *e = json_object_array_get_idx(events, i);

		if (strcmp(str(e, "name"), name) == 0)
			return e;
	}
	fail_msg("no vector %s", name);
	return NULL;
}

/* Every sample's payload and envelope, built three ways: the allocating call,
 * into a buffer of exactly the size asked for, and into a larger one. */
static void test_vectors_byte_for_byte(void **state)
{
	struct fixture *f = *state;

	for (int k = 0; k < SAMPLE_COUNT; k++) {
		struct sample s;
		json_object *v;
		uint8_t payload[512], env[640];
		size_t plen, need, elen;
		uint8_t *signed_env;
		int err = -99;

		sample_init(&s, (enum sample_kind)k);
		v = vector_named(f->root, s.name);
		assert_string_equal(str(v, "verdict"), "valid");
		assert_string_equal(str(v, "signed_by"), f->key_id);

		assert_int_equal(pc_event_encode(&s.desc, NULL, 0, &need), PC_EB_TOO_SMALL);
		assert_int_equal(pc_event_encode(&s.desc, payload, need, &plen), PC_EB_OK);
		assert_int_equal(plen, need);
		assert_bytes_hex(payload, plen, str(v, "payload"));
		assert_int_equal(pc_event_encode(&s.desc, payload, sizeof payload, &plen), PC_EB_OK);
		assert_bytes_hex(payload, plen, str(v, "payload"));

		need = pc_envelope_size(plen, f->key_id);
		assert_int_equal(pc_envelope_seal(env, need, &elen, payload, plen, f->sk, f->key_id),
		                 PC_EB_OK);
		assert_int_equal(elen, need);
		assert_bytes_hex(env, elen, str(v, "envelope"));

		signed_env = pc_event_sign(&s.desc, f->sk, f->key_id, &elen, &err);
		assert_non_null(signed_env);
		assert_int_equal(err, PC_EB_OK);
		assert_bytes_hex(signed_env, elen, str(v, "envelope"));
		free(signed_env);
	}
}

static void assert_ref(const Pointclear__V1__EventRef *got, const struct pc_event_ref *want)
{
	assert_non_null(got);
	if (want->by == PC_REF_EVENT_ID) {
		assert_int_equal(got->target_case, POINTCLEAR__V1__EVENT_REF__TARGET_EVENT_ID);
		assert_string_equal(got->event_id, want->event_id);
	} else {
		assert_int_equal(got->target_case, POINTCLEAR__V1__EVENT_REF__TARGET_SEQUENCE);
		assert_true(got->sequence == want->sequence);
	}
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

/* What the daemon decoded is what was described, field by field. */
static void assert_decoded(const Pointclear__V1__Event *e, const struct pc_event_desc *d)
{
	assert_string_equal(e->alliance_id, or_empty(d->alliance_id));
	assert_string_equal(e->merchant_id, or_empty(d->merchant_id));
	assert_string_equal(e->event_id, or_empty(d->event_id));
	assert_true(e->event_time_us == d->event_time_us);
	assert_string_equal(e->store_id, or_empty(d->store_id));
	assert_string_equal(e->terminal_id, or_empty(d->terminal_id));
	switch (d->kind) {
	case PC_EVENT_EARN:
		assert_int_equal(e->body_case, POINTCLEAR__V1__EVENT__BODY_EARN);
		assert_string_equal(e->earn->member_id, or_empty(d->member_id));
		assert_true(e->earn->points == d->amount);
		assert_string_equal(e->earn->reason, or_empty(d->reason));
		break;
	case PC_EVENT_REDEEM:
		assert_int_equal(e->body_case, POINTCLEAR__V1__EVENT__BODY_REDEEM);
		assert_string_equal(e->redeem->member_id, or_empty(d->member_id));
		assert_true(e->redeem->points == d->amount);
		assert_string_equal(e->redeem->reason, or_empty(d->reason));
		break;
	case PC_EVENT_HOLD:
		assert_int_equal(e->body_case, POINTCLEAR__V1__EVENT__BODY_HOLD);
		assert_string_equal(e->hold->member_id, or_empty(d->member_id));
		assert_true(e->hold->points == d->amount);
		assert_int_equal(e->hold->duration_s, d->duration_s);
		break;
	case PC_EVENT_CAPTURE:
		assert_int_equal(e->body_case, POINTCLEAR__V1__EVENT__BODY_CAPTURE);
		assert_ref(e->capture->hold, &d->ref);
		assert_true(e->capture->points == d->amount);
		break;
	case PC_EVENT_VOID:
		assert_int_equal(e->body_case, POINTCLEAR__V1__EVENT__BODY_VOID);
		assert_ref(e->void_->hold, &d->ref);
		break;
	case PC_EVENT_REVERSAL:
		assert_int_equal(e->body_case, POINTCLEAR__V1__EVENT__BODY_REVERSAL);
		assert_ref(e->reversal->original, &d->ref);
		assert_true(e->reversal->amount == d->amount);
		assert_string_equal(e->reversal->reason, or_empty(d->reason));
		break;
	case PC_EVENT_REFERRAL:
		assert_int_equal(e->body_case, POINTCLEAR__V1__EVENT__BODY_REFERRAL);
		assert_string_equal(e->referral->member_id, or_empty(d->member_id));
		assert_string_equal(e->referral->beneficiary_merchant_id, or_empty(d->beneficiary_id));
		assert_string_equal(e->referral->channel, or_empty(d->channel));
		assert_string_equal(e->referral->campaign_id, or_empty(d->campaign_id));
		assert_string_equal(e->referral->referral_code, or_empty(d->referral_code));
		assert_true(e->referral->touch_time_us == d->touch_time_us);
		break;
	case PC_EVENT_PURCHASE:
		assert_int_equal(e->body_case, POINTCLEAR__V1__EVENT__BODY_PURCHASE);
		assert_string_equal(e->purchase->member_id, or_empty(d->member_id));
		assert_true(e->purchase->amount_minor == d->amount);
		assert_string_equal(e->purchase->currency, or_empty(d->currency));
		assert_string_equal(e->purchase->referral_code, or_empty(d->referral_code));
		break;
	default:
		fail_msg("kind %d has no body to compare", (int)d->kind);
	}
}

/* Encodes d, decodes it as the daemon does (canonical check included) and
 * compares; then its signed envelope, which must name the key and verify. */
static void round_trip(struct fixture *f, const struct pc_event_desc *d)
{
	uint8_t payload[1024];
	size_t plen, elen;
	pc_code code = POINTCLEAR__V1__CODE__INTERNAL;
	Pointclear__V1__Event *e;
	Pointclear__V1__SignedEvent *se;
	uint8_t *env;

	assert_int_equal(pc_event_encode(d, payload, sizeof payload, &plen), PC_EB_OK);
	e = pc_event_unpack(payload, plen, &code);
	if (e == NULL)
		fail_msg("%s: %s", pc_event_kind_name(d->kind), pc_code_name(code));
	assert_decoded(e, d);
	pc_event_free(e);

	env = pc_event_sign(d, f->sk, f->key_id, &elen, NULL);
	assert_non_null(env);
	se = pc_signed_event_unpack(env, elen, &code);
	assert_non_null(se);
	assert_string_equal(se->key_id, f->key_id);
	assert_int_equal(se->payload.len, plen);
	assert_memory_equal(se->payload.data, payload, plen);
	assert_int_equal(se->signature.len, PC_SIG_SIZE);
	assert_true(pc_verify(se->signature.data, PC_EVENT_PAYLOAD_TYPE, se->payload.data,
	                      se->payload.len, f->pk));
	pc_signed_event_free(se);
	free(env);
}

static void test_every_kind_round_trips(void **state)
{
	struct fixture *f = *state;
	bool seen[PC_EVENT_NKINDS] = {false};
	/* beyond the samples: every optional field at once, and values at the edges */
	const struct pc_event_desc extra[] = {
		{.kind = PC_EVENT_EARN, .alliance_id = "al", .merchant_id = "m", .event_id = "x",
		 .event_time_us = INT64_MAX, .member_id = "m1", .amount = INT64_MIN},
		{.kind = PC_EVENT_REDEEM, .alliance_id = "al", .event_id = "y", .event_time_us = -1,
		 .member_id = "m1", .amount = 1, .reason = "r\xc3\xa9sum\xc3\xa9"},
		{.kind = PC_EVENT_HOLD, .member_id = "m1", .amount = 5, .duration_s = UINT32_MAX},
		{.kind = PC_EVENT_VOID, .ref = {.by = PC_REF_EVENT_ID, .event_id = "h"}},
		{.kind = PC_EVENT_CAPTURE, .ref = {.by = PC_REF_SEQUENCE, .sequence = UINT64_MAX}},
		{.kind = PC_EVENT_REFERRAL, .member_id = "m1", .touch_time_us = -5},
		{.kind = PC_EVENT_PURCHASE, .member_id = "m1", .amount = -3, .currency = "EUR"},
	};

	for (int k = 0; k < SAMPLE_COUNT; k++) {
		struct sample s;

		sample_init(&s, (enum sample_kind)k);
		round_trip(f, &s.desc);
		seen[s.desc.kind] = true;
	}
	for (int k = PC_EVENT_EARN; k < PC_EVENT_NKINDS; k++)
		if (!seen[k])
			fail_msg("no sample of kind %s", pc_event_kind_name((enum pc_event_kind)k));
	for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
		round_trip(f, &extra[i]);
}

/* NULL and "" are the same empty string: one event, one byte form. */
static void test_null_is_empty(void **state)
{
	struct sample s;
	struct pc_event_desc d;
	uint8_t a[512], b[512];
	size_t alen, blen;

	(void)state;
	sample_init(&s, SAMPLE_REVERSAL_BY_ID);
	d = s.desc;
	d.reason = "";
	d.store_id = "";
	assert_int_equal(pc_event_encode(&d, a, sizeof a, &alen), PC_EB_OK);
	d.reason = NULL;
	d.store_id = NULL;
	assert_int_equal(pc_event_encode(&d, b, sizeof b, &blen), PC_EB_OK);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
}

/* A buffer one byte short is refused before anything is written or signed, and
 * says how much is needed. */
static void test_short_buffers(void **state)
{
	struct fixture *f = *state;
	struct sample s;
	uint8_t payload[512], env[640];
	size_t plen, need, len = 0;

	sample_init(&s, SAMPLE_REFERRAL);
	assert_int_equal(pc_event_encode(&s.desc, payload, sizeof payload, &plen), PC_EB_OK);
	memset(payload + 256, 0xaa, 8);
	assert_int_equal(pc_event_encode(&s.desc, payload + 256, plen - 1, &len), PC_EB_TOO_SMALL);
	assert_int_equal(len, plen);
	assert_int_equal(payload[256], 0xaa);

	need = pc_envelope_size(plen, f->key_id);
	memset(env, 0xaa, sizeof env);
	assert_int_equal(pc_envelope_seal(env, need - 1, &len, payload, plen, f->sk, f->key_id),
	                 PC_EB_TOO_SMALL);
	assert_int_equal(len, need);
	assert_int_equal(env[0], 0xaa);
}

/* The envelope's size is known before signing, across every varint boundary of
 * the payload's length and with any key id. */
static void test_envelope_size(void **state)
{
	struct fixture *f = *state;
	static const size_t lens[] = {0, 1, 127, 128, 200, 16383, 16384, 16500};
	const char *ids[] = {f->key_id, "", NULL};
	uint8_t *payload = calloc(16500, 1), *env = malloc(16600);

	assert_non_null(payload);
	assert_non_null(env);
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		for (size_t j = 0; j < sizeof ids / sizeof ids[0]; j++) {
			size_t need = pc_envelope_size(lens[i], ids[j]), len = 0;
			pc_code code;
			Pointclear__V1__SignedEvent *se;

			assert_int_equal(pc_envelope_seal(env, need, &len, payload, lens[i], f->sk,
			                                  ids[j]), PC_EB_OK);
			assert_int_equal(len, need);
			se = pc_signed_event_unpack(env, len, &code);
			assert_non_null(se);
			assert_int_equal(se->payload.len, lens[i]);
			assert_string_equal(se->key_id, ids[j] ? ids[j] : "");
			pc_signed_event_free(se);
		}
	}
	free(payload);
	free(env);
}

/* A description that says two things, or names no kind, builds nothing. */
static void test_refusals(void **state)
{
	struct fixture *f = *state;
	struct sample s;
	const struct {
		enum sample_kind base;
		struct pc_event_desc d;
		int want;
	} cases[] = {
		{SAMPLE_EARN, {.kind = PC_EVENT_EARN, .ref = {.by = PC_REF_SEQUENCE}}, PC_EB_STRAY_FIELD},
		{SAMPLE_EARN, {.kind = PC_EVENT_EARN, .duration_s = 1}, PC_EB_STRAY_FIELD},
		{SAMPLE_VOID, {.kind = PC_EVENT_VOID, .amount = 1}, PC_EB_STRAY_FIELD},
		{SAMPLE_HOLD, {.kind = PC_EVENT_HOLD, .reason = "r"}, PC_EB_STRAY_FIELD},
		{SAMPLE_PURCHASE, {.kind = PC_EVENT_PURCHASE, .channel = "qr"}, PC_EB_STRAY_FIELD},
		{SAMPLE_REFERRAL, {.kind = PC_EVENT_REFERRAL, .currency = "EUR"}, PC_EB_STRAY_FIELD},
		{SAMPLE_CAPTURE_BY_ID, {.kind = PC_EVENT_CAPTURE, .member_id = "m"}, PC_EB_STRAY_FIELD},
		{SAMPLE_CAPTURE_BY_ID,
		 {.kind = PC_EVENT_CAPTURE, .ref = {.by = PC_REF_EVENT_ID, .event_id = "h", .sequence = 2}},
		 PC_EB_STRAY_FIELD},
		{SAMPLE_CAPTURE_BY_ID,
		 {.kind = PC_EVENT_CAPTURE, .ref = {.by = PC_REF_SEQUENCE, .event_id = "h"}},
		 PC_EB_STRAY_FIELD},
		{SAMPLE_VOID, {.kind = PC_EVENT_VOID, .ref = {.by = PC_REF_NONE, .sequence = 2}},
		 PC_EB_STRAY_FIELD},
		{SAMPLE_EARN, {.kind = PC_EVENT_NO_BODY, .member_id = "m"}, PC_EB_STRAY_FIELD},
		{SAMPLE_VOID, {.kind = PC_EVENT_VOID, .ref = {.by = (enum pc_event_ref_by)3}},
		 PC_EB_BAD_KIND},
		{SAMPLE_EARN, {.kind = PC_EVENT_NKINDS}, PC_EB_BAD_KIND},
		{SAMPLE_EARN, {.kind = (enum pc_event_kind)-1}, PC_EB_BAD_KIND},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint8_t buf[256];
		size_t len = 12345;
		int err = 0;

		sample_init(&s, cases[i].base);
		assert_int_equal(pc_event_encode(&cases[i].d, buf, sizeof buf, &len), cases[i].want);
		assert_int_equal(len, 12345);
		assert_null(pc_event_sign(&cases[i].d, f->sk, f->key_id, &len, &err));
		assert_int_equal(err, cases[i].want);
		assert_int_equal(pc_event_msg_init(&s.msg, &cases[i].d), cases[i].want);
		assert_string_not_equal(pc_event_build_error(cases[i].want), "unknown error");
	}
}

/* An event without a body builds (tests send it) and the daemon refuses it. */
static void test_no_body(void **state)
{
	struct sample s;
	struct pc_event_desc d;
	uint8_t buf[256];
	size_t len;
	pc_code code = POINTCLEAR__V1__CODE__OK;

	(void)state;
	sample_init(&s, SAMPLE_VOID);
	d = s.desc;
	d.kind = PC_EVENT_NO_BODY;
	d.ref = (struct pc_event_ref){PC_REF_NONE, NULL, 0};
	assert_int_equal(pc_event_encode(&d, buf, sizeof buf, &len), PC_EB_OK);
	assert_null(pc_event_unpack(buf, len, &code));
	assert_int_equal(code, POINTCLEAR__V1__CODE__BAD_PAYLOAD);

	/* and an empty description is an empty Event */
	d = (struct pc_event_desc){0};
	assert_int_equal(pc_event_encode(&d, NULL, 0, &len), PC_EB_OK);
	assert_int_equal(len, 0);
}

static void test_kind_names(void **state)
{
	(void)state;
	for (int k = PC_EVENT_EARN; k < PC_EVENT_NKINDS; k++)
		assert_int_equal(pc_event_kind_by_name(pc_event_kind_name((enum pc_event_kind)k)), k);
	assert_string_equal(pc_event_kind_name(PC_EVENT_PURCHASE), "purchase");
	assert_string_equal(pc_event_kind_name(PC_EVENT_NO_BODY), "none");
	assert_string_equal(pc_event_kind_name(PC_EVENT_NKINDS), "?");
	assert_int_equal(pc_event_kind_by_name("none"), PC_EVENT_NO_BODY);
	assert_int_equal(pc_event_kind_by_name("Earn"), PC_EVENT_NO_BODY);
	assert_int_equal(pc_event_kind_by_name(""), PC_EVENT_NO_BODY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_byte_for_byte),
		cmocka_unit_test(test_every_kind_round_trips),
		cmocka_unit_test(test_null_is_empty),
		cmocka_unit_test(test_short_buffers),
		cmocka_unit_test(test_envelope_size),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_no_body),
		cmocka_unit_test(test_kind_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
