/* gen_vectors.c - writes proto/testvectors/signing.json; deterministic, run by hand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "canon_variants.h"
#include "pbjson.h"
#include "pointclear/codec.h"
#include "pointclear/event_build.h"
#include "pointclear/frame.h"
#include "pointclear/leaf.h"
#include "pointclear/merkle.h"
#include "pointclear/receipt_check.h"
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
	uint8_t buf[1024], hash[PC_HASH_SIZE];
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

/* The two entries whose hashes sql/functions/20_leaves.sql's pc_leaf_hash computed. */
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

/* Cases added with the canonical envelope (PROTOCOL.md "Canonical encoding"), after
 * all of the above so that those keep their places. */
static void add_canonical_rule(json_object *arr, const struct key *k)
{
	struct sample s;
	size_t len;
	uint8_t *payload, sig[PC_SIG_SIZE];
	struct env_parts parts;

	for (size_t i = 0; i < PAYLOAD_VARIANT_COUNT; i++) {
		struct pbw w = { 0 };

		payload_variants[i].build(&w);
		sign(sig, w.buf, w.len, k);
		json_object_array_add(arr, ev_json(&(struct ev){
			.name = payload_variants[i].name,
			.description = payload_variants[i].description,
			.verdict = payload_variants[i].expect == POINTCLEAR__V1__CODE__NON_CANONICAL
			           ? "non_canonical" : "bad_payload",
			.key_id = k->id, .payload = w.buf, .payload_len = w.len, .signature = sig,
			.signed_by = k->id }));
		free(w.buf);
	}

	/* A oneof member set to its default value is written out, and valid. */
	{
		static const char *const names[2] = { "oneof_sequence_zero", "oneof_empty_body" };
		static const char *const descriptions[2] = {
			"a void of the hold at sequence 0: the oneof member is written although 0",
			"an earn with an empty Earn body: parses and is canonical (the daemon then "
			"answers MISSING_FIELD for its member)",
		};

		for (int i = 0; i < 2; i++) {
			Pointclear__V1__Event *back;
			Pointclear__V1__Earn empty = POINTCLEAR__V1__EARN__INIT;
			Pointclear__V1__Void v = POINTCLEAR__V1__VOID__INIT;
			Pointclear__V1__EventRef ref = POINTCLEAR__V1__EVENT_REF__INIT;

			sample_init(&s, i == 0 ? SAMPLE_VOID : SAMPLE_EARN);
			if (i == 0) {
				ref.target_case = POINTCLEAR__V1__EVENT_REF__TARGET_SEQUENCE;
				ref.sequence = 0;
				v.hold = &ref;
				s.event.void_ = &v;
			} else {
				s.event.earn = &empty;
			}
			payload = pc_pack(&s.event.base, &len);
			back = pc_event_unpack(payload, len, NULL);
			if (payload == NULL || back == NULL)
				abort();
			sign(sig, payload, len, k);
			json_object_array_add(arr, ev_json(&(struct ev){
				.name = names[i], .description = descriptions[i], .verdict = "valid",
				.key_id = k->id, .payload = payload, .payload_len = len,
				.signature = sig, .signed_by = k->id,
				.event = pbjson_from_message(&back->base) }));
			pc_event_free(back);
			free(payload);
		}
	}

	/* Envelopes around the valid, signed earn: the refusal is the envelope's. */
	sample_init(&s, SAMPLE_EARN);
	payload = pc_pack(&s.event.base, &len);
	sign(sig, payload, len, k);
	parts = (struct env_parts){ payload, len, k->id, sig };
	for (size_t i = 0; i < ENV_VARIANT_COUNT; i++) {
		json_object *o = json_object_new_object();
		struct pbw w = { 0 };

		env_variants[i].build(&w, &parts);
		add_str(o, "name", env_variants[i].name);
		add_str(o, "description", env_variants[i].description);
		add_str(o, "verdict", env_variants[i].expect == POINTCLEAR__V1__CODE__NON_CANONICAL
		                      ? "non_canonical_envelope" : "bad_envelope");
		add_hex(o, "envelope", w.buf, w.len);
		json_object_array_add(arr, o);
		free(w.buf);
	}
	free(payload);
}

/* ------------------------------------------------------------ frames */

/* A whole frame, header and body, as a hex string. */
static json_object *frame_json(uint8_t type, uint64_t request_id, const uint8_t *body,
                               size_t body_len)
{
	uint8_t *frame = malloc(PC_FRAME_HEADER_SIZE + body_len);
	char *hex;
	json_object *o;

	if (frame == NULL)
		abort();
	pc_frame_header_encode(frame, type, request_id, body_len);
	if (body_len > 0)
		memcpy(frame + PC_FRAME_HEADER_SIZE, body, body_len);
	hex = hex_encode(frame, PC_FRAME_HEADER_SIZE + body_len);
	o = json_object_new_string(hex);
	free(hex);
	free(frame);
	return o;
}

static void add_frame(json_object *o, const char *name, uint8_t type, uint64_t request_id,
                      const uint8_t *body, size_t body_len)
{
	json_object_object_add(o, name, frame_json(type, request_id, body, body_len));
}

static const char *verdict_name(pc_code code)
{
	switch (code) {
	case POINTCLEAR__V1__CODE__OK: return "valid";
	case POINTCLEAR__V1__CODE__NON_CANONICAL: return "non_canonical";
	case POINTCLEAR__V1__CODE__BAD_PAYLOAD: return "bad_payload";
	default: abort();
	}
}

/* LOOKUP request frames and the verdict on their bodies. */
static json_object *lookups_json(void)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < LOOKUP_VARIANT_COUNT; i++) {
		const struct lookup_variant *v = &lookup_variants[i];
		json_object *o = json_object_new_object();
		struct pbw w = { 0 };

		v->build(&w);
		add_str(o, "name", v->name);
		add_str(o, "description", v->description);
		add_str(o, "verdict", verdict_name(v->expect));
		if (v->event_id != NULL)
			add_str(o, "event_id", v->event_id);
		add_hex(o, "body", w.buf, w.len);
		add_i64(o, "request_id", (int64_t)(i + 1));
		add_frame(o, "frame", PC_MSG_LOOKUP, i + 1, w.buf, w.len);
		json_object_array_add(arr, o);
		free(w.buf);
	}
	return arr;
}

static const char *enum_name(const ProtobufCEnumDescriptor *d, int value)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);

	if (v == NULL)
		abort();
	return v->name;
}

