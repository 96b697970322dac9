/* event_build.h - an event from a plain C description: its canonical Event bytes
 * and the signed SUBMIT body (SignedEvent) that carries them.
 *
 * Every client of the protocol in this tree (the CLI's JSON lines, the bench, the
 * unit samples, the integration harness) describes an event here and lets this
 * module lay out the protobuf, so there is one way to build the bytes the daemon
 * requires (PROTOCOL.md, "Signing"). The encoding is protobuf-c's, the same the
 * daemon re-encodes with to check canonical form, so a built event is canonical
 * by construction.
 *
 * Nothing here checks meaning (identifier syntax, amount ranges, required fields,
 * UTF-8): those are the daemon's, and tests build what it must refuse. What is
 * refused is a description that says two things at once: a field set that its
 * kind does not carry. The encoders write into the caller's buffer and allocate
 * nothing, so a load generator can build millions of events without the heap.
 * Signing needs sodium_init() first, as sign.h says. */
#ifndef POINTCLEAR_EVENT_BUILD_H
#define POINTCLEAR_EVENT_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "pointclear.pb-c.h"
#include "pointclear/sign.h"

/* The body of an event, numbered as the ledger numbers kinds. */
enum pc_event_kind {
	PC_EVENT_NO_BODY = 0,   /* no body at all: refused by the daemon (BAD_PAYLOAD) */
	PC_EVENT_EARN,
	PC_EVENT_REDEEM,
	PC_EVENT_HOLD,
	PC_EVENT_CAPTURE,
	PC_EVENT_VOID,
	PC_EVENT_REVERSAL,
	PC_EVENT_REFERRAL,
	PC_EVENT_PURCHASE,
	PC_EVENT_NKINDS
};

/* How a capture or void names its hold, or a reversal its original. */
enum pc_event_ref_by {
	PC_REF_NONE = 0,        /* unset: the daemon says MISSING_FIELD */
	PC_REF_EVENT_ID,
	PC_REF_SEQUENCE         /* sequence 0 is a value like any other, and encoded */
};

struct pc_event_ref {
	enum pc_event_ref_by by;
	const char *event_id;
	uint64_t sequence;
};

/* One event. Strings are borrowed, NUL-terminated, and NULL or "" both mean
 * empty (left out, as proto3 leaves out defaults). A zero or NULL field is not
 * encoded; a field its kind does not carry must be left zero or NULL. */
struct pc_event_desc {
	enum pc_event_kind kind;
	const char *alliance_id;
	const char *merchant_id;
	const char *event_id;
	int64_t event_time_us;
	const char *store_id;
	const char *terminal_id;

	const char *member_id;      /* earn, redeem, hold, referral, purchase */
	/* earn, redeem, hold, capture: points; reversal: amount; purchase: amount_minor */
	int64_t amount;
	const char *reason;         /* earn, redeem, reversal */
	uint32_t duration_s;        /* hold */
	struct pc_event_ref ref;    /* capture, void: the hold; reversal: the original */
	const char *beneficiary_id; /* referral: beneficiary_merchant_id */
	const char *channel;        /* referral */
	const char *campaign_id;    /* referral */
	const char *referral_code;  /* referral, purchase */
	int64_t touch_time_us;      /* referral */
	const char *currency;       /* purchase */
	/* redeem, hold: the member's consent, a serialized SignedAuthorization
	 * (pc_authorization_sign), carried verbatim as the Event's field 8 */
	const uint8_t *authorization;
	size_t authorization_len;
};

/* A member's authorization (PROTOCOL.md, "Member authorization"); strings
 * borrowed as in pc_event_desc. */
struct pc_authorization_desc {
	const char *alliance_id;
	const char *member_id;
	const char *merchant_id;
	int64_t max_points;
	int64_t expires_at_us;
	const uint8_t *nonce;       /* PC_AUTH_NONCE_SIZE bytes, random */
	size_t nonce_len;
};

#define PC_AUTH_NONCE_SIZE 16

/* What went wrong; every function below returns PC_EB_OK (0) or one of these. */
enum pc_eb_error {
	PC_EB_OK = 0,
	PC_EB_BAD_KIND = -1,     /* kind or reference form out of range */
	PC_EB_STRAY_FIELD = -2,  /* a field set that the kind does not carry */
	PC_EB_TOO_SMALL = -3,    /* the buffer is too small; *len says what is needed */
	PC_EB_SIGN = -4,         /* the payload is too large to sign */
	PC_EB_NOMEM = -5
};

/* Stable short text of an error ("a field set that the kind does not carry"). */
const char *pc_event_build_error(int err);

/* "earn", "redeem", ... for a kind; "none" for PC_EVENT_NO_BODY, "?" past the end. */
const char *pc_event_kind_name(enum pc_event_kind kind);
/* The kind named (not NO_BODY), or PC_EVENT_NO_BODY when the name is none of them. */
enum pc_event_kind pc_event_kind_by_name(const char *name);

/* The protobuf-c form of a description: the Event points into this struct and
 * into the description's strings, so neither may move or go while it is used.
 * It leaves the authorization out: pc_event_encode writes those bytes as they
 * are, between the header's fields and the body's, where field 8 belongs. */
struct pc_event_msg {
	Pointclear__V1__Event event;
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
	Pointclear__V1__EventRef ref;
};

/* Fills m from d. PC_EB_OK, PC_EB_BAD_KIND or PC_EB_STRAY_FIELD. */
int pc_event_msg_init(struct pc_event_msg *m, const struct pc_event_desc *d);

/* Writes d's canonical Event bytes into out (cap bytes; out may be NULL when cap
 * is 0) and sets *len to their length. PC_EB_TOO_SMALL leaves out unwritten and
 * *len the size needed, so a caller may ask with cap 0 first. */
int pc_event_encode(const struct pc_event_desc *d, uint8_t *out, size_t cap, size_t *len);

/* Length of the SignedEvent that carries payload_len bytes under key_id: known
 * before signing, since an Ed25519 signature is always PC_SIG_SIZE bytes. */
size_t pc_envelope_size(size_t payload_len, const char *key_id);

/* Signs payload with sk (Ed25519 over PAE(PC_EVENT_PAYLOAD_TYPE, payload)) and
 * writes the SignedEvent into out (cap bytes); *len its length. PC_EB_TOO_SMALL
 * (nothing signed, *len the size needed) or PC_EB_SIGN. Thread-safe. */
int pc_envelope_seal(uint8_t *out, size_t cap, size_t *len, const uint8_t *payload,
                     size_t payload_len, const uint8_t sk[PC_SK_SIZE], const char *key_id);

/* d encoded and sealed: a malloc'd SignedEvent, *len its length; NULL with *err
 * (may be NULL) set on failure. */
uint8_t *pc_event_sign(const struct pc_event_desc *d, const uint8_t sk[PC_SK_SIZE],
                       const char *key_id, size_t *len, int *err);

/* a signed by the device key sk (Ed25519 over PAE(PC_MEMBER_AUTH_PAYLOAD_TYPE,
 * MemberAuthorization)) as a malloc'd SignedAuthorization naming key_id; *len
 * its length. NULL with *err (may be NULL) set on failure. Thread-safe. */
uint8_t *pc_authorization_sign(const struct pc_authorization_desc *a,
                               const uint8_t sk[PC_SK_SIZE], const char *key_id, size_t *len,
                               int *err);

#endif
