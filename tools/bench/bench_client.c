/* bench_client.c - the non-blocking load driver (see bench_client.h). */
#include "bench_client.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "bench_proc.h"
#include "pointclear/frame.h"

#define CONNECTS_AT_ONCE 32        /* handshakes in progress; the daemon caps them too */
#define DRAIN_TIMEOUT_US 30000000  /* the longest a phase waits for its last answers */
#define CTL_TICK_US 10000          /* phase control */
#define PACE_TICK_US 1000          /* open-loop release */
#define MAX_ERRORS_SHOWN 5

/* A connection's state is where it is in its life; one function changes it. */
enum bconn_state {
	BC_IDLE,         /* never connected, or closed cleanly: may connect */
	BC_CONNECTING,   /* TCP and TLS handshake under way */
	BC_READY,        /* handshake done: may send */
	BC_DEAD,         /* failed or lost: may reconnect */
};

enum phase { PH_NONE, PH_CONNECT, PH_WARMUP, PH_MEASURE, PH_DRAIN };
enum mode { MODE_CLOSED, MODE_OPEN };

struct bconn {
	struct bench_client *cl;
	struct bconn_set *set;
	int idx;                  /* in its set; for load connections also the queue */
	int merchant;
	enum bconn_state state;
	struct bufferevent *bev;
	int outstanding;          /* requests sent and not answered */
	bool ponged;
};

/* Connections opened together: the load connections, or the idle ones. */
struct bconn_set {
	struct bconn *k;
	int n;
	int next;                 /* next to consider for connecting */
	int connecting, ready, failed, pongs;
	bool ping;                /* send a PING once connected (idle set) */
};

struct bench_client {
	struct bench_client_opts o;
	struct bench_workload *wl;
	struct event_base *base;
	SSL_CTX **ctx;            /* per merchant */
	struct sockaddr_storage sa;
	int salen;
	struct bconn_set load, idle;

	/* the phase running */
	struct bconn_set *connecting_set;
	int64_t connect_deadline;
	enum phase phase;
	enum mode mode;
	struct bench_result *r;
	bench_mark_fn mark;
	void *mark_arg;
	double duration_s;
	int64_t t_start, t_warm_end, ws, we, drain_deadline;
	double rate;
	uint64_t scheduled;       /* open loop: sends due so far */
	int rr;                   /* open loop: next connection to consider */
	int64_t *sent_us;         /* per event: when sent; 0 unsent or answered, -1 abandoned */
	size_t sent_cap;
	int64_t outstanding;
	int errors_shown;
	bool failed_phase;
	char phase_err[256];
	struct event *ctl_ev, *pace_ev;
};

static void conn_start(struct bench_client *cl, struct bconn *k);
static void conn_fill(struct bench_client *cl, struct bconn *k, int64_t now);

/* ---------------------------------------------------------------- results */

void bench_result_init(struct bench_result *r)
{
	memset(r, 0, sizeof *r);
	bench_lat_init(&r->lat);
}

void bench_result_free(struct bench_result *r)
{
	bench_lat_free(&r->lat);
	bench_persec_free(&r->persec);
}

/* ---------------------------------------------------------------- connections */

static void conn_set_state(struct bconn *k, enum bconn_state st)
{
	struct bconn_set *s = k->set;

	if (k->state == st)
		return;
	if (k->state == BC_CONNECTING)
		s->connecting--;
	if (k->state == BC_READY)
		s->ready--;
	if (st == BC_CONNECTING)
		s->connecting++;
	if (st == BC_READY)
		s->ready++;
	if (st == BC_DEAD)
		s->failed++;
	k->state = st;
}

static void conn_free_bev(struct bconn *k)
{
	if (!k->bev)
		return;
	bufferevent_free(k->bev);
	k->bev = NULL;
}

/* A connection failed or was lost: its requests in flight are lost with it. */
static void conn_lost(struct bench_client *cl, struct bconn *k, const char *why)
{
	if (cl->errors_shown < MAX_ERRORS_SHOWN) {
		fprintf(stderr, "pointclear: bench: connection %d (%s): %s\n", k->idx,
		        cl->wl->merchants[k->merchant].id, why);
		if (++cl->errors_shown == MAX_ERRORS_SHOWN)
			fprintf(stderr, "pointclear: bench: (further connection errors not shown)\n");
	}
	if (cl->r) {
		cl->r->conn_failures++;
		cl->r->lost += (uint64_t)k->outstanding;
	}
	cl->outstanding -= k->outstanding;
	k->outstanding = 0;
	conn_free_bev(k);
	conn_set_state(k, BC_DEAD);
}

