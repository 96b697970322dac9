/* test_vectors.c - holds the library to proto/testvectors/signing.json, vector by vector,
 * and the daemon's validation (validate.c) to the member authorization vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "pbjson.h"
#include "pointclear/event_build.h"
#include "pointclear/codec.h"
#include "pointclear/frame.h"
#include "pointclear/leaf.h"
#include "pointclear/merkle.h"
#include "pointclear/receipt_check.h"
#include "pointclear/sign.h"
#include "testutil.h"

/* the daemon's own checks before the database (pccore) */
#include "keycache.h"
#include "request.h"
#include "validate.h"

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

static json_object *object(json_object *o, const char *name)
{
	json_object *v;

	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_object))
		fail_msg("no object %s", name);
	return v;
}

static uint64_t u64(json_object *o, const char *name)
{
	return strtoull(str(o, name), NULL, 10);
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

/* A leaf's fields encode to its `leaf` and hash to its `leaf_hash`. */
static void check_leaf(json_object *v)
{
	json_object *n;
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

static void test_leaves(void **state)
{
	json_object *leaves = array(*state, "leaves", 2);

	for (size_t i = 0; i < json_object_array_length(leaves); i++)
		check_leaf(json_object_array_get_idx(leaves, i));
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

	if (se == NULL && code == POINTCLEAR__V1__CODE__NON_CANONICAL)
		return "non_canonical_envelope";
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

/* A vector's message both ways: its JSON fields pack canonically to the bytes
 * given in hex, and back, the same bytes decoded, prints as the same fields. */
static void check_fields_bytes(const ProtobufCMessageDescriptor *d, json_object *fields,
                               const char *hex, const ProtobufCMessage *back)
{
	ProtobufCMessage *m = pbjson_to_message(d, fields);
	json_object *again;
	size_t packed_len;
	uint8_t *packed;

	assert_non_null(m);
	packed = pc_pack(m, &packed_len);
	assert_bytes_hex(packed, packed_len, hex);
	again = pbjson_from_message(back);
	assert_true(json_object_equal(again, fields));
	json_object_put(again);
	protobuf_c_message_free_unpacked(m, NULL);
	free(packed);
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
		Pointclear__V1__Event *back = pc_event_unpack(payload, len, NULL);

		assert_non_null(back);
		check_fields_bytes(&pointclear__v1__event__descriptor, event, str(v, "payload"),
		                   &back->base);
		pc_event_free(back);
	}
	free(pae);
	free(want);
}

static void test_events(void **state)
{
	json_object *root = *state, *events = array(root, "events", 30);
	size_t seen_valid = 0, seen_nc = 0, seen_bad_sig = 0, seen_bad_payload = 0, seen_nce = 0;

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
		if (strcmp(want, "non_canonical_envelope") == 0) {
			/* valid protobuf, refused by the canonical rule alone */
			Pointclear__V1__SignedEvent *raw =
				pointclear__v1__signed_event__unpack(NULL, env_len, env);

			assert_non_null(raw);
			pointclear__v1__signed_event__free_unpacked(raw, NULL);
			seen_nce++;
		} else if (strcmp(want, "bad_envelope") != 0) {
			check_envelope_parts(v, env, env_len);
			payload = hex_decode(str(v, "payload"), &len);
			check_reproduced(root, v, payload, len);
			free(payload);
		}
		free(env);
	}
	assert_true(seen_valid >= 7 && seen_nc >= 4 && seen_bad_sig >= 4 && seen_bad_payload >= 1);
	assert_true(seen_nce >= 8);
}

/* ------------------------------------------------------------ receipt trees */

struct op_key {
	uint8_t pk[PC_PK_SIZE], sk[PC_SK_SIZE];
	char id[PC_KEY_ID_LEN + 1];
};

static json_object *receipt_trees(json_object *root, struct op_key *op)
{
	json_object *rt = object(root, "receipt_trees"), *k = object(rt, "operator_key");
	size_t len;
	uint8_t *seed = hex_decode(str(k, "seed"), &len);

	assert_string_equal(str(rt, "payload_type"), PC_RECEIPT_TREE_PAYLOAD_TYPE);
	assert_int_equal(len, PC_SEED_SIZE);
	pc_keypair_from_seed(op->pk, op->sk, seed);
	assert_bytes_hex(op->pk, sizeof(op->pk), str(k, "public_key"));
	pc_key_id(op->id, op->pk);
	assert_string_equal(op->id, str(k, "key_id"));
	free(seed);
	return rt;
}

/* RFC 9162 2.1.1 written out, split at the largest power of two below n: holds
 * pc_merkle_build's level-by-level carrying to the definition. */
static void mth(uint8_t out[PC_HASH_SIZE], const uint8_t (*leaves)[PC_HASH_SIZE], size_t n)
{
	size_t k = 1;
	uint8_t left[PC_HASH_SIZE], right[PC_HASH_SIZE];

	if (n == 1) {
		memcpy(out, leaves[0], PC_HASH_SIZE);
		return;
	}
	while (2 * k < n)
		k *= 2;
	mth(left, leaves, k);
	mth(right, leaves + k, n - k);
	pc_merkle_node_hash(out, left, right);
}

/* The body's fields give its bytes, and its bytes give back the fields. */
static void check_body(json_object *r, const uint8_t *body, size_t len)
{
	Pointclear__V1__ReceiptBody *back = pc_receipt_body_unpack(body, len);

	assert_non_null(back);
	check_fields_bytes(&pointclear__v1__receipt_body__descriptor, object(r, "receipt_body"),
	                   str(r, "body"), &back->base);
	pc_receipt_body_free(back);
}

/* The body's leaf_hash is the ledger leaf (PROTOCOL.md "Leaf") of the listed
 * SUBMIT body, a valid event of the merchant and id the body names. */
static void check_ledger_leaf(json_object *root, json_object *r, const uint8_t *body,
                              size_t body_len)
{
	size_t env_len;
	uint8_t *env = hex_decode(str(r, "envelope"), &env_len), hash[PC_HASH_SIZE];
	Pointclear__V1__ReceiptBody *b = pc_receipt_body_unpack(body, body_len);
	Pointclear__V1__SignedEvent *se = pc_signed_event_unpack(env, env_len, NULL);
	Pointclear__V1__Event *e;
	struct pc_leaf l;

	assert_non_null(b);
	assert_non_null(b->decision);
	assert_string_equal(verdict(root, env, env_len), "valid");
	assert_non_null(se);
	e = pc_event_unpack(se->payload.data, se->payload.len, NULL);
	assert_non_null(e);
	assert_string_equal(e->alliance_id, b->alliance_id);
	assert_string_equal(e->merchant_id, b->merchant_id);
	assert_string_equal(e->event_id, b->event_id);
	l = (struct pc_leaf){
		.alliance_id = b->alliance_id, .sequence = b->sequence,
		.accepted_at_us = b->accepted_at_us, .envelope = env, .envelope_len = env_len,
		.decision = { (uint8_t)b->decision->status, (uint16_t)b->decision->code,
		              b->decision->balance, b->decision->available, b->decision->amount,
		              b->decision->remaining, b->decision->hold_expires_at_us },
	};
	assert_int_equal(pc_leaf_hash(hash, &l), 0);
	assert_int_equal(b->leaf_hash.len, PC_HASH_SIZE);
	assert_memory_equal(hash, b->leaf_hash.data, PC_HASH_SIZE);
	pc_event_free(e);
	pc_signed_event_free(se);
	pc_receipt_body_free(b);
	free(env);
}

static void check_head(json_object *t, const struct op_key *op, const uint8_t *root_hash)
{
	Pointclear__V1__ReceiptTreeHead h = POINTCLEAR__V1__RECEIPT_TREE_HEAD__INIT;
	size_t head_len, pae_len, sig_len;
	uint8_t *head, *pae, *want = hex_decode(str(t, "signature"), &sig_len), sig[PC_SIG_SIZE];

	h.alliance_id = (char *)str(t, "alliance_id");
	h.first_sequence = u64(t, "first_sequence");
	h.size = u64(t, "size");
	h.root_hash = (ProtobufCBinaryData){ PC_HASH_SIZE, (uint8_t *)root_hash };
	head = pc_pack(&h.base, &head_len);
	assert_non_null(head);
	assert_bytes_hex(head, head_len, str(t, "tree_head"));
	pae_len = pc_pae_length(PC_RECEIPT_TREE_PAYLOAD_TYPE, head_len);
	pae = malloc(pae_len);
	assert_non_null(pae);
	assert_int_equal(pc_pae_encode(pae, pae_len, PC_RECEIPT_TREE_PAYLOAD_TYPE, head, head_len),
	                 pae_len);
	assert_bytes_hex(pae, pae_len, str(t, "pae"));
	assert_string_equal(str(t, "key_id"), op->id);
	assert_int_equal(sig_len, PC_SIG_SIZE);
	assert_int_equal(pc_sign(sig, PC_RECEIPT_TREE_PAYLOAD_TYPE, head, head_len, op->sk), 0);
	assert_memory_equal(sig, want, PC_SIG_SIZE);
	assert_int_equal(crypto_sign_ed25519_verify_detached(want, pae, pae_len, op->pk), 0);
	free(head);
	free(pae);
	free(want);
}

/* The Receipt packed from the tree's parts is the listed one, and it checks. */
static void check_receipt(json_object *t, json_object *r, const struct op_key *op,
                          uint8_t (*path)[PC_HASH_SIZE], size_t n,
                          struct pc_receipt_cache *cache)
{
	Pointclear__V1__Receipt rc = POINTCLEAR__V1__RECEIPT__INIT, *back;
	Pointclear__V1__ReceiptBody *body = NULL;
	ProtobufCBinaryData steps[PC_MERKLE_MAX_PATH];
	size_t body_len, sig_len, head_len, len, want_len;
	uint8_t *b = hex_decode(str(r, "body"), &body_len);
	uint8_t *sig = hex_decode(str(t, "signature"), &sig_len);
	uint8_t *head = hex_decode(str(t, "tree_head"), &head_len);
	uint8_t *want = hex_decode(str(r, "receipt"), &want_len), *packed;

	for (size_t i = 0; i < n; i++)
		steps[i] = (ProtobufCBinaryData){ PC_HASH_SIZE, path[i] };
	rc.body = (ProtobufCBinaryData){ body_len, b };
	rc.key_id = (char *)op->id;
	rc.signature = (ProtobufCBinaryData){ sig_len, sig };
	rc.tree_head = (ProtobufCBinaryData){ head_len, head };
	rc.inclusion_path = steps;
	rc.n_inclusion_path = n;
	packed = pc_pack(&rc.base, &len);
	assert_bytes_hex(packed, len, str(r, "receipt"));

	back = pointclear__v1__receipt__unpack(NULL, want_len, want);
	assert_non_null(back);
	assert_string_equal(back->key_id, op->id);
	assert_null(pc_receipt_check(back, op->pk, NULL, &body));
	assert_non_null(body);
	assert_int_equal(body->sequence, u64(r, "sequence"));
	pc_receipt_body_free(body);
	assert_null(pc_receipt_check(back, op->pk, cache, &body));
	assert_true(cache->valid);
	pc_receipt_body_free(body);
	pointclear__v1__receipt__free_unpacked(back, NULL);
	free(packed);
	free(b);
	free(sig);
	free(head);
	free(want);
}

static void check_tree(json_object *root, json_object *t, const struct op_key *op)
{
	json_object *receipts = array(t, "receipts", 1);
	size_t size = (size_t)u64(t, "size"), len;
	uint64_t first = u64(t, "first_sequence");
	uint8_t (*leaves)[PC_HASH_SIZE] = calloc(size, PC_HASH_SIZE), root_hash[PC_HASH_SIZE];
	struct pc_merkle_tree m;
	struct pc_receipt_cache cache = { 0 };

	assert_non_null(leaves);
	assert_int_equal(json_object_array_length(receipts), size);
	for (size_t i = 0; i < size; i++) {
		json_object *r = json_object_array_get_idx(receipts, i);
		uint8_t *body = hex_decode(str(r, "body"), &len);

		assert_int_equal(u64(r, "sequence"), first + i);
		check_body(r, body, len);
		check_ledger_leaf(root, r, body, len);
		pc_merkle_leaf_hash(leaves[i], body, len);
		assert_bytes_hex(leaves[i], PC_HASH_SIZE, str(r, "tree_leaf"));
		free(body);
	}
	assert_int_equal(pc_merkle_build(&m, (const uint8_t(*)[PC_HASH_SIZE])leaves, size), 0);
	assert_bytes_hex(pc_merkle_root(&m), PC_HASH_SIZE, str(t, "root_hash"));
	mth(root_hash, (const uint8_t(*)[PC_HASH_SIZE])leaves, size);
	assert_bytes_hex(root_hash, PC_HASH_SIZE, str(t, "root_hash"));
	check_head(t, op, root_hash);
	for (size_t i = 0; i < size; i++) {
		json_object *r = json_object_array_get_idx(receipts, i), *want;
		uint8_t path[PC_MERKLE_MAX_PATH][PC_HASH_SIZE];
		size_t n = pc_merkle_path(&m, i, path);

		assert_true(json_object_object_get_ex(r, "inclusion_path", &want));
		assert_int_equal(json_object_array_length(want), n);
		for (size_t j = 0; j < n; j++)
			assert_bytes_hex(path[j], PC_HASH_SIZE,
			                 json_object_get_string(json_object_array_get_idx(want, j)));
		assert_true(pc_merkle_verify(leaves[i], i, size,
		                             (const uint8_t(*)[PC_HASH_SIZE])path, n, root_hash));
		check_receipt(t, r, op, path, n, &cache);
	}
	pc_merkle_free(&m);
	free(leaves);
}

static void test_receipt_trees(void **state)
{
	json_object *root = *state;
	struct op_key op;
	json_object *trees = array(receipt_trees(root, &op), "trees", 3);
	bool seen_odd = false;

	for (size_t i = 0; i < json_object_array_length(trees); i++) {
		json_object *t = json_object_array_get_idx(trees, i);

		seen_odd |= u64(t, "size") > 4 && u64(t, "size") % 2 == 1;
		check_tree(root, t, &op);
	}
	assert_true(seen_odd);   /* a last node carried up over more than one level */
}

/* Each refused receipt gets exactly the listed reason, with or without a cache
 * that already holds a genuine head. */
static void test_receipts_refused(void **state)
{
	json_object *root = *state;
	struct op_key op;
	json_object *rt = receipt_trees(root, &op), *refused = array(rt, "refused", 4);
	json_object *trees = array(rt, "trees", 1);
	json_object *last = json_object_array_get_idx(trees, json_object_array_length(trees) - 1);
	json_object *good = json_object_array_get_idx(array(last, "receipts", 1), 0);
	struct pc_receipt_cache primed = { 0 };
	Pointclear__V1__ReceiptBody *body = NULL;
	size_t len, seen_sig = 0, seen_path = 0, seen_outside = 0, seen_alliance = 0;
	uint8_t *buf = hex_decode(str(good, "receipt"), &len);
	Pointclear__V1__Receipt *rc = pointclear__v1__receipt__unpack(NULL, len, buf);

	assert_non_null(rc);
	assert_null(pc_receipt_check(rc, op.pk, &primed, &body));
	pc_receipt_body_free(body);
	pointclear__v1__receipt__free_unpacked(rc, NULL);
	free(buf);

	for (size_t i = 0; i < json_object_array_length(refused); i++) {
		json_object *v = json_object_array_get_idx(refused, i);
		const char *want = str(v, "reason"), *by = opt_str(v, "signed_by"), *got;
		struct pc_receipt_cache cache = primed;

		buf = hex_decode(str(v, "receipt"), &len);
		rc = pointclear__v1__receipt__unpack(NULL, len, buf);
		assert_non_null(rc);
		got = pc_receipt_check(rc, op.pk, NULL, &body);
		if (got == NULL || strcmp(got, want) != 0)
			fail_msg("%s: %s, vector says %s", str(v, "name"), got ? got : "accepted", want);
		assert_null(body);
		got = pc_receipt_check(rc, op.pk, &cache, &body);
		if (got == NULL || strcmp(got, want) != 0)
			fail_msg("%s (cached head): %s, vector says %s", str(v, "name"),
			         got ? got : "accepted", want);
		assert_null(body);
		if (by != NULL) {
			uint8_t pk[PC_PK_SIZE], sk[PC_SK_SIZE], sig[PC_SIG_SIZE];

			if (strcmp(by, op.id) == 0)
				memcpy(sk, op.sk, sizeof(sk));
			else
				assert_true(find_key(root, by, pk, sk));
			assert_int_equal(pc_sign(sig, str(v, "signed_type"), rc->tree_head.data,
			                         rc->tree_head.len, sk), 0);
			assert_int_equal(rc->signature.len, PC_SIG_SIZE);
			assert_memory_equal(sig, rc->signature.data, PC_SIG_SIZE);
		}
		seen_sig += strcmp(want, "bad signature") == 0;
		seen_path += strcmp(want, "inclusion path does not lead to the signed root") == 0;
		seen_outside += strcmp(want, "receipt sequence lies outside its tree") == 0;
		seen_alliance +=
			strcmp(want, "receipt body and tree head name different alliances") == 0;
		pointclear__v1__receipt__free_unpacked(rc, NULL);
		free(buf);
	}
	assert_true(seen_sig >= 2 && seen_path >= 2 && seen_outside >= 1 && seen_alliance >= 1);
}

/* ------------------------------------------------------------ frames */

/* A frame from its hex: one whole frame of that type and request id, nothing
 * after it; its body is returned (malloc'd) with *len. */
static uint8_t *frame_body(const char *hex, uint8_t type, uint64_t request_id, size_t *len)
{
	size_t n;
	uint8_t *f = hex_decode(hex, &n), *body;
	struct pc_frame_header h;

	assert_int_equal(pc_frame_peek(f, n, &h), PC_FRAME_READY);
	assert_int_equal(pc_frame_total(&h), n);
	assert_int_equal(h.type, type);
	assert_true(h.request_id == request_id);
	*len = n - PC_FRAME_HEADER_SIZE;
	body = malloc(*len + 1);
	assert_non_null(body);
	memcpy(body, f + PC_FRAME_HEADER_SIZE, *len);
	free(f);
	return body;
}

static const char *enum_name(const ProtobufCEnumDescriptor *d, int value)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);

	return v != NULL ? v->name : "?";
}

