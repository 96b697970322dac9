/* harness.c - per-test database, home, CLI runs and daemon for integration tests.
 *
 * Everything here talks to the real things: libpq to the fixture's PostgreSQL,
 * fork/exec of the real `pointclear` and `pointcleard`, and tools/client.h over
 * real mutual TLS. Events, envelopes and answers are in harness_event.c; the
 * contract of both is in harness.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pointclear/sign.h"

#include "harness.h"

const char *const harness_merchant_ids[HARNESS_MAX_MERCHANTS] = {
	"cafe", "gym", "bookshop", "airline", "cinema", "bakery", "florist", "hotel",
};

/* ---------------------------------------------------------------- small helpers */

void harness_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
	}
}

int64_t harness_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);
	if (!p)
		abort();
	return p;
}

/* Reads a whole file (NUL-terminated, malloc'd); NULL if it cannot be read. */
static char *read_file(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		abort();
	size_t n;
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len - 1 == 0) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
	}
	fclose(f);
	buf[len] = '\0';
	if (len_out)
		*len_out = len;
	return buf;
}

static void print_tail(const char *path, size_t max_bytes)
{
	size_t len;
	char *s = read_file(path, &len);
	if (!s) {
		fprintf(stderr, "  (no %s)\n", path);
		return;
	}
	const char *from = len > max_bytes ? s + len - max_bytes : s;
	fprintf(stderr, "---- %s%s ----\n%s\n---- end ----\n", len > max_bytes ? "tail of " : "",
	        path, from);
	free(s);
}

void harness_dump_log(struct harness *h)
{
	if (h && h->daemon_log[0])
		print_tail(h->daemon_log, 6000);
}

char *harness_log_text(struct harness *h, size_t *len)
{
	char *s = h->daemon_log[0] ? read_file(h->daemon_log, len) : NULL;
	if (!s) {
		s = xcalloc(1, 1);
		if (len)
			*len = 0;
	}
	return s;
}

int harness_log_count(struct harness *h, const char *needle)
{
	char *s = harness_log_text(h, NULL);
	int n = 0;
	size_t step = strlen(needle) ? strlen(needle) : 1;
	for (const char *p = strstr(s, needle); p; p = strstr(p + step, needle))
		n++;
	free(s);
	return n;
}

void harness_fail(struct harness *h, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	harness_dump_log(h);
	print_error("%s\n", msg);
	_fail(__FILE__, __LINE__);
	abort();   /* _fail does not return inside a test */
}

/* ---------------------------------------------------------------- processes */

/* fork/exec argv with stdout and stderr to the given files (NULL: /dev/null).
 * Returns the pid; the child dies with this process. */
