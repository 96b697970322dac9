/* codec.c - bounded unpacking of the wire messages and the canonical-encoding check
 * of requests (PROTOCOL.md, "Canonical encoding"). */
#include "pointclear/codec.h"

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Every block carries its size in front, so a free can give back to the budget
 * what the alloc took; the header keeps the payload maximally aligned. */
#define BLOCK_HEADER (sizeof(max_align_t))

struct budget {
	size_t used;
	size_t limit;
};

/* allocator_data is the budget while unpacking and NULL when freeing later: the
 * budget lives only as long as the unpack call. */
static void *budget_alloc(void *data, size_t size)
{
	struct budget *b = data;
	size_t total;
	uint8_t *block;

	if (size > SIZE_MAX - BLOCK_HEADER)
		return NULL;
	total = BLOCK_HEADER + size;
	if (b != NULL && total > b->limit - b->used)
		return NULL;
	block = malloc(total);
	if (block == NULL)
		return NULL;
	memcpy(block, &total, sizeof(total));
	if (b != NULL)
		b->used += total;
	return block + BLOCK_HEADER;
}

static void budget_free(void *data, void *ptr)
{
	struct budget *b = data;
	uint8_t *block;
	size_t total;

	if (ptr == NULL)
		return;
	block = (uint8_t *)ptr - BLOCK_HEADER;
	memcpy(&total, block, sizeof(total));
	if (b != NULL)
		b->used -= total;
	free(block);
}

static ProtobufCMessage *unpack_bounded(const ProtobufCMessageDescriptor *desc,
                                        const uint8_t *buf, size_t len)
{
	struct budget b = { 0, PC_UNPACK_BUDGET };
	ProtobufCAllocator a = { budget_alloc, budget_free, &b };

	if (buf == NULL && len > 0)
		return NULL;
	return protobuf_c_message_unpack(desc, &a, len, buf);
}

static void free_bounded(ProtobufCMessage *m)
{
	ProtobufCAllocator a = { budget_alloc, budget_free, NULL };

	if (m != NULL)
		protobuf_c_message_free_unpacked(m, &a);
}

/* A ProtobufCBuffer that, instead of storing the packed bytes, compares them
 * with the received ones as they come: no second copy of the payload. */
struct compare_buffer {
	ProtobufCBuffer base;
	const uint8_t *expect;
	size_t len;
	size_t at;
	bool same;
};

static void compare_append(ProtobufCBuffer *buffer, size_t len, const uint8_t *data)
{
	struct compare_buffer *c = (struct compare_buffer *)buffer;

	if (!c->same)
		return;
	if (len > c->len - c->at || memcmp(c->expect + c->at, data, len) != 0) {
		c->same = false;
		return;
	}
	c->at += len;
}

static bool repacks_to(const ProtobufCMessage *m, const uint8_t *buf, size_t len)
{
	struct compare_buffer c = { { compare_append }, buf, len, 0, true };

	if (protobuf_c_message_get_packed_size(m) != len)
		return false;
	protobuf_c_message_pack_to_buffer(m, &c.base);
	return c.same && c.at == len;
}

static bool field_is_set(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	uint32_t which;

	if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
		return true;
	memcpy(&which, (const uint8_t *)m + f->quantifier_offset, sizeof(which));
	return which == f->id;
}

/* The sub-messages a field holds (none unless it is a message field that is
 * set); the .proto has no recursive types, so walks over them stay shallow. */
static const ProtobufCMessage *const *field_messages(const ProtobufCMessage *m,
                                                     const ProtobufCFieldDescriptor *f,
                                                     size_t *count)
{
	const uint8_t *base = (const uint8_t *)m;

	*count = 0;
	if (f->type != PROTOBUF_C_TYPE_MESSAGE)
		return NULL;
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		memcpy(count, base + f->quantifier_offset, sizeof(*count));
		return *(const ProtobufCMessage *const *const *)(base + f->offset);
	}
	if (!field_is_set(m, f))
		return NULL;
	*count = 1;
	return (const ProtobufCMessage *const *)(base + f->offset);
}

/* protobuf-c keeps unknown fields and packs them again after the known ones, so
 * one trailing unknown field survives a re-encode unchanged; look for them. */