static void test_lookups(void **state)
{
	json_object *lookups = array(*state, "lookups", 8);
	size_t seen[3] = { 0 };

	for (size_t i = 0; i < json_object_array_length(lookups); i++) {
		json_object *v = json_object_array_get_idx(lookups, i);
		const char *want = str(v, "verdict"), *got;
		size_t len;
		uint8_t *body = frame_body(str(v, "frame"), PC_MSG_LOOKUP, u64(v, "request_id"), &len);
		pc_code code = POINTCLEAR__V1__CODE__INTERNAL;
		Pointclear__V1__Lookup *l;

		assert_bytes_hex(body, len, str(v, "body"));
		l = pc_lookup_unpack(body, len, &code);
		got = code == POINTCLEAR__V1__CODE__OK ? "valid" :
		      code == POINTCLEAR__V1__CODE__NON_CANONICAL ? "non_canonical" :
		      code == POINTCLEAR__V1__CODE__BAD_PAYLOAD ? "bad_payload" : "?";
		if (strcmp(got, want) != 0)
			fail_msg("%s: verdict %s, vector says %s", str(v, "name"), got, want);
		seen[0] += strcmp(want, "valid") == 0;
		seen[1] += strcmp(want, "non_canonical") == 0;
		seen[2] += strcmp(want, "bad_payload") == 0;
		if (l != NULL) {
			Pointclear__V1__Lookup again = POINTCLEAR__V1__LOOKUP__INIT;
			size_t packed_len;
			uint8_t *packed;

			assert_string_equal(l->event_id, str(v, "event_id"));
			again.event_id = (char *)str(v, "event_id");
			packed = pc_pack(&again.base, &packed_len);
			assert_bytes_hex(packed, packed_len, str(v, "body"));
			free(packed);
		}
		pc_lookup_free(l);
		free(body);
	}
	assert_true(seen[0] >= 1 && seen[1] >= 3 && seen[2] >= 2);
}

