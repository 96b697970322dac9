/* samples.h - one fixed event of every kind, for the codec tests and the vector generator. */
#ifndef POINTCLEAR_SAMPLES_H
#define POINTCLEAR_SAMPLES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "pointclear.pb-c.h"

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

/* An Event and everything it points to, in one block the caller owns. */
struct sample {
	const char *name;
	Pointclear__V1__Event event;
	Pointclear__V1__EventRef ref;
	union {
		Pointclear__V1__Earn earn;
		Pointclear__V1__Redeem redeem;
		Pointclear__V1__Hold hold;
		Pointclear__V1__Capture capture;
		Pointclear__V1__Void void_;
		Pointclear__V1__Reversal reversal;
		Pointclear__V1__Referral referral;
		Pointclear__V1__Purchase purchase;
	} body;
};

#define SAMPLE_TIME_US INT64_C(1795385298713955)   /* 2026-11-22T22:08:18.713955Z */

static inline void sample_header(struct sample *s, const char *event_id)
{
	s->event = (Pointclear__V1__Event)POINTCLEAR__V1__EVENT__INIT;
	s->event.alliance_id = "al";
	s->event.merchant_id = "m-42";
	s->event.event_id = (char *)event_id;
	s->event.event_time_us = SAMPLE_TIME_US;
	s->event.store_id = "store-1";
	s->event.terminal_id = "pos:7";
}

static inline void sample_ref_id(struct sample *s, const char *event_id)
{
	s->ref = (Pointclear__V1__EventRef)POINTCLEAR__V1__EVENT_REF__INIT;
	s->ref.target_case = POINTCLEAR__V1__EVENT_REF__TARGET_EVENT_ID;
	s->ref.event_id = (char *)event_id;
}

static inline void sample_ref_seq(struct sample *s, uint64_t sequence)
{
	s->ref = (Pointclear__V1__EventRef)POINTCLEAR__V1__EVENT_REF__INIT;
	s->ref.target_case = POINTCLEAR__V1__EVENT_REF__TARGET_SEQUENCE;
	s->ref.sequence = sequence;
}

static inline void sample_earn(struct sample *s)
{
	s->name = "earn";
	sample_header(s, "e-0001");
	s->body.earn = (Pointclear__V1__Earn)POINTCLEAR__V1__EARN__INIT;
	s->body.earn.member_id = "mem-1";
	s->body.earn.points = 100;
	s->body.earn.reason = "double points weekend";
	s->event.body_case = POINTCLEAR__V1__EVENT__BODY_EARN;
	s->event.earn = &s->body.earn;
}

static inline void sample_redeem(struct sample *s)
{
	s->name = "redeem";
	sample_header(s, "e-0002");
	s->body.redeem = (Pointclear__V1__Redeem)POINTCLEAR__V1__REDEEM__INIT;
	s->body.redeem.member_id = "mem-1";
	s->body.redeem.points = 40;
	s->event.body_case = POINTCLEAR__V1__EVENT__BODY_REDEEM;
	s->event.redeem = &s->body.redeem;
}

static inline void sample_hold(struct sample *s)
{
	s->name = "hold";
	sample_header(s, "e-0003");
	s->body.hold = (Pointclear__V1__Hold)POINTCLEAR__V1__HOLD__INIT;
	s->body.hold.member_id = "mem-1";
	s->body.hold.points = 60;
	s->body.hold.duration_s = 600;
	s->event.body_case = POINTCLEAR__V1__EVENT__BODY_HOLD;
	s->event.hold = &s->body.hold;
}

static inline void sample_capture(struct sample *s, bool by_id)
{
	s->name = by_id ? "capture_by_event_id" : "capture_by_sequence";
	sample_header(s, by_id ? "e-0004" : "e-0005");
	if (by_id)
		sample_ref_id(s, "e-0003");
	else
		sample_ref_seq(s, 3);
	s->body.capture = (Pointclear__V1__Capture)POINTCLEAR__V1__CAPTURE__INIT;
	s->body.capture.hold = &s->ref;
	s->body.capture.points = 50;
	s->event.body_case = POINTCLEAR__V1__EVENT__BODY_CAPTURE;
	s->event.capture = &s->body.capture;
}

