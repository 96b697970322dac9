/* outcome.c - building the core's answers (see outcome.h). */
#include "outcome.h"

#include <pointclear/sign.h>

#include "log.h"

#define CODE(x) POINTCLEAR__V1__CODE__##x
#define DISP(x) POINTCLEAR__V1__DISPOSITION__##x

const char *pc_outcome_text(pc_code code)
{
	return code == CODE(OK) ? "approved" : pc_code_message(code);
}

void pc_outcome_refused(struct pc_outcome *o, Pointclear__V1__Disposition disp, pc_code code,
                        const char *message, uint64_t original_sequence)
{
	o->disposition = disp;
	o->code = code;
	o->message = message ? message : pc_outcome_text(code);
	o->receipt = NULL;
	o->original_sequence = original_sequence;
}

void pc_outcome_of_row(struct pc_outcome *o, int disposition, pc_code code,
                       uint64_t original_sequence, const struct pc_receipt_view *receipt)
{
	bool has_receipt = disposition == PC_ROW_RECORDED || disposition == PC_ROW_REPLAYED;
	if (has_receipt != (receipt != NULL))
		fatalx("outcome: row of disposition %d %s a receipt", disposition,
		       receipt ? "with" : "without");
	if (!has_receipt) {
		pc_outcome_refused(o, DISP(REJECTED), code, NULL, original_sequence);
		return;
	}
	o->disposition = disposition == PC_ROW_RECORDED ? DISP(RECORDED) : DISP(REPLAYED);
	o->code = code;
	o->message = pc_outcome_text(code);
	o->receipt = receipt;
	o->original_sequence = 0;
}

void pc_outcome_of_failure(struct pc_outcome *o, enum pc_batch_failure why)
{
	switch (why) {
	case PC_BATCH_LOST:
		pc_outcome_refused(o, DISP(RETRYABLE), CODE(UNAVAILABLE),
		                   "the database connection was lost; resend the same event", 0);
		return;
	case PC_BATCH_UNAVAILABLE:
		pc_outcome_refused(o, DISP(RETRYABLE), CODE(UNAVAILABLE),
		                   "the database is unavailable; resend the same event", 0);
		return;
	case PC_BATCH_FAILED:
		pc_outcome_refused(o, DISP(RETRYABLE), CODE(INTERNAL),
		                   "the database failed to record this event; resend later", 0);
		return;
	}
	fatalx("outcome: unknown batch failure %d", (int)why);
}

void pc_outcome_receipt(Pointclear__V1__Receipt *rc, ProtobufCBinaryData *steps,
                        const struct pc_receipt_view *v)
{
	pointclear__v1__receipt__init(rc);
	for (size_t i = 0; i < v->path_len; i++) {
		steps[i].data = (uint8_t *)v->path[i];
		steps[i].len = PC_HASH_SIZE;
	}
	rc->body.data = (uint8_t *)v->body;
	rc->body.len = v->body_len;
	rc->key_id = (char *)v->key_id;
	rc->signature.data = (uint8_t *)v->signature;
	rc->signature.len = PC_SIG_SIZE;
	rc->tree_head.data = (uint8_t *)v->tree_head;
	rc->tree_head.len = v->tree_head_len;
	rc->n_inclusion_path = v->path_len;
	rc->inclusion_path = steps;
}
