/* jsonl_event.c - JSON lines to protobuf Events for `pointclear submit`.
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

#include "jsonl_event.h"

#define US_PER_S INT64_C(1000000)

struct kind {
	const char *name;
	Pointclear__V1__Event__BodyCase body_case;
	const char *const *fields;   /* NULL-terminated, beyond the common ones */
};

static const char *const common_fields[] = {
	"merchant", "event_id", "kind", "store", "terminal", "event_time_us", "time_offset_s",
	NULL,
};
static const char *const earn_fields[] = {"member", "points", "reason", NULL};
static const char *const hold_fields[] = {"member", "points", "duration_s", NULL};
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

static const struct kind kinds[] = {
	{"earn", POINTCLEAR__V1__EVENT__BODY_EARN, earn_fields},
	{"redeem", POINTCLEAR__V1__EVENT__BODY_REDEEM, earn_fields},
	{"hold", POINTCLEAR__V1__EVENT__BODY_HOLD, hold_fields},
	{"capture", POINTCLEAR__V1__EVENT__BODY_CAPTURE, capture_fields},
	{"void", POINTCLEAR__V1__EVENT__BODY_VOID, void_fields},
	{"reversal", POINTCLEAR__V1__EVENT__BODY_REVERSAL, reversal_fields},
	{"referral", POINTCLEAR__V1__EVENT__BODY_REFERRAL, referral_fields},
	{"purchase", POINTCLEAR__V1__EVENT__BODY_PURCHASE, purchase_fields},
};

const char *jsonl_kind_name(const Pointclear__V1__Event *ev)
{
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (kinds[i].body_case == ev->body_case)
			return kinds[i].name;
	return "?";
}

static int in_list(const char *const *list, const char *name)
{
	for (; *list; list++)
		if (strcmp(*list, name) == 0)
			return 1;
	return 0;
}

/* Copies a string field the Event will point to. 0 present, 1 absent, -1 error. */
static int get_string(struct jsonl_event *je, json_object *obj, const char *key,
                      char **out, char *err, size_t errlen)
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

/* Optional member of a string or integer field: absent leaves the default. */
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
                   const char *seq_key, Pointclear__V1__EventRef **out, char *err,
                   size_t errlen)
{
	char *id = NULL;
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
	pointclear__v1__event_ref__init(&je->ref);
	if (rid == 0) {
		je->ref.target_case = POINTCLEAR__V1__EVENT_REF__TARGET_EVENT_ID;
		je->ref.event_id = id;
		*out = &je->ref;
	} else if (rseq == 0) {
		je->ref.target_case = POINTCLEAR__V1__EVENT_REF__TARGET_SEQUENCE;
		je->ref.sequence = (uint64_t)seq;
		*out = &je->ref;
	}
	return 0;
}

