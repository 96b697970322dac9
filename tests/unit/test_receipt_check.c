/* test_receipt_check.c - unit tests of pc_receipt_check: a receipt of a tree of
 * three signed by a test operator key checks, and each way of breaking it is
 * refused with its own reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "pointclear/merkle.h"
#include "pointclear/receipt_check.h"

struct fixture {
	uint8_t pk[PC_PK_SIZE], sk[PC_SK_SIZE], other_pk[PC_PK_SIZE];
	uint8_t *body[3];
	size_t body_len[3];
	uint8_t *head;
	size_t head_len;
	uint8_t sig[PC_SIG_SIZE];
	uint8_t path[PC_MERKLE_MAX_PATH][PC_HASH_SIZE];
	ProtobufCBinaryData steps[PC_MERKLE_MAX_PATH];
	Pointclear__V1__Receipt rc;   /* the receipt of entry 11 (index 1) */
};

static uint8_t *pack_body(const char *alliance, uint64_t seq, size_t *len)
{
	static uint8_t leaf[PC_HASH_SIZE];
	Pointclear__V1__Decision d = POINTCLEAR__V1__DECISION__INIT;
	d.status = POINTCLEAR__V1__STATUS__APPROVED;
	d.balance = 100;
	Pointclear__V1__ReceiptBody b = POINTCLEAR__V1__RECEIPT_BODY__INIT;
	b.alliance_id = (char *)alliance;
	b.sequence = seq;
	b.leaf_hash.data = leaf;
	b.leaf_hash.len = sizeof leaf;
	b.merchant_id = "cafe";
	b.event_id = "e";
	b.decision = &d;
	return pc_pack(&b.base, len);
}

static uint8_t *pack_head(const char *alliance, uint64_t first, uint64_t size, const uint8_t *root,
                          size_t *len)
{
	Pointclear__V1__ReceiptTreeHead h = POINTCLEAR__V1__RECEIPT_TREE_HEAD__INIT;
	h.alliance_id = (char *)alliance;
	h.first_sequence = first;
	h.size = size;
	h.root_hash.data = (uint8_t *)root;
	h.root_hash.len = PC_HASH_SIZE;
	return pc_pack(&h.base, len);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	uint8_t seed[PC_SEED_SIZE], other_sk[PC_SK_SIZE];
	memset(seed, 7, sizeof seed);
	pc_keypair_from_seed(f->pk, f->sk, seed);
	memset(seed, 8, sizeof seed);
	pc_keypair_from_seed(f->other_pk, other_sk, seed);

	uint8_t leaves[3][PC_HASH_SIZE];
	for (int i = 0; i < 3; i++) {
		f->body[i] = pack_body("al", 10 + (uint64_t)i, &f->body_len[i]);
		pc_merkle_leaf_hash(leaves[i], f->body[i], f->body_len[i]);
	}
	struct pc_merkle_tree t;
	assert_int_equal(pc_merkle_build(&t, (const uint8_t(*)[PC_HASH_SIZE])leaves, 3), 0);
	f->head = pack_head("al", 10, 3, pc_merkle_root(&t), &f->head_len);
	assert_int_equal(pc_sign(f->sig, PC_RECEIPT_TREE_PAYLOAD_TYPE, f->head, f->head_len, f->sk), 0);
	size_t n = pc_merkle_path(&t, 1, f->path);
	pc_merkle_free(&t);
	for (size_t i = 0; i < n; i++) {
		f->steps[i].data = f->path[i];
		f->steps[i].len = PC_HASH_SIZE;
	}
	pointclear__v1__receipt__init(&f->rc);
	f->rc.body.data = f->body[1];
	f->rc.body.len = f->body_len[1];
	f->rc.signature.data = f->sig;
	f->rc.signature.len = sizeof f->sig;
	f->rc.tree_head.data = f->head;
	f->rc.tree_head.len = f->head_len;
	f->rc.inclusion_path = f->steps;
	f->rc.n_inclusion_path = n;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	for (int i = 0; i < 3; i++)
		free(f->body[i]);
	free(f->head);
	free(f);
	return 0;
}

