/* test_codec.c - unit tests of bounded unpacking, the canonical check and code names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "canon_variants.h"
#include "pointclear/codec.h"
#include "pbwrite.h"
#include "samples.h"
#include "testutil.h"
#include "variants.h"

/* The tags of a message's top-level fields, in the order they appear. */
static size_t top_level_fields(const uint8_t *buf, size_t len, uint32_t *out, size_t max)
{
	size_t at = 0, n = 0;

	while (at < len && n < max) {
		uint64_t key = 0, v = 0;
		unsigned shift = 0;

		do
			key |= (uint64_t)(buf[at] & 0x7f) << shift, shift += 7;
		while (buf[at++] & 0x80);
		out[n++] = (uint32_t)(key >> 3);
		shift = 0;
		do
			v |= (uint64_t)(buf[at] & 0x7f) << shift, shift += 7;
		while (buf[at++] & 0x80);
		if ((key & 7) == WT_LEN)
			at += v;
	}
	return n;
}

static void check_round_trip(const struct sample *s)
{
	size_t len = 0, len2 = 0;
	uint8_t *buf = pc_pack(&s->event.base, &len), *again;
	pc_code code = POINTCLEAR__V1__CODE__INTERNAL;
	Pointclear__V1__Event *e;
	uint32_t tags[16];
	size_t n;

	assert_non_null(buf);
	e = pc_event_unpack(buf, len, &code);
	if (e == NULL)
		fail_msg("%s: %s", s->name, pc_code_name(code));
	assert_int_equal(code, POINTCLEAR__V1__CODE__OK);
	assert_int_equal(e->body_case, s->event.body_case);
	assert_string_equal(e->alliance_id, s->event.alliance_id);
	assert_string_equal(e->event_id, s->event.event_id);
	assert_string_equal(e->terminal_id, s->event.terminal_id);
	assert_true(e->event_time_us == s->event.event_time_us);
	again = pc_pack(&e->base, &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(again, buf, len);
	/* protobuf-c writes fields in field-number order: 1..6, then the body. */
	n = top_level_fields(buf, len, tags, 16);
	assert_int_equal(n, 7);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(tags[i], i + 1);
	assert_int_equal(tags[6], 10 + (s->event.body_case - POINTCLEAR__V1__EVENT__BODY_EARN));
	pc_event_free(e);
	free(buf);
	free(again);
}

static void test_round_trip_every_kind(void **state)
{
	(void)state;
	for (int k = 0; k < SAMPLE_COUNT; k++) {
		struct sample s;

		sample_init(&s, (enum sample_kind)k);
		check_round_trip(&s);
	}
}

static void test_body_values_survive(void **state)
{
	struct sample s;
	size_t len;
	uint8_t *buf;
	pc_code code;
	Pointclear__V1__Event *e;

	(void)state;
	sample_init(&s, SAMPLE_REVERSAL_BY_SEQUENCE);
	buf = pc_pack(&s.event.base, &len);
	e = pc_event_unpack(buf, len, &code);
	assert_non_null(e);
	assert_int_equal(e->reversal->original->target_case,
	                 POINTCLEAR__V1__EVENT_REF__TARGET_SEQUENCE);
	assert_int_equal(e->reversal->original->sequence, 1);
	assert_int_equal(e->reversal->amount, 25);
	assert_string_equal(e->reversal->reason, "returned item");
	pc_event_free(e);
	free(buf);

	sample_init(&s, SAMPLE_REFERRAL);
	buf = pc_pack(&s.event.base, &len);
	e = pc_event_unpack(buf, len, NULL);   /* code may be NULL */
	assert_non_null(e);
	assert_string_equal(e->referral->referral_code, "REF:ab12");
	assert_true(e->referral->touch_time_us == SAMPLE_TIME_US - 60000000);
	pc_event_free(e);
	free(buf);
}

/* Known bytes, worked out by hand from the protobuf encoding rules. */
static void test_known_encoding(void **state)
{
	Pointclear__V1__Event e = POINTCLEAR__V1__EVENT__INIT;
	Pointclear__V1__Void v = POINTCLEAR__V1__VOID__INIT;
	Pointclear__V1__EventRef r = POINTCLEAR__V1__EVENT_REF__INIT;
	Pointclear__V1__Earn earn = POINTCLEAR__V1__EARN__INIT;
	size_t len;
	uint8_t *buf;
	Pointclear__V1__Event *back;

	(void)state;
	/* Defaults omitted; a oneof member set to 0 is still written. */
	e.alliance_id = "al";
	e.body_case = POINTCLEAR__V1__EVENT__BODY_VOID;
	e.void_ = &v;
	v.hold = &r;
	r.target_case = POINTCLEAR__V1__EVENT_REF__TARGET_SEQUENCE;
	buf = pc_pack(&e.base, &len);
	assert_bytes_hex(buf, len, "0a02616c" "7204" "0a02" "1000");
	free(buf);
	/* Negative int64 is ten bytes; 300 is ac 02. */
	e = (Pointclear__V1__Event)POINTCLEAR__V1__EVENT__INIT;
	e.event_time_us = -1;
	e.body_case = POINTCLEAR__V1__EVENT__BODY_EARN;
	e.earn = &earn;
	earn.points = 300;
	buf = pc_pack(&e.base, &len);
	assert_bytes_hex(buf, len, "20ffffffffffffffffff01" "5203" "10ac02");
	back = pc_event_unpack(buf, len, NULL);
	assert_non_null(back);
	assert_true(back->event_time_us == -1);
	pc_event_free(back);
	free(buf);
	/* An empty Earn is still a body. */
	earn = (Pointclear__V1__Earn)POINTCLEAR__V1__EARN__INIT;
	e.event_time_us = 0;
	buf = pc_pack(&e.base, &len);
	assert_bytes_hex(buf, len, "5200");
	free(buf);
}

static void test_variants(void **state)
{
	(void)state;
	for (size_t i = 0; i < VARIANT_COUNT; i++) {
		struct pbw w = { 0 };
		pc_code code = POINTCLEAR__V1__CODE__OK;
		Pointclear__V1__Event *e;
		Pointclear__V1__Event *raw;

		variants[i].build(&w);
		e = pc_event_unpack(w.buf, w.len, &code);
		if (e != NULL || code != variants[i].expect)
			fail_msg("%s: got %s, want %s", variants[i].name, pc_code_name(code),
			         pc_code_name(variants[i].expect));
		/* Non-canonical ones are valid protobuf: plain protobuf-c takes them. */
		raw = pointclear__v1__event__unpack(NULL, w.len, w.buf);
		if (variants[i].expect == POINTCLEAR__V1__CODE__NON_CANONICAL)
			assert_non_null(raw);
		if (raw != NULL)
			pointclear__v1__event__free_unpacked(raw, NULL);
		free(w.buf);
	}
}

/* The hand writer and protobuf-c agree on the canonical form. */
static void test_variant_base_is_canonical(void **state)
{
	struct pbw w = { 0 };
	struct sample s;
	size_t len;
	uint8_t *buf;
	pc_code code;
	Pointclear__V1__Event *e;

	(void)state;
	v_canonical(&w);
	sample_init(&s, SAMPLE_EARN);
	buf = pc_pack(&s.event.base, &len);
	assert_int_equal(w.len, len);
	assert_memory_equal(w.buf, buf, len);
	e = pc_event_unpack(w.buf, w.len, &code);
	assert_non_null(e);
	pc_event_free(e);
	free(buf);
	free(w.buf);
}

/* A trailing unknown field comes back from protobuf-c byte for byte: only the
 * explicit unknown-field check refuses it. */
static void test_unknown_field_survives_repack(void **state)
{
	struct pbw w = { 0 };
	Pointclear__V1__Event *raw;
	size_t len;
	uint8_t *again;

	(void)state;
	v_unknown_trailing(&w);
	raw = pointclear__v1__event__unpack(NULL, w.len, w.buf);
	assert_non_null(raw);
	assert_int_equal(raw->base.n_unknown_fields, 1);
	again = pc_pack(&raw->base, &len);
	assert_int_equal(len, w.len);
	assert_memory_equal(again, w.buf, len);
	pointclear__v1__event__free_unpacked(raw, NULL);
	free(again);
	free(w.buf);
}

static void test_embedded_nul_in_each_string(void **state)
{
	static const uint32_t strings[] = { 1, 2, 3, 5, 6 };

	(void)state;
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		uint32_t f = strings[i];
		struct pbw w = { 0 };
		pc_code code = POINTCLEAR__V1__CODE__OK;

		if (f > 1)
			v_head(&w, 1, f - 1);
		pbw_len(&w, f, "ab\0cd", 5);
		if (f < 6)
			v_head(&w, f + 1, 6);
		v_earn_field(&w);
		assert_null(pc_event_unpack(w.buf, w.len, &code));
		assert_int_equal(code, POINTCLEAR__V1__CODE__NON_CANONICAL);
		free(w.buf);
	}
}