/* One LOOKUP and its LOOKUP_RESULT. */
static json_object *lookup_result_json(const char *name, const char *description,
                                       const char *event_id, uint64_t request_id,
                                       const Pointclear__V1__SubmitResult *sr,
                                       const int64_t *sequence)
{
	Pointclear__V1__Lookup l = POINTCLEAR__V1__LOOKUP__INIT;
	json_object *o = json_object_new_object();
	size_t body_len, result_len;
	uint8_t *body, *result;

	l.event_id = (char *)event_id;
	body = pc_pack(&l.base, &body_len);
	result = pc_pack(&sr->base, &result_len);
	if (body == NULL || result == NULL)
		abort();
	add_str(o, "name", name);
	add_str(o, "description", description);
	add_str(o, "event_id", event_id);
	add_i64(o, "request_id", (int64_t)request_id);
	add_frame(o, "request", PC_MSG_LOOKUP, request_id, body, body_len);
	add_str(o, "disposition", enum_name(&pointclear__v1__disposition__descriptor,
	                                    sr->disposition));
	add_str(o, "code", enum_name(&pointclear__v1__code__descriptor, sr->code));
	if (sequence != NULL)
		add_i64(o, "sequence", *sequence);
	add_str(o, "message", sr->message);
	add_hex(o, "result", result, result_len);
	add_frame(o, "answer", PC_MSG_LOOKUP_RESULT, request_id, result, result_len);
	free(body);
	free(result);
	return o;
}

/* A refusal or retry answer, as the daemon packs one with its default message. */
static json_object *lookup_refused_json(const char *name, const char *description,
                                        const char *event_id, uint64_t request_id,
                                        Pointclear__V1__Disposition disposition, pc_code code)
{
	Pointclear__V1__SubmitResult sr = POINTCLEAR__V1__SUBMIT_RESULT__INIT;

	sr.disposition = disposition;
	sr.code = code;
	sr.message = (char *)pc_code_message(code);
	return lookup_result_json(name, description, event_id, request_id, &sr, NULL);
}

/* PROTOCOL_ERROR answers to frames that are requests in no state. */
static json_object *protocol_errors_json(const struct key *k)
{
	json_object *arr = json_object_new_array(), *o, *reqs;
	Pointclear__V1__ProtocolError pe = POINTCLEAR__V1__PROTOCOL_ERROR__INIT;
	uint8_t *env, *err;
	size_t env_len, err_len;

	env = pc_event_sign(&sample_table[SAMPLE_EARN].desc, k->sk, k->id, &env_len, NULL);

	pe.code = POINTCLEAR__V1__CODE__DUPLICATE_REQUEST_ID;
	pe.message = (char *)pc_code_message(pe.code);
	err = pc_pack(&pe.base, &err_len);
	if (env == NULL || err == NULL)
		abort();
	o = json_object_new_object();
	reqs = json_object_new_array();
	add_str(o, "name", "duplicate_request_id");
	add_str(o, "description", "two SUBMIT frames with request id 9, the second sent "
	        "before the first was answered: the second is not processed");
	json_object_array_add(reqs, frame_json(PC_MSG_SUBMIT, 9, env, env_len));
	json_object_array_add(reqs, frame_json(PC_MSG_SUBMIT, 9, env, env_len));
	json_object_object_add(o, "requests", reqs);
	add_str(o, "code", enum_name(&pointclear__v1__code__descriptor, pe.code));
	add_str(o, "message", pe.message);
	add_frame(o, "answer", PC_MSG_PROTOCOL_ERROR, 9, err, err_len);
	add_str(o, "connection", "kept");
	json_object_array_add(arr, o);
	free(err);

	pe.code = POINTCLEAR__V1__CODE__UNEXPECTED_BODY;
	pe.message = (char *)pc_code_message(pe.code);
	err = pc_pack(&pe.base, &err_len);
	if (err == NULL)
		abort();
	o = json_object_new_object();
	reqs = json_object_new_array();
	add_str(o, "name", "ping_with_body");
	add_str(o, "description", "a PING of request id 10 with a one-byte body: no PONG");
	json_object_array_add(reqs, frame_json(PC_MSG_PING, 10, (const uint8_t *)"\0", 1));
	json_object_object_add(o, "requests", reqs);
	add_str(o, "code", enum_name(&pointclear__v1__code__descriptor, pe.code));
	add_str(o, "message", pe.message);
	add_frame(o, "answer", PC_MSG_PROTOCOL_ERROR, 10, err, err_len);
	add_str(o, "connection", "kept");
	json_object_array_add(arr, o);
	free(err);
	free(env);
	return arr;
}

/* ------------------------------------------------------------ receipt trees */

#define ENTRY_COUNT 11
#define TREE_COUNT 3
#define TREE_A_US (SAMPLE_TIME_US + 250000)
#define TREE_B_US (SAMPLE_TIME_US + 1250000)
#define TREE_C_US (SAMPLE_TIME_US + 61250000)
#define HOLD_EXPIRES_US (TREE_B_US + 600000000)

/* A ledger the sample events could have made (alliance "al", merchant m-42),
 * recorded in batches of 1, 3 and 7: the decisions follow pc_record_batch's rules
 * (sql/functions/40_record_batch.sql), so a reader can follow the balances. kind -1 is a second redeem, e-0011. */
static const struct entry {
	int kind;
	struct pc_leaf_decision d;
} entries[ENTRY_COUNT] = {
	{ SAMPLE_EARN, { 1, 0, 100, 100, 100, 100, 0 } },
	{ SAMPLE_REDEEM, { 1, 0, 60, 60, 40, 40, 0 } },
	{ SAMPLE_REVERSAL_BY_SEQUENCE, { 1, 0, 85, 85, 25, 15, 0 } },
	{ SAMPLE_HOLD, { 1, 0, 85, 25, 60, 0, HOLD_EXPIRES_US } },
	{ SAMPLE_CAPTURE_BY_ID, { 1, 0, 35, 35, 50, 10, HOLD_EXPIRES_US } },
	{ SAMPLE_CAPTURE_BY_SEQUENCE, { 2, POINTCLEAR__V1__CODE__HOLD_CAPTURED, 35, 35, 0, 0,
	                                HOLD_EXPIRES_US } },
	{ SAMPLE_VOID, { 2, POINTCLEAR__V1__CODE__HOLD_NOT_FOUND, 0, 0, 0, 0, 0 } },
	{ SAMPLE_REVERSAL_BY_ID, { 1, 0, 10, 10, 25, 75, 0 } },
	{ SAMPLE_REFERRAL, { 1, 0, 0, 0, 0, 0, 0 } },
	{ SAMPLE_PURCHASE, { 1, 0, 0, 0, 12995, 12995, 0 } },
	{ -1, { 2, POINTCLEAR__V1__CODE__INSUFFICIENT_POINTS, 10, 10, 0, 0, 0 } },
};

/* A batch reads the clock once, so a tree's entries share accepted_at_us. */
static const struct {
	const char *name;
	uint64_t first;
	size_t size;
	int64_t accepted_at_us;
} trees[TREE_COUNT] = {
	{ "one entry", 0, 1, TREE_A_US },
	{ "three entries", 1, 3, TREE_B_US },
	{ "seven entries", 4, 7, TREE_C_US },
};