static bool has_unknown_fields(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	if (m->n_unknown_fields > 0)
		return true;
	for (unsigned i = 0; i < d->n_fields; i++) {
		size_t count = 0;
		const ProtobufCMessage *const *subs = field_messages(m, &d->fields[i], &count);

		for (size_t j = 0; j < count; j++) {
			if (subs[j] != NULL && has_unknown_fields(subs[j]))
				return true;
		}
	}
	return false;
}

/* Length of the well-formed UTF-8 sequence at p, of the n bytes left (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF), or 0 when it is not one. */
static size_t utf8_sequence(const uint8_t *p, size_t n)
{
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		return n >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (p[0] >= 0xe0 && p[0] <= 0xef) {
		uint8_t lo = p[0] == 0xe0 ? 0xa0 : 0x80, hi = p[0] == 0xed ? 0x9f : 0xbf;

		return n >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		uint8_t lo = p[0] == 0xf0 ? 0x90 : 0x80, hi = p[0] == 0xf4 ? 0x8f : 0xbf;

		return n >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 &&
		       (p[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

/* What the strings of a request hold, in rising order of severity. */
enum strings_verdict {
	STRINGS_OK,
	STRINGS_NUL,     /* UTF-8, but a U+0000 in one: NON_CANONICAL */
	STRINGS_BAD,     /* not UTF-8 (or bytes that are not protobuf): does not parse */
};

static enum strings_verdict string_bytes(const uint8_t *p, size_t n)
{
	enum strings_verdict v = STRINGS_OK;

	while (n > 0) {
		size_t k = utf8_sequence(p, n);

		if (k == 0)
			return STRINGS_BAD;
		if (p[0] == 0)
			v = STRINGS_NUL;
		p += k;
		n -= k;
	}
	return v;
}

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t r = 0;

	for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;

		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = r;
			return true;
		}
	}
	return false;
}

/* The strings of a message, judged on the bytes received: protobuf-c checks no
 * UTF-8 and keeps a string only up to its first NUL, so what it parsed cannot
 * tell. Every occurrence of a string field counts, also one a later occurrence
 * overrides, as in the runtimes that check UTF-8 while parsing. Called only on
 * bytes protobuf-c parsed, so the walk itself never fails on honest input; the
 * .proto has no recursive types, so the recursion stays shallow. */
static enum strings_verdict wire_strings(const ProtobufCMessageDescriptor *d,
                                         const uint8_t *p, size_t len)
{
	const uint8_t *end;
	enum strings_verdict worst = STRINGS_OK;

	if (len == 0)
		return STRINGS_OK;
	end = p + len;
	while (p < end) {
		const ProtobufCFieldDescriptor *f = NULL;
		enum strings_verdict v = STRINGS_OK;
		uint64_t key, n;

		if (!read_varint(&p, end, &key))
			return STRINGS_BAD;
		switch (key & 7) {
		case PROTOBUF_C_WIRE_TYPE_VARINT:
			if (!read_varint(&p, end, &n))
				return STRINGS_BAD;
			continue;
		case PROTOBUF_C_WIRE_TYPE_64BIT:
			if (end - p < 8)
				return STRINGS_BAD;
			p += 8;
			continue;
		case PROTOBUF_C_WIRE_TYPE_32BIT:
			if (end - p < 4)
				return STRINGS_BAD;
			p += 4;
			continue;
		case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED:
			break;
		default:
			return STRINGS_BAD;
		}
		if (!read_varint(&p, end, &n) || n > (uint64_t)(end - p))
			return STRINGS_BAD;
		if (key >> 3 <= UINT32_MAX)
			f = protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3));
		if (f != NULL && f->type == PROTOBUF_C_TYPE_STRING)
			v = string_bytes(p, (size_t)n);
		else if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE)
			v = wire_strings(f->descriptor, p, (size_t)n);
		if (v == STRINGS_BAD)
			return v;
		if (v > worst)
			worst = v;
		p += n;
	}
	return worst;
}

/* The verdict on a request that must be canonical (PROTOCOL.md, "Canonical
 * encoding"): `bad` when it does not parse or a string is not UTF-8, as other
 * runtimes would refuse it; NON_CANONICAL when its bytes are not the one
 * encoding of what it holds; OK. */
static pc_code canonical_verdict(const ProtobufCMessage *m, const uint8_t *buf, size_t len,
                                 pc_code bad)
{
	if (m == NULL)
		return bad;
	switch (wire_strings(m->descriptor, buf, len)) {
	case STRINGS_BAD:
		return bad;
	case STRINGS_NUL:
		return POINTCLEAR__V1__CODE__NON_CANONICAL;
	case STRINGS_OK:
		break;
	}
	if (has_unknown_fields(m) || !repacks_to(m, buf, len))
		return POINTCLEAR__V1__CODE__NON_CANONICAL;
	return POINTCLEAR__V1__CODE__OK;
}

