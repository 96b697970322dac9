/* stats_line.h - the daemon's "stats" log line: its field names, their order and
 * their printf formats, owned by the daemon and read back by pointclear-bench
 * (tools/bench/bench_dstats.c) and the integration tests. Both sides build their
 * formats from the names below, and a unit test (tests/unit/test_stats_line.c)
 * formats a line with PC_STATS_FMT and parses it with the bench's parser, so
 * the writer and the reader cannot drift apart.
 *
 * The writer logs one line every --stats-interval-ms and on SIGUSR1, then starts
 * counting afresh. Its fields, in this order:
 *   seconds           how long the line's count ran (since the previous line)
 *   events            events recorded in that time (decided and committed)
 *   batches           pc_record_batch calls that recorded them
 *   events_per_batch  events / batches (absent when no event was recorded)
 *   queued            requests verified and waiting for a batch right now
 *   verify_ms         per recorded event, p50/p99/p99.9 in ms from its complete
 *                     frame to its verdict (signature and rules)
 *   wait_ms           from its verdict to its batch being sent (the wait for
 *                     the batch in flight)
 *   batch_ms          from its batch being sent to its commit (its own batch)
 *   daemon_ms         from its complete frame to its commit (all of it)
 * A line that counted no event stops after queued (PC_STATS_FMT_IDLE). */
#ifndef POINTCLEAR_STATS_LINE_H
#define POINTCLEAR_STATS_LINE_H

#define PC_STATS_TAG        "stats"
#define PC_STATS_SECONDS    "seconds"
#define PC_STATS_EVENTS     "events"
#define PC_STATS_BATCHES    "batches"
#define PC_STATS_PER_BATCH  "events_per_batch"
#define PC_STATS_QUEUED     "queued"
#define PC_STATS_VERIFY_MS  "verify_ms"
#define PC_STATS_WAIT_MS    "wait_ms"
#define PC_STATS_BATCH_MS   "batch_ms"
#define PC_STATS_DAEMON_MS  "daemon_ms"

/* What every stats line starts with, busy or not. */
#define PC_STATS_HEAD PC_STATS_TAG " " PC_STATS_SECONDS "="

/* One duration field's value: p50/p99/p99.9 in ms (three doubles). */
#define PC_STATS_QUANTILES_FMT "%.1f/%.1f/%.1f"

/* A line that counted events: seconds (double), events and batches (unsigned
 * long long), events_per_batch (double), queued (int), then the four duration
 * fields, each a string formatted with PC_STATS_QUANTILES_FMT. */
#define PC_STATS_FMT                                                                  \
	PC_STATS_HEAD "%.1f " PC_STATS_EVENTS "=%llu " PC_STATS_BATCHES "=%llu "          \
	PC_STATS_PER_BATCH "=%.1f " PC_STATS_QUEUED "=%d " PC_STATS_VERIFY_MS "=%s "      \
	PC_STATS_WAIT_MS "=%s " PC_STATS_BATCH_MS "=%s " PC_STATS_DAEMON_MS "=%s"

/* A line that counted none: seconds (double), queued (int). */
#define PC_STATS_FMT_IDLE                                                             \
	PC_STATS_HEAD "%.1f " PC_STATS_EVENTS "=0 " PC_STATS_BATCHES "=0 "                \
	PC_STATS_QUEUED "=%d"

/* The reader's side of PC_STATS_FMT from " events=" on (sscanf): events,
 * batches (unsigned long long *), events_per_batch (double *), queued skipped,
 * then p50, p99, p99.9 of each duration field in order (twelve double *). */
#define PC_STATS_SCAN_FROM_EVENTS " " PC_STATS_EVENTS "="
#define PC_STATS_SCAN                                                                 \
	PC_STATS_SCAN_FROM_EVENTS "%llu " PC_STATS_BATCHES "=%llu "                       \
	PC_STATS_PER_BATCH "=%lf " PC_STATS_QUEUED "=%*d "                                \
	PC_STATS_VERIFY_MS "=%lf/%lf/%lf " PC_STATS_WAIT_MS "=%lf/%lf/%lf "               \
	PC_STATS_BATCH_MS "=%lf/%lf/%lf " PC_STATS_DAEMON_MS "=%lf/%lf/%lf"

#endif