static pid_t spawn(char *const argv[], const char *out_path, const char *err_path,
                   bool append)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int flags = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC);
		int in = open("/dev/null", O_RDONLY);
		int out = open(out_path ? out_path : "/dev/null", flags, 0644);
		int err = open(err_path ? err_path : "/dev/null", flags, 0644);
		if (in < 0 || out < 0 || err < 0)
			_exit(126);
		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		if (in > 2)
			close(in);
		if (out > 2)
			close(out);
		if (err > 2)
			close(err);
		signal(SIGPIPE, SIG_DFL);
		execv(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

static int wait_exit(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return st;
}

static void describe_status(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exit %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		snprintf(buf, len, "status 0x%x", st);
}

/* Runs the CLI with the global options and the arguments in args[0..n). */
static int run_cli(struct harness *h, char **out, const char **args, int n, char **err_out)
{
	const char *argv[64];
	int k = 0;
	argv[k++] = h->cli;
	argv[k++] = "--db";
	argv[k++] = h->conninfo;
	argv[k++] = "--home";
	argv[k++] = h->home;
	for (int i = 0; i < n && k < 63; i++)
		argv[k++] = args[i];
	argv[k] = NULL;

	char out_path[256], err_path[256];
	int run = ++h->cli_runs;
	snprintf(out_path, sizeof out_path, "%s/cli-%03d.out", h->tmp, run);
	snprintf(err_path, sizeof err_path, "%s/cli-%03d.err", h->tmp, run);
	pid_t pid = spawn((char *const *)argv, out_path, err_path, false);
	if (pid < 0)
		return -1;
	int st = wait_exit(pid);
	if (out)
		*out = read_file(out_path, NULL);
	if (err_out)
		*err_out = read_file(err_path, NULL);
	if (st < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static int collect_args(const char *arg, va_list ap, const char **args, int max)
{
	int n = 0;
	for (const char *a = arg; a && n < max; a = va_arg(ap, const char *))
		args[n++] = a;
	return n;
}

int harness_cli(struct harness *h, char **out, const char *arg, ...)
{
	const char *args[48];
	va_list ap;
	va_start(ap, arg);
	int n = collect_args(arg, ap, args, 48);
	va_end(ap);
	return run_cli(h, out, args, n, NULL);
}

void harness_cli_ok(struct harness *h, char **out, const char *arg, ...)
{
	const char *args[48];
	va_list ap;
	va_start(ap, arg);
	int n = collect_args(arg, ap, args, 48);
	va_end(ap);
	char *o = NULL, *e = NULL;
	int rc = run_cli(h, &o, args, n, &e);
	if (rc != 0) {
		char cmd[1024] = "";
		for (int i = 0; i < n; i++) {
			strncat(cmd, " ", sizeof cmd - strlen(cmd) - 1);
			strncat(cmd, args[i], sizeof cmd - strlen(cmd) - 1);
		}
		fprintf(stderr, "pointclear%s: exit %d\n---- stdout ----\n%s---- stderr ----\n%s----\n",
		        cmd, rc, o ? o : "", e ? e : "");
		free(o);
		free(e);
		harness_fail(h, "pointclear%s failed (exit %d)", cmd, rc);
	}
	free(e);
	if (out)
		*out = o;
	else
		free(o);
}

/* ---------------------------------------------------------------- daemon */

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;
	socklen_t sl = sizeof sa;
	int port = -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static off_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : 0;
}

/* The daemon connects as a role of its own, `pointclear admin daemon-role`
 * <dbname>_d, a member of pointclear_daemon only: every integration test then
 * shows the daemon works with the least privilege it is given in production.
 * Roles belong to the cluster, so the name carries the test's database. */
static void daemon_role(const struct harness *h, char *out, size_t len)
{
	snprintf(out, len, "%.60s_d", h->dbname);
}

void harness_daemon_conninfo(const struct harness *h, char *out, size_t len)
{
	char role[64];

	daemon_role(h, role, sizeof role);
	snprintf(out, len, "%s user=%s", h->conninfo, role);
}

/* Starts the daemon once; 0 when it is up, 1 when it exited early,
 * -1 on timeout. */
static int start_daemon_once(struct harness *h)
{
	char listen[64];
	const char *level = getenv("PC_ITEST_LOG_LEVEL") ? getenv("PC_ITEST_LOG_LEVEL") : "info";
	snprintf(listen, sizeof listen, "127.0.0.1:%d", h->port);
	const char *argv[64];
	char conninfo[1300];
	int k = 0;
	harness_daemon_conninfo(h, conninfo, sizeof conninfo);
	argv[k++] = h->daemon;
	argv[k++] = "--db";
	argv[k++] = conninfo;
	argv[k++] = "--home";
	argv[k++] = h->home;
	argv[k++] = "--listen";
	argv[k++] = listen;
	argv[k++] = "--log-level";
	argv[k++] = level;
	for (int i = 0; i < HARNESS_MAX_ARGS && h->opts.daemon_args[i]; i++)
		argv[k++] = h->opts.daemon_args[i];
	/* PC_ITEST_DAEMON_ARGS: more options for every daemon, split on spaces */
	char extra[512] = "";
	snprintf(extra, sizeof extra, "%s", getenv("PC_ITEST_DAEMON_ARGS") ? getenv("PC_ITEST_DAEMON_ARGS") : "");
	for (char *save = NULL, *tok = strtok_r(extra, " ", &save); tok && k < 62;
	     tok = strtok_r(NULL, " ", &save))
		argv[k++] = tok;
	argv[k] = NULL;

	off_t from = file_size(h->daemon_log);
	FILE *f = fopen(h->daemon_log, "a");
	if (f) {
		fprintf(f, "==== harness: start #%d on %s ====\n", ++h->daemon_starts, listen);
		fclose(f);
		from = file_size(h->daemon_log);
	}
	pid_t pid = spawn((char *const *)argv, h->daemon_log, h->daemon_log, true);
	if (pid < 0)
		harness_fail(h, "fork: %s", strerror(errno));
	h->daemon_pid = pid;

	/* up: listening, and its writer connected to the database (the daemon listens
	 * first and answers RETRYABLE until then) */
	int64_t deadline = mono_ms() + 20000;
	while (mono_ms() < deadline) {
		size_t len;
		char *s = read_file(h->daemon_log, &len);
		bool up = s && (size_t)from <= len && strstr(s + from, "listening on") != NULL &&
		          strstr(s + from, "db=writer state=ready") != NULL;
		free(s);
		if (up)
			return 0;
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			char d[64];
			describe_status(st, d, sizeof d);
			fprintf(stderr, "harness: pointcleard exited before listening (%s)\n", d);
			h->daemon_pid = 0;
			return 1;
		}
		harness_sleep_ms(20);
	}
	return -1;
}

void harness_start_daemon(struct harness *h)
{
	if (h->daemon_pid)
		harness_fail(h, "harness_start_daemon: already running");
	int rc = start_daemon_once(h);
	if (rc == 0)
		return;
	if (rc < 0) {
		harness_kill_daemon(h, SIGKILL);
		harness_fail(h, "pointcleard did not say \"listening on\" and "
		             "\"db=writer state=ready\" within 20 s");
	}
	harness_fail(h, "pointcleard exited during start-up");
}

void harness_drop_connections(struct harness *h, const char *merchant)
{
	for (int i = 0; i < h->nmerchants; i++) {
		struct harness_merchant *m = &h->merchants[i];
		if (m->conn && (!merchant || strcmp(merchant, m->id) == 0)) {
			pc_client_close(m->conn);
			m->conn = NULL;
		}
	}
}

int harness_kill_daemon(struct harness *h, int sig)
{
	harness_drop_connections(h, NULL);
	if (!h->daemon_pid)
		return 0;
	pid_t pid = h->daemon_pid;
	kill(pid, sig);
	int st = 0;
	int64_t deadline = mono_ms() + 20000;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			st = -1;
			break;
		}
		if (mono_ms() > deadline) {
			fprintf(stderr, "harness: pointcleard ignored signal %d for 20 s; SIGKILL\n", sig);
			kill(pid, SIGKILL);
			st = wait_exit(pid);
			st = st == -1 ? -1 : 0x7f00;   /* not a clean exit */
			break;
		}
		harness_sleep_ms(10);
	}
	h->daemon_pid = 0;
	return st;
}

