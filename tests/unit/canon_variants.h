/* canon_variants.h - SignedEvent envelopes and Lookup bodies that parse as protobuf
 * but must be refused (or, for some Lookups, taken), built by hand, for the codec
 * tests and the vector generator. variants.h does the same for the Event. */
#ifndef POINTCLEAR_CANON_VARIANTS_H
#define POINTCLEAR_CANON_VARIANTS_H

#include "pbwrite.h"
#include "pointclear/codec.h"
#include "variants.h"

/* What a canonical envelope carries: the builders arrange these parts. */
struct env_parts {
	const uint8_t *payload;
	size_t payload_len;
	const char *key_id;
	const uint8_t *signature;    /* 64 bytes */
};

struct env_variant {
	const char *name;
	const char *description;
	pc_code expect;              /* NON_CANONICAL or BAD_ENVELOPE */
	void (*build)(struct pbw *w, const struct env_parts *p);
};

static inline void e_payload(struct pbw *w, const struct env_parts *p)
{
	pbw_len(w, 1, p->payload, p->payload_len);
}

static inline void e_key_id(struct pbw *w, const struct env_parts *p)
{
	pbw_str(w, 2, p->key_id);
}

static inline void e_signature(struct pbw *w, const struct env_parts *p)
{
	pbw_len(w, 3, p->signature, 64);
}

static inline void e_canonical(struct pbw *w, const struct env_parts *p)
{
	e_payload(w, p);
	e_key_id(w, p);
	e_signature(w, p);
}

static inline void e_unknown_trailing(struct pbw *w, const struct env_parts *p)
{
	e_canonical(w, p);
	pbw_str(w, 4, "junk");
}

/* The independent client's finding: 16 KB of junk beside a valid signed event was
 * recorded and stored in the leaf. 16,000 bytes: the whole still fits a frame. */
static inline void e_unknown_large(struct pbw *w, const struct env_parts *p)
{
	static uint8_t junk[16000];

	memset(junk, 'j', sizeof(junk));
	e_canonical(w, p);
	pbw_len(w, 15, junk, sizeof(junk));
}

static inline void e_unknown_middle(struct pbw *w, const struct env_parts *p)
{
	e_payload(w, p);
	e_key_id(w, p);
	pbw_uint(w, 9, 0);
	e_signature(w, p);
}

/* Zero bytes after the signature, as a fixed-size record would pad: a zero byte
 * is no tag (field 0), so this does not even parse. */
static inline void e_zero_padding(struct pbw *w, const struct env_parts *p)
{
	static const uint8_t zeros[8];

	e_canonical(w, p);
	pbw_bytes(w, zeros, sizeof(zeros));
}

/* Padding as a field of its own: an unknown field of zeros. */
static inline void e_padding_field(struct pbw *w, const struct env_parts *p)
{
	static const uint8_t zeros[32];

	e_canonical(w, p);
	pbw_len(w, 4, zeros, sizeof(zeros));
}

static inline void e_duplicate_key_id(struct pbw *w, const struct env_parts *p)
{
	e_canonical(w, p);
	e_key_id(w, p);
}

static inline void e_duplicate_payload(struct pbw *w, const struct env_parts *p)
{
	e_payload(w, p);
	e_canonical(w, p);
}

static inline void e_out_of_order(struct pbw *w, const struct env_parts *p)
{
	e_signature(w, p);
	e_payload(w, p);
	e_key_id(w, p);
}

static inline void e_overlong_length(struct pbw *w, const struct env_parts *p)
{
	pbw_tag(w, 1, WT_LEN);
	pbw_varint_padded(w, p->payload_len, 1);
	pbw_bytes(w, p->payload, p->payload_len);
	e_key_id(w, p);
	e_signature(w, p);
}

static inline void e_overlong_tag(struct pbw *w, const struct env_parts *p)
{
	e_payload(w, p);
	pbw_varint_padded(w, 2 << 3 | WT_LEN, 1);
	pbw_varint(w, strlen(p->key_id));
	pbw_bytes(w, p->key_id, strlen(p->key_id));
	e_signature(w, p);
}

static inline void e_default_encoded(struct pbw *w, const struct env_parts *p)
{
	(void)p;
	pbw_len(w, 1, "", 0);
	e_key_id(w, p);
	e_signature(w, p);
}

