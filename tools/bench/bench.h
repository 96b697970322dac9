/* bench.h - what the files of pointclear-bench share: the options, the state of
 * one run (its alliance, workload, daemon and client), the CPU and WAL marks the
 * phases take, and one entry point per phase. main.c runs the phases in order
 * and prints the summary; run.c holds the plumbing they share (the daemon, the
 * client, the database's maintenance, the marks); setup.c makes the alliance;
 * phase_*.c are the measurements, one file each. */
#ifndef POINTCLEAR_BENCH_H
#define POINTCLEAR_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bench_client.h"
#include "bench_flush.h"
#include "bench_proc.h"
#include "bench_stats.h"
#include "bench_workload.h"

#define BENCH_MEMBER_PREFIX "m"     /* members m0000001.. */
#define BENCH_MAX_DAEMON_ARGS 32
#define BENCH_MAX_RATES 32

struct bench_opts {
	const char *db;          /* libpq conninfo (--db, POINTCLEAR_DB) */
	const char *daemon_db;   /* the daemon's (--daemon-db); NULL: db */
	const char *home;        /* the daemon's keys and certificates (--home, POINTCLEAR_HOME) */
	const char *admin_home;  /* CA keys, merchants' files (--admin-home, POINTCLEAR_ADMIN_HOME) */
	const char *pointclear;  /* the CLI that makes the alliance (--pointclear) */
	const char *daemon;
	int merchants, members, connections, pipeline, idle, workers;
	double duration, warmup, baseline_duration, sweep_duration;
	bool baseline;
	const char *rates;
	const char *csv;
	const char *log_dir;
	int64_t max_events;
	uint64_t seed;
	const char *daemon_args[BENCH_MAX_DAEMON_ARGS];
	int ndaemon_args;
};

/* What the window marks sample: time, the daemon's CPU, the machine's, ours. */
struct bench_sample {
	int64_t mono_us;
	uint64_t daemon_ticks;
	pid_t writer_pid;         /* the backend writer_ticks is of; 0: none watched */
	uint64_t writer_ticks;
	uint64_t sys_busy, sys_total, sys_steal;
	int64_t self_cpu_us;
};

struct bench_usage {
	double seconds, daemon_cores, machine_cores, client_cores, stolen_cores;
	double writer_cores;   /* the daemon's writer backend; < 0 when not watched */
};

struct bench {
	struct bench_opts o;
	char pointclear[4096];   /* the CLI's path, resolved */
	char alliance[64];
	char logdir[1024];
	char ca_file[4096];
	struct bench_merchant *merchants;
	struct bench_workload wl;
	struct bench_daemon d;
	pid_t writer_pid;      /* the PostgreSQL backend of d's writer connection; 0 unknown */
	struct bench_client *cl;
	struct bench_sample s0, s1;
	long ncpu;
	int ndaemons;
	/* in the sweep: the window's marks also mark the daemon's stats (SIGUSR1) */
	bool mark_daemon;
	int dstats_before;     /* its stats lines before the window's end */
	/* in the sweep: the disk's flushes over the window, probed in the log dir */
	bool probe_flush;
	struct bench_flush flush;
	char flush_err[256];
};

/* Where the server's WAL and the bench alliance's ledger stand, read before and
 * after a closed-loop phase, outside its timing (run.c). */
struct bench_wal_mark {
	int64_t mono_us;
	int64_t wal_bytes;    /* pg_current_wal_lsn() as a byte position */
	int64_t ledger_seq;   /* the alliance's next ledger seq: events recorded so far */
	int64_t segment_bytes;
	bool ok;
};

/* ---- run.c: reporting, parsing, the plumbing every phase uses */

/* "bench: ..." on stderr: what the run is doing, not its result. */
void bench_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "pointclear-bench: ..." on stderr; returns 1. */
int bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Whole-string decimal int64 within [min, max]. 0, or -1. */
int bench_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

void bench_take_sample(struct bench *b, struct bench_sample *s);
/* The window-mark callback of bench_client: samples, the flush probe, SIGUSR1. */
void bench_on_mark(void *arg, int end);
/* CPU use between b->s0 and b->s1. */
struct bench_usage bench_usage_between(const struct bench *b);

void bench_take_wal_mark(struct bench *b, struct bench_wal_mark *m);
/* The "    WAL: ..." line: bytes per event over the events between the marks. */
void bench_print_wal(const struct bench_wal_mark *m0, const struct bench_wal_mark *m1,
                     int64_t events);

/* One parameterless statement (ANALYZE, VACUUM) on a connection of its own. 0,
 * or 1 with the failure reported. */
int bench_maintenance(struct bench *b, const char *sql);
/* ANALYZE, as autovacuum keeps a live database: run before each phase. */
int bench_refresh_statistics(struct bench *b);
/* Finds the running daemon's writer backend for the CPU marks (b->writer_pid). */
void bench_find_writer(struct bench *b);

/* Signs n more events for `what`. 0, or 1 with the failure reported. */
int bench_generate(struct bench *b, size_t n, const char *what);

int bench_daemon_up(struct bench *b, const char *label);
void bench_daemon_down(struct bench *b);
int bench_client_up(struct bench *b);
int bench_client_connect_all(struct bench *b);

/* What an answer breakdown says: recorded answers, and answers per second. */
uint64_t bench_recorded(const struct bench_result *r);
double bench_rate_of(const struct bench_result *r);
void bench_print_breakdown(const struct bench_result *r);

/* ---- setup.c */

/* The alliance bench-<time>, its merchants and members (untimed). */
int bench_setup(struct bench *b);

/* ---- the phases, one file each */

/* phase_verify.c: Ed25519 verifications per second on one core. */
double bench_measure_verify(struct bench *b, double seconds);

/* phase_closed.c: the closed loop on the running daemon. */
struct bench_closed_out {
	double rate;
	struct bench_pct pct;
	struct bench_usage use;
	uint64_t hwm_kib, rss_kib;
	uint32_t sec_min, sec_max;
	int full_secs;
	double window_s;
	bool ok;
};
int bench_closed_phase(struct bench *b, const char *title, double warmup, double duration,
                       struct bench_closed_out *out);

/* phase_idle.c: idle connections on a fresh daemon. */
struct bench_idle_out {
	int n, ok;
	uint64_t rss_before, rss_after;
	bool measured;
};
int bench_idle_phase(struct bench *b, struct bench_idle_out *out);

/* phase_sweep.c: the open-loop sweep on the running daemon. */
struct bench_sweep_point {
	double offered, achieved;
	struct bench_pct pct;
	double daemon_cores, stolen_cores;
	double writer_cores;      /* < 0: not watched */
	struct bench_pct flush;   /* n == 0: the probe failed */
};
int bench_sweep_phase(struct bench *b, double max_rate, struct bench_sweep_point *pts,
                      int *npts);

/* phase_naive.c: the naive baseline, no daemon: one transaction per event from
 * --connections database sessions. */
struct bench_naive_out {
	double rate;
	struct bench_pct pct;
	int sessions;
	bool ok;
};
int bench_naive_phase(struct bench *b, double warmup, double duration,
                      struct bench_naive_out *out);

#endif
