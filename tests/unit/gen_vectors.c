/* gen_vectors.c - writes proto/testvectors/signing.json; deterministic, run by hand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "pbjson.h"
#include "pointclear/codec.h"
#include "pointclear/leaf.h"
#include "pointclear/sign.h"
#include "samples.h"
#include "testutil.h"
#include "variants.h"

#define KEY_COUNT 3

struct key {
	uint8_t seed[PC_SEED_SIZE];
	uint8_t pk[PC_PK_SIZE];
	uint8_t sk[PC_SK_SIZE];
	char id[PC_KEY_ID_LEN + 1];
};

/* One signed event as the vectors describe it. */
struct ev {
	const char *name;
	const char *description;
	const char *verdict;
	const char *key_id;          /* named in the envelope */
	const uint8_t *payload;
	size_t payload_len;
	const uint8_t *signature;
	const char *signed_by;       /* key whose PAE signature this is, or NULL */
	const char *signed_raw_by;   /* key that signed the payload without PAE, or NULL */
	json_object *event;          /* the Event as JSON (valid vectors), or NULL */
};

static void add_hex(json_object *o, const char *name, const uint8_t *buf, size_t len)
{
	char *hex = hex_encode(buf, len);

	json_object_object_add(o, name, json_object_new_string(hex));
	free(hex);
}

static void add_str(json_object *o, const char *name, const char *s)
{
	json_object_object_add(o, name, json_object_new_string(s));
}

static void add_i64(json_object *o, const char *name, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	add_str(o, name, buf);
}

static json_object *keys_json(struct key keys[KEY_COUNT])
{
	json_object *arr = json_object_new_array();

	for (int i = 0; i < KEY_COUNT; i++) {
		json_object *k = json_object_new_object();

		memset(keys[i].seed, i + 1, PC_SEED_SIZE);
		pc_keypair_from_seed(keys[i].pk, keys[i].sk, keys[i].seed);
		pc_key_id(keys[i].id, keys[i].pk);
		add_hex(k, "seed", keys[i].seed, PC_SEED_SIZE);
		add_hex(k, "public_key", keys[i].pk, PC_PK_SIZE);
		add_str(k, "key_id", keys[i].id);
		json_object_array_add(arr, k);
	}
	return arr;
}

/* RFC 8032 section 7.1, TEST 1 to 3: raw Ed25519, no PAE. Checked against
 * libsodium (and an independent implementation) before being written down. */
