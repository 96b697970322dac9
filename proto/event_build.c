/* event_build.c - descriptions of events to canonical Event bytes and signed
 * envelopes (see event_build.h). */
#include "pointclear/event_build.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The fields beyond the header, as bits: what a description sets and what each
 * kind carries. */
enum {
	F_MEMBER = 1 << 0,
	F_AMOUNT = 1 << 1,
	F_REASON = 1 << 2,
	F_DURATION = 1 << 3,
	F_REF = 1 << 4,
	F_BENEFICIARY = 1 << 5,
	F_CHANNEL = 1 << 6,
	F_CAMPAIGN = 1 << 7,
	F_CODE = 1 << 8,
	F_TOUCH = 1 << 9,
	F_CURRENCY = 1 << 10,
	F_AUTH = 1 << 11,
};

static const struct {
	const char *name;
	unsigned carries;
} kinds[PC_EVENT_NKINDS] = {
	[PC_EVENT_NO_BODY] = {"none", 0},
	[PC_EVENT_EARN] = {"earn", F_MEMBER | F_AMOUNT | F_REASON},
	[PC_EVENT_REDEEM] = {"redeem", F_MEMBER | F_AMOUNT | F_REASON | F_AUTH},
	[PC_EVENT_HOLD] = {"hold", F_MEMBER | F_AMOUNT | F_DURATION | F_AUTH},
	[PC_EVENT_CAPTURE] = {"capture", F_REF | F_AMOUNT},
	[PC_EVENT_VOID] = {"void", F_REF},
	[PC_EVENT_REVERSAL] = {"reversal", F_REF | F_AMOUNT | F_REASON},
	[PC_EVENT_REFERRAL] = {"referral", F_MEMBER | F_BENEFICIARY | F_CHANNEL | F_CAMPAIGN |
	                                   F_CODE | F_TOUCH},
	[PC_EVENT_PURCHASE] = {"purchase", F_MEMBER | F_AMOUNT | F_CURRENCY | F_CODE},
};

const char *pc_event_build_error(int err)
{
	switch (err) {
	case PC_EB_OK: return "ok";
	case PC_EB_BAD_KIND: return "unknown kind or reference form";
	case PC_EB_STRAY_FIELD: return "a field set that the kind does not carry";
	case PC_EB_TOO_SMALL: return "buffer too small";
	case PC_EB_SIGN: return "payload too large to sign";
	case PC_EB_NOMEM: return "out of memory";
	default: return "unknown error";
	}
}

const char *pc_event_kind_name(enum pc_event_kind kind)
{
	return (unsigned)kind < PC_EVENT_NKINDS ? kinds[kind].name : "?";
}

enum pc_event_kind pc_event_kind_by_name(const char *name)
{
	for (unsigned k = PC_EVENT_EARN; k < PC_EVENT_NKINDS; k++)
		if (strcmp(kinds[k].name, name) == 0)
			return (enum pc_event_kind)k;
	return PC_EVENT_NO_BODY;
}

static bool set(const char *s)
{
	return s != NULL && *s != '\0';
}

/* protobuf-c takes a non-const char * and reads NULL as empty only outside a
 * oneof; "" is empty everywhere. */
static char *str(const char *s)
{
	return (char *)(s != NULL ? s : "");
}

static unsigned fields_set(const struct pc_event_desc *d)
{
	const struct pc_event_ref *r = &d->ref;

	return (set(d->member_id) ? F_MEMBER : 0) | (d->amount != 0 ? F_AMOUNT : 0) |
	       (set(d->reason) ? F_REASON : 0) | (d->duration_s != 0 ? F_DURATION : 0) |
	       (r->by != PC_REF_NONE || set(r->event_id) || r->sequence != 0 ? F_REF : 0) |
	       (set(d->beneficiary_id) ? F_BENEFICIARY : 0) | (set(d->channel) ? F_CHANNEL : 0) |
	       (set(d->campaign_id) ? F_CAMPAIGN : 0) | (set(d->referral_code) ? F_CODE : 0) |
	       (d->touch_time_us != 0 ? F_TOUCH : 0) | (set(d->currency) ? F_CURRENCY : 0) |
	       (d->authorization_len != 0 ? F_AUTH : 0);
}