static void test_embedded_nul_nested(void **state)
{
	struct pbw w = { 0 }, inner = { 0 };
	pc_code code = POINTCLEAR__V1__CODE__OK;

	(void)state;
	v_head(&w, 1, 6);
	pbw_len(&inner, 1, "mem-1\0", 6);
	pbw_uint(&inner, 2, 100);
	pbw_sub(&w, 10, &inner);
	assert_null(pc_event_unpack(w.buf, w.len, &code));
	assert_int_equal(code, POINTCLEAR__V1__CODE__NON_CANONICAL);
	free(w.buf);
}

static void test_budget(void **state)
{
	struct pbw w = { 0 };
	pc_code code = POINTCLEAR__V1__CODE__OK;
	char *big = malloc(70000);
	Pointclear__V1__Event *raw;

	(void)state;
	assert_non_null(big);
	memset(big, 'a', 70000);
	/* One string larger than the whole budget. */
	v_head(&w, 1, 2);
	pbw_len(&w, 3, big, 70000);
	v_head(&w, 4, 6);
	v_earn_field(&w);
	assert_null(pc_event_unpack(w.buf, w.len, &code));
	assert_int_equal(code, POINTCLEAR__V1__CODE__BAD_PAYLOAD);
	raw = pointclear__v1__event__unpack(NULL, w.len, w.buf);
	assert_non_null(raw);   /* unbounded protobuf-c takes it */
	pointclear__v1__event__free_unpacked(raw, NULL);
	free(w.buf);

	/* Many small allocations: 6,000 unknown fields in a 18 KB payload. */
	w = (struct pbw){ 0 };
	v_canonical(&w);
	for (int i = 0; i < 6000; i++)
		pbw_uint(&w, 20, 1);
	assert_null(pc_event_unpack(w.buf, w.len, &code));
	assert_int_equal(code, POINTCLEAR__V1__CODE__BAD_PAYLOAD);
	free(w.buf);

	/* Under the budget, a large string is fine. */
	w = (struct pbw){ 0 };
	v_head(&w, 1, 2);
	pbw_len(&w, 3, big, 60000);
	v_head(&w, 4, 6);
	v_earn_field(&w);
	raw = pc_event_unpack(w.buf, w.len, &code);
	assert_non_null(raw);
	assert_int_equal(strlen(raw->event_id), 60000);
	pc_event_free(raw);
	free(w.buf);
	free(big);
}