static inline void e_key_id_nul(struct pbw *w, const struct env_parts *p)
{
	char id[32];
	size_t n = strlen(p->key_id);

	if (n >= sizeof(id))
		abort();
	memcpy(id, p->key_id, n);
	id[n] = '\0';
	e_payload(w, p);
	pbw_len(w, 2, id, n + 1);
	e_signature(w, p);
}

static inline void e_key_id_not_utf8(struct pbw *w, const struct env_parts *p)
{
	e_payload(w, p);
	pbw_len(w, 2, "\xed\xa0\x80", 3);   /* a UTF-16 surrogate written as UTF-8 */
	e_signature(w, p);
}

static inline void e_key_id_wrong_wire_type(struct pbw *w, const struct env_parts *p)
{
	e_payload(w, p);
	pbw_uint(w, 2, 7);
	e_signature(w, p);
}

static const struct env_variant env_variants[] = {
	{ "envelope_unknown_field_trailing", "an unknown field 4 (\"junk\") after the signature",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, e_unknown_trailing },
	{ "envelope_unknown_field_large", "an unknown field 15 of 16,000 bytes after the signature",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, e_unknown_large },
	{ "envelope_unknown_field_middle", "an unknown varint field 9 between key_id and signature",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, e_unknown_middle },
	{ "envelope_padding_field", "32 zero bytes as an unknown field 4 after the signature",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, e_padding_field },
	{ "envelope_duplicate_key_id", "key_id repeated after the signature, same value",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, e_duplicate_key_id },
	{ "envelope_duplicate_payload", "the payload written twice, same bytes",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, e_duplicate_payload },
	{ "envelope_out_of_order", "signature, payload, key_id",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, e_out_of_order },
	{ "envelope_overlong_length", "the payload's length as an over-long varint",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, e_overlong_length },
	{ "envelope_overlong_tag", "key_id's tag as an over-long varint",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, e_overlong_tag },
	{ "envelope_default_encoded", "an empty payload written out",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, e_default_encoded },
	{ "envelope_key_id_nul", "key_id followed by a NUL byte inside the string",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, e_key_id_nul },
	{ "envelope_zero_padding", "8 zero bytes after the signature (a zero tag)",
	  POINTCLEAR__V1__CODE__BAD_ENVELOPE, e_zero_padding },
	{ "envelope_key_id_not_utf8", "key_id is ed a0 80, a surrogate: not UTF-8",
	  POINTCLEAR__V1__CODE__BAD_ENVELOPE, e_key_id_not_utf8 },
	{ "envelope_key_id_wrong_wire_type", "key_id sent as a varint",
	  POINTCLEAR__V1__CODE__BAD_ENVELOPE, e_key_id_wrong_wire_type },
};

#define ENV_VARIANT_COUNT (sizeof(env_variants) / sizeof(env_variants[0]))

/* ------------------------------------------------------------ Event payloads */

/* Cases of PROTOCOL.md's canonical rule that variants.h lacks; in a list of their
 * own so that the vectors made from variants.h stay where they are. */
static inline void v_not_utf8_after_nul(struct pbw *w)
{
	v_head(w, 1, 2);
	pbw_len(w, 3, "e-0001\0\xff", 8);
	v_head(w, 4, 6);
	v_earn_field(w);
}

static inline void v_overridden_not_utf8(struct pbw *w)
{
	pbw_len(w, 1, "\xff", 1);
	v_head(w, 1, 6);
	v_earn_field(w);
}

static inline void v_packed_scalar(struct pbw *w)
{
	struct pbw inner = { 0 }, packed = { 0 };

	v_head(w, 1, 6);
	pbw_str(&inner, 1, "mem-1");
	pbw_varint(&packed, 100);
	pbw_sub(&inner, 2, &packed);
	pbw_str(&inner, 3, "double points weekend");
	pbw_sub(w, 10, &inner);
}

static inline void v_string_as_fixed64(struct pbw *w)
{
	v_head(w, 1, 2);
	pbw_tag(w, 3, 1);
	pbw_bytes(w, "e-0001\0\0", 8);
	v_head(w, 4, 6);
	v_earn_field(w);
}

static inline void v_body_as_varint(struct pbw *w)
{
	v_head(w, 1, 6);
	pbw_uint(w, 10, 1);
}

