/* merkle.c - RFC 9162 tree hashing, inclusion paths and their check. */
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

bool pc_merkle_verify(const uint8_t leaf[PC_HASH_SIZE], uint64_t index, uint64_t size,
                      const uint8_t (*path)[PC_HASH_SIZE], size_t path_len,
                      const uint8_t root[PC_HASH_SIZE])
{
	if (index >= size)
		return false;
	uint64_t fn = index, sn = size - 1;
	uint8_t r[PC_HASH_SIZE];
	memcpy(r, leaf, PC_HASH_SIZE);
	for (size_t i = 0; i < path_len; i++) {
		if (sn == 0)
			return false;
		if ((fn & 1) || fn == sn) {
			pc_merkle_node_hash(r, path[i], r);
			if (!(fn & 1))
				while (fn != 0 && !(fn & 1)) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			pc_merkle_node_hash(r, r, path[i]);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && sodium_memcmp(r, root, PC_HASH_SIZE) == 0;
}
