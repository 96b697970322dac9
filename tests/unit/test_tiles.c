/* test_tiles.c - unit tests of C2SP tlog-tiles (proto/tiles.c): the spec's path
 * and tree-shape examples, the appender against the spec's definition of every
 * tile, and tree hashes and proofs read from tiles against RFC 9162's published
 * test data and its recursive definitions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pointclear/tiles.h"
#include "rfc6962_data.h"
#include "testutil.h"

typedef uint8_t hash[PC_HASH_SIZE];

/* ---------------------------------------------------------------- a store */

/* Every stored hash a level, by position, as a database table of hash rows
 * would hold them; have[l] counts the positions written. */
struct store {
	hash *h[PC_TILE_LEVELS];
	uint64_t have[PC_TILE_LEVELS];
	uint64_t cap;
	int fulls, partials;
};

static struct store *store_new(uint64_t leaves)
{
	struct store *s = calloc(1, sizeof *s);
	assert_non_null(s);
	s->cap = leaves;
	for (int l = 0; l < PC_TILE_LEVELS; l++) {
		s->h[l] = calloc((size_t)(leaves >> (8 * l)) + 1, sizeof(hash));
		assert_non_null(s->h[l]);
	}
	return s;
}

static void store_free(struct store *s)
{
	for (int l = 0; l < PC_TILE_LEVELS; l++)
		free(s->h[l]);
	free(s);
}

static int store_sink(void *arg, const struct pc_tile_update *u)
{
	struct store *s = arg;
	uint64_t base = u->index * PC_TILE_WIDTH;
	/* hashes are only ever added, right after those already there */
	assert_true(u->from < u->width);
	assert_true(base + u->from == s->have[u->level]);
	for (unsigned i = u->from; i < u->width; i++)
		memcpy(s->h[u->level][base + i], u->hashes[i], PC_HASH_SIZE);
	/* and the old ones were not changed */
	for (unsigned i = 0; i < u->from; i++)
		assert_memory_equal(s->h[u->level][base + i], u->hashes[i], PC_HASH_SIZE);
	s->have[u->level] = base + u->width;
	if (u->width == PC_TILE_WIDTH)
		s->fulls++;
	else
		s->partials++;
	return 0;
}

static int store_read(void *arg, int level, uint64_t index, unsigned from, unsigned count,
                      uint8_t (*out)[PC_HASH_SIZE])
{
	struct store *s = arg;
	uint64_t at = index * PC_TILE_WIDTH + from;
	assert_true(level >= 0 && level < PC_TILE_LEVELS);
	assert_true(from + count <= PC_TILE_WIDTH);
	if (at + count > s->have[level])
		return 7;   /* not stored: the caller asked for what the tree lacks */
	memcpy(out, s->h[level][at], count * sizeof(hash));
	return 0;
}

static void leaves_of(hash *out, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint8_t data[8];
		for (int b = 0; b < 8; b++)
			data[b] = (uint8_t)(i >> (8 * b));
		pc_merkle_leaf_hash(out[i], data, sizeof data);
	}
}

/* ---------------------------------------------------------------- paths */

static void test_paths(void **state)
{
	(void)state;
	static const struct { int level; uint64_t index; unsigned width; const char *path; } v[] = {
		{ 0, 1234067, 256, "tile/0/x001/x234/067" },   /* the spec's example */
		{ 0, 0, 256, "tile/0/000" },
		{ 1, 5, 17, "tile/1/005.p/17" },
		{ 2, 999, 1, "tile/2/999.p/1" },
		{ 3, 1000, 255, "tile/3/x001/000.p/255" },
		{ 63, 0, 256, "tile/63/000" },
		{ PC_TILE_ENTRIES, 1234067, 256, "tile/entries/x001/x234/067" },
		{ PC_TILE_ENTRIES, 273, 112, "tile/entries/273.p/112" },
		{ 0, UINT64_MAX, 256, "tile/0/x018/x446/x744/x073/x709/x551/615" },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char path[PC_TILE_PATH_MAX];
		int level;
		uint64_t index;
		unsigned width;
		assert_int_equal(pc_tile_path(path, v[i].level, v[i].index, v[i].width), 0);
		assert_string_equal(path, v[i].path);
		assert_int_equal(pc_tile_path_parse(v[i].path, &level, &index, &width), 0);
		assert_int_equal(level, v[i].level);
		assert_true(index == v[i].index);
		assert_int_equal(width, v[i].width);
	}
	char path[PC_TILE_PATH_MAX];
	assert_int_equal(pc_tile_path(path, 64, 0, 256), -1);
	assert_int_equal(pc_tile_path(path, -2, 0, 256), -1);
	assert_int_equal(pc_tile_path(path, 0, 0, 0), -1);
	assert_int_equal(pc_tile_path(path, 0, 0, 257), -1);

	static const char *const bad[] = {
		"", "tile/", "tile/0", "tile/0/", "tile/0/1", "tile/0/0001", "tile/0/x001",
		"tile/0/x001/", "tile/0/x000/001", "tile/0/001/002", "tile/0/x1/002",
		"tile/00/001", "tile/64/001", "tile/-1/001", "tile/data/001", "tile/0/001.p/",
		"tile/0/001.p/0", "tile/0/001.p/256", "tile/0/001.p/017", "tile/0/001.p/17x",
		"tile/0/001.p/1000", "tile/0/001/", "tile/0/001.x/1", "tiles/0/001",
		"tile/entries/", "tile/entries/01", "tile/0/x018/x446/x744/x073/x709/x551/616",
		"/tile/0/001", "tile/0/001 ", "tile/8/0/001",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int level;
		uint64_t index;
		unsigned width;
		if (pc_tile_path_parse(bad[i], &level, &index, &width) != -1)
			fail_msg("accepted %s", bad[i]);
	}
}

