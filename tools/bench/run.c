/* run.c - the plumbing every phase of pointclear-bench shares: its messages, the
 * CPU and WAL marks around a window, the database's maintenance between phases,
 * the daemon under test and the load client (see bench.h). */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "bench_dstats.h"
#include "db.h"
#include "pointclear/codec.h"

#define DAEMON_START_MS 30000
#define CONNECT_MS 60000

void bench_progress(const char *fmt, ...)
{
	va_list ap;

	fputs("bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int bench_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("pointclear-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int bench_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* ---------------------------------------------------------------- marks */

void bench_take_sample(struct bench *b, struct bench_sample *s)
{
	s->mono_us = bench_mono_us();
	if (b->d.pid <= 0 || bench_proc_cpu_ticks(b->d.pid, &s->daemon_ticks) != 0)
		s->daemon_ticks = 0;
	s->writer_pid = b->writer_pid;
	if (b->writer_pid <= 0 || bench_proc_cpu_ticks(b->writer_pid, &s->writer_ticks) != 0)
		s->writer_pid = 0;
	if (bench_sys_cpu(&s->sys_busy, &s->sys_total, &s->sys_steal) != 0)
		s->sys_busy = s->sys_total = s->sys_steal = 0;
	s->self_cpu_us = bench_self_cpu_us();
}

void bench_on_mark(void *arg, int end)
{
	struct bench *b = arg;

	bench_take_sample(b, end ? &b->s1 : &b->s0);
	if (b->probe_flush && !end)
		b->probe_flush = bench_flush_start(&b->flush, b->flush_err, sizeof b->flush_err) == 0;
	else if (b->probe_flush)
		bench_flush_request_stop(&b->flush);
	if (b->mark_daemon && b->d.pid > 0) {
		if (end)
			b->dstats_before = bench_dstats_count(b->d.log);
		kill(b->d.pid, SIGUSR1);
	}
}

struct bench_usage bench_usage_between(const struct bench *b)
{
	struct bench_usage u = {0};
	double tck = (double)sysconf(_SC_CLK_TCK);

	u.seconds = (double)(b->s1.mono_us - b->s0.mono_us) / 1e6;
	u.writer_cores = -1;
	if (u.seconds <= 0)
		return u;
	u.daemon_cores = (double)(b->s1.daemon_ticks - b->s0.daemon_ticks) / tck / u.seconds;
	if (b->s0.writer_pid > 0 && b->s1.writer_pid == b->s0.writer_pid &&
	    b->s1.writer_ticks >= b->s0.writer_ticks)
		u.writer_cores = (double)(b->s1.writer_ticks - b->s0.writer_ticks) / tck / u.seconds;
	if (b->s1.sys_total > b->s0.sys_total) {
		double total = (double)(b->s1.sys_total - b->s0.sys_total);

		u.machine_cores = (double)(b->s1.sys_busy - b->s0.sys_busy) / total * (double)b->ncpu;
		u.stolen_cores = (double)(b->s1.sys_steal - b->s0.sys_steal) / total * (double)b->ncpu;
	}
	u.client_cores = (double)(b->s1.self_cpu_us - b->s0.self_cpu_us) / 1e6 / u.seconds;
	return u;
}

/* WAL per recorded event is what the disk must take at a given rate, and how
 * often the server starts a new segment, which on a new cluster means writing
 * 16 MiB of zeros while commits wait. */
void bench_take_wal_mark(struct bench *b, struct bench_wal_mark *m)
{
	static const char sql[] =
		"SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint,"
		" (SELECT next_seq FROM ledger_heads WHERE alliance_id = $1),"
		" pg_size_bytes(current_setting('wal_segment_size'))";
	const char *params[] = {b->alliance};
	struct db d = {0};
	PGresult *res;

	memset(m, 0, sizeof *m);
	m->mono_us = bench_mono_us();
	if (db_open(&d, b->o.db) != 0) {
		bench_progress("WAL position not read: %s", d.err);
		return;
	}
	res = db_query(&d, sql, 1, params);
	if (res == NULL)
		bench_progress("WAL position not read: %s", d.err);
	else if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 1)) {
		m->wal_bytes = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		m->ledger_seq = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		m->segment_bytes = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
		m->ok = true;
	}
	PQclear(res);
	db_close(&d);
}

