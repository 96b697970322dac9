/* test_vectors.c - holds the library to proto/testvectors/signing.json, vector by vector. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "pbjson.h"
#include "pointclear/codec.h"
#include "pointclear/leaf.h"
#include "pointclear/sign.h"
#include "testutil.h"

#define VECTORS PC_VECTORS_DIR "/signing.json"

static const char *str(json_object *o, const char *name)
{
	json_object *v;

	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
		fail_msg("vector lacks string %s", name);
	return json_object_get_string(v);
}

static const char *opt_str(json_object *o, const char *name)
{
	json_object *v;

	return json_object_object_get_ex(o, name, &v) ? json_object_get_string(v) : NULL;
}

static int64_t i64(json_object *o, const char *name)
{
	return strtoll(str(o, name), NULL, 10);
}

static json_object *array(json_object *root, const char *name, size_t min)
{
	json_object *a;

	if (!json_object_object_get_ex(root, name, &a) || !json_object_is_type(a, json_type_array))
		fail_msg("no array %s", name);
	assert_true(json_object_array_length(a) >= min);
	return a;
}

static int setup(void **state)
{
	json_object *root;

	if (sodium_init() < 0)
		return -1;
	root = json_object_from_file(VECTORS);
	if (root == NULL)
		return -1;
	*state = root;
	return 0;
}

static int teardown(void **state)
{
	json_object_put(*state);
	return 0;
}

static void test_header(void **state)
{
	json_object *root = *state;

	assert_string_equal(str(root, "event_payload_type"), PC_EVENT_PAYLOAD_TYPE);
}

static void test_keys(void **state)
{
	json_object *keys = array(*state, "keys", 3);

	for (size_t i = 0; i < json_object_array_length(keys); i++) {
		json_object *k = json_object_array_get_idx(keys, i);
		size_t len;
		uint8_t *seed = hex_decode(str(k, "seed"), &len);
		uint8_t pk[PC_PK_SIZE], sk[PC_SK_SIZE];
		char id[PC_KEY_ID_LEN + 1];

		assert_int_equal(len, PC_SEED_SIZE);
		pc_keypair_from_seed(pk, sk, seed);
		assert_bytes_hex(pk, sizeof(pk), str(k, "public_key"));
		pc_key_id(id, pk);
		assert_string_equal(id, str(k, "key_id"));
		free(seed);
	}
}

static void test_rfc8032(void **state)
{
	json_object *rfc = array(*state, "rfc8032", 3);

	for (size_t i = 0; i < json_object_array_length(rfc); i++) {
		json_object *v = json_object_array_get_idx(rfc, i);
		size_t seed_len, msg_len, sig_len;
		uint8_t *seed = hex_decode(str(v, "secret_key"), &seed_len);
		uint8_t *msg = hex_decode(str(v, "message"), &msg_len);
		uint8_t *want = hex_decode(str(v, "signature"), &sig_len);
		uint8_t pk[PC_PK_SIZE], sk[PC_SK_SIZE], sig[PC_SIG_SIZE];

		assert_int_equal(sig_len, PC_SIG_SIZE);
		pc_keypair_from_seed(pk, sk, seed);
		assert_bytes_hex(pk, sizeof(pk), str(v, "public_key"));
		crypto_sign_ed25519_detached(sig, NULL, msg, msg_len, sk);
		assert_memory_equal(sig, want, PC_SIG_SIZE);
		assert_int_equal(crypto_sign_ed25519_verify_detached(want, msg, msg_len, pk), 0);
		free(seed);
		free(msg);
		free(want);
	}
}

static void test_leaves(void **state)
{
	json_object *leaves = array(*state, "leaves", 2);

	for (size_t i = 0; i < json_object_array_length(leaves); i++) {
		json_object *v = json_object_array_get_idx(leaves, i), *n;
		size_t env_len, ext_len;
		uint8_t *env = hex_decode(str(v, "envelope"), &env_len);
		uint8_t *ext = hex_decode(str(v, "ext"), &ext_len);
		uint8_t buf[1024], hash[PC_HASH_SIZE];
		struct pc_leaf l = {
			.alliance_id = str(v, "alliance_id"),
			.sequence = (uint64_t)i64(v, "sequence"),
			.accepted_at_us = i64(v, "accepted_at_us"),
			.envelope = env, .envelope_len = env_len,
			.decision = { .balance = i64(v, "balance"), .available = i64(v, "available"),
			              .amount = i64(v, "amount"), .remaining = i64(v, "remaining"),
			              .hold_expires_at_us = i64(v, "hold_expires_at_us") },
			.ext = ext, .ext_len = ext_len,
		};
		size_t len;

		assert_true(json_object_object_get_ex(v, "status", &n));
		l.decision.status = (uint8_t)json_object_get_int(n);
		assert_true(json_object_object_get_ex(v, "code", &n));
		l.decision.code = (uint16_t)json_object_get_int(n);
		len = pc_leaf_encode(buf, sizeof(buf), &l);
		assert_bytes_hex(buf, len, str(v, "leaf"));
		assert_int_equal(pc_leaf_hash(hash, &l), 0);
		assert_bytes_hex(hash, sizeof(hash), str(v, "leaf_hash"));
		free(env);
		free(ext);
	}
}

/* The key of that id from the vectors' key list; false when there is none. */
static bool find_key(json_object *root, const char *id, uint8_t pk[PC_PK_SIZE],
                     uint8_t sk[PC_SK_SIZE])
{
	json_object *keys = array(root, "keys", 1);

	for (size_t i = 0; i < json_object_array_length(keys); i++) {
		json_object *k = json_object_array_get_idx(keys, i);
		size_t len;
		uint8_t *seed;

		if (strcmp(str(k, "key_id"), id) != 0)
			continue;
		seed = hex_decode(str(k, "seed"), &len);
		pc_keypair_from_seed(pk, sk, seed);
		free(seed);
		return true;
	}
	return false;
}