/* The genuine receipt of that sequence, as listed under receipt_trees. */
static const char *tree_receipt_hex(json_object *root, uint64_t sequence)
{
	json_object *trees = array(object(root, "receipt_trees"), "trees", 1);

	for (size_t i = 0; i < json_object_array_length(trees); i++) {
		json_object *rs = array(json_object_array_get_idx(trees, i), "receipts", 1);

		for (size_t j = 0; j < json_object_array_length(rs); j++) {
			json_object *r = json_object_array_get_idx(rs, j);

			if (u64(r, "sequence") == sequence)
				return str(r, "receipt");
		}
	}
	fail_msg("no receipt of sequence %llu", (unsigned long long)sequence);
	return NULL;
}

/* A found entry is answered as its replay is, with the original receipt byte for
 * byte; anything else carries no receipt. */
static void test_lookup_results(void **state)
{
	json_object *root = *state, *results = array(root, "lookup_results", 3);
	struct op_key op;
	size_t seen_found = 0, seen_not_found = 0;

	receipt_trees(root, &op);
	for (size_t i = 0; i < json_object_array_length(results); i++) {
		json_object *v = json_object_array_get_idx(results, i);
		Pointclear__V1__Lookup l = POINTCLEAR__V1__LOOKUP__INIT;
		uint64_t id = u64(v, "request_id");
		size_t len, packed_len;
		uint8_t *body = frame_body(str(v, "request"), PC_MSG_LOOKUP, id, &len), *packed;
		Pointclear__V1__SubmitResult *sr;

		l.event_id = (char *)str(v, "event_id");
		packed = pc_pack(&l.base, &packed_len);
		assert_int_equal(packed_len, len);
		if (len > 0)
			assert_memory_equal(packed, body, len);
		free(packed);
		free(body);

		body = frame_body(str(v, "answer"), PC_MSG_LOOKUP_RESULT, id, &len);
		assert_bytes_hex(body, len, str(v, "result"));
		sr = pc_submit_result_unpack(body, len);
		assert_non_null(sr);
		assert_string_equal(enum_name(&pointclear__v1__disposition__descriptor,
		                              sr->disposition), str(v, "disposition"));
		assert_string_equal(enum_name(&pointclear__v1__code__descriptor, sr->code),
		                    str(v, "code"));
		assert_string_equal(sr->message, str(v, "message"));
		if (opt_str(v, "sequence") != NULL) {
			Pointclear__V1__ReceiptBody *b = NULL;

			assert_int_equal(sr->disposition, POINTCLEAR__V1__DISPOSITION__REPLAYED);
			assert_non_null(sr->receipt);
			packed = pc_pack(&sr->receipt->base, &packed_len);
			assert_bytes_hex(packed, packed_len, tree_receipt_hex(root, u64(v, "sequence")));
			free(packed);
			assert_null(pc_receipt_check(sr->receipt, op.pk, NULL, &b));
			assert_non_null(b);
			assert_true(b->sequence == u64(v, "sequence"));
			assert_string_equal(b->event_id, str(v, "event_id"));
			assert_non_null(b->decision);
			assert_int_equal(b->decision->code, sr->code);
			pc_receipt_body_free(b);
			seen_found++;
		} else {
			assert_null(sr->receipt);
			assert_int_not_equal(sr->disposition, POINTCLEAR__V1__DISPOSITION__REPLAYED);
			seen_not_found += sr->code == POINTCLEAR__V1__CODE__NOT_FOUND;
		}
		pc_submit_result_free(sr);
		free(body);
	}
	assert_true(seen_found >= 2 && seen_not_found >= 1);
}