static void test_answers_bounded(void **state)
{
	struct pbw w = { 0 };
	char *big = malloc(70000);
	Pointclear__V1__SubmitResult *r;
	Pointclear__V1__ProtocolError *pe;

	(void)state;
	assert_non_null(big);
	memset(big, 'm', 70000);
	pbw_uint(&w, 1, POINTCLEAR__V1__DISPOSITION__REJECTED);
	pbw_len(&w, 3, big, 70000);
	assert_null(pc_submit_result_unpack(w.buf, w.len));
	assert_null(pc_protocol_error_unpack(w.buf + 2, w.len - 2 - 69000));   /* truncated */
	w.len = 0;
	pbw_uint(&w, 1, POINTCLEAR__V1__CODE__FRAME_TOO_LARGE);
	pbw_str(&w, 2, "too big");
	pe = pc_protocol_error_unpack(w.buf, w.len);
	assert_non_null(pe);
	assert_int_equal(pe->code, POINTCLEAR__V1__CODE__FRAME_TOO_LARGE);
	assert_string_equal(pe->message, "too big");
	pc_protocol_error_free(pe);
	r = pc_submit_result_unpack(NULL, 0);   /* an empty message is a message */
	assert_non_null(r);
	assert_int_equal(r->disposition, POINTCLEAR__V1__DISPOSITION__DISPOSITION_UNSPECIFIED);
	pc_submit_result_free(r);
	free(w.buf);
	free(big);
}

