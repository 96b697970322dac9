/* phase_naive.c - the naive baseline: what the database does for the same events
 * without the daemon's design, so that the design's gain is measured against a
 * fair alternative and not a crippled one. As pgbench would run it: --connections
 * database sessions (one thread and one blocking libpq connection each), each
 * running one transaction per event, back to back, with the cluster's own
 * synchronous_commit (the bench's cluster keeps it on): every event is a commit
 * that waits for its WAL flush, shared with whatever commits flush with it.
 *
 * The transaction is the ledger's work in its simplest form, one statement of
 * one round trip (pgbench -M prepared; a baseline that took more round trips
 * would only flatter the design): claim the (merchant, event id), move the
 * member's balance if the claim was new and a debit leaves it non-negative
 * (the conditional debit; credits always apply), and write the event's entry
 * with the amount applied. It runs on tables of its own (pcbench_naive_*, made
 * for the phase and dropped after it), as wide as the ledger's keys, so the
 * ledger and its conservation check are left as the daemon made them. The
 * events follow the workload's: members by the same Zipf-Mandelbrot popularity,
 * session i for the merchant of the bench's connection i, earns and redemptions
 * (declined when the member has too little). */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "bench.h"
#include "db.h"

static const char naive_schema[] =
	"DROP TABLE IF EXISTS pcbench_naive_claims, pcbench_naive_members,"
	" pcbench_naive_entries;"
	"CREATE TABLE pcbench_naive_claims ("
	" alliance_id text COLLATE \"C\" NOT NULL, merchant_id text COLLATE \"C\" NOT NULL,"
	" event_id text COLLATE \"C\" NOT NULL, PRIMARY KEY (alliance_id, merchant_id, event_id));"
	"CREATE TABLE pcbench_naive_members ("
	" alliance_id text COLLATE \"C\" NOT NULL, member_id text COLLATE \"C\" NOT NULL,"
	" balance bigint NOT NULL, PRIMARY KEY (alliance_id, member_id));"
	"CREATE TABLE pcbench_naive_entries ("
	" alliance_id text COLLATE \"C\" NOT NULL, merchant_id text COLLATE \"C\" NOT NULL,"
	" event_id text COLLATE \"C\" NOT NULL, member_id text COLLATE \"C\" NOT NULL,"
	" amount bigint NOT NULL, applied bigint NOT NULL, balance bigint,"
	" accepted_at timestamptz NOT NULL DEFAULT now());"
	"CREATE INDEX pcbench_naive_entries_by_member"
	" ON pcbench_naive_entries (alliance_id, member_id);";

static const char naive_members[] =
	"INSERT INTO pcbench_naive_members (alliance_id, member_id, balance)"
	" SELECT alliance_id, member_id, 0 FROM members WHERE alliance_id = $1";

static const char naive_drop[] =
	"DROP TABLE pcbench_naive_claims, pcbench_naive_members, pcbench_naive_entries";

/* $1 alliance, $2 merchant, $3 event id, $4 member, $5 points (+ credit, - debit).
 * No row: the event id was claimed before (a replay); else whether it applied. */
static const char naive_event[] =
	"WITH claim AS ("
	"  INSERT INTO pcbench_naive_claims (alliance_id, merchant_id, event_id)"
	"  VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1),"
	" moved AS ("
	"  UPDATE pcbench_naive_members SET balance = balance + $5::bigint"
	"  WHERE alliance_id = $1 AND member_id = $4 AND balance + $5::bigint >= 0"
	"    AND EXISTS (SELECT FROM claim)"
	"  RETURNING balance)"
	" INSERT INTO pcbench_naive_entries"
	"  (alliance_id, merchant_id, event_id, member_id, amount, applied, balance)"
	" SELECT $1, $2, $3, $4, $5::bigint,"
	"  CASE WHEN EXISTS (SELECT FROM moved) THEN $5::bigint ELSE 0 END,"
	"  (SELECT balance FROM moved)"
	" FROM claim RETURNING applied <> 0";

