/* jsonl_event.c - JSON lines to event descriptions for `pointclear submit`; the
 * event builder (proto/event_build.c) makes the bytes.
 *
 * Strict on purpose: an unknown field, a number given as a string or with a
 * fraction, or two ways of saying the same thing is an error here rather than a
 * silently different event signed and sent. Semantic checks (amount ranges,
 * identifier syntax, required fields of a kind) are the daemon's, so that tests
 * can send what the daemon must refuse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "jsonl_event.h"

#define US_PER_S INT64_C(1000000)

static const char *const common_fields[] = {
	"merchant", "event_id", "kind", "store", "terminal", "event_time_us", "time_offset_s",
	NULL,
};
static const char *const earn_fields[] = {"member", "points", "reason", NULL};
static const char *const redeem_fields[] = {"member", "points", "reason", "authorization", NULL};
static const char *const hold_fields[] = {
	"member", "points", "duration_s", "authorization", NULL,
};
static const char *const capture_fields[] = {"hold", "hold_seq", "points", NULL};
static const char *const void_fields[] = {"hold", "hold_seq", NULL};
static const char *const reversal_fields[] = {
	"original", "original_seq", "amount", "reason", NULL,
};
static const char *const referral_fields[] = {
	"member", "beneficiary", "channel", "campaign", "code", "touch_time_us", NULL,
};
static const char *const purchase_fields[] = {
	"member", "amount_minor", "currency", "code", NULL,
};

/* The fields each kind takes beyond the common ones, NULL-terminated. */
static const char *const *const kind_fields[PC_EVENT_NKINDS] = {
	[PC_EVENT_EARN] = earn_fields,
	[PC_EVENT_REDEEM] = redeem_fields,
	[PC_EVENT_HOLD] = hold_fields,
	[PC_EVENT_CAPTURE] = capture_fields,
	[PC_EVENT_VOID] = void_fields,
	[PC_EVENT_REVERSAL] = reversal_fields,
	[PC_EVENT_REFERRAL] = referral_fields,
	[PC_EVENT_PURCHASE] = purchase_fields,
};

static int in_list(const char *const *list, const char *name)
{
	for (; *list; list++)
		if (strcmp(*list, name) == 0)
			return 1;
	return 0;
}

/* Copies a string field the description will point to. 0 present, 1 absent, -1 error. */
static int get_string(struct jsonl_event *je, json_object *obj, const char *key,
                      const char **out, char *err, size_t errlen)
{
	json_object *v;
	char *copy;

	if (!json_object_object_get_ex(obj, key, &v))
		return 1;
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "field '%s' must be a string", key);
		return -1;
	}
	if (je->nstrings >= JSONL_MAX_STRINGS || !(copy = strdup(json_object_get_string(v)))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* an embedded NUL would make the id we sign differ from the one written */
	if (strlen(copy) != (size_t)json_object_get_string_len(v)) {
		free(copy);
		snprintf(err, errlen, "field '%s' contains a NUL character", key);
		return -1;
	}
	je->strings[je->nstrings++] = copy;
	*out = copy;
	return 0;
}

/* The member's authorization, as `pointclear member authorize` prints it: the
 * SignedAuthorization in hex, carried as given (the daemon judges it). */
static int get_authorization(struct jsonl_event *je, json_object *obj, char *err, size_t errlen)
{
	const char *hex;
	size_t n;
	int r = get_string(je, obj, "authorization", &hex, err, errlen);

	if (r != 0)
		return r < 0 ? -1 : 0;
	n = strlen(hex) / 2;
	uint8_t *bin = malloc(n + 1);
	if (!bin || je->nstrings >= JSONL_MAX_STRINGS) {
		free(bin);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	je->strings[je->nstrings++] = (char *)bin;
	if (n == 0 || strlen(hex) % 2 != 0 ||
	    sodium_hex2bin(bin, n, hex, strlen(hex), NULL, &n, NULL) != 0) {
		snprintf(err, errlen, "field 'authorization' must be non-empty hex");
		return -1;
	}
	je->desc.authorization = bin;
	je->desc.authorization_len = n;
	return 0;
}

/* An integer field within [min, max]. 0 present, 1 absent, -1 error. */
static int get_int(json_object *obj, const char *key, int64_t min, int64_t max,
                   int64_t *out, char *err, size_t errlen)
{
	json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(obj, key, &v))
		return 1;
	if (!json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "field '%s' must be a JSON integer (no quotes, no fraction)",
		         key);
		return -1;
	}
	n = json_object_get_int64(v);
	/* json-c keeps integers above INT64_MAX as uint64 and clamps get_int64 */
	if (n == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX) {
		snprintf(err, errlen, "field '%s' is out of range", key);
		return -1;
	}
	if (n < min || n > max) {
		snprintf(err, errlen, "field '%s' is out of range (%lld..%lld)", key, (long long)min,
		         (long long)max);
		return -1;
	}
	*out = n;
	return 0;
}

