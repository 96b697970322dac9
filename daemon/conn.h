/* conn.h - merchant connections: TLS handshake, identity, frames in, answers out.
 *
 * States (each is also the list the connection sits on in struct pc_server):
 * HANDSHAKE -> ACTIVE -> (DRAINING) -> CLOSED. conn_enter_state() alone moves a
 * connection; conn_close() alone ends one, logging its reason once. A closed
 * connection is freed later by pc_conn_reap, never inside a callback, and the
 * requests it still has go on in the core detached. An identified connection is
 * one client of the core (core.h): SUBMITs go to it, its outcomes come back as
 * SUBMIT_RESULT frames. */
#ifndef PC_CONN_H
#define PC_CONN_H

#include <event2/util.h>

#include "outcome.h"
#include "server.h"

void pc_conn_init(struct pc_server *srv);

/* The listener's accept callback. */
void pc_conn_accept(evutil_socket_t fd, const struct sockaddr *sa, int salen);

/* The core's hooks (core.h). answer stages o as the SUBMIT_RESULT of request_id
 * on the connection cookie. Everything staged for a connection reaches its
 * bufferevent together, from one event that runs after the callbacks already
 * pending in this loop iteration. released re-checks the global backpressure. */
void pc_conn_answer(void *cookie, uint64_t request_id, const struct pc_outcome *o);
/* answer_lookup: the same as a LOOKUP_RESULT frame. */
void pc_conn_answer_lookup(void *cookie, uint64_t request_id, const struct pc_outcome *o);
void pc_conn_released(void *arg);

/* Closes connections whose handshake or frame deadline passed, and idle ones
 * (--idle-timeout-ms). */
void pc_conn_sweep(void);

/* Frees closed connections; runs outside any of their callbacks (janitor.c).
 * Returns how many. */
int pc_conn_reap(void);

/* Closes the identified connections that keys no longer allows (tls.h,
 * pc_tls_refused); called with each new key snapshot. */
struct pc_keys;
void pc_conn_close_refused(const struct pc_keys *keys);

/* Shutdown (PROTOCOL.md, "Shutdown"). shutdown_begin: connections still in
 * their handshake are closed; the others keep reading through the drain window,
 * their requests answered SHUTTING_DOWN by the core. goodbye_all: the window is
 * over; no frame is read any more, and each connection sends close_notify once
 * every request it read is answered and written, then waits for the client's
 * EOF (or its drain deadline) to close. */
void pc_conn_shutdown_begin(void);
void pc_conn_goodbye_all(void);

/* Closes every connection (the end of shutdown). */
void pc_conn_close_all(const char *reason);

#endif