static void test_answers_round_trip(void **state)
{
	Pointclear__V1__Decision d = POINTCLEAR__V1__DECISION__INIT;
	Pointclear__V1__ReceiptBody rb = POINTCLEAR__V1__RECEIPT_BODY__INIT;
	Pointclear__V1__Receipt rc = POINTCLEAR__V1__RECEIPT__INIT;
	Pointclear__V1__SubmitResult sr = POINTCLEAR__V1__SUBMIT_RESULT__INIT;
	uint8_t hash[32] = { 1, 2, 3 };
	size_t len, len2;
	uint8_t *buf, *body;
	Pointclear__V1__ReceiptBody *rb2;
	Pointclear__V1__SubmitResult *sr2;

	(void)state;
	d.status = POINTCLEAR__V1__STATUS__DECLINED;
	d.code = POINTCLEAR__V1__CODE__INSUFFICIENT_POINTS;
	d.balance = -5;
	rb.alliance_id = "al";
	rb.sequence = 42;
	rb.leaf_hash = (ProtobufCBinaryData){ 32, hash };
	rb.decision = &d;
	body = pc_pack(&rb.base, &len);
	rb2 = pc_receipt_body_unpack(body, len);
	assert_non_null(rb2);
	assert_true(rb2->sequence == 42);
	assert_int_equal(rb2->leaf_hash.len, 32);
	assert_memory_equal(rb2->leaf_hash.data, hash, 32);
	assert_int_equal(rb2->decision->code, POINTCLEAR__V1__CODE__INSUFFICIENT_POINTS);
	assert_true(rb2->decision->balance == -5);
	pc_receipt_body_free(rb2);
	rc.body = (ProtobufCBinaryData){ len, body };
	rc.key_id = "0011223344556677";
	sr.disposition = POINTCLEAR__V1__DISPOSITION__RECORDED;
	sr.receipt = &rc;
	buf = pc_pack(&sr.base, &len2);
	sr2 = pc_submit_result_unpack(buf, len2);
	assert_non_null(sr2);
	assert_int_equal(sr2->disposition, POINTCLEAR__V1__DISPOSITION__RECORDED);
	assert_int_equal(sr2->receipt->body.len, len);
	assert_memory_equal(sr2->receipt->body.data, body, len);
	pc_submit_result_free(sr2);
	free(buf);
	free(body);
}

static void test_signed_event(void **state)
{
	Pointclear__V1__SignedEvent se = POINTCLEAR__V1__SIGNED_EVENT__INIT;
	uint8_t sig[64], payload[3] = { 0x52, 0x00, 0x00 };
	size_t len;
	uint8_t *buf;
	pc_code code = POINTCLEAR__V1__CODE__INTERNAL;
	Pointclear__V1__SignedEvent *back;

	(void)state;
	memset(sig, 0x5a, sizeof(sig));
	se.payload = (ProtobufCBinaryData){ 2, payload };
	se.key_id = "21fe31dfa154a261";
	se.signature = (ProtobufCBinaryData){ 64, sig };
	buf = pc_pack(&se.base, &len);
	back = pc_signed_event_unpack(buf, len, &code);
	assert_non_null(back);
	assert_int_equal(code, POINTCLEAR__V1__CODE__OK);
	assert_int_equal(back->payload.len, 2);
	assert_memory_equal(back->payload.data, payload, 2);
	assert_string_equal(back->key_id, "21fe31dfa154a261");
	assert_int_equal(back->signature.len, 64);
	pc_signed_event_free(back);
	/* Garbage, truncation, wrong wire type. */
	assert_null(pc_signed_event_unpack((const uint8_t *)"\xff\xff\xff", 3, &code));
	assert_int_equal(code, POINTCLEAR__V1__CODE__BAD_ENVELOPE);
	code = POINTCLEAR__V1__CODE__OK;
	assert_null(pc_signed_event_unpack(buf, len - 1, &code));
	assert_int_equal(code, POINTCLEAR__V1__CODE__BAD_ENVELOPE);
	code = POINTCLEAR__V1__CODE__OK;
	assert_null(pc_signed_event_unpack((const uint8_t *)"\x08\x01", 2, &code));
	assert_int_equal(code, POINTCLEAR__V1__CODE__BAD_ENVELOPE);
	free(buf);
	/* A payload beyond the budget. */
	se.payload.len = PC_UNPACK_BUDGET;
	se.payload.data = calloc(PC_UNPACK_BUDGET, 1);
	assert_non_null(se.payload.data);
	buf = pc_pack(&se.base, &len);
	code = POINTCLEAR__V1__CODE__OK;
	assert_null(pc_signed_event_unpack(buf, len, &code));
	assert_int_equal(code, POINTCLEAR__V1__CODE__BAD_ENVELOPE);
	free(se.payload.data);
	free(buf);
}

