/* phase_sweep.c - the open-loop sweep: events offered at fixed rates (--rates),
 * --sweep-duration seconds each, whatever the answers do, so that the latency
 * at a given load is measured and not hidden by a client that waits. Each step
 * reports the achieved rate, latency, CPU, the disk's slowest flush meanwhile
 * and the daemon's own account of the step (its stats line, on SIGUSR1); the
 * steps go to --csv for the plot. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "bench_dstats.h"

#define SWEEP_WARMUP_S 2.0
#define FLUSH_PROBE_MS 10      /* a step's flush probe: one write and fdatasync per 10 ms */

static int parse_rates(const char *s, double max_rate, double *rates, int *n)
{
	static const double fractions[] = {0.1, 0.25, 0.5, 0.75, 0.9, 1.0, 1.1};
	char buf[512], *save = NULL;

	*n = 0;
	if (strcmp(s, "auto") == 0) {
		for (size_t i = 0; i < sizeof fractions / sizeof fractions[0]; i++) {
			double r = (double)(int64_t)(fractions[i] * max_rate);

			rates[(*n)++] = r > 1 ? r : 1;
		}
		return 0;
	}
	if (strlen(s) >= sizeof buf)
		return -1;
	strcpy(buf, s);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int64_t v;

		if (*n == BENCH_MAX_RATES || bench_parse_i64(tok, 1, 10000000, &v) != 0)
			return -1;
		rates[(*n)++] = (double)v;
	}
	return *n > 0 ? 0 : -1;
}

/* The daemon's account of the window just measured: where its events spent their
 * time. Nothing when it logged none (e.g. --log-level warn). */
static void print_daemon_account(struct bench *b)
{
	struct bench_dstats ds;

	if (b->dstats_before < 0 || bench_dstats_wait(b->d.log, b->dstats_before, 2000, &ds) != 0)
		return;
	printf("        in the daemon, ms p50/p99: verify %.1f/%.1f, wait for the batch in flight"
	       " %.1f/%.1f, own batch %.1f/%.1f, all %.1f/%.1f; %.1f events per batch\n",
	       ds.verify[0], ds.verify[1], ds.wait[0], ds.wait[1], ds.batch[0], ds.batch[1],
	       ds.daemon[0], ds.daemon[1], ds.per_batch);
}

/* VACUUM (ANALYZE) of the bench's database, timed and printed. */
static int vacuum_database(struct bench *b)
{
	int64_t t0 = bench_mono_us();

	bench_progress("sweep: vacuuming what the closed loop left (VACUUM ANALYZE)");
	int rc = bench_maintenance(b, "VACUUM (ANALYZE)");

	if (rc != 0)
		return rc;
	printf("sweep: the closed loop's rows vacuumed first (VACUUM ANALYZE: %.2f s)\n",
	       (double)(bench_mono_us() - t0) / 1e6);
	return 0;
}

