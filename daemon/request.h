/* request.h - one submitted event on its way through the core.
 *
 * Stages and owners: submitted by a client (core.h), VERIFYING by a worker thread
 * (which alone touches it then), VERIFIED / REJECTED back on the loop, QUEUED and
 * IN_BATCH by the writer, then answered and freed. The client pointer is weak: a
 * client that goes away clears it in every request it still has, and the request
 * finishes its journey detached, answering no one. */
#ifndef PC_REQUEST_H
#define PC_REQUEST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <pointclear/codec.h>
#include <pointclear/event_build.h>   /* enum pc_event_kind: the ledger's kind numbers */

#include "clock.h"

enum pc_req_stage {
	PC_REQ_VERIFYING,
	PC_REQ_VERIFIED,
	PC_REQ_REJECTED,
	PC_REQ_QUEUED,
	PC_REQ_IN_BATCH,
};

/* The columns one event contributes to the batch statement. Strings point into
 * the request's unpacked event; NULL is SQL NULL. */
struct pc_event_row {
	const char *alliance, *merchant, *event_id, *key_id;
	int16_t kind;
	int64_t event_time_us;
	const char *store, *terminal, *member;
	int64_t amount;           /* 0 when the kind has none */
	const char *ref_event;
	int64_t ref_seq;          /* -1 when none */
	int32_t duration_s;
	const char *reason, *beneficiary, *channel, *campaign, *code, *currency;
	int64_t touch_time_us;
	uint8_t payload_hash[32];
	/* the member authorization the worker verified, when has_auth */
	bool has_auth;
	char auth_key[17];
	uint8_t auth_nonce[16];
	int64_t auth_expires_us;
};

struct pc_core_client;

struct pc_request {
	TAILQ_ENTRY(pc_request) client_link;  /* the client's list of its requests */
	TAILQ_ENTRY(pc_request) stage_link;   /* worker queue, done queue or writer queue */
	struct pc_core_client *client;        /* weak; NULL once the client is gone */
	uint64_t request_id;
	enum pc_req_stage stage;
	uint8_t *envelope;                    /* the SignedEvent as received; owned */
	size_t envelope_len;
	char alliance[65], merchant[65];      /* the client's identity */
	char key_id[17];
	int64_t received_us;                  /* daemon clock when the frame was complete */
	/* when it reached each stage, on the monotonic clock: for the stats line */
	int64_t mono_received_us, mono_verified_us, mono_sent_us;
	bool verdict_ok;                      /* the worker's verdict, until the loop takes it */
	pc_code code;                         /* REJECTED: why */
	pc_code key_state;                    /* OK, or why its verified key is not usable now */
	const char *message;                  /* static text */
	Pointclear__V1__Event *event;         /* VERIFIED on: owned */
	struct pc_event_row row;
	bool on_refused;                      /* on the core's refused list (core.c) */
	int retries;                          /* batch retries after a deadlock */
	int batch_limit;                      /* after its batch failed: the largest batch it may
	                                         go in again, with others that failed; 0: any */
};

TAILQ_HEAD(pc_request_list, pc_request);

/* Allocates a request owning a copy of nothing: envelope is adopted. */
struct pc_request *pc_request_new(uint8_t *envelope, size_t len, uint64_t request_id);
void pc_request_free(struct pc_request *r);

#endif