static void test_garbage_events(void **state)
{
	static const char *const garbage[] = { "ff", "0a", "0a05616c", "52", "5205", "07",
	                                       "0aff", "" };
	pc_code code;

	(void)state;
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		size_t len;
		uint8_t *b = hex_decode(garbage[i], &len);

		code = POINTCLEAR__V1__CODE__OK;
		assert_null(pc_event_unpack(b, len, &code));
		assert_int_equal(code, POINTCLEAR__V1__CODE__BAD_PAYLOAD);
		free(b);
	}
}

static const uint8_t fake_sig[64] = { 0x5a, 0x5a, 0x5a, 0x5a };

/* The envelope of the earn sample, as canon_variants.h's builders take it. */
static struct env_parts earn_parts(uint8_t **payload)
{
	struct sample s;
	size_t len;

	sample_init(&s, SAMPLE_EARN);
	*payload = pc_pack(&s.event.base, &len);
	assert_non_null(*payload);
	return (struct env_parts){ *payload, len, "21fe31dfa154a261", fake_sig };
}

static void test_envelope_canonical_base(void **state)
{
	Pointclear__V1__SignedEvent se = POINTCLEAR__V1__SIGNED_EVENT__INIT;
	struct pbw w = { 0 };
	uint8_t *payload, *packed;
	struct env_parts p = earn_parts(&payload);
	pc_code code = POINTCLEAR__V1__CODE__INTERNAL;
	Pointclear__V1__SignedEvent *back;
	size_t len;

	(void)state;
	e_canonical(&w, &p);
	se.payload = (ProtobufCBinaryData){ p.payload_len, payload };
	se.key_id = (char *)p.key_id;
	se.signature = (ProtobufCBinaryData){ 64, (uint8_t *)fake_sig };
	packed = pc_pack(&se.base, &len);
	assert_int_equal(len, w.len);
	assert_memory_equal(packed, w.buf, len);
	back = pc_signed_event_unpack(w.buf, w.len, &code);
	assert_non_null(back);
	assert_int_equal(code, POINTCLEAR__V1__CODE__OK);
	pc_signed_event_free(back);
	free(packed);
	free(payload);
	free(w.buf);
}

/* Each refused envelope gets its code; the non-canonical ones are valid protobuf
 * that plain protobuf-c takes, and that the daemon recorded before this check. */
static void test_envelope_variants(void **state)
{
	uint8_t *payload;
	struct env_parts p = earn_parts(&payload);

	(void)state;
	for (size_t i = 0; i < ENV_VARIANT_COUNT; i++) {
		struct pbw w = { 0 };
		pc_code code = POINTCLEAR__V1__CODE__OK;
		Pointclear__V1__SignedEvent *raw;

		env_variants[i].build(&w, &p);
		if (pc_signed_event_unpack(w.buf, w.len, &code) != NULL ||
		    code != env_variants[i].expect)
			fail_msg("%s: got %s, want %s", env_variants[i].name, pc_code_name(code),
			         pc_code_name(env_variants[i].expect));
		raw = pointclear__v1__signed_event__unpack(NULL, w.len, w.buf);
		if (env_variants[i].expect == POINTCLEAR__V1__CODE__NON_CANONICAL)
			assert_non_null(raw);
		if (raw != NULL)
			pointclear__v1__signed_event__free_unpacked(raw, NULL);
		/* NULL for the code is allowed here too */
		assert_null(pc_signed_event_unpack(w.buf, w.len, NULL));
		free(w.buf);
	}
	free(payload);
}

