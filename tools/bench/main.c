/* main.c - pointclear-bench: the load generator and measurement of pointcleard,
 * a program of its own beside the CLI (as pgbench is beside psql). This file
 * reads the options, runs the phases in order and prints the summary.
 *
 * One run measures the daemon and, on the same machine in the same run, the limits
 * it is compared with:
 *   1. set-up (untimed, setup.c): a fresh alliance bench-<time>, its merchants and
 *      members;
 *   2. the raw limit (phase_verify.c): Ed25519 verifications per second on one
 *      core, over the PAE of a typical event, as the daemon's workers do it;
 *   3. the workload, generated and signed before anything is timed;
 *   4. idle connections (--idle N, phase_idle.c) on a fresh daemon: its RSS
 *      before and after;
 *   5. the closed-loop run (phase_closed.c) on a fresh daemon: events per second
 *      sustained, acknowledgement latency, the daemon's CPU and peak RSS; then
 *      the raw limit again;
 *   6. the open-loop sweep (--rates, phase_sweep.c): achieved rate and latency
 *      per offered rate, and the daemon's own account of each step;
 *   7. the naive baseline (phase_naive.c): no daemon, one transaction per event
 *      from as many database sessions as the bench has connections;
 * and prints the ratios and the targets, each PASS or MISS. Every number printed
 * is measured in this run. Before 5, each rate of 6, and 7 the database is
 * ANALYZEd, as autovacuum keeps a live one. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "bench.h"
#include "home.h"

static const char bench_usage[] =
	"usage: pointclear-bench --daemon PATH [--db CONNINFO] [--daemon-db CONNINFO] [--home DIR]\n"
	"           [--pointclear PATH]\n"
	"           [--merchants 40] [--members 100000] [--connections 64] [--pipeline 64]\n"
	"           [--duration 60] [--warmup 5] [--baseline-duration 10] [--no-baseline]\n"
	"           [--rates R1,R2,...|auto] [--sweep-duration 10] [--csv FILE] [--idle N]\n"
	"           [--workers N] [--daemon-arg ARG]... [--max-events 2000000] [--seed S]\n"
	"           [--log-dir DIR]\n"
	"       pointclear-bench --help | --version\n"
	"\n"
	"Measures pointcleard (PATH) against a database and home already migrated and\n"
	"`init`ed by pointclear: creates an alliance bench-<time> with its merchants\n"
	"(through `pointclear alliance create` and `merchant add`) and members, pre-signs\n"
	"a skewed workload, and reports events per second sustained (closed loop: each\n"
	"connection keeps --pipeline requests unanswered), acknowledgement latency\n"
	"p50/p99/p99.9, the daemon's CPU and peak RSS, and the limits measured in the\n"
	"same run: the Ed25519 verification rate of one core, before and right after the\n"
	"run (the ratio is against the higher), and a naive baseline. With each phase it\n"
	"prints the CPU time the hypervisor stole from the machine (/proc/stat steal, in\n"
	"cores), since a shared host's steal shows in every latency. The database is\n"
	"ANALYZEd before each measured phase, as autovacuum keeps a live one, and each\n"
	"closed-loop phase reports the WAL written per recorded event. Each phase also\n"
	"reports the CPU of the daemon's writer backend, the one stage that runs a batch\n"
	"at a time (pg_stat_activity's 'pointcleard writer', when it runs on this\n"
	"machine). The daemons it starts log stats only when it asks (SIGUSR1).\n"
	"\n"
	"The naive baseline runs without the daemon, as pgbench would: --connections\n"
	"database sessions, each running one transaction per event back to back (claim\n"
	"the event id, move the member's balance if a debit leaves it non-negative,\n"
	"write the event's entry; one prepared statement, the cluster's own\n"
	"synchronous_commit), on tables of its own (pcbench_naive_*, dropped after it).\n"
	"The summary gives the design's events/s over the baseline's.\n"
	"\n"
	"The open-loop sweep (--rates) starts from a vacuumed database (VACUUM ANALYZE:\n"
	"what autovacuum would come back for after the closed loop) and a flushed page\n"
	"cache (sync); each step is followed by the daemon's own account of it (its stats\n"
	"line, asked for with SIGUSR1 at the window's start and end: verification, the\n"
	"wait for the batch in flight, its own batch) and reports the disk's slowest\n"
	"flush meanwhile: a probe writes and fdatasyncs a 4 KiB block of a file in\n"
	"--log-dir every 10 ms, so put --log-dir on the filesystem of PostgreSQL's WAL.\n"
	"\n"
	"  --db CONNINFO    libpq connection string (env POINTCLEAR_DB, default dbname=pointclear)\n"
	"  --daemon-db CONNINFO the daemon's own (its least-privilege role, e.g. --db's with\n"
	"                   user=ROLE from `pointclear admin daemon-role`; default: --db's)\n"
	"  --home DIR       keys and certificates (env POINTCLEAR_HOME, default ./pointclear-home)\n"
	"  --admin-home DIR CA keys and merchants' files (env POINTCLEAR_ADMIN_HOME, default:\n"
	"                   --home's path with -admin appended, as pointclear's)\n"
	"  --pointclear PATH the CLI that makes the alliance (default: the pointclear beside\n"
	"                   this program)\n"
	"  --connections N  TLS connections to the daemon; also the naive baseline's sessions\n"
	"  --rates LIST     open-loop sweep at these offered rates (events/s), --sweep-duration\n"
	"                   seconds each; \"auto\" = 0.1,0.25,0.5,0.75,0.9,1.0,1.1 x the maximum\n"
	"  --csv FILE       the sweep as offered,achieved,p50_ms,p99_ms,p999_ms,stolen_cores,\n"
	"                   flush_p99_ms,flush_max_ms,writer_cores\n"
	"  --idle N         hold N idle TLS connections on a fresh daemon, report its memory\n"
	"  --workers N      passed to the daemon (default: its own, one per core)\n"
	"  --daemon-arg ARG one more argument for the daemon (repeatable)\n"
	"  --max-events N   the most events signed up front for the closed loop\n"
	"  --log-dir DIR    where the daemons' logs go (default: a new /tmp/pcbench.*)\n"
	"\n"
	"tools/bench/bench.sh runs the whole report on a throwaway PostgreSQL.\n";

#define BASELINE_WARMUP_S 2.0
#define VERIFY_SECONDS 2.0

static int usage(int status)
{
	fputs(bench_usage, status == 0 ? stdout : stderr);
	return status == 0 ? 0 : 2;
}

static int parse_seconds(const char *s, double min, double *out)
{
	int64_t v;

	if (bench_parse_i64(s, 0, 86400, &v) != 0 || (double)v < min)
		return -1;
	*out = (double)v;
	return 0;
}

static int parse_int(const char *s, int64_t min, int64_t max, int *out)
{
	int64_t v;

	if (bench_parse_i64(s, min, max, &v) != 0)
		return -1;
	*out = (int)v;
	return 0;
}

/* 0 to run, -1 when --help or --version was answered, else the exit status. */
static int parse_opts(struct bench_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'E'},
		{"daemon-db", required_argument, NULL, 'G'},
		{"home", required_argument, NULL, 'H'},
		{"admin-home", required_argument, NULL, 'A'},
		{"pointclear", required_argument, NULL, 'P'},
		{"daemon", required_argument, NULL, 'D'},
		{"merchants", required_argument, NULL, 'M'},
		{"members", required_argument, NULL, 'm'},
		{"connections", required_argument, NULL, 'c'},
		{"pipeline", required_argument, NULL, 'p'},
		{"duration", required_argument, NULL, 'd'},
		{"warmup", required_argument, NULL, 'w'},
		{"baseline-duration", required_argument, NULL, 'b'},
		{"no-baseline", no_argument, NULL, 'B'},
		{"rates", required_argument, NULL, 'r'},
		{"sweep-duration", required_argument, NULL, 's'},
		{"csv", required_argument, NULL, 'C'},
		{"idle", required_argument, NULL, 'i'},
		{"workers", required_argument, NULL, 'W'},
		{"daemon-arg", required_argument, NULL, 'a'},
		{"max-events", required_argument, NULL, 'x'},
		{"seed", required_argument, NULL, 'S'},
		{"log-dir", required_argument, NULL, 'L'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;
	int64_t v;

	*o = (struct bench_opts){
		.db = getenv("POINTCLEAR_DB"), .home = getenv("POINTCLEAR_HOME"),
		.admin_home = getenv("POINTCLEAR_ADMIN_HOME"),
		.merchants = 40, .members = 100000, .connections = 64, .pipeline = 64,
		.duration = 60, .warmup = 5, .baseline_duration = 10, .sweep_duration = 10,
		.baseline = true, .max_events = 2000000, .seed = 1,
	};
	if (!o->db || !*o->db)
		o->db = "dbname=pointclear";
	if (!o->home || !*o->home)
		o->home = "./pointclear-home";
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		int bad = 0;

		switch (c) {
		case 'E': o->db = optarg; break;
		case 'G': o->daemon_db = optarg; break;
		case 'H': o->home = optarg; break;
		case 'A': o->admin_home = optarg; break;
		case 'P': o->pointclear = optarg; break;
		case 'D': o->daemon = optarg; break;
		case 'M': bad = parse_int(optarg, 1, 1000, &o->merchants); break;
		case 'm': bad = parse_int(optarg, 1, 9999999, &o->members); break;
		case 'c': bad = parse_int(optarg, 1, 100000, &o->connections); break;
		case 'p': bad = parse_int(optarg, 1, 100000, &o->pipeline); break;
		case 'd': bad = parse_seconds(optarg, 1, &o->duration); break;
		case 'w': bad = parse_seconds(optarg, 0, &o->warmup); break;
		case 'b': bad = parse_seconds(optarg, 1, &o->baseline_duration); break;
		case 'B': o->baseline = false; break;
		case 'r': o->rates = optarg; break;
		case 's': bad = parse_seconds(optarg, 1, &o->sweep_duration); break;
		case 'C': o->csv = optarg; break;
		case 'i': bad = parse_int(optarg, 0, 1000000, &o->idle); break;
		case 'W': bad = parse_int(optarg, 1, 256, &o->workers); break;
		case 'a':
			if (o->ndaemon_args == BENCH_MAX_DAEMON_ARGS)
				return bench_fail("at most %d --daemon-arg", BENCH_MAX_DAEMON_ARGS);
			o->daemon_args[o->ndaemon_args++] = optarg;
			break;
		case 'x':
			bad = bench_parse_i64(optarg, 1000, 100000000, &o->max_events);
			break;
		case 'S':
			bad = bench_parse_i64(optarg, 0, INT64_MAX, &v);
			o->seed = (uint64_t)v;
			break;
		case 'L': o->log_dir = optarg; break;
		case 'h':
			usage(0);
			return -1;
		case 'V':
			printf("pointclear-bench %s\n", PC_VERSION);
			return -1;
		case ':':
			bench_fail("option '%s' needs a value", argv[optind - 1]);
			return usage(2);
		default:
			if (optopt && optopt != '?')
				bench_fail("unknown option '-%c'", optopt);
			else
				bench_fail("unknown option '%s'", argv[optind - 1]);
			return usage(2);
		}
		if (bad) {
			bench_fail("bad value '%s' for %s", optarg, argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc || !o->daemon)
		return usage(2);
	if (!o->admin_home || !*o->admin_home) {
		static char admin_default[HOME_PATH_MAX];

		if (home_admin_default(admin_default, sizeof admin_default, o->home) != 0)
			return bench_fail("no admin home can be made from --home '%s': give --admin-home",
			                  o->home);
		o->admin_home = admin_default;
	}
	if (o->connections < o->merchants)
		return bench_fail("--connections (%d) must be at least --merchants (%d)",
		                  o->connections, o->merchants);
	if (o->csv && !o->rates)
		return bench_fail("--csv needs --rates");
	return 0;
}

/* The CLI that makes the alliance: --pointclear, else the one beside us (the
 * build tree and an installation both put them in one directory). */
static int find_pointclear(struct bench *b)
{
	char self[4096];
	ssize_t n;

	if (b->o.pointclear) {
		snprintf(b->pointclear, sizeof b->pointclear, "%s", b->o.pointclear);
	} else {
		n = readlink("/proc/self/exe", self, sizeof self - 1);
		if (n <= 0)
			return bench_fail("cannot find my own executable: %s", strerror(errno));
		self[n] = '\0';
		snprintf(b->pointclear, sizeof b->pointclear, "%s/pointclear", dirname(self));
	}
	if (access(b->pointclear, X_OK) != 0)
		return bench_fail("%s: %s (give --pointclear PATH)", b->pointclear, strerror(errno));
	return 0;
}

/* How far a is from b, relative to b. */
static double rel_dist(double a, double b)
{
	return b > 0 ? fabs(a - b) / b : 1e9;
}

static const char *verdict(bool pass)
{
	return pass ? "PASS" : "MISS";
}

static void print_summary(const struct bench *b, double verify_rate, double verify_after,
                          const struct bench_closed_out *main_run,
                          const struct bench_naive_out *naive,
                          const struct bench_idle_out *idle,
                          const struct bench_sweep_point *pts, int npts)
{
	printf("\n==== pointclear-bench summary (%ld cores, %d merchants, %d members,"
	       " %d connections x %d pipelined) ====\n",
	       b->ncpu, b->o.merchants, b->o.members, b->o.connections, b->o.pipeline);
	printf("limits: ed25519 verify 1 core = %.0f/s before, %.0f/s after the run", verify_rate,
	       verify_after);
	if (verify_after > verify_rate)
		verify_rate = verify_after;
	if (b->o.baseline)
		printf("; naive baseline (1 txn/event, %d sessions) = %.0f/s", naive->sessions,
		       naive->rate);
	printf("\n");
	printf("result: %.0f events/s sustained over %.0f s (min/max per second %u/%u);"
	       " p50 %.2f p99 %.2f p99.9 %.2f ms\n",
	       main_run->rate, main_run->window_s, main_run->sec_min, main_run->sec_max,
	       main_run->pct.p50_ms, main_run->pct.p99_ms, main_run->pct.p999_ms);
	{
		double rv = verify_rate > 0 ? main_run->rate / verify_rate : 0;

		printf("ratios: %.2f of one-core verification, the higher limit (target >= 0.60 for 60 s: %s)", rv,
		       main_run->window_s >= 60 ? verdict(rv >= 0.60)
		       : rv >= 0.60 ? "PASS for a shorter window only" : "MISS");
		if (b->o.baseline && naive->rate > 0)
			printf("; %.1fx the naive baseline (the design's events/s over %d sessions'"
			       " one transaction per event)", main_run->rate / naive->rate,
			       naive->sessions);
		printf("\n");
		if (main_run->window_s < 60)
			printf("        (this window was %.0f s; the target is for --duration 60)\n",
			       main_run->window_s);
	}
	printf("daemon: cpu %.2f cores, peak RSS %.1f MiB; the host stole %.2f of %ld cores",
	       main_run->use.daemon_cores, (double)main_run->hwm_kib / 1024,
	       main_run->use.stolen_cores, b->ncpu);
	if (idle->measured) {
		double mib = (double)idle->rss_after / 1024;

		printf("; idle: %d conns = %.1f MiB (%.1f KiB/conn)", idle->ok, mib,
		       idle->ok ? (double)(idle->rss_after - idle->rss_before) / idle->ok : 0.0);
		if (idle->ok >= 1000)
			printf(" (target < 200 MiB at 1000: %s)", verdict(mib < 200));
		else
			printf(" (the target is for 1000 connections: --idle 1000)");
	}
	printf("\n");
	if (npts > 0) {
		int best = -1;

		for (int i = 0; i < npts; i++)
			if (best < 0 || rel_dist(pts[i].offered, main_run->rate / 2) <
			                    rel_dist(pts[best].offered, main_run->rate / 2))
				best = i;
		if (rel_dist(pts[best].offered, main_run->rate / 2) <= 0.15) {
			printf("latency at half the maximum (offered %.0f/s, achieved %.0f/s): p99 %.2f ms"
			       " (target < 20 ms: %s); the host stole %.2f of %ld cores meanwhile",
			       pts[best].offered, pts[best].achieved, pts[best].pct.p99_ms,
			       verdict(pts[best].pct.p99_ms < 20), pts[best].stolen_cores, b->ncpu);
			if (pts[best].writer_cores >= 0)
				printf("; the daemon's writer backend was busy %.2f of a core",
				       pts[best].writer_cores);
			if (pts[best].flush.n > 0)
				printf(", and the disk's slowest flush took %.1f ms", pts[best].flush.max_ms);
			printf("\n");
		} else
			printf("latency at half the maximum: not measured (no --rates near %.0f/s;"
			       " use --rates auto)\n", main_run->rate / 2);
	}
	printf("logs: %s\n", b->logdir);
}

/* Checks what the run needs before anything is made. 0, or the exit status. */
static int prepare(struct bench *b)
{
	long nofile;

	if (access(b->o.daemon, X_OK) != 0)
		return bench_fail("--daemon %s: %s", b->o.daemon, strerror(errno));
	if (find_pointclear(b) != 0)
		return 1;
	b->ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (b->ncpu < 1)
		b->ncpu = 1;
	signal(SIGPIPE, SIG_IGN);
	/* every connection is a descriptor here and in the daemon, which inherits this */
	nofile = bench_raise_nofile();
	if (nofile > 0 && nofile < b->o.connections + b->o.idle + 64)
		return bench_fail("the open-file limit (%ld) is too low for %d connections", nofile,
		                  b->o.connections + b->o.idle);
	snprintf(b->ca_file, sizeof b->ca_file, "%s/tls/ca.crt", b->o.home);
	if (access(b->ca_file, R_OK) != 0)
		return bench_fail("%s: %s (run `pointclear init` first)", b->ca_file,
		                  strerror(errno));
	if (b->o.log_dir) {
		snprintf(b->logdir, sizeof b->logdir, "%s", b->o.log_dir);
		if (mkdir(b->logdir, 0755) != 0 && errno != EEXIST)
			return bench_fail("cannot create %s: %s", b->logdir, strerror(errno));
	} else {
		snprintf(b->logdir, sizeof b->logdir, "/tmp/pcbench.XXXXXX");
		if (!mkdtemp(b->logdir))
			return bench_fail("cannot create a log directory: %s", strerror(errno));
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bench b = {0};
	struct bench_closed_out main_run = {0};
	struct bench_naive_out naive = {0};
	struct bench_sweep_point pts[BENCH_MAX_RATES];
	struct bench_idle_out idle = {0};
	double verify_rate, verify_after = 0;
	int npts = 0, rc;

	if ((rc = parse_opts(&b.o, argc, argv)) != 0)
		return rc < 0 ? 0 : rc;
	/* signing and verification run on libsodium */
	if (sodium_init() < 0)
		return bench_fail("libsodium cannot be initialised");
	if ((rc = prepare(&b)) != 0)
		return rc;

	rc = 1;
	if (bench_setup(&b) != 0)
		goto out;
	b.wl = (struct bench_workload){
		.alliance = b.alliance, .currency = "EUR", .member_prefix = BENCH_MEMBER_PREFIX,
		.nmembers = b.o.members, .nmerchants = b.o.merchants, .merchants = b.merchants,
		.nconns = b.o.connections, .seed = b.o.seed,
	};
	{
		char err[256];

		if (bench_wl_init(&b.wl, err, sizeof err) != 0) {
			bench_fail("%s", err);
			goto out;
		}
	}

	bench_progress("measuring Ed25519 verification on one core for %.0f s", VERIFY_SECONDS);
	verify_rate = bench_measure_verify(&b, VERIFY_SECONDS);
	printf("limit: Ed25519 verify on one core = %.0f/s (PAE of a %s payload, libsodium)\n",
	       verify_rate, "typical");
	fflush(stdout);

	/* enough for the closed loop at what all cores could verify, within --max-events */
	{
		double bound = (b.o.warmup + b.o.duration) * verify_rate * (double)b.ncpu * 1.1;
		size_t n = bound > (double)b.o.max_events ? (size_t)b.o.max_events : (size_t)bound;

		if (bench_generate(&b, n, "the closed loop") != 0)
			goto out;
		printf("workload: %zu events signed;", b.wl.nev);
		for (int k = 1; k < PC_EVENT_NKINDS; k++)
			printf(" %s %.1f%%", pc_event_kind_name((enum pc_event_kind)k),
			       100.0 * (double)b.wl.kinds[k] / (double)b.wl.nev);
		printf("\n");
		fflush(stdout);
	}

	if (b.o.idle > 0 && bench_idle_phase(&b, &idle) != 0)
		goto out;

	if (bench_refresh_statistics(&b) != 0 || bench_daemon_up(&b, "main") != 0 ||
	    bench_client_up(&b) != 0 || bench_client_connect_all(&b) != 0)
		goto out;
	if (bench_closed_phase(&b, "result", b.o.warmup, b.o.duration, &main_run) != 0)
		goto out;
	/* This machine's speed drifts within minutes (shared hosts): the limit is taken
	 * again right after the run, and the ratio is against the higher of the two. */
	bench_daemon_down(&b);
	bench_progress("measuring Ed25519 verification on one core again for %.0f s",
	               VERIFY_SECONDS);
	verify_after = bench_measure_verify(&b, VERIFY_SECONDS);
	printf("limit: Ed25519 verify on one core = %.0f/s right after the run\n", verify_after);
	fflush(stdout);
	if (b.o.rates && (bench_daemon_up(&b, "sweep") != 0 || bench_client_up(&b) != 0 ||
	                  bench_client_connect_all(&b) != 0))
		goto out;
	if (b.o.rates && bench_sweep_phase(&b, main_run.rate, pts, &npts) != 0)
		goto out;
	bench_daemon_down(&b);

	if (b.o.baseline) {
		if (bench_refresh_statistics(&b) != 0 ||
		    bench_naive_phase(&b, BASELINE_WARMUP_S, b.o.baseline_duration, &naive) != 0)
			goto out;
	}

	print_summary(&b, verify_rate, verify_after, &main_run, &naive, &idle, pts, npts);
	rc = 0;
out:
	if (b.cl)
		bench_client_free(b.cl);
	b.cl = NULL;
	bench_daemon_down(&b);
	bench_wl_free(&b.wl);
	if (b.merchants)
		sodium_memzero(b.merchants, (size_t)b.o.merchants * sizeof *b.merchants);
	free(b.merchants);
	return rc;
}
