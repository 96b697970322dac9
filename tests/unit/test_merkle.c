/* test_merkle.c - unit tests of the RFC 9162 tree: the published RFC 6962 test
 * data, and every tree size up to 70 against the RFC's recursive definitions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "pointclear/merkle.h"
#include "rfc6962_data.h"
#include "testutil.h"

typedef uint8_t hash[PC_HASH_SIZE];

static void ct_leaves(hash *out)
{
	for (int i = 0; i < 8; i++) {
		size_t len;
		uint8_t *d = hex_decode(ct_entries[i], &len);
		pc_merkle_leaf_hash(out[i], d, len);
		free(d);
	}
}

static void assert_hex(const uint8_t *h, const char *want)
{
	char *got = hex_encode(h, PC_HASH_SIZE);
	assert_string_equal(got, want);
	free(got);
}

static void test_ct_roots(void **state)
{
	(void)state;
	hash leaves[8];
	ct_leaves(leaves);
	for (size_t n = 1; n <= 8; n++) {
		struct pc_merkle_tree t;
		assert_int_equal(pc_merkle_build(&t, (const hash *)leaves, n), 0);
		assert_hex(pc_merkle_root(&t), ct_roots[n - 1]);
		pc_merkle_free(&t);
	}
}

static void test_ct_path(void **state)
{
	(void)state;
	static const char *const want[] = {
		"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
		"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
	};
	hash leaves[8], path[PC_MERKLE_MAX_PATH];
	ct_leaves(leaves);
	struct pc_merkle_tree t;
	assert_int_equal(pc_merkle_build(&t, (const hash *)leaves, 8), 0);
	assert_int_equal(pc_merkle_path(&t, 0, path), 3);
	for (int i = 0; i < 3; i++)
		assert_hex(path[i], want[i]);
	assert_true(pc_merkle_verify(leaves[0], 0, 8, (const hash *)path, 3, pc_merkle_root(&t)));
	pc_merkle_free(&t);
}

/* RFC 9162, 2.1.1: MTH, straight from the definition. */
static void mth(uint8_t out[PC_HASH_SIZE], const hash *d, size_t n)
{
	if (n == 1) {
		memcpy(out, d[0], PC_HASH_SIZE);
		return;
	}
	size_t k = 1;
	while (k * 2 < n)
		k *= 2;
	hash l, r;
	mth(l, d, k);
	mth(r, d + k, n - k);
	pc_merkle_node_hash(out, l, r);
}

/* RFC 9162, 2.1.3.1: PATH(m, D[n]), straight from the definition. */
static size_t ref_path(hash *out, size_t m, const hash *d, size_t n)
{
	if (n == 1)
		return 0;
	size_t k = 1;
	while (k * 2 < n)
		k *= 2;
	size_t len;
	if (m < k) {
		len = ref_path(out, m, d, k);
		mth(out[len], d + k, n - k);
	} else {
		len = ref_path(out, m - k, d + k, n - k);
		mth(out[len], d, k);
	}
	return len + 1;
}

static void test_every_size(void **state)
{
	(void)state;
	enum { MAX = 70 };
	hash leaves[MAX];
	for (int i = 0; i < MAX; i++) {
		uint8_t data[2] = { (uint8_t)i, (uint8_t)(i * 7) };
		pc_merkle_leaf_hash(leaves[i], data, sizeof data);
	}
	for (size_t n = 1; n <= MAX; n++) {
		struct pc_merkle_tree t;
		hash root;
		assert_int_equal(pc_merkle_build(&t, (const hash *)leaves, n), 0);
		mth(root, (const hash *)leaves, n);
		assert_memory_equal(pc_merkle_root(&t), root, PC_HASH_SIZE);
		for (size_t m = 0; m < n; m++) {
			hash path[PC_MERKLE_MAX_PATH], want[PC_MERKLE_MAX_PATH];
			size_t len = pc_merkle_path(&t, m, path);
			assert_int_equal(len, ref_path(want, m, (const hash *)leaves, n));
			if (len)
				assert_memory_equal(path, want, len * PC_HASH_SIZE);
			assert_true(pc_merkle_verify(leaves[m], m, n, (const hash *)path, len, root));
			/* another leaf, another place, a path too short or altered: no proof */
			assert_false(pc_merkle_verify(leaves[(m + 1) % MAX], m, n, (const hash *)path,
			                              len, root));
			assert_false(pc_merkle_verify(leaves[m], m, m, (const hash *)path, len, root));
			if (n > 1) {
				assert_false(pc_merkle_verify(leaves[m], (m + 1) % n, n, (const hash *)path,
				                              len, root));
				assert_false(pc_merkle_verify(leaves[m], m, n, (const hash *)path, len - 1,
				                              root));
				path[len - 1][7] ^= 0x01;
				assert_false(pc_merkle_verify(leaves[m], m, n, (const hash *)path, len, root));
			}
		}
		pc_merkle_free(&t);
	}
}

static void test_empty_refused(void **state)
{
	(void)state;
	struct pc_merkle_tree t;
	hash leaf = { 0 };
	assert_int_equal(pc_merkle_build(&t, (const hash *)&leaf, 0), -1);
	assert_false(pc_merkle_verify(leaf, 0, 0, NULL, 0, leaf));
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ct_roots),
		cmocka_unit_test(test_ct_path),
		cmocka_unit_test(test_every_size),
		cmocka_unit_test(test_empty_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
