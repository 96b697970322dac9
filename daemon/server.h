/* server.h - the daemon's one shared context, owned by main.c. */
#ifndef PC_SERVER_H
#define PC_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <openssl/ssl.h>

#include "config.h"

struct pc_conn;
struct pc_core;
TAILQ_HEAD(pc_conn_list, pc_conn);

#ifndef TAILQ_FOREACH_SAFE   /* BSD has it; glibc's sys/queue.h does not */
#define TAILQ_FOREACH_SAFE(var, head, field, tvar) \
	for ((var) = TAILQ_FIRST(head); (var) && ((tvar) = TAILQ_NEXT(var, field), 1); (var) = (tvar))
#endif

struct pc_server {
	struct event_base *base;
	struct pc_config cfg;
	char cert_file[4096], key_file[4096];
	SSL_CTX *tls;                     /* for new connections; swapped on reload */
	struct pc_core *core;
	struct evconnlistener *listener;
	/* a connection's state is the list it is on */
	struct pc_conn_list handshake;    /* TLS handshake not finished */
	struct pc_conn_list active;       /* identified; frames are read */
	struct pc_conn_list draining;     /* answering what was read, then close_notify */
	struct pc_conn_list closed;       /* freed by the janitor's next reaping */
	int n_conns;
	int n_handshaking;                /* the length of handshake */
	bool global_paused;
	bool shutting_down;               /* a signal came: the drain window (PROTOCOL.md) */
	int64_t drain_until_us;           /* monotonic end of the drain window */
	bool saying_goodbye;              /* the window is over: close_notify, then exit */
	int64_t exit_by_us;               /* monotonic: leave the loop even if not all is answered */
	uint64_t next_conn_id;
	uint64_t refused_per_address;     /* closed at accept: --max-unauthenticated-per-address */
	uint64_t refused_per_merchant;    /* TOO_MANY_CONNECTIONS: --max-connections-per-merchant */
	uint64_t idle_closed;             /* IDLE_TIMEOUT: --idle-timeout-ms */
};

#endif
