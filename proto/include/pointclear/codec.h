/* codec.h - bounded, canonical decoding of the wire messages.
 *
 * protobuf-c has no size limit of its own: every unpack here goes through an
 * allocator with a per-message budget. A request (SignedEvent, the Event it
 * signs, Lookup) is accepted only in its canonical encoding (re-encoding what was
 * parsed gives back the same bytes, strings are UTF-8 without NUL), so one
 * request has one byte form and nothing unknown hides in stored bytes. */
#ifndef POINTCLEAR_CODEC_H
#define POINTCLEAR_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "pointclear.pb-c.h"

#define PC_UNPACK_BUDGET (64 * 1024)   /* bytes of heap one message may use */

typedef Pointclear__V1__Code pc_code;

/* Each request decoder returns the message (free with the matching pc_*_free) or
 * NULL with *code (code may be NULL) set, checked in this order:
 *   BAD_ENVELOPE (SignedEvent) / BAD_PAYLOAD (Event, Lookup): the bytes do not
 *     parse (also: a known field with the wrong wire type, a length past the end,
 *     more than PC_UNPACK_BUDGET of heap), an Event has no body of a kind this
 *     version knows, or a string field holds bytes that are not UTF-8;
 *   NON_CANONICAL: a string holds a NUL, or the bytes are not the canonical
 *     encoding (unknown fields anywhere, a field twice, fields out of order, a
 *     proto3 default written out, a varint longer than needed).
 * A oneof member set to its default value is written out and canonical. */
Pointclear__V1__SignedEvent *pc_signed_event_unpack(const uint8_t *buf, size_t len,
                                                    pc_code *code);
void pc_signed_event_free(Pointclear__V1__SignedEvent *m);

Pointclear__V1__Event *pc_event_unpack(const uint8_t *buf, size_t len, pc_code *code);
void pc_event_free(Pointclear__V1__Event *m);

/* The body of a LOOKUP frame. The event id's syntax is the caller's to check. */
Pointclear__V1__Lookup *pc_lookup_unpack(const uint8_t *buf, size_t len, pc_code *code);
void pc_lookup_free(Pointclear__V1__Lookup *m);

/* A member's authorization (PROTOCOL.md, "Member authorization"): the envelope
 * an Event carries, as bytes on their own (the CLI's --authorization), and the
 * body it signs. Same canonical rule; the verdict for bytes that do not parse,
 * or are not canonical, is MEMBER_AUTH_INVALID, the code the daemon answers. */
Pointclear__V1__SignedAuthorization *pc_signed_authorization_unpack(const uint8_t *buf,
                                                                    size_t len, pc_code *code);
void pc_signed_authorization_free(Pointclear__V1__SignedAuthorization *m);
Pointclear__V1__MemberAuthorization *pc_member_authorization_unpack(const uint8_t *buf,
                                                                    size_t len, pc_code *code);
void pc_member_authorization_free(Pointclear__V1__MemberAuthorization *m);

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
