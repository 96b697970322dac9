/* receipt.h - the operator's signed receipts and the SUBMIT_RESULT bodies that
 * carry them. The operator's private key lives here and nowhere else. */
#ifndef PC_RECEIPT_H
#define PC_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

#include <pointclear/codec.h>

/* Loads HOME/operator/receipt.key. 0, or -1 with a logged reason. */
int pc_receipt_load_key(const char *path);

/* The fields a receipt signs, as the ledger recorded them. */
struct pc_recorded {
	const char *alliance, *merchant, *event_id;
	uint64_t sequence;
	const uint8_t *leaf_hash;   /* 32 bytes */
	int64_t accepted_at_us;
	int status, code;
	int64_t balance, available, applied, remaining, hold_expires_at_us;
};

/* A packed SubmitResult (malloc'd, *len set). With rec: RECORDED or REPLAYED and a
 * signed receipt; without: REJECTED or RETRYABLE with code and message. */
uint8_t *pc_result_recorded(Pointclear__V1__Disposition disp, const struct pc_recorded *rec,
                            size_t *len);
uint8_t *pc_result_refused(Pointclear__V1__Disposition disp, pc_code code, const char *message,
                           uint64_t original_sequence, size_t *len);

#endif