static const struct variant payload_variants[] = {
	{ "not_utf8_after_nul", "event_id e-0001, a NUL, then ff: UTF-8 is checked on every "
	  "byte before NUL is", POINTCLEAR__V1__CODE__BAD_PAYLOAD, v_not_utf8_after_nul },
	{ "overridden_not_utf8", "alliance_id ff, then the whole canonical earn: the later "
	  "alliance_id wins, but every occurrence must be UTF-8",
	  POINTCLEAR__V1__CODE__BAD_PAYLOAD, v_overridden_not_utf8 },
	{ "packed_scalar", "Earn.points as a packed (length-delimited) value: a scalar field "
	  "with the wrong wire type", POINTCLEAR__V1__CODE__BAD_PAYLOAD, v_packed_scalar },
	{ "string_as_fixed64", "event_id with wire type 1 (64-bit)",
	  POINTCLEAR__V1__CODE__BAD_PAYLOAD, v_string_as_fixed64 },
	{ "body_as_varint", "the earn body (a message) as a varint",
	  POINTCLEAR__V1__CODE__BAD_PAYLOAD, v_body_as_varint },
};

#define PAYLOAD_VARIANT_COUNT (sizeof(payload_variants) / sizeof(payload_variants[0]))

/* ------------------------------------------------------------ Lookup bodies */

struct lookup_variant {
	const char *name;
	const char *description;
	pc_code expect;              /* OK, BAD_PAYLOAD or NON_CANONICAL */
	const char *event_id;        /* OK only: what it decodes to */
	void (*build)(struct pbw *w);
};

static inline void l_canonical(struct pbw *w)
{
	pbw_str(w, 1, "e-0001");
}

static inline void l_empty(struct pbw *w)
{
	(void)w;
}

static inline void l_default_encoded(struct pbw *w)
{
	pbw_len(w, 1, "", 0);
}

static inline void l_unknown(struct pbw *w)
{
	l_canonical(w);
	pbw_uint(w, 2, 1);
}

static inline void l_duplicate(struct pbw *w)
{
	l_canonical(w);
	l_canonical(w);
}

static inline void l_overlong_length(struct pbw *w)
{
	pbw_tag(w, 1, WT_LEN);
	pbw_varint_padded(w, 6, 1);
	pbw_bytes(w, "e-0001", 6);
}

static inline void l_nul(struct pbw *w)
{
	pbw_len(w, 1, "e-0001\0", 7);
}

static inline void l_not_utf8(struct pbw *w)
{
	pbw_len(w, 1, "e-\xff", 3);
}

static inline void l_not_utf8_after_nul(struct pbw *w)
{
	pbw_len(w, 1, "e\0\xff", 3);
}

static inline void l_wrong_wire_type(struct pbw *w)
{
	pbw_uint(w, 1, 1);
}

static inline void l_truncated(struct pbw *w)
{
	l_canonical(w);
	w->len--;
}

static const struct lookup_variant lookup_variants[] = {
	{ "lookup", "event_id e-0001", POINTCLEAR__V1__CODE__OK, "e-0001", l_canonical },
	{ "lookup_empty", "an empty body: event_id is the empty string (the daemon "
	  "answers MISSING_FIELD)", POINTCLEAR__V1__CODE__OK, "", l_empty },
	{ "lookup_default_encoded", "an empty event_id written out",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, NULL, l_default_encoded },
	{ "lookup_unknown_field", "an unknown field 2 after event_id",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, NULL, l_unknown },
	{ "lookup_duplicate_field", "event_id twice, same value",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, NULL, l_duplicate },
	{ "lookup_overlong_length", "event_id's length as an over-long varint",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, NULL, l_overlong_length },
	{ "lookup_nul", "event_id e-0001 followed by a NUL byte inside the string",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, NULL, l_nul },
	{ "lookup_not_utf8", "event_id 65 2d ff: not UTF-8",
	  POINTCLEAR__V1__CODE__BAD_PAYLOAD, NULL, l_not_utf8 },
	{ "lookup_not_utf8_after_nul", "event_id 65 00 ff: a NUL, then bytes that are not "
	  "UTF-8; UTF-8 is checked first", POINTCLEAR__V1__CODE__BAD_PAYLOAD, NULL,
	  l_not_utf8_after_nul },
	{ "lookup_wrong_wire_type", "event_id sent as a varint",
	  POINTCLEAR__V1__CODE__BAD_PAYLOAD, NULL, l_wrong_wire_type },
	{ "lookup_truncated", "the first vector without its last byte",
	  POINTCLEAR__V1__CODE__BAD_PAYLOAD, NULL, l_truncated },
};

#define LOOKUP_VARIANT_COUNT (sizeof(lookup_variants) / sizeof(lookup_variants[0]))

#endif
