/* test_core_validate.c - the core's checks before the database (validate.c), as a
 * table: one signed event per case, changed in one way from a valid one, and the
 * code it must be refused with (OK: accepted, with its row filled). A key revoked
 * or not yet valid is judged with the signature verified and the event passed on
 * with that code as its key state: the database refuses it with the code unless
 * the bytes are recorded already (then REPLAYED). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <pointclear/codec.h>
#include <pointclear/sign.h>

#include "request.h"
#include "validate.h"

#include "test_core_fixture.h"

#define CODE(x) POINTCLEAR__V1__CODE__##x

/* One case: what is done to the valid earn before and after signing. */
struct vcase {
	const char *name;
	void (*event)(struct sample *s);                 /* on the event; NULL: none */
	void (*envelope)(Pointclear__V1__SignedEvent *e); /* after signing; NULL: none */
	const char *alliance, *merchant;                 /* the client; NULL: al / m-42 */
	pc_code want;
	bool by_m44;                                     /* signed by m-44, who has left */
	bool key_state;                                  /* want is the key state, for the database */
};

static void ev_no_event_id(struct sample *s) { s->event.event_id = ""; }
static void ev_bad_event_id(struct sample *s) { s->event.event_id = "bad id with spaces"; }
static void ev_no_store(struct sample *s) { s->event.store_id = ""; }
static void ev_no_terminal(struct sample *s) { s->event.terminal_id = ""; }
static void ev_future(struct sample *s) { s->event.event_time_us = NOW_US + INT64_C(3600) * 1000000; }
static void ev_old(struct sample *s) { s->event.event_time_us = NOW_US - INT64_C(8) * 86400 * 1000000; }
static void ev_zero(struct sample *s) { s->msg.body.earn.points = 0; }
static void ev_negative(struct sample *s) { s->msg.body.earn.points = -5; }
static void ev_huge(struct sample *s) { s->msg.body.earn.points = INT64_C(1000000000001); }
static void ev_other_merchant(struct sample *s) { s->event.merchant_id = "m-43"; }
static void ev_unknown_alliance(struct sample *s) { s->event.alliance_id = "zz"; }
static void ev_no_body(struct sample *s)
{
	s->event.body_case = POINTCLEAR__V1__EVENT__BODY__NOT_SET;
	s->event.earn = NULL;
}
static void ev_no_member(struct sample *s) { s->msg.body.earn.member_id = ""; }
static void ev_bad_reason(struct sample *s) { s->msg.body.earn.reason = "tab\there"; }

static void env_short_sig(Pointclear__V1__SignedEvent *e) { e->signature.len = 63; }
static void env_flip_sig(Pointclear__V1__SignedEvent *e) { e->signature.data[0] ^= 1; }
static void env_unknown_key(Pointclear__V1__SignedEvent *e) { e->key_id = "0123456789abcdef"; }
static void env_other_key(Pointclear__V1__SignedEvent *e) { e->key_id = other_key_id; }
static void env_revoked_key(Pointclear__V1__SignedEvent *e) { e->key_id = "aaaaaaaaaaaaaaaa"; }
static void env_future_key(Pointclear__V1__SignedEvent *e) { e->key_id = "bbbbbbbbbbbbbbbb"; }

static void env_revoked_flipped(Pointclear__V1__SignedEvent *e)
{
	env_revoked_key(e);
	env_flip_sig(e);
}
static void env_future_flipped(Pointclear__V1__SignedEvent *e)
{
	env_future_key(e);
	env_flip_sig(e);
}

static void env_m44_key(Pointclear__V1__SignedEvent *e) { e->key_id = "cccccccccccccccc"; }

