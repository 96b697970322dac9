/* test_money.c - unit tests of amount checks, overflow-checked sums, rounding and splits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pointclear/money.h"

static void test_amount_check(void **state)
{
	(void)state;
	assert_int_equal(pc_amount_check(1), PC_AMOUNT_OK);
	assert_int_equal(pc_amount_check(PC_AMOUNT_MAX), PC_AMOUNT_OK);
	assert_int_equal(pc_amount_check(0), PC_AMOUNT_NOT_POSITIVE);
	assert_int_equal(pc_amount_check(-1), PC_AMOUNT_NOT_POSITIVE);
	assert_int_equal(pc_amount_check(INT64_MIN), PC_AMOUNT_NOT_POSITIVE);
	assert_int_equal(pc_amount_check(PC_AMOUNT_MAX + 1), PC_AMOUNT_TOO_LARGE);
	assert_int_equal(pc_amount_check(INT64_MAX), PC_AMOUNT_TOO_LARGE);
}

static void test_add_sub(void **state)
{
	int64_t r = 7;

	(void)state;
	assert_true(pc_add_i64(2, 3, &r));
	assert_int_equal(r, 5);
	assert_true(pc_add_i64(INT64_MAX - 1, 1, &r));
	assert_true(r == INT64_MAX);
	r = 7;
	assert_false(pc_add_i64(INT64_MAX, 1, &r));
	assert_int_equal(r, 7);   /* untouched on overflow */
	assert_false(pc_add_i64(INT64_MIN, -1, &r));
	assert_true(pc_sub_i64(5, 8, &r));
	assert_int_equal(r, -3);
	assert_true(pc_sub_i64(-1, INT64_MAX, &r));
	assert_true(r == INT64_MIN);
	r = 7;
	assert_false(pc_sub_i64(INT64_MIN, 1, &r));
	assert_false(pc_sub_i64(0, INT64_MIN, &r));
	assert_int_equal(r, 7);
}

static int64_t mdh(int64_t q, int64_t n, int64_t d)
{
	int64_t r = 0x5a5a;

	assert_true(pc_mul_div_half_even(q, n, d, &r));
	return r;
}

static void test_half_even(void **state)
{
	int64_t r = 9;

	(void)state;
	assert_int_equal(mdh(10, 1, 4), 2);     /* 2.5 -> 2 */
	assert_int_equal(mdh(14, 1, 4), 4);     /* 3.5 -> 4 */
	assert_int_equal(mdh(11, 1, 4), 3);     /* 2.75 -> 3 */
	assert_int_equal(mdh(9, 1, 4), 2);      /* 2.25 -> 2 */
	assert_int_equal(mdh(1, 1, 2), 0);      /* 0.5 -> 0 */
	assert_int_equal(mdh(3, 1, 2), 2);      /* 1.5 -> 2 */
	assert_int_equal(mdh(-10, 1, 4), -2);   /* -2.5 -> -2 */
	assert_int_equal(mdh(-14, 1, 4), -4);   /* -3.5 -> -4 */
	assert_int_equal(mdh(-11, 1, 4), -3);
	assert_int_equal(mdh(-9, 1, 4), -2);
	assert_int_equal(mdh(5, -1, 2), -2);    /* a negative price rounds the same way */
	assert_int_equal(mdh(0, 5, 3), 0);
	assert_int_equal(mdh(12345, 100, 100), 12345);
	/* 1,000,000,000,000 points at 0.35 minor units: 3.5e11 exactly */
	assert_true(mdh(PC_AMOUNT_MAX, 35, 100) == INT64_C(350000000000));
	/* The product overflows 64 bits but the result does not. */
	assert_true(mdh(INT64_MAX, INT64_MAX, INT64_MAX) == INT64_MAX);
	assert_true(mdh(INT64_MIN, INT64_MAX, INT64_MAX) == INT64_MIN);
	assert_true(mdh(INT64_MIN, 1, 1) == INT64_MIN);
	assert_true(mdh(INT64_MAX, 1, 2) == INT64_C(4611686018427387904));   /* .5, odd: up */
	r = 9;
	assert_false(pc_mul_div_half_even(INT64_MAX, 2, 1, &r));
	assert_false(pc_mul_div_half_even(INT64_MIN, -1, 1, &r));
	assert_false(pc_mul_div_half_even(1, 1, 0, &r));
	assert_false(pc_mul_div_half_even(1, 1, -3, &r));
	assert_int_equal(r, 9);
}