static void test_protocol_errors(void **state)
{
	json_object *errors = array(*state, "protocol_errors", 2);
	size_t seen_dup = 0, seen_body = 0;

	for (size_t i = 0; i < json_object_array_length(errors); i++) {
		json_object *v = json_object_array_get_idx(errors, i);
		json_object *reqs = array(v, "requests", 1);
		size_t n, len;
		uint8_t *f = hex_decode(json_object_get_string(json_object_array_get_idx(reqs, 0)), &n);
		struct pc_frame_header h;
		uint8_t *body;
		Pointclear__V1__ProtocolError *pe;

		assert_int_equal(pc_frame_peek(f, n, &h), PC_FRAME_READY);
		for (size_t j = 1; j < json_object_array_length(reqs); j++) {
			/* the same request id again: what makes it a duplicate */
			struct pc_frame_header h2;
			size_t n2;
			uint8_t *f2 = hex_decode(json_object_get_string(
				json_object_array_get_idx(reqs, j)), &n2);

			assert_int_equal(pc_frame_peek(f2, n2, &h2), PC_FRAME_READY);
			assert_true(h2.request_id == h.request_id);
			free(f2);
		}
		body = frame_body(str(v, "answer"), PC_MSG_PROTOCOL_ERROR, h.request_id, &len);
		pe = pc_protocol_error_unpack(body, len);
		assert_non_null(pe);
		assert_string_equal(enum_name(&pointclear__v1__code__descriptor, pe->code),
		                    str(v, "code"));
		assert_string_equal(pe->message, str(v, "message"));
		if (pe->code == POINTCLEAR__V1__CODE__DUPLICATE_REQUEST_ID) {
			assert_true(json_object_array_length(reqs) >= 2);
			seen_dup++;
		}
		if (pe->code == POINTCLEAR__V1__CODE__UNEXPECTED_BODY) {
			assert_int_equal(h.type, PC_MSG_PING);
			assert_true(h.length > PC_FRAME_MIN_LENGTH);
			seen_body++;
		}
		pc_protocol_error_free(pe);
		free(body);
		free(f);
	}
	assert_true(seen_dup == 1 && seen_body == 1);
}

