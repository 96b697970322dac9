/* merkle.c - RFC 9162 tree hashing, inclusion paths and their check, a tree's
 * frontier, and the check of consistency proofs. */
#include "pointclear/merkle.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sha256.h"

void pc_merkle_leaf_hash(uint8_t out[PC_HASH_SIZE], const uint8_t *data, size_t len)
{
	static const uint8_t prefix = 0x00;
	pc_sha256(out, (const struct pc_sha256_piece[]){ { &prefix, 1 }, { data, len } }, 2);
}

void pc_merkle_node_hash(uint8_t out[PC_HASH_SIZE], const uint8_t left[PC_HASH_SIZE],
                         const uint8_t right[PC_HASH_SIZE])
{
	uint8_t in[1 + 2 * PC_HASH_SIZE];
	in[0] = 0x01;
	memcpy(in + 1, left, PC_HASH_SIZE);
	memcpy(in + 1 + PC_HASH_SIZE, right, PC_HASH_SIZE);
	pc_sha256(out, (const struct pc_sha256_piece[]){ { in, sizeof in } }, 1);
}

int pc_merkle_build(struct pc_merkle_tree *t, const uint8_t (*leaves)[PC_HASH_SIZE], size_t n)
{
	memset(t, 0, sizeof *t);
	if (n == 0)
		return -1;
	/* each level above holds ceil(half) of the one below: fewer than 2n nodes,
	 * plus at most one carried node per level */
	t->nodes = malloc((2 * n + PC_MERKLE_MAX_PATH) * sizeof *t->nodes);
	if (!t->nodes)
		return -1;
	t->size = n;
	memcpy(t->nodes, leaves, n * sizeof *t->nodes);
	t->level_start[0] = 0;
	t->level_len[0] = n;
	int l = 0;
	size_t next = n;
	while (t->level_len[l] > 1) {
		const uint8_t (*below)[PC_HASH_SIZE] = t->nodes + t->level_start[l];
		size_t len = t->level_len[l];
		t->level_start[l + 1] = next;
		t->level_len[l + 1] = (len + 1) / 2;
		for (size_t i = 0; i + 1 < len; i += 2)
			pc_merkle_node_hash(t->nodes[next++], below[i], below[i + 1]);
		if (len % 2)
			memcpy(t->nodes[next++], below[len - 1], PC_HASH_SIZE);
		l++;
	}
	t->levels = l + 1;
	return 0;
}

const uint8_t *pc_merkle_root(const struct pc_merkle_tree *t)
{
	return t->nodes[t->level_start[t->levels - 1]];
}

size_t pc_merkle_path(const struct pc_merkle_tree *t, size_t index,
                      uint8_t path[PC_MERKLE_MAX_PATH][PC_HASH_SIZE])
{
	size_t n = 0;
	for (int l = 0; l + 1 < t->levels; l++) {
		size_t sibling = index ^ 1;
		/* a last node without a sibling is carried up: nothing to prove here */
		if (sibling < t->level_len[l])
			memcpy(path[n++], t->nodes[t->level_start[l] + sibling], PC_HASH_SIZE);
		index >>= 1;
	}
	return n;
}

void pc_merkle_free(struct pc_merkle_tree *t)
{
	free(t->nodes);
	memset(t, 0, sizeof *t);
}

/* One step of RFC 9162's walks up a proof (2.1.3.2, 2.1.4.2): c is the left
 * sibling when fn is odd or the last node of its level, else the right one.
 * sr takes every step; fr, when not NULL, only the left ones. False when the
 * proof is longer than the tree is high. */
static bool walk_step(uint64_t *fn, uint64_t *sn, const uint8_t c[PC_HASH_SIZE],
                      uint8_t fr[PC_HASH_SIZE], uint8_t sr[PC_HASH_SIZE])
{
	if (*sn == 0)
		return false;
	if ((*fn & 1) || *fn == *sn) {
		if (fr)
			pc_merkle_node_hash(fr, c, fr);
		pc_merkle_node_hash(sr, c, sr);
		if (!(*fn & 1))
			while (*fn != 0 && !(*fn & 1)) {
				*fn >>= 1;
				*sn >>= 1;
			}
	} else {
		pc_merkle_node_hash(sr, sr, c);
	}
	*fn >>= 1;
	*sn >>= 1;
	return true;
}

