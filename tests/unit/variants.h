/* variants.h - payloads that parse as protobuf but must be refused, built by hand
 * around the earn sample, for the codec tests and the vector generator. */
#ifndef POINTCLEAR_VARIANTS_H
#define POINTCLEAR_VARIANTS_H

#include "pbwrite.h"
#include "pointclear/codec.h"
#include "samples.h"

struct variant {
	const char *name;
	const char *description;
	pc_code expect;              /* NON_CANONICAL or BAD_PAYLOAD */
	void (*build)(struct pbw *w);
};

/* The earn sample's header fields first..last, canonically. */
static inline void v_head(struct pbw *w, uint32_t first, uint32_t last)
{
	struct sample s;

	sample_init(&s, SAMPLE_EARN);
	for (uint32_t f = first; f <= last; f++) {
		switch (f) {
		case 1: pbw_str(w, 1, s.event.alliance_id); break;
		case 2: pbw_str(w, 2, s.event.merchant_id); break;
		case 3: pbw_str(w, 3, s.event.event_id); break;
		case 4: pbw_uint(w, 4, (uint64_t)s.event.event_time_us); break;
		case 5: pbw_str(w, 5, s.event.store_id); break;
		case 6: pbw_str(w, 6, s.event.terminal_id); break;
		default: abort();
		}
	}
}

/* The earn body's fields first..last, canonically, not yet wrapped. */
static inline void v_earn(struct pbw *inner, uint32_t first, uint32_t last)
{
	if (first <= 1 && last >= 1)
		pbw_str(inner, 1, "mem-1");
	if (first <= 2 && last >= 2)
		pbw_uint(inner, 2, 100);
	if (first <= 3 && last >= 3)
		pbw_str(inner, 3, "double points weekend");
}

static inline void v_earn_field(struct pbw *w)
{
	struct pbw inner = { 0 };

	v_earn(&inner, 1, 3);
	pbw_sub(w, 10, &inner);
}

static inline void v_canonical(struct pbw *w)
{
	v_head(w, 1, 6);
	v_earn_field(w);
}

static inline void v_overlong_varint(struct pbw *w)
{
	v_head(w, 1, 3);
	pbw_tag(w, 4, WT_VARINT);
	pbw_varint_padded(w, (uint64_t)SAMPLE_TIME_US, 1);
	v_head(w, 5, 6);
	v_earn_field(w);
}

static inline void v_overlong_length(struct pbw *w)
{
	pbw_tag(w, 1, WT_LEN);
	pbw_varint_padded(w, 2, 1);
	pbw_bytes(w, "al", 2);
	v_head(w, 2, 6);
	v_earn_field(w);
}

static inline void v_overlong_tag(struct pbw *w)
{
	pbw_varint_padded(w, 1 << 3 | WT_LEN, 1);
	pbw_varint(w, 2);
	pbw_bytes(w, "al", 2);
	v_head(w, 2, 6);
	v_earn_field(w);
}

static inline void v_duplicate_field(struct pbw *w)
{
	v_canonical(w);
	pbw_str(w, 1, "al");
}

static inline void v_out_of_order(struct pbw *w)
{
	v_head(w, 2, 2);
	v_head(w, 1, 1);
	v_head(w, 3, 6);
	v_earn_field(w);
}

static inline void v_body_first(struct pbw *w)
{
	v_earn_field(w);
	v_head(w, 1, 6);
}

static inline void v_unknown_trailing(struct pbw *w)
{
	v_canonical(w);
	pbw_uint(w, 99, 1);
}

static inline void v_unknown_middle(struct pbw *w)
{
	v_head(w, 1, 6);
	pbw_str(w, 7, "x");
	v_earn_field(w);
}

static inline void v_unknown_nested(struct pbw *w)
{
	struct pbw inner = { 0 };

	v_head(w, 1, 6);
	v_earn(&inner, 1, 3);
	pbw_uint(&inner, 9, 1);
	pbw_sub(w, 10, &inner);
}

static inline void v_default_encoded(struct pbw *w)
{
	struct pbw inner = { 0 };

	v_head(w, 1, 6);
	v_earn(&inner, 1, 2);
	pbw_str(&inner, 3, "");
	pbw_sub(w, 10, &inner);
}

static inline void v_zero_encoded(struct pbw *w)
{
	v_head(w, 1, 6);
	pbw_uint(w, 4, 0);   /* after field 6 too: both out of order and a default */
	v_earn_field(w);
}

static inline void v_embedded_nul(struct pbw *w)
{
	v_head(w, 1, 2);
	pbw_len(w, 3, "e-0001\0x", 8);
	v_head(w, 4, 6);
	v_earn_field(w);
}

