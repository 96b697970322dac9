/* batching.h - the writer's rules for forming batches, apart from the database:
 * how many queued events the next batch takes, whether it may go out yet, and
 * what a failed batch's events do next. Pure functions of the queue and the
 * counts, so the unit tests check them without PostgreSQL. */
#ifndef PC_BATCHING_H
#define PC_BATCHING_H

#include <stdbool.h>

#include "request.h"

/* Retries of a batch that failed on a deadlock or serialization failure. */
#define PC_BATCH_MAX_RETRIES 5

/* How many events at the head of queue (queued of them) the next batch takes:
 * up to batch_max, but after a failure only the failed events at the front, at
 * most as many as their batch_limit allows. queue must not be empty. */
int pc_batch_take(const struct pc_request_list *queue, int queued, int batch_max);

/* Whether the next batch may go out now, with inflight batches unanswered. A
 * batch sent while another runs waits in PostgreSQL behind it (one alliance's
 * batches take turns on its ledger head), so its events wait a whole batch longer
 * than if they had joined the next one. That only pays when batches are long,
 * where it hides the round trip between them: a second batch goes out only once a
 * quarter of a full one is waiting. */
bool pc_batch_may_send(int queued, int inflight, int batches_in_flight, int batch_max);

enum pc_batch_next {
	PC_BATCH_RETRY,     /* requeue as it was: a transient failure */
	PC_BATCH_BISECT,    /* requeue, each half of it to go on its own */
	PC_BATCH_GIVE_UP,   /* one event the database cannot take: answer it */
};

/* What the n events of a batch that failed with sqlstate (NULL when none) do
 * next; counts the retry or sets each event's batch_limit accordingly. One event
 * the database cannot take must not fail the others, nor all of them forever:
 * the batch is halved until the failure is alone. */
enum pc_batch_next pc_batch_after_error(struct pc_request *const *reqs, int n,
                                        const char *sqlstate);

#endif