/* One sealed tree, built as daemon/receipt.c builds it. */
struct rtree {
	uint64_t first;
	size_t size;
	uint8_t *body[ENTRY_COUNT];
	size_t body_len[ENTRY_COUNT];
	char *event_id[ENTRY_COUNT];
	uint8_t *envelope[ENTRY_COUNT];
	size_t envelope_len[ENTRY_COUNT];
	uint8_t ledger_hash[ENTRY_COUNT][PC_HASH_SIZE];
	struct pc_merkle_tree merkle;
	uint8_t *head;
	size_t head_len;
	uint8_t sig[PC_SIG_SIZE];
};

/* The SUBMIT body of entry i, signed by the merchant key; *event_id is its id. */
static uint8_t *entry_envelope(int i, const struct key *merchant, size_t *len, char **event_id)
{
	struct pc_event_desc d;
	uint8_t *env;

	d = sample_table[entries[i].kind < 0 ? SAMPLE_REDEEM : (enum sample_kind)entries[i].kind].desc;
	if (entries[i].kind < 0)
		d.event_id = "e-0011";
	*event_id = strdup(d.event_id);
	env = pc_event_sign(&d, merchant->sk, merchant->id, len, NULL);
	if (*event_id == NULL || env == NULL)
		abort();
	return env;
}

static uint8_t *pack_body(const char *alliance, uint64_t seq, const uint8_t *leaf_hash,
                          int64_t accepted_at_us, const char *event_id,
                          const struct pc_leaf_decision *ld, size_t *len)
{
	Pointclear__V1__Decision d = POINTCLEAR__V1__DECISION__INIT;
	Pointclear__V1__ReceiptBody b = POINTCLEAR__V1__RECEIPT_BODY__INIT;
	uint8_t *out;

	d.status = (Pointclear__V1__Status)ld->status;
	d.code = (Pointclear__V1__Code)ld->code;
	d.balance = ld->balance;
	d.available = ld->available;
	d.amount = ld->amount;
	d.remaining = ld->remaining;
	d.hold_expires_at_us = ld->hold_expires_at_us;
	b.alliance_id = (char *)alliance;
	b.sequence = seq;
	b.leaf_hash = (ProtobufCBinaryData){ PC_HASH_SIZE, (uint8_t *)leaf_hash };
	b.accepted_at_us = accepted_at_us;
	b.merchant_id = "m-42";
	b.event_id = (char *)event_id;
	b.decision = &d;
	if ((out = pc_pack(&b.base, len)) == NULL)
		abort();
	return out;
}

static uint8_t *pack_head(const char *alliance, uint64_t first, uint64_t size,
                          const uint8_t *root, size_t *len)
{
	Pointclear__V1__ReceiptTreeHead h = POINTCLEAR__V1__RECEIPT_TREE_HEAD__INIT;
	uint8_t *out;

	h.alliance_id = (char *)alliance;
	h.first_sequence = first;
	h.size = size;
	h.root_hash = (ProtobufCBinaryData){ PC_HASH_SIZE, (uint8_t *)root };
	if ((out = pc_pack(&h.base, len)) == NULL)
		abort();
	return out;
}

static void rtree_build(struct rtree *t, int which, const struct key *merchant,
                        const struct key *op)
{
	uint8_t leaves[ENTRY_COUNT][PC_HASH_SIZE];

	memset(t, 0, sizeof(*t));
	t->first = trees[which].first;
	t->size = trees[which].size;
	for (size_t i = 0; i < t->size; i++) {
		int e = (int)(t->first + i);
		struct pc_leaf l = { .alliance_id = "al", .sequence = t->first + i,
		                     .accepted_at_us = trees[which].accepted_at_us,
		                     .decision = entries[e].d };

		t->envelope[i] = entry_envelope(e, merchant, &t->envelope_len[i], &t->event_id[i]);
		l.envelope = t->envelope[i];
		l.envelope_len = t->envelope_len[i];
		if (pc_leaf_hash(t->ledger_hash[i], &l) != 0)
			abort();
		t->body[i] = pack_body("al", t->first + i, t->ledger_hash[i], trees[which].accepted_at_us,
		                       t->event_id[i], &entries[e].d, &t->body_len[i]);
		pc_merkle_leaf_hash(leaves[i], t->body[i], t->body_len[i]);
	}
	if (pc_merkle_build(&t->merkle, (const uint8_t(*)[PC_HASH_SIZE])leaves, t->size) != 0)
		abort();
	t->head = pack_head("al", t->first, t->size, pc_merkle_root(&t->merkle), &t->head_len);
	if (pc_sign(t->sig, PC_RECEIPT_TREE_PAYLOAD_TYPE, t->head, t->head_len, op->sk) != 0)
		abort();
}

static void rtree_free(struct rtree *t)
{
	for (size_t i = 0; i < t->size; i++) {
		free(t->body[i]);
		free(t->event_id[i]);
		free(t->envelope[i]);
	}
	free(t->head);
	pc_merkle_free(&t->merkle);
}

/* A packed Receipt from its parts, as pc_result_recorded packs it. */
static uint8_t *pack_receipt(const uint8_t *body, size_t body_len, const char *key_id,
                             const uint8_t *sig, const uint8_t *head, size_t head_len,
                             uint8_t (*path)[PC_HASH_SIZE], size_t n, size_t *len)
{
	Pointclear__V1__Receipt rc = POINTCLEAR__V1__RECEIPT__INIT;
	ProtobufCBinaryData steps[PC_MERKLE_MAX_PATH];
	uint8_t *out;

	for (size_t i = 0; i < n; i++)
		steps[i] = (ProtobufCBinaryData){ PC_HASH_SIZE, path[i] };
	rc.body = (ProtobufCBinaryData){ body_len, (uint8_t *)body };
	rc.key_id = (char *)key_id;
	rc.signature = (ProtobufCBinaryData){ PC_SIG_SIZE, (uint8_t *)sig };
	rc.tree_head = (ProtobufCBinaryData){ head_len, (uint8_t *)head };
	rc.n_inclusion_path = n;
	rc.inclusion_path = steps;
	if ((out = pc_pack(&rc.base, len)) == NULL)
		abort();
	return out;
}

