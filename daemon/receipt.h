/* receipt.h - the operator's signed receipts and the SUBMIT_RESULT bodies that
 * carry them. The operator's private key lives here and nowhere else.
 *
 * Receipts are signed a tree at a time (PROTOCOL.md, "Receipts"): the writer
 * fills a tree with the entries the database placed in it, seals it (one
 * signature over its head), then packs each answer with its inclusion path. */
#ifndef PC_RECEIPT_H
#define PC_RECEIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pointclear/codec.h>

/* Loads HOME/operator/receipt.key. 0, or -1 with a logged reason. */
int pc_receipt_load_key(const char *path);

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

/* A packed SubmitResult (malloc'd, *len set) for entry seq of a sealed tree:
 * RECORDED or REPLAYED with its receipt. */
uint8_t *pc_result_recorded(Pointclear__V1__Disposition disp, const struct pc_receipt_tree *t,
                            uint64_t seq, size_t *len);
/* Without a receipt: REJECTED or RETRYABLE with code and message. */
uint8_t *pc_result_refused(Pointclear__V1__Disposition disp, pc_code code, const char *message,
                           uint64_t original_sequence, size_t *len);

#endif