void harness_restart_daemon(struct harness *h)
{
	if (h->daemon_pid) {
		int st = harness_kill_daemon(h, SIGTERM);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			char d[64];
			describe_status(st, d, sizeof d);
			harness_fail(h, "pointcleard did not stop cleanly on SIGTERM (%s)", d);
		}
	}
	harness_start_daemon(h);
}

int64_t harness_daemon_rss_kb(struct harness *h)
{
	if (!h->daemon_pid)
		harness_fail(h, "harness_daemon_rss_kb: no daemon runs");
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", h->daemon_pid);
	char *s = read_file(path, NULL);
	const char *p = s ? strstr(s, "\nVmRSS:") : NULL;
	long long kb = -1;
	if (p && sscanf(p + strlen("\nVmRSS:"), " %lld", &kb) != 1)
		kb = -1;
	free(s);
	if (kb < 0)
		harness_fail(h, "no VmRSS in %s", path);
	return (int64_t)kb;
}

/* ---------------------------------------------------------------- private cluster */

/* Runs `bash $PC_PG_SH ACTION h->pg_dir [MODE]`, its output appended to
 * tmp/pg.log. 0, or -1 (the log is printed). */
static int run_pg_sh(struct harness *h, const char *action, const char *mode)
{
	const char *sh = getenv("PC_PG_SH");
	if (!sh) {
		fprintf(stderr, "harness: PC_PG_SH is not set: run integration tests through ctest\n");
		return -1;
	}
	char log[256];
	snprintf(log, sizeof log, "%s/pg.log", h->tmp);
	const char *argv[] = { "/bin/bash", sh, action, h->pg_dir, mode, NULL };
	pid_t pid = spawn((char *const *)argv, log, log, true);
	int st = pid < 0 ? -1 : wait_exit(pid);
	if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	char d[64] = "fork failed";
	if (st != -1)
		describe_status(st, d, sizeof d);
	fprintf(stderr, "harness: pg.sh %s %s: %s\n", action, h->pg_dir, d);
	print_tail(log, 4000);
	return -1;
}