static inline void sample_void(struct sample *s)
{
	s->name = "void";
	sample_header(s, "e-0006");
	sample_ref_seq(s, 0);   /* sequence 0 is set, and so encoded: oneof presence */
	s->body.void_ = (Pointclear__V1__Void)POINTCLEAR__V1__VOID__INIT;
	s->body.void_.hold = &s->ref;
	s->event.body_case = POINTCLEAR__V1__EVENT__BODY_VOID;
	s->event.void_ = &s->body.void_;
}

static inline void sample_reversal(struct sample *s, bool by_id)
{
	s->name = by_id ? "reversal_by_event_id" : "reversal_by_sequence";
	sample_header(s, by_id ? "e-0008" : "e-0007");
	if (by_id)
		sample_ref_id(s, "e-0001");
	else
		sample_ref_seq(s, 1);
	s->body.reversal = (Pointclear__V1__Reversal)POINTCLEAR__V1__REVERSAL__INIT;
	s->body.reversal.original = &s->ref;
	s->body.reversal.amount = 25;
	s->body.reversal.reason = by_id ? "" : "returned item";
	s->event.body_case = POINTCLEAR__V1__EVENT__BODY_REVERSAL;
	s->event.reversal = &s->body.reversal;
}

static inline void sample_referral(struct sample *s)
{
	s->name = "referral";
	sample_header(s, "e-0009");
	s->body.referral = (Pointclear__V1__Referral)POINTCLEAR__V1__REFERRAL__INIT;
	s->body.referral.member_id = "mem-2";
	s->body.referral.beneficiary_merchant_id = "m-7";
	s->body.referral.channel = "qr";
	s->body.referral.campaign_id = "spring-26";
	s->body.referral.referral_code = "REF:ab12";
	s->body.referral.touch_time_us = SAMPLE_TIME_US - 60000000;
	s->event.body_case = POINTCLEAR__V1__EVENT__BODY_REFERRAL;
	s->event.referral = &s->body.referral;
}

static inline void sample_purchase(struct sample *s)
{
	s->name = "purchase";
	sample_header(s, "e-0010");
	s->body.purchase = (Pointclear__V1__Purchase)POINTCLEAR__V1__PURCHASE__INIT;
	s->body.purchase.member_id = "mem-2";
	s->body.purchase.amount_minor = 12995;
	s->body.purchase.currency = "EUR";
	s->body.purchase.referral_code = "REF:ab12";
	s->event.body_case = POINTCLEAR__V1__EVENT__BODY_PURCHASE;
	s->event.purchase = &s->body.purchase;
}

/* Fills s with the sample of that kind. The struct must not move afterwards:
 * the event points into it. */
static inline void sample_init(struct sample *s, enum sample_kind kind)
{
	switch (kind) {
	case SAMPLE_EARN: sample_earn(s); break;
	case SAMPLE_REDEEM: sample_redeem(s); break;
	case SAMPLE_HOLD: sample_hold(s); break;
	case SAMPLE_CAPTURE_BY_ID: sample_capture(s, true); break;
	case SAMPLE_CAPTURE_BY_SEQUENCE: sample_capture(s, false); break;
	case SAMPLE_VOID: sample_void(s); break;
	case SAMPLE_REVERSAL_BY_SEQUENCE: sample_reversal(s, false); break;
	case SAMPLE_REVERSAL_BY_ID: sample_reversal(s, true); break;
	case SAMPLE_REFERRAL: sample_referral(s); break;
	case SAMPLE_PURCHASE: sample_purchase(s); break;
	default: abort();
	}
}

#endif
