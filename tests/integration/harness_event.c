/* harness_event.c - events, envelopes and answers for the integration harness.
 *
 * Events described for the event builder and handed to the test as protobuf
 * Events it owns and may spoil (freed with protobuf-c's own free_unpacked),
 * signing into SUBMIT bodies, sending them and decoding what comes back, and the
 * checks on receipts and leaf hashes. See harness.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "pointclear/codec.h"
#include "pointclear/event_build.h"
#include "pointclear/frame.h"
#include "pointclear/leaf.h"
#include "pointclear/receipt_check.h"
#include "pointclear/sign.h"

#include "harness.h"

/* ---------------------------------------------------------------- events */

/* The header every harness event has; the caller adds the body. */
static struct pc_event_desc event_desc(enum pc_event_kind kind, const char *merchant,
                                       const char *event_id)
{
	return (struct pc_event_desc){
		.kind = kind,
		.alliance_id = HARNESS_ALLIANCE,
		.merchant_id = merchant,
		.event_id = event_id,
		.event_time_us = harness_now_us(),
		.store_id = "store-1",
		.terminal_id = "pos-1",
	};
}

/* The builder's canonical bytes, decoded into an Event the test owns and may
 * change (protobuf-c's own allocator, so free_unpacked frees it). */
static pc_event *event_build(const struct pc_event_desc *d)
{
	size_t len = 0;
	int rc = pc_event_encode(d, NULL, 0, &len);
	uint8_t *buf = malloc(len + 1);
	pc_event *ev;

	if ((rc != PC_EB_OK && rc != PC_EB_TOO_SMALL) || !buf ||
	    pc_event_encode(d, buf, len, &len) != PC_EB_OK ||
	    !(ev = pointclear__v1__event__unpack(NULL, len, buf)))
		abort();
	free(buf);
	return ev;
}

pc_event *harness_earn(const char *merchant, const char *event_id, const char *member,
                       int64_t points)
{
	struct pc_event_desc d = event_desc(PC_EVENT_EARN, merchant, event_id);

	d.member_id = member;
	d.amount = points;
	d.reason = "test";
	return event_build(&d);
}

pc_event *harness_redeem(const char *merchant, const char *event_id, const char *member,
                         int64_t points)
{
	struct pc_event_desc d = event_desc(PC_EVENT_REDEEM, merchant, event_id);

	d.member_id = member;
	d.amount = points;
	return event_build(&d);
}

pc_event *harness_hold(const char *merchant, const char *event_id, const char *member,
                       int64_t points, uint32_t duration_s)
{
	struct pc_event_desc d = event_desc(PC_EVENT_HOLD, merchant, event_id);

	d.member_id = member;
	d.amount = points;
	d.duration_s = duration_s;
	return event_build(&d);
}

static struct pc_event_ref by_id(const char *event_id)
{
	return (struct pc_event_ref){.by = PC_REF_EVENT_ID, .event_id = event_id};
}

static struct pc_event_ref by_seq(uint64_t sequence)
{
	return (struct pc_event_ref){.by = PC_REF_SEQUENCE, .sequence = sequence};
}

static pc_event *capture_of(const char *merchant, const char *event_id,
                            struct pc_event_ref hold, int64_t points)
{
	struct pc_event_desc d = event_desc(PC_EVENT_CAPTURE, merchant, event_id);

	d.ref = hold;
	d.amount = points;
	return event_build(&d);
}

pc_event *harness_capture(const char *merchant, const char *event_id,
                          const char *hold_event_id, int64_t points)
{
	return capture_of(merchant, event_id, by_id(hold_event_id), points);
}

pc_event *harness_capture_seq(const char *merchant, const char *event_id, uint64_t hold_seq,
                              int64_t points)
{
	return capture_of(merchant, event_id, by_seq(hold_seq), points);
}