/* Private clusters still running when the process exits (a failed set-up never
 * reaches harness_free) are stopped at exit rather than left behind. */
#define MAX_PRIVATE_PG 4
static char private_pg_dirs[MAX_PRIVATE_PG][192];

static void stop_private_pgs(void)
{
	const char *sh = getenv("PC_PG_SH");
	for (int i = 0; sh && i < MAX_PRIVATE_PG; i++) {
		if (!private_pg_dirs[i][0])
			continue;
		const char *argv[] = { "/bin/bash", sh, "stop", private_pg_dirs[i], NULL };
		pid_t pid = spawn((char *const *)argv, NULL, NULL, false);
		if (pid > 0)
			wait_exit(pid);
		private_pg_dirs[i][0] = '\0';
	}
}

static void private_pg_track(const char *dir, bool running)
{
	static bool registered;
	if (!registered) {
		atexit(stop_private_pgs);
		registered = true;
	}
	for (int i = 0; i < MAX_PRIVATE_PG; i++) {
		if (running && !private_pg_dirs[i][0]) {
			snprintf(private_pg_dirs[i], sizeof private_pg_dirs[i], "%s", dir);
			return;
		}
		if (!running && strcmp(private_pg_dirs[i], dir) == 0) {
			private_pg_dirs[i][0] = '\0';
			return;
		}
	}
}

void harness_pg_halt(struct harness *h, const char *mode)
{
	if (!h->pg_dir[0])
		harness_fail(h, "harness_pg_halt needs opts.private_pg");
	if (h->db) {
		PQfinish(h->db);
		h->db = NULL;
	}
	if (run_pg_sh(h, "halt", mode) != 0)
		harness_fail(h, "stopping the private PostgreSQL (%s) failed", mode);
}

void harness_pg_resume(struct harness *h)
{
	if (!h->pg_dir[0])
		harness_fail(h, "harness_pg_resume needs opts.private_pg");
	if (h->db) {
		PQfinish(h->db);
		h->db = NULL;
	}
	if (run_pg_sh(h, "resume", NULL) != 0)
		harness_fail(h, "starting the private PostgreSQL again failed");
}

/* ---------------------------------------------------------------- database */

static PGconn *connect_db(const char *conninfo, char *err, size_t errlen)
{
	PGconn *c = PQconnectdb(conninfo);
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(err, errlen, "%s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

static void quiet_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static int admin_exec(struct harness *h, const char *sql, char *err, size_t errlen)
{
	char ci[1100];
	snprintf(ci, sizeof ci, "%s dbname=postgres", h->conninfo_base);
	PGconn *c = connect_db(ci, err, errlen);
	if (!c)
		return -1;
	PQsetNoticeProcessor(c, quiet_notice, NULL);
	PGresult *r = PQexec(c, sql);
	int rc = 0;
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
		rc = -1;
	}
	PQclear(r);
	PQfinish(c);
	return rc;
}

PGconn *harness_db(struct harness *h)
{
	if (h->db && PQstatus(h->db) != CONNECTION_OK) {
		PQfinish(h->db);
		h->db = NULL;
	}
	if (!h->db) {
		char err[512];
		h->db = connect_db(h->conninfo, err, sizeof err);
		if (!h->db)
			harness_fail(h, "connect to %s: %s", h->conninfo, err);
		PQsetNoticeProcessor(h->db, quiet_notice, NULL);
	}
	return h->db;
}

static PGresult *vquery(struct harness *h, const char *sql, va_list ap)
{
	const char *params[32];
	int n = 0;
	for (const char *p = va_arg(ap, const char *); p && n < 32; p = va_arg(ap, const char *))
		params[n++] = p;
	return PQexecParams(harness_db(h), sql, n, NULL, params, NULL, NULL, 0);
}

/* Fails the test with the server's message; r is freed. */
static void sql_failed(struct harness *h, const char *sql, PGresult *r)
{
	char msg[1024];
	snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(r));
	PQclear(r);
	harness_fail(h, "sql failed: %s\n  %s", sql, msg);
}

