/* latency.c - log-linear histogram of durations (see latency.h). */
#include "latency.h"

#include <string.h>

/* Values below 16 have a bucket each. From 2^k on (k >= 4), eight buckets split
 * [2^k, 2^(k+1)) evenly, each 2^(k-3) wide. */
static int bucket_of(uint64_t v)
{
	if (v < 16)
		return (int)v;
	int k = 63 - __builtin_clzll(v);
	int i = 16 + (k - 4) * 8 + (int)((v >> (k - 3)) & 7);
	return i < PC_LATENCY_BUCKETS ? i : PC_LATENCY_BUCKETS - 1;
}

static int64_t upper_bound(int i)
{
	if (i < 16)
		return i;
	int k = (i - 16) / 8 + 4;
	int sub = (i - 16) % 8;
	return (int64_t)(((uint64_t)(8 + sub + 1) << (k - 3)) - 1);
}

void pc_latency_reset(struct pc_latency *h)
{
	memset(h, 0, sizeof *h);
}

void pc_latency_add(struct pc_latency *h, int64_t us)
{
	if (us < 0)
		us = 0;
	h->count[bucket_of((uint64_t)us)]++;
	h->n++;
	if (us > h->max_us)
		h->max_us = us;
}

int64_t pc_latency_quantile(const struct pc_latency *h, int per_10000)
{
	if (h->n == 0)
		return 0;
	if (per_10000 < 1)
		per_10000 = 1;
	if (per_10000 > 10000)
		per_10000 = 10000;
	/* the rank of the value asked for, counting from 1: ceil(n * q) */
	uint64_t rank = (h->n * (uint64_t)per_10000 + 9999) / 10000;
	uint64_t seen = 0;
	for (int i = 0; i < PC_LATENCY_BUCKETS; i++) {
		seen += h->count[i];
		if (seen >= rank) {
			int64_t ub = upper_bound(i);
			return ub < h->max_us ? ub : h->max_us;
		}
	}
	return h->max_us;
}
