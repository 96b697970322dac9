/* leaf.h - the ledger leaf of PROTOCOL.md, "Leaf", and its RFC 9162 hash.
 * sql/functions/20_leaves.sql computes the same bytes (pc_leaf_hash); tests hold
 * the two to each other. */
#ifndef POINTCLEAR_LEAF_H
#define POINTCLEAR_LEAF_H

#include <stddef.h>
#include <stdint.h>

#define PC_HASH_SIZE 32

struct pc_leaf_decision {
	uint8_t status;
	uint16_t code;
	int64_t balance;
	int64_t available;
	int64_t amount;
	int64_t remaining;
	int64_t hold_expires_at_us;
};

struct pc_leaf {
	const char *alliance_id;
	uint64_t sequence;
	int64_t accepted_at_us;
	const uint8_t *envelope;   /* the SUBMIT body exactly as received */
	size_t envelope_len;
	struct pc_leaf_decision decision;
	const uint8_t *ext;        /* empty in version 1 */
	size_t ext_len;
};

/* Length of the encoded leaf (without the 0x00 hash prefix). */
size_t pc_leaf_length(const struct pc_leaf *leaf);

/* Encodes the leaf into out; returns its length, or 0 if cap is too small. */
size_t pc_leaf_encode(uint8_t *out, size_t cap, const struct pc_leaf *leaf);

/* SHA-256(0x00 || leaf). Returns 0, or -1 if the leaf cannot be encoded. */
int pc_leaf_hash(uint8_t out[PC_HASH_SIZE], const struct pc_leaf *leaf);

#endif