static json_object *rtree_json(const struct rtree *t, int which, const struct key *op)
{
	json_object *o = json_object_new_object(), *receipts = json_object_new_array();
	size_t pae_len = pc_pae_length(PC_RECEIPT_TREE_PAYLOAD_TYPE, t->head_len);
	uint8_t *pae = malloc(pae_len);

	if (pae == NULL)
		abort();
	pc_pae_encode(pae, pae_len, PC_RECEIPT_TREE_PAYLOAD_TYPE, t->head, t->head_len);
	add_str(o, "name", trees[which].name);
	add_str(o, "alliance_id", "al");
	add_i64(o, "first_sequence", (int64_t)t->first);
	add_i64(o, "size", (int64_t)t->size);
	add_hex(o, "root_hash", pc_merkle_root(&t->merkle), PC_HASH_SIZE);
	add_hex(o, "tree_head", t->head, t->head_len);
	add_hex(o, "pae", pae, pae_len);
	add_str(o, "key_id", op->id);
	add_hex(o, "signature", t->sig, PC_SIG_SIZE);
	for (size_t i = 0; i < t->size; i++) {
		json_object *r = json_object_new_object(), *path = json_object_new_array();
		uint8_t leaf[PC_HASH_SIZE], steps[PC_MERKLE_MAX_PATH][PC_HASH_SIZE], *rc;
		size_t n = pc_merkle_path(&t->merkle, i, steps), rc_len;
		Pointclear__V1__ReceiptBody *b = pc_receipt_body_unpack(t->body[i], t->body_len[i]);

		if (b == NULL)
			abort();
		pc_merkle_leaf_hash(leaf, t->body[i], t->body_len[i]);
		for (size_t j = 0; j < n; j++) {
			char *hex = hex_encode(steps[j], PC_HASH_SIZE);

			json_object_array_add(path, json_object_new_string(hex));
			free(hex);
		}
		rc = pack_receipt(t->body[i], t->body_len[i], op->id, t->sig, t->head, t->head_len,
		                  steps, n, &rc_len);
		add_i64(r, "sequence", (int64_t)(t->first + i));
		add_hex(r, "envelope", t->envelope[i], t->envelope_len[i]);
		json_object_object_add(r, "receipt_body", pbjson_from_message(&b->base));
		add_hex(r, "body", t->body[i], t->body_len[i]);
		add_hex(r, "tree_leaf", leaf, sizeof(leaf));
		json_object_object_add(r, "inclusion_path", path);
		add_hex(r, "receipt", rc, rc_len);
		json_object_array_add(receipts, r);
		pc_receipt_body_free(b);
		free(rc);
	}
	json_object_object_add(o, "receipts", receipts);
	free(pae);
	return o;
}

/* A receipt pc_receipt_check must refuse, and the reason it gives. */
static void add_refused(json_object *arr, const char *name, const char *description,
                        const uint8_t *body, size_t body_len, const struct key *op,
                        const uint8_t *sig, const uint8_t *head, size_t head_len,
                        uint8_t (*path)[PC_HASH_SIZE], size_t n, const char *signed_by,
                        const char *signed_type)
{
	json_object *o = json_object_new_object();
	Pointclear__V1__ReceiptBody *b = NULL;
	size_t rc_len;
	uint8_t *packed = pack_receipt(body, body_len, op->id, sig, head, head_len, path, n,
	                               &rc_len);
	Pointclear__V1__Receipt *rc = pointclear__v1__receipt__unpack(NULL, rc_len, packed);
	const char *why = rc != NULL ? pc_receipt_check(rc, op->pk, NULL, &b) : NULL;

	/* a case the checker accepts is a broken generator, not a vector */
	if (why == NULL)
		abort();
	add_str(o, "name", name);
	add_str(o, "description", description);
	add_str(o, "reason", why);
	if (signed_by != NULL) {
		add_str(o, "signed_by", signed_by);
		add_str(o, "signed_type", signed_type);
	}
	add_hex(o, "receipt", packed, rc_len);
	json_object_array_add(arr, o);
	pointclear__v1__receipt__free_unpacked(rc, NULL);
	free(packed);
}

static json_object *refused_json(struct rtree t[TREE_COUNT], const struct key *merchant,
                                 const struct key *op)
{
	json_object *arr = json_object_new_array();
	const struct rtree *b3 = &t[1], *c7 = &t[2];
	uint8_t path[PC_MERKLE_MAX_PATH][PC_HASH_SIZE], sig[PC_SIG_SIZE], *body, *head;
	size_t n, len, head_len;
	struct pc_leaf_decision approved = entries[5].d;

	/* sequence 6, index 2 of 7: its path has siblings on both sides */
	n = pc_merkle_path(&c7->merkle, 2, path);
	path[1][0] ^= 0x01;
	add_refused(arr, "wrong_path_element", "sequence 6 of the seven-entry tree with bit 0 "
	            "of byte 0 of its second path element flipped", c7->body[2], c7->body_len[2],
	            op, c7->sig, c7->head, c7->head_len, path, n, op->id,
	            PC_RECEIPT_TREE_PAYLOAD_TYPE);
	path[1][0] ^= 0x01;
	add_refused(arr, "truncated_path", "sequence 6 of the seven-entry tree without the last "
	            "element of its path", c7->body[2], c7->body_len[2], op, c7->sig, c7->head,
	            c7->head_len, path, n - 1, op->id, PC_RECEIPT_TREE_PAYLOAD_TYPE);
	memcpy(path[n], pc_merkle_root(&c7->merkle), PC_HASH_SIZE);
	add_refused(arr, "extended_path", "sequence 6 of the seven-entry tree with the root "
	            "appended to its path", c7->body[2], c7->body_len[2], op, c7->sig, c7->head,
	            c7->head_len, path, n + 1, op->id, PC_RECEIPT_TREE_PAYLOAD_TYPE);

	n = pc_merkle_path(&c7->merkle, 1, path);
	add_refused(arr, "other_leaf_path", "the body of sequence 4 with the path of sequence 5",
	            c7->body[0], c7->body_len[0], op, c7->sig, c7->head, c7->head_len, path, n,
	            op->id, PC_RECEIPT_TREE_PAYLOAD_TYPE);

	/* sequence 5 was declined; a forged approval must not check */
	approved.status = POINTCLEAR__V1__STATUS__APPROVED;
	approved.code = 0;
	body = pack_body("al", 5, c7->ledger_hash[1], TREE_C_US, c7->event_id[1], &approved, &len);
	add_refused(arr, "body_not_in_tree", "sequence 5's body with its decision turned from "
	            "declined (HOLD_CAPTURED) to approved, with the genuine path of sequence 5",
	            body, len, op, c7->sig, c7->head, c7->head_len, path, n, op->id,
	            PC_RECEIPT_TREE_PAYLOAD_TYPE);
	free(body);

	n = pc_merkle_path(&b3->merkle, 2, path);
	add_refused(arr, "sequence_before_tree", "the genuine body of sequence 3 (three-entry "
	            "tree) with its own path, under the seven-entry tree's head and signature",
	            b3->body[2], b3->body_len[2], op, c7->sig, c7->head, c7->head_len, path, n,
	            op->id, PC_RECEIPT_TREE_PAYLOAD_TYPE);

	n = pc_merkle_path(&c7->merkle, 6, path);
	body = pack_body("al", 11, c7->ledger_hash[6], TREE_C_US, c7->event_id[6], &entries[10].d,
	                 &len);
	add_refused(arr, "sequence_past_tree", "sequence 10's body with its sequence changed to "
	            "11, one past the seven-entry tree, with the path of sequence 10", body, len, op,
	            c7->sig, c7->head, c7->head_len, path, n, op->id, PC_RECEIPT_TREE_PAYLOAD_TYPE);
	free(body);

	n = pc_merkle_path(&c7->merkle, 2, path);
	body = pack_body("zz", 6, c7->ledger_hash[2], TREE_C_US, c7->event_id[2], &entries[6].d,
	                 &len);
	add_refused(arr, "other_alliance", "sequence 6's body with its alliance changed to zz, "
	            "with the genuine path of sequence 6", body, len, op, c7->sig, c7->head, c7->head_len,
	            path, n, op->id, PC_RECEIPT_TREE_PAYLOAD_TYPE);
	free(body);

	if (pc_sign(sig, PC_RECEIPT_TREE_PAYLOAD_TYPE, c7->head, c7->head_len, merchant->sk) != 0)
		abort();
	add_refused(arr, "other_key", "sequence 6's genuine receipt with the head signed by the "
	            "first key of keys, not the operator", c7->body[2], c7->body_len[2], op, sig,
	            c7->head, c7->head_len, path, n, merchant->id, PC_RECEIPT_TREE_PAYLOAD_TYPE);

	sign(sig, c7->head, c7->head_len, op);
	add_refused(arr, "event_payload_type", "sequence 6's genuine receipt with the head signed "
	            "by the operator under the event payload type", c7->body[2], c7->body_len[2],
	            op, sig, c7->head, c7->head_len, path, n, op->id, PC_EVENT_PAYLOAD_TYPE);

	head = pack_head("al", c7->first, c7->size + 1, pc_merkle_root(&c7->merkle), &head_len);
	add_refused(arr, "altered_head", "sequence 6's receipt with the head's size 7 changed to "
	            "8, signature unchanged", c7->body[2], c7->body_len[2], op, c7->sig, head,
	            head_len, path, n, NULL, NULL);
	free(head);
	return arr;
}

