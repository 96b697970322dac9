/* core.h - the clearing rules behind every front end.
 *
 * A front end (the TLS connection code today, an HTTPS one later) decodes what
 * it reads into requests - the SignedEvent bytes of a SUBMIT, the event id of a
 * LOOKUP - and hands them over for a client, its authenticated caller. The core
 * verifies SUBMITs on worker threads, records them in batches through the writer,
 * looks LOOKUPs up (lookup.h), and answers each request with one struct
 * pc_outcome, handed to the front end's answer hooks with the client's cookie.
 * Recorded and replayed outcomes of one client's SUBMITs come in the order they
 * were submitted; a refusal can overtake them, and a LOOKUP is answered on its
 * own (PROTOCOL.md: answers are matched by request id, not by order). No hook
 * runs inside pc_core_submit or pc_core_lookup. The core knows nothing of
 * frames, protobuf answers, sockets or TLS.
 *
 * Everything here runs on the loop thread of the base the core was made with. */
#ifndef PC_CORE_H
#define PC_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "db.h"
#include "outcome.h"

struct event_base;
struct pc_core;
struct pc_core_client;

/* Who a client is: the alliance and merchant its front end authenticated
 * (the TLS front end: O and CN of the client certificate). */
struct pc_identity {
	char alliance[65];
	char merchant[65];
};

struct pc_core_hooks {
	/* The outcome of request_id, for a client still there. o holds only during
	 * the call. The hook must not free the client. */
	void (*answer)(void *cookie, uint64_t request_id, const struct pc_outcome *o);
	/* The same for a LOOKUP (pc_core_lookup). */
	void (*answer_lookup)(void *cookie, uint64_t request_id, const struct pc_outcome *o);
	/* A request left the core, answered or dropped: pc_core_live fell. */
	void (*released)(void *arg);
	void *arg;
};

/* The core with its worker threads (cfg->workers) and writer; cfg must outlive
 * it. It records nothing until a database is attached. */
struct pc_core *pc_core_new(struct event_base *base, const struct pc_config *cfg,
                            const struct pc_core_hooks *hooks);
/* Closes the writer's database connection (its batches are answered RETRYABLE),
 * joins the workers; requests still in the core are dropped unanswered. */
void pc_core_free(struct pc_core *core);

/* Connects the writer to cfg->db. on_ready(arg), if not NULL, runs each time the
 * connection is (again) ready. While it is down, what waits is answered
 * RETRYABLE; it comes back through pc_db_tick (periodic work, janitor.c). */
void pc_core_open_db(struct pc_core *core, void (*on_ready)(void *arg), void *arg);
struct pc_db *pc_core_db(const struct pc_core *core);   /* NULL before open_db */

/* Requests submitted and not yet answered or dropped, over all clients. */
int pc_core_live(const struct pc_core *core);

/* The stats line of the write path (writer.h). */
void pc_core_log_stats(struct pc_core *core);

struct pc_core_client *pc_core_client_new(struct pc_core *core, const struct pc_identity *id,
                                          void *cookie);
/* The client is gone: its requests go on detached, answering no one. */
void pc_core_client_free(struct pc_core_client *cl);

/* Submits one SignedEvent (envelope, adopted) as request_id of cl. It waits until
 * pc_core_dispatch, which hands every request submitted since to the workers
 * under one lock. */
void pc_core_submit(struct pc_core_client *cl, uint64_t request_id, uint8_t *envelope,
                    size_t len);
void pc_core_dispatch(struct pc_core *core);

/* Asks for the stored outcome of (cl's alliance, cl's merchant, event_id) as
 * request_id of cl (PROTOCOL.md, "Lookup"). Answered through answer_lookup after
 * pc_core_dispatch: REPLAYED with the original receipt byte for byte, or
 * REJECTED NOT_FOUND, MISSING_FIELD (event_id NULL or empty), INVALID_FIELD (not
 * an identifier); RETRYABLE UNAVAILABLE or SHUTTING_DOWN. Nothing is recorded.
 * event_id is copied. */
void pc_core_lookup(struct pc_core_client *cl, uint64_t request_id, const char *event_id);

/* Graceful stop (PROTOCOL.md, "Shutdown"): batches already sent to the database
 * still get their real outcomes; every other request, waiting or submitted from
 * now on, is answered RETRYABLE / SHUTTING_DOWN. pc_core_live falls to 0 once
 * the batches in flight are answered. */
void pc_core_shutdown(struct pc_core *core);
bool pc_core_stopping(const struct pc_core *core);

#endif
