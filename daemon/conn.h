/* conn.h - merchant connections: TLS handshake, identity, frames in, answers out.
 *
 * States (each is also the list the connection sits on in struct pc_server):
 * HANDSHAKE -> ACTIVE -> (DRAINING) -> CLOSED. conn_enter_state() alone moves a
 * connection; conn_close() alone ends one, logging its reason once. A closed
 * connection is freed after the loop iteration, never inside a callback, and the
 * requests it still has go on detached. */
#ifndef PC_CONN_H
#define PC_CONN_H

#include <event2/util.h>

#include "request.h"
#include "server.h"

void pc_conn_init(struct pc_server *srv);

/* The listener's accept callback. */
void pc_conn_accept(evutil_socket_t fd, const struct sockaddr *sa, int salen);

/* A worker finished with r (VERIFIED or REJECTED). */
void pc_conn_on_verified(struct pc_request *r, void *arg);

/* The writer's answer: stages body as r's SUBMIT_RESULT (if its connection is
 * still there), frees body and r. Everything staged for a connection reaches its
 * bufferevent together, from one event that runs after the callbacks already
 * pending in this loop iteration. */
void pc_conn_answer(struct pc_request *r, uint8_t *body, size_t len);

/* Closes connections whose handshake or frame deadline passed. */
void pc_conn_sweep(void);

/* Closes every connection (shutdown). */
void pc_conn_close_all(const char *reason);

#endif
