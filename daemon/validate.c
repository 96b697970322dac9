/* validate.c - everything decidable about an event without the database. */
#include "validate.h"

#include <sodium.h>
#include <string.h>

#include <pointclear/ids.h>
#include <pointclear/money.h>
#include <pointclear/sign.h>

#define CODE(x) POINTCLEAR__V1__CODE__##x

/* How far ahead of the clearing house's clock an authorization may expire: it
 * is meant for the payment at hand, not as a standing order (PROTOCOL.md,
 * "Member authorization"). */
#define PC_AUTH_MAX_LIFETIME_US (3600LL * 1000000)

static bool refuse(struct pc_request *r, pc_code code, const char *message)
{
	r->code = code;
	r->message = message;
	return false;
}

static const char *opt(const char *s)
{
	return (s && *s) ? s : NULL;
}

/* A required identifier: MISSING_FIELD when empty, INVALID_FIELD when malformed. */
static bool need_id(struct pc_request *r, const char *s, const char *missing, const char *invalid)
{
	if (!s || !*s)
		return refuse(r, CODE(MISSING_FIELD), missing);
	if (!pc_id_valid(s))
		return refuse(r, CODE(INVALID_FIELD), invalid);
	return true;
}

static bool optional_id(struct pc_request *r, const char *s, const char *invalid)
{
	if (s && *s && !pc_id_valid(s))
		return refuse(r, CODE(INVALID_FIELD), invalid);
	return true;
}

static bool amount_ok(struct pc_request *r, int64_t amount)
{
	switch (pc_amount_check(amount)) {
	case PC_AMOUNT_OK:
		return true;
	case PC_AMOUNT_NOT_POSITIVE:
		return refuse(r, CODE(INVALID_AMOUNT), "amount must be positive");
	default:
		return refuse(r, CODE(AMOUNT_TOO_LARGE), "amount exceeds the per-event maximum of 10^12");
	}
}

static bool ref_ok(struct pc_request *r, const Pointclear__V1__EventRef *ref, const char *what)
{
	if (!ref || ref->target_case == POINTCLEAR__V1__EVENT_REF__TARGET__NOT_SET)
		return refuse(r, CODE(MISSING_FIELD), what);
	if (ref->target_case == POINTCLEAR__V1__EVENT_REF__TARGET_EVENT_ID) {
		if (!pc_id_valid(ref->event_id))
			return refuse(r, CODE(INVALID_FIELD), "referenced event id is malformed");
		r->row.ref_event = ref->event_id;
	} else {
		if (ref->sequence > (uint64_t)INT64_MAX)
			return refuse(r, CODE(INVALID_FIELD), "referenced sequence out of range");
		r->row.ref_seq = (int64_t)ref->sequence;
	}
	return true;
}

static bool reason_ok(struct pc_request *r, const char *reason)
{
	if (!pc_reason_valid(reason))
		return refuse(r, CODE(INVALID_FIELD), "reason too long or has control characters");
	r->row.reason = opt(reason);
	return true;
}

