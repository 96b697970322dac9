/* test_core_idset.c - the set of request ids in flight on a connection
 * (daemon/idset.h): what the duplicate-id check of every SUBMIT and LOOKUP
 * relies on, checked against a plain array as the model. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "idset.h"

static void test_add_has_remove(void **state)
{
	(void)state;
	struct pc_idset s = { 0 };
	assert_false(pc_idset_has(&s, 9));
	pc_idset_remove(&s, 9);   /* absent from an empty set: nothing happens */
	assert_true(pc_idset_add(&s, 9));
	assert_false(pc_idset_add(&s, 9));   /* the duplicate */
	assert_true(pc_idset_has(&s, 9));
	assert_true(pc_idset_add(&s, 0));
	assert_true(pc_idset_add(&s, UINT64_MAX));
	assert_int_equal(s.n, 3);
	pc_idset_remove(&s, 9);
	assert_false(pc_idset_has(&s, 9));
	assert_true(pc_idset_has(&s, 0));
	assert_true(pc_idset_has(&s, UINT64_MAX));
	assert_true(pc_idset_add(&s, 9));   /* usable again once answered */
	pc_idset_free(&s);
}

/* Many ids, added and removed in a pseudo-random order, agree with a model
 * array at every step; the table grows and removal keeps every probe run whole. */
static void test_against_model(void **state)
{
	(void)state;
	enum { N = 5000 };
	static bool in[N];
	struct pc_idset s = { 0 };
	uint64_t x = 88172645463325252ull;
	for (int step = 0; step < 200000; step++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint64_t id = x % N;
		if ((x >> 40) & 1) {
			assert_int_equal(pc_idset_add(&s, id), !in[id]);
			in[id] = true;
		} else {
			pc_idset_remove(&s, id);
			in[id] = false;
		}
		if (step % 997 == 0)
			for (uint64_t k = 0; k < N; k++)
				assert_int_equal(pc_idset_has(&s, k), in[k]);
	}
	size_t count = 0;
	for (uint64_t k = 0; k < N; k++) {
		assert_int_equal(pc_idset_has(&s, k), in[k]);
		count += in[k];
	}
	assert_int_equal(s.n, count);
	assert_true(2 * s.n <= s.mask + 1);
	pc_idset_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_has_remove),
		cmocka_unit_test(test_against_model),
	};
	return cmocka_run_group_tests_name("unit.core_idset", tests, NULL, NULL);
}