/* Starts connecting more of the set, up to CONNECTS_AT_ONCE in progress. */
static void set_connect_more(struct bench_client *cl, struct bconn_set *s)
{
	while (s->connecting < CONNECTS_AT_ONCE && s->next < s->n) {
		struct bconn *k = &s->k[s->next++];

		if (k->state == BC_IDLE || k->state == BC_DEAD)
			conn_start(cl, k);
	}
	if (cl->phase == PH_CONNECT && cl->connecting_set == s && s->next >= s->n &&
	    s->connecting == 0 && (!s->ping || s->pongs + s->failed >= s->n))
		event_base_loopbreak(cl->base);
}

/* SubmitResult's disposition (field 1) and code (field 2), which protobuf-c
 * writes first: a walk over the wire format of the first bytes of the body. */
static void parse_result(const uint8_t *p, size_t n, int *disp, int *code)
{
	size_t i = 0;

	*disp = *code = 0;
	while (i < n) {
		uint64_t key = 0, v = 0;
		int shift = 0;

		do {
			if (i >= n || shift > 63)
				return;
			key |= (uint64_t)(p[i] & 0x7f) << shift;
			shift += 7;
		} while (p[i++] & 0x80);
		switch (key & 7) {
		case 0:
			shift = 0;
			do {
				if (i >= n || shift > 63)
					return;
				v |= (uint64_t)(p[i] & 0x7f) << shift;
				shift += 7;
			} while (p[i++] & 0x80);
			if (key >> 3 == 1)
				*disp = (int)v;
			else if (key >> 3 == 2)
				*code = (int)v;
			break;
		default:
			return;   /* past the two varints: the rest is of no use here */
		}
	}
}

static void on_answer(struct bench_client *cl, struct bconn *k, const struct pc_frame_header *h,
                      const uint8_t *body, size_t blen, int64_t now)
{
	struct bench_result *r = cl->r;
	uint64_t rid = h->request_id;
	size_t idx = (size_t)(rid - 1);
	int disp = 0, code = 0;

	if (h->type == PC_MSG_PONG) {
		if (!k->ponged) {
			k->ponged = true;
			k->set->pongs++;
			set_connect_more(cl, k->set);   /* the last PONG ends the connect phase */
		}
		return;
	}
	if (h->type == PC_MSG_PROTOCOL_ERROR) {
		if (r)
			r->protocol_errors++;
		code = -1;
	} else if (h->type == PC_MSG_SUBMIT_RESULT) {
		parse_result(body, blen, &disp, &code);
	} else {
		if (r)
			r->unexpected++;
		return;
	}
	if (rid != 0 && idx < cl->sent_cap && cl->sent_us[idx] < 0 && k->set == &cl->load &&
	    cl->wl->ev[idx].conn == (uint32_t)k->idx) {
		/* a late answer to a request an earlier phase gave up waiting for */
		cl->sent_us[idx] = 0;
		k->outstanding--;
		cl->outstanding--;
		return;
	}
	if (rid == 0 || idx >= cl->wl->nev || idx >= cl->sent_cap || cl->sent_us[idx] == 0 ||
	    cl->wl->ev[idx].conn != (uint32_t)k->idx || k->set != &cl->load) {
		if (r && code != -1)
			r->unexpected++;
		return;
	}
	int64_t lat = now - cl->sent_us[idx];

	cl->sent_us[idx] = 0;
	k->outstanding--;
	cl->outstanding--;
	if (!r)
		return;
	if (cl->phase == PH_MEASURE) {
		r->answered++;
		bench_lat_add(&r->lat, lat);
		bench_persec_add(&r->persec, now - cl->ws);
		if (disp >= 0 && disp < BENCH_NDISP && code >= 0 && code < BENCH_NCODES)
			r->counts[disp][code]++;
	} else if (cl->phase == PH_DRAIN) {
		r->drained++;
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct bconn *k = arg;
	struct bench_client *cl = k->cl;
	struct evbuffer *in = bufferevent_get_input(bev);
	int64_t now = bench_mono_us();

	for (;;) {
		size_t avail = evbuffer_get_length(in), total, want;
		struct pc_frame_header h;
		enum pc_frame_status st;
		uint8_t *p;

		if (avail < PC_FRAME_HEADER_SIZE)
			break;
		p = evbuffer_pullup(in, PC_FRAME_HEADER_SIZE);
		st = pc_frame_peek(p, PC_FRAME_HEADER_SIZE, &h);
		if (st == PC_FRAME_MALFORMED || st == PC_FRAME_TOO_LARGE) {
			conn_lost(cl, k, "the daemon sent a malformed frame");
			return;
		}
		total = pc_frame_total(&h);
		if (avail < total)
			break;
		want = total < PC_FRAME_HEADER_SIZE + 64 ? total : PC_FRAME_HEADER_SIZE + 64;
		p = evbuffer_pullup(in, (ssize_t)want);
		on_answer(cl, k, &h, p + PC_FRAME_HEADER_SIZE, want - PC_FRAME_HEADER_SIZE, now);
		evbuffer_drain(in, total);
	}
	if (cl->mode == MODE_CLOSED)
		conn_fill(cl, k, now);
}

static void send_ping(struct bconn *k)
{
	uint8_t hdr[PC_FRAME_HEADER_SIZE];

	pc_frame_header_encode(hdr, PC_MSG_PING, (uint64_t)k->idx + 1, 0);
	bufferevent_write(k->bev, hdr, sizeof hdr);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct bconn *k = arg;
	struct bench_client *cl = k->cl;
	char why[256];

	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;

		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		conn_set_state(k, BC_READY);
		if (k->set->ping)
			send_ping(k);
		else if (cl->mode == MODE_CLOSED)
			conn_fill(cl, k, bench_mono_us());
		set_connect_more(cl, k->set);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		/* answers may have come with the EOF (deferred callbacks) */
		if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
			on_read(bev, k);
		if (!k->bev)
			return;
		conn_lost(cl, k, "the daemon closed the connection");
	} else if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		unsigned long e = bufferevent_get_openssl_error(bev);
		int se = EVUTIL_SOCKET_ERROR();

		if (e)
			ERR_error_string_n(e, why, sizeof why);
		else
			snprintf(why, sizeof why, "%s", se ? evutil_socket_error_to_string(se)
			                                   : "connection error");
		ERR_clear_error();
		conn_lost(cl, k, why);
	} else {
		return;
	}
	set_connect_more(cl, k->set);
}

