/* bench_dstats.h - the daemon's own account of a measured window, for
 * pointclear-bench and the integration tests: pointcleard logs a "stats" line
 * (daemon/stats_line.h) of where its events spent their time (every
 * --stats-interval-ms, and on SIGUSR1, starting to count afresh), and this reads
 * the line back from the daemon's log. */
#ifndef POINTCLEAR_BENCH_DSTATS_H
#define POINTCLEAR_BENCH_DSTATS_H

#include <stdbool.h>

#include "daemon/stats_line.h"

/* What every stats line holds, busy or not: the start of its fields, after the
 * log's time and level (PC_STATS_HEAD of daemon/stats_line.h). */
#define BENCH_DSTATS_MARK " " PC_STATS_HEAD

struct bench_dstats {
	unsigned long long events, batches;
	double per_batch;
	/* p50, p99, p99.9 in ms: to the verdict, waiting for the batch in flight,
	 * in its own batch, and all of it */
	double verify[3], wait[3], batch[3], daemon[3];
};

/* Parses the fields of one stats line that counted events. 0; -1 when the line
 * is not one, or counted none. */
int bench_dstats_parse(const char *line, struct bench_dstats *out);

/* Whether the daemon that writes this log logs stats on SIGUSR1 (its start line
 * says so); to an older one the signal would be fatal. */
bool bench_dstats_supported(const char *path);

/* How many stats lines the log at path holds so far; -1 when it cannot be read. */
int bench_dstats_count(const char *path);

/* Waits up to timeout_ms for the log to hold more than `before` stats lines and
 * parses the last one. 0; -1 when none came or it counted no event. */
int bench_dstats_wait(const char *path, int before, int timeout_ms, struct bench_dstats *out);

#endif
