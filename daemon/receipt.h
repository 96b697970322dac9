/* receipt.h - the operator's signed receipts. The operator's private key lives
 * here and nowhere else.
 *
 * Receipts are signed a tree at a time (PROTOCOL.md, "Receipts"): the writer
 * fills a tree with the entries the database placed in it, seals it (one
 * signature over its head), then views each entry's receipt with its inclusion
 * path. */
#ifndef PC_RECEIPT_H
#define PC_RECEIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pointclear/codec.h>
#include <pointclear/sign.h>

#include "outcome.h"

/* Loads HOME/operator/receipt.key. 0, or -1 with a logged reason. */
int pc_receipt_load_key(const char *path);
/* Signs with the key of this seed from now on (tests, and load_key itself). */
void pc_receipt_use_seed(const uint8_t seed[PC_SEED_SIZE]);

/* One ledger entry as the ledger recorded it: what its receipt body says. */
struct pc_recorded {
	const char *alliance, *merchant, *event_id;
	uint64_t sequence;
	const uint8_t *leaf_hash;   /* 32 bytes */
	int64_t accepted_at_us;
	int status, code;
	int64_t balance, available, applied, remaining, hold_expires_at_us;
};

/* The receipts of entries first .. first + size - 1 of one alliance. */
struct pc_receipt_tree;

struct pc_receipt_tree *pc_receipt_tree_new(const char *alliance, uint64_t first, size_t size);
bool pc_receipt_tree_is(const struct pc_receipt_tree *t, const char *alliance, uint64_t first,
                        size_t size);
/* Puts rec's receipt body in its place. 0, or -1 when rec lies outside the tree
 * or its place already holds a different body (the database contradicts itself). */
int pc_receipt_tree_set(struct pc_receipt_tree *t, const struct pc_recorded *rec);
/* Builds the Merkle tree and signs its head. 0, or -1 while a place is empty. */
int pc_receipt_tree_seal(struct pc_receipt_tree *t);
void pc_receipt_tree_free(struct pc_receipt_tree *t);

/* Entry seq's receipt in sealed tree t, and the entry's decision code. v points
 * into t, which must outlive its use. */
void pc_receipt_tree_view(const struct pc_receipt_tree *t, uint64_t seq,
                          struct pc_receipt_view *v, pc_code *code);

#endif