static void set_code(pc_code *code, pc_code value)
{
	if (code != NULL)
		*code = value;
}

Pointclear__V1__SignedEvent *pc_signed_event_unpack(const uint8_t *buf, size_t len,
                                                    pc_code *code)
{
	ProtobufCMessage *m = unpack_bounded(&pointclear__v1__signed_event__descriptor,
	                                     buf, len);
	pc_code verdict = canonical_verdict(m, buf, len, POINTCLEAR__V1__CODE__BAD_ENVELOPE);

	set_code(code, verdict);
	if (verdict != POINTCLEAR__V1__CODE__OK) {
		free_bounded(m);
		return NULL;
	}
	return (Pointclear__V1__SignedEvent *)m;
}

void pc_signed_event_free(Pointclear__V1__SignedEvent *m)
{
	free_bounded(m != NULL ? &m->base : NULL);
}

Pointclear__V1__Event *pc_event_unpack(const uint8_t *buf, size_t len, pc_code *code)
{
	Pointclear__V1__Event *m = (Pointclear__V1__Event *)
		unpack_bounded(&pointclear__v1__event__descriptor, buf, len);
	pc_code verdict;

	if (m != NULL && m->body_case == POINTCLEAR__V1__EVENT__BODY__NOT_SET)
		verdict = POINTCLEAR__V1__CODE__BAD_PAYLOAD;
	else
		verdict = canonical_verdict(m != NULL ? &m->base : NULL, buf, len,
		                            POINTCLEAR__V1__CODE__BAD_PAYLOAD);
	set_code(code, verdict);
	if (verdict != POINTCLEAR__V1__CODE__OK) {
		pc_event_free(m);
		return NULL;
	}
	return m;
}

void pc_event_free(Pointclear__V1__Event *m)
{
	free_bounded(m != NULL ? &m->base : NULL);
}

Pointclear__V1__Lookup *pc_lookup_unpack(const uint8_t *buf, size_t len, pc_code *code)
{
	ProtobufCMessage *m = unpack_bounded(&pointclear__v1__lookup__descriptor, buf, len);
	pc_code verdict = canonical_verdict(m, buf, len, POINTCLEAR__V1__CODE__BAD_PAYLOAD);

	set_code(code, verdict);
	if (verdict != POINTCLEAR__V1__CODE__OK) {
		free_bounded(m);
		return NULL;
	}
	return (Pointclear__V1__Lookup *)m;
}

void pc_lookup_free(Pointclear__V1__Lookup *m)
{
	free_bounded(m != NULL ? &m->base : NULL);
}

/* Any verdict but OK is MEMBER_AUTH_INVALID: to the daemon a malformed
 * authorization is one that does not verify. */
static ProtobufCMessage *auth_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *buf,
                                     size_t len, pc_code *code)
{
	ProtobufCMessage *m = unpack_bounded(desc, buf, len);
	pc_code verdict = canonical_verdict(m, buf, len, POINTCLEAR__V1__CODE__MEMBER_AUTH_INVALID);

	if (verdict != POINTCLEAR__V1__CODE__OK) {
		set_code(code, POINTCLEAR__V1__CODE__MEMBER_AUTH_INVALID);
		free_bounded(m);
		return NULL;
	}
	set_code(code, verdict);
	return m;
}

Pointclear__V1__SignedAuthorization *pc_signed_authorization_unpack(const uint8_t *buf,
                                                                    size_t len, pc_code *code)
{
	return (Pointclear__V1__SignedAuthorization *)
		auth_unpack(&pointclear__v1__signed_authorization__descriptor, buf, len, code);
}

void pc_signed_authorization_free(Pointclear__V1__SignedAuthorization *m)
{
	free_bounded(m != NULL ? &m->base : NULL);
}

Pointclear__V1__MemberAuthorization *pc_member_authorization_unpack(const uint8_t *buf,
                                                                    size_t len, pc_code *code)
{
	return (Pointclear__V1__MemberAuthorization *)
		auth_unpack(&pointclear__v1__member_authorization__descriptor, buf, len, code);
}