static int parse_body(struct jsonl_event *je, json_object *obj, const struct kind *k,
                      char *err, size_t errlen)
{
	Pointclear__V1__Event *ev = &je->ev;

	ev->body_case = k->body_case;
	switch (k->body_case) {
	case POINTCLEAR__V1__EVENT__BODY_EARN: {
		Pointclear__V1__Earn *b = &je->body.earn;

		pointclear__v1__earn__init(b);
		OPT_STR("member", b->member_id);
		OPT_INT("points", b->points);
		OPT_STR("reason", b->reason);
		ev->earn = b;
		return 0;
	}
	case POINTCLEAR__V1__EVENT__BODY_REDEEM: {
		Pointclear__V1__Redeem *b = &je->body.redeem;

		pointclear__v1__redeem__init(b);
		OPT_STR("member", b->member_id);
		OPT_INT("points", b->points);
		OPT_STR("reason", b->reason);
		ev->redeem = b;
		return 0;
	}
	case POINTCLEAR__V1__EVENT__BODY_HOLD: {
		Pointclear__V1__Hold *b = &je->body.hold;
		int64_t d;
		int r;

		pointclear__v1__hold__init(b);
		OPT_STR("member", b->member_id);
		OPT_INT("points", b->points);
		r = get_int(obj, "duration_s", 0, UINT32_MAX, &d, err, errlen);
		if (r < 0)
			return -1;
		if (r == 0)
			b->duration_s = (uint32_t)d;
		ev->hold = b;
		return 0;
	}
	case POINTCLEAR__V1__EVENT__BODY_CAPTURE: {
		Pointclear__V1__Capture *b = &je->body.capture;

		pointclear__v1__capture__init(b);
		if (get_ref(je, obj, "hold", "hold_seq", &b->hold, err, errlen) < 0)
			return -1;
		OPT_INT("points", b->points);
		ev->capture = b;
		return 0;
	}
	case POINTCLEAR__V1__EVENT__BODY_VOID: {
		Pointclear__V1__Void *b = &je->body.void_;

		pointclear__v1__void__init(b);
		if (get_ref(je, obj, "hold", "hold_seq", &b->hold, err, errlen) < 0)
			return -1;
		ev->void_ = b;
		return 0;
	}
	case POINTCLEAR__V1__EVENT__BODY_REVERSAL: {
		Pointclear__V1__Reversal *b = &je->body.reversal;

		pointclear__v1__reversal__init(b);
		if (get_ref(je, obj, "original", "original_seq", &b->original, err, errlen) < 0)
			return -1;
		OPT_INT("amount", b->amount);
		OPT_STR("reason", b->reason);
		ev->reversal = b;
		return 0;
	}
	case POINTCLEAR__V1__EVENT__BODY_REFERRAL: {
		Pointclear__V1__Referral *b = &je->body.referral;

		pointclear__v1__referral__init(b);
		OPT_STR("member", b->member_id);
		OPT_STR("beneficiary", b->beneficiary_merchant_id);
		OPT_STR("channel", b->channel);
		OPT_STR("campaign", b->campaign_id);
		OPT_STR("code", b->referral_code);
		OPT_INT("touch_time_us", b->touch_time_us);
		ev->referral = b;
		return 0;
	}
	case POINTCLEAR__V1__EVENT__BODY_PURCHASE: {
		Pointclear__V1__Purchase *b = &je->body.purchase;

		pointclear__v1__purchase__init(b);
		OPT_STR("member", b->member_id);
		OPT_INT("amount_minor", b->amount_minor);
		OPT_STR("currency", b->currency);
		OPT_STR("code", b->referral_code);
		ev->purchase = b;
		return 0;
	}
	default:
		snprintf(err, errlen, "internal: unhandled kind");
		return -1;
	}
}

static int parse_common(struct jsonl_event *je, json_object *obj, const char *alliance,
                        int64_t now_us, char *err, size_t errlen)
{
	Pointclear__V1__Event *ev = &je->ev;
	int64_t offset = 0, t;
	int rt, ro;
	char *copy;

	if (!(copy = strdup(alliance))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	je->strings[je->nstrings++] = copy;
	ev->alliance_id = copy;

	if (get_string(je, obj, "merchant", &ev->merchant_id, err, errlen) != 0) {
		if (!*err)
			snprintf(err, errlen, "field 'merchant' is required");
		return -1;
	}
	if (get_string(je, obj, "event_id", &ev->event_id, err, errlen) != 0) {
		if (!*err)
			snprintf(err, errlen, "field 'event_id' is required");
		return -1;
	}
	if (get_string(je, obj, "store", &ev->store_id, err, errlen) < 0 ||
	    get_string(je, obj, "terminal", &ev->terminal_id, err, errlen) < 0)
		return -1;
	/* defaults as docs/CLI.md states; the Event's own default is empty */
	if (!*ev->store_id && !json_object_object_get_ex(obj, "store", NULL))
		ev->store_id = "store-1";
	if (!*ev->terminal_id && !json_object_object_get_ex(obj, "terminal", NULL))
		ev->terminal_id = "pos-1";

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
	ev->event_time_us = rt == 0 ? t : now_us + offset * US_PER_S;
	return 0;
}

int jsonl_event_parse(struct jsonl_event *je, const char *line, size_t len,
                      const char *alliance, int64_t now_us, char *err, size_t errlen)
{
	struct json_tokener *tok;
	json_object *obj, *kindv;
	const struct kind *k = NULL;
	size_t end;

	memset(je, 0, sizeof *je);
	pointclear__v1__event__init(&je->ev);
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
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(json_object_get_string(kindv), kinds[i].name) == 0)
			k = &kinds[i];
	if (!k) {
		snprintf(err, errlen, "unknown kind '%s' (earn, redeem, hold, capture, void, "
		         "reversal, referral, purchase)", json_object_get_string(kindv));
		goto fail;
	}
	json_object_object_foreach(obj, key, val) {
		(void)val;
		if (!in_list(common_fields, key) && !in_list(k->fields, key)) {
			snprintf(err, errlen, "unknown field '%s' for kind %s", key, k->name);
			goto fail;
		}
	}
	if (parse_common(je, obj, alliance, now_us, err, errlen) != 0 ||
	    parse_body(je, obj, k, err, errlen) != 0)
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