/* The spec's examples: trees of 70,000 and of 256 leaves. */
static void test_tree_shapes(void **state)
{
	(void)state;
	assert_true(pc_tile_count(70000, 0) == 274);
	assert_int_equal(pc_tile_width(70000, 0, 272), 256);
	assert_int_equal(pc_tile_width(70000, 0, 273), 112);
	assert_int_equal(pc_tile_width(70000, 0, 274), 0);
	assert_int_equal(pc_tile_width(70000, PC_TILE_ENTRIES, 273), 112);
	assert_true(pc_tile_count(70000, 1) == 2);
	assert_int_equal(pc_tile_width(70000, 1, 0), 256);
	assert_int_equal(pc_tile_width(70000, 1, 1), 17);
	assert_true(pc_tile_count(70000, 2) == 1);
	assert_int_equal(pc_tile_width(70000, 2, 0), 1);
	assert_true(pc_tile_count(70000, 3) == 0);
	assert_int_equal(pc_tile_width(70000, 3, 0), 0);

	assert_true(pc_tile_count(256, 0) == 1);
	assert_int_equal(pc_tile_width(256, 0, 0), 256);
	assert_int_equal(pc_tile_width(256, 0, 1), 0);
	assert_int_equal(pc_tile_width(256, 1, 0), 1);
	assert_true(pc_tile_count(0, 0) == 0);
	assert_int_equal(pc_tile_width(0, 0, 0), 0);
	assert_int_equal(pc_tile_width(UINT64_MAX, 7, 0), 255);
	assert_int_equal(pc_tile_width(UINT64_MAX, 8, 0), 0);
}

static void test_bundles(void **state)
{
	(void)state;
	uint8_t buf[70000], big[65536] = { 0 };
	size_t used = 0, off = 0, len;
	const uint8_t *e;
	assert_int_equal(pc_tile_bundle_add(buf, sizeof buf, &used, (const uint8_t *)"abc", 3), 0);
	assert_int_equal(pc_tile_bundle_add(buf, sizeof buf, &used, NULL, 0), 0);
	assert_int_equal(pc_tile_bundle_add(buf, sizeof buf, &used, big, 65535), 0);
	assert_int_equal(pc_tile_bundle_add(buf, sizeof buf, &used, big, 65536), -1);
	assert_int_equal(pc_tile_bundle_add(buf, 10, &(size_t){ 6 }, big, 3), -1);
	assert_int_equal(used, 5 + 2 + 65537);
	assert_memory_equal(buf, "\x00\x03" "abc" "\x00\x00" "\xff\xff", 9);
	assert_int_equal(pc_tile_bundle_next(buf, used, &off, &e, &len), 1);
	assert_int_equal(len, 3);
	assert_memory_equal(e, "abc", 3);
	assert_int_equal(pc_tile_bundle_next(buf, used, &off, &e, &len), 1);
	assert_int_equal(len, 0);
	assert_int_equal(pc_tile_bundle_next(buf, used, &off, &e, &len), 1);
	assert_int_equal(len, 65535);
	assert_int_equal(pc_tile_bundle_next(buf, used, &off, &e, &len), 0);
	/* cut inside a length, and inside an entry */
	off = 0;
	assert_int_equal(pc_tile_bundle_next(buf, 1, &off, &e, &len), -1);
	off = 0;
	assert_int_equal(pc_tile_bundle_next(buf, 4, &off, &e, &len), -1);
}

