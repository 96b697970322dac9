/* test_latency.c - unit tests of the daemon's duration histogram (daemon/latency.c):
 * quantiles never below the true value and at most 1/8 above it, never above
 * the largest value counted, and the edges (empty, clock steps, huge values). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "latency.h"

static struct pc_latency h;

static void test_empty(void **state)
{
	(void)state;
	pc_latency_reset(&h);
	assert_int_equal(pc_latency_quantile(&h, 5000), 0);
	assert_int_equal(pc_latency_quantile(&h, 10000), 0);
}

static void test_small_values_exact(void **state)
{
	(void)state;
	pc_latency_reset(&h);
	for (int v = 1; v <= 10; v++)
		pc_latency_add(&h, v);
	assert_int_equal(h.n, 10);
	assert_int_equal(pc_latency_quantile(&h, 5000), 5);    /* rank 5 of 10 */
	assert_int_equal(pc_latency_quantile(&h, 5001), 6);    /* rank ceil(5.001) */
	assert_int_equal(pc_latency_quantile(&h, 1), 1);
	assert_int_equal(pc_latency_quantile(&h, 10000), 10);
}

/* 1..N each once: the value of rank r is r itself. */
static void test_bounds_against_exact_ranks(void **state)
{
	enum { N = 200000 };
	static const int qs[] = {1, 100, 1000, 5000, 9000, 9900, 9990, 9999, 10000};

	(void)state;
	pc_latency_reset(&h);
	for (int64_t v = 1; v <= N; v++)
		pc_latency_add(&h, v);
	for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
		int64_t exact = ((int64_t)N * qs[i] + 9999) / 10000;
		int64_t got = pc_latency_quantile(&h, qs[i]);
		assert_true(got >= exact);
		assert_true(got * 8 <= exact * 9 + 8);   /* got <= exact * 1.125, rounded up */
	}
	assert_int_equal(pc_latency_quantile(&h, 10000), N);
}

static void test_never_above_max(void **state)
{
	(void)state;
	pc_latency_reset(&h);
	pc_latency_add(&h, 1000);   /* its bucket runs up to 1023 */
	assert_int_equal(pc_latency_quantile(&h, 5000), 1000);
	assert_int_equal(h.max_us, 1000);
}

static void test_edges(void **state)
{
	(void)state;
	pc_latency_reset(&h);
	pc_latency_add(&h, -5);              /* the clock stepped back: counts as 0 */
	assert_int_equal(pc_latency_quantile(&h, 10000), 0);
	pc_latency_add(&h, INT64_MAX);
	assert_int_equal(h.n, 2);
	assert_int_equal(pc_latency_quantile(&h, 5000), 0);
	assert_true(pc_latency_quantile(&h, 10000) == INT64_MAX);
	/* out-of-range quantiles are clamped, not undefined */
	assert_int_equal(pc_latency_quantile(&h, 0), 0);
	assert_true(pc_latency_quantile(&h, 20000) == INT64_MAX);
	pc_latency_reset(&h);
	assert_int_equal(h.n, 0);
	assert_int_equal(h.max_us, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_small_values_exact),
		cmocka_unit_test(test_bounds_against_exact_ranks),
		cmocka_unit_test(test_never_above_max),
		cmocka_unit_test(test_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
