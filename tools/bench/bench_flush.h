/* bench_flush.h - the disk's flush latency while a window is measured, for
 * pointclear-bench.
 *
 * Every acknowledgement waits for PostgreSQL's commit to reach the disk
 * (fdatasync of the WAL). When the kernel writes back other dirty pages, a flush
 * on a disk with a volatile write cache waits for them too; on the bench's
 * machine that made single commits take 100 ms. So the latency of a sweep step is
 * read next to what the disk allowed meanwhile: a thread overwrites one 4 KiB
 * block of a file and fdatasyncs it every interval, as a commit on a recycled WAL
 * segment does, and keeps each write-plus-flush time. The file belongs on the
 * filesystem of PostgreSQL's WAL (the bench puts it in its --log-dir). */
#ifndef POINTCLEAR_BENCH_FLUSH_H
#define POINTCLEAR_BENCH_FLUSH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "bench_stats.h"

struct bench_flush {
	pthread_t thread;
	int fd;
	char path[4096];
	int interval_ms;
	bool prepared, running;
	atomic_bool stop;
	struct bench_lat lat;   /* written by the thread alone until joined */
	int err;                /* errno of a failed write or flush, else 0 */
};

/* Creates DIR/flush-probe with its block on disk, so that the probing, started
 * later, only overwrites. 0, or -1 with a message in err. */
int bench_flush_prepare(struct bench_flush *f, const char *dir, int interval_ms, char *err,
                        size_t errcap);
/* Starts probing every interval_ms: only a thread's creation, so that a window's
 * start mark can call it without blocking. 0, or -1 with a message in err. */
int bench_flush_start(struct bench_flush *f, char *err, size_t errcap);
/* Asks the thread to stop after the flush in progress; safe from any thread. */
void bench_flush_request_stop(struct bench_flush *f);
/* Joins the thread and fills out with the flushes' percentiles; -1 when it never
 * started, or a write or flush failed (out is then empty). Removes the file; after
 * a prepare, always call it. */
int bench_flush_finish(struct bench_flush *f, struct bench_pct *out);

#endif
