/* test_core_fixture.h - what the core's unit tests share: a merchant key pair
 * and a key snapshot of alliance "al" (currency EUR, a window of 300 s ahead and
 * 7 days back) with merchants m-42 and m-43 active and m-44 gone, and signing
 * of sample events (samples.h) as m-42. Include after cmocka.h. */
#ifndef PC_TEST_CORE_FIXTURE_H
#define PC_TEST_CORE_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <pointclear/codec.h>
#include <pointclear/event_build.h>
#include <pointclear/sign.h>

#include "keycache.h"
#include "samples.h"

/* the validation clock: a second after the samples' event time */
#define NOW_US (SAMPLE_TIME_US + 1000000)

static uint8_t pk[PC_PK_SIZE], sk[PC_SK_SIZE];
static uint8_t other_pk[PC_PK_SIZE], other_sk[PC_SK_SIZE];
static char key_id[PC_KEY_ID_LEN + 1], other_key_id[PC_KEY_ID_LEN + 1];

static inline int fixture_init(void)
{
	uint8_t seed[PC_SEED_SIZE];
	if (sodium_init() < 0)
		return -1;
	memset(seed, 7, sizeof seed);
	pc_keypair_from_seed(pk, sk, seed);
	pc_key_id(key_id, pk);
	memset(seed, 8, sizeof seed);
	pc_keypair_from_seed(other_pk, other_sk, seed);
	pc_key_id(other_key_id, other_pk);
	return 0;
}

static inline struct pc_keys *make_keys(void)
{
	struct pc_keys *k = pc_keys_new();
	struct pc_alliance_info a = { .id = "al", .currency = "EUR",
	                              .window_future_us = INT64_C(300) * 1000000,
	                              .window_past_us = INT64_C(7) * 86400 * 1000000 };
	pc_keys_add_alliance(k, &a);
	static const char *const merchants[] = { "m-42", "m-43", "m-44" };
	for (int i = 0; i < 3; i++) {
		struct pc_merchant_info m = { .alliance = "al",
		                              .status = i == 2 ? PC_MERCHANT_GONE : PC_MERCHANT_ACTIVE };
		snprintf(m.id, sizeof m.id, "%s", merchants[i]);
		pc_keys_add_merchant(k, &m);
	}
	struct pc_key_info key = { .alliance = "al", .merchant = "m-42", .valid_from_us = 0,
	                           .revoked_at_us = INT64_MAX };
	memcpy(key.pk, pk, sizeof pk);
	memcpy(key.key_id, key_id, sizeof key.key_id);
	pc_keys_add_key(k, &key);
	/* the same public key under ids that are revoked and not yet valid */
	memcpy(key.key_id, "aaaaaaaaaaaaaaaa", 17);
	key.revoked_at_us = NOW_US - 1;
	pc_keys_add_key(k, &key);
	memcpy(key.key_id, "bbbbbbbbbbbbbbbb", 17);
	key.revoked_at_us = INT64_MAX;
	key.valid_from_us = NOW_US + 1;
	pc_keys_add_key(k, &key);
	struct pc_key_info other = { .alliance = "al", .merchant = "m-43", .valid_from_us = 0,
	                             .revoked_at_us = INT64_MAX };
	memcpy(other.pk, other_pk, sizeof other_pk);
	memcpy(other.key_id, other_key_id, sizeof other.key_id);
	pc_keys_add_key(k, &other);
	memcpy(other.merchant, "m-44", 5);
	memcpy(other.pk, pk, sizeof pk);
	memcpy(other.key_id, "cccccccccccccccc", 17);
	pc_keys_add_key(k, &other);
	pc_keys_seal(k);
	return k;
}

/* The signed envelope of s's event (signed with sk), sealed as every client
 * seals it (event_build.h); with env, packed here instead so that env can
 * change the envelope's fields after signing, as a tampering test does. The
 * payload is s->event as the test left it, not s->desc. */
static inline uint8_t *sign_sample(struct sample *s, void (*env)(Pointclear__V1__SignedEvent *),
                            size_t *len)
{
	size_t plen;
	uint8_t *payload = pc_pack(&s->event.base, &plen);
	uint8_t *out;
	assert_non_null(payload);
	if (!env) {
		size_t cap = pc_envelope_size(plen, key_id);
		out = malloc(cap);
		assert_non_null(out);
		assert_int_equal(pc_envelope_seal(out, cap, len, payload, plen, sk, key_id), PC_EB_OK);
		free(payload);
		return out;
	}
	uint8_t sig[PC_SIG_SIZE];
	assert_int_equal(pc_sign(sig, PC_EVENT_PAYLOAD_TYPE, payload, plen, sk), 0);
	Pointclear__V1__SignedEvent e = POINTCLEAR__V1__SIGNED_EVENT__INIT;
	e.payload.data = payload;
	e.payload.len = plen;
	e.key_id = key_id;
	e.signature.data = sig;
	e.signature.len = sizeof sig;
	env(&e);
	out = pc_pack(&e.base, len);
	assert_non_null(out);
	free(payload);
	return out;
}

#endif
