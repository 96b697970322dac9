/* conn.c - the merchant connection state machine (see conn.h). */
#include "conn.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <event2/event.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <pointclear/frame.h>

#include "answer.h"
#include "clock.h"
#include "connlimit.h"
#include "core.h"
#include "idset.h"
#include "keycache.h"
#include "log.h"
#include "tls.h"

#define CODE(x) POINTCLEAR__V1__CODE__##x
#define DISP(x) POINTCLEAR__V1__DISPOSITION__##x
#define OUT_HIGH (1024 * 1024)   /* answers queued for a client that does not read them */
#define OUT_LOW (256 * 1024)
#define DRAIN_TIMEOUT_US 5000000

enum conn_state { CONN_HANDSHAKE, CONN_ACTIVE, CONN_DRAINING, CONN_CLOSED };
static const char *state_names[] = { "handshake", "active", "draining", "closed" };

struct pc_conn {
	TAILQ_ENTRY(pc_conn) link;          /* on the list of its state */
	uint64_t id;
	enum conn_state state;
	struct bufferevent *bev;            /* owns the socket and the SSL */
	struct evbuffer *staged;            /* frames not yet moved to bev's output; owned */
	TAILQ_ENTRY(pc_conn) flush_link;    /* on to_flush while staged has bytes */
	bool flush_queued;
	char peer[64];
	char alliance[65], merchant[65];
	struct pc_core_client *client;      /* once identified; its requests go on without it */
	int inflight;                       /* read, not yet answered */
	struct pc_idset ids;                /* their request ids: the duplicate check */
	uint64_t requests;                  /* SUBMITs and LOOKUPs read: each is answered */
	int64_t deadline_us;                /* handshake, frame or drain deadline; 0 = none */
	bool reading;
	bool said_goodbye;                  /* close_notify sent */
	uint8_t addr_key[17];               /* its source address's limit key (connlimit.h) */
	size_t addr_key_len;                /* 0: not counted under an address */
	bool merchant_counted;              /* counted under its merchant while not closed */
	bool close_logged;                  /* its end is logged already */
	int64_t last_frame_us;              /* monotonic: the last complete frame read */
};

static struct pc_server *srv;

/* Connections with staged frames, and the one event that moves them out. A
 * database batch answers requests of many connections; staging them lets each
 * connection hand its answers to TLS as one contiguous buffer, i.e. in as few
 * records and write calls as its size allows, and run its backpressure checks
 * once per batch rather than once per answer. */
static TAILQ_HEAD(, pc_conn) to_flush = TAILQ_HEAD_INITIALIZER(to_flush);
static struct event *flush_ev;

static void conn_read_frames(struct pc_conn *c);
static void on_flush(evutil_socket_t fd, short what, void *arg);

/* Connections in their handshake per source address, identified connections
 * per merchant (the limits below). */
static struct pc_connlimit *per_address, *per_merchant;

void pc_conn_init(struct pc_server *s)
{
	srv = s;
	per_address = pc_connlimit_new();
	per_merchant = pc_connlimit_new();
	flush_ev = event_new(srv->base, -1, 0, on_flush, NULL);
	if (!flush_ev)
		fatalx("conn: event_new failed");
}

static struct pc_conn_list *state_list(enum conn_state st)
{
	switch (st) {
	case CONN_HANDSHAKE: return &srv->handshake;
	case CONN_ACTIVE: return &srv->active;
	case CONN_DRAINING: return &srv->draining;
	case CONN_CLOSED: return &srv->closed;
	}
	fatalx("conn: unknown state %d", (int)st);
}

/* ---------------------------------------------------------------- limits
 *
 * Who may hold connections (issue: one address or one merchant must not keep
 * the others out). A connection is counted under its source address from accept
 * until its handshake ends either way, and under its merchant from
 * identification until it is closed. */

/* At accept: false when the source address already has its share of handshakes;
 * the socket is then closed before any TLS work is spent on it. */