static const struct vcase cases[] = {
	{ "valid", NULL, NULL, NULL, NULL, CODE(OK), false, false },
	{ "signature of 63 bytes", NULL, env_short_sig, NULL, NULL, CODE(BAD_SIGNATURE), false, false },
	{ "signature does not verify", NULL, env_flip_sig, NULL, NULL, CODE(BAD_SIGNATURE), false, false },
	{ "unknown key", NULL, env_unknown_key, NULL, NULL, CODE(UNKNOWN_KEY), false, false },
	{ "another merchant's key", NULL, env_other_key, NULL, NULL, CODE(WRONG_MERCHANT), false, false },
	{ "revoked key", NULL, env_revoked_key, NULL, NULL, CODE(KEY_REVOKED), false, true },
	{ "key not yet valid", NULL, env_future_key, NULL, NULL, CODE(KEY_NOT_YET_VALID), false, true },
	{ "revoked key, signature does not verify", NULL, env_revoked_flipped, NULL, NULL,
	  CODE(BAD_SIGNATURE), false, false },
	{ "key not yet valid, signature does not verify", NULL, env_future_flipped, NULL, NULL,
	  CODE(BAD_SIGNATURE), false, false },
	{ "client of another merchant", NULL, NULL, "al", "m-43", CODE(WRONG_MERCHANT), false, false },
	{ "event of another merchant", ev_other_merchant, NULL, NULL, NULL, CODE(WRONG_MERCHANT), false, false },
	{ "unknown alliance", ev_unknown_alliance, NULL, NULL, NULL, CODE(UNKNOWN_ALLIANCE), false, false },
	{ "merchant has left", NULL, NULL, "al", "m-44", CODE(MERCHANT_INACTIVE), true, false },
	{ "no event id", ev_no_event_id, NULL, NULL, NULL, CODE(MISSING_FIELD), false, false },
	{ "malformed event id", ev_bad_event_id, NULL, NULL, NULL, CODE(INVALID_FIELD), false, false },
	{ "no store", ev_no_store, NULL, NULL, NULL, CODE(MISSING_FIELD), false, false },
	{ "no terminal", ev_no_terminal, NULL, NULL, NULL, CODE(MISSING_FIELD), false, false },
	{ "an hour ahead", ev_future, NULL, NULL, NULL, CODE(EVENT_TIME_IN_FUTURE), false, false },
	{ "eight days old", ev_old, NULL, NULL, NULL, CODE(EVENT_TIME_TOO_OLD), false, false },
	{ "zero points", ev_zero, NULL, NULL, NULL, CODE(INVALID_AMOUNT), false, false },
	{ "negative points", ev_negative, NULL, NULL, NULL, CODE(INVALID_AMOUNT), false, false },
	{ "points above 10^12", ev_huge, NULL, NULL, NULL, CODE(AMOUNT_TOO_LARGE), false, false },
	{ "no body", ev_no_body, NULL, NULL, NULL, CODE(BAD_PAYLOAD), false, false },
	{ "no member", ev_no_member, NULL, NULL, NULL, CODE(MISSING_FIELD), false, false },
	{ "reason with a tab", ev_bad_reason, NULL, NULL, NULL, CODE(INVALID_FIELD), false, false },
};

static struct pc_request *request_for(uint8_t *envelope, size_t len, const char *alliance,
                                      const char *merchant)
{
	struct pc_request *r = pc_request_new(envelope, len, 1);
	snprintf(r->alliance, sizeof r->alliance, "%s", alliance ? alliance : "al");
	snprintf(r->merchant, sizeof r->merchant, "%s", merchant ? merchant : "m-42");
	return r;
}

static void test_table(void **state)
{
	(void)state;
	struct pc_keys *keys = make_keys();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct vcase *c = &cases[i];
		struct sample s;
		sample_init(&s, SAMPLE_EARN);
		if (c->event)
			c->event(&s);
		if (c->by_m44)
			s.event.merchant_id = "m-44";
		size_t len;
		uint8_t *env = sign_sample(&s, c->by_m44 ? env_m44_key : c->envelope, &len);
		struct pc_request *r = request_for(env, len, c->alliance, c->merchant);
		bool ok = pc_validate(r, keys, NOW_US);
		pc_code got = ok ? r->key_state : r->code;
		if (ok != (c->want == CODE(OK) || c->key_state) || got != c->want)
			fail_msg("case \"%s\": want %s%s, got %s%s (%s)", c->name, pc_code_name(c->want),
			         c->key_state ? " (key state)" : "", pc_code_name(got),
			         ok && got ? " (key state)" : "", ok ? "" : r->message);
		if (!ok)
			assert_non_null(r->message);
		pc_request_free(r);
	}
	pc_keys_release(keys);
}

/* Envelopes that do not parse are refused before any key is looked up. */
static void test_bad_envelope(void **state)
{
	(void)state;
	struct pc_keys *keys = make_keys();
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff };
	uint8_t *env = malloc(sizeof junk);
	memcpy(env, junk, sizeof junk);
	struct pc_request *r = request_for(env, sizeof junk, NULL, NULL);
	assert_false(pc_validate(r, keys, NOW_US));
	assert_int_equal(r->code, CODE(BAD_ENVELOPE));
	pc_request_free(r);
	pc_keys_release(keys);
}

/* Every sample kind passes, and the row names what the database needs. */
static void test_every_kind_valid(void **state)
{
	(void)state;
	struct pc_keys *keys = make_keys();
	for (int k = 0; k < SAMPLE_COUNT; k++) {
		struct sample s;
		sample_init(&s, (enum sample_kind)k);
		if (k == SAMPLE_REFERRAL)   /* a merchant of this alliance */
			s.msg.body.referral.beneficiary_merchant_id = "m-43";
		size_t len;
		uint8_t *env = sign_sample(&s, NULL, &len);
		struct pc_request *r = request_for(env, len, NULL, NULL);
		if (!pc_validate(r, keys, NOW_US))
			fail_msg("%s: refused %s (%s)", s.name, pc_code_name(r->code), r->message);
		assert_string_equal(r->row.alliance, "al");
		assert_string_equal(r->row.merchant, "m-42");
		assert_string_equal(r->row.event_id, s.event.event_id);
		assert_string_equal(r->row.key_id, key_id);
		assert_int_equal(r->row.event_time_us, SAMPLE_TIME_US);
		pc_request_free(r);
	}
	pc_keys_release(keys);
}

int main(void)
{
	if (fixture_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_bad_envelope),
		cmocka_unit_test(test_every_kind_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