/* The receipt of entry i of tree t, packed as rtree_json packs it. */
static uint8_t *tree_receipt(const struct rtree *t, size_t i, const struct key *op, size_t *len)
{
	uint8_t steps[PC_MERKLE_MAX_PATH][PC_HASH_SIZE];
	size_t n = pc_merkle_path(&t->merkle, i, steps);

	return pack_receipt(t->body[i], t->body_len[i], op->id, t->sig, t->head, t->head_len,
	                    steps, n, len);
}

/* LOOKUP answers over the ledger of receipt_trees: what a resubmission of the
 * entry's bytes gets, REPLAYED with the original receipt, or a refusal. */
static json_object *lookup_results_json(struct rtree t[TREE_COUNT], const struct key *op)
{
	static const struct {
		const char *name, *description;
		int tree;
		size_t index;
	} found[] = {
		{ "found_approved", "sequence 0 (the earn, approved): REPLAYED, its receipt", 0, 0 },
		{ "found_declined", "sequence 5 (a capture, declined HOLD_CAPTURED): REPLAYED, its "
		  "receipt; the code is the decision's", 2, 1 },
	};
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < sizeof(found) / sizeof(found[0]); i++) {
		const struct rtree *tr = &t[found[i].tree];
		size_t idx = found[i].index, rc_len;
		int64_t seq = (int64_t)(tr->first + idx);
		uint8_t *rc = tree_receipt(tr, idx, op, &rc_len);
		Pointclear__V1__Receipt *receipt = pointclear__v1__receipt__unpack(NULL, rc_len, rc);
		Pointclear__V1__SubmitResult sr = POINTCLEAR__V1__SUBMIT_RESULT__INIT;
		const struct pc_leaf_decision *d = &entries[seq].d;

		if (receipt == NULL)
			abort();
		sr.disposition = POINTCLEAR__V1__DISPOSITION__REPLAYED;
		sr.code = (pc_code)d->code;
		/* the daemon's message for a decided entry */
		sr.message = (char *)(d->code == 0 ? "approved" : pc_code_message(sr.code));
		sr.receipt = receipt;
		json_object_array_add(arr, lookup_result_json(found[i].name, found[i].description,
		                                              tr->event_id[idx], 100 + i, &sr, &seq));
		pointclear__v1__receipt__free_unpacked(receipt, NULL);
		free(rc);
	}
	json_object_array_add(arr, lookup_refused_json("not_found", "no entry of this merchant "
	                      "has event id e-9999", "e-9999", 110,
	                      POINTCLEAR__V1__DISPOSITION__REJECTED, POINTCLEAR__V1__CODE__NOT_FOUND));
	json_object_array_add(arr, lookup_refused_json("missing_event_id", "an empty Lookup body",
	                      "", 111, POINTCLEAR__V1__DISPOSITION__REJECTED,
	                      POINTCLEAR__V1__CODE__MISSING_FIELD));
	json_object_array_add(arr, lookup_refused_json("invalid_event_id", "an event id with a "
	                      "space, not an identifier", "e 1", 112,
	                      POINTCLEAR__V1__DISPOSITION__REJECTED, POINTCLEAR__V1__CODE__INVALID_FIELD));
	json_object_array_add(arr, lookup_refused_json("shutting_down", "asked during the drain "
	                      "window of a shutdown", "e-0001", 113,
	                      POINTCLEAR__V1__DISPOSITION__RETRYABLE,
	                      POINTCLEAR__V1__CODE__SHUTTING_DOWN));
	return arr;
}

static json_object *receipt_trees_json(const struct key *merchant, json_object **lookup_results)
{
	json_object *o = json_object_new_object(), *k = json_object_new_object();
	json_object *arr = json_object_new_array();
	struct key op;
	struct rtree t[TREE_COUNT];

	memset(op.seed, 0x04, PC_SEED_SIZE);
	pc_keypair_from_seed(op.pk, op.sk, op.seed);
	pc_key_id(op.id, op.pk);
	add_hex(k, "seed", op.seed, PC_SEED_SIZE);
	add_hex(k, "public_key", op.pk, PC_PK_SIZE);
	add_str(k, "key_id", op.id);
	add_str(o, "payload_type", PC_RECEIPT_TREE_PAYLOAD_TYPE);
	json_object_object_add(o, "operator_key", k);
	for (int i = 0; i < TREE_COUNT; i++) {
		rtree_build(&t[i], i, merchant, &op);
		json_object_array_add(arr, rtree_json(&t[i], i, &op));
	}
	json_object_object_add(o, "trees", arr);
	json_object_object_add(o, "refused", refused_json(t, merchant, &op));
	*lookup_results = lookup_results_json(t, &op);
	for (int i = 0; i < TREE_COUNT; i++)
		rtree_free(&t[i]);
	return o;
}