/* r must hold exactly one row whose first value is not NULL; else the test fails
 * (r freed). */
static void want_one_value(struct harness *h, const char *sql, PGresult *r)
{
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		sql_failed(h, sql, r);
	if (PQntuples(r) != 1 || PQnfields(r) < 1 || PQgetisnull(r, 0, 0)) {
		int rows = PQntuples(r);
		PQclear(r);
		harness_fail(h, "sql returned %d rows or NULL: %s", rows, sql);
	}
}

int64_t harness_sql_int64(struct harness *h, const char *sql, ...)
{
	va_list ap;
	va_start(ap, sql);
	PGresult *r = vquery(h, sql, ap);
	va_end(ap);
	want_one_value(h, sql, r);
	char *end;
	errno = 0;
	long long v = strtoll(PQgetvalue(r, 0, 0), &end, 10);
	bool bad = errno != 0 || *end != '\0';
	PQclear(r);
	if (bad)
		harness_fail(h, "sql did not return an integer: %s", sql);
	return (int64_t)v;
}

void harness_sql_exec(struct harness *h, const char *sql, ...)
{
	va_list ap;
	va_start(ap, sql);
	PGresult *r = vquery(h, sql, ap);
	va_end(ap);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		sql_failed(h, sql, r);
	PQclear(r);
}

