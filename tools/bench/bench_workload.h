/* bench_workload.h - the workload of pointclear-bench: generated, signed and
 * framed before anything is timed, so that sending an event is a memcpy.
 *
 * The mix is a loyalty programme's: earns, redemptions (declined when the member
 * has too little), holds later captured in part or voided, partial reversals of
 * earlier earns and redemptions, referrals and purchases. Members are chosen with
 * a Zipf-Mandelbrot popularity, merchants by the share of connections they were
 * given (a mild skew). The generator is our own splitmix64: the same seed gives
 * the same events.
 *
 * Ordering: every event is sent on the connection chosen by its (merchant,
 * member), so a capture, void or reversal travels on the same connection as the
 * event it names, after it. The daemon keeps a connection's order from reading
 * to the batch (it releases verified requests in arrival order, batches are one
 * FIFO on one database session, and pc_record_batch decides in array order), so
 * the hold is always decided first. They are also generated a few thousand
 * events apart, as in real life. */
#ifndef POINTCLEAR_BENCH_WORKLOAD_H
#define POINTCLEAR_BENCH_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "pointclear/event_build.h"

#define BENCH_ID_MAX 65
#define BENCH_PATH_MAX 1024

struct bench_merchant {
	char id[BENCH_ID_MAX];
	char industry[32];
	uint8_t sk[64];             /* libsodium secret key of its signing key */
	char key_id[17];
	char cert[BENCH_PATH_MAX];  /* TLS client certificate and key */
	char key[BENCH_PATH_MAX];
	int first_conn, nconns;     /* its connections: [first_conn, first_conn + nconns) */
};

/* One pre-built SUBMIT frame; its request id is its index + 1. */
struct bench_event {
	uint64_t off;     /* in the arena */
	uint32_t len;     /* header and body */
	uint32_t conn;
	uint8_t kind;     /* enum pc_event_kind */
};

/* The events of one connection, in sending order. */
struct bench_queue {
	uint32_t *idx;
	size_t n, cap;
	size_t head;      /* next to send */
};

struct bench_holdref {
	uint32_t idx;
	int32_t member, merchant;
	int64_t points;
};

struct bench_revref {
	uint32_t idx;
	int32_t member, merchant;
	uint8_t kind;
	int64_t remaining;
};

struct bench_workload {
	/* set by the caller before bench_wl_init */
	const char *alliance;
	const char *currency;
	const char *member_prefix;  /* members are <prefix><7 digits>, from 1 */
	int nmembers;
	int nmerchants;
	struct bench_merchant *merchants;
	int nconns;
	uint64_t seed;

	/* generation state */
	uint64_t rng;
	double *member_cdf;
	int *conn_merchant;          /* connection -> merchant */
	int64_t *spendable;          /* our estimate per member */
	int32_t *last_referrer;      /* per member: merchant + 1 that handed out a code, or 0 */
	struct bench_holdref *holds; /* open holds, oldest first (a ring) */
	size_t holds_head, holds_n, holds_cap;
	struct bench_revref *rev;    /* recent reversible events (a ring, newest overwrite) */
	size_t rev_n, rev_next, rev_cap;

	/* output */
	struct bench_event *ev;
	size_t nev, capev;
	uint8_t *arena;
	size_t arena_len;
	struct bench_queue *queues;  /* one per connection */
	uint64_t kinds[PC_EVENT_NKINDS];   /* events made, by enum pc_event_kind */
};

/* Assigns connections to merchants (each at least one, the rest by a Zipf
 * weight) and prepares the generator. nconns >= nmerchants. 0, or -1 with err. */
int bench_wl_init(struct bench_workload *w, char *err, size_t errlen);
void bench_wl_free(struct bench_workload *w);

/* Generates n more events, signs them on `threads` threads and appends their
 * frames; event times are the wall clock now. 0, or -1 with err. */
int bench_wl_generate(struct bench_workload *w, size_t n, int threads, char *err,
                      size_t errlen);

/* Events not yet sent, over all connections. */
size_t bench_wl_unsent(const struct bench_workload *w);

/* A typical signed payload (an earn) and its signature, for the raw
 * verification benchmark: the payload is malloc'd. 0, or -1. */
int bench_wl_sample(const struct bench_workload *w, uint8_t **payload, size_t *len,
                    uint8_t sig[64], uint8_t pk[32]);

#endif
