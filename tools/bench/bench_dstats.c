/* bench_dstats.c - the daemon's stats lines, read back from its log (see bench_dstats.h);
 * the line's fields and formats are the daemon's (daemon/stats_line.h). */
#include "bench_dstats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Counts the stats lines of the log and copies the last into last (may be NULL). */
static int scan(const char *path, char *last, size_t cap)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		if (!strstr(line, BENCH_DSTATS_MARK))
			continue;
		n++;
		if (last)
			snprintf(last, cap, "%s", line);
	}
	fclose(f);
	return n;
}

int bench_dstats_parse(const char *line, struct bench_dstats *o)
{
	const char *s = strstr(line, PC_STATS_SCAN_FROM_EVENTS);

	if (!s)
		return -1;
	int got = sscanf(s, PC_STATS_SCAN, &o->events, &o->batches, &o->per_batch,
	                 &o->verify[0], &o->verify[1], &o->verify[2], &o->wait[0], &o->wait[1], &o->wait[2], &o->batch[0],
	                 &o->batch[1], &o->batch[2], &o->daemon[0], &o->daemon[1], &o->daemon[2]);
	return got == 15 && o->events > 0 ? 0 : -1;
}

bool bench_dstats_supported(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	bool yes = false;

	if (!f)
		return false;
	while (!yes && fgets(line, sizeof line, f))
		yes = strstr(line, " starting ") && strstr(line, " stats_interval_ms=");
	fclose(f);
	return yes;
}

int bench_dstats_count(const char *path)
{
	return scan(path, NULL, 0);
}

int bench_dstats_wait(const char *path, int before, int timeout_ms, struct bench_dstats *out)
{
	const struct timespec pause = {0, 20 * 1000000L};
	char last[1024];

	memset(out, 0, sizeof *out);
	for (int waited = 0; waited <= timeout_ms; waited += 20) {
		int n = scan(path, last, sizeof last);
		if (n > before)
			return bench_dstats_parse(last, out);
		nanosleep(&pause, NULL);
	}
	return -1;
}