pc_event *harness_void(const char *merchant, const char *event_id, const char *hold_event_id)
{
	struct pc_event_desc d = event_desc(PC_EVENT_VOID, merchant, event_id);

	d.ref = by_id(hold_event_id);
	return event_build(&d);
}

static pc_event *reversal_of(const char *merchant, const char *event_id,
                             struct pc_event_ref original, int64_t amount)
{
	struct pc_event_desc d = event_desc(PC_EVENT_REVERSAL, merchant, event_id);

	d.ref = original;
	d.amount = amount;
	d.reason = "refund";
	return event_build(&d);
}

pc_event *harness_reversal(const char *merchant, const char *event_id,
                           const char *original_event_id, int64_t amount)
{
	return reversal_of(merchant, event_id, by_id(original_event_id), amount);
}

pc_event *harness_reversal_seq(const char *merchant, const char *event_id,
                               uint64_t original_seq, int64_t amount)
{
	return reversal_of(merchant, event_id, by_seq(original_seq), amount);
}

pc_event *harness_referral(const char *merchant, const char *event_id, const char *member,
                           const char *beneficiary, const char *campaign)
{
	struct pc_event_desc d = event_desc(PC_EVENT_REFERRAL, merchant, event_id);

	d.member_id = member;
	d.beneficiary_id = beneficiary;
	d.channel = "coupon";
	d.campaign_id = campaign;
	return event_build(&d);
}

pc_event *harness_purchase(const char *merchant, const char *event_id, const char *member,
                           int64_t amount_minor, const char *currency)
{
	struct pc_event_desc d = event_desc(PC_EVENT_PURCHASE, merchant, event_id);

	d.member_id = member;
	d.amount = amount_minor;
	d.currency = currency;
	return event_build(&d);
}

void harness_event_free(pc_event *ev)
{
	if (ev)
		protobuf_c_message_free_unpacked(&ev->base, NULL);
}

void harness_set_str(char **field, const char *value)
{
	char *copy = (char *)protobuf_c_empty_string;

	if (value && *value && !(copy = strdup(value)))
		abort();
	if (*field && *field != protobuf_c_empty_string)
		free(*field);
	*field = copy;
}

uint8_t *harness_event_pack(const pc_event *ev, size_t *len)
{
	return pc_pack(&ev->base, len);
}

uint8_t *harness_envelope(const uint8_t *payload, size_t payload_len, const uint8_t sk[64],
                          const char *key_id, size_t *len)
{
	size_t cap = pc_envelope_size(payload_len, key_id);
	uint8_t *env = malloc(cap);

	if (env && pc_envelope_seal(env, cap, len, payload, payload_len, sk, key_id) != PC_EB_OK) {
		free(env);
		env = NULL;
	}
	return env;
}

uint8_t *harness_sign(struct harness *h, const char *merchant, const pc_event *ev,
                      size_t *len)
{
	struct harness_merchant *m = harness_merchant(h, merchant);
	size_t plen;
	uint8_t *payload = harness_event_pack(ev, &plen);
	if (!payload)
		harness_fail(h, "packing an event failed");
	uint8_t *env = harness_envelope(payload, plen, m->sk, m->key_id, len);
	free(payload);
	if (!env)
		harness_fail(h, "signing an event failed");
	return env;
}

/* ---------------------------------------------------------------- answers */

uint8_t *harness_signed_earn(struct harness *h, const char *merchant, const char *event_id,
                             const char *member, int64_t points, size_t *len)
{
	pc_event *ev = harness_earn(merchant, event_id, member, points);
	uint8_t *env = harness_sign(h, merchant, ev, len);
	harness_event_free(ev);
	return env;
}

