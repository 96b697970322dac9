/* bench_client.h - the load driver of pointclear-bench: many non-blocking mTLS
 * connections on one libevent thread, pipelined, sending pre-built frames.
 *
 * Each connection belongs to a merchant (its client certificate) and sends the
 * events the workload queued for it, in order. Two ways to offer load:
 *   closed loop  every connection keeps up to `pipeline` requests unanswered;
 *                what comes back is the maximum sustained rate;
 *   open loop    sends are paced to a fixed rate across the connections (a 1 ms
 *                timer releases what is due), whatever the answers do, so the
 *                latency is that of the offered load.
 * A phase runs a warm-up, then the measured window, then waits until every
 * request still out has been answered (so the next phase starts clean). Answers
 * are parsed minimally (request id, disposition, code); receipts are not verified
 * here. Latency is from the moment a frame is queued for sending to the moment
 * its answer is read, on CLOCK_MONOTONIC. */
#ifndef POINTCLEAR_BENCH_CLIENT_H
#define POINTCLEAR_BENCH_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench_stats.h"
#include "bench_workload.h"

#define BENCH_NDISP 5      /* dispositions 0..4 */
#define BENCH_NCODES 128

struct bench_result {
	int64_t window_us;            /* the measured window, as it really ran */
	uint64_t answered;            /* answers read within the window */
	uint64_t sent;                /* requests sent within the window */
	uint64_t missed;              /* open loop: sends due but not possible (no room, no events) */
	struct bench_lat lat;         /* latency of the answers within the window */
	struct bench_persec persec;   /* answers per second of the window */
	uint64_t counts[BENCH_NDISP][BENCH_NCODES];   /* answers by disposition and code */
	uint64_t protocol_errors;     /* PROTOCOL_ERROR frames */
	uint64_t unexpected;          /* answers naming no request in flight */
	uint64_t conn_failures;       /* connections lost during the phase */
	uint64_t lost;                /* requests unanswered on connections lost */
	uint64_t drained;             /* answered after the window ended */
	uint64_t drain_left;          /* never answered (drain timed out) */
	int dry_conns;                /* connections out of events when the window ended */
	bool exhausted;               /* the workload ran out before the window ended */
};

void bench_result_init(struct bench_result *r);
void bench_result_free(struct bench_result *r);

/* Called at the start (end = 0) and the end (end = 1) of the measured window. */
typedef void (*bench_mark_fn)(void *arg, int end);

struct bench_client_opts {
	const char *host;        /* numeric IPv4 address of the daemon */
	int port;
	const char *ca_file;     /* verifies the daemon's certificate */
	struct bench_workload *wl;
	int pipeline;            /* closed loop: unanswered requests per connection */
	int open_cap;            /* open loop: the most unanswered per connection */
	int verbose;
};

struct bench_client;

/* The TLS contexts (one per merchant) and the connection table; connects
 * nothing yet. NULL with err. */
struct bench_client *bench_client_new(const struct bench_client_opts *o, char *err,
                                      size_t errlen);
void bench_client_free(struct bench_client *c);

/* (Re)connects every load connection not connected. 0 when all are; -1 with err. */
int bench_client_connect(struct bench_client *c, int timeout_ms, char *err, size_t errlen);

/* Closes the load connections (close_notify, then the socket). */
void bench_client_disconnect(struct bench_client *c);

/* One closed-loop phase. r must be initialised; returns 0, or -1 with err when
 * the phase could not run (no connection left, out of memory). */
int bench_client_closed(struct bench_client *c, double warmup_s, double duration_s,
                        struct bench_result *r, bench_mark_fn mark, void *arg, char *err,
                        size_t errlen);

/* One open-loop phase at `rate` events per second. */
int bench_client_open(struct bench_client *c, double rate, double warmup_s,
                      double duration_s, struct bench_result *r, bench_mark_fn mark,
                      void *arg, char *err, size_t errlen);

/* Opens n more connections (merchants in turn), completes each handshake and
 * one PING/PONG (which shows the daemon took the client certificate), and
 * leaves them open and idle. *ok counts those that answered. 0, or -1 with err. */
int bench_client_idle_open(struct bench_client *c, int n, int timeout_ms, int *ok,
                           char *err, size_t errlen);
void bench_client_idle_close(struct bench_client *c);

#endif