/* ---------------------------------------------------------------- RFC 9162 data */

/* The published inclusion proofs (0-based index, size) and consistency
 * proofs (size1, size2) over those eight entries. */
static const struct { uint64_t a, b; const char *proof[3]; } ct_inclusion[] = {
	{ 0, 1, { NULL } },
	{ 0, 8, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
	          "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	          "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
	{ 5, 8, { "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
	          "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
	          "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
	{ 2, 3, { "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125" } },
	{ 1, 5, { "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	          "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	          "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
}, ct_consistency[] = {
	{ 1, 1, { NULL } },
	{ 1, 8, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
	          "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	          "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
	{ 6, 8, { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
	          "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
	          "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
	{ 2, 5, { "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	          "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
	{ 6, 7, { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
	          "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
	          "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
};

static size_t proof_len(const char *const p[3])
{
	size_t n = 0;
	while (n < 3 && p[n])
		n++;
	return n;
}

static void hex_to_hash(uint8_t out[PC_HASH_SIZE], const char *hex)
{
	size_t len;
	uint8_t *d = hex_decode(hex, &len);
	assert_int_equal(len, PC_HASH_SIZE);
	memcpy(out, d, PC_HASH_SIZE);
	free(d);
}

static void test_ct_vectors(void **state)
{
	(void)state;
	hash leaves[8], root, proof[PC_TLOG_MAX_PROOF], want[PC_TLOG_MAX_PROOF];
	size_t len;
	struct store *s = store_new(8);
	struct pc_tlog_edge *e = malloc(sizeof *e);
	assert_non_null(e);

	for (int i = 0; i < 8; i++) {
		size_t n;
		uint8_t *d = hex_decode(ct_entries[i], &n);
		pc_merkle_leaf_hash(leaves[i], d, n);
		free(d);
	}
	pc_tlog_edge_init(e);
	pc_tlog_edge_root(e, root);
	assert_bytes_hex(root, PC_HASH_SIZE,
	                 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	for (int n = 1; n <= 8; n++) {
		assert_int_equal(pc_tlog_append(e, (const hash *)&leaves[n - 1], 1, store_sink, s), 0);
		pc_tlog_edge_root(e, root);
		assert_bytes_hex(root, PC_HASH_SIZE, ct_roots[n - 1]);
		assert_int_equal(pc_tlog_tree_hash((uint64_t)n, store_read, s, root), 0);
		assert_bytes_hex(root, PC_HASH_SIZE, ct_roots[n - 1]);
	}
	for (size_t i = 0; i < sizeof ct_inclusion / sizeof ct_inclusion[0]; i++) {
		uint64_t m = ct_inclusion[i].a, n = ct_inclusion[i].b;
		size_t wl = proof_len(ct_inclusion[i].proof);
		assert_int_equal(pc_tlog_prove_inclusion(m, n, store_read, s, proof, &len), 0);
		assert_int_equal(len, wl);
		for (size_t j = 0; j < wl; j++)
			assert_bytes_hex(proof[j], PC_HASH_SIZE, ct_inclusion[i].proof[j]);
		hex_to_hash(root, ct_roots[n - 1]);
		assert_true(pc_merkle_verify(leaves[m], m, n, (const hash *)proof, len, root));
	}
	for (size_t i = 0; i < sizeof ct_consistency / sizeof ct_consistency[0]; i++) {
		uint64_t m = ct_consistency[i].a, n = ct_consistency[i].b;
		size_t wl = proof_len(ct_consistency[i].proof);
		hash r1, r2;
		assert_int_equal(pc_tlog_prove_consistency(m, n, store_read, s, proof, &len), 0);
		assert_int_equal(len, wl);
		for (size_t j = 0; j < wl; j++) {
			assert_bytes_hex(proof[j], PC_HASH_SIZE, ct_consistency[i].proof[j]);
			hex_to_hash(want[j], ct_consistency[i].proof[j]);
		}
		hex_to_hash(r1, ct_roots[m - 1]);
		hex_to_hash(r2, ct_roots[n - 1]);
		assert_true(pc_merkle_verify_consistency(m, n, r1, r2, (const hash *)want, len));
		if (len == 0)
			continue;
		/* the probes of a corrupted proof: each must fail */
		assert_false(pc_merkle_verify_consistency(m - 1, n, r1, r2, (const hash *)want, len));
		assert_false(pc_merkle_verify_consistency(m + 1, n, r1, r2, (const hash *)want, len));
		assert_false(pc_merkle_verify_consistency(m ^ 2, n, r1, r2, (const hash *)want, len));
		assert_false(pc_merkle_verify_consistency(m, n * 2, r1, r2, (const hash *)want, len));
		assert_false(pc_merkle_verify_consistency(m, n / 2, r1, r2, (const hash *)want, len));
		assert_false(pc_merkle_verify_consistency(m, n, r2, r1, (const hash *)want, len));
		assert_false(pc_merkle_verify_consistency(m, n, r1, r2, (const hash *)want, 0));
		assert_false(pc_merkle_verify_consistency(m, n, r1, r2, (const hash *)want, len - 1));
		memcpy(want[len], r1, PC_HASH_SIZE);
		assert_false(pc_merkle_verify_consistency(m, n, r1, r2, (const hash *)want, len + 1));
		for (size_t j = 0; j < len; j++) {
			want[j][0] ^= 16;
			assert_false(pc_merkle_verify_consistency(m, n, r1, r2, (const hash *)want, len));
			want[j][0] ^= 16;
		}
	}
	/* the trivial cases */
	hash empty, r1;
	pc_merkle_empty_root(empty);
	hex_to_hash(r1, ct_roots[0]);
	assert_true(pc_merkle_verify_consistency(0, 0, empty, empty, NULL, 0));
	assert_true(pc_merkle_verify_consistency(0, 1, empty, r1, NULL, 0));
	assert_false(pc_merkle_verify_consistency(0, 1, r1, r1, NULL, 0));
	assert_false(pc_merkle_verify_consistency(1, 1, r1, empty, NULL, 0));
	assert_false(pc_merkle_verify_consistency(1, 1, r1, r1, (const hash *)&r1, 1));
	assert_false(pc_merkle_verify_consistency(2, 1, r1, r1, NULL, 0));
	assert_int_equal(pc_tlog_prove_consistency(2, 1, store_read, s, proof, &len), -1);
	assert_int_equal(pc_tlog_prove_inclusion(8, 8, store_read, s, proof, &len), -1);
	/* a tree the store does not hold: the reader's error comes back */
	assert_int_equal(pc_tlog_tree_hash(9, store_read, s, root), 7);
	store_free(s);
	free(e);
}

/* ---------------------------------------------------------------- the appender */

/* RFC 9162, 2.1.1 and 2.1.4.1, straight from the definitions. */
static void mth(uint8_t out[PC_HASH_SIZE], const hash *d, uint64_t n)
{
	pc_merkle_root_of(out, d, n);
}

static uint64_t split(uint64_t n)
{
	uint64_t k = 1;
	while (k * 2 < n)
		k *= 2;
	return k;
}

static size_t ref_subproof(hash *out, uint64_t m, const hash *d, uint64_t n, bool b)
{
	if (m == n) {
		if (b)
			return 0;
		mth(out[0], d, n);
		return 1;
	}
	uint64_t k = split(n);
	size_t len;
	if (m <= k) {
		len = ref_subproof(out, m, d, k, b);
		mth(out[len], d + k, n - k);
	} else {
		len = ref_subproof(out, m - k, d + k, n - k, false);
		mth(out[len], d, k);
	}
	return len + 1;
}

/* Appends n leaves in batches of varied sizes; every tile the store then holds
 * is the one the spec's definition gives, and proofs read from it verify. */
static void append_and_check(uint64_t n, const size_t *batches, size_t nb)
{
	hash *leaves = malloc(n * sizeof *leaves), root, want;
	hash (*tile)[PC_TILE_WIDTH] = malloc(sizeof *tile);
	struct store *s = store_new(n);
	struct pc_tlog_edge *e = malloc(sizeof *e), *loaded = malloc(sizeof *loaded);
	assert_non_null(leaves);
	assert_non_null(tile);
	assert_non_null(e);
	assert_non_null(loaded);
	leaves_of(leaves, n);

	pc_tlog_edge_init(e);
	uint64_t done = 0, batch_no = 0;
	for (size_t b = 0; done < n; b = (b + 1) % nb) {
		uint64_t take = batches[b] < n - done ? batches[b] : n - done;
		assert_int_equal(pc_tlog_append(e, (const hash *)leaves + done, take, store_sink, s), 0);
		done += take;
		assert_true(e->size == done);
		pc_tlog_edge_root(e, root);
		/* the reference is O(done): now and then on large trees, where the
		 * tiles' root stands in between */
		if (done <= 4096 || ++batch_no % 8 == 0 || done == n)
			mth(want, (const hash *)leaves, done);
		else
			assert_int_equal(pc_tlog_tree_hash(done, store_read, s, want), 0);
		assert_memory_equal(root, want, PC_HASH_SIZE);
		/* the edge read back from the store is the one kept */
		assert_int_equal(pc_tlog_edge_load(loaded, done, store_read, s), 0);
		assert_true(loaded->frontier.size == done);
		for (int bit = 0; bit < 64; bit++)
			if (done >> bit & 1)
				assert_memory_equal(loaded->frontier.node[bit], e->frontier.node[bit],
				                    PC_HASH_SIZE);
		assert_int_equal(pc_tlog_tree_hash(done, store_read, s, root), 0);
		assert_memory_equal(root, want, PC_HASH_SIZE);
	}
	for (int l = 0; l < PC_TILE_LEVELS; l++)
		for (uint64_t t = 0; t < pc_tile_count(n, l); t++) {
			unsigned w;
			assert_int_equal(pc_tile_compute((const hash *)leaves, n, l, t, *tile, &w), 0);
			assert_int_equal(w, pc_tile_width(n, l, t));
			assert_memory_equal(s->h[l][t * PC_TILE_WIDTH], *tile, w * sizeof(hash));
		}
	assert_true(s->have[0] == n);
	unsigned w;
	assert_int_equal(pc_tile_compute((const hash *)leaves, n, 0, pc_tile_count(n, 0), *tile, &w), -1);

	/* proofs, at some indexes and sizes */
	hash proof[PC_TLOG_MAX_PROOF], ref[PC_TLOG_MAX_PROOF], r1;
	size_t len;
	for (uint64_t size = 1; size <= n; size += 1 + size / 3) {
		mth(want, (const hash *)leaves, size);
		/* the recursive reference costs O(size) a proof: on small trees only */
		bool ref_too = size <= 4096;
		for (uint64_t m = 0; m < size; m += 1 + size / 5) {
			assert_int_equal(pc_tlog_prove_inclusion(m, size, store_read, s, proof, &len), 0);
			assert_true(pc_merkle_verify(leaves[m], m, size, (const hash *)proof, len, want));
			uint64_t size1 = m + 1;
			if (ref_too)
				mth(r1, (const hash *)leaves, size1);
			else
				assert_int_equal(pc_tlog_tree_hash(size1, store_read, s, r1), 0);
			assert_int_equal(pc_tlog_prove_consistency(size1, size, store_read, s, proof, &len), 0);
			if (ref_too) {
				size_t rl = size1 == size ? 0
				          : ref_subproof(ref, size1, (const hash *)leaves, size, true);
				assert_int_equal(len, rl);
				if (rl)
					assert_memory_equal(proof, ref, rl * sizeof(hash));
			}
			assert_true(pc_merkle_verify_consistency(size1, size, r1, want, (const hash *)proof, len));
		}
	}
	store_free(s);
	free(leaves);
	free(tile);
	free(e);
	free(loaded);
}

static void test_append_small(void **state)
{
	(void)state;
	static const size_t ones[] = { 1 }, mixed[] = { 3, 1, 7, 2 };
	for (uint64_t n = 1; n <= 70; n++) {
		append_and_check(n, ones, 1);
		append_and_check(n, mixed, 4);
	}
}

static void test_append_spec_size(void **state)
{
	(void)state;
	/* the spec's 70,000: full and partial tiles on three levels; batches that
	 * cross tile edges and one larger than a tile */
	static const size_t batches[] = { 1, 255, 300, 17, 1000, 4096 };
	append_and_check(70000, batches, 6);
	static const size_t one_batch[] = { 65536 };
	append_and_check(65536 + 256 + 1, one_batch, 1);
}

static int failing_sink(void *arg, const struct pc_tile_update *u)
{
	(void)u;
	return ++*(int *)arg == 2 ? 42 : 0;
}

static void test_sink_error(void **state)
{
	(void)state;
	hash leaves[600];
	struct pc_tlog_edge *e = malloc(sizeof *e);
	int calls = 0;
	assert_non_null(e);
	leaves_of(leaves, 600);
	pc_tlog_edge_init(e);
	assert_int_equal(pc_tlog_append(e, (const hash *)leaves, 600, failing_sink, &calls), 42);
	free(e);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_tree_shapes),
		cmocka_unit_test(test_bundles),
		cmocka_unit_test(test_ct_vectors),
		cmocka_unit_test(test_append_small),
		cmocka_unit_test(test_append_spec_size),
		cmocka_unit_test(test_sink_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