static void conn_start(struct bench_client *cl, struct bconn *k)
{
	SSL *ssl = SSL_new(cl->ctx[k->merchant]);

	k->outstanding = 0;
	k->ponged = false;
	if (!ssl || X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), cl->o.host) != 1) {
		SSL_free(ssl);
		conn_set_state(k, BC_CONNECTING);
		conn_lost(cl, k, "cannot create the TLS connection");
		return;
	}
	k->bev = bufferevent_openssl_socket_new(cl->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
	                                        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	conn_set_state(k, BC_CONNECTING);
	if (!k->bev) {
		SSL_free(ssl);
		conn_lost(cl, k, "cannot create the bufferevent");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(k->bev, 1);
	bufferevent_setcb(k->bev, on_read, NULL, on_event, k);
	bufferevent_enable(k->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(k->bev, (struct sockaddr *)&cl->sa, cl->salen) != 0)
		conn_lost(cl, k, "connect failed");
}

/* Closes it politely: close_notify, then the socket. */
static void conn_close(struct bconn *k)
{
	if (k->bev) {
		SSL *ssl = bufferevent_openssl_get_ssl(k->bev);

		if (ssl && k->state == BC_READY)
			SSL_shutdown(ssl);
		ERR_clear_error();
		conn_free_bev(k);
	}
	k->cl->outstanding -= k->outstanding;
	k->outstanding = 0;
	conn_set_state(k, BC_IDLE);
}

/* ---------------------------------------------------------------- sending */

static bool conn_has_events(const struct bench_client *cl, const struct bconn *k)
{
	const struct bench_queue *q = &cl->wl->queues[k->idx];

	return q->head < q->n;
}

static void conn_send_one(struct bench_client *cl, struct bconn *k, int64_t now)
{
	struct bench_queue *q = &cl->wl->queues[k->idx];
	uint32_t idx = q->idx[q->head++];
	const struct bench_event *e = &cl->wl->ev[idx];

	evbuffer_add(bufferevent_get_output(k->bev), cl->wl->arena + e->off, e->len);
	cl->sent_us[idx] = now;
	k->outstanding++;
	cl->outstanding++;
	if (cl->phase == PH_MEASURE)
		cl->r->sent++;
}

static bool sending(const struct bench_client *cl)
{
	return cl->phase == PH_WARMUP || cl->phase == PH_MEASURE;
}

/* Closed loop: tops the connection's window up. */
static void conn_fill(struct bench_client *cl, struct bconn *k, int64_t now)
{
	if (!sending(cl) || k->state != BC_READY || k->set != &cl->load)
		return;
	while (k->outstanding < cl->o.pipeline && conn_has_events(cl, k))
		conn_send_one(cl, k, now);
}

/* Open loop: releases what is due by now, round robin over the connections
 * that have events and room. What cannot be sent is counted as missed, never
 * sent later in a burst. */
static void on_pace(evutil_socket_t fd, short what, void *arg)
{
	struct bench_client *cl = arg;
	int64_t now = bench_mono_us();
	uint64_t due;
	(void)fd;
	(void)what;

	if (!sending(cl))
		return;
	due = (uint64_t)(cl->rate * (double)(now - cl->t_start) / 1e6);
	while (cl->scheduled < due) {
		bool sent = false;

		cl->scheduled++;
		for (int tried = 0; tried < cl->load.n && !sent; tried++) {
			struct bconn *k = &cl->load.k[cl->rr];

			cl->rr = (cl->rr + 1) % cl->load.n;
			if (k->state == BC_READY && k->outstanding < cl->o.open_cap &&
			    conn_has_events(cl, k)) {
				conn_send_one(cl, k, now);
				sent = true;
			}
		}
		if (!sent && cl->phase == PH_MEASURE)
			cl->r->missed++;
	}
}

/* ---------------------------------------------------------------- phases */

static void window_end(struct bench_client *cl, int64_t now)
{
	int dry = 0;

	cl->we = now;
	cl->r->window_us = now - cl->ws;
	for (int i = 0; i < cl->load.n; i++)
		if (!conn_has_events(cl, &cl->load.k[i]))
			dry++;
	cl->r->dry_conns = dry;
	if (cl->mark)
		cl->mark(cl->mark_arg, 1);
	cl->phase = PH_DRAIN;
	cl->drain_deadline = now + DRAIN_TIMEOUT_US;
}

/* After a drain that timed out: the requests still unanswered are marked
 * (sent time -1), so that their late answers count in no later phase. */
static void abandon_outstanding(struct bench_client *cl)
{
	if (cl->outstanding <= 0)
		return;
	for (int c = 0; c < cl->load.n; c++) {
		const struct bench_queue *q = &cl->wl->queues[c];

		for (size_t i = 0; i < q->head; i++)
			if (cl->sent_us[q->idx[i]] > 0)
				cl->sent_us[q->idx[i]] = -1;
	}
}

static void on_ctl(evutil_socket_t fd, short what, void *arg)
{
	struct bench_client *cl = arg;
	int64_t now = bench_mono_us();
	(void)fd;
	(void)what;

	switch (cl->phase) {
	case PH_CONNECT:
		if (now > cl->connect_deadline)
			event_base_loopbreak(cl->base);
		return;
	case PH_WARMUP:
	case PH_MEASURE:
		if (cl->load.ready == 0) {
			snprintf(cl->phase_err, sizeof cl->phase_err, "no connection to the daemon left");
			cl->failed_phase = true;
			event_base_loopbreak(cl->base);
			return;
		}
		if (bench_wl_unsent(cl->wl) == 0 && cl->outstanding == 0) {
			cl->r->exhausted = true;
			if (cl->phase == PH_WARMUP) {
				snprintf(cl->phase_err, sizeof cl->phase_err,
				         "the workload ran out during the warm-up");
				cl->failed_phase = true;
				event_base_loopbreak(cl->base);
				return;
			}
			window_end(cl, now);
			return;
		}
		if (cl->phase == PH_WARMUP && now >= cl->t_warm_end) {
			cl->phase = PH_MEASURE;
			cl->ws = now;
			if (cl->mark)
				cl->mark(cl->mark_arg, 0);
		} else if (cl->phase == PH_MEASURE &&
		           now - cl->ws >= (int64_t)(cl->duration_s * 1e6)) {
			window_end(cl, now);
		}
		return;
	case PH_DRAIN:
		if (cl->outstanding <= 0 || now > cl->drain_deadline) {
			cl->r->drain_left = cl->outstanding > 0 ? (uint64_t)cl->outstanding : 0;
			abandon_outstanding(cl);
			event_base_loopbreak(cl->base);
		}
		return;
	default:
		return;
	}
}

static int ensure_sent_array(struct bench_client *cl, char *err, size_t errlen)
{
	if (cl->sent_cap < cl->wl->nev) {
		int64_t *p = realloc(cl->sent_us, cl->wl->nev * sizeof *p);

		if (!p) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		memset(p + cl->sent_cap, 0, (cl->wl->nev - cl->sent_cap) * sizeof *p);
		cl->sent_us = p;
		cl->sent_cap = cl->wl->nev;
	}
	return 0;
}

static int run_phase(struct bench_client *cl, enum mode mode, double rate, double warmup_s,
                     double duration_s, struct bench_result *r, bench_mark_fn mark,
                     void *arg, char *err, size_t errlen)
{
	struct timeval ctl = {0, CTL_TICK_US}, pace = {0, PACE_TICK_US};

	if (cl->load.ready == 0) {
		snprintf(err, errlen, "no connection to the daemon");
		return -1;
	}
	if (ensure_sent_array(cl, err, errlen) != 0)
		return -1;
	if (bench_persec_init(&r->persec, (int)duration_s + 2) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	cl->mode = mode;
	cl->rate = rate;
	cl->r = r;
	cl->mark = mark;
	cl->mark_arg = arg;
	cl->duration_s = duration_s;
	cl->scheduled = 0;
	cl->failed_phase = false;
	cl->t_start = bench_mono_us();
	cl->t_warm_end = cl->t_start + (int64_t)(warmup_s * 1e6);
	cl->phase = PH_WARMUP;
	if (warmup_s <= 0) {
		cl->phase = PH_MEASURE;
		cl->ws = cl->t_start;
		if (mark)
			mark(arg, 0);
	}
	evtimer_add(cl->ctl_ev, &ctl);
	if (mode == MODE_OPEN)
		evtimer_add(cl->pace_ev, &pace);
	else
		for (int i = 0; i < cl->load.n; i++)
			conn_fill(cl, &cl->load.k[i], cl->t_start);
	event_base_dispatch(cl->base);
	evtimer_del(cl->ctl_ev);
	evtimer_del(cl->pace_ev);
	if (cl->phase != PH_DRAIN && !cl->failed_phase) {
		snprintf(err, errlen, "the event loop stopped unexpectedly");
		cl->failed_phase = true;
	} else if (cl->failed_phase) {
		snprintf(err, errlen, "%s", cl->phase_err);
	}
	cl->phase = PH_NONE;
	cl->r = NULL;
	cl->mark = NULL;
	return cl->failed_phase ? -1 : 0;
}

int bench_client_closed(struct bench_client *c, double warmup_s, double duration_s,
                        struct bench_result *r, bench_mark_fn mark, void *arg, char *err,
                        size_t errlen)
{
	return run_phase(c, MODE_CLOSED, 0, warmup_s, duration_s, r, mark, arg, err, errlen);
}

int bench_client_open(struct bench_client *c, double rate, double warmup_s,
                      double duration_s, struct bench_result *r, bench_mark_fn mark,
                      void *arg, char *err, size_t errlen)
{
	if (rate <= 0) {
		snprintf(err, errlen, "the offered rate must be positive");
		return -1;
	}
	return run_phase(c, MODE_OPEN, rate, warmup_s, duration_s, r, mark, arg, err, errlen);
}

/* ---------------------------------------------------------------- connecting */

static int set_connect(struct bench_client *cl, struct bconn_set *s, int timeout_ms)
{
	struct timeval ctl = {0, CTL_TICK_US};

	s->next = 0;
	s->failed = 0;
	s->pongs = 0;
	cl->phase = PH_CONNECT;
	cl->connecting_set = s;
	cl->connect_deadline = bench_mono_us() + (int64_t)timeout_ms * 1000;
	evtimer_add(cl->ctl_ev, &ctl);
	set_connect_more(cl, s);
	if (!(s->next >= s->n && s->connecting == 0 && (!s->ping || s->pongs + s->failed >= s->n)))
		event_base_dispatch(cl->base);
	evtimer_del(cl->ctl_ev);
	cl->phase = PH_NONE;
	cl->connecting_set = NULL;
	return s->ready;
}

int bench_client_connect(struct bench_client *c, int timeout_ms, char *err, size_t errlen)
{
	int ready;

	c->errors_shown = 0;
	ready = set_connect(c, &c->load, timeout_ms);
	if (ready < c->load.n) {
		snprintf(err, errlen, "%d of %d connections completed their handshake", ready,
		         c->load.n);
		return -1;
	}
	return 0;
}

static void set_close(struct bench_client *cl, struct bconn_set *s)
{
	for (int i = 0; i < s->n; i++)
		conn_close(&s->k[i]);
	/* let the close_notify alerts and FINs go out */
	event_base_loop(cl->base, EVLOOP_NONBLOCK);
}

void bench_client_disconnect(struct bench_client *c)
{
	set_close(c, &c->load);
}

int bench_client_idle_open(struct bench_client *c, int n, int timeout_ms, int *ok, char *err,
                           size_t errlen)
{
	bench_client_idle_close(c);
	c->idle.k = calloc((size_t)n, sizeof *c->idle.k);
	if (!c->idle.k) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->idle.n = n;
	c->idle.ping = true;
	for (int i = 0; i < n; i++) {
		c->idle.k[i].cl = c;
		c->idle.k[i].set = &c->idle;
		c->idle.k[i].idx = i;
		c->idle.k[i].merchant = i % c->wl->nmerchants;
	}
	c->errors_shown = 0;
	set_connect(c, &c->idle, timeout_ms);
	*ok = c->idle.pongs;
	return 0;
}

void bench_client_idle_close(struct bench_client *c)
{
	if (!c->idle.k)
		return;
	set_close(c, &c->idle);
	free(c->idle.k);
	memset(&c->idle, 0, sizeof c->idle);
}

/* ---------------------------------------------------------------- set-up */

static SSL_CTX *merchant_ctx(const struct bench_client_opts *o, const struct bench_merchant *m,
                             char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx)
		goto fail;
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	/* libevent 2.1 with OpenSSL 3 reports a peer's bare close as an error */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, m->cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, m->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		goto fail;
	return ctx;
fail: {
	unsigned long e = ERR_get_error();
	char buf[256] = "";

	if (e)
		ERR_error_string_n(e, buf, sizeof buf);
	snprintf(err, errlen, "TLS context for merchant %s: %s", m->id, buf);
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}
}

struct bench_client *bench_client_new(const struct bench_client_opts *o, char *err,
                                      size_t errlen)
{
	struct bench_client *cl = calloc(1, sizeof *cl);
	char addr[128];

	if (!cl) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	cl->o = *o;
	cl->wl = o->wl;
	if (cl->o.pipeline < 1)
		cl->o.pipeline = 1;
	if (cl->o.open_cap < 1)
		cl->o.open_cap = 1024;
	snprintf(addr, sizeof addr, "%s:%d", o->host, o->port);
	cl->salen = (int)sizeof cl->sa;
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&cl->sa, &cl->salen) != 0) {
		snprintf(err, errlen, "'%s' is not a numeric address", addr);
		goto fail;
	}
	cl->base = event_base_new();
	cl->ctx = calloc((size_t)cl->wl->nmerchants, sizeof *cl->ctx);
	cl->load.k = calloc((size_t)cl->wl->nconns, sizeof *cl->load.k);
	if (!cl->base || !cl->ctx || !cl->load.k) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	cl->ctl_ev = event_new(cl->base, -1, EV_PERSIST, on_ctl, cl);
	cl->pace_ev = event_new(cl->base, -1, EV_PERSIST, on_pace, cl);
	if (!cl->ctl_ev || !cl->pace_ev) {
		snprintf(err, errlen, "cannot create timers");
		goto fail;
	}
	for (int m = 0; m < cl->wl->nmerchants; m++)
		if (!(cl->ctx[m] = merchant_ctx(o, &cl->wl->merchants[m], err, errlen)))
			goto fail;
	cl->load.n = cl->wl->nconns;
	for (int i = 0; i < cl->load.n; i++) {
		cl->load.k[i].cl = cl;
		cl->load.k[i].set = &cl->load;
		cl->load.k[i].idx = i;
		cl->load.k[i].merchant = cl->wl->conn_merchant[i];
	}
	return cl;
fail:
	bench_client_free(cl);
	return NULL;
}

void bench_client_free(struct bench_client *cl)
{
	if (!cl)
		return;
	bench_client_idle_close(cl);
	if (cl->load.k) {
		for (int i = 0; i < cl->load.n; i++)
			conn_close(&cl->load.k[i]);
		free(cl->load.k);
	}
	if (cl->ctl_ev)
		event_free(cl->ctl_ev);
	if (cl->pace_ev)
		event_free(cl->pace_ev);
	if (cl->ctx) {
		for (int m = 0; m < cl->wl->nmerchants; m++)
			SSL_CTX_free(cl->ctx[m]);
		free(cl->ctx);
	}
	if (cl->base)
		event_base_free(cl->base);
	free(cl->sent_us);
	free(cl);
}
