/* writer.h - group commit: verified events from every connection are gathered
 * into batches, each recorded by one pc_record_batch call in its own transaction,
 * pipelined so the next batch is on the wire while the previous one commits.
 * Each event still gets its own answer, sent only once its batch committed. */
#ifndef PC_WRITER_H
#define PC_WRITER_H

#include "config.h"
#include "db.h"
#include "outcome.h"
#include "request.h"

struct pc_writer;

/* answer(arg, r, o) delivers r's outcome and frees r; o holds only during the call. */
typedef void (*pc_writer_answer_fn)(void *arg, struct pc_request *r, const struct pc_outcome *o);

struct pc_writer *pc_writer_new(const struct pc_config *cfg, pc_writer_answer_fn answer, void *arg);
void pc_writer_attach(struct pc_writer *w, struct pc_db *db);
void pc_writer_enqueue(struct pc_writer *w, struct pc_request *r);
void pc_writer_kick(struct pc_writer *w);        /* the database became ready */
void pc_writer_db_lost(struct pc_writer *w);     /* answer what waits: retryable */
/* Answers o to every queued request that was never in a batch (shutdown); those
 * back from a failed batch stay and are sent again. */
void pc_writer_drop_unsent(struct pc_writer *w, const struct pc_outcome *o);
/* Logs one line of where the events its committed batches answered spent their
 * time since the last line, as p50/p99/p99.9 in ms: verify (frame complete to
 * verified), wait (verified to its batch sent), batch (sent to committed),
 * daemon (frame complete to committed); then starts counting afresh. */
void pc_writer_log_stats(struct pc_writer *w);
void pc_writer_free(struct pc_writer *w);

#endif
