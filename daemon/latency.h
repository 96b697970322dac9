/* latency.h - a fixed-size histogram of durations in microseconds, for the
 * daemon's periodic stage-latency line.
 *
 * Log-linear buckets: exact below 16 µs, then eight buckets per power of two, so
 * a quantile read back is the upper bound of its bucket, at most 1/8 above the
 * true value. Adding is a few instructions and no allocation; one histogram is
 * about 2 KiB whatever the load. (Debian 12 packages no C HDR-histogram
 * library; this is the part of one the daemon needs.) Not thread-safe: each
 * histogram belongs to the event loop. */
#ifndef PC_LATENCY_H
#define PC_LATENCY_H

#include <stdint.h>

#define PC_LATENCY_BUCKETS (16 + 8 * 60)

struct pc_latency {
	uint32_t count[PC_LATENCY_BUCKETS];
	uint64_t n;
	int64_t max_us;
};

void pc_latency_reset(struct pc_latency *h);

/* Counts one duration; a negative one (a clock step) counts as 0. */
void pc_latency_add(struct pc_latency *h, int64_t us);

/* The duration below which per_10000 / 10000 of the counted ones fall, as the
 * upper bound of its bucket (never above max_us); 0 when nothing was counted.
 * per_10000 runs from 1 to 10000: 5000 is the median, 9900 p99, 9990 p99.9. */
int64_t pc_latency_quantile(const struct pc_latency *h, int per_10000);

#endif
