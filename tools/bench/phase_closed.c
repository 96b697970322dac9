/* phase_closed.c - the closed loop: every connection keeps --pipeline requests
 * unanswered for the window, which gives the most events per second the daemon
 * sustains, with the acknowledgement latency, the CPU of the daemon, of its
 * writer backend and of the machine, the daemon's memory, the WAL per recorded
 * event, and what the answers were. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

int bench_closed_phase(struct bench *b, const char *title, double warmup, double duration,
                       struct bench_closed_out *out)
{
	struct bench_result r;
	struct bench_wal_mark wal0, wal1;
	char err[512];

	memset(out, 0, sizeof *out);
	bench_result_init(&r);
	bench_take_wal_mark(b, &wal0);
	bench_find_writer(b);
	bench_progress("%s: closed loop, %d connections x %d pipelined, %.0f s warm-up + %.0f s",
	               title, b->o.connections, b->o.pipeline, warmup, duration);
	if (bench_client_closed(b->cl, warmup, duration, &r, bench_on_mark, b, err,
	                        sizeof err) != 0) {
		bench_result_free(&r);
		return bench_fail("%s: %s", title, err);
	}
	out->use = bench_usage_between(b);
	bench_take_wal_mark(b, &wal1);
	bench_proc_mem(b->d.pid, &out->rss_kib, &out->hwm_kib);
	out->rate = bench_rate_of(&r);
	out->window_s = (double)r.window_us / 1e6;
	out->full_secs = (int)(r.window_us / 1000000);
	bench_persec_minmax(&r.persec, out->full_secs, &out->sec_min, &out->sec_max);
	bench_lat_percentiles(&r.lat, &out->pct);
	out->ok = r.answered > 0;

	printf("%s: %.0f events/s over %.1f s (%" PRIu64 " answers; per second min %u max %u)\n",
	       title, out->rate, out->window_s, r.answered, out->sec_min, out->sec_max);
	printf("    latency ms: p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  mean %.2f\n",
	       out->pct.p50_ms, out->pct.p90_ms, out->pct.p99_ms, out->pct.p999_ms, out->pct.max_ms,
	       out->pct.mean_ms);
	printf("    cpu cores: daemon %.2f, bench client %.2f, whole machine %.2f of %ld"
	       " (the rest is mostly PostgreSQL), stolen by the host %.2f\n",
	       out->use.daemon_cores, out->use.client_cores, out->use.machine_cores, b->ncpu,
	       out->use.stolen_cores);
	if (out->use.writer_cores >= 0)
		printf("    the daemon's writer backend in PostgreSQL: %.2f cores (it records one batch"
		       " at a time)\n", out->use.writer_cores);
	printf("    daemon memory: RSS %.1f MiB, peak %.1f MiB\n", (double)out->rss_kib / 1024,
	       (double)out->hwm_kib / 1024);
	bench_print_wal(&wal0, &wal1, wal1.ledger_seq - wal0.ledger_seq);
	bench_print_breakdown(&r);
	if (r.answered && bench_recorded(&r) * 100 < r.answered * 99)
		printf("    WARNING: %.1f%% of the answers were not RECORDED; see the breakdown\n",
		       100.0 - 100.0 * (double)bench_recorded(&r) / (double)r.answered);
	fflush(stdout);
	bench_result_free(&r);
	return 0;
}
