/* answer.c - outcomes and protocol errors as protobuf bodies (see answer.h). */
#include "answer.h"

#include "log.h"

uint8_t *pc_answer_submit_result(const struct pc_outcome *o, size_t *len)
{
	Pointclear__V1__SubmitResult sr = POINTCLEAR__V1__SUBMIT_RESULT__INIT;
	Pointclear__V1__Receipt receipt;
	ProtobufCBinaryData steps[PC_MERKLE_MAX_PATH];

	sr.disposition = o->disposition;
	sr.code = o->code;
	sr.message = (char *)o->message;
	sr.original_sequence = o->original_sequence;
	if (o->receipt) {
		pc_outcome_receipt(&receipt, steps, o->receipt);
		sr.receipt = &receipt;
	}
	uint8_t *out = pc_pack(&sr.base, len);
	if (!out)
		fatalx("answer: pack failed");
	return out;
}

uint8_t *pc_answer_protocol_error(pc_code code, const char *message, size_t *len)
{
	Pointclear__V1__ProtocolError pe = POINTCLEAR__V1__PROTOCOL_ERROR__INIT;
	pe.code = code;
	pe.message = (char *)message;
	uint8_t *out = pc_pack(&pe.base, len);
	if (!out)
		fatalx("answer: pack failed");
	return out;
}