static void test_payload_variants(void **state)
{
	(void)state;
	for (size_t i = 0; i < PAYLOAD_VARIANT_COUNT; i++) {
		struct pbw w = { 0 };
		pc_code code = POINTCLEAR__V1__CODE__OK;

		payload_variants[i].build(&w);
		if (pc_event_unpack(w.buf, w.len, &code) != NULL || code != payload_variants[i].expect)
			fail_msg("%s: got %s, want %s", payload_variants[i].name, pc_code_name(code),
			         pc_code_name(payload_variants[i].expect));
		free(w.buf);
	}
}

static void test_lookup_variants(void **state)
{
	(void)state;
	for (size_t i = 0; i < LOOKUP_VARIANT_COUNT; i++) {
		const struct lookup_variant *v = &lookup_variants[i];
		struct pbw w = { 0 };
		pc_code code = POINTCLEAR__V1__CODE__INTERNAL;
		Pointclear__V1__Lookup *l;

		v->build(&w);
		l = pc_lookup_unpack(w.buf, w.len, &code);
		if (code != v->expect)
			fail_msg("%s: got %s, want %s", v->name, pc_code_name(code),
			         pc_code_name(v->expect));
		if (v->expect == POINTCLEAR__V1__CODE__OK) {
			size_t len;
			uint8_t *again;

			assert_non_null(l);
			assert_string_equal(l->event_id, v->event_id);
			again = pc_pack(&l->base, &len);
			assert_int_equal(len, w.len);
			if (len > 0)
				assert_memory_equal(again, w.buf, len);
			free(again);
		} else {
			assert_null(l);
		}
		pc_lookup_free(l);
		free(w.buf);
	}
}

/* The same Lookup from protobuf-c's own encoder: what a client sends. */
static void test_lookup_known_bytes(void **state)
{
	Pointclear__V1__Lookup l = POINTCLEAR__V1__LOOKUP__INIT;
	size_t len;
	uint8_t *buf;

	(void)state;
	l.event_id = "e-0001";
	buf = pc_pack(&l.base, &len);
	assert_bytes_hex(buf, len, "0a06" "652d30303031");
	free(buf);
	l.event_id = "";
	buf = pc_pack(&l.base, &len);
	assert_int_equal(len, 0);
	free(buf);
}

/* A string is judged on its bytes as received, not on what protobuf-c keeps of
 * it (everything up to the first NUL): UTF-8 first, then NUL. */
static void test_strings_judged_on_bytes(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
		pc_code expect;
	} cases[] = {
		{ "ab\0\xff", 4, POINTCLEAR__V1__CODE__BAD_PAYLOAD },      /* not UTF-8 after a NUL */
		{ "ab\0cd", 5, POINTCLEAR__V1__CODE__NON_CANONICAL },      /* UTF-8 with a NUL */
		{ "\0", 1, POINTCLEAR__V1__CODE__NON_CANONICAL },
		{ "e-\xe2\x82", 4, POINTCLEAR__V1__CODE__BAD_PAYLOAD },    /* cut off at the end */
		{ "e-\xc0\x80", 4, POINTCLEAR__V1__CODE__BAD_PAYLOAD },    /* overlong NUL */
		{ "e-\xf4\x90\x80\x80", 6, POINTCLEAR__V1__CODE__BAD_PAYLOAD },  /* > U+10FFFF */
		{ "e-\xe2\x82\xac", 5, POINTCLEAR__V1__CODE__OK },         /* U+20AC */
		{ "e-\xf0\x9f\x98\x80", 6, POINTCLEAR__V1__CODE__OK },     /* U+1F600 */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pbw w = { 0 };
		pc_code code = POINTCLEAR__V1__CODE__INTERNAL;
		Pointclear__V1__Event *e;

		v_head(&w, 1, 2);
		pbw_len(&w, 3, cases[i].bytes, cases[i].len);
		v_head(&w, 4, 6);
		v_earn_field(&w);
		e = pc_event_unpack(w.buf, w.len, &code);
		if (code != cases[i].expect)
			fail_msg("case %zu: got %s, want %s", i, pc_code_name(code),
			         pc_code_name(cases[i].expect));
		assert_true((e != NULL) == (cases[i].expect == POINTCLEAR__V1__CODE__OK));
		pc_event_free(e);
		free(w.buf);
	}
}