/* The reference, or NULL when unset; an id and a sequence together say two things. */
static int ref_init(Pointclear__V1__EventRef *out, const struct pc_event_ref *r,
                    Pointclear__V1__EventRef **field)
{
	pointclear__v1__event_ref__init(out);
	*field = NULL;
	switch (r->by) {
	case PC_REF_NONE:
		return set(r->event_id) || r->sequence != 0 ? PC_EB_STRAY_FIELD : PC_EB_OK;
	case PC_REF_EVENT_ID:
		if (r->sequence != 0)
			return PC_EB_STRAY_FIELD;
		out->target_case = POINTCLEAR__V1__EVENT_REF__TARGET_EVENT_ID;
		out->event_id = str(r->event_id);
		break;
	case PC_REF_SEQUENCE:
		if (set(r->event_id))
			return PC_EB_STRAY_FIELD;
		out->target_case = POINTCLEAR__V1__EVENT_REF__TARGET_SEQUENCE;
		out->sequence = r->sequence;
		break;
	default:
		return PC_EB_BAD_KIND;
	}
	*field = out;
	return PC_EB_OK;
}

static void body_init(struct pc_event_msg *m, const struct pc_event_desc *d)
{
	Pointclear__V1__Event *ev = &m->event;

	switch (d->kind) {
	case PC_EVENT_EARN:
		pointclear__v1__earn__init(&m->body.earn);
		m->body.earn.member_id = str(d->member_id);
		m->body.earn.points = d->amount;
		m->body.earn.reason = str(d->reason);
		ev->body_case = POINTCLEAR__V1__EVENT__BODY_EARN;
		ev->earn = &m->body.earn;
		break;
	case PC_EVENT_REDEEM:
		pointclear__v1__redeem__init(&m->body.redeem);
		m->body.redeem.member_id = str(d->member_id);
		m->body.redeem.points = d->amount;
		m->body.redeem.reason = str(d->reason);
		ev->body_case = POINTCLEAR__V1__EVENT__BODY_REDEEM;
		ev->redeem = &m->body.redeem;
		break;
	case PC_EVENT_HOLD:
		pointclear__v1__hold__init(&m->body.hold);
		m->body.hold.member_id = str(d->member_id);
		m->body.hold.points = d->amount;
		m->body.hold.duration_s = d->duration_s;
		ev->body_case = POINTCLEAR__V1__EVENT__BODY_HOLD;
		ev->hold = &m->body.hold;
		break;
	case PC_EVENT_CAPTURE:
		pointclear__v1__capture__init(&m->body.capture);
		ref_init(&m->ref, &d->ref, &m->body.capture.hold);
		m->body.capture.points = d->amount;
		ev->body_case = POINTCLEAR__V1__EVENT__BODY_CAPTURE;
		ev->capture = &m->body.capture;
		break;
	case PC_EVENT_VOID:
		pointclear__v1__void__init(&m->body.void_);
		ref_init(&m->ref, &d->ref, &m->body.void_.hold);
		ev->body_case = POINTCLEAR__V1__EVENT__BODY_VOID;
		ev->void_ = &m->body.void_;
		break;
	case PC_EVENT_REVERSAL:
		pointclear__v1__reversal__init(&m->body.reversal);
		ref_init(&m->ref, &d->ref, &m->body.reversal.original);
		m->body.reversal.amount = d->amount;
		m->body.reversal.reason = str(d->reason);
		ev->body_case = POINTCLEAR__V1__EVENT__BODY_REVERSAL;
		ev->reversal = &m->body.reversal;
		break;
	case PC_EVENT_REFERRAL:
		pointclear__v1__referral__init(&m->body.referral);
		m->body.referral.member_id = str(d->member_id);
		m->body.referral.beneficiary_merchant_id = str(d->beneficiary_id);
		m->body.referral.channel = str(d->channel);
		m->body.referral.campaign_id = str(d->campaign_id);
		m->body.referral.referral_code = str(d->referral_code);
		m->body.referral.touch_time_us = d->touch_time_us;
		ev->body_case = POINTCLEAR__V1__EVENT__BODY_REFERRAL;
		ev->referral = &m->body.referral;
		break;
	case PC_EVENT_PURCHASE:
		pointclear__v1__purchase__init(&m->body.purchase);
		m->body.purchase.member_id = str(d->member_id);
		m->body.purchase.amount_minor = d->amount;
		m->body.purchase.currency = str(d->currency);
		m->body.purchase.referral_code = str(d->referral_code);
		ev->body_case = POINTCLEAR__V1__EVENT__BODY_PURCHASE;
		ev->purchase = &m->body.purchase;
		break;
	default:   /* PC_EVENT_NO_BODY: the body stays unset */
		break;
	}
}

