/* bench_proc.h - the processes pointclear-bench runs and watches: the daemon
 * under test (started, awaited, stopped), `pointclear` for the set-up steps, and
 * what /proc says about CPU time and memory. Linux only. */
#ifndef POINTCLEAR_BENCH_PROC_H
#define POINTCLEAR_BENCH_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct bench_daemon {
	pid_t pid;            /* 0 when not running */
	int port;             /* the port it said it listens on */
	char log[4096];       /* its stdout and stderr */
};

/* Starts `argv` (argv[0] the daemon's path, NULL-terminated) with its output
 * written to log_path (created or truncated), and waits up to timeout_ms for
 * "pointcleard: listening on HOST:PORT" in that log. The child gets SIGTERM
 * should this process die. 0, or -1 with err (the daemon, if it still runs, is
 * killed). */
int bench_daemon_start(struct bench_daemon *d, char *const argv[], const char *log_path,
                       int timeout_ms, char *err, size_t errlen);

/* SIGTERM, then SIGKILL after timeout_ms; reaps it. Returns its exit status
 * (as waitpid), or -1 when it was not running. */
int bench_daemon_stop(struct bench_daemon *d, int timeout_ms);

/* Runs argv (argv[0] a path) to completion with stdout captured into out
 * (NUL-terminated, truncated to outlen) and stderr passed through. Returns the
 * exit status, or -1 with err when it could not be run or was killed. */
int bench_run(char *const argv[], char *out, size_t outlen, char *err, size_t errlen);

/* utime + stime of every thread of pid, in clock ticks. 0, or -1. */
int bench_proc_cpu_ticks(pid_t pid, uint64_t *ticks);

/* Whether pid is a process of this machine named comm (/proc/pid/comm): a pid
 * another machine's server reported may name anything here. */
int bench_proc_is(pid_t pid, const char *comm);

/* VmRSS and VmHWM (peak RSS) of pid, KiB. 0, or -1. */
int bench_proc_mem(pid_t pid, uint64_t *rss_kib, uint64_t *hwm_kib);

/* The whole machine's CPU time from /proc/stat, clock ticks: busy and total, and
 * steal, the time the hypervisor ran something else while this machine had work
 * (counted in busy: the work waited). */
int bench_sys_cpu(uint64_t *busy, uint64_t *total, uint64_t *steal);

/* CPU time this process used so far (user + system), microseconds. */
int64_t bench_self_cpu_us(void);

/* Raises the soft RLIMIT_NOFILE to the hard limit (children inherit it).
 * Returns the new soft limit. */
long bench_raise_nofile(void);

int64_t bench_mono_us(void);      /* CLOCK_MONOTONIC */

#endif