/* Every occurrence of a string counts, also one that a later one overrides. */
static void test_overridden_string_still_checked(void **state)
{
	struct pbw w = { 0 };
	pc_code code = POINTCLEAR__V1__CODE__OK;

	(void)state;
	pbw_len(&w, 1, "\xff", 1);
	v_head(&w, 1, 6);
	v_earn_field(&w);
	assert_null(pc_event_unpack(w.buf, w.len, &code));
	assert_int_equal(code, POINTCLEAR__V1__CODE__BAD_PAYLOAD);
	free(w.buf);
}

/* A oneof member set to its default value is present, written out and canonical:
 * a reference to sequence 0, an empty event id reference, an empty body. What
 * they mean is the daemon's to decide (entry 0, INVALID_FIELD, MISSING_FIELD). */
static void test_oneof_member_default(void **state)
{
	static const char *const hex[] = {
		"0a02616c" "7204" "0a02" "1000",   /* void { hold { sequence: 0 } } */
		"0a02616c" "7204" "0a02" "0a00",   /* void { hold { event_id: "" } } */
		"0a02616c" "5200",                 /* earn {} */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(hex) / sizeof(hex[0]); i++) {
		size_t len, len2;
		uint8_t *b = hex_decode(hex[i], &len), *again;
		pc_code code = POINTCLEAR__V1__CODE__INTERNAL;
		Pointclear__V1__Event *e = pc_event_unpack(b, len, &code);

		if (e == NULL)
			fail_msg("%s: %s", hex[i], pc_code_name(code));
		again = pc_pack(&e->base, &len2);
		assert_int_equal(len2, len);
		assert_memory_equal(again, b, len);
		if (i < 2) {
			assert_int_equal(e->void_->hold->target_case,
			                 i == 0 ? POINTCLEAR__V1__EVENT_REF__TARGET_SEQUENCE
			                        : POINTCLEAR__V1__EVENT_REF__TARGET_EVENT_ID);
		} else {
			assert_int_equal(e->body_case, POINTCLEAR__V1__EVENT__BODY_EARN);
		}
		pc_event_free(e);
		free(again);
		free(b);
	}
}

/* A known field with another wire type than its own does not parse: a scalar
 * packed (length-delimited), a string as a fixed64, a message as a varint. */
static void test_wrong_wire_types(void **state)
{
	struct pbw w = { 0 }, inner = { 0 }, packed = { 0 };
	pc_code code = POINTCLEAR__V1__CODE__OK;
	static const uint8_t eight[8];

	(void)state;
	v_head(&w, 1, 6);
	pbw_str(&inner, 1, "mem-1");
	pbw_varint(&packed, 100);
	pbw_sub(&inner, 2, &packed);   /* points = [100], packed */
	pbw_sub(&w, 10, &inner);
	assert_null(pc_event_unpack(w.buf, w.len, &code));
	assert_int_equal(code, POINTCLEAR__V1__CODE__BAD_PAYLOAD);
	free(w.buf);

	w = (struct pbw){ 0 };
	v_head(&w, 1, 2);
	pbw_tag(&w, 3, 1);
	pbw_bytes(&w, eight, sizeof(eight));
	v_head(&w, 4, 6);
	v_earn_field(&w);
	code = POINTCLEAR__V1__CODE__OK;
	assert_null(pc_event_unpack(w.buf, w.len, &code));
	assert_int_equal(code, POINTCLEAR__V1__CODE__BAD_PAYLOAD);
	free(w.buf);

	w = (struct pbw){ 0 };
	v_head(&w, 1, 6);
	pbw_uint(&w, 10, 1);
	code = POINTCLEAR__V1__CODE__OK;
	assert_null(pc_event_unpack(w.buf, w.len, &code));
	assert_int_equal(code, POINTCLEAR__V1__CODE__BAD_PAYLOAD);
	free(w.buf);
}