static bool limit_address_admit(struct pc_conn *c, const struct sockaddr *sa)
{
	c->addr_key_len = pc_connlimit_addr_key(sa, c->addr_key);
	if (!c->addr_key_len)
		return true;   /* not an IP socket: the total limit alone */
	if (pc_connlimit_get(per_address, c->addr_key, c->addr_key_len) >=
	    srv->cfg.max_unauthenticated_per_address) {
		c->addr_key_len = 0;
		return false;
	}
	pc_connlimit_add(per_address, c->addr_key, c->addr_key_len, 1);
	return true;
}

/* The handshake is over (or the connection is): it no longer counts. */
static void limit_address_release(struct pc_conn *c)
{
	if (c->addr_key_len)
		pc_connlimit_add(per_address, c->addr_key, c->addr_key_len, -1);
	c->addr_key_len = 0;
}

static size_t merchant_key(const struct pc_conn *c, char key[PC_CONNLIMIT_KEY_MAX])
{
	int n = snprintf(key, PC_CONNLIMIT_KEY_MAX, "%s/%s", c->alliance, c->merchant);
	return n < 0 || n >= PC_CONNLIMIT_KEY_MAX ? PC_CONNLIMIT_KEY_MAX - 1 : (size_t)n;
}

/* Once identified: false when its merchant holds --max-connections-per-merchant
 * connections already. */
static bool limit_merchant_admit(struct pc_conn *c)
{
	char key[PC_CONNLIMIT_KEY_MAX];
	size_t len = merchant_key(c, key);
	if (pc_connlimit_get(per_merchant, key, len) >= srv->cfg.max_connections_per_merchant)
		return false;
	pc_connlimit_add(per_merchant, key, len, 1);
	c->merchant_counted = true;
	return true;
}

static void limit_merchant_release(struct pc_conn *c)
{
	char key[PC_CONNLIMIT_KEY_MAX];
	if (c->merchant_counted)
		pc_connlimit_add(per_merchant, key, merchant_key(c, key), -1);
	c->merchant_counted = false;
}

/* Idle: identified, nothing in flight, and no complete frame for
 * --idle-timeout-ms. PING is the keep-alive (PROTOCOL.md). A client that reads
 * none of its answers stops being read, sends no frame, and so ends here too:
 * what it holds is bounded in time as well as in size. */
static bool conn_idle(const struct pc_conn *c, int64_t mono_now)
{
	return srv->cfg.idle_timeout_ms > 0 && c->state == CONN_ACTIVE && c->inflight == 0 &&
	       mono_now - c->last_frame_us >= (int64_t)srv->cfg.idle_timeout_ms * 1000;
}

static void conn_enter_state(struct pc_conn *c, enum conn_state st)
{
	if (c->state == CONN_HANDSHAKE && st != CONN_HANDSHAKE)
		limit_address_release(c);
	log_debug("c=%llu state %s -> %s", (unsigned long long)c->id, state_names[c->state],
	          state_names[st]);
	TAILQ_REMOVE(state_list(c->state), c, link);
	srv->n_handshaking += (st == CONN_HANDSHAKE) - (c->state == CONN_HANDSHAKE);
	c->state = st;
	TAILQ_INSERT_TAIL(state_list(st), c, link);
}

static void conn_close(struct pc_conn *c, const char *reason)
{
	if (c->state == CONN_CLOSED)
		return;
	if (c->close_logged) {
		/* said already, with more detail */
	} else if (c->state == CONN_HANDSHAKE) {   /* an unauthenticated client's doing */
		pc_log_unauth(PC_LOG_INFO, "c=%llu peer=%s closed in handshake reason=\"%s\"",
		              (unsigned long long)c->id, c->peer, reason);
	} else {
		log_info("c=%llu merchant=%s/%s peer=%s closed reason=\"%s\" requests=%llu inflight=%d",
		         (unsigned long long)c->id, c->alliance[0] ? c->alliance : "-",
		         c->merchant[0] ? c->merchant : "-", c->peer, reason,
		         (unsigned long long)c->requests, c->inflight);
	}
	limit_merchant_release(c);
	pc_core_client_free(c->client);
	c->client = NULL;
	/* Bytes still staged would have sat unwritten in bev's output until the next
	 * write event, which a freed bev never gets: drop them the same way. */
	if (c->flush_queued)
		TAILQ_REMOVE(&to_flush, c, flush_link);
	c->flush_queued = false;
	evbuffer_free(c->staged);
	c->staged = NULL;
	pc_idset_free(&c->ids);
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	if (ssl && c->state != CONN_HANDSHAKE && !c->said_goodbye)
		SSL_shutdown(ssl);   /* best effort close_notify: libevent sends none */
	bufferevent_free(c->bev);
	c->bev = NULL;
	conn_enter_state(c, CONN_CLOSED);
	srv->n_conns--;
}