static inline void v_split_body(struct pbw *w)
{
	struct pbw a = { 0 }, b = { 0 };

	v_head(w, 1, 6);
	v_earn(&a, 1, 1);
	v_earn(&b, 2, 3);
	pbw_sub(w, 10, &a);
	pbw_sub(w, 10, &b);   /* protobuf merges the two into one Earn */
}

static inline void v_two_bodies(struct pbw *w)
{
	struct pbw redeem = { 0 };

	v_canonical(w);
	pbw_str(&redeem, 1, "mem-1");
	pbw_uint(&redeem, 2, 100);
	pbw_sub(w, 11, &redeem);   /* the last member of a oneof wins */
}

static inline void v_truncated(struct pbw *w)
{
	v_canonical(w);
	w->len--;
}

static inline void v_no_body(struct pbw *w)
{
	v_head(w, 1, 6);
}

static inline void v_future_body(struct pbw *w)
{
	struct pbw inner = { 0 };

	v_head(w, 1, 6);
	pbw_str(&inner, 1, "mem-1");
	pbw_sub(w, 18, &inner);   /* a kind this version does not know */
}

static inline void v_wrong_wire_type(struct pbw *w)
{
	pbw_uint(w, 1, 5);
	v_head(w, 2, 6);
	v_earn_field(w);
}

static inline void v_length_past_end(struct pbw *w)
{
	v_head(w, 1, 6);
	pbw_tag(w, 10, WT_LEN);
	pbw_varint(w, 100);
	pbw_str(w, 1, "mem-1");
}

static inline void v_invalid_utf8(struct pbw *w)
{
	struct pbw inner = { 0 };

	v_head(w, 1, 6);
	pbw_len(&inner, 1, "mem-\xc0\xaf", 6);   /* an overlong '/' */
	pbw_uint(&inner, 2, 100);
	pbw_sub(w, 10, &inner);
}

static inline void v_garbage(struct pbw *w)
{
	pbw_bytes(w, "\xff\xff\xff\xff", 4);
}

static const struct variant variants[] = {
	{ "overlong_varint", "event_time_us as a varint one byte longer than needed",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, v_overlong_varint },
	{ "overlong_length", "a length prefix as an over-long varint",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, v_overlong_length },
	{ "overlong_tag", "a field tag as an over-long varint",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, v_overlong_tag },
	{ "duplicate_field", "alliance_id repeated at the end, same value",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, v_duplicate_field },
	{ "out_of_order", "merchant_id before alliance_id",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, v_out_of_order },
	{ "body_first", "the earn body before the header fields",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, v_body_first },
	{ "unknown_field_trailing", "an unknown field 99 after all known fields",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, v_unknown_trailing },
	{ "unknown_field_middle", "an unknown field 7 between terminal_id and the body",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, v_unknown_middle },
	{ "unknown_field_nested", "an unknown field 9 at the end of the Earn body",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, v_unknown_nested },
	{ "default_encoded", "Earn.reason encoded although empty",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, v_default_encoded },
	{ "zero_encoded", "event_time_us = 0 encoded again after terminal_id",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, v_zero_encoded },
	{ "embedded_nul", "event_id containing a NUL byte",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, v_embedded_nul },
	{ "split_body", "the Earn body sent as two field-10 records that merge",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, v_split_body },
	{ "two_bodies", "an earn body then a redeem body; the oneof keeps the last",
	  POINTCLEAR__V1__CODE__NON_CANONICAL, v_two_bodies },
	{ "truncated", "the canonical earn payload without its last byte",
	  POINTCLEAR__V1__CODE__BAD_PAYLOAD, v_truncated },
	{ "no_body", "header fields only, the body oneof unset",
	  POINTCLEAR__V1__CODE__BAD_PAYLOAD, v_no_body },
	{ "future_body", "a body in field 18, unknown to version 1: no known body",
	  POINTCLEAR__V1__CODE__BAD_PAYLOAD, v_future_body },
	{ "wrong_wire_type", "alliance_id sent as a varint",
	  POINTCLEAR__V1__CODE__BAD_PAYLOAD, v_wrong_wire_type },
	{ "length_past_end", "the body's length runs past the end of the payload",
	  POINTCLEAR__V1__CODE__BAD_PAYLOAD, v_length_past_end },
	{ "invalid_utf8", "Earn.member_id is not UTF-8",
	  POINTCLEAR__V1__CODE__BAD_PAYLOAD, v_invalid_utf8 },
	{ "garbage", "four 0xff bytes",
	  POINTCLEAR__V1__CODE__BAD_PAYLOAD, v_garbage },
};

#define VARIANT_COUNT (sizeof(variants) / sizeof(variants[0]))

#endif
