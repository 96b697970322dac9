/* test_sign.c - unit tests of PAE, Ed25519 signing and key ids (RFC 8032 7.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "pointclear/sign.h"
#include "testutil.h"

struct rfc8032 {
	const char *seed, *pk, *msg, *sig;
};

/* RFC 8032, section 7.1, TEST 1 to TEST 3. */
static const struct rfc8032 rfc_vectors[] = {
	{ "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
	  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
	  "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
	{ "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
	  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e"
	  "458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
	{ "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
	  "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
	  "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290"
	  "ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a" },
};

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

/* The raw Ed25519 underneath pc_sign: keypair from seed, deterministic signature. */
static void test_rfc8032(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rfc_vectors) / sizeof(rfc_vectors[0]); i++) {
		const struct rfc8032 *v = &rfc_vectors[i];
		size_t seed_len, msg_len;
		uint8_t *seed = hex_decode(v->seed, &seed_len);
		uint8_t *msg = hex_decode(v->msg, &msg_len);
		uint8_t pk[PC_PK_SIZE], sk[PC_SK_SIZE], sig[PC_SIG_SIZE];

		assert_int_equal(seed_len, PC_SEED_SIZE);
		pc_keypair_from_seed(pk, sk, seed);
		assert_bytes_hex(pk, sizeof(pk), v->pk);
		crypto_sign_ed25519_detached(sig, NULL, msg, msg_len, sk);
		assert_bytes_hex(sig, sizeof(sig), v->sig);
		assert_int_equal(crypto_sign_ed25519_verify_detached(sig, msg, msg_len, pk), 0);
		/* Signed raw, it is not a signature under the PAE rule. */
		assert_false(pc_verify(sig, PC_EVENT_PAYLOAD_TYPE, msg, msg_len, pk));
		free(seed);
		free(msg);
	}
}

static void test_pae_dsse_example(void **state)
{
	/* The example of the DSSE specification. */
	static const char expect[] = "DSSEv1 29 http://example.com/HelloWorld 11 hello world";
	uint8_t out[128];
	size_t n;

	(void)state;
	assert_int_equal(pc_pae_length("http://example.com/HelloWorld", 11), strlen(expect));
	n = pc_pae_encode(out, sizeof(out), "http://example.com/HelloWorld",
	                  (const uint8_t *)"hello world", 11);
	assert_int_equal(n, strlen(expect));
	assert_memory_equal(out, expect, n);
}

static void test_pae_event_type(void **state)
{
	static const char expect[] =
		"DSSEv1 44 application/vnd.pointclear.event.v1+protobuf 3 \x00\x01\x02";
	static const char receipt[] =
		"DSSEv1 51 application/vnd.pointclear.receipt-tree.v1+protobuf 0 ";
	uint8_t out[128];
	size_t n;

	(void)state;
	n = pc_pae_encode(out, sizeof(out), PC_EVENT_PAYLOAD_TYPE,
	                  (const uint8_t *)"\x00\x01\x02", 3);
	assert_int_equal(n, sizeof(expect) - 1);
	assert_memory_equal(out, expect, n);
	n = pc_pae_encode(out, sizeof(out), PC_RECEIPT_TREE_PAYLOAD_TYPE, NULL, 0);
	assert_int_equal(n, strlen(receipt));
	assert_memory_equal(out, receipt, n);
	/* One byte short is refused, not truncated. */
	assert_int_equal(pc_pae_encode(out, strlen(receipt) - 1, PC_RECEIPT_TREE_PAYLOAD_TYPE,
	                               NULL, 0), 0);
}

static void test_pae_length_digits(void **state)
{
	(void)state;
	/* "DSSEv1 " + "1 t " + digits + " " + body */
	assert_int_equal(pc_pae_length("t", 9), 7 + 4 + 1 + 1 + 9);
	assert_int_equal(pc_pae_length("t", 10), 7 + 4 + 2 + 1 + 10);
	assert_int_equal(pc_pae_length("t", 1048576), 7 + 4 + 7 + 1 + 1048576);
}

static void test_key_id(void **state)
{
	/* Independently: SHA-256 of each RFC 8032 public key, first 8 bytes. */
	static const char *const ids[] = { "21fe31dfa154a261", "39f713d0a644253f",
	                                   "dac073e0123bdea5" };

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		size_t len;
		uint8_t *pk = hex_decode(rfc_vectors[i].pk, &len);
		char id[PC_KEY_ID_LEN + 1];

		memset(id, 'x', sizeof(id));
		pc_key_id(id, pk);
		assert_string_equal(id, ids[i]);
		free(pk);
	}
}