/* Every frame goes through staged, so frames keep the order they were sent in. */
static void send_frame(struct pc_conn *c, uint8_t type, uint64_t rid, const uint8_t *body, size_t len)
{
	uint8_t hdr[PC_FRAME_HEADER_SIZE];
	pc_frame_header_encode(hdr, type, rid, len);
	if (evbuffer_add(c->staged, hdr, sizeof hdr) < 0 ||
	    (len && evbuffer_add(c->staged, body, len) < 0))
		fatalx("conn: evbuffer_add failed");
	if (!c->flush_queued) {
		c->flush_queued = true;
		TAILQ_INSERT_TAIL(&to_flush, c, flush_link);
		event_active(flush_ev, EV_WRITE, 0);
	}
}

/* Answers not yet written: what the client has not taken plus what is staged. */
static size_t conn_out_len(const struct pc_conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev)) + evbuffer_get_length(c->staged);
}

static void send_protocol_error(struct pc_conn *c, uint64_t rid, pc_code code, const char *msg)
{
	size_t len;
	uint8_t *body = pc_answer_protocol_error(code, msg, &len);
	send_frame(c, PC_MSG_PROTOCOL_ERROR, rid, body, len);
	free(body);
}

/* Answer a last error, then say goodbye. Input keeps being read and discarded:
 * closing a socket with unread bytes sends a reset, which can destroy the error
 * frame before the client reads it. The client's EOF or a deadline ends it. */
static void conn_drain(struct pc_conn *c, uint64_t rid, pc_code code, const char *msg)
{
	log_info("c=%llu merchant=%s/%s protocol_error=%s", (unsigned long long)c->id,
	         c->alliance, c->merchant, pc_code_name(code));
	send_protocol_error(c, rid, code, msg);
	evbuffer_drain(bufferevent_get_input(c->bev), evbuffer_get_length(bufferevent_get_input(c->bev)));
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->reading = false;
	c->deadline_us = pc_now_us() + DRAIN_TIMEOUT_US;
	conn_enter_state(c, CONN_DRAINING);
}

/* Reads no frame any more; once every request read is answered, close_notify
 * (conn_drained), then the client's EOF or the drain deadline closes it. */
static void conn_goodbye(struct pc_conn *c)
{
	evbuffer_drain(bufferevent_get_input(c->bev), evbuffer_get_length(bufferevent_get_input(c->bev)));
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->reading = false;
	c->deadline_us = pc_now_us() + DRAIN_TIMEOUT_US;
	conn_enter_state(c, CONN_DRAINING);
}

static void conn_drained(struct pc_conn *c);

/* Goodbye only once every request read before the error is answered: those may
 * be recorded, and an answer sent after close_notify is never read. */
static void conn_drained(struct pc_conn *c)
{
	if (c->said_goodbye || c->inflight > 0 || conn_out_len(c) != 0)
		return;
	c->said_goodbye = true;
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	if (ssl)
		SSL_shutdown(ssl);
}

static bool conn_may_read(const struct pc_conn *c)
{
	return c->state == CONN_ACTIVE && !srv->global_paused &&
	       c->inflight < srv->cfg.conn_max_inflight && conn_out_len(c) < OUT_HIGH;
}

static void conn_pause(struct pc_conn *c)
{
	if (c->reading) {
		bufferevent_disable(c->bev, EV_READ);
		c->reading = false;
		c->deadline_us = 0;   /* a paused connection is not stalling */
	}
}