int harness_result_decode(struct harness_result *r, uint8_t type, uint64_t request_id,
                          uint8_t *body, size_t body_len)
{
	r->type = type;
	r->request_id = request_id;
	r->raw = body;
	r->raw_len = body_len;
	if (type == PC_MSG_SUBMIT_RESULT || type == PC_MSG_LOOKUP_RESULT) {
		r->res = pc_submit_result_unpack(body ? body : (const uint8_t *)"", body_len);
		if (!r->res)
			return -1;
		r->disposition = (int)r->res->disposition;
		r->code = (int)r->res->code;
		if (r->res->receipt && r->res->receipt->body.len > 0) {
			r->body = pc_receipt_body_unpack(r->res->receipt->body.data,
			                                 r->res->receipt->body.len);
			if (!r->body)
				return -1;
			r->seq = r->body->sequence;
			if (r->body->decision)
				r->status = (int)r->body->decision->status;
		}
		return 0;
	}
	if (type == PC_MSG_PROTOCOL_ERROR) {
		r->perr = pc_protocol_error_unpack(body ? body : (const uint8_t *)"", body_len);
		if (!r->perr)
			return -1;
		r->code = (int)r->perr->code;
		return 0;
	}
	return 0;
}

void harness_result_free(struct harness_result *r)
{
	if (r->res)
		pc_submit_result_free(r->res);
	if (r->perr)
		pc_protocol_error_free(r->perr);
	if (r->body)
		pc_receipt_body_free(r->body);
	free(r->raw);
	free(r->envelope);
	memset(r, 0, sizeof *r);
}

int harness_submit_on(struct pc_client *c, uint64_t request_id, const uint8_t *env,
                      size_t env_len, struct harness_result *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof *r);
	r->envelope = malloc(env_len ? env_len : 1);
	if (!r->envelope)
		abort();
	memcpy(r->envelope, env, env_len);
	r->envelope_len = env_len;
	if (pc_client_send_frame(c, PC_MSG_SUBMIT, request_id, env, env_len) != 0) {
		snprintf(err, errlen, "send failed");
		return -1;
	}
	int rc = harness_read_answer(c, r);
	if (rc > 0) {
		snprintf(err, errlen, "connection closed by the daemon");
		return -1;
	}
	if (rc < 0 && r->type == 0) {
		snprintf(err, errlen, "read failed");
		return -1;
	}
	if (rc < 0) {
		snprintf(err, errlen, "answer of type 0x%02x does not decode", r->type);
		return -1;
	}
	if (r->request_id != request_id && !(r->type == PC_MSG_PROTOCOL_ERROR && r->request_id == 0)) {
		snprintf(err, errlen, "answer to request %" PRIu64 ", expected %" PRIu64,
		         r->request_id, request_id);
		return -1;
	}
	return 0;
}

int harness_read_answer(struct pc_client *c, struct harness_result *r)
{
	uint8_t type;
	uint64_t rid;
	uint8_t *body = NULL;
	size_t blen = 0;
	int rc = pc_client_read_frame(c, &type, &rid, &body, &blen);

	if (rc != 0)
		return rc > 0 ? 1 : -1;
	return harness_result_decode(r, type, rid, body, blen);
}

static struct pc_client *merchant_conn(struct harness *h, const char *merchant)
{
	struct harness_merchant *m = harness_merchant(h, merchant);
	if (!m->conn)
		m->conn = harness_connect(h, merchant);
	return m->conn;
}

void harness_submit_envelope(struct harness *h, const char *merchant, const uint8_t *env,
                             size_t env_len, struct harness_result *r)
{
	struct pc_client *c = merchant_conn(h, merchant);
	char err[256];
	if (harness_submit_on(c, harness_request_id(h), env, env_len, r, err, sizeof err) != 0) {
		harness_drop_connections(h, merchant);
		harness_fail(h, "submit as %s: %s", merchant, err);
	}
	if (r->type == PC_MSG_PROTOCOL_ERROR)   /* the daemon closes after most of these */
		harness_drop_connections(h, merchant);
}

