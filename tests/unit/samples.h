/* samples.h - one fixed event of every kind, described for the event builder, for
 * the codec tests, the builder's tests and the vector generator. */
#ifndef POINTCLEAR_SAMPLES_H
#define POINTCLEAR_SAMPLES_H

#include <stdint.h>
#include <stdlib.h>

#include "pointclear/event_build.h"

enum sample_kind {
	SAMPLE_EARN,
	SAMPLE_REDEEM,
	SAMPLE_HOLD,
	SAMPLE_CAPTURE_BY_ID,
	SAMPLE_CAPTURE_BY_SEQUENCE,
	SAMPLE_VOID,
	SAMPLE_REVERSAL_BY_SEQUENCE,
	SAMPLE_REVERSAL_BY_ID,
	SAMPLE_REFERRAL,
	SAMPLE_PURCHASE,
	SAMPLE_COUNT
};

#define SAMPLE_TIME_US INT64_C(1795385298713955)   /* 2026-11-22T22:08:18.713955Z */

#define SAMPLE_HEADER(id)                                                          \
	.alliance_id = "al", .merchant_id = "m-42", .event_id = (id),                  \
	.event_time_us = SAMPLE_TIME_US, .store_id = "store-1", .terminal_id = "pos:7"
#define SAMPLE_BY_ID(id) {.by = PC_REF_EVENT_ID, .event_id = (id)}
#define SAMPLE_BY_SEQ(seq) {.by = PC_REF_SEQUENCE, .sequence = (seq)}

/* Named as the vectors in proto/testvectors/signing.json name them. */
static const struct {
	const char *name;
	struct pc_event_desc desc;
} sample_table[SAMPLE_COUNT] = {
	[SAMPLE_EARN] = {"earn", {
		.kind = PC_EVENT_EARN, SAMPLE_HEADER("e-0001"),
		.member_id = "mem-1", .amount = 100, .reason = "double points weekend"}},
	[SAMPLE_REDEEM] = {"redeem", {
		.kind = PC_EVENT_REDEEM, SAMPLE_HEADER("e-0002"),
		.member_id = "mem-1", .amount = 40}},
	[SAMPLE_HOLD] = {"hold", {
		.kind = PC_EVENT_HOLD, SAMPLE_HEADER("e-0003"),
		.member_id = "mem-1", .amount = 60, .duration_s = 600}},
	[SAMPLE_CAPTURE_BY_ID] = {"capture_by_event_id", {
		.kind = PC_EVENT_CAPTURE, SAMPLE_HEADER("e-0004"),
		.ref = SAMPLE_BY_ID("e-0003"), .amount = 50}},
	[SAMPLE_CAPTURE_BY_SEQUENCE] = {"capture_by_sequence", {
		.kind = PC_EVENT_CAPTURE, SAMPLE_HEADER("e-0005"),
		.ref = SAMPLE_BY_SEQ(3), .amount = 50}},
	/* sequence 0 is set, and so encoded: oneof presence */
	[SAMPLE_VOID] = {"void", {
		.kind = PC_EVENT_VOID, SAMPLE_HEADER("e-0006"),
		.ref = SAMPLE_BY_SEQ(0)}},
	[SAMPLE_REVERSAL_BY_SEQUENCE] = {"reversal_by_sequence", {
		.kind = PC_EVENT_REVERSAL, SAMPLE_HEADER("e-0007"),
		.ref = SAMPLE_BY_SEQ(1), .amount = 25, .reason = "returned item"}},
	[SAMPLE_REVERSAL_BY_ID] = {"reversal_by_event_id", {
		.kind = PC_EVENT_REVERSAL, SAMPLE_HEADER("e-0008"),
		.ref = SAMPLE_BY_ID("e-0001"), .amount = 25}},
	[SAMPLE_REFERRAL] = {"referral", {
		.kind = PC_EVENT_REFERRAL, SAMPLE_HEADER("e-0009"),
		.member_id = "mem-2", .beneficiary_id = "m-7", .channel = "qr",
		.campaign_id = "spring-26", .referral_code = "REF:ab12",
		.touch_time_us = SAMPLE_TIME_US - 60000000}},
	[SAMPLE_PURCHASE] = {"purchase", {
		.kind = PC_EVENT_PURCHASE, SAMPLE_HEADER("e-0010"),
		.member_id = "mem-2", .amount = 12995, .currency = "EUR",
		.referral_code = "REF:ab12"}},
};

/* A sample's description and its protobuf-c form. `event` is a copy of msg.event
 * that a test may change; it points into msg. */
struct sample {
	const char *name;
	struct pc_event_desc desc;
	Pointclear__V1__Event event;
	struct pc_event_msg msg;
};

/* Fills s with the sample of that kind. The struct must not move afterwards:
 * the event points into it. */
static inline void sample_init(struct sample *s, enum sample_kind kind)
{
	if ((unsigned)kind >= SAMPLE_COUNT)
		abort();
	s->name = sample_table[kind].name;
	s->desc = sample_table[kind].desc;
	if (pc_event_msg_init(&s->msg, &s->desc) != PC_EB_OK)
		abort();
	s->event = s->msg.event;
}

#endif