/* Groups (wire types 3 and 4) are not protobuf this protocol speaks, known field
 * or unknown. */
static void test_groups_refused(void **state)
{
	static const char *const hex[] = { "0b0c", "0a06652d30303031" "1314", "0a06652d30303031" "13" };

	(void)state;
	for (size_t i = 0; i < sizeof(hex) / sizeof(hex[0]); i++) {
		size_t len;
		uint8_t *b = hex_decode(hex[i], &len);
		pc_code code = POINTCLEAR__V1__CODE__OK;

		assert_null(pc_lookup_unpack(b, len, &code));
		if (code != POINTCLEAR__V1__CODE__BAD_PAYLOAD)
			fail_msg("%s: %s", hex[i], pc_code_name(code));
		free(b);
	}
}

static void test_code_names(void **state)
{
	const ProtobufCEnumDescriptor *d = &pointclear__v1__code__descriptor;

	(void)state;
	assert_string_equal(pc_code_name(POINTCLEAR__V1__CODE__OK), "OK");
	assert_string_equal(pc_code_name(POINTCLEAR__V1__CODE__BAD_SIGNATURE), "BAD_SIGNATURE");
	assert_string_equal(pc_code_name(POINTCLEAR__V1__CODE__NON_CANONICAL), "NON_CANONICAL");
	assert_string_equal(pc_code_name(POINTCLEAR__V1__CODE__INTERNAL), "INTERNAL");
	assert_string_equal(pc_code_name((pc_code)999), "UNKNOWN");
	/* 5 became DUPLICATE_REQUEST_ID, 7 and 8 the connection limits: the first
	 * value no version has used yet */
	assert_string_equal(pc_code_name((pc_code)9), "UNKNOWN");
	assert_string_equal(pc_code_name(POINTCLEAR__V1__CODE__DUPLICATE_REQUEST_ID),
	                    "DUPLICATE_REQUEST_ID");
	assert_string_equal(pc_code_name(POINTCLEAR__V1__CODE__UNEXPECTED_BODY), "UNEXPECTED_BODY");
	assert_string_equal(pc_code_name(POINTCLEAR__V1__CODE__NOT_FOUND), "NOT_FOUND");
	assert_string_equal(pc_code_message(POINTCLEAR__V1__CODE__INSUFFICIENT_POINTS),
	                    "the member's spendable points do not cover the amount");
	assert_string_equal(pc_code_message((pc_code)999), "unknown code");
	/* Every code has its own sentence. */
	for (unsigned i = 0; i < d->n_values; i++) {
		pc_code c = (pc_code)d->values[i].value;
		const char *msg = pc_code_message(c);

		assert_string_equal(pc_code_name(c), d->values[i].name);
		assert_string_not_equal(msg, "unknown code");
		for (unsigned j = 0; j < i; j++)
			assert_string_not_equal(msg, pc_code_message((pc_code)d->values[j].value));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_kind),
		cmocka_unit_test(test_body_values_survive),
		cmocka_unit_test(test_known_encoding),
		cmocka_unit_test(test_variants),
		cmocka_unit_test(test_variant_base_is_canonical),
		cmocka_unit_test(test_unknown_field_survives_repack),
		cmocka_unit_test(test_embedded_nul_in_each_string),
		cmocka_unit_test(test_embedded_nul_nested),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_answers_bounded),
		cmocka_unit_test(test_answers_round_trip),
		cmocka_unit_test(test_signed_event),
		cmocka_unit_test(test_garbage_events),
		cmocka_unit_test(test_envelope_canonical_base),
		cmocka_unit_test(test_envelope_variants),
		cmocka_unit_test(test_payload_variants),
		cmocka_unit_test(test_lookup_variants),
		cmocka_unit_test(test_lookup_known_bytes),
		cmocka_unit_test(test_strings_judged_on_bytes),
		cmocka_unit_test(test_overridden_string_still_checked),
		cmocka_unit_test(test_oneof_member_default),
		cmocka_unit_test(test_wrong_wire_types),
		cmocka_unit_test(test_groups_refused),
		cmocka_unit_test(test_code_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