int bench_sweep_phase(struct bench *b, double max_rate, struct bench_sweep_point *pts,
                      int *npts)
{
	double rates[BENCH_MAX_RATES], need = 0;
	int n;
	FILE *csv = NULL;

	*npts = 0;
	if (parse_rates(b->o.rates, max_rate, rates, &n) != 0)
		return bench_fail("--rates: a list of rates (events/s) or auto");
	for (int i = 0; i < n; i++)
		need += rates[i] * (SWEEP_WARMUP_S + b->o.sweep_duration) * 1.05;
	if ((double)bench_wl_unsent(&b->wl) < need &&
	    bench_generate(b, (size_t)(need - (double)bench_wl_unsent(&b->wl)) + 1000, "the sweep") != 0)
		return 1;
	if (b->o.csv) {
		csv = fopen(b->o.csv, "w");
		if (!csv)
			return bench_fail("cannot write %s: %s", b->o.csv, strerror(errno));
		fprintf(csv, "offered,achieved,p50_ms,p99_ms,p999_ms,stolen_cores,flush_p99_ms,"
		        "flush_max_ms,writer_cores\n");
	}
	/* The closed loop left at the maximum rate what autovacuum comes back for within
	 * a minute: a VACUUM and an ANALYZE of every table it grew or updated. That ran
	 * in whichever step of the sweep it fell in, and took CPU from the writer's backend
	 * (p99 350 ms at 3,500/s in the step it hit, 27 ms with autovacuum off). So the
	 * sweep starts from a vacuumed database; autovacuum's share of the sweep's own
	 * rows stays in it. */
	if (vacuum_database(b) != 0) {
		if (csv)
			fclose(csv);
		return 1;
	}
	/* The closed loop dirtied the page cache at the maximum rate; the kernel writes
	 * such pages back 30 s later, and a commit's flush then waits behind them
	 * (bench_flush.h). Flushed now, they fall in no step of the sweep. */
	{
		int64_t t0 = bench_mono_us();

		bench_progress("sweep: flushing the page cache (sync)");
		sync();
		printf("sweep: the page cache flushed first (sync: %.2f s)\n",
		       (double)(bench_mono_us() - t0) / 1e6);
	}
	bool daemon_logs_stats = bench_dstats_supported(b->d.log);
	printf("sweep: open loop, %.0f s per rate after %.0f s warm-up\n", b->o.sweep_duration,
	       SWEEP_WARMUP_S);
	printf("    %10s %10s %9s %9s %9s %9s %7s %7s %7s %9s\n", "offered/s", "achieved/s",
	       "p50 ms", "p99 ms", "p99.9 ms", "max ms", "cores", "writer", "stolen", "flush max");
	for (int i = 0; i < n; i++) {
		struct bench_result r;
		struct bench_sweep_point *p = &pts[*npts];
		struct bench_usage use;
		char err[512];

		bench_result_init(&r);
		if (bench_refresh_statistics(b) != 0) {
			if (csv)
				fclose(csv);
			return 1;
		}
		bench_find_writer(b);
		bench_progress("sweep: offering %.0f events/s", rates[i]);
		b->mark_daemon = daemon_logs_stats;
		b->dstats_before = -1;
		b->flush_err[0] = '\0';
		b->probe_flush = bench_flush_prepare(&b->flush, b->logdir, FLUSH_PROBE_MS, b->flush_err,
		                                     sizeof b->flush_err) == 0;
		int open_rc = bench_client_open(b->cl, rates[i], SWEEP_WARMUP_S, b->o.sweep_duration, &r,
		                                bench_on_mark, b, err, sizeof err);
		if (bench_flush_finish(&b->flush, &p->flush) != 0) {
			if (b->flush.err)
				bench_progress("flush probe: %s", strerror(b->flush.err));
			else if (b->flush_err[0])
				bench_progress("%s", b->flush_err);
		}
		b->probe_flush = false;
		if (open_rc != 0) {
			b->mark_daemon = false;
			bench_result_free(&r);
			if (csv)
				fclose(csv);
			return bench_fail("sweep at %.0f/s: %s", rates[i], err);
		}
		b->mark_daemon = false;
		p->offered = rates[i];
		p->achieved = bench_rate_of(&r);
		use = bench_usage_between(b);
		p->daemon_cores = use.daemon_cores;
		p->stolen_cores = use.stolen_cores;
		p->writer_cores = use.writer_cores;
		bench_lat_percentiles(&r.lat, &p->pct);
		printf("    %10.0f %10.0f %9.2f %9.2f %9.2f %9.2f %7.2f", p->offered, p->achieved,
		       p->pct.p50_ms, p->pct.p99_ms, p->pct.p999_ms, p->pct.max_ms, p->daemon_cores);
		if (p->writer_cores >= 0)
			printf(" %7.2f", p->writer_cores);
		else
			printf(" %7s", "-");
		printf(" %7.2f", p->stolen_cores);
		if (p->flush.n > 0)
			printf(" %9.2f", p->flush.max_ms);
		else
			printf(" %9s", "-");
		if (r.missed)
			printf("  (%" PRIu64 " sends missed)", r.missed);
		if (r.answered && bench_recorded(&r) * 100 < r.answered * 99)
			printf("  (%.1f%% not recorded)",
			       100.0 - 100.0 * (double)bench_recorded(&r) / (double)r.answered);
		if (r.conn_failures || r.drain_left)
			printf("  (%" PRIu64 " connections lost, %" PRIu64 " unanswered)", r.conn_failures,
			       r.drain_left);
		printf("\n");
		print_daemon_account(b);
		fflush(stdout);
		if (csv) {
			fprintf(csv, "%.0f,%.1f,%.3f,%.3f,%.3f,%.2f,", p->offered, p->achieved,
			        p->pct.p50_ms, p->pct.p99_ms, p->pct.p999_ms, p->stolen_cores);
			/* empty when the probe failed: gnuplot skips it, nobody reads it as 0 ms */
			if (p->flush.n > 0)
				fprintf(csv, "%.3f,%.3f,", p->flush.p99_ms, p->flush.max_ms);
			else
				fprintf(csv, ",,");
			if (p->writer_cores >= 0)
				fprintf(csv, "%.2f\n", p->writer_cores);
			else
				fprintf(csv, "\n");
		}
		(*npts)++;
		bench_result_free(&r);
	}
	if (csv && fclose(csv) != 0)
		return bench_fail("writing %s failed", b->o.csv);
	return 0;
}