void bench_print_wal(const struct bench_wal_mark *m0, const struct bench_wal_mark *m1,
                     int64_t events)
{
	int64_t bytes = m1->wal_bytes - m0->wal_bytes;
	double seconds = (double)(m1->mono_us - m0->mono_us) / 1e6;

	if (!m0->ok || !m1->ok || events <= 0 || bytes <= 0 || seconds <= 0)
		return;
	printf("    WAL: %" PRId64 " bytes per recorded event, %.1f MiB/s over the phase:"
	       " a new %" PRId64 " MiB segment every %.1f s\n",
	       bytes / events, (double)bytes / seconds / 1048576.0, m1->segment_bytes / 1048576,
	       (double)m1->segment_bytes / ((double)bytes / seconds));
}

/* ---------------------------------------------------------------- the database */

/* Outside any transaction (VACUUM refuses one). */
int bench_maintenance(struct bench *b, const char *sql)
{
	struct db d = {0};
	int rc = 0;

	if (db_open(&d, b->o.db) != 0)
		return bench_fail("%s", d.err);
	if (db_exec(&d, sql, 0, NULL) != 0)
		rc = bench_fail("%s: %s", sql, d.err);
	db_close(&d);
	return rc;
}

/* Planner statistics as a live database keeps them (autovacuum analyzes tables
 * as they grow): a ledger and member table loaded or grown in bulk since the last
 * ANALYZE can make the writer's cached plans scan instead of probe, and the
 * figures then measure that instead of the daemon. */
int bench_refresh_statistics(struct bench *b)
{
	return bench_maintenance(b, "ANALYZE");
}

/* The writer's backend records one batch at a time, so it is the one stage of
 * the write path that cannot use more than a core. Found by the application name
 * the daemon gives it, and only when that pid is a postgres process of this
 * machine. Waits up to 3 s for a daemon just started to connect. */
void bench_find_writer(struct bench *b)
{
	static const char sql[] =
		"SELECT pid FROM pg_stat_activity WHERE application_name = 'pointcleard writer'"
		" AND datname = current_database() ORDER BY backend_start DESC LIMIT 1";
	struct db d = {0};

	b->writer_pid = 0;
	if (db_open(&d, b->o.db) != 0)
		return;
	for (int tries = 0; tries < 30 && b->writer_pid == 0; tries++) {
		PGresult *res = db_query(&d, sql, 0, NULL);

		if (!res)
			break;
		if (PQntuples(res) == 1) {
			int64_t pid;

			if (bench_parse_i64(PQgetvalue(res, 0, 0), 1, INT32_MAX, &pid) == 0 &&
			    bench_proc_is((pid_t)pid, "postgres"))
				b->writer_pid = (pid_t)pid;
			PQclear(res);
			break;
		}
		PQclear(res);
		usleep(100 * 1000);
	}
	db_close(&d);
}

int bench_generate(struct bench *b, size_t n, const char *what)
{
	char err[256];
	int64_t t0 = bench_mono_us();

	if (n == 0)
		return 0;
	if (bench_wl_generate(&b->wl, n, (int)b->ncpu, err, sizeof err) != 0)
		return bench_fail("%s", err);
	bench_progress("signed %zu events for %s in %.1f s (%zu MiB of frames)", n, what,
	               (double)(bench_mono_us() - t0) / 1e6, b->wl.arena_len >> 20);
	return 0;
}

/* ---------------------------------------------------------------- the daemon */

/* A loopback port free right now (the daemon's --listen takes no port 0). */
static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

int bench_daemon_up(struct bench *b, const char *label)
{
	char *argv[BENCH_MAX_DAEMON_ARGS + 16], workers[16], listen[32], log[2048], err[512];
	int n = 0, port = free_port();

	if (port <= 0)
		return bench_fail("no free loopback port: %s", strerror(errno));
	snprintf(listen, sizeof listen, "127.0.0.1:%d", port);

	argv[n++] = (char *)b->o.daemon;
	argv[n++] = "--db";
	argv[n++] = (char *)(b->o.daemon_db ? b->o.daemon_db : b->o.db);
	argv[n++] = "--home";
	argv[n++] = (char *)b->o.home;
	argv[n++] = "--listen";
	argv[n++] = listen;
	if (b->o.workers > 0) {
		snprintf(workers, sizeof workers, "%d", b->o.workers);
		argv[n++] = "--workers";
		argv[n++] = workers;
	}
	/* every client of the bench comes from one loopback address, up to 32
	 * handshakes at once (bench_client.c): above the per-address default */
	argv[n++] = "--max-unauthenticated-per-address";
	argv[n++] = "1000";
	for (int i = 0; i < b->o.ndaemon_args; i++)
		argv[n++] = (char *)b->o.daemon_args[i];
	/* Its stats line comes on the window's marks only (SIGUSR1): a periodic one
	 * within a window would restart the count, and the line at the window's end
	 * would then speak of its last part alone. Last, so it wins. */
	argv[n++] = "--stats-interval-ms";
	argv[n++] = "0";
	argv[n] = NULL;
	snprintf(log, sizeof log, "%s/daemon-%d-%s.log", b->logdir, ++b->ndaemons, label);
	if (bench_daemon_start(&b->d, argv, log, DAEMON_START_MS, err, sizeof err) != 0)
		return bench_fail("%s", err);
	bench_progress("daemon %s started: pid %d, port %d, log %s", label, (int)b->d.pid,
	               b->d.port, log);
	return 0;
}

