/* test_stats_line.c - the daemon's stats line (daemon/stats_line.h) against the
 * bench's reader of it (tools/bench/bench_dstats.c): a line formatted with the
 * header's formats, as the daemon's writer logs it, parses back to the values it
 * was given, so that the writer and its readers cannot drift apart; and the
 * line's text is pinned, so that changing it is a decision a test records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bench_dstats.h"
#include "daemon/stats_line.h"

/* The time and level the daemon's log puts before every message. */
#define LOG_PREFIX "2025-01-31T12:00:00.123Z info "

/* One line as pc_writer_log_stats formats it. */
static void format_busy(char *buf, size_t cap, double seconds, unsigned long long events,
                        unsigned long long batches, int queued, const double q[4][3])
{
	char d[4][64];

	for (int k = 0; k < 4; k++)
		snprintf(d[k], sizeof d[k], PC_STATS_QUANTILES_FMT, q[k][0], q[k][1], q[k][2]);
	int n = snprintf(buf, cap, LOG_PREFIX);
	snprintf(buf + n, cap - (size_t)n, PC_STATS_FMT, seconds, events, batches,
	         (double)events / (double)batches, queued, d[0], d[1], d[2], d[3]);
}

static void test_text_pinned(void **state)
{
	(void)state;
	assert_string_equal(PC_STATS_FMT,
	                    "stats seconds=%.1f events=%llu batches=%llu events_per_batch=%.1f"
	                    " queued=%d verify_ms=%s wait_ms=%s batch_ms=%s daemon_ms=%s");
	assert_string_equal(PC_STATS_FMT_IDLE, "stats seconds=%.1f events=0 batches=0 queued=%d");
	assert_string_equal(PC_STATS_QUANTILES_FMT, "%.1f/%.1f/%.1f");
}

static void test_round_trip(void **state)
{
	static const double q[4][3] = {
		{0.1, 2.5, 7.0}, {0.0, 12.3, 40.9}, {3.4, 9.9, 1234.5}, {4.0, 25.1, 1300.2},
	};
	char line[1024];
	struct bench_dstats ds;

	(void)state;
	format_busy(line, sizeof line, 10.0, 123456789012ULL, 41152ULL, 17, q);   /* 3000019.17/batch */
	assert_non_null(strstr(line, BENCH_DSTATS_MARK));
	assert_int_equal(bench_dstats_parse(line, &ds), 0);
	assert_true(ds.events == 123456789012ULL);
	assert_true(ds.batches == 41152ULL);
	assert_true(ds.per_batch > 3000019.15 && ds.per_batch < 3000019.25);
	const double *got[4] = {ds.verify, ds.wait, ds.batch, ds.daemon};
	for (int k = 0; k < 4; k++)
		for (int i = 0; i < 3; i++)
			assert_true(got[k][i] > q[k][i] - 0.051 && got[k][i] < q[k][i] + 0.051);
}

/* A line that counted no event is a stats line, but holds no account. */
static void test_idle_line(void **state)
{
	char line[256];
	struct bench_dstats ds;

	(void)state;
	int n = snprintf(line, sizeof line, LOG_PREFIX);
	snprintf(line + n, sizeof line - (size_t)n, PC_STATS_FMT_IDLE, 5.0, 3);
	assert_non_null(strstr(line, BENCH_DSTATS_MARK));
	assert_int_equal(bench_dstats_parse(line, &ds), -1);
}

/* Lines that are not the stats line, or are cut short, are refused. */
static void test_not_a_stats_line(void **state)
{
	static const double q[4][3] = {{1, 2, 3}, {1, 2, 3}, {1, 2, 3}, {1, 2, 3}};
	char line[1024];
	struct bench_dstats ds;

	(void)state;
	assert_int_equal(bench_dstats_parse(LOG_PREFIX "pointcleard: listening on 127.0.0.1:1",
	                                    &ds), -1);
	format_busy(line, sizeof line, 1.0, 10, 2, 0, q);
	*strstr(line, " " PC_STATS_DAEMON_MS "=") = '\0';
	assert_int_equal(bench_dstats_parse(line, &ds), -1);
}

/* The bench counts the lines of a log and reads the last one. */
static void test_log_file(void **state)
{
	static const double q[4][3] = {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}, {10, 11, 12}};
	char path[] = "/tmp/pc_test_stats_line.XXXXXX", line[1024];
	struct bench_dstats ds;
	int fd = mkstemp(path);
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f, LOG_PREFIX "starting\n" LOG_PREFIX PC_STATS_FMT_IDLE "\n", 1.0, 0);
	format_busy(line, sizeof line, 2.0, 600, 3, 1, q);
	fprintf(f, "%s\n", line);
	fclose(f);
	assert_int_equal(bench_dstats_count(path), 2);
	assert_int_equal(bench_dstats_wait(path, 1, 0, &ds), 0);
	assert_true(ds.events == 600 && ds.batches == 3);
	assert_true(ds.daemon[2] > 11.9 && ds.daemon[2] < 12.1);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_pinned),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_idle_line),
		cmocka_unit_test(test_not_a_stats_line),
		cmocka_unit_test(test_log_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
