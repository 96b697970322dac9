/* codec.h - bounded, canonical decoding of the signed messages.
 *
 * protobuf-c has no size limit of its own: every unpack here goes through an
 * allocator with a per-message budget, and a signed payload is accepted only in
 * its canonical encoding (re-encoding what was parsed gives back the same bytes),
 * so one event has one byte form and nothing unknown hides in signed bytes. */
#ifndef POINTCLEAR_CODEC_H
#define POINTCLEAR_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "pointclear.pb-c.h"

#define PC_UNPACK_BUDGET (64 * 1024)   /* bytes of heap one message may use */

typedef Pointclear__V1__Code pc_code;

/* Each returns the message (free with the matching pc_*_free) or NULL with *code
 * set: BAD_ENVELOPE / BAD_PAYLOAD when it does not parse or exceeds the budget,
 * NON_CANONICAL (events only) when the bytes are not the canonical encoding.
 * An Event is also BAD_PAYLOAD when its body is unset or a string in it is not
 * UTF-8 (other protobuf runtimes refuse those; protobuf-c does not check). A
 * string with an embedded NUL is NON_CANONICAL. */
Pointclear__V1__SignedEvent *pc_signed_event_unpack(const uint8_t *buf, size_t len,
                                                    pc_code *code);
void pc_signed_event_free(Pointclear__V1__SignedEvent *m);

Pointclear__V1__Event *pc_event_unpack(const uint8_t *buf, size_t len, pc_code *code);
void pc_event_free(Pointclear__V1__Event *m);

/* Answers, decoded by clients (no canonical check). */
Pointclear__V1__SubmitResult *pc_submit_result_unpack(const uint8_t *buf, size_t len);
void pc_submit_result_free(Pointclear__V1__SubmitResult *m);
Pointclear__V1__ReceiptBody *pc_receipt_body_unpack(const uint8_t *buf, size_t len);
void pc_receipt_body_free(Pointclear__V1__ReceiptBody *m);
Pointclear__V1__ReceiptTreeHead *pc_receipt_tree_head_unpack(const uint8_t *buf, size_t len);
void pc_receipt_tree_head_free(Pointclear__V1__ReceiptTreeHead *m);
Pointclear__V1__ProtocolError *pc_protocol_error_unpack(const uint8_t *buf, size_t len);
void pc_protocol_error_free(Pointclear__V1__ProtocolError *m);

/* Packs any message into a fresh malloc'd buffer; *len set. NULL on failure. */
uint8_t *pc_pack(const ProtobufCMessage *m, size_t *len);

/* Stable upper-case name of a code ("BAD_SIGNATURE"), "UNKNOWN" if none. */
const char *pc_code_name(pc_code code);
/* Default human message for a code. */
const char *pc_code_message(pc_code code);

#endif