/* ------------------------------------------------------------ member authorizations */

#define AUTH_DEVICES 8

struct device {
	const char *id, *member;     /* member NULL: registered to no one */
	uint8_t pk[PC_PK_SIZE], sk[PC_SK_SIZE];
};

static bool contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
	for (size_t i = 0; m <= n && i <= n - m; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return true;
	return false;
}

static pc_code code_named(const char *name)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value_by_name(&pointclear__v1__code__descriptor, name);

	if (v == NULL)
		fail_msg("no code %s", name);
	return (pc_code)v->value;
}

static const struct device *device_named(const struct device *dev, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(dev[i].id, id) == 0)
			return &dev[i];
	fail_msg("no device key %s", id);
	return NULL;
}

/* The clearing house the cases describe, as the daemon's key cache holds it:
 * alliance al requiring consent for every REDEEM and HOLD (threshold 0), merchant
 * m-42 with its key, and the device keys registered to a member. */
static struct pc_keys *auth_snapshot(json_object *root, json_object *ma,
                                     const struct device *dev, size_t n)
{
	struct pc_keys *k = pc_keys_new();
	struct pc_alliance_info a = { .currency = "EUR", .consent = true,
	                              .window_future_us = INT64_C(300) * 1000000,
	                              .window_past_us = INT64_C(7) * 86400 * 1000000 };
	struct pc_merchant_info m = { .status = PC_MERCHANT_ACTIVE };
	struct pc_key_info key = { .valid_from_us = 0, .revoked_at_us = INT64_MAX };
	uint8_t sk[PC_SK_SIZE];

	snprintf(a.id, sizeof a.id, "%s", str(ma, "alliance_id"));
	assert_int_equal(pc_keys_add_alliance(k, &a), 0);
	snprintf(m.alliance, sizeof m.alliance, "%s", a.id);
	snprintf(m.id, sizeof m.id, "%s", str(ma, "merchant_id"));
	pc_keys_add_merchant(k, &m);
	snprintf(key.alliance, sizeof key.alliance, "%s", a.id);
	snprintf(key.merchant, sizeof key.merchant, "%s", m.id);
	snprintf(key.key_id, sizeof key.key_id, "%s", str(ma, "merchant_key_id"));
	assert_true(find_key(root, key.key_id, key.pk, sk));
	pc_keys_add_key(k, &key);
	for (size_t i = 0; i < n; i++) {
		struct pc_device_info d = { .revoked_at_us = INT64_MAX };

		if (dev[i].member == NULL)
			continue;
		snprintf(d.alliance, sizeof d.alliance, "%s", a.id);
		snprintf(d.key_id, sizeof d.key_id, "%s", dev[i].id);
		snprintf(d.member, sizeof d.member, "%s", dev[i].member);
		memcpy(d.pk, dev[i].pk, PC_PK_SIZE);
		pc_keys_add_device(k, &d);
	}
	pc_keys_seal(k);
	return k;
}