/* ------------------------------------------------------------ member authorizations */

/* The clearing house's clock for every case: a second after the events' time. */
#define AUTH_CLOCK_US (SAMPLE_TIME_US + 1000000)
#define AUTH_ACCEPTED_US (AUTH_CLOCK_US + 250000)
#define AUTH_MINUTES(n) (INT64_C(60000000) * (n))
/* Random, as member ids are where consent is required. */
#define AUTH_MEMBER "mem-7c41d09e"
#define AUTH_OTHER_MEMBER "mem-2b9fe635"
#define DEVICE_COUNT 3

/* device 0 is AUTH_MEMBER's, 1 AUTH_OTHER_MEMBER's, 2 registered to no one */
static const char *const device_member[DEVICE_COUNT] = { AUTH_MEMBER, AUTH_OTHER_MEMBER, NULL };

enum auth_body { BODY_CANONICAL, BODY_SWAPPED, BODY_ZERO_WRITTEN, BODY_UNKNOWN_FIELD };
enum auth_env { ENV_CANONICAL, ENV_UNKNOWN_FIELD, ENV_SWAPPED };
enum auth_sig { SIG_PAE, SIG_FLIPPED, SIG_EVENT_TYPE };

/* One authorization carried by a REDEEM or HOLD of AUTH_MEMBER at m-42; what
 * differs from the valid redeem, and the codes. */
static const struct auth_case {
	const char *name, *description;
	bool hold;
	int64_t points;
	const char *alliance, *member, *merchant;   /* the body's */
	int64_t max_points;
	int64_t expires_after_us;                    /* expires_at_us - AUTH_CLOCK_US */
	size_t nonce_len;
	int device;                                  /* signer, named by key_id */
	enum auth_body body;
	enum auth_env env;
	enum auth_sig sig;
	pc_code code, submit_code;
	int64_t sequence;                            /* >= 0: recorded, with a leaf */
} auth_cases[] = {
#define AUTH_OK "al", AUTH_MEMBER, "m-42", 500, AUTH_MINUTES(5), 16, 0
	{ "valid_redeem", "a redeem of 40 points with an authorization of at most 500, "
	  "expiring 5 minutes after the clock", false, 40, AUTH_OK, BODY_CANONICAL, ENV_CANONICAL,
	  SIG_PAE, POINTCLEAR__V1__CODE__OK, POINTCLEAR__V1__CODE__OK, 0 },
	{ "valid_hold", "a hold of 60 points for 600 s with an authorization of at most 500",
	  true, 60, AUTH_OK, BODY_CANONICAL, ENV_CANONICAL, SIG_PAE,
	  POINTCLEAR__V1__CODE__OK, POINTCLEAR__V1__CODE__OK, 1 },
	{ "exact_limits", "max_points equal to the event's points and expires_at_us equal to "
	  "the clock: both limits are inclusive", false, 40, "al", AUTH_MEMBER, "m-42", 40, 0, 16, 0,
	  BODY_CANONICAL, ENV_CANONICAL, SIG_PAE, POINTCLEAR__V1__CODE__OK,
	  POINTCLEAR__V1__CODE__OK, -1 },
	{ "flipped_signature_bit", "the valid authorization with bit 0 of signature byte 10 "
	  "flipped", false, 40, AUTH_OK, BODY_CANONICAL, ENV_CANONICAL, SIG_FLIPPED,
	  POINTCLEAR__V1__CODE__MEMBER_AUTH_INVALID, POINTCLEAR__V1__CODE__MEMBER_AUTH_INVALID, -1 },
	{ "event_payload_type", "signed by the device key over PAE with the event payload type "
	  "instead of the authorization's", false, 40, AUTH_OK, BODY_CANONICAL, ENV_CANONICAL,
	  SIG_EVENT_TYPE, POINTCLEAR__V1__CODE__MEMBER_AUTH_INVALID,
	  POINTCLEAR__V1__CODE__MEMBER_AUTH_INVALID, -1 },
	{ "unregistered_device_key", "signed by a device key the clearing house does not know",
	  false, 40, "al", AUTH_MEMBER, "m-42", 500, AUTH_MINUTES(5), 16, 2, BODY_CANONICAL,
	  ENV_CANONICAL, SIG_PAE, POINTCLEAR__V1__CODE__MEMBER_AUTH_INVALID,
	  POINTCLEAR__V1__CODE__MEMBER_AUTH_INVALID, -1 },
	{ "other_members_device_key", "signed by the device key of " AUTH_OTHER_MEMBER ", the "
	  "body naming " AUTH_MEMBER, false, 40, "al", AUTH_MEMBER, "m-42", 500, AUTH_MINUTES(5),
	  16, 1, BODY_CANONICAL, ENV_CANONICAL, SIG_PAE, POINTCLEAR__V1__CODE__MEMBER_AUTH_INVALID,
	  POINTCLEAR__V1__CODE__MEMBER_AUTH_INVALID, -1 },
	{ "body_fields_out_of_order", "member_id written before alliance_id; genuinely signed",
	  false, 40, AUTH_OK, BODY_SWAPPED, ENV_CANONICAL, SIG_PAE,
	  POINTCLEAR__V1__CODE__MEMBER_AUTH_INVALID, POINTCLEAR__V1__CODE__MEMBER_AUTH_INVALID, -1 },
	{ "body_default_written", "max_points 0 written out as a field (a default value); "
	  "genuinely signed", false, 40, "al", AUTH_MEMBER, "m-42", 0, AUTH_MINUTES(5), 16, 0,
	  BODY_ZERO_WRITTEN, ENV_CANONICAL, SIG_PAE, POINTCLEAR__V1__CODE__MEMBER_AUTH_INVALID,
	  POINTCLEAR__V1__CODE__MEMBER_AUTH_INVALID, -1 },
	{ "body_unknown_field", "the valid body followed by field 7, varint 1; genuinely signed",
	  false, 40, AUTH_OK, BODY_UNKNOWN_FIELD, ENV_CANONICAL, SIG_PAE,
	  POINTCLEAR__V1__CODE__MEMBER_AUTH_INVALID, POINTCLEAR__V1__CODE__MEMBER_AUTH_INVALID, -1 },
	{ "nonce_15_bytes", "a canonical body whose nonce is 15 bytes", false, 40, "al",
	  AUTH_MEMBER, "m-42", 500, AUTH_MINUTES(5), 15, 0, BODY_CANONICAL, ENV_CANONICAL, SIG_PAE,
	  POINTCLEAR__V1__CODE__MEMBER_AUTH_INVALID, POINTCLEAR__V1__CODE__MEMBER_AUTH_INVALID, -1 },
	{ "envelope_unknown_field", "the valid SignedAuthorization followed by field 4, "
	  "varint 1: inside the Event it makes the payload non-canonical", false, 40, AUTH_OK,
	  BODY_CANONICAL, ENV_UNKNOWN_FIELD, SIG_PAE, POINTCLEAR__V1__CODE__MEMBER_AUTH_INVALID,
	  POINTCLEAR__V1__CODE__NON_CANONICAL, -1 },
	{ "envelope_fields_out_of_order", "the valid SignedAuthorization with key_id written "
	  "before body", false, 40, AUTH_OK, BODY_CANONICAL, ENV_SWAPPED, SIG_PAE,
	  POINTCLEAR__V1__CODE__MEMBER_AUTH_INVALID, POINTCLEAR__V1__CODE__NON_CANONICAL, -1 },
	{ "other_merchant", "the body names merchant m-43; the event is m-42's", false, 40, "al",
	  AUTH_MEMBER, "m-43", 500, AUTH_MINUTES(5), 16, 0, BODY_CANONICAL, ENV_CANONICAL, SIG_PAE,
	  POINTCLEAR__V1__CODE__MEMBER_AUTH_MISMATCH, POINTCLEAR__V1__CODE__MEMBER_AUTH_MISMATCH, -1 },
	{ "other_member", "the body names " AUTH_OTHER_MEMBER "; the event and the device key "
	  "are " AUTH_MEMBER "'s", false, 40, "al", AUTH_OTHER_MEMBER, "m-42", 500,
	  AUTH_MINUTES(5), 16, 0, BODY_CANONICAL, ENV_CANONICAL, SIG_PAE,
	  POINTCLEAR__V1__CODE__MEMBER_AUTH_MISMATCH, POINTCLEAR__V1__CODE__MEMBER_AUTH_MISMATCH, -1 },
	{ "other_alliance", "the body names alliance zz; the event is al's", false, 40, "zz",
	  AUTH_MEMBER, "m-42", 500, AUTH_MINUTES(5), 16, 0, BODY_CANONICAL, ENV_CANONICAL, SIG_PAE,
	  POINTCLEAR__V1__CODE__MEMBER_AUTH_MISMATCH, POINTCLEAR__V1__CODE__MEMBER_AUTH_MISMATCH, -1 },
	{ "expired", "expires_at_us one microsecond before the clock", false, 40, "al",
	  AUTH_MEMBER, "m-42", 500, -1, 16, 0, BODY_CANONICAL, ENV_CANONICAL, SIG_PAE,
	  POINTCLEAR__V1__CODE__MEMBER_AUTH_EXPIRED, POINTCLEAR__V1__CODE__MEMBER_AUTH_EXPIRED, -1 },
	{ "expires_too_late", "expires_at_us one hour and one microsecond after the clock",
	  false, 40, "al", AUTH_MEMBER, "m-42", 500, AUTH_MINUTES(60) + 1, 16, 0, BODY_CANONICAL,
	  ENV_CANONICAL, SIG_PAE, POINTCLEAR__V1__CODE__MEMBER_AUTH_EXPIRED,
	  POINTCLEAR__V1__CODE__MEMBER_AUTH_EXPIRED, -1 },
	{ "exceeded", "max_points 39 for a redeem of 40 points", false, 40, "al", AUTH_MEMBER,
	  "m-42", 39, AUTH_MINUTES(5), 16, 0, BODY_CANONICAL, ENV_CANONICAL, SIG_PAE,
	  POINTCLEAR__V1__CODE__MEMBER_AUTH_EXCEEDED, POINTCLEAR__V1__CODE__MEMBER_AUTH_EXCEEDED, -1 },
#undef AUTH_OK
};
#define AUTH_CASE_COUNT (sizeof(auth_cases) / sizeof(auth_cases[0]))

