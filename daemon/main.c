/* main.c - pointcleard: start-up, signals, the event loop, shutdown.
 *
 * Start-up order: settings, operator key, worker threads, then the control
 * connection loads the key cache; once merchants are known the writer connects,
 * and once it is ready the listener opens. Nothing here blocks once the loop runs. */
#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conn.h"
#include "control.h"
#include "core.h"
#include "janitor.h"
#include "clock.h"
#include "keycache.h"
#include "log.h"
#include "receipt.h"
#include "server.h"
#include "tls.h"

static struct pc_server server;

static void open_listener(struct pc_server *srv);

/* The listener opens when the writer first reaches the database, so that the
 * first events are not answered "unavailable" by a daemon that said it was ready. */
static void on_writer_ready(void *arg)
{
	struct pc_server *srv = arg;
	if (!srv->listener && !srv->shutting_down)
		open_listener(srv);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
	(void)l;
	(void)arg;
	pc_conn_accept(fd, sa, salen);
}

static void on_listener_error(struct evconnlistener *l, void *arg)
{
	(void)l;
	(void)arg;
	log_warn("accept");
}

/* Once merchants are known, the writer connects. */
static void on_first_keys(void *arg)
{
	struct pc_server *srv = arg;
	pc_core_open_db(srv->core, on_writer_ready, srv);
}

/* The TLS trust follows the alliance CAs of each new key snapshot, and the live
 * connections its merchants' status and revoked certificates. */
static void on_new_keys(void *arg, const struct pc_keys *old, const struct pc_keys *next)
{
	struct pc_server *srv = arg;
	pc_conn_close_refused(next);   /* suspended merchants, revoked certificates */
	if (old && pc_keys_same_cas(old, next))
		return;
	SSL_CTX *ctx = pc_tls_server_ctx(srv->cert_file, srv->key_file, next);
	if (ctx) {
		SSL_CTX_free(srv->tls);   /* connections hold their own references */
		srv->tls = ctx;
	} else if (!srv->tls) {
		fatalx("cannot build the TLS context from %s", srv->cert_file);
	} else {
		log_error("TLS reload failed; keeping the previous trust");
	}
}

static void open_listener(struct pc_server *srv)
{
	/* A numeric address only: no name lookup may block the loop. */
	struct sockaddr_storage ss = { 0 };
	int sslen;
	char addr[128];
	snprintf(addr, sizeof addr, "%s:%d", srv->cfg.listen_host, srv->cfg.listen_port);
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, srv->cfg.listen_host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)srv->cfg.listen_port);
		sslen = sizeof *sin;
	} else if (inet_pton(AF_INET6, srv->cfg.listen_host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)srv->cfg.listen_port);
		sslen = sizeof *sin6;
	} else {
		fatalx("--listen %s is not a numeric address", addr);
	}
	srv->listener = evconnlistener_new_bind(srv->base, on_accept, NULL,
	                                        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 1024,
	                                        (struct sockaddr *)&ss, sslen);
	if (!srv->listener)
		fatal("listen on %s", addr);
	evconnlistener_set_error_cb(srv->listener, on_listener_error);

	struct sockaddr_storage bound;
	socklen_t blen = sizeof bound;
	getsockname(evconnlistener_get_fd(srv->listener), (struct sockaddr *)&bound, &blen);
	int port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
	                                             : ((struct sockaddr_in *)&bound)->sin_port);
	fprintf(stderr, "pointcleard: listening on %s:%d\n", srv->cfg.listen_host, port);
	fflush(stderr);
}

/* SIGUSR1: the stats line now, and counting afresh (the bench marks its steps) */
static void on_stats_signal(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	pc_core_log_stats(server.core);
}

/* SIGTERM, SIGINT: graceful stop (PROTOCOL.md, "Shutdown"). Accept nothing
 * more; batches already sent get their real outcomes; for the drain window every
 * request read is answered SHUTTING_DOWN; then the janitor has each connection
 * say goodbye (close_notify) and ends the loop. A second signal ends the window
 * at once. */
static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (server.shutting_down) {
		log_info("signal=%d again: the drain window ends now", (int)sig);
		server.drain_until_us = 0;
		return;
	}
	log_info("signal=%d shutting down live=%d drain_window_ms=%d", (int)sig,
	         pc_core_live(server.core), server.cfg.drain_window_ms);
	server.shutting_down = true;
	server.drain_until_us = pc_mono_us() + (int64_t)server.cfg.drain_window_ms * 1000;
	if (server.listener) {
		evconnlistener_free(server.listener);
		server.listener = NULL;
	}
	pc_core_shutdown(server.core);
	/* SHUTTING_DOWN answers cost nothing: read on, whatever the backpressure */
	server.global_paused = false;
	pc_conn_shutdown_begin();
}

int main(int argc, char **argv)
{
	struct pc_server *srv = &server;
	pc_config_parse(&srv->cfg, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0)
		fatalx("sodium_init failed");
	if (evthread_use_pthreads() < 0)
		fatalx("evthread_use_pthreads failed");

	char path[4096];
	snprintf(path, sizeof path, "%s/operator/receipt.key", srv->cfg.home);
	if (pc_receipt_load_key(path) < 0)
		return 1;
	snprintf(srv->cert_file, sizeof srv->cert_file, "%s/tls/server.crt", srv->cfg.home);
	snprintf(srv->key_file, sizeof srv->key_file, "%s/tls/server.key", srv->cfg.home);

	srv->base = event_base_new();
	if (!srv->base)
		fatalx("event_base_new failed");
	TAILQ_INIT(&srv->handshake);
	TAILQ_INIT(&srv->active);
	TAILQ_INIT(&srv->draining);
	TAILQ_INIT(&srv->closed);
	pc_conn_init(srv);
	struct pc_core_hooks hooks = { pc_conn_answer, pc_conn_answer_lookup, pc_conn_released, NULL };
	srv->core = pc_core_new(srv->base, &srv->cfg, &hooks);
	/* stats_interval_ms also tells pointclear-bench that SIGUSR1 asks for stats */
	log_info("starting workers=%d batch_max=%d batches_in_flight=%d stats_interval_ms=%d",
	         srv->cfg.workers, srv->cfg.batch_max, srv->cfg.batches_in_flight,
	         srv->cfg.stats_interval_ms);

	struct event *sigusr1 = evsignal_new(srv->base, SIGUSR1, on_stats_signal, NULL);
	event_add(sigusr1, NULL);
	struct event *sigterm = evsignal_new(srv->base, SIGTERM, on_signal, NULL);
	struct event *sigint = evsignal_new(srv->base, SIGINT, on_signal, NULL);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);

	pc_janitor_start(srv);
	struct pc_control_hooks ch = { on_new_keys, on_first_keys, srv };
	pc_control_start(srv->base, &srv->cfg, &ch);
	event_base_dispatch(srv->base);

	log_info("stopped live=%d", pc_core_live(srv->core));
	pc_conn_close_all("shutting down");
	pc_conn_reap();
	if (srv->listener)
		evconnlistener_free(srv->listener);
	pc_control_stop();   /* first: a lookup still in flight is answered while the core is there */
	pc_core_free(srv->core);
	pc_janitor_stop();
	event_free(sigusr1);
	event_free(sigterm);
	event_free(sigint);
	return 0;
}