/* The authorization's own bytes: PAE, signature, the SignedAuthorization and
 * its body through the codec's decoders (each on its own, as the CLI takes one). */
static void check_auth_bytes(json_object *c, const struct device *dev, size_t n)
{
	size_t body_len, sig_len, auth_len, pae_len;
	uint8_t *body = hex_decode(str(c, "body"), &body_len);
	uint8_t *sig = hex_decode(str(c, "signature"), &sig_len);
	uint8_t *auth = hex_decode(str(c, "authorization"), &auth_len), *pae, again[PC_SIG_SIZE];
	const struct device *named = device_named(dev, n, str(c, "key_id"));
	const char *by = opt_str(c, "signed_by"), *type = opt_str(c, "signed_type");
	pc_code code = code_named(str(c, "code")), submit = code_named(str(c, "submit_code")), got;
	json_object *fields;

	assert_int_equal(sig_len, PC_SIG_SIZE);
	pae_len = pc_pae_length(PC_MEMBER_AUTH_PAYLOAD_TYPE, body_len);
	pae = malloc(pae_len);
	assert_non_null(pae);
	pc_pae_encode(pae, pae_len, PC_MEMBER_AUTH_PAYLOAD_TYPE, body, body_len);
	assert_bytes_hex(pae, pae_len, str(c, "pae"));
	if (by != NULL) {
		assert_non_null(type);
		assert_int_equal(pc_sign(again, type, body, body_len,
		                         device_named(dev, n, by)->sk), 0);
		assert_memory_equal(again, sig, PC_SIG_SIZE);
	}
	/* verifies exactly when it is the named key's signature under the right type */
	assert_int_equal(pc_verify(sig, PC_MEMBER_AUTH_PAYLOAD_TYPE, body, body_len, named->pk),
	                 by != NULL && strcmp(by, named->id) == 0 &&
	                 strcmp(type, PC_MEMBER_AUTH_PAYLOAD_TYPE) == 0);

	Pointclear__V1__SignedAuthorization *sa =
		pc_signed_authorization_unpack(auth, auth_len, &got);
	if (code != submit) {
		/* a non-canonical SignedAuthorization: refused on its own, and inside
		 * the Event it makes the payload non-canonical */
		assert_int_equal(code, POINTCLEAR__V1__CODE__MEMBER_AUTH_INVALID);
		assert_int_equal(submit, POINTCLEAR__V1__CODE__NON_CANONICAL);
		assert_null(sa);
		assert_int_equal(got, POINTCLEAR__V1__CODE__MEMBER_AUTH_INVALID);
		Pointclear__V1__SignedAuthorization *raw =
			pointclear__v1__signed_authorization__unpack(NULL, auth_len, auth);
		assert_non_null(raw);
		assert_memory_equal(raw->body.data, body, body_len);
		pointclear__v1__signed_authorization__free_unpacked(raw, NULL);
	} else {
		assert_non_null(sa);
		assert_int_equal(got, POINTCLEAR__V1__CODE__OK);
		assert_int_equal(sa->body.len, body_len);
		assert_memory_equal(sa->body.data, body, body_len);
		assert_string_equal(sa->key_id, named->id);
		assert_int_equal(sa->signature.len, PC_SIG_SIZE);
		assert_memory_equal(sa->signature.data, sig, PC_SIG_SIZE);
		pc_signed_authorization_free(sa);
	}

	Pointclear__V1__MemberAuthorization *ma =
		pc_member_authorization_unpack(body, body_len, &got);
	if (json_object_object_get_ex(c, "member_authorization", &fields)) {
		assert_non_null(ma);
		check_fields_bytes(&pointclear__v1__member_authorization__descriptor, fields,
		                   str(c, "body"), &ma->base);
		pc_member_authorization_free(ma);
	} else {
		assert_null(ma);
		assert_int_equal(got, POINTCLEAR__V1__CODE__MEMBER_AUTH_INVALID);
		assert_int_equal(code, POINTCLEAR__V1__CODE__MEMBER_AUTH_INVALID);
	}
	free(pae);
	free(body);
	free(sig);
	free(auth);
}