static void conn_resume(struct pc_conn *c)
{
	if (c->reading || !conn_may_read(c))
		return;
	if (c->inflight >= srv->cfg.conn_max_inflight / 2 + 1 && srv->cfg.conn_max_inflight > 1)
		return;   /* hysteresis: wait until half the window is answered */
	if (conn_out_len(c) > OUT_LOW)
		return;
	bufferevent_enable(c->bev, EV_READ);
	c->reading = true;
	/* Bytes OpenSSL had decrypted or read ahead when reading was paused stay
	 * inside it: the socket will not turn readable for them, so libevent would
	 * never ask. Wake its read side by hand (libevent issues #854 and #690:
	 * bytes stuck in OpenSSL under a read watermark). */
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	if (ssl && SSL_has_pending(ssl))
		event_active(&c->bev->ev_read, EV_READ, 1);
	conn_read_frames(c);   /* frames already buffered raise no new read event */
}

static void global_check(void)
{
	if (srv->shutting_down)
		return;   /* stays paused until the loop exits */
	int live = pc_core_live(srv->core);
	if (!srv->global_paused && live >= srv->cfg.global_max_pending) {
		srv->global_paused = true;
		log_info("backpressure=on live=%d", live);
		struct pc_conn *c;
		TAILQ_FOREACH(c, &srv->active, link)
			conn_pause(c);
	} else if (srv->global_paused && live < srv->cfg.global_max_pending / 2) {
		srv->global_paused = false;
		log_info("backpressure=off live=%d", live);
		struct pc_conn *c, *next;
		TAILQ_FOREACH_SAFE(c, &srv->active, link, next)
			conn_resume(c);
	}
}

static void send_result(struct pc_conn *c, uint8_t type, uint64_t rid, const struct pc_outcome *o)
{
	size_t len;
	uint8_t *body = pc_answer_submit_result(o, &len);
	send_frame(c, type, rid, body, len);
	free(body);
}

/* A LOOKUP's body is the front end's to decode; what it asks, the core's. */
static void lookup(struct pc_conn *c, uint64_t rid, uint8_t *body, size_t len)
{
	pc_code code;
	Pointclear__V1__Lookup *lk = pc_lookup_unpack(body, len, &code);
	free(body);
	if (!lk) {
		struct pc_outcome o;
		pc_outcome_refused(&o, DISP(REJECTED), code,
		                   code == CODE(NON_CANONICAL) ? "the Lookup is not in canonical encoding"
		                                               : "the LOOKUP body is not a Lookup", 0);
		send_result(c, PC_MSG_LOOKUP_RESULT, rid, &o);
		pc_idset_remove(&c->ids, rid);
		return;
	}
	c->inflight++;
	pc_core_lookup(c->client, rid, lk->event_id);
	pc_lookup_free(lk);
}

/* A SUBMIT or LOOKUP goes to the core, which starts on it once the read is
 * parsed (pc_core_dispatch). A request id already in flight here would make two
 * answers of one id: that frame is skipped. The set costs one hash probe per
 * request, and holds at most --conn-max-inflight ids. */
static void dispatch(struct pc_conn *c, const struct pc_frame_header *h, uint8_t *body, size_t len)
{
	switch (h->type) {
	case PC_MSG_SUBMIT:
	case PC_MSG_LOOKUP:
		if (!pc_idset_add(&c->ids, h->request_id)) {
			free(body);
			log_info("c=%llu merchant=%s/%s protocol_error=DUPLICATE_REQUEST_ID request=%llu",
			         (unsigned long long)c->id, c->alliance, c->merchant,
			         (unsigned long long)h->request_id);
			send_protocol_error(c, h->request_id, CODE(DUPLICATE_REQUEST_ID),
			                    pc_code_message(CODE(DUPLICATE_REQUEST_ID)));
			break;
		}
		c->requests++;
		if (h->type == PC_MSG_LOOKUP) {
			lookup(c, h->request_id, body, len);
			break;
		}
		pc_core_submit(c->client, h->request_id, body, len);
		c->inflight++;
		break;
	case PC_MSG_PING:
		free(body);
		if (len) {
			send_protocol_error(c, h->request_id, CODE(UNEXPECTED_BODY),
			                    pc_code_message(CODE(UNEXPECTED_BODY)));
			break;
		}
		send_frame(c, PC_MSG_PONG, h->request_id, NULL, 0);
		break;
	default:
		free(body);
		send_protocol_error(c, h->request_id, CODE(UNKNOWN_MESSAGE_TYPE), "unknown message type");
		break;
	}
}