struct naive_shared {
	const struct bench *b;
	_Atomic int64_t window_start_us;   /* 0 until the warm-up is over */
	_Atomic int64_t window_end_us;     /* 0 until the window is over */
	atomic_bool stop;
};

struct naive_session {
	pthread_t tid;
	struct naive_shared *sh;
	int index;
	uint64_t rng;
	/* in the window */
	struct bench_lat lat;
	struct bench_persec persec;
	uint64_t approved, declined, replayed;
	/* over the whole phase, warm-up included */
	uint64_t committed, failed;
	char err[256];
	bool started;
	_Atomic int backend_pid;   /* its PostgreSQL backend, once connected */
};

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi]; a slight modulo bias does not matter to a baseline. */
static int64_t rng_range(uint64_t *s, int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rng_next(s) % (uint64_t)(hi - lo + 1));
}

/* A member index by the workload's popularity (its cumulative distribution). */
static int pick_member(const struct bench_workload *w, uint64_t *s)
{
	double u = (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
	int lo = 0, hi = w->nmembers - 1;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (w->member_cdf[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static void *naive_session_run(void *arg)
{
	struct naive_session *s = arg;
	const struct bench *b = s->sh->b;
	const char *keys[] = {"dbname", "application_name", NULL};
	const char *vals[] = {b->o.db, "pointclear-bench naive", NULL};
	const char *merchant = b->merchants[b->wl.conn_merchant[s->index]].id;
	PGconn *conn = PQconnectdbParams(keys, vals, 1);
	PGresult *res;
	uint64_t seq = 0;

	if (PQstatus(conn) != CONNECTION_OK) {
		snprintf(s->err, sizeof s->err, "%s", PQerrorMessage(conn));
		goto out;
	}
	res = PQprepare(conn, "event", naive_event, 5, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		snprintf(s->err, sizeof s->err, "%s", PQresultErrorMessage(res));
		PQclear(res);
		goto out;
	}
	PQclear(res);
	atomic_store(&s->backend_pid, PQbackendPID(conn));
	s->started = true;
	while (!atomic_load(&s->sh->stop)) {
		char event_id[48], member[BENCH_ID_MAX], points[24];
		const char *params[5] = {b->alliance, merchant, event_id, member, points};
		/* 60% earns of mostly small amounts, 40% redemptions */
		int64_t p = rng_range(&s->rng, 0, 99) < 60
		                    ? (rng_range(&s->rng, 0, 9) ? rng_range(&s->rng, 5, 150)
		                                                : rng_range(&s->rng, 200, 1500))
		                    : -rng_range(&s->rng, 1, 300);
		int64_t t0 = bench_mono_us(), t1, w0, w1;

		snprintf(event_id, sizeof event_id, "naive-%d-%09" PRIu64, s->index, ++seq);
		snprintf(member, sizeof member, BENCH_MEMBER_PREFIX "%07d",
		         1 + pick_member(&b->wl, &s->rng));
		snprintf(points, sizeof points, "%" PRId64, p);
		res = PQexecPrepared(conn, "event", 5, params, NULL, NULL, 0);
		t1 = bench_mono_us();
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			s->failed++;
			snprintf(s->err, sizeof s->err, "%s", PQresultErrorMessage(res));
			PQclear(res);
			if (PQstatus(conn) != CONNECTION_OK)
				break;
			continue;
		}
		s->committed++;
		w0 = atomic_load(&s->sh->window_start_us);
		w1 = atomic_load(&s->sh->window_end_us);
		if (w0 > 0 && t1 >= w0 && (w1 == 0 || t1 < w1)) {
			if (PQntuples(res) == 0)
				s->replayed++;
			else if (PQgetvalue(res, 0, 0)[0] == 't')
				s->approved++;
			else
				s->declined++;
			bench_lat_add(&s->lat, t1 - t0);
			bench_persec_add(&s->persec, t1 - w0);
		}
		PQclear(res);
	}
out:
	PQfinish(conn);
	return NULL;
}

static void sleep_s(double seconds)
{
	struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Makes the phase's tables and copies the alliance's members into them. */
static int naive_prepare(struct bench *b)
{
	const char *params[] = {b->alliance};
	struct db d = {0};
	int rc = 0;

	if (db_open(&d, b->o.db) != 0)
		return bench_fail("%s", d.err);
	if (db_exec_script(&d, naive_schema) != 0 || db_exec(&d, naive_members, 1, params) != 0 ||
	    db_exec(&d, "ANALYZE pcbench_naive_members", 0, NULL) != 0)
		rc = bench_fail("naive baseline: its tables: %s", d.err);
	db_close(&d);
	return rc;
}

/* Checks the tables hold what the sessions say they committed, and drops them. */
static int naive_finish(struct bench *b, uint64_t committed)
{
	static const char count[] =
		"SELECT (SELECT count(*) FROM pcbench_naive_claims),"
		" (SELECT count(*) FROM pcbench_naive_entries)";
	struct db d = {0};
	PGresult *res;
	int rc = 0;

	if (db_open(&d, b->o.db) != 0)
		return bench_fail("%s", d.err);
	res = db_query(&d, count, 0, NULL);
	if (!res) {
		rc = bench_fail("naive baseline: %s", d.err);
	} else {
		uint64_t claims = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
		uint64_t entries = strtoull(PQgetvalue(res, 0, 1), NULL, 10);

		if (claims != committed || entries != committed)
			rc = bench_fail("naive baseline: %" PRIu64 " transactions committed, but the"
			                " tables hold %" PRIu64 " claims and %" PRIu64 " entries",
			                committed, claims, entries);
		PQclear(res);
	}
	if (db_exec(&d, naive_drop, 0, NULL) != 0 && rc == 0)
		rc = bench_fail("naive baseline: %s", d.err);
	db_close(&d);
	return rc;
}

/* The CPU ticks of the sessions' backends so far; false when one is not a
 * postgres process of this machine (a remote server) or not connected. */
static bool backend_ticks(const struct naive_session *ss, int n, uint64_t *ticks)
{
	*ticks = 0;
	for (int i = 0; i < n; i++) {
		pid_t pid = (pid_t)atomic_load(&ss[i].backend_pid);
		uint64_t t;

		if (pid <= 0 || !bench_proc_is(pid, "postgres") || bench_proc_cpu_ticks(pid, &t) != 0)
			return false;
		*ticks += t;
	}
	return true;
}

static void print_naive(struct bench *b, const struct bench_naive_out *out,
                        const struct bench_usage *use, uint64_t answered, uint32_t smin,
                        uint32_t smax, double window_s, double backend_cores)
{
	printf("naive baseline (1 transaction per event, %d sessions): %.0f events/s over %.1f s"
	       " (%" PRIu64 " transactions; per second min %u max %u)\n",
	       out->sessions, out->rate, window_s, answered, smin, smax);
	printf("    latency ms: p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  mean %.2f\n",
	       out->pct.p50_ms, out->pct.p90_ms, out->pct.p99_ms, out->pct.p999_ms,
	       out->pct.max_ms, out->pct.mean_ms);
	printf("    cpu cores: bench sessions %.2f, whole machine %.2f of %ld"
	       " (the rest is mostly PostgreSQL), stolen by the host %.2f\n",
	       use->client_cores, use->machine_cores, b->ncpu, use->stolen_cores);
	if (backend_cores >= 0)
		printf("    the sessions' %d backends in PostgreSQL: %.2f cores\n", out->sessions,
		       backend_cores);
}

int bench_naive_phase(struct bench *b, double warmup, double duration,
                      struct bench_naive_out *out)
{
	struct naive_shared sh = {.b = b};
	struct naive_session *ss;
	struct bench_wal_mark wal0, wal1;
	struct bench_lat all;
	struct bench_persec persec;
	struct bench_usage use;
	uint64_t approved = 0, declined = 0, replayed = 0, committed = 0, failed = 0;
	int n = b->o.connections, started = 0, full_secs, rc = 0;
	uint32_t smin = 0, smax = 0;
	uint64_t bt0 = 0, bt1 = 0;
	bool bt_ok = false;
	int64_t t0 = 0, t1 = 0;
	char err[320] = "";

	memset(out, 0, sizeof *out);
	out->sessions = n;
	if (naive_prepare(b) != 0)
		return 1;
	ss = calloc((size_t)n, sizeof *ss);
	if (!ss || bench_persec_init(&persec, (int)duration + 2) != 0) {
		free(ss);
		return bench_fail("out of memory");
	}
	bench_lat_init(&all);
	bench_progress("naive baseline: %d database sessions, one transaction per event,"
	               " %.0f s warm-up + %.0f s", n, warmup, duration);
	bench_take_wal_mark(b, &wal0);
	for (int i = 0; i < n; i++) {
		struct naive_session *s = &ss[i];

		s->sh = &sh;
		s->index = i;
		s->rng = b->o.seed ^ (UINT64_C(0x4e41495645000000) + (uint64_t)i);
		bench_lat_init(&s->lat);
		if (bench_persec_init(&s->persec, (int)duration + 2) != 0 ||
		    pthread_create(&s->tid, NULL, naive_session_run, s) != 0) {
			atomic_store(&sh.stop, true);
			rc = bench_fail("naive baseline: cannot start session %d", i);
			break;
		}
		started++;
	}
	if (rc == 0) {
		sleep_s(warmup);
		bt_ok = backend_ticks(ss, n, &bt0);
		bench_take_sample(b, &b->s0);
		t0 = bench_mono_us();
		atomic_store(&sh.window_start_us, t0);
		sleep_s(duration);
		t1 = bench_mono_us();
		atomic_store(&sh.window_end_us, t1);
		bench_take_sample(b, &b->s1);
		bt_ok = bt_ok && backend_ticks(ss, n, &bt1) && bt1 >= bt0;
		atomic_store(&sh.stop, true);
	}
	for (int i = 0; i < started; i++) {
		struct naive_session *s = &ss[i];

		pthread_join(s->tid, NULL);
		if (!s->started && !err[0])
			snprintf(err, sizeof err, "session %d: %s", i, s->err);
		if (s->failed && !err[0])
			snprintf(err, sizeof err, "session %d: %s", i, s->err);
		approved += s->approved;
		declined += s->declined;
		replayed += s->replayed;
		committed += s->committed;
		failed += s->failed;
		for (size_t k = 0; k < s->lat.n; k++)
			bench_lat_add(&all, s->lat.us[k]);
		for (int k = 0; k < persec.nsec; k++)
			persec.count[k] += s->persec.count[k];
	}
	bench_take_wal_mark(b, &wal1);
	if (rc == 0 && started < n)
		rc = 1;
	if (rc == 0 && err[0] && committed == 0)
		rc = bench_fail("naive baseline: %s", err);
	if (rc == 0) {
		uint64_t answered = approved + declined + replayed;
		double window_s = (double)(t1 - t0) / 1e6;

		use = bench_usage_between(b);
		out->rate = window_s > 0 ? (double)answered / window_s : 0;
		full_secs = (int)(window_s);
		bench_persec_minmax(&persec, full_secs, &smin, &smax);
		bench_lat_percentiles(&all, &out->pct);
		out->ok = answered > 0;
		print_naive(b, out, &use, answered, smin, smax, window_s,
		            bt_ok && window_s > 0 ? (double)(bt1 - bt0) /
		                                        (double)sysconf(_SC_CLK_TCK) / window_s
		                                  : -1);
		bench_print_wal(&wal0, &wal1, (int64_t)committed);
		printf("    transactions: approved %" PRIu64 ", declined %" PRIu64 ", replayed %" PRIu64
		       " in the window; failed %" PRIu64 " in the whole phase\n",
		       approved, declined, replayed, failed);
		if (failed)
			printf("    WARNING: %" PRIu64 " transactions failed; the last: %s\n", failed, err);
		fflush(stdout);
	}
	for (int i = 0; i < n; i++) {
		bench_lat_free(&ss[i].lat);
		bench_persec_free(&ss[i].persec);
	}
	free(ss);
	bench_lat_free(&all);
	bench_persec_free(&persec);
	if (naive_finish(b, committed) != 0 && rc == 0)
		rc = 1;
	return rc;
}