/* The SUBMIT body: the merchant's signed envelope around the Event carrying the
 * authorization verbatim as field 8, and the daemon's validation of it. */
static void check_auth_submit(json_object *root, json_object *ma, json_object *c,
                              const struct pc_keys *keys)
{
	size_t env_len, payload_len, auth_len, sealed_len;
	uint8_t *env = hex_decode(str(c, "envelope"), &env_len);
	uint8_t *payload = hex_decode(str(c, "payload"), &payload_len);
	uint8_t *auth = hex_decode(str(c, "authorization"), &auth_len), *sealed;
	uint8_t pk[PC_PK_SIZE], sk[PC_SK_SIZE];
	const char *merchant_key = str(ma, "merchant_key_id");
	pc_code submit = code_named(str(c, "submit_code"));
	json_object *event, *leaf;

	/* the merchant's signature, reproduced: Ed25519 is deterministic */
	assert_true(find_key(root, merchant_key, pk, sk));
	sealed_len = pc_envelope_size(payload_len, merchant_key);
	sealed = malloc(sealed_len);
	assert_non_null(sealed);
	assert_int_equal(pc_envelope_seal(sealed, sealed_len, &sealed_len, payload, payload_len,
	                                  sk, merchant_key), PC_EB_OK);
	assert_int_equal(sealed_len, env_len);
	assert_memory_equal(sealed, env, env_len);
	/* field 8 holds the authorization's bytes as they are */
	assert_true(contains(payload, payload_len, auth, auth_len));
	if (json_object_object_get_ex(c, "event", &event)) {
		Pointclear__V1__Event *back = pc_event_unpack(payload, payload_len, NULL);

		assert_non_null(back);
		assert_non_null(back->authorization);
		check_fields_bytes(&pointclear__v1__event__descriptor, event, str(c, "payload"),
		                   &back->base);
		assert_string_equal(back->event_id, str(c, "event_id"));
		pc_event_free(back);
	}

	struct pc_request *r = pc_request_new(env, env_len, 1);
	snprintf(r->alliance, sizeof r->alliance, "%s", str(ma, "alliance_id"));
	snprintf(r->merchant, sizeof r->merchant, "%s", str(ma, "merchant_id"));
	bool ok = pc_validate(r, keys, i64(ma, "clock_us"));
	if ((ok ? POINTCLEAR__V1__CODE__OK : r->code) != submit)
		fail_msg("%s: validation answers %d (%s), the vector %s", str(c, "name"),
		         ok ? 0 : (int)r->code, ok ? "accepted" : r->message, str(c, "submit_code"));
	if (ok) {
		json_object *f = object(c, "member_authorization");
		size_t nonce_len;
		uint8_t *nonce = hex_decode(str(f, "nonce"), &nonce_len);

		assert_true(r->row.has_auth);
		assert_string_equal(r->row.auth_key, str(c, "key_id"));
		assert_int_equal(nonce_len, sizeof r->row.auth_nonce);
		assert_memory_equal(r->row.auth_nonce, nonce, nonce_len);
		assert_int_equal(r->row.auth_expires_us, i64(f, "expires_at_us"));
		assert_int_equal(r->row.amount, i64(c, "points"));
		free(nonce);
	}
	pc_request_free(r);   /* frees env */
	if (json_object_object_get_ex(c, "leaf", &leaf)) {
		assert_string_equal(str(leaf, "envelope"), str(c, "envelope"));
		check_leaf(leaf);
	}
	free(sealed);
	free(payload);
	free(auth);
}