static void read_frames(struct pc_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	while (c->state == CONN_ACTIVE) {
		if (!conn_may_read(c)) {
			conn_pause(c);
			return;
		}
		size_t avail = evbuffer_get_length(in);
		if (avail == 0) {
			c->deadline_us = 0;
			return;
		}
		uint8_t hdr_bytes[PC_FRAME_HEADER_SIZE];
		size_t n = avail < sizeof hdr_bytes ? avail : sizeof hdr_bytes;
		evbuffer_copyout(in, hdr_bytes, n);
		struct pc_frame_header h;
		enum pc_frame_status st = pc_frame_peek(hdr_bytes, n, &h);
		if (st == PC_FRAME_MALFORMED) {
			conn_drain(c, 0, CODE(MALFORMED_FRAME), "frame length below the 9-byte minimum");
			return;
		}
		if (st == PC_FRAME_TOO_LARGE && n == PC_FRAME_HEADER_SIZE) {
			conn_drain(c, h.request_id, CODE(FRAME_TOO_LARGE), "frame exceeds 16384 bytes");
			return;
		}
		if (n < PC_FRAME_HEADER_SIZE || avail < pc_frame_total(&h)) {
			/* The client has the frame timeout to finish it, but only while this
			 * side reads: a deferred read callback can run here after a pause,
			 * and the resume that follows arms the deadline then. */
			if (c->reading && !c->deadline_us)
				c->deadline_us = pc_now_us() + (int64_t)srv->cfg.frame_timeout_ms * 1000;
			return;
		}
		size_t body_len = h.length - PC_FRAME_MIN_LENGTH;
		uint8_t *body = NULL;
		evbuffer_drain(in, PC_FRAME_HEADER_SIZE);
		if (body_len) {
			body = malloc(body_len);
			if (!body)
				fatal("conn: malloc");
			evbuffer_remove(in, body, body_len);
		}
		c->deadline_us = 0;
		c->last_frame_us = pc_mono_us();
		dispatch(c, &h, body, body_len);
		global_check();
	}
}

/* Parses every complete frame buffered, then queues its SUBMITs to the workers
 * with one lock and one wake-up instead of one per request. */
static void conn_read_frames(struct pc_conn *c)
{
	read_frames(c);
	pc_core_dispatch(srv->core);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct pc_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	if (c->state == CONN_ACTIVE)
		conn_read_frames(c);
	else if (c->state == CONN_DRAINING)
		evbuffer_drain(in, evbuffer_get_length(in));
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct pc_conn *c = arg;
	(void)bev;
	if (c->state == CONN_DRAINING)
		conn_drained(c);
	else if (c->state == CONN_ACTIVE) {
		conn_resume(c);
	}
}

static const char *tls_error_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();
	if (!e)
		return NULL;
	ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/* A handshake that failed, with why (tls.c) from the errors libevent recorded
 * for this connection, logged within the unauthenticated clients' rate. */