/* The body's own fields, per kind. */
static bool body_ok(struct pc_request *r, const Pointclear__V1__Event *ev,
                    const struct pc_keys *keys, const struct pc_alliance_info *al)
{
	struct pc_event_row *row = &r->row;
	switch (ev->body_case) {
	case POINTCLEAR__V1__EVENT__BODY_EARN:
		row->kind = PC_EVENT_EARN;
		row->member = ev->earn->member_id;
		row->amount = ev->earn->points;
		return need_id(r, row->member, "member_id is required", "member_id is malformed") &&
		       amount_ok(r, row->amount) && reason_ok(r, ev->earn->reason);
	case POINTCLEAR__V1__EVENT__BODY_REDEEM:
		row->kind = PC_EVENT_REDEEM;
		row->member = ev->redeem->member_id;
		row->amount = ev->redeem->points;
		return need_id(r, row->member, "member_id is required", "member_id is malformed") &&
		       amount_ok(r, row->amount) && reason_ok(r, ev->redeem->reason);
	case POINTCLEAR__V1__EVENT__BODY_HOLD:
		row->kind = PC_EVENT_HOLD;
		row->member = ev->hold->member_id;
		row->amount = ev->hold->points;
		if (ev->hold->duration_s > INT32_MAX)
			return refuse(r, CODE(INVALID_FIELD), "hold duration out of range");
		row->duration_s = (int32_t)ev->hold->duration_s;
		return need_id(r, row->member, "member_id is required", "member_id is malformed") &&
		       amount_ok(r, row->amount);
	case POINTCLEAR__V1__EVENT__BODY_CAPTURE:
		row->kind = PC_EVENT_CAPTURE;
		row->amount = ev->capture->points;
		return ref_ok(r, ev->capture->hold, "capture needs the hold it captures") &&
		       amount_ok(r, row->amount);
	case POINTCLEAR__V1__EVENT__BODY_VOID:
		row->kind = PC_EVENT_VOID;
		return ref_ok(r, ev->void_->hold, "void needs the hold it releases");
	case POINTCLEAR__V1__EVENT__BODY_REVERSAL:
		row->kind = PC_EVENT_REVERSAL;
		row->amount = ev->reversal->amount;
		return ref_ok(r, ev->reversal->original, "reversal needs the event it reverses") &&
		       amount_ok(r, row->amount) && reason_ok(r, ev->reversal->reason);
	case POINTCLEAR__V1__EVENT__BODY_REFERRAL: {
		const Pointclear__V1__Referral *ref = ev->referral;
		row->kind = PC_EVENT_REFERRAL;
		row->member = ref->member_id;
		row->beneficiary = opt(ref->beneficiary_merchant_id);
		row->channel = opt(ref->channel);
		row->campaign = opt(ref->campaign_id);
		row->code = opt(ref->referral_code);
		row->touch_time_us = ref->touch_time_us;
		if (!need_id(r, row->member, "member_id is required", "member_id is malformed") ||
		    !optional_id(r, row->beneficiary, "beneficiary_merchant_id is malformed") ||
		    !optional_id(r, row->channel, "channel is malformed") ||
		    !optional_id(r, row->campaign, "campaign_id is malformed") ||
		    !optional_id(r, row->code, "referral_code is malformed"))
			return false;
		if (row->beneficiary && !pc_keys_merchant(keys, al->id, row->beneficiary))
			return refuse(r, CODE(UNKNOWN_MERCHANT), "beneficiary merchant is not in this alliance");
		if (row->touch_time_us < 0)
			return refuse(r, CODE(INVALID_FIELD), "touch_time_us is negative");
		if (row->touch_time_us > r->received_us + al->window_future_us)
			return refuse(r, CODE(EVENT_TIME_IN_FUTURE), "touch time is ahead of the clearing house clock");
		return true;
	}
	case POINTCLEAR__V1__EVENT__BODY_PURCHASE: {
		const Pointclear__V1__Purchase *p = ev->purchase;
		row->kind = PC_EVENT_PURCHASE;
		row->member = p->member_id;
		row->amount = p->amount_minor;
		row->code = opt(p->referral_code);
		row->currency = p->currency;
		if (!need_id(r, row->member, "member_id is required", "member_id is malformed") ||
		    !amount_ok(r, row->amount) ||
		    !optional_id(r, row->code, "referral_code is malformed"))
			return false;
		if (!pc_currency_valid(p->currency) || strcmp(p->currency, al->currency) != 0)
			return refuse(r, CODE(INVALID_FIELD), "currency is not the alliance's currency");
		return true;
	}
	default:
		return refuse(r, CODE(BAD_PAYLOAD), "event has no body");
	}
}

/* The member's authorization of a REDEEM or HOLD (row filled by body_ok). A key
 * that is unknown, revoked or another member's is one answer, INVALID, whether
 * or not the member exists; the names are compared only once the signature
 * holds, so MISMATCH is never said of bytes the member did not sign. */