/* The reason pc_receipt_check gives for rc, NULL when it checks. */
static const char *check(const Pointclear__V1__Receipt *rc, const uint8_t *pk)
{
	Pointclear__V1__ReceiptBody *body = NULL;
	const char *why = pc_receipt_check(rc, pk, NULL, &body);
	if (why)
		assert_null(body);
	else
		assert_non_null(body);
	pc_receipt_body_free(body);
	return why;
}

static void test_valid(void **state)
{
	struct fixture *f = *state;
	struct pc_receipt_cache cache = { 0 };
	Pointclear__V1__ReceiptBody *body = NULL;
	assert_null(pc_receipt_check(&f->rc, f->pk, &cache, &body));
	assert_int_equal(body->sequence, 11);
	pc_receipt_body_free(body);
	assert_true(cache.valid);
	/* the cache spares a second signature check of the same head, never the path check */
	assert_null(check(&f->rc, f->pk));
	Pointclear__V1__Receipt rc = f->rc;
	rc.body.data = f->body[2];
	rc.body.len = f->body_len[2];
	assert_string_equal(pc_receipt_check(&rc, f->pk, &cache, &body),
	                    "inclusion path does not lead to the signed root");
}

static void test_refusals(void **state)
{
	struct fixture *f = *state;
	Pointclear__V1__Receipt rc;

	assert_string_equal(pc_receipt_check(NULL, f->pk, NULL, &(Pointclear__V1__ReceiptBody *){0}),
	                    "no receipt");
	assert_string_equal(check(&f->rc, f->other_pk), "bad signature");

	rc = f->rc;
	rc.signature.len = 63;
	assert_string_equal(check(&rc, f->pk), "bad signature");

	uint8_t garbage[] = { 0xff, 0xff, 0xff };
	rc = f->rc;
	rc.tree_head.data = garbage;
	rc.tree_head.len = sizeof garbage;
	assert_string_equal(check(&rc, f->pk), "tree head does not parse");

	rc = f->rc;
	rc.body.data = garbage;
	rc.body.len = sizeof garbage;
	assert_string_equal(check(&rc, f->pk), "receipt body does not parse");

	/* a body of another alliance, or outside the tree, under the same signed head */
	size_t len;
	uint8_t *other = pack_body("zz", 11, &len);
	rc = f->rc;
	rc.body.data = other;
	rc.body.len = len;
	assert_string_equal(check(&rc, f->pk), "receipt body and tree head name different alliances");
	free(other);
	other = pack_body("al", 13, &len);
	rc.body.data = other;
	rc.body.len = len;
	assert_string_equal(check(&rc, f->pk), "receipt sequence lies outside its tree");
	free(other);

	rc = f->rc;
	rc.body.data = f->body[0];   /* entry 10's body with entry 11's path */
	rc.body.len = f->body_len[0];
	assert_string_equal(check(&rc, f->pk), "inclusion path does not lead to the signed root");

	ProtobufCBinaryData short_step = { .len = 31, .data = f->path[0] };
	rc = f->rc;
	rc.inclusion_path = &short_step;
	rc.n_inclusion_path = 1;
	assert_string_equal(check(&rc, f->pk), "inclusion path hash has the wrong size");

	rc = f->rc;
	rc.n_inclusion_path = PC_MERKLE_MAX_PATH + 1;
	assert_string_equal(check(&rc, f->pk), "inclusion path too long");

	/* a head of size 0, signed: malformed however well signed */
	uint8_t root[PC_HASH_SIZE] = { 0 }, sig[PC_SIG_SIZE];
	uint8_t *head = pack_head("al", 10, 0, root, &len);
	assert_int_equal(pc_sign(sig, PC_RECEIPT_TREE_PAYLOAD_TYPE, head, len, f->sk), 0);
	rc = f->rc;
	rc.tree_head.data = head;
	rc.tree_head.len = len;
	rc.signature.data = sig;
	assert_string_equal(check(&rc, f->pk), "tree head is malformed");
	free(head);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