void harness_sql_text(struct harness *h, char *out, size_t outlen, const char *sql, ...)
{
	va_list ap;
	va_start(ap, sql);
	PGresult *r = vquery(h, sql, ap);
	va_end(ap);
	want_one_value(h, sql, r);
	snprintf(out, outlen, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
}

PGconn *harness_lock_heads(struct harness *h)
{
	char err[512];
	PGconn *c = connect_db(h->conninfo, err, sizeof err);
	if (!c)
		harness_fail(h, "connect to %s: %s", h->conninfo, err);
	PQsetNoticeProcessor(c, quiet_notice, NULL);
	PGresult *r = PQexec(c, "BEGIN");
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	const char *params[1] = { HARNESS_ALLIANCE };
	r = PQexecParams(c, "SELECT next_seq FROM ledger_heads WHERE alliance_id = $1 FOR UPDATE",
	                 1, NULL, params, NULL, NULL, 0);
	ok = ok && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
	if (!ok) {
		snprintf(err, sizeof err, "%s", PQresultErrorMessage(r));
		PQclear(r);
		PQfinish(c);
		harness_fail(h, "locking the ledger head: %s", err);
	}
	PQclear(r);
	return c;
}

void harness_unlock_heads(struct harness *h, PGconn *lock)
{
	PGresult *r = PQexec(lock, "COMMIT");
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	char err[512];
	snprintf(err, sizeof err, "%s", PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(lock);
	if (!ok)
		harness_fail(h, "releasing the ledger head: %s", err);
}

bool harness_batch_waits(struct harness *h, void *unused)
{
	(void)unused;
	return harness_sql_int64(h,
		"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
		"AND wait_event_type = 'Lock' AND query LIKE '%pc_record_batch%'", NULL) > 0;
}

int64_t harness_balance(struct harness *h, const char *member)
{
	return harness_sql_int64(h, "SELECT balance FROM members WHERE alliance_id = $1 "
	                            "AND member_id = $2", HARNESS_ALLIANCE, member, NULL);
}

int64_t harness_held(struct harness *h, const char *member)
{
	return harness_sql_int64(h, "SELECT held FROM members WHERE alliance_id = $1 "
	                            "AND member_id = $2", HARNESS_ALLIANCE, member, NULL);
}

int64_t harness_ledger_count(struct harness *h)
{
	return harness_sql_int64(h, "SELECT count(*) FROM ledger", NULL);
}

/* Each query counts what breaks one rule of the books; its message names it. */
static const struct {
	const char *sql, *fmt;
} book_rules[] = {
	{ "SELECT count(*) FROM (SELECT alliance_id, seq FROM postings "
	  "GROUP BY 1, 2 HAVING sum(amount) <> 0) x",
	  "%" PRId64 " ledger entries have postings that do not balance" },
	{ "SELECT count(*) FROM postings p JOIN ledger l USING (alliance_id, seq) "
	  "WHERE l.status <> 1",
	  "%" PRId64 " postings belong to declined entries" },
	{ "SELECT count(*) FROM postings p LEFT JOIN ledger l USING (alliance_id, seq) "
	  "WHERE l.seq IS NULL",
	  "%" PRId64 " postings without a ledger entry" },
	{ "SELECT (SELECT coalesce(sum(balance), 0) FROM members)"
	  " + (SELECT coalesce(sum(balance), 0) FROM accounts)",
	  "members plus merchant accounts sum to %" PRId64 ", not 0" },
	{ "SELECT count(*) FROM members m WHERE m.balance <> coalesce((SELECT sum(p.amount) "
	  "FROM postings p WHERE p.alliance_id = m.alliance_id AND p.account_kind = 1 "
	  "AND p.owner_id = m.member_id), 0)",
	  "%" PRId64 " members' balances differ from their postings" },
	{ "SELECT count(*) FROM accounts a WHERE a.balance <> coalesce((SELECT sum(p.amount) "
	  "FROM postings p WHERE p.alliance_id = a.alliance_id "
	  "AND p.account_kind = a.account_kind AND p.owner_id = a.owner_id), 0)",
	  "%" PRId64 " merchant accounts differ from their postings" },
	{ "SELECT count(*) FROM members m WHERE m.held <> coalesce((SELECT sum(x.amount) "
	  "FROM holds x WHERE x.alliance_id = m.alliance_id AND x.member_id = m.member_id "
	  "AND x.state = 1), 0)",
	  "%" PRId64 " members' held points differ from their active holds" },
};

void harness_check_books(struct harness *h)
{
	for (size_t i = 0; i < sizeof book_rules / sizeof book_rules[0]; i++) {
		int64_t n = harness_sql_int64(h, book_rules[i].sql, NULL);
		if (n != 0)
			harness_fail(h, book_rules[i].fmt, n);
	}
}

bool harness_wait_until(struct harness *h, int timeout_ms,
                        bool (*fn)(struct harness *h, void *arg), void *arg)
{
	int64_t deadline = mono_ms() + timeout_ms;
	for (;;) {
		if (fn(h, arg))
			return true;
		if (mono_ms() >= deadline)
			return false;
		harness_sleep_ms(50);
	}
}

/* ---------------------------------------------------------------- life cycle */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_rf(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void chomp(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
}

const char *harness_member(int i, char buf[16])
{
	snprintf(buf, 16, "m%06d", i);
	return buf;
}

struct harness_merchant *harness_merchant(struct harness *h, const char *id)
{
	for (int i = 0; i < h->nmerchants; i++)
		if (strcmp(h->merchants[i].id, id) == 0)
			return &h->merchants[i];
	harness_fail(h, "no merchant %s in this harness", id);
}

struct harness *harness_new(const struct harness_opts *opts)
{
	const char *pgdir = getenv("PC_PG_DIR");
	const char *cli = getenv("PC_POINTCLEAR");
	const char *daemon = getenv("PC_POINTCLEARD");
	if (!pgdir || !cli || !daemon) {
		fail_msg("PC_PG_DIR, PC_POINTCLEAR and PC_POINTCLEARD must be set: "
		         "run integration tests through ctest");
		return NULL;
	}
	struct harness *h = xcalloc(1, sizeof *h);
	h->opts = *opts;
	if (h->opts.merchants <= 0)
		h->opts.merchants = 4;
	if (h->opts.merchants > HARNESS_MAX_MERCHANTS)
		h->opts.merchants = HARNESS_MAX_MERCHANTS;
	if (h->opts.members <= 0)
		h->opts.members = 10;
	h->cli = cli;
	h->daemon = daemon;
	h->next_request_id = 1;

	snprintf(h->tmp, sizeof h->tmp, "/tmp/pcit-%.32s-XXXXXX", opts->name ? opts->name : "x");
	if (!mkdtemp(h->tmp)) {
		free(h);
		fail_msg("mkdtemp: %s", strerror(errno));
		return NULL;
	}
	snprintf(h->home, sizeof h->home, "%s/home", h->tmp);
	snprintf(h->daemon_log, sizeof h->daemon_log, "%s/pointcleard.log", h->tmp);

	char path[1024];
	if (opts->private_pg) {
		/* the harness owns it from here: harness_free stops it, also after a failure */
		snprintf(h->pg_dir, sizeof h->pg_dir, "%s/pg", h->tmp);
		private_pg_track(h->pg_dir, true);   /* pg.sh may fail after initdb */
		if (run_pg_sh(h, "start", NULL) != 0)
			harness_fail(h, "starting a private PostgreSQL with pg.sh failed");
		snprintf(path, sizeof path, "%s/conninfo", h->pg_dir);
	} else {
		snprintf(path, sizeof path, "%.900s/conninfo", pgdir);
	}
	char *ci = read_file(path, NULL);
	if (!ci) {
		rm_rf(h->tmp);
		free(h);
		fail_msg("no %s: did the pg_start fixture run?", path);
		return NULL;
	}
	chomp(ci);
	snprintf(h->conninfo_base, sizeof h->conninfo_base, "%s", ci);
	free(ci);

	snprintf(h->dbname, sizeof h->dbname, "t_%.32s_%d", opts->name ? opts->name : "x",
	         (int)getpid());
	snprintf(h->conninfo, sizeof h->conninfo, "%s dbname=%s", h->conninfo_base, h->dbname);

	char sql[256], err[1024];
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", h->dbname);
	admin_exec(h, sql, err, sizeof err);
	snprintf(sql, sizeof sql, "CREATE DATABASE %s", h->dbname);
	if (admin_exec(h, sql, err, sizeof err) != 0)
		harness_fail(h, "%s: %s", sql, err);

	harness_cli_ok(h, NULL, "migrate", NULL);
	char role[64];
	daemon_role(h, role, sizeof role);
	snprintf(sql, sizeof sql, "DROP ROLE IF EXISTS %s", role);   /* a crashed run's */
	admin_exec(h, sql, err, sizeof err);
	harness_cli_ok(h, NULL, "admin", "daemon-role", role, NULL);
	harness_cli_ok(h, NULL, "init", NULL);
	const char *args[48];
	int n = 0;
	args[n++] = "alliance";
	args[n++] = "create";
	args[n++] = HARNESS_ALLIANCE;
	args[n++] = "--name";
	args[n++] = "Acme Alliance";
	args[n++] = "--currency";
	args[n++] = "EUR";
	for (int i = 0; i < HARNESS_MAX_ARGS && opts->alliance_args[i]; i++)
		args[n++] = opts->alliance_args[i];
	args[n] = NULL;
	char *e = NULL;
	int rc = run_cli(h, NULL, args, n, &e);
	if (rc != 0) {
		fprintf(stderr, "%s", e ? e : "");
		free(e);
		harness_fail(h, "pointclear alliance create failed (exit %d)", rc);
	}
	free(e);

	for (int i = 0; i < h->opts.merchants; i++) {
		const char *id = harness_merchant_ids[i];
		char name[80];
		snprintf(name, sizeof name, "The %s", id);
		harness_cli_ok(h, NULL, "merchant", "add", HARNESS_ALLIANCE, id, "--name", name,
		               "--industry", id, "--issue-price", "10/1", "--redeem-rate", "8/1",
		               NULL);
		struct harness_merchant *m = &h->merchants[h->nmerchants++];
		snprintf(m->id, sizeof m->id, "%s", id);
		char dir[400];
		/* the quick path's files: the admin home's default, beside the daemon's */
		snprintf(dir, sizeof dir, "%s-admin/alliances/%s/merchants/%s", h->home,
		         HARNESS_ALLIANCE, id);
		snprintf(m->cert, sizeof m->cert, "%s/client.crt", dir);
		snprintf(m->key, sizeof m->key, "%s/client.key", dir);
		snprintf(path, sizeof path, "%s/sign.key", dir);
		if (pc_load_signing_key(path, m->sk, m->key_id, err, sizeof err) != 0)
			harness_fail(h, "loading %s: %s", path, err);
	}
	char count[16];
	snprintf(count, sizeof count, "%d", h->opts.members);
	harness_cli_ok(h, NULL, "member", "add", HARNESS_ALLIANCE, "--count", count,
	               "--sequential", "m", NULL);

	snprintf(path, sizeof path, "%s/operator/receipt.pub", h->home);
	if (pc_load_public_key(path, h->operator_pk, err, sizeof err) != 0)
		harness_fail(h, "loading %s: %s", path, err);
	pc_key_id(h->operator_key_id, h->operator_pk);

	if (!h->opts.no_daemon) {
		for (int attempt = 0;; attempt++) {
			h->port = free_port();
			if (h->port <= 0)
				harness_fail(h, "no free port");
			int r = start_daemon_once(h);
			if (r == 0)
				break;
			if (r < 0) {
				harness_kill_daemon(h, SIGKILL);
				harness_fail(h, "pointcleard was not up (listening, writer ready) within 20 s");
			}
			if (attempt == 2)   /* the port may have been taken meanwhile: retry */
				harness_fail(h, "pointcleard exited during start-up, three times");
		}
	}
	return h;
}

int harness_free(struct harness *h)
{
	if (!h)
		return 0;
	int rc = 0;
	harness_drop_connections(h, NULL);
	if (h->daemon_pid) {
		int st = harness_kill_daemon(h, SIGTERM);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			char d[64];
			describe_status(st, d, sizeof d);
			harness_dump_log(h);
			print_error("pointcleard did not stop cleanly on SIGTERM (%s)\n", d);
			rc = -1;
		}
	}
	if (h->db) {
		PQfinish(h->db);
		h->db = NULL;
	}
	char sql[256], err[1024];
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", h->dbname);
	if (admin_exec(h, sql, err, sizeof err) != 0)
		fprintf(stderr, "harness: %s: %s", sql, err);
	char role[64];
	daemon_role(h, role, sizeof role);
	snprintf(sql, sizeof sql, "DROP ROLE IF EXISTS %s", role);
	if (admin_exec(h, sql, err, sizeof err) != 0)
		fprintf(stderr, "harness: %s: %s", sql, err);
	if (h->pg_dir[0]) {
		if (run_pg_sh(h, "stop", NULL) != 0)
			rc = -1;
		private_pg_track(h->pg_dir, false);
	}
	if (getenv("PC_ITEST_KEEP"))
		fprintf(stderr, "harness: kept %s\n", h->tmp);
	else
		rm_rf(h->tmp);
	free(h);
	return rc;
}

/* ---------------------------------------------------------------- connections */

struct pc_client *harness_connect_raw(const struct harness *h, const char *cert,
                                      const char *key, int timeout_ms, char *err,
                                      size_t errlen)
{
	char ca[256];
	snprintf(ca, sizeof ca, "%s/tls/ca.crt", h->home);
	struct pc_client_opts o = {
		.host = "127.0.0.1",
		.port = h->port,
		.ca_file = ca,
		.cert_file = cert,
		.key_file = key,
		.timeout_ms = timeout_ms > 0 ? timeout_ms : 10000,
	};
	return pc_client_connect(&o, err, errlen);
}

struct pc_client *harness_connect(struct harness *h, const char *merchant)
{
	struct harness_merchant *m = harness_merchant(h, merchant);
	char err[512];
	struct pc_client *c = harness_connect_raw(h, m->cert, m->key, 10000, err, sizeof err);
	if (!c)
		harness_fail(h, "connect as %s to port %d: %s", merchant, h->port, err);
	return c;
}

uint64_t harness_request_id(struct harness *h)
{
	return h->next_request_id++;
}
