/* money.h - integer arithmetic for points and minor units. No floating point
 * anywhere near money: amounts are int64, products go through 128 bits, and
 * rounding happens once, on totals, half to even. */
#ifndef POINTCLEAR_MONEY_H
#define POINTCLEAR_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PC_AMOUNT_MAX INT64_C(1000000000000)   /* largest amount of one event */

enum pc_amount_check { PC_AMOUNT_OK, PC_AMOUNT_NOT_POSITIVE, PC_AMOUNT_TOO_LARGE };

/* Whether one event's amount lies in 1..PC_AMOUNT_MAX. */
enum pc_amount_check pc_amount_check(int64_t amount);

/* a + b and a - b into *out; false (and *out untouched) on overflow. */
bool pc_add_i64(int64_t a, int64_t b, int64_t *out);
bool pc_sub_i64(int64_t a, int64_t b, int64_t *out);

/* round_half_even(quantity * num / den) into *out; den > 0. False when den <= 0
 * or the result does not fit in int64. Used to price points in minor units. */
bool pc_mul_div_half_even(int64_t quantity, int64_t num, int64_t den, int64_t *out);

/* Splits total among n parties in proportion to weights (each >= 0, sum > 0) by
 * largest remainder: parts are floors of the exact shares, and the units left
 * go one each to the largest remainders (ties: lowest index). The parts sum to
 * total exactly. total >= 0. False on bad input or overflow. */
bool pc_split_largest_remainder(int64_t total, const int64_t *weights, size_t n,
                                int64_t *parts);

#endif