/* An optional string or integer field: absent leaves the description's empty. */
#define OPT_STR(key, dst)                                                  \
	do {                                                                   \
		if (get_string(je, obj, key, &(dst), err, errlen) < 0)             \
			return -1;                                                     \
	} while (0)
#define OPT_INT(key, dst)                                                      \
	do {                                                                       \
		int64_t v_;                                                            \
		int r_ = get_int(obj, key, INT64_MIN, INT64_MAX, &v_, err, errlen);    \
		if (r_ < 0)                                                            \
			return -1;                                                         \
		if (r_ == 0)                                                           \
			(dst) = v_;                                                        \
	} while (0)

/* "hold"/"hold_seq" or "original"/"original_seq": at most one of the two. The
 * reference stays unset when neither is given (the daemon says what is missing). */
static int get_ref(struct jsonl_event *je, json_object *obj, const char *id_key,
                   const char *seq_key, char *err, size_t errlen)
{
	struct pc_event_ref *ref = &je->desc.ref;
	const char *id = NULL;
	int64_t seq;
	int rid, rseq;

	rid = get_string(je, obj, id_key, &id, err, errlen);
	if (rid < 0)
		return -1;
	rseq = get_int(obj, seq_key, 0, INT64_MAX, &seq, err, errlen);
	if (rseq < 0)
		return -1;
	if (rid == 0 && rseq == 0) {
		snprintf(err, errlen, "give either '%s' or '%s', not both", id_key, seq_key);
		return -1;
	}
	if (rid == 0) {
		ref->by = PC_REF_EVENT_ID;
		ref->event_id = id;
	} else if (rseq == 0) {
		ref->by = PC_REF_SEQUENCE;
		ref->sequence = (uint64_t)seq;
	}
	return 0;
}

/* The body's fields. Each JSON name belongs to the kinds that list it, and the
 * line was checked against that list, so every name can be read for any kind:
 * "points", "amount" and "amount_minor" are the one amount of theirs. */
static int parse_body(struct jsonl_event *je, json_object *obj, char *err, size_t errlen)
{
	struct pc_event_desc *d = &je->desc;
	int64_t duration;
	int r;

	OPT_STR("member", d->member_id);
	OPT_INT("points", d->amount);
	OPT_INT("amount", d->amount);
	OPT_INT("amount_minor", d->amount);
	OPT_STR("reason", d->reason);
	r = get_int(obj, "duration_s", 0, UINT32_MAX, &duration, err, errlen);
	if (r < 0)
		return -1;
	if (r == 0)
		d->duration_s = (uint32_t)duration;
	if (get_ref(je, obj, "hold", "hold_seq", err, errlen) < 0 ||
	    get_ref(je, obj, "original", "original_seq", err, errlen) < 0)
		return -1;
	OPT_STR("beneficiary", d->beneficiary_id);
	OPT_STR("channel", d->channel);
	OPT_STR("campaign", d->campaign_id);
	OPT_STR("code", d->referral_code);
	OPT_INT("touch_time_us", d->touch_time_us);
	OPT_STR("currency", d->currency);
	return get_authorization(je, obj, err, errlen);
}