void bench_daemon_down(struct bench *b)
{
	if (b->cl)
		bench_client_disconnect(b->cl);
	if (b->d.pid > 0) {
		int st = bench_daemon_stop(&b->d, 15000);

		if (st != 0 && st != -1)
			bench_progress("the daemon exited with status 0x%x", st);
	}
}

/* ---------------------------------------------------------------- the client */

int bench_client_up(struct bench *b)
{
	struct bench_client_opts co = {
		.host = "127.0.0.1",
		.port = b->d.port,
		.ca_file = b->ca_file,
		.wl = &b->wl,
		.pipeline = b->o.pipeline,
		.open_cap = b->o.pipeline > 1024 ? b->o.pipeline : 1024,
	};
	char err[512];

	if (b->cl) {
		bench_client_free(b->cl);
		b->cl = NULL;
	}
	b->cl = bench_client_new(&co, err, sizeof err);
	if (!b->cl)
		return bench_fail("%s", err);
	return 0;
}

int bench_client_connect_all(struct bench *b)
{
	char err[512];

	if (bench_client_connect(b->cl, CONNECT_MS, err, sizeof err) != 0)
		return bench_fail("%s", err);
	return 0;
}

/* ---------------------------------------------------------------- answers */

uint64_t bench_recorded(const struct bench_result *r)
{
	uint64_t t = 0;

	for (int c = 0; c < BENCH_NCODES; c++)
		t += r->counts[1][c];
	return t;
}

double bench_rate_of(const struct bench_result *r)
{
	return r->window_us > 0 ? (double)r->answered / ((double)r->window_us / 1e6) : 0;
}

void bench_print_breakdown(const struct bench_result *r)
{
	static const char *const disp_names[BENCH_NDISP] = {
		"unspecified", "recorded", "replayed", "rejected", "retryable",
	};
	uint64_t approved = r->counts[1][0], declined = 0;

	for (int c = 1; c < BENCH_NCODES; c++)
		declined += r->counts[1][c];
	printf("    answers: recorded %" PRIu64 " (approved %" PRIu64 ", declined %" PRIu64 ")",
	       approved + declined, approved, declined);
	for (int d = 2; d < BENCH_NDISP; d++) {
		uint64_t t = 0;

		for (int c = 0; c < BENCH_NCODES; c++)
			t += r->counts[d][c];
		printf(", %s %" PRIu64, disp_names[d], t);
	}
	if (r->counts[0][0])
		printf(", unparsed %" PRIu64, r->counts[0][0]);
	printf("\n");
	for (int d = 1; d < BENCH_NDISP; d++) {
		static const char *const label[BENCH_NDISP] = {
			"", "declined", "replayed", "rejected", "retryable",
		};
		bool first = true;

		for (int c = 1; c < BENCH_NCODES; c++) {
			if (!r->counts[d][c])
				continue;
			if (first)
				printf("    %s:", label[d]);
			printf(" %s=%" PRIu64, pc_code_name((pc_code)c), r->counts[d][c]);
			first = false;
		}
		if (!first)
			printf("\n");
	}
	if (r->protocol_errors || r->unexpected || r->conn_failures || r->lost || r->drain_left)
		printf("    trouble: protocol errors %" PRIu64 ", unexpected answers %" PRIu64
		       ", connections lost %" PRIu64 ", requests lost %" PRIu64
		       ", unanswered at the end %" PRIu64 "\n",
		       r->protocol_errors, r->unexpected, r->conn_failures, r->lost, r->drain_left);
	if (r->exhausted || r->dry_conns)
		printf("    workload: %s%d of the connections had no events left at the end\n",
		       r->exhausted ? "RAN OUT (window cut short); " : "", r->dry_conns);
}
