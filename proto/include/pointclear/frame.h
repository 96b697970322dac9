/* frame.h - the length-prefixed frames of PROTOCOL.md, "Frames".
 *
 * Pure byte handling, no I/O: the daemon and the clients both call it on whatever
 * they have buffered, so an oversized frame is recognised from its first 13 bytes
 * and refused before anything is allocated for it. */
#ifndef POINTCLEAR_FRAME_H
#define POINTCLEAR_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define PC_FRAME_HEADER_SIZE 13     /* length(4) + type(1) + request id(8) */
#define PC_FRAME_MIN_LENGTH 9       /* smallest L: type + request id, empty body */
#define PC_FRAME_MAX_LENGTH 16384   /* largest L */
#define PC_FRAME_MAX_BODY (PC_FRAME_MAX_LENGTH - PC_FRAME_MIN_LENGTH)

enum pc_msg_type {
	PC_MSG_SUBMIT = 0x01,
	PC_MSG_PING = 0x02,           /* body must be empty */
	PC_MSG_LOOKUP = 0x03,         /* body: Lookup */
	PC_MSG_SUBMIT_RESULT = 0x81,
	PC_MSG_PONG = 0x82,
	PC_MSG_LOOKUP_RESULT = 0x83,  /* body: SubmitResult */
	PC_MSG_PROTOCOL_ERROR = 0xE0,
};

struct pc_frame_header {
	uint32_t length;      /* L: bytes after the length field */
	uint8_t type;
	uint64_t request_id;
};

enum pc_frame_status {
	PC_FRAME_NEED_MORE,   /* header or body incomplete; hdr filled as far as known */
	PC_FRAME_READY,       /* a whole frame of PC_FRAME_HEADER_SIZE - 9 + length bytes is there */
	PC_FRAME_MALFORMED,   /* L < 9 (known from the first 4 bytes) */
	PC_FRAME_TOO_LARGE,   /* L > PC_FRAME_MAX_LENGTH (hdr complete once 13 bytes are there) */
};

/* Examines the first `avail` bytes of a stream. For PC_FRAME_TOO_LARGE the
 * request id in hdr is valid only when avail >= PC_FRAME_HEADER_SIZE. */
enum pc_frame_status pc_frame_peek(const uint8_t *buf, size_t avail,
                                   struct pc_frame_header *hdr);

/* Total bytes the frame occupies on the wire: 4 + L. */
static inline size_t pc_frame_total(const struct pc_frame_header *hdr)
{
	return 4u + (size_t)hdr->length;
}

/* Writes the 13-byte header of a frame carrying body_len bytes of body.
 * body_len must be <= PC_FRAME_MAX_BODY; returns PC_FRAME_HEADER_SIZE. */
size_t pc_frame_header_encode(uint8_t out[PC_FRAME_HEADER_SIZE], uint8_t type,
                              uint64_t request_id, size_t body_len);

const char *pc_msg_type_name(uint8_t type);   /* "SUBMIT", ..., or "unknown" */

#endif