static json_object *key_json(const struct key *k)
{
	json_object *o = json_object_new_object();

	add_hex(o, "seed", k->seed, PC_SEED_SIZE);
	add_hex(o, "public_key", k->pk, PC_PK_SIZE);
	add_str(o, "key_id", k->id);
	return o;
}

static void auth_body(struct pbw *w, const struct auth_case *c, const uint8_t *nonce)
{
	Pointclear__V1__MemberAuthorization ma = POINTCLEAR__V1__MEMBER_AUTHORIZATION__INIT;

	ma.alliance_id = (char *)c->alliance;
	ma.member_id = (char *)c->member;
	ma.merchant_id = (char *)c->merchant;
	ma.max_points = c->max_points;
	ma.expires_at_us = AUTH_CLOCK_US + c->expires_after_us;
	ma.nonce = (ProtobufCBinaryData){ c->nonce_len, (uint8_t *)nonce };
	switch (c->body) {
	case BODY_CANONICAL:
		pbw_message(w, &ma.base);
		break;
	case BODY_UNKNOWN_FIELD:
		pbw_message(w, &ma.base);
		pbw_uint(w, 7, 1);
		break;
	case BODY_SWAPPED:
	case BODY_ZERO_WRITTEN:
		if (c->body == BODY_SWAPPED)
			pbw_str(w, 2, c->member);
		pbw_str(w, 1, c->alliance);
		if (c->body == BODY_ZERO_WRITTEN)
			pbw_str(w, 2, c->member);
		pbw_str(w, 3, c->merchant);
		pbw_uint(w, 4, (uint64_t)c->max_points);
		pbw_uint(w, 5, (uint64_t)ma.expires_at_us);
		pbw_len(w, 6, nonce, c->nonce_len);
		break;
	}
}

static void auth_envelope(struct pbw *w, const struct auth_case *c, const struct pbw *body,
                          const char *key_id, const uint8_t *sig)
{
	Pointclear__V1__SignedAuthorization sa = POINTCLEAR__V1__SIGNED_AUTHORIZATION__INIT;

	sa.body = (ProtobufCBinaryData){ body->len, body->buf };
	sa.key_id = (char *)key_id;
	sa.signature = (ProtobufCBinaryData){ PC_SIG_SIZE, (uint8_t *)sig };
	if (c->env == ENV_SWAPPED) {
		pbw_str(w, 2, key_id);
		pbw_len(w, 1, body->buf, body->len);
		pbw_len(w, 3, sig, PC_SIG_SIZE);
		return;
	}
	pbw_message(w, &sa.base);
	if (c->env == ENV_UNKNOWN_FIELD)
		pbw_uint(w, 4, 1);
}

/* The leaf of an approved case: a ledger where the member had 1000 points. */
static json_object *auth_leaf_json(const struct auth_case *c, const uint8_t *env, size_t len)
{
	struct pc_leaf l = {
		.alliance_id = "al", .sequence = (uint64_t)c->sequence,
		.accepted_at_us = AUTH_ACCEPTED_US, .envelope = env, .envelope_len = len,
		.decision = c->hold
		            ? (struct pc_leaf_decision){ 1, 0, 960, 900, 60, 0,
		                                         AUTH_ACCEPTED_US + 600000000 }
		            : (struct pc_leaf_decision){ 1, 0, 960, 960, 40, 40, 0 },
	};

	return leaf_json(c->name, &l);
}