static void keypair(uint8_t pk[PC_PK_SIZE], uint8_t sk[PC_SK_SIZE], uint8_t fill)
{
	uint8_t seed[PC_SEED_SIZE];

	memset(seed, fill, sizeof(seed));
	pc_keypair_from_seed(pk, sk, seed);
}

static void test_sign_verify(void **state)
{
	uint8_t pk[PC_PK_SIZE], sk[PC_SK_SIZE], pk2[PC_PK_SIZE], sk2[PC_SK_SIZE];
	uint8_t sig[PC_SIG_SIZE], again[PC_SIG_SIZE];
	uint8_t body[] = "an event";

	(void)state;
	keypair(pk, sk, 1);
	keypair(pk2, sk2, 2);
	assert_int_equal(pc_sign(sig, PC_EVENT_PAYLOAD_TYPE, body, 8, sk), 0);
	assert_int_equal(pc_sign(again, PC_EVENT_PAYLOAD_TYPE, body, 8, sk), 0);
	assert_memory_equal(sig, again, PC_SIG_SIZE);   /* deterministic */
	assert_true(pc_verify(sig, PC_EVENT_PAYLOAD_TYPE, body, 8, pk));
	assert_false(pc_verify(sig, PC_EVENT_PAYLOAD_TYPE, body, 8, pk2));
	assert_false(pc_verify(sig, PC_RECEIPT_TREE_PAYLOAD_TYPE, body, 8, pk));
	assert_false(pc_verify(sig, PC_EVENT_PAYLOAD_TYPE, body, 7, pk));
	body[0] ^= 1;
	assert_false(pc_verify(sig, PC_EVENT_PAYLOAD_TYPE, body, 8, pk));
	body[0] ^= 1;
	for (size_t bit = 0; bit < 8 * PC_SIG_SIZE; bit += 37) {
		sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_false(pc_verify(sig, PC_EVENT_PAYLOAD_TYPE, body, 8, pk));
		sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_true(pc_verify(sig, PC_EVENT_PAYLOAD_TYPE, body, 8, pk));
}

/* Signing is over PAE(type, body), byte for byte. */
static void test_sign_is_over_pae(void **state)
{
	uint8_t pk[PC_PK_SIZE], sk[PC_SK_SIZE], sig[PC_SIG_SIZE];
	static const char pae[] = "DSSEv1 44 application/vnd.pointclear.event.v1+protobuf 2 hi";

	(void)state;
	keypair(pk, sk, 3);
	assert_int_equal(pc_sign(sig, PC_EVENT_PAYLOAD_TYPE, (const uint8_t *)"hi", 2, sk), 0);
	assert_int_equal(crypto_sign_ed25519_verify_detached(sig, (const uint8_t *)pae,
	                                                     strlen(pae), pk), 0);
}

static void test_large_bodies(void **state)
{
	size_t max = 1024 * 1024;
	uint8_t *body = calloc(max + 1, 1);
	uint8_t pk[PC_PK_SIZE], sk[PC_SK_SIZE], sig[PC_SIG_SIZE];

	(void)state;
	assert_non_null(body);
	keypair(pk, sk, 4);
	/* Past the stack buffer, and the largest body allowed. */
	assert_int_equal(pc_sign(sig, PC_EVENT_PAYLOAD_TYPE, body, 20000, sk), 0);
	assert_true(pc_verify(sig, PC_EVENT_PAYLOAD_TYPE, body, 20000, pk));
	assert_int_equal(pc_sign(sig, PC_EVENT_PAYLOAD_TYPE, body, max, sk), 0);
	assert_true(pc_verify(sig, PC_EVENT_PAYLOAD_TYPE, body, max, pk));
	assert_int_equal(pc_sign(sig, PC_EVENT_PAYLOAD_TYPE, body, max + 1, sk), -1);
	assert_false(pc_verify(sig, PC_EVENT_PAYLOAD_TYPE, body, max + 1, pk));
	free(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8032),
		cmocka_unit_test(test_pae_dsse_example),
		cmocka_unit_test(test_pae_event_type),
		cmocka_unit_test(test_pae_length_digits),
		cmocka_unit_test(test_key_id),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_sign_is_over_pae),
		cmocka_unit_test(test_large_bodies),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