void pc_member_authorization_free(Pointclear__V1__MemberAuthorization *m)
{
	free_bounded(m != NULL ? &m->base : NULL);
}

Pointclear__V1__SubmitResult *pc_submit_result_unpack(const uint8_t *buf, size_t len)
{
	return (Pointclear__V1__SubmitResult *)
		unpack_bounded(&pointclear__v1__submit_result__descriptor, buf, len);
}

void pc_submit_result_free(Pointclear__V1__SubmitResult *m)
{
	free_bounded(m != NULL ? &m->base : NULL);
}

Pointclear__V1__ReceiptBody *pc_receipt_body_unpack(const uint8_t *buf, size_t len)
{
	return (Pointclear__V1__ReceiptBody *)
		unpack_bounded(&pointclear__v1__receipt_body__descriptor, buf, len);
}

void pc_receipt_body_free(Pointclear__V1__ReceiptBody *m)
{
	free_bounded(m != NULL ? &m->base : NULL);
}

Pointclear__V1__ReceiptTreeHead *pc_receipt_tree_head_unpack(const uint8_t *buf, size_t len)
{
	return (Pointclear__V1__ReceiptTreeHead *)
		unpack_bounded(&pointclear__v1__receipt_tree_head__descriptor, buf, len);
}

void pc_receipt_tree_head_free(Pointclear__V1__ReceiptTreeHead *m)
{
	free_bounded(m != NULL ? &m->base : NULL);
}

Pointclear__V1__ProtocolError *pc_protocol_error_unpack(const uint8_t *buf, size_t len)
{
	return (Pointclear__V1__ProtocolError *)
		unpack_bounded(&pointclear__v1__protocol_error__descriptor, buf, len);
}

void pc_protocol_error_free(Pointclear__V1__ProtocolError *m)
{
	free_bounded(m != NULL ? &m->base : NULL);
}

uint8_t *pc_pack(const ProtobufCMessage *m, size_t *len)
{
	size_t size = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(size > 0 ? size : 1);   /* an empty message is valid */

	if (buf == NULL)
		return NULL;
	if (protobuf_c_message_pack(m, buf) != size) {
		free(buf);
		return NULL;
	}
	*len = size;
	return buf;
}

const char *pc_code_name(pc_code code)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&pointclear__v1__code__descriptor, (int)code);

	return v != NULL ? v->name : "UNKNOWN";
}

