/* bench_stats.h - latency samples and their exact percentiles, for pointclear-bench.
 *
 * Every acknowledgement latency of a measured window is kept (4 bytes each, in
 * microseconds) and the percentiles are read off the sorted samples: exact, not
 * estimated. A run of 60 s at 20k events/s is 1.2M samples, under 5 MB.
 * (Debian 12 packages no C HDR-histogram library; an exact sort of this many
 * samples takes well under a second, after the timed window.) */
#ifndef POINTCLEAR_BENCH_STATS_H
#define POINTCLEAR_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

struct bench_lat {
	uint32_t *us;     /* samples, microseconds */
	size_t n, cap;
};

struct bench_pct {
	size_t n;
	double mean_ms, p50_ms, p90_ms, p99_ms, p999_ms, max_ms;
};

void bench_lat_init(struct bench_lat *l);
void bench_lat_free(struct bench_lat *l);

/* Adds one sample; a latency beyond 4294 s is clamped. 0, or -1 out of memory. */
int bench_lat_add(struct bench_lat *l, int64_t us);

/* Sorts the samples in place and fills out (all zero when there are none).
 * Percentile p is the nearest-rank value: the smallest sample with at least
 * p of all samples at or below it. */
void bench_lat_percentiles(struct bench_lat *l, struct bench_pct *out);

/* Per-second counts over a window, to show a rate was sustained. */
struct bench_persec {
	uint32_t *count;
	int nsec;
};

int bench_persec_init(struct bench_persec *p, int nsec);
void bench_persec_free(struct bench_persec *p);
/* Counts one event at `offset_us` from the window's start (ignored outside it). */
static inline void bench_persec_add(struct bench_persec *p, int64_t offset_us)
{
	if (offset_us >= 0 && offset_us / 1000000 < p->nsec)
		p->count[offset_us / 1000000]++;
}
/* Minimum and maximum over the first `full` whole seconds (0 when full is 0). */
void bench_persec_minmax(const struct bench_persec *p, int full, uint32_t *min, uint32_t *max);

#endif
