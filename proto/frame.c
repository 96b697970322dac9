/* frame.c - parsing and writing the length-prefixed frame headers of PROTOCOL.md. */
#include "pointclear/frame.h"

#include <stdio.h>
#include <stdlib.h>

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_u64(uint8_t *p, uint64_t v)
{
	put_u32(p, (uint32_t)(v >> 32));
	put_u32(p + 4, (uint32_t)v);
}

/* The length decides the verdict on its own, so a bad or oversized frame is
 * refused after 4 bytes; type and request id are filled in once they have
 * arrived so the caller can echo them. */
enum pc_frame_status pc_frame_peek(const uint8_t *buf, size_t avail,
                                   struct pc_frame_header *hdr)
{
	hdr->length = 0;
	hdr->type = 0;
	hdr->request_id = 0;
	if (avail < 4)
		return PC_FRAME_NEED_MORE;
	hdr->length = get_u32(buf);
	if (avail >= 5)
		hdr->type = buf[4];
	if (avail >= PC_FRAME_HEADER_SIZE)
		hdr->request_id = get_u64(buf + 5);
	if (hdr->length < PC_FRAME_MIN_LENGTH)
		return PC_FRAME_MALFORMED;
	if (hdr->length > PC_FRAME_MAX_LENGTH)
		return PC_FRAME_TOO_LARGE;
	if (avail < pc_frame_total(hdr))
		return PC_FRAME_NEED_MORE;
	return PC_FRAME_READY;
}

size_t pc_frame_header_encode(uint8_t out[PC_FRAME_HEADER_SIZE], uint8_t type,
                              uint64_t request_id, size_t body_len)
{
	/* A caller building an oversized frame is a bug on our side, not input. */
	if (body_len > PC_FRAME_MAX_BODY) {
		fprintf(stderr, "pc_frame_header_encode: body of %zu bytes exceeds %d\n",
		        body_len, PC_FRAME_MAX_BODY);
		abort();
	}
	put_u32(out, (uint32_t)(PC_FRAME_MIN_LENGTH + body_len));
	out[4] = type;
	put_u64(out + 5, request_id);
	return PC_FRAME_HEADER_SIZE;
}

const char *pc_msg_type_name(uint8_t type)
{
	switch (type) {
	case PC_MSG_SUBMIT: return "SUBMIT";
	case PC_MSG_PING: return "PING";
	case PC_MSG_LOOKUP: return "LOOKUP";
	case PC_MSG_SUBMIT_RESULT: return "SUBMIT_RESULT";
	case PC_MSG_PONG: return "PONG";
	case PC_MSG_LOOKUP_RESULT: return "LOOKUP_RESULT";
	case PC_MSG_PROTOCOL_ERROR: return "PROTOCOL_ERROR";
	default: return "unknown";
	}
}