const char *pc_code_message(pc_code code)
{
	switch (code) {
	case POINTCLEAR__V1__CODE__OK:
		return "the request succeeded";
	case POINTCLEAR__V1__CODE__MALFORMED_FRAME:
		return "the frame's length field is smaller than a frame header";
	case POINTCLEAR__V1__CODE__FRAME_TOO_LARGE:
		return "the frame is larger than 16384 bytes";
	case POINTCLEAR__V1__CODE__UNKNOWN_MESSAGE_TYPE:
		return "the frame's message type is not one the daemon accepts";
	case POINTCLEAR__V1__CODE__FRAME_TIMEOUT:
		return "the frame was not complete within the frame timeout";
	case POINTCLEAR__V1__CODE__DUPLICATE_REQUEST_ID:
		return "a request with this id is still unanswered on this connection";
	case POINTCLEAR__V1__CODE__UNEXPECTED_BODY:
		return "a PING frame must have an empty body";
	case POINTCLEAR__V1__CODE__TOO_MANY_CONNECTIONS:
		return "the merchant already holds as many connections as it may";
	case POINTCLEAR__V1__CODE__IDLE_TIMEOUT:
		return "the connection was idle for longer than the idle timeout";
	case POINTCLEAR__V1__CODE__BAD_ENVELOPE:
		return "the submitted SignedEvent could not be parsed";
	case POINTCLEAR__V1__CODE__BAD_PAYLOAD:
		return "the signed payload is not an Event with a body, or the Lookup does not parse";
	case POINTCLEAR__V1__CODE__NON_CANONICAL:
		return "the request is not in the canonical encoding";
	case POINTCLEAR__V1__CODE__MISSING_FIELD:
		return "a required field of the event is missing";
	case POINTCLEAR__V1__CODE__INVALID_FIELD:
		return "a field of the event has an invalid form";
	case POINTCLEAR__V1__CODE__BAD_SIGNATURE:
		return "the signature does not verify over the payload with the named key";
	case POINTCLEAR__V1__CODE__UNKNOWN_KEY:
		return "the signing key id is not registered";
	case POINTCLEAR__V1__CODE__KEY_REVOKED:
		return "the signing key has been revoked";
	case POINTCLEAR__V1__CODE__KEY_NOT_YET_VALID:
		return "the signing key is not valid yet";
	case POINTCLEAR__V1__CODE__WRONG_MERCHANT:
		return "the event or its key belongs to a merchant other than the connection's";
	case POINTCLEAR__V1__CODE__UNKNOWN_ALLIANCE:
		return "the alliance is not known to the clearing house";
	case POINTCLEAR__V1__CODE__UNKNOWN_MERCHANT:
		return "the merchant is not known in this alliance";
	case POINTCLEAR__V1__CODE__MERCHANT_INACTIVE:
		return "the merchant is not active in this alliance";
	case POINTCLEAR__V1__CODE__UNKNOWN_MEMBER:
		return "the member is not known in this alliance";
	case POINTCLEAR__V1__CODE__EVENT_TIME_IN_FUTURE:
		return "the event time is too far ahead of the clearing house's clock";
	case POINTCLEAR__V1__CODE__EVENT_TIME_TOO_OLD:
		return "the event time is too far behind the clearing house's clock";
	case POINTCLEAR__V1__CODE__INVALID_AMOUNT:
		return "the amount is zero or negative";
	case POINTCLEAR__V1__CODE__AMOUNT_TOO_LARGE:
		return "the amount exceeds the per-event maximum or would overflow a balance";
	case POINTCLEAR__V1__CODE__CONFLICT:
		return "this event id was already used with different signed bytes";
	case POINTCLEAR__V1__CODE__NOT_FOUND:
		return "no entry of this merchant has this event id";
	case POINTCLEAR__V1__CODE__INSUFFICIENT_POINTS:
		return "the member's spendable points do not cover the amount";
	case POINTCLEAR__V1__CODE__HOLD_NOT_FOUND:
		return "the referenced hold does not exist";
	case POINTCLEAR__V1__CODE__HOLD_EXCEEDED:
		return "the capture is larger than the amount held";
	case POINTCLEAR__V1__CODE__HOLD_EXPIRED:
		return "the referenced hold has expired";
	case POINTCLEAR__V1__CODE__HOLD_VOIDED:
		return "the referenced hold was voided";
	case POINTCLEAR__V1__CODE__HOLD_CAPTURED:
		return "the referenced hold was already captured";
	case POINTCLEAR__V1__CODE__ORIGINAL_NOT_FOUND:
		return "the event to be reversed does not exist";
	case POINTCLEAR__V1__CODE__NOT_REVERSIBLE:
		return "the referenced event is not of a kind that can be reversed";
	case POINTCLEAR__V1__CODE__REVERSAL_EXCEEDS_REMAINING:
		return "the reversal is larger than what remains of the original event";
	case POINTCLEAR__V1__CODE__FOREIGN_EVENT:
		return "the referenced event belongs to another merchant";
	case POINTCLEAR__V1__CODE__UNAVAILABLE:
		return "the ledger could not be reached; resend the same bytes";
	case POINTCLEAR__V1__CODE__OVERLOADED:
		return "the clearing house is overloaded; resend the same bytes later";
	case POINTCLEAR__V1__CODE__SHUTTING_DOWN:
		return "the clearing house is shutting down; resend the same bytes later";
	case POINTCLEAR__V1__CODE__INTERNAL:
		return "the clearing house hit an internal error; resend the same bytes";
	case POINTCLEAR__V1__CODE__MEMBER_AUTH_REQUIRED:
		return "the alliance requires the member's authorization for this event";
	case POINTCLEAR__V1__CODE__MEMBER_AUTH_INVALID:
		return "the member authorization is malformed or not signed by a registered device key";
	case POINTCLEAR__V1__CODE__MEMBER_AUTH_EXPIRED:
		return "the member authorization has expired or lives longer than allowed";
	case POINTCLEAR__V1__CODE__MEMBER_AUTH_MISMATCH:
		return "the member authorization names another alliance, member or merchant";
	case POINTCLEAR__V1__CODE__MEMBER_AUTH_EXCEEDED:
		return "the event's points exceed the member authorization's maximum";
	case POINTCLEAR__V1__CODE__MEMBER_AUTH_REUSED:
		return "the member authorization was already used";
	default:
		return "unknown code";
	}
}