static void test_half_even_symmetric(void **state)
{
	(void)state;
	for (int64_t q = -200; q <= 200; q++) {
		for (int64_t d = 1; d <= 12; d++)
			assert_int_equal(mdh(-q, 7, d), -mdh(q, 7, d));
	}
}

static void test_split_basic(void **state)
{
	int64_t parts[3];

	(void)state;
	assert_true(pc_split_largest_remainder(100, (const int64_t[]){ 1, 1, 1 }, 3, parts));
	assert_int_equal(parts[0], 34);   /* tie: lowest index */
	assert_int_equal(parts[1], 33);
	assert_int_equal(parts[2], 33);
	assert_true(pc_split_largest_remainder(10, (const int64_t[]){ 1, 2, 3 }, 3, parts));
	/* exact 1.67, 3.33, 5: floors 1, 3, 5; one unit left, to .67 */
	assert_int_equal(parts[0], 2);
	assert_int_equal(parts[1], 3);
	assert_int_equal(parts[2], 5);
	assert_true(pc_split_largest_remainder(0, (const int64_t[]){ 5, 0, 1 }, 3, parts));
	assert_int_equal(parts[0] + parts[1] + parts[2], 0);
	assert_true(pc_split_largest_remainder(7, (const int64_t[]){ 0, 4, 0 }, 3, parts));
	assert_int_equal(parts[0], 0);
	assert_int_equal(parts[1], 7);
	assert_int_equal(parts[2], 0);
}

static void test_split_ties_and_large(void **state)
{
	int64_t parts[4];

	(void)state;
	/* 5 among 2,2,2,2: floors 1 each, remainders equal: one extra to index 0 */
	assert_true(pc_split_largest_remainder(5, (const int64_t[]){ 2, 2, 2, 2 }, 4, parts));
	assert_int_equal(parts[0], 2);
	assert_int_equal(parts[1], 1);
	assert_int_equal(parts[3], 1);
	/* 2 among 1,3,3,1: exact .25 .75 .75 .25: the two .75 get them */
	assert_true(pc_split_largest_remainder(2, (const int64_t[]){ 1, 3, 3, 1 }, 4, parts));
	assert_int_equal(parts[0], 0);
	assert_int_equal(parts[1], 1);
	assert_int_equal(parts[2], 1);
	assert_int_equal(parts[3], 0);
	/* Products and sums beyond 64 bits. */
	assert_true(pc_split_largest_remainder(INT64_MAX,
		(const int64_t[]){ INT64_MAX, INT64_MAX, INT64_MAX, 1 }, 4, parts));
	assert_true(parts[0] + parts[1] + parts[2] + parts[3] == INT64_MAX);
	assert_true(parts[3] == 0 || parts[3] == 1);
	assert_true(parts[0] >= parts[1] && parts[1] >= parts[2]);
	assert_true(parts[0] - parts[2] <= 1);
}

static void test_split_sums_exactly(void **state)
{
	int64_t w[7] = { 3, 0, 11, 7, 1, 13, 5 }, parts[7];

	(void)state;
	for (int64_t total = 0; total < 500; total += 7) {
		int64_t sum = 0;

		assert_true(pc_split_largest_remainder(total, w, 7, parts));
		for (int i = 0; i < 7; i++) {
			/* each part is the floor or the floor + 1 of its exact share */
			int64_t floor_share = total * w[i] / 40;

			assert_true(parts[i] == floor_share || parts[i] == floor_share + 1);
			sum += parts[i];
		}
		assert_int_equal(sum, total);
		assert_int_equal(parts[1], 0);
	}
}

static void test_split_bad_input(void **state)
{
	int64_t parts[2] = { 42, 42 };

	(void)state;
	assert_false(pc_split_largest_remainder(-1, (const int64_t[]){ 1, 1 }, 2, parts));
	assert_false(pc_split_largest_remainder(5, (const int64_t[]){ 0, 0 }, 2, parts));
	assert_false(pc_split_largest_remainder(5, (const int64_t[]){ 3, -1 }, 2, parts));
	assert_false(pc_split_largest_remainder(5, (const int64_t[]){ 1 }, 0, parts));
	assert_false(pc_split_largest_remainder(5, NULL, 2, parts));
	assert_int_equal(parts[0], 42);
	assert_int_equal(parts[1], 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_amount_check),
		cmocka_unit_test(test_add_sub),
		cmocka_unit_test(test_half_even),
		cmocka_unit_test(test_half_even_symmetric),
		cmocka_unit_test(test_split_basic),
		cmocka_unit_test(test_split_ties_and_large),
		cmocka_unit_test(test_split_sums_exactly),
		cmocka_unit_test(test_split_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
