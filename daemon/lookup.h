/* lookup.h - LOOKUP: the stored outcome of a merchant's event ids.
 *
 * A lookup runs pc_lookup_entries on the control connection (control.c), never
 * on the writer's: the writer's pipeline is the hot path, and a lookup in it
 * would hold a batch's place in --batches-in-flight. pc_lookup_entries takes no
 * lock, so only the control connection's own work (key loads, the hold sweep)
 * can delay it. The lookups of one client gathered in one loop iteration go in
 * one query. The rows are the writer's rows of a replay, rebuilt into the same
 * receipt trees (rowtree.h), so a found entry is answered byte for byte as a
 * resubmission of its original bytes would be. */
#ifndef PC_LOOKUP_H
#define PC_LOOKUP_H

#include <stdint.h>
#include <sys/queue.h>

#include "db.h"
#include "outcome.h"

struct pc_core_client;

struct pc_lookup {
	TAILQ_ENTRY(pc_lookup) link;          /* the core's pending lookups */
	TAILQ_ENTRY(pc_lookup) client_link;   /* its client's lookups */
	struct pc_core_client *client;        /* weak; NULL once the client is gone */
	uint64_t request_id;
	char event_id[65];
	pc_code code;                         /* refused before any query: why; else 0 */
};

TAILQ_HEAD(pc_lookup_list, pc_lookup);

/* answer(arg, l, o) delivers l's outcome and frees l; o holds only during the call. */
typedef void (*pc_lookup_answer_fn)(void *arg, struct pc_lookup *l, const struct pc_outcome *o);

/* Asks db for the n lookups ls of one (alliance, merchant), n >= 1. Each is
 * answered once: REPLAYED with its receipt, REJECTED NOT_FOUND, or RETRYABLE
 * UNAVAILABLE when db is NULL, not ready, lost or failed (at once in those
 * cases that are known now). ls is copied. */
void pc_lookup_send(struct pc_db *db, const char *alliance, const char *merchant,
                    struct pc_lookup *const *ls, int n, pc_lookup_answer_fn answer, void *arg);

#endif