void harness_submit(struct harness *h, const char *merchant, const pc_event *ev,
                    struct harness_result *r)
{
	size_t len;
	uint8_t *env = harness_sign(h, merchant, ev, &len);
	harness_submit_envelope(h, merchant, env, len, r);
	free(env);
}

static const char *disposition_name(int d)
{
	switch (d) {
	case POINTCLEAR__V1__DISPOSITION__RECORDED: return "RECORDED";
	case POINTCLEAR__V1__DISPOSITION__REPLAYED: return "REPLAYED";
	case POINTCLEAR__V1__DISPOSITION__REJECTED: return "REJECTED";
	case POINTCLEAR__V1__DISPOSITION__RETRYABLE: return "RETRYABLE";
	default: return "UNSPECIFIED";
	}
}

static const char *status_name(int s)
{
	return s == 1 ? "APPROVED" : s == 2 ? "DECLINED" : "-";
}

void harness_expect_at(struct harness *h, const struct harness_result *r, int disposition,
                       int code, int status, const char *file, int line)
{
	bool ok = r->type == PC_MSG_SUBMIT_RESULT && r->disposition == disposition &&
	          r->code == code && (status == 0 || r->status == status);
	if (ok)
		return;
	harness_dump_log(h);
	if (r->type == PC_MSG_PROTOCOL_ERROR)
		print_error("%s:%d: expected SUBMIT_RESULT %s %s %s, got PROTOCOL_ERROR %s (%s)\n",
		            file, line, disposition_name(disposition),
		            pc_code_name((pc_code)code), status_name(status),
		            pc_code_name((pc_code)r->code),
		            r->perr && r->perr->message ? r->perr->message : "");
	else
		print_error("%s:%d: expected %s %s %s, got %s %s %s (type 0x%02x, message \"%s\")\n",
		            file, line, disposition_name(disposition), pc_code_name((pc_code)code),
		            status_name(status), disposition_name(r->disposition),
		            pc_code_name((pc_code)r->code), status_name(r->status), r->type,
		            r->res && r->res->message ? r->res->message : "");
	_fail(file, line);
}

bool harness_receipt_valid(struct harness *h, const struct harness_result *r)
{
	if (!r->res || !r->res->receipt)
		return false;
	const Pointclear__V1__Receipt *rc = r->res->receipt;
	if (!rc->key_id || strcmp(rc->key_id, h->operator_key_id) != 0)
		return false;
	Pointclear__V1__ReceiptBody *body = NULL;
	const char *why = pc_receipt_check(rc, h->operator_pk, NULL, &body);
	pc_receipt_body_free(body);
	if (why)
		print_error("receipt: %s\n", why);
	return why == NULL;
}

bool harness_leaf_valid(struct harness *h, const struct harness_result *r)
{
	if (!r->body || r->body->leaf_hash.len != PC_HASH_SIZE)
		return false;
	const Pointclear__V1__Decision *d = r->body->decision;
	struct pc_leaf leaf = {
		.alliance_id = r->body->alliance_id,
		.sequence = r->body->sequence,
		.accepted_at_us = r->body->accepted_at_us,
		.envelope = r->envelope,
		.envelope_len = r->envelope_len,
		.ext = NULL,
		.ext_len = 0,
	};
	if (d) {
		leaf.decision.status = (uint8_t)d->status;
		leaf.decision.code = (uint16_t)d->code;
		leaf.decision.balance = d->balance;
		leaf.decision.available = d->available;
		leaf.decision.amount = d->amount;
		leaf.decision.remaining = d->remaining;
		leaf.decision.hold_expires_at_us = d->hold_expires_at_us;
	}
	uint8_t hash[PC_HASH_SIZE];
	if (pc_leaf_hash(hash, &leaf) != 0 || memcmp(hash, r->body->leaf_hash.data, PC_HASH_SIZE) != 0)
		return false;
	/* the daemon hashed what the database returned: the entry it stored must hash
	 * to the same leaf */
	char seq[24], hex[2 * PC_HASH_SIZE + 1];
	snprintf(seq, sizeof seq, "%" PRIu64, r->body->sequence);
	sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
	return harness_sql_int64(h, "SELECT count(*) FROM ledger l WHERE l.alliance_id = $1"
	                            " AND l.seq = $2 AND encode(pc_entry_leaf_hash(l), 'hex') = $3",
	                         r->body->alliance_id, seq, hex, NULL) == 1;
}