static bool authorization_ok(struct pc_request *r, const Pointclear__V1__SignedAuthorization *sa,
                             const struct pc_keys *keys, int64_t now_us)
{
	struct pc_event_row *row = &r->row;
	if (sa->signature.len != PC_SIG_SIZE || sa->body.len == 0)
		return refuse(r, CODE(MEMBER_AUTH_INVALID), "member authorization is malformed");
	const struct pc_device_info *dev = pc_keys_device(keys, row->alliance, sa->key_id);
	if (!dev || strcmp(dev->member, row->member) != 0 || dev->revoked_at_us <= now_us)
		return refuse(r, CODE(MEMBER_AUTH_INVALID), "no such device key for this member");
	if (!pc_verify(sa->signature.data, PC_MEMBER_AUTH_PAYLOAD_TYPE, sa->body.data, sa->body.len,
	               dev->pk))
		return refuse(r, CODE(MEMBER_AUTH_INVALID), "member authorization signature does not verify");
	pc_code code;
	Pointclear__V1__MemberAuthorization *ma =
		pc_member_authorization_unpack(sa->body.data, sa->body.len, &code);
	if (!ma)
		return refuse(r, code, "member authorization body is malformed");
	bool ok = false;
	if (ma->nonce.len != sizeof row->auth_nonce)
		refuse(r, CODE(MEMBER_AUTH_INVALID), "member authorization nonce must be 16 bytes");
	else if (strcmp(ma->alliance_id, row->alliance) != 0 || strcmp(ma->member_id, row->member) != 0 ||
	         strcmp(ma->merchant_id, row->merchant) != 0)
		refuse(r, CODE(MEMBER_AUTH_MISMATCH), "member authorization names another alliance, member or merchant");
	else if (now_us > ma->expires_at_us)
		refuse(r, CODE(MEMBER_AUTH_EXPIRED), "member authorization has expired");
	else if (ma->expires_at_us - now_us > PC_AUTH_MAX_LIFETIME_US)
		refuse(r, CODE(MEMBER_AUTH_EXPIRED), "member authorization expires more than an hour ahead");
	else if (row->amount > ma->max_points)
		refuse(r, CODE(MEMBER_AUTH_EXCEEDED), "points exceed the member authorization's maximum");
	else
		ok = true;
	if (ok) {
		row->has_auth = true;
		memcpy(row->auth_key, dev->key_id, sizeof row->auth_key);
		memcpy(row->auth_nonce, ma->nonce.data, sizeof row->auth_nonce);
		row->auth_expires_us = ma->expires_at_us;
	}
	pc_member_authorization_free(ma);
	return ok;
}

/* The alliance's consent policy. Required and absent is answered before the
 * database looks for the member: a merchant without the member's consent cannot
 * tell a known member from an unknown one. */
static bool consent_ok(struct pc_request *r, const Pointclear__V1__Event *ev,
                       const struct pc_alliance_info *al, const struct pc_keys *keys,
                       int64_t now_us)
{
	bool spends = r->row.kind == PC_EVENT_REDEEM || r->row.kind == PC_EVENT_HOLD;
	if (ev->authorization && !spends)
		return refuse(r, CODE(INVALID_FIELD), "only REDEEM and HOLD carry a member authorization");
	if (ev->authorization)
		return authorization_ok(r, ev->authorization, keys, now_us);
	if (spends && al->consent && r->row.amount > al->consent_threshold)
		return refuse(r, CODE(MEMBER_AUTH_REQUIRED), "the alliance requires the member's authorization");
	return true;
}

