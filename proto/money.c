/* money.c - overflow-checked integer arithmetic for points and minor units. */
#include "pointclear/money.h"

#include <stdint.h>
#include <stdlib.h>

typedef __int128 i128;
typedef unsigned __int128 u128;

enum pc_amount_check pc_amount_check(int64_t amount)
{
	if (amount <= 0)
		return PC_AMOUNT_NOT_POSITIVE;
	if (amount > PC_AMOUNT_MAX)
		return PC_AMOUNT_TOO_LARGE;
	return PC_AMOUNT_OK;
}

bool pc_add_i64(int64_t a, int64_t b, int64_t *out)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return false;
	*out = r;
	return true;
}

bool pc_sub_i64(int64_t a, int64_t b, int64_t *out)
{
	int64_t r;

	if (__builtin_sub_overflow(a, b, &r))
		return false;
	*out = r;
	return true;
}

/* Rounds the magnitude so that -x rounds to exactly -(round x): a refund
 * priced this way mirrors its sale to the unit. */
bool pc_mul_div_half_even(int64_t quantity, int64_t num, int64_t den, int64_t *out)
{
	i128 product = (i128)quantity * num;   /* |product| <= 2^126: no overflow */
	bool negative = product < 0;
	u128 mag = negative ? (u128)(-product) : (u128)product;
	u128 q, r;

	if (den <= 0)
		return false;
	q = mag / (u128)den;
	r = mag % (u128)den;
	if (2 * r > (u128)den || (2 * r == (u128)den && (q & 1) != 0))
		q++;
	if (negative ? q > (u128)INT64_MAX + 1 : q > (u128)INT64_MAX)
		return false;
	*out = negative ? (int64_t)(-(i128)q) : (int64_t)q;
	return true;
}

struct remainder {
	u128 rem;
	size_t index;
};

/* Largest remainder first; equal remainders go to the lower index. */
static int remainder_cmp(const void *a, const void *b)
{
	const struct remainder *x = a, *y = b;

	if (x->rem != y->rem)
		return x->rem > y->rem ? -1 : 1;
	return x->index < y->index ? -1 : (x->index > y->index);
}

/* Sum of the weights, or 0 when one is negative (also the "no weight" case). */
static u128 weight_sum(const int64_t *weights, size_t n)
{
	u128 sum = 0;

	for (size_t i = 0; i < n; i++) {
		if (weights[i] < 0)
			return 0;
		sum += (u128)weights[i];   /* < n * 2^63: cannot wrap 128 bits */
	}
	return sum;
}

bool pc_split_largest_remainder(int64_t total, const int64_t *weights, size_t n,
                                int64_t *parts)
{
	u128 sum, left = (u128)total;
	struct remainder *rems;

	if (total < 0 || n == 0 || weights == NULL || parts == NULL)
		return false;
	sum = weight_sum(weights, n);
	if (sum == 0)
		return false;
	if (n > SIZE_MAX / sizeof(*rems))
		return false;
	rems = malloc(n * sizeof(*rems));
	if (rems == NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		u128 share = (u128)total * (u128)weights[i];   /* < 2^126 */
		parts[i] = (int64_t)(share / sum);
		rems[i] = (struct remainder){ share % sum, i };
		left -= (u128)parts[i];
	}
	/* The floors fall short of total by fewer than n units. */
	qsort(rems, n, sizeof(*rems), remainder_cmp);
	for (size_t i = 0; left > 0; i++, left--)
		parts[rems[i].index]++;
	free(rems);
	return true;
}