static void conn_handshake_failed(struct pc_conn *c, struct bufferevent *bev, short what)
{
	unsigned long errs[8];
	int n = 0;
	unsigned long e;
	while ((e = bufferevent_get_openssl_error(bev)) != 0)
		if (n < (int)(sizeof errs / sizeof errs[0]))
			errs[n++] = e;
	char detail[256];
	const char *reason;
	if (n == 0 && (what & BEV_EVENT_EOF)) {
		reason = "client_closed";
		snprintf(detail, sizeof detail, "the client closed before the handshake ended");
	} else if (n == 0 && EVUTIL_SOCKET_ERROR() != 0) {
		reason = "connection_error";
		snprintf(detail, sizeof detail, "%s",
		         evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	} else {
		reason = pc_tls_failure_reason(bufferevent_openssl_get_ssl(bev), errs, n, detail,
		                               sizeof detail);
	}
	pc_log_unauth(PC_LOG_INFO, "c=%llu peer=%s tls handshake failed reason=%s detail=\"%s\"",
	              (unsigned long long)c->id, c->peer, reason, detail);
	c->close_logged = true;
	conn_close(c, reason);
}

/* Identified, but its merchant holds every connection it may: told why, then
 * closed like any connection after a protocol error. */
static void conn_refuse_merchant(struct pc_conn *c)
{
	srv->refused_per_merchant++;
	log_warnx("c=%llu merchant=%s/%s peer=%s refused: connections per merchant at the limit "
	          "of %d refused_per_merchant=%llu", (unsigned long long)c->id, c->alliance,
	          c->merchant, c->peer, srv->cfg.max_connections_per_merchant,
	          (unsigned long long)srv->refused_per_merchant);
	conn_drain(c, 0, CODE(TOO_MANY_CONNECTIONS), pc_code_message(CODE(TOO_MANY_CONNECTIONS)));
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct pc_conn *c = arg;
	char buf[256];

	if (what & BEV_EVENT_CONNECTED) {
		if (c->state != CONN_HANDSHAKE)
			return;
		struct pc_keys *keys = pc_keys_acquire();
		const char *why = NULL;
		int rc = pc_tls_identify(bufferevent_openssl_get_ssl(bev), keys, c->alliance,
		                         c->merchant, &why);
		pc_keys_release(keys);
		if (rc < 0) {
			c->alliance[0] = c->merchant[0] = '\0';
			conn_close(c, why);
			return;
		}
		if (!limit_merchant_admit(c)) {
			conn_refuse_merchant(c);
			return;
		}
		struct pc_identity id;
		memcpy(id.alliance, c->alliance, sizeof id.alliance);
		memcpy(id.merchant, c->merchant, sizeof id.merchant);
		c->client = pc_core_client_new(srv->core, &id, c);
		c->deadline_us = 0;
		c->last_frame_us = pc_mono_us();
		conn_enter_state(c, CONN_ACTIVE);
		log_info("c=%llu merchant=%s/%s peer=%s authenticated", (unsigned long long)c->id,
		         c->alliance, c->merchant, c->peer);
		c->reading = true;
		conn_read_frames(c);
		return;
	}
	if (c->state == CONN_HANDSHAKE && (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))) {
		conn_handshake_failed(c, bev, what);
	} else if (what & BEV_EVENT_EOF) {
		/* frames may have arrived with the EOF (deferred callbacks) */
		if (c->state == CONN_ACTIVE)
			conn_read_frames(c);
		conn_close(c, "client closed");
	} else if (what & BEV_EVENT_ERROR) {
		const char *tls = tls_error_reason(buf, sizeof buf);
		conn_close(c, tls ? tls : "connection error");
	} else if (what & BEV_EVENT_TIMEOUT) {
		conn_close(c, "timeout");
	}
}

/* Closed at accept, before TLS: its address has its share of handshakes. */
static void conn_refuse_address(const struct sockaddr *sa, int salen)
{
	char host[48] = "?";
	srv->refused_per_address++;
	getnameinfo(sa, (socklen_t)salen, host, sizeof host, NULL, 0, NI_NUMERICHOST);
	pc_log_unauth(PC_LOG_WARN, "accept refused peer=%s reason=per_address_limit limit=%d "
	              "refused_per_address=%llu", host, srv->cfg.max_unauthenticated_per_address,
	              (unsigned long long)srv->refused_per_address);
}

