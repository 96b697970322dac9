/* merkle.h - RFC 9162 Merkle trees over leaf hashes already computed: building a
 * whole tree, the inclusion path of one leaf, and checking such a path.
 *
 * Receipts (PROTOCOL.md, "Receipts") are signed a tree at a time with these; the
 * audit log's tree hashes the same way, kept as a right edge (a frontier) and
 * checked with consistency proofs. */
#ifndef POINTCLEAR_MERKLE_H
#define POINTCLEAR_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pointclear/leaf.h>   /* PC_HASH_SIZE */

/* A path is at most this long: ceil(log2(size)) for any 64-bit size. */
#define PC_MERKLE_MAX_PATH 64

/* SHA-256(0x00 || data) and SHA-256(0x01 || left || right). */
void pc_merkle_leaf_hash(uint8_t out[PC_HASH_SIZE], const uint8_t *data, size_t len);
void pc_merkle_node_hash(uint8_t out[PC_HASH_SIZE], const uint8_t left[PC_HASH_SIZE],
                         const uint8_t right[PC_HASH_SIZE]);

/* Every level of one tree, leaves first; a level's last node, when it has no
 * sibling, is carried up unchanged, which is RFC 9162's split at the largest
 * power of two below the size. Owns its nodes. */
struct pc_merkle_tree {
	size_t size;
	int levels;                           /* 1 for a single leaf */
	uint8_t (*nodes)[PC_HASH_SIZE];
	size_t level_start[PC_MERKLE_MAX_PATH + 1];
	size_t level_len[PC_MERKLE_MAX_PATH + 1];
};

/* Builds the tree over n >= 1 leaf hashes. 0, or -1 (n == 0, out of memory). */
int pc_merkle_build(struct pc_merkle_tree *t, const uint8_t (*leaves)[PC_HASH_SIZE], size_t n);
const uint8_t *pc_merkle_root(const struct pc_merkle_tree *t);
/* Writes the inclusion path of leaf index (< size) into path, bottom up; returns
 * its length. */
size_t pc_merkle_path(const struct pc_merkle_tree *t, size_t index,
                      uint8_t path[PC_MERKLE_MAX_PATH][PC_HASH_SIZE]);
void pc_merkle_free(struct pc_merkle_tree *t);

/* RFC 9162, 2.1.3.2: true when path proves that leaf is entry index of the tree
 * of size entries whose root is root. */
bool pc_merkle_verify(const uint8_t leaf[PC_HASH_SIZE], uint64_t index, uint64_t size,
                      const uint8_t (*path)[PC_HASH_SIZE], size_t path_len,
                      const uint8_t root[PC_HASH_SIZE]);

/* The root of the empty tree: SHA-256 of nothing (RFC 9162, 2.1.1). */
void pc_merkle_empty_root(uint8_t out[PC_HASH_SIZE]);

/* A tree's right edge, its "compact range": for each bit b set in size, node[b]
 * is the root of the perfect subtree of 2^b leaves that bit stands for, the
 * larger ones to the left. It is all a log needs to append a leaf and to know
 * its root, in O(log size) hashes and without the leaves. */
struct pc_merkle_frontier {
	uint64_t size;
	uint8_t node[64][PC_HASH_SIZE];
};

void pc_merkle_frontier_init(struct pc_merkle_frontier *f);
/* Appends one leaf hash. 0, or -1 when the size would overflow 64 bits. */
int pc_merkle_frontier_append(struct pc_merkle_frontier *f, const uint8_t leaf[PC_HASH_SIZE]);
/* The root of the tree of f->size leaves (the empty root for none). */
void pc_merkle_frontier_root(const struct pc_merkle_frontier *f, uint8_t out[PC_HASH_SIZE]);
/* MTH over n leaf hashes (n may be 0), without allocating. */
void pc_merkle_root_of(uint8_t out[PC_HASH_SIZE], const uint8_t (*leaves)[PC_HASH_SIZE],
                       size_t n);

/* RFC 9162, 2.1.4.2: true when proof shows that the tree of size1 entries with
 * root1 is a prefix of the tree of size2 entries with root2. Equal sizes need an
 * empty proof and equal roots; size1 == 0 needs an empty proof and root1 the
 * empty root. */
bool pc_merkle_verify_consistency(uint64_t size1, uint64_t size2,
                                  const uint8_t root1[PC_HASH_SIZE],
                                  const uint8_t root2[PC_HASH_SIZE],
                                  const uint8_t (*proof)[PC_HASH_SIZE], size_t len);

#endif