int harness_send_all(struct pc_client *c, uint8_t *const *env, const size_t *len, int from,
                     int n)
{
	for (int i = from; i < n; i++)
		if (pc_client_send_frame(c, PC_MSG_SUBMIT, (uint64_t)i + 1, env[i], len[i]) != 0)
			return -1;
	return 0;
}

int harness_burst(struct pc_client *c, uint8_t *const *env, const size_t *len, int n,
                  struct harness_burst *out, char *err, size_t errlen)
{
	if (n <= 0) {
		snprintf(err, errlen, "nothing to send");
		return -1;
	}
	if (harness_send_all(c, env, len, 0, n) != 0) {
		snprintf(err, errlen, "sending the burst failed");
		return -1;
	}
	bool *seen = calloc((size_t)n, sizeof *seen);
	if (!seen) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = -1;
	for (int k = 0; k < n; k++) {
		uint8_t type;
		uint64_t rid;
		uint8_t *body = NULL;
		size_t blen = 0;
		int rd = pc_client_read_frame(c, &type, &rid, &body, &blen);
		if (rd != 0) {
			snprintf(err, errlen, "answer %d: %s", k, rd > 0 ? "EOF" : "none in time");
			goto out;
		}
		struct harness_result r = {0};
		if (harness_result_decode(&r, type, rid, body, blen) != 0 || rid < 1 ||
		    rid > (uint64_t)n || seen[rid - 1]) {
			snprintf(err, errlen, "bad or repeated answer (type 0x%02x, request %" PRIu64 ")",
			         type, rid);
			harness_result_free(&r);
			goto out;
		}
		seen[rid - 1] = true;
		if (r.disposition == POINTCLEAR__V1__DISPOSITION__RECORDED &&
		    r.status == POINTCLEAR__V1__STATUS__APPROVED && r.code == 0)
			out->approved++;
		else if (r.disposition == POINTCLEAR__V1__DISPOSITION__RECORDED &&
		         r.status == POINTCLEAR__V1__STATUS__DECLINED &&
		         r.code == POINTCLEAR__V1__CODE__INSUFFICIENT_POINTS)
			out->declined_insufficient++;
		else
			out->other++;
		harness_result_free(&r);
	}
	rc = 0;
out:
	free(seen);
	return rc;
}

void harness_hold_writer(struct harness *h, struct harness_gate *g, const char *merchant,
                         const char *event_id, const char *member)
{
	g->lock = harness_lock_heads(h);
	g->c = harness_connect(h, merchant);
	g->env = harness_signed_earn(h, merchant, event_id, member, 1, &g->len);
	if (pc_client_send_frame(g->c, PC_MSG_SUBMIT, 1, g->env, g->len) != 0)
		harness_fail(h, "sending the gate event failed");
	if (!harness_wait_until(h, 10000, harness_batch_waits, NULL))
		harness_fail(h, "the writer's batch did not start waiting for the ledger head");
}

void harness_release_writer(struct harness *h, struct harness_gate *g)
{
	harness_unlock_heads(h, g->lock);
	struct harness_result r = {0};
	if (harness_read_answer(g->c, &r) != 0)
		harness_fail(h, "no answer to the gate event");
	harness_expect(h, &r, POINTCLEAR__V1__DISPOSITION__RECORDED, 0,
	               POINTCLEAR__V1__STATUS__APPROVED);
	harness_result_free(&r);
	pc_client_close(g->c);
	free(g->env);
	memset(g, 0, sizeof *g);
}