static json_object *rfc8032_json(void)
{
	static const char *const v[3][4] = {
		{ "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
		  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
		  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb882159"
		  "0a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
		{ "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
		  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
		  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43"
		  "e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
		{ "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
		  "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
		  "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538"
		  "d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a" },
	};
	json_object *arr = json_object_new_array();

	for (int i = 0; i < 3; i++) {
		json_object *o = json_object_new_object();
		char name[16];

		snprintf(name, sizeof(name), "TEST %d", i + 1);
		add_str(o, "name", name);
		add_str(o, "secret_key", v[i][0]);
		add_str(o, "public_key", v[i][1]);
		add_str(o, "message", v[i][2]);
		add_str(o, "signature", v[i][3]);
		json_object_array_add(arr, o);
	}
	return arr;
}

static json_object *leaf_json(const char *name, const struct pc_leaf *l)
{
	json_object *o = json_object_new_object();
	uint8_t buf[256], hash[PC_HASH_SIZE];
	size_t len = pc_leaf_encode(buf, sizeof(buf), l);

	if (len == 0 || pc_leaf_hash(hash, l) != 0)
		abort();
	add_str(o, "name", name);
	add_str(o, "alliance_id", l->alliance_id);
	add_i64(o, "sequence", (int64_t)l->sequence);
	add_i64(o, "accepted_at_us", l->accepted_at_us);
	add_hex(o, "envelope", l->envelope, l->envelope_len);
	json_object_object_add(o, "status", json_object_new_int(l->decision.status));
	json_object_object_add(o, "code", json_object_new_int(l->decision.code));
	add_i64(o, "balance", l->decision.balance);
	add_i64(o, "available", l->decision.available);
	add_i64(o, "amount", l->decision.amount);
	add_i64(o, "remaining", l->decision.remaining);
	add_i64(o, "hold_expires_at_us", l->decision.hold_expires_at_us);
	add_hex(o, "ext", l->ext, l->ext_len);
	add_hex(o, "leaf", buf, len);
	add_hex(o, "leaf_hash", hash, sizeof(hash));
	return o;
}

/* The two entries whose hashes sql/002_ledger.sql's pc_leaf_hash computed. */
static json_object *leaves_json(void)
{
	static const uint8_t env1[] = { 0x01 }, env4[] = { 0x04 };
	json_object *arr = json_object_new_array();
	struct pc_leaf l = {
		.alliance_id = "al", .sequence = 0, .accepted_at_us = SAMPLE_TIME_US,
		.envelope = env1, .envelope_len = 1,
		.decision = { 1, 0, 100, 100, 100, 100, 0 },
	};

	json_object_array_add(arr, leaf_json("earn approved, sequence 0", &l));
	l.sequence = 3;
	l.envelope = env4;
	l.decision = (struct pc_leaf_decision){ 1, 0, 120, 60, 60, 0,
	                                        SAMPLE_TIME_US + 600000000 };
	json_object_array_add(arr, leaf_json("hold approved, sequence 3", &l));
	return arr;
}

static json_object *ev_json(const struct ev *e)
{
	Pointclear__V1__SignedEvent se = POINTCLEAR__V1__SIGNED_EVENT__INIT;
	json_object *o = json_object_new_object();
	size_t pae_len = pc_pae_length(PC_EVENT_PAYLOAD_TYPE, e->payload_len), env_len;
	uint8_t *pae = malloc(pae_len), *env;

	if (pae == NULL)
		abort();
	pc_pae_encode(pae, pae_len, PC_EVENT_PAYLOAD_TYPE, e->payload, e->payload_len);
	se.payload = (ProtobufCBinaryData){ e->payload_len, (uint8_t *)e->payload };
	se.key_id = (char *)e->key_id;
	se.signature = (ProtobufCBinaryData){ PC_SIG_SIZE, (uint8_t *)e->signature };
	env = pc_pack(&se.base, &env_len);
	add_str(o, "name", e->name);
	add_str(o, "description", e->description);
	add_str(o, "verdict", e->verdict);
	add_str(o, "key_id", e->key_id);
	if (e->signed_by != NULL)
		add_str(o, "signed_by", e->signed_by);
	if (e->signed_raw_by != NULL)
		add_str(o, "signed_raw_by", e->signed_raw_by);
	if (e->event != NULL)
		json_object_object_add(o, "event", e->event);
	add_hex(o, "payload", e->payload, e->payload_len);
	add_hex(o, "pae", pae, pae_len);
	add_hex(o, "signature", e->signature, PC_SIG_SIZE);
	add_hex(o, "envelope", env, env_len);
	free(pae);
	free(env);
	return o;
}

static void sign(uint8_t sig[PC_SIG_SIZE], const uint8_t *payload, size_t len,
                 const struct key *k)
{
	if (pc_sign(sig, PC_EVENT_PAYLOAD_TYPE, payload, len, k->sk) != 0)
		abort();
}

static void add_valid(json_object *arr, const struct key *k)
{
	for (int i = 0; i < SAMPLE_COUNT; i++) {
		struct sample s;
		size_t len;
		uint8_t *payload, sig[PC_SIG_SIZE];

		sample_init(&s, (enum sample_kind)i);
		payload = pc_pack(&s.event.base, &len);
		sign(sig, payload, len, k);
		json_object_array_add(arr, ev_json(&(struct ev){
			.name = s.name, .description = "canonical payload, signed over its PAE",
			.verdict = "valid", .key_id = k->id, .payload = payload,
			.payload_len = len, .signature = sig, .signed_by = k->id,
			.event = pbjson_from_message(&s.event.base) }));
		free(payload);
	}
}

static void add_bad_signatures(json_object *arr, const struct key keys[KEY_COUNT])
{
	struct sample s;
	size_t len;
	uint8_t *payload, sig[PC_SIG_SIZE], other[PC_SIG_SIZE];
	struct ev e;

	sample_init(&s, SAMPLE_EARN);
	payload = pc_pack(&s.event.base, &len);
	sign(sig, payload, len, &keys[0]);
	e = (struct ev){ .verdict = "bad_signature", .key_id = keys[0].id,
	                 .payload = payload, .payload_len = len, .signature = other };

	memcpy(other, sig, sizeof(other));
	other[10] ^= 0x01;
	e.name = "flipped_signature_bit";
	e.description = "the earn vector with bit 0 of signature byte 10 flipped";
	json_object_array_add(arr, ev_json(&e));

	e.name = "flipped_payload_byte";
	e.description = "the earn vector with its payload's last byte xor 0x01 (still a "
	                "canonical event), signature unchanged";
	e.signature = sig;
	payload[len - 1] ^= 0x01;
	json_object_array_add(arr, ev_json(&e));
	payload[len - 1] ^= 0x01;

	e.name = "other_key";
	e.description = "names the first key, signed by the second";
	sign(other, payload, len, &keys[1]);
	e.signature = other;
	e.signed_by = keys[1].id;
	json_object_array_add(arr, ev_json(&e));

	e.name = "raw_without_pae";
	e.description = "Ed25519 over the payload bytes themselves, not over their PAE";
	crypto_sign_ed25519_detached(other, NULL, payload, len, keys[0].sk);
	e.signed_by = NULL;
	e.signed_raw_by = keys[0].id;
	json_object_array_add(arr, ev_json(&e));

	e.name = "receipt_payload_type";
	e.description = "signed over PAE with the receipt tree payload type instead of the event's";
	pc_sign(other, PC_RECEIPT_TREE_PAYLOAD_TYPE, payload, len, keys[0].sk);
	e.signed_raw_by = NULL;
	json_object_array_add(arr, ev_json(&e));

	e.name = "unknown_key";
	e.description = "a valid signature by a key the verifier does not know of";
	e.verdict = "unknown_key";
	e.key_id = "0000000000000000";
	e.signature = sig;
	e.signed_by = keys[0].id;
	json_object_array_add(arr, ev_json(&e));
	free(payload);
}

/* Validly signed, so the refusal comes from the payload itself. */
static void add_variants(json_object *arr, const struct key *k)
{
	for (size_t i = 0; i < VARIANT_COUNT; i++) {
		struct pbw w = { 0 };
		uint8_t sig[PC_SIG_SIZE];
		bool nc = variants[i].expect == POINTCLEAR__V1__CODE__NON_CANONICAL;

		variants[i].build(&w);
		sign(sig, w.buf, w.len, k);
		json_object_array_add(arr, ev_json(&(struct ev){
			.name = variants[i].name, .description = variants[i].description,
			.verdict = nc ? "non_canonical" : "bad_payload", .key_id = k->id,
			.payload = w.buf, .payload_len = w.len, .signature = sig,
			.signed_by = k->id }));
		free(w.buf);
	}
}

/* Envelopes that do not parse have no fields to describe: raw bytes only. */
static void add_bad_envelopes(json_object *arr)
{
	static const struct {
		const char *name, *description, *hex;
	} bad[] = {
		{ "envelope_garbage", "four 0xff bytes", "ffffffff" },
		{ "envelope_truncated", "payload length 16, 3 bytes present", "0a10520010" },
		{ "envelope_wrong_wire_type", "payload as a varint", "0801" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_object *o = json_object_new_object();

		add_str(o, "name", bad[i].name);
		add_str(o, "description", bad[i].description);
		add_str(o, "verdict", "bad_envelope");
		add_str(o, "envelope", bad[i].hex);
		json_object_array_add(arr, o);
	}
}

int main(int argc, char **argv)
{
	struct key keys[KEY_COUNT];
	json_object *root, *events;
	FILE *out = stdout;

	if (sodium_init() < 0)
		return 1;
	if (argc > 2 || (argc == 2 && (out = fopen(argv[1], "w")) == NULL)) {
		fprintf(stderr, "usage: gen_vectors [signing.json]\n");
		return 2;
	}
	root = json_object_new_object();
	add_str(root, "format", "pointclear signing vectors");
	json_object_object_add(root, "version", json_object_new_int(1));
	add_str(root, "event_payload_type", PC_EVENT_PAYLOAD_TYPE);
	json_object_object_add(root, "keys", keys_json(keys));
	json_object_object_add(root, "rfc8032", rfc8032_json());
	json_object_object_add(root, "leaves", leaves_json());
	events = json_object_new_array();
	add_valid(events, &keys[0]);
	add_bad_signatures(events, keys);
	add_variants(events, &keys[0]);
	add_bad_envelopes(events);
	json_object_object_add(root, "events", events);
	fprintf(out, "%s\n", json_object_to_json_string_ext(root,
		JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return fclose(out) == 0 ? 0 : 1;
}