static void test_member_authorizations(void **state)
{
	json_object *root = *state, *ma = object(root, "member_authorizations");
	json_object *devs = array(ma, "device_keys", 3), *cases = array(ma, "cases", 19);
	struct device dev[AUTH_DEVICES];
	size_t n = json_object_array_length(devs), seen[8] = { 0 }, recorded = 0;
	struct pc_keys *keys;

	assert_string_equal(str(ma, "payload_type"), PC_MEMBER_AUTH_PAYLOAD_TYPE);
	assert_true(n <= AUTH_DEVICES);
	for (size_t i = 0; i < n; i++) {
		json_object *k = json_object_array_get_idx(devs, i);
		size_t len;
		uint8_t *seed = hex_decode(str(k, "seed"), &len);
		char id[PC_KEY_ID_LEN + 1];

		assert_int_equal(len, PC_SEED_SIZE);
		pc_keypair_from_seed(dev[i].pk, dev[i].sk, seed);
		assert_bytes_hex(dev[i].pk, PC_PK_SIZE, str(k, "public_key"));
		pc_key_id(id, dev[i].pk);
		dev[i].id = str(k, "key_id");
		assert_string_equal(id, dev[i].id);
		dev[i].member = opt_str(k, "member_id");
		free(seed);
	}
	keys = auth_snapshot(root, ma, dev, n);
	for (size_t i = 0; i < json_object_array_length(cases); i++) {
		json_object *c = json_object_array_get_idx(cases, i), *leaf;
		static const char *const codes[8] = {
			"OK", "MEMBER_AUTH_INVALID", "MEMBER_AUTH_MISMATCH", "MEMBER_AUTH_EXPIRED",
			"MEMBER_AUTH_EXCEEDED", "NON_CANONICAL",
		};

		check_auth_bytes(c, dev, n);
		check_auth_submit(root, ma, c, keys);
		for (size_t j = 0; j < 6; j++)
			seen[j] += strcmp(str(c, "submit_code"), codes[j]) == 0;
		recorded += json_object_object_get_ex(c, "leaf", &leaf);
	}
	/* valid redeem, hold and boundaries; each refusal of PROTOCOL.md's list */
	assert_true(seen[0] >= 3 && seen[1] >= 8 && seen[2] >= 3 && seen[3] >= 2 && seen[4] >= 1);
	assert_true(seen[5] >= 2 && recorded >= 2);
	pc_keys_release(keys);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_rfc8032),
		cmocka_unit_test(test_leaves),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_receipt_trees),
		cmocka_unit_test(test_receipts_refused),
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_lookup_results),
		cmocka_unit_test(test_protocol_errors),
		cmocka_unit_test(test_member_authorizations),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