bool pc_merkle_verify(const uint8_t leaf[PC_HASH_SIZE], uint64_t index, uint64_t size,
                      const uint8_t (*path)[PC_HASH_SIZE], size_t path_len,
                      const uint8_t root[PC_HASH_SIZE])
{
	if (index >= size)
		return false;
	uint64_t fn = index, sn = size - 1;
	uint8_t r[PC_HASH_SIZE];
	memcpy(r, leaf, PC_HASH_SIZE);
	for (size_t i = 0; i < path_len; i++)
		if (!walk_step(&fn, &sn, path[i], NULL, r))
			return false;
	return sn == 0 && sodium_memcmp(r, root, PC_HASH_SIZE) == 0;
}

void pc_merkle_empty_root(uint8_t out[PC_HASH_SIZE])
{
	pc_sha256(out, NULL, 0);
}

void pc_merkle_frontier_init(struct pc_merkle_frontier *f)
{
	memset(f, 0, sizeof *f);
}

int pc_merkle_frontier_append(struct pc_merkle_frontier *f, const uint8_t leaf[PC_HASH_SIZE])
{
	if (f->size == UINT64_MAX)
		return -1;
	uint8_t h[PC_HASH_SIZE];
	memcpy(h, leaf, PC_HASH_SIZE);
	/* a binary increment: each set low bit is a full subtree that the new one
	 * completes, merged into one twice its size */
	int b = 0;
	for (; f->size >> b & 1; b++)
		pc_merkle_node_hash(h, f->node[b], h);
	memcpy(f->node[b], h, PC_HASH_SIZE);
	f->size++;
	return 0;
}

void pc_merkle_frontier_root(const struct pc_merkle_frontier *f, uint8_t out[PC_HASH_SIZE])
{
	if (f->size == 0) {
		pc_merkle_empty_root(out);
		return;
	}
	/* right to left: the smallest subtree is the deepest right child */
	int b = 0;
	while (!(f->size >> b & 1))
		b++;
	memcpy(out, f->node[b], PC_HASH_SIZE);
	for (b++; b < 64; b++)
		if (f->size >> b & 1)
			pc_merkle_node_hash(out, f->node[b], out);
}

void pc_merkle_root_of(uint8_t out[PC_HASH_SIZE], const uint8_t (*leaves)[PC_HASH_SIZE],
                       size_t n)
{
	struct pc_merkle_frontier f;
	pc_merkle_frontier_init(&f);
	for (size_t i = 0; i < n; i++)
		(void)pc_merkle_frontier_append(&f, leaves[i]);   /* n < 2^64 */
	pc_merkle_frontier_root(&f, out);
}

bool pc_merkle_verify_consistency(uint64_t size1, uint64_t size2,
                                  const uint8_t root1[PC_HASH_SIZE],
                                  const uint8_t root2[PC_HASH_SIZE],
                                  const uint8_t (*proof)[PC_HASH_SIZE], size_t len)
{
	if (size1 > size2)
		return false;
	if (size1 == size2)
		return len == 0 && sodium_memcmp(root1, root2, PC_HASH_SIZE) == 0;
	if (size1 == 0) {
		uint8_t empty[PC_HASH_SIZE];
		pc_merkle_empty_root(empty);
		return len == 0 && sodium_memcmp(root1, empty, PC_HASH_SIZE) == 0;
	}
	if (len == 0)
		return false;
	/* the steps of the RFC; a first tree that is a whole subtree is not in the
	 * proof, it is root1 itself */
	size_t i = 0;
	uint8_t fr[PC_HASH_SIZE], sr[PC_HASH_SIZE];
	if ((size1 & (size1 - 1)) == 0) {
		memcpy(fr, root1, PC_HASH_SIZE);
	} else {
		memcpy(fr, proof[0], PC_HASH_SIZE);
		i = 1;
	}
	memcpy(sr, fr, PC_HASH_SIZE);
	uint64_t fn = size1 - 1, sn = size2 - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < len; i++)
		if (!walk_step(&fn, &sn, proof[i], fr, sr))
			return false;
	return sn == 0 && sodium_memcmp(fr, root1, PC_HASH_SIZE) == 0 &&
	       sodium_memcmp(sr, root2, PC_HASH_SIZE) == 0;
}
