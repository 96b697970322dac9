/* outcome.h - what the core answers about one request, whatever carried it.
 *
 * Every answer the rules give - a refusal by validation, a decision the database
 * recorded or replayed, a database that could not be reached - is one struct
 * pc_outcome. It speaks the contract's terms (dispositions, codes, the signed
 * receipt), never a transport's: the connection code turns it into a
 * SUBMIT_RESULT frame (answer.c), another front end into what it speaks. */
#ifndef PC_OUTCOME_H
#define PC_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pointclear/codec.h>
#include <pointclear/merkle.h>

/* The operator's receipt of one ledger entry (PROTOCOL.md, "Receipts"): its
 * body, the signed head of its tree and its inclusion path. The pointers belong
 * to the core and hold only while the outcome is being delivered. */
struct pc_receipt_view {
	const uint8_t *body;          /* packed ReceiptBody */
	size_t body_len;
	const char *key_id;           /* the operator key's id */
	const uint8_t *signature;     /* PC_SIG_SIZE bytes over the tree head */
	const uint8_t *tree_head;     /* packed ReceiptTreeHead */
	size_t tree_head_len;
	size_t path_len;
	uint8_t path[PC_MERKLE_MAX_PATH][PC_HASH_SIZE];
};

struct pc_outcome {
	Pointclear__V1__Disposition disposition;
	pc_code code;
	const char *message;          /* static text; never NULL */
	const struct pc_receipt_view *receipt;   /* RECORDED and REPLAYED only, else NULL */
	uint64_t original_sequence;   /* a refused duplicate: the entry it duplicates; else 0 */
};

/* The standard text of code in an answer: "approved" for OK. */
const char *pc_outcome_text(pc_code code);

/* An outcome without a receipt; message NULL means the code's standard text. */
void pc_outcome_refused(struct pc_outcome *o, Pointclear__V1__Disposition disp, pc_code code,
                        const char *message, uint64_t original_sequence);

/* How the database answered one event of a batch (a row of pc_record_batch). */
enum pc_row_disposition { PC_ROW_RECORDED = 1, PC_ROW_REPLAYED = 2, PC_ROW_REFUSED = 3 };

/* The outcome of a batch row: recorded or replayed with receipt (its code is the
 * entry's decision code), or refused with code and the sequence it duplicates.
 * receipt must be non-NULL exactly when disposition is recorded or replayed. */
void pc_outcome_of_row(struct pc_outcome *o, int disposition, pc_code code,
                       uint64_t original_sequence, const struct pc_receipt_view *receipt);

/* Why a batch got no rows, and what its events are told. */
enum pc_batch_failure {
	PC_BATCH_LOST,          /* the connection failed before the commit was known */
	PC_BATCH_UNAVAILABLE,   /* the database is not connected */
	PC_BATCH_FAILED,        /* the statement failed for this one event, retries spent */
};
void pc_outcome_of_failure(struct pc_outcome *o, enum pc_batch_failure why);

/* Fills rc (a contract Receipt, for packing or pc_receipt_check) from v; steps
 * has room for PC_MERKLE_MAX_PATH entries and must outlive rc. No copy is made. */
void pc_outcome_receipt(Pointclear__V1__Receipt *rc, ProtobufCBinaryData *steps,
                        const struct pc_receipt_view *v);

#endif