static int parse_common(struct jsonl_event *je, json_object *obj, const char *alliance,
                        int64_t now_us, char *err, size_t errlen)
{
	struct pc_event_desc *d = &je->desc;
	int64_t offset = 0, t;
	int rt, ro;
	char *copy;

	if (!(copy = strdup(alliance))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	je->strings[je->nstrings++] = copy;
	d->alliance_id = copy;

	if (get_string(je, obj, "merchant", &d->merchant_id, err, errlen) != 0) {
		if (!*err)
			snprintf(err, errlen, "field 'merchant' is required");
		return -1;
	}
	if (get_string(je, obj, "event_id", &d->event_id, err, errlen) != 0) {
		if (!*err)
			snprintf(err, errlen, "field 'event_id' is required");
		return -1;
	}
	/* defaults as docs/CLI.md states; an empty string given stays empty */
	d->store_id = "store-1";
	d->terminal_id = "pos-1";
	if (get_string(je, obj, "store", &d->store_id, err, errlen) < 0 ||
	    get_string(je, obj, "terminal", &d->terminal_id, err, errlen) < 0)
		return -1;

	rt = get_int(obj, "event_time_us", INT64_MIN, INT64_MAX, &t, err, errlen);
	if (rt < 0)
		return -1;
	/* ±100 years keeps now + offset well inside int64 microseconds */
	ro = get_int(obj, "time_offset_s", -INT64_C(3155760000), INT64_C(3155760000), &offset,
	             err, errlen);
	if (ro < 0)
		return -1;
	if (rt == 0 && ro == 0) {
		snprintf(err, errlen, "give either 'event_time_us' or 'time_offset_s', not both");
		return -1;
	}
	d->event_time_us = rt == 0 ? t : now_us + offset * US_PER_S;
	return 0;
}

int jsonl_event_parse(struct jsonl_event *je, const char *line, size_t len,
                      const char *alliance, int64_t now_us, char *err, size_t errlen)
{
	struct json_tokener *tok;
	json_object *obj, *kindv;
	enum pc_event_kind kind;
	size_t end;

	memset(je, 0, sizeof *je);
	err[0] = '\0';
	if (len > INT32_MAX) {
		snprintf(err, errlen, "line too long");
		return -1;
	}
	tok = json_tokener_new();
	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, line, (int)len);
	if (!obj) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		snprintf(err, errlen, "not valid JSON: %s",
		         e == json_tokener_continue ? "unexpected end of line"
		                                    : json_tokener_error_desc(e));
		json_tokener_free(tok);
		return -1;
	}
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	for (; end < len; end++) {
		if (!strchr(" \t\r\n", line[end])) {
			snprintf(err, errlen, "unexpected text after the JSON object");
			goto fail;
		}
	}
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err, errlen, "a line must be a JSON object");
		goto fail;
	}
	if (!json_object_object_get_ex(obj, "kind", &kindv) ||
	    !json_object_is_type(kindv, json_type_string)) {
		snprintf(err, errlen, "field 'kind' is required (a string)");
		goto fail;
	}
	kind = pc_event_kind_by_name(json_object_get_string(kindv));
	if (kind == PC_EVENT_NO_BODY) {
		snprintf(err, errlen, "unknown kind '%s' (earn, redeem, hold, capture, void, "
		         "reversal, referral, purchase)", json_object_get_string(kindv));
		goto fail;
	}
	json_object_object_foreach(obj, key, val) {
		(void)val;
		if (!in_list(common_fields, key) && !in_list(kind_fields[kind], key)) {
			snprintf(err, errlen, "unknown field '%s' for kind %s", key,
			         pc_event_kind_name(kind));
			goto fail;
		}
	}
	je->desc.kind = kind;
	if (parse_common(je, obj, alliance, now_us, err, errlen) != 0 ||
	    parse_body(je, obj, err, errlen) != 0)
		goto fail;
	json_object_put(obj);
	return 0;
fail:
	json_object_put(obj);
	jsonl_event_free(je);
	return -1;
}

void jsonl_event_free(struct jsonl_event *je)
{
	for (int i = 0; i < je->nstrings; i++)
		free(je->strings[i]);
	je->nstrings = 0;
}