int pc_event_msg_init(struct pc_event_msg *m, const struct pc_event_desc *d)
{
	Pointclear__V1__EventRef *unused;
	int rc;

	if ((unsigned)d->kind >= PC_EVENT_NKINDS)
		return PC_EB_BAD_KIND;
	if (fields_set(d) & ~kinds[d->kind].carries)
		return PC_EB_STRAY_FIELD;
	/* checked before anything is built, so body_init cannot fail */
	if ((rc = ref_init(&m->ref, &d->ref, &unused)) != PC_EB_OK)
		return rc;
	pointclear__v1__event__init(&m->event);
	m->event.alliance_id = str(d->alliance_id);
	m->event.merchant_id = str(d->merchant_id);
	m->event.event_id = str(d->event_id);
	m->event.event_time_us = d->event_time_us;
	m->event.store_id = str(d->store_id);
	m->event.terminal_id = str(d->terminal_id);
	body_init(m, d);
	return PC_EB_OK;
}

static size_t varint_size(size_t n);

static uint8_t *put_varint(uint8_t *p, size_t n)
{
	while (n >= 0x80) {
		*p++ = (uint8_t)(n | 0x80);
		n >>= 7;
	}
	*p++ = (uint8_t)n;
	return p;
}

int pc_event_encode(const struct pc_event_desc *d, uint8_t *out, size_t cap, size_t *len)
{
	struct pc_event_msg m;
	int rc = pc_event_msg_init(&m, d);

	if (rc != PC_EB_OK)
		return rc;
	if (d->authorization_len == 0) {
		*len = protobuf_c_message_get_packed_size(&m.event.base);
		if (*len > cap)
			return PC_EB_TOO_SMALL;
		protobuf_c_message_pack(&m.event.base, out);
		return PC_EB_OK;
	}
	/* Fields 1-6, then field 8 as given, then the body (10-17): protobuf-c packs
	 * in field order and leaves empty fields out, so the header packed alone and
	 * the body packed alone around the authorization are the canonical encoding
	 * of the whole, without copying the authorization into a message. */
	Pointclear__V1__Event head = m.event, body = m.event;
	head.body_case = POINTCLEAR__V1__EVENT__BODY__NOT_SET;
	body.alliance_id = body.merchant_id = body.event_id = "";
	body.store_id = body.terminal_id = "";
	body.event_time_us = 0;
	size_t head_len = protobuf_c_message_get_packed_size(&head.base);
	size_t body_len = protobuf_c_message_get_packed_size(&body.base);
	*len = head_len + 1 + varint_size(d->authorization_len) + d->authorization_len + body_len;
	if (*len > cap)
		return PC_EB_TOO_SMALL;
	uint8_t *p = out + protobuf_c_message_pack(&head.base, out);
	*p++ = (8 << 3) | PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
	p = put_varint(p, d->authorization_len);
	memcpy(p, d->authorization, d->authorization_len);
	p += d->authorization_len;
	protobuf_c_message_pack(&body.base, p);
	return PC_EB_OK;
}

static size_t varint_size(size_t n)
{
	size_t bytes = 1;

	while (n >= 0x80) {
		n >>= 7;
		bytes++;
	}
	return bytes;
}

/* A length-delimited field with a one-byte tag; proto3 leaves an empty one out. */
static size_t field_size(size_t n)
{
	return n == 0 ? 0 : 1 + varint_size(n) + n;
}