static json_object *auth_case_json(const struct auth_case *c, size_t index,
                                   const struct key dev[DEVICE_COUNT], const struct key *merchant)
{
	json_object *o = json_object_new_object();
	const struct key *k = &dev[c->device];
	uint8_t nonce[PC_AUTH_NONCE_SIZE], sig[PC_SIG_SIZE], *payload, *env, *pae;
	struct pbw body = { 0 }, sa = { 0 };
	char event_id[16];
	size_t payload_len, env_len, pae_len;
	int err;
	struct pc_event_desc d = {
		.kind = c->hold ? PC_EVENT_HOLD : PC_EVENT_REDEEM, .alliance_id = "al",
		.merchant_id = "m-42", .event_id = event_id, .event_time_us = SAMPLE_TIME_US,
		.store_id = "store-1", .terminal_id = "pos:7", .member_id = AUTH_MEMBER,
		.amount = c->points, .duration_s = c->hold ? 600 : 0,
	};

	/* distinct per case, so that every case may be sent to one ledger */
	for (size_t i = 0; i < sizeof(nonce); i++)
		nonce[i] = (uint8_t)(0xa0 + index * 16 + i);
	snprintf(event_id, sizeof(event_id), "e-a%03zu", index + 1);
	auth_body(&body, c, nonce);
	if (pc_sign(sig, c->sig == SIG_EVENT_TYPE ? PC_EVENT_PAYLOAD_TYPE
	                                          : PC_MEMBER_AUTH_PAYLOAD_TYPE,
	            body.buf, body.len, k->sk) != 0)
		abort();
	if (c->sig == SIG_FLIPPED)
		sig[10] ^= 0x01;
	auth_envelope(&sa, c, &body, k->id, sig);
	pae_len = pc_pae_length(PC_MEMBER_AUTH_PAYLOAD_TYPE, body.len);
	if ((pae = malloc(pae_len)) == NULL)
		abort();
	pc_pae_encode(pae, pae_len, PC_MEMBER_AUTH_PAYLOAD_TYPE, body.buf, body.len);

	d.authorization = sa.buf;
	d.authorization_len = sa.len;
	if (pc_event_encode(&d, NULL, 0, &payload_len) != PC_EB_TOO_SMALL ||
	    (payload = malloc(payload_len)) == NULL ||
	    pc_event_encode(&d, payload, payload_len, &payload_len) != PC_EB_OK ||
	    (env = pc_event_sign(&d, merchant->sk, merchant->id, &env_len, &err)) == NULL)
		abort();

	add_str(o, "name", c->name);
	add_str(o, "description", c->description);
	add_str(o, "code", enum_name(&pointclear__v1__code__descriptor, c->code));
	add_str(o, "submit_code", enum_name(&pointclear__v1__code__descriptor, c->submit_code));
	add_str(o, "key_id", k->id);
	if (c->sig != SIG_FLIPPED) {
		add_str(o, "signed_by", k->id);
		add_str(o, "signed_type", c->sig == SIG_EVENT_TYPE ? PC_EVENT_PAYLOAD_TYPE
		                                                   : PC_MEMBER_AUTH_PAYLOAD_TYPE);
	}
	add_hex(o, "body", body.buf, body.len);
	if (c->body == BODY_CANONICAL) {
		Pointclear__V1__MemberAuthorization *ma =
			pc_member_authorization_unpack(body.buf, body.len, NULL);

		if (ma == NULL)
			abort();
		json_object_object_add(o, "member_authorization", pbjson_from_message(&ma->base));
		pc_member_authorization_free(ma);
	}
	add_hex(o, "pae", pae, pae_len);
	add_hex(o, "signature", sig, PC_SIG_SIZE);
	add_hex(o, "authorization", sa.buf, sa.len);
	add_str(o, "event_kind", c->hold ? "hold" : "redeem");
	add_str(o, "event_id", event_id);
	add_i64(o, "points", c->points);
	add_hex(o, "payload", payload, payload_len);
	if (c->submit_code == POINTCLEAR__V1__CODE__OK) {
		Pointclear__V1__Event *back = pc_event_unpack(payload, payload_len, NULL);

		if (back == NULL)
			abort();
		json_object_object_add(o, "event", pbjson_from_message(&back->base));
		pc_event_free(back);
	}
	add_hex(o, "envelope", env, env_len);
	if (c->sequence >= 0)
		json_object_object_add(o, "leaf", auth_leaf_json(c, env, env_len));
	free(pae);
	free(payload);
	free(env);
	free(body.buf);
	free(sa.buf);
	return o;
}

static json_object *member_authorizations_json(const struct key *merchant)
{
	json_object *o = json_object_new_object(), *devs = json_object_new_array();
	json_object *cases = json_object_new_array();
	struct key dev[DEVICE_COUNT];

	for (int i = 0; i < DEVICE_COUNT; i++) {
		json_object *k;

		memset(dev[i].seed, 0x05 + i, PC_SEED_SIZE);
		pc_keypair_from_seed(dev[i].pk, dev[i].sk, dev[i].seed);
		pc_key_id(dev[i].id, dev[i].pk);
		k = key_json(&dev[i]);
		if (device_member[i] != NULL)
			add_str(k, "member_id", device_member[i]);
		json_object_array_add(devs, k);
	}
	add_str(o, "payload_type", PC_MEMBER_AUTH_PAYLOAD_TYPE);
	add_str(o, "alliance_id", "al");
	add_str(o, "merchant_id", "m-42");
	add_str(o, "merchant_key_id", merchant->id);
	add_i64(o, "clock_us", AUTH_CLOCK_US);
	json_object_object_add(o, "device_keys", devs);
	for (size_t i = 0; i < AUTH_CASE_COUNT; i++)
		json_object_array_add(cases, auth_case_json(&auth_cases[i], i, dev, merchant));
	json_object_object_add(o, "cases", cases);
	return o;
}

int main(int argc, char **argv)
{
	struct key keys[KEY_COUNT];
	json_object *root, *events, *lookup_results;
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
	add_canonical_rule(events, &keys[0]);
	json_object_object_add(root, "events", events);
	json_object_object_add(root, "receipt_trees", receipt_trees_json(&keys[0], &lookup_results));
	json_object_object_add(root, "lookups", lookups_json());
	json_object_object_add(root, "lookup_results", lookup_results);
	json_object_object_add(root, "protocol_errors", protocol_errors_json(&keys[0]));
	json_object_object_add(root, "member_authorizations", member_authorizations_json(&keys[0]));
	fprintf(out, "%s\n", json_object_to_json_string_ext(root,
		JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return fclose(out) == 0 ? 0 : 1;
}