bool pc_validate(struct pc_request *r, const struct pc_keys *keys, int64_t now_us)
{
	pc_code code;
	Pointclear__V1__SignedEvent *env = pc_signed_event_unpack(r->envelope, r->envelope_len, &code);
	if (!env)
		return refuse(r, code, code == CODE(NON_CANONICAL)
		                       ? "the envelope is not in canonical encoding"
		                       : "the envelope is not a SignedEvent");

	bool ok = false;
	const struct pc_key_info *key;
	if (env->signature.len != PC_SIG_SIZE) {
		refuse(r, CODE(BAD_SIGNATURE), "signature must be 64 bytes");
		goto out;
	}
	key = pc_keys_key(keys, r->alliance, env->key_id);
	if (!key) {
		refuse(r, CODE(UNKNOWN_KEY), "no such signing key in this alliance");
		goto out;
	}
	if (strcmp(key->merchant, r->merchant) != 0) {
		refuse(r, CODE(WRONG_MERCHANT), "the signing key belongs to another merchant");
		goto out;
	}
	/* A key not usable now is not refused here: bytes it signed that are
	 * recorded already must still be answered REPLAYED (PROTOCOL.md), and only
	 * the database knows. The signature must verify all the same. */
	r->key_state = key->valid_from_us > now_us ? CODE(KEY_NOT_YET_VALID)
	             : key->revoked_at_us <= now_us ? CODE(KEY_REVOKED) : CODE(OK);
	if (!pc_verify(env->signature.data, PC_EVENT_PAYLOAD_TYPE, env->payload.data,
	               env->payload.len, key->pk)) {
		refuse(r, CODE(BAD_SIGNATURE), "signature does not verify");
		goto out;
	}
	memcpy(r->key_id, key->key_id, sizeof r->key_id);
	crypto_hash_sha256(r->row.payload_hash, env->payload.data, env->payload.len);

	r->event = pc_event_unpack(env->payload.data, env->payload.len, &code);
	if (!r->event) {
		refuse(r, code, code == CODE(NON_CANONICAL) ? "payload is not in canonical encoding"
		                                            : "payload is not an Event");
		goto out;
	}
	ok = true;
out:
	pc_signed_event_free(env);
	if (!ok)
		return false;

	const Pointclear__V1__Event *ev = r->event;
	struct pc_event_row *row = &r->row;
	const struct pc_alliance_info *al = pc_keys_alliance(keys, ev->alliance_id);
	if (!al)
		return refuse(r, CODE(UNKNOWN_ALLIANCE), "no such alliance");
	if (strcmp(ev->alliance_id, r->alliance) != 0 || strcmp(ev->merchant_id, r->merchant) != 0)
		return refuse(r, CODE(WRONG_MERCHANT), "event names another merchant than the authenticated one");
	const struct pc_merchant_info *m = pc_keys_merchant(keys, r->alliance, r->merchant);
	if (!m)
		return refuse(r, CODE(UNKNOWN_MERCHANT), "no such merchant");
	if (m->status == PC_MERCHANT_GONE)
		return refuse(r, CODE(MERCHANT_INACTIVE), "the merchant has left the alliance");
	if (m->status == PC_MERCHANT_SUSPENDED)
		return refuse(r, CODE(MERCHANT_INACTIVE), "the merchant is suspended");
	if (!need_id(r, ev->event_id, "event_id is required", "event_id is malformed") ||
	    !need_id(r, ev->store_id, "store_id is required", "store_id is malformed") ||
	    !need_id(r, ev->terminal_id, "terminal_id is required", "terminal_id is malformed"))
		return false;
	if (ev->event_time_us > now_us && ev->event_time_us - now_us > al->window_future_us)
		return refuse(r, CODE(EVENT_TIME_IN_FUTURE), "event time is too far ahead of the clearing house clock");
	if (ev->event_time_us < now_us - al->window_past_us)
		return refuse(r, CODE(EVENT_TIME_TOO_OLD), "event time is older than the alliance's window");

	row->alliance = ev->alliance_id;
	row->merchant = ev->merchant_id;
	row->event_id = ev->event_id;
	row->key_id = r->key_id;
	row->event_time_us = ev->event_time_us;
	row->store = ev->store_id;
	row->terminal = ev->terminal_id;
	row->ref_seq = -1;
	return body_ok(r, ev, keys, al) && consent_ok(r, ev, al, keys, now_us);
}
