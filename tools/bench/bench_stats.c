/* bench_stats.c - latency samples, exact percentiles, per-second counts (see bench_stats.h). */
#include "bench_stats.h"

#include <stdlib.h>
#include <string.h>

void bench_lat_init(struct bench_lat *l)
{
	memset(l, 0, sizeof *l);
}

void bench_lat_free(struct bench_lat *l)
{
	free(l->us);
	memset(l, 0, sizeof *l);
}

int bench_lat_add(struct bench_lat *l, int64_t us)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 65536;
		uint32_t *p = realloc(l->us, cap * sizeof *p);

		if (!p)
			return -1;
		l->us = p;
		l->cap = cap;
	}
	if (us < 0)
		us = 0;
	l->us[l->n++] = us > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Nearest rank: index ceil(p * n) - 1, with p in thousandths to stay exact. */
static double rank_ms(const struct bench_lat *l, unsigned permille)
{
	size_t rank = (l->n * permille + 999) / 1000;

	if (rank == 0)
		rank = 1;
	return (double)l->us[rank - 1] / 1000.0;
}

void bench_lat_percentiles(struct bench_lat *l, struct bench_pct *out)
{
	memset(out, 0, sizeof *out);
	if (l->n == 0)
		return;
	qsort(l->us, l->n, sizeof l->us[0], cmp_u32);
	double sum = 0;

	for (size_t i = 0; i < l->n; i++)
		sum += (double)l->us[i];
	out->n = l->n;
	out->mean_ms = sum / (double)l->n / 1000.0;
	out->p50_ms = rank_ms(l, 500);
	out->p90_ms = rank_ms(l, 900);
	out->p99_ms = rank_ms(l, 990);
	out->p999_ms = rank_ms(l, 999);
	out->max_ms = (double)l->us[l->n - 1] / 1000.0;
}

int bench_persec_init(struct bench_persec *p, int nsec)
{
	p->nsec = nsec > 0 ? nsec : 1;
	p->count = calloc((size_t)p->nsec, sizeof *p->count);
	return p->count ? 0 : -1;
}

void bench_persec_free(struct bench_persec *p)
{
	free(p->count);
	p->count = NULL;
	p->nsec = 0;
}

void bench_persec_minmax(const struct bench_persec *p, int full, uint32_t *min, uint32_t *max)
{
	*min = *max = 0;
	if (full > p->nsec)
		full = p->nsec;
	for (int i = 0; i < full; i++) {
		if (i == 0 || p->count[i] < *min)
			*min = p->count[i];
		if (p->count[i] > *max)
			*max = p->count[i];
	}
}
