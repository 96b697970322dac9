/* answer.h - the TLS front end's encoding of answers: a core outcome as the body
 * of a SUBMIT_RESULT frame, and the body of a PROTOCOL_ERROR frame. */
#ifndef PC_ANSWER_H
#define PC_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "outcome.h"

/* A packed SubmitResult (malloc'd, *len set) saying o. */
uint8_t *pc_answer_submit_result(const struct pc_outcome *o, size_t *len);

/* A packed ProtocolError (malloc'd, *len set). */
uint8_t *pc_answer_protocol_error(pc_code code, const char *message, size_t *len);

#endif