/* What a verifier decides, step by step in the order PROTOCOL.md sets: the
 * envelope, the key, the signature over the bytes received, then the payload. */
static const char *verdict(json_object *root, const uint8_t *env, size_t env_len)
{
	uint8_t pk[PC_PK_SIZE], sk[PC_SK_SIZE];
	pc_code code;
	Pointclear__V1__SignedEvent *se = pc_signed_event_unpack(env, env_len, &code);
	Pointclear__V1__Event *e;
	const char *v = "valid";

	if (se == NULL) {
		assert_int_equal(code, POINTCLEAR__V1__CODE__BAD_ENVELOPE);
		return "bad_envelope";
	}
	if (!find_key(root, se->key_id, pk, sk))
		v = "unknown_key";
	else if (se->signature.len != PC_SIG_SIZE ||
	         !pc_verify(se->signature.data, PC_EVENT_PAYLOAD_TYPE, se->payload.data,
	                    se->payload.len, pk))
		v = "bad_signature";
	else if ((e = pc_event_unpack(se->payload.data, se->payload.len, &code)) == NULL)
		v = code == POINTCLEAR__V1__CODE__NON_CANONICAL ? "non_canonical" :
		    code == POINTCLEAR__V1__CODE__BAD_PAYLOAD ? "bad_payload" : "?";
	else
		pc_event_free(e);
	pc_signed_event_free(se);
	return v;
}

/* The envelope carries exactly the payload, key id and signature listed. */
static void check_envelope_parts(json_object *v, const uint8_t *env, size_t env_len)
{
	Pointclear__V1__SignedEvent *se = pc_signed_event_unpack(env, env_len, NULL);

	assert_non_null(se);
	assert_bytes_hex(se->payload.data, se->payload.len, str(v, "payload"));
	assert_bytes_hex(se->signature.data, se->signature.len, str(v, "signature"));
	assert_string_equal(se->key_id, str(v, "key_id"));
	pc_signed_event_free(se);
}

/* Reproduces the PAE, the signature (when it is a genuine one) and, for valid
 * vectors, the payload from the event's fields. */
static void check_reproduced(json_object *root, json_object *v, const uint8_t *payload,
                             size_t len)
{
	uint8_t pk[PC_PK_SIZE], sk[PC_SK_SIZE], sig[PC_SIG_SIZE];
	size_t pae_len = pc_pae_length(PC_EVENT_PAYLOAD_TYPE, len), sig_len;
	uint8_t *pae = malloc(pae_len), *want = hex_decode(str(v, "signature"), &sig_len);
	const char *by;
	json_object *event;

	assert_non_null(pae);
	assert_int_equal(pc_pae_encode(pae, pae_len, PC_EVENT_PAYLOAD_TYPE, payload, len), pae_len);
	assert_bytes_hex(pae, pae_len, str(v, "pae"));
	if ((by = opt_str(v, "signed_by")) != NULL) {
		assert_true(find_key(root, by, pk, sk));
		assert_int_equal(pc_sign(sig, PC_EVENT_PAYLOAD_TYPE, payload, len, sk), 0);
		assert_memory_equal(sig, want, PC_SIG_SIZE);
	}
	if ((by = opt_str(v, "signed_raw_by")) != NULL) {
		assert_true(find_key(root, by, pk, sk));
		assert_int_equal(crypto_sign_ed25519_verify_detached(want, payload, len, pk), 0);
	}
	if (json_object_object_get_ex(v, "event", &event)) {
		ProtobufCMessage *m = pbjson_to_message(&pointclear__v1__event__descriptor, event);
		Pointclear__V1__Event *back = pc_event_unpack(payload, len, NULL);
		json_object *again;
		size_t packed_len;
		uint8_t *packed;

		assert_non_null(m);
		packed = pc_pack(m, &packed_len);
		assert_bytes_hex(packed, packed_len, str(v, "payload"));
		assert_non_null(back);
		again = pbjson_from_message(&back->base);
		assert_true(json_object_equal(again, event));
		json_object_put(again);
		pc_event_free(back);
		protobuf_c_message_free_unpacked(m, NULL);
		free(packed);
	}
	free(pae);
	free(want);
}

static void test_events(void **state)
{
	json_object *root = *state, *events = array(root, "events", 30);
	size_t seen_valid = 0, seen_nc = 0, seen_bad_sig = 0, seen_bad_payload = 0;

	for (size_t i = 0; i < json_object_array_length(events); i++) {
		json_object *v = json_object_array_get_idx(events, i);
		const char *want = str(v, "verdict");
		size_t env_len, len;
		uint8_t *env = hex_decode(str(v, "envelope"), &env_len), *payload;
		const char *got = verdict(root, env, env_len);

		if (strcmp(got, want) != 0)
			fail_msg("%s: verdict %s, vector says %s", str(v, "name"), got, want);
		seen_valid += strcmp(want, "valid") == 0;
		seen_nc += strcmp(want, "non_canonical") == 0;
		seen_bad_sig += strcmp(want, "bad_signature") == 0;
		seen_bad_payload += strcmp(want, "bad_payload") == 0;
		if (strcmp(want, "bad_envelope") != 0) {
			check_envelope_parts(v, env, env_len);
			payload = hex_decode(str(v, "payload"), &len);
			check_reproduced(root, v, payload, len);
			free(payload);
		}
		free(env);
	}
	assert_true(seen_valid >= 7 && seen_nc >= 4 && seen_bad_sig >= 4 && seen_bad_payload >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_rfc8032),
		cmocka_unit_test(test_leaves),
		cmocka_unit_test(test_events),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