void pc_conn_accept(evutil_socket_t fd, const struct sockaddr *sa, int salen)
{
	if (srv->shutting_down || srv->n_conns >= srv->cfg.max_connections ||
	    srv->n_handshaking >= srv->cfg.max_unauthenticated || !srv->tls) {
		pc_log_unauth(PC_LOG_WARN, "accept refused conns=%d handshaking=%d", srv->n_conns,
		              srv->n_handshaking);
		evutil_closesocket(fd);
		return;
	}
	struct pc_conn *c = calloc(1, sizeof *c);
	if (!c)
		fatal("conn: calloc");
	if (!limit_address_admit(c, sa)) {
		conn_refuse_address(sa, salen);
		free(c);
		evutil_closesocket(fd);
		return;
	}
	c->id = ++srv->next_conn_id;
	c->staged = evbuffer_new();
	if (!c->staged)
		fatalx("conn: evbuffer_new failed");
	char host[48], port[8];
	if (getnameinfo(sa, (socklen_t)salen, host, sizeof host, port, sizeof port,
	                NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(c->peer, sizeof c->peer, "%s:%s", host, port);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

	SSL *ssl = SSL_new(srv->tls);
	if (!ssl)
		fatalx("conn: SSL_new failed");
	c->bev = bufferevent_openssl_socket_new(srv->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!c->bev)
		fatalx("conn: bufferevent_openssl_socket_new failed");
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, OUT_LOW, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->state = CONN_HANDSHAKE;
	c->deadline_us = pc_now_us() + (int64_t)srv->cfg.handshake_timeout_ms * 1000;
	TAILQ_INSERT_TAIL(&srv->handshake, c, link);
	srv->n_handshaking++;
	srv->n_conns++;
	log_debug("c=%llu peer=%s accepted", (unsigned long long)c->id, c->peer);
}

/* The core's answer to one of c's requests. The connection's resume check runs
 * once its answers are flushed (on_flush): every answer to a connection that is
 * still there stages a frame. */
static void answer(struct pc_conn *c, uint8_t type, uint64_t request_id, const struct pc_outcome *o)
{
	if (c->state == CONN_ACTIVE || c->state == CONN_DRAINING)
		send_result(c, type, request_id, o);
	pc_idset_remove(&c->ids, request_id);
	c->inflight--;
}

void pc_conn_answer(void *cookie, uint64_t request_id, const struct pc_outcome *o)
{
	answer(cookie, PC_MSG_SUBMIT_RESULT, request_id, o);
}

void pc_conn_answer_lookup(void *cookie, uint64_t request_id, const struct pc_outcome *o)
{
	answer(cookie, PC_MSG_LOOKUP_RESULT, request_id, o);
}

void pc_conn_released(void *arg)
{
	(void)arg;
	global_check();
}

/* Moves c's staged frames to its bufferevent as one contiguous chain: libevent
 * 2.1 passes one chain per SSL_write, and each SSL_write makes its own TLS
 * records, so one chain per batch gives full-size records. */
static void conn_flush(struct pc_conn *c)
{
	TAILQ_REMOVE(&to_flush, c, flush_link);
	c->flush_queued = false;
	if (evbuffer_pullup(c->staged, -1) == NULL && evbuffer_get_length(c->staged) != 0)
		fatalx("conn: evbuffer_pullup failed");
	if (evbuffer_add_buffer(bufferevent_get_output(c->bev), c->staged) < 0)
		fatalx("conn: evbuffer_add_buffer failed");
	if (c->state == CONN_ACTIVE)
		conn_resume(c);   /* may read and stage more: c is queued again then */
}

/* Runs once per loop iteration in which frames were staged; closed connections
 * have left to_flush already. */
static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	struct pc_conn *c;
	while ((c = TAILQ_FIRST(&to_flush)) != NULL)
		conn_flush(c);
}

/* True when the rest of a frame has arrived but not been read: in the socket, or
 * inside OpenSSL. libevent 2.1's TLS bufferevent can miss such bytes after reading
 * was paused and resumed; the client is not stalling then, this side is. */
static bool conn_bytes_waiting(struct pc_conn *c)
{
	int queued = 0;
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	if (ssl && SSL_has_pending(ssl))
		return true;
	return ioctl(bufferevent_getfd(c->bev), FIONREAD, &queued) == 0 && queued > 0;
}

static void sweep_list(struct pc_conn_list *l, int64_t now, int64_t mono_now)
{
	struct pc_conn *c, *next;
	TAILQ_FOREACH_SAFE(c, l, link, next) {
		if (conn_idle(c, mono_now)) {
			srv->idle_closed++;
			conn_drain(c, 0, CODE(IDLE_TIMEOUT), pc_code_message(CODE(IDLE_TIMEOUT)));
			continue;
		}
		if (!c->deadline_us || c->deadline_us > now)
			continue;
		if (c->state == CONN_HANDSHAKE) {
			pc_log_unauth(PC_LOG_INFO, "c=%llu peer=%s tls handshake failed "
			              "reason=handshake_timeout detail=\"not done within %d ms\"",
			              (unsigned long long)c->id, c->peer, srv->cfg.handshake_timeout_ms);
			c->close_logged = true;
			conn_close(c, "handshake timeout");
		} else if (c->state == CONN_ACTIVE && c->reading && conn_bytes_waiting(c)) {
			log_info("c=%llu merchant=%s/%s frame bytes waiting unread: reading again",
			         (unsigned long long)c->id, c->alliance, c->merchant);
			c->deadline_us = now + (int64_t)srv->cfg.frame_timeout_ms * 1000;
			event_active(&c->bev->ev_read, EV_READ, 1);
		} else if (c->state == CONN_ACTIVE) {
			conn_drain(c, 0, CODE(FRAME_TIMEOUT), "frame not completed in time");
		} else {
			conn_close(c, "drain timeout");
		}
	}
}

void pc_conn_sweep(void)
{
	int64_t now = pc_now_us(), mono_now = pc_mono_us();
	sweep_list(&srv->handshake, now, mono_now);
	sweep_list(&srv->active, now, mono_now);
	sweep_list(&srv->draining, now, mono_now);
}

void pc_conn_shutdown_begin(void)
{
	struct pc_conn *c, *next;
	while ((c = TAILQ_FIRST(&srv->handshake)) != NULL)
		conn_close(c, "shutting down");
	TAILQ_FOREACH_SAFE(c, &srv->active, link, next)
		conn_resume(c);
}

void pc_conn_goodbye_all(void)
{
	struct pc_conn *c, *next;
	TAILQ_FOREACH_SAFE(c, &srv->active, link, next) {
		conn_goodbye(c);
		conn_drained(c);   /* nothing in flight and nothing to write: no write event comes */
	}
	TAILQ_FOREACH(c, &srv->draining, link)
		conn_drained(c);
}

void pc_conn_close_all(const char *reason)
{
	struct pc_conn *c;
	while ((c = TAILQ_FIRST(&srv->handshake)) != NULL)
		conn_close(c, reason);
	while ((c = TAILQ_FIRST(&srv->active)) != NULL)
		conn_close(c, reason);
	while ((c = TAILQ_FIRST(&srv->draining)) != NULL)
		conn_close(c, reason);
}

int pc_conn_reap(void)
{
	struct pc_conn *c;
	int n = 0;
	while ((c = TAILQ_FIRST(&srv->closed)) != NULL) {
		TAILQ_REMOVE(&srv->closed, c, link);
		free(c);
		n++;
	}
	return n;
}

/* After a key reload: every identified connection the new snapshot no longer
 * allows (its merchant suspended, its certificate revoked) is closed at once,
 * in-flight requests going on detached as for any close. */
static void close_refused_on(struct pc_conn_list *l, const struct pc_keys *keys)
{
	struct pc_conn *c, *next;
	TAILQ_FOREACH_SAFE(c, l, link, next) {
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
		const char *why = ssl ? pc_tls_refused(ssl, keys, c->alliance, c->merchant) : NULL;
		if (why)
			conn_close(c, why);
	}
}

void pc_conn_close_refused(const struct pc_keys *keys)
{
	close_refused_on(&srv->active, keys);
	close_refused_on(&srv->draining, keys);
}