size_t pc_envelope_size(size_t payload_len, const char *key_id)
{
	return field_size(payload_len) + field_size(key_id ? strlen(key_id) : 0) +
	       field_size(PC_SIG_SIZE);
}

int pc_envelope_seal(uint8_t *out, size_t cap, size_t *len, const uint8_t *payload,
                     size_t payload_len, const uint8_t sk[PC_SK_SIZE], const char *key_id)
{
	Pointclear__V1__SignedEvent se = POINTCLEAR__V1__SIGNED_EVENT__INIT;
	uint8_t sig[PC_SIG_SIZE];

	*len = pc_envelope_size(payload_len, key_id);
	if (*len > cap)
		return PC_EB_TOO_SMALL;
	if (pc_sign(sig, PC_EVENT_PAYLOAD_TYPE, payload, payload_len, sk) != 0)
		return PC_EB_SIGN;
	se.payload.data = (uint8_t *)payload;
	se.payload.len = payload_len;
	se.key_id = str(key_id);
	se.signature.data = sig;
	se.signature.len = sizeof sig;
	protobuf_c_message_pack(&se.base, out);
	return PC_EB_OK;
}

uint8_t *pc_event_sign(const struct pc_event_desc *d, const uint8_t sk[PC_SK_SIZE],
                       const char *key_id, size_t *len, int *err)
{
	uint8_t *payload = NULL, *env = NULL;
	size_t plen = 0;
	int rc = pc_event_encode(d, NULL, 0, &plen);

	if (rc != PC_EB_OK && rc != PC_EB_TOO_SMALL)
		goto out;
	rc = PC_EB_NOMEM;
	/* one byte at least: an event may encode to nothing, malloc(0) may be NULL */
	if (!(payload = malloc(plen + 1)) ||
	    !(env = malloc(pc_envelope_size(plen, key_id))))
		goto out;
	if ((rc = pc_event_encode(d, payload, plen, &plen)) == PC_EB_OK)
		rc = pc_envelope_seal(env, pc_envelope_size(plen, key_id), len, payload, plen,
		                      sk, key_id);
out:
	free(payload);
	if (rc != PC_EB_OK) {
		free(env);
		env = NULL;
	}
	if (err)
		*err = rc;
	return env;
}

uint8_t *pc_authorization_sign(const struct pc_authorization_desc *a,
                               const uint8_t sk[PC_SK_SIZE], const char *key_id, size_t *len,
                               int *err)
{
	Pointclear__V1__MemberAuthorization ma = POINTCLEAR__V1__MEMBER_AUTHORIZATION__INIT;
	Pointclear__V1__SignedAuthorization sa = POINTCLEAR__V1__SIGNED_AUTHORIZATION__INIT;
	uint8_t sig[PC_SIG_SIZE], *body = NULL, *out = NULL;
	size_t body_len;
	int rc = PC_EB_NOMEM;

	ma.alliance_id = str(a->alliance_id);
	ma.member_id = str(a->member_id);
	ma.merchant_id = str(a->merchant_id);
	ma.max_points = a->max_points;
	ma.expires_at_us = a->expires_at_us;
	ma.nonce.data = (uint8_t *)a->nonce;
	ma.nonce.len = a->nonce != NULL ? a->nonce_len : 0;
	body_len = protobuf_c_message_get_packed_size(&ma.base);
	if (!(body = malloc(body_len + 1)))
		goto out;
	protobuf_c_message_pack(&ma.base, body);
	if (pc_sign(sig, PC_MEMBER_AUTH_PAYLOAD_TYPE, body, body_len, sk) != 0) {
		rc = PC_EB_SIGN;
		goto out;
	}
	sa.body.data = body;
	sa.body.len = body_len;
	sa.key_id = str(key_id);
	sa.signature.data = sig;
	sa.signature.len = sizeof sig;
	*len = protobuf_c_message_get_packed_size(&sa.base);
	if ((out = malloc(*len + 1)) != NULL) {
		protobuf_c_message_pack(&sa.base, out);
		rc = PC_EB_OK;
	}
out:
	free(body);
	if (err)
		*err = rc;
	return out;
}
