/* test_leaf.c - unit tests of the ledger leaf encoding and hash against the SQL's answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "pointclear/leaf.h"
#include "testutil.h"

static const uint8_t env1[] = { 0x01 };
static const uint8_t env4[] = { 0x04 };

/* The two entries sql/functions/20_leaves.sql's pc_leaf_hash was run on. */
static struct pc_leaf first_leaf(void)
{
	return (struct pc_leaf){
		.alliance_id = "al",
		.sequence = 0,
		.accepted_at_us = 1795385298713955,
		.envelope = env1,
		.envelope_len = 1,
		.decision = { .status = 1, .code = 0, .balance = 100, .available = 100,
		              .amount = 100, .remaining = 100, .hold_expires_at_us = 0 },
	};
}

static struct pc_leaf second_leaf(void)
{
	struct pc_leaf l = first_leaf();

	l.sequence = 3;
	l.envelope = env4;
	l.decision = (struct pc_leaf_decision){ .status = 1, .code = 0, .balance = 120,
	                                        .available = 60, .amount = 60, .remaining = 0,
	                                        .hold_expires_at_us = 1795385898713955 };
	return l;
}

static void assert_leaf_hash(const struct pc_leaf *l, const char *hex)
{
	uint8_t h[PC_HASH_SIZE];

	assert_int_equal(pc_leaf_hash(h, l), 0);
	assert_bytes_hex(h, sizeof(h), hex);
}

static void test_sql_known_answers(void **state)
{
	struct pc_leaf a = first_leaf(), b = second_leaf();

	(void)state;
	assert_leaf_hash(&a, "f5ef0f257769d5503c760c5b185a05478799d84e899b3a7080187fadd6499c6a");
	assert_leaf_hash(&b, "4eda0008ac3a07db4e374028cf336976a6a36b8a460139289a59c4cd06779cea");
}

static void test_encoding_bytes(void **state)
{
	struct pc_leaf l = second_leaf();
	uint8_t out[128];

	(void)state;
	assert_int_equal(pc_leaf_length(&l), 76);
	assert_int_equal(pc_leaf_encode(out, sizeof(out), &l), 76);
	assert_bytes_hex(out, 76,
		"50434c31" "0002" "616c" "0000000000000003" "000660e4b6f6fd63"
		"00000001" "04" "01" "0000" "0000000000000078" "000000000000003c"
		"000000000000003c" "0000000000000000" "000660e4daba4363" "00000000");
	assert_int_equal(pc_leaf_encode(out, 75, &l), 0);
}

static void test_signed_values_and_ext(void **state)
{
	struct pc_leaf l = first_leaf();
	uint8_t out[128];
	static const uint8_t ext[] = { 0xaa, 0xbb };

	(void)state;
	l.decision.balance = -2;
	l.decision.code = 0xbeef;
	l.decision.status = 2;
	l.ext = ext;
	l.ext_len = 2;
	assert_int_equal(pc_leaf_encode(out, sizeof(out), &l), 78);
	assert_memory_equal(out + 29, "\x02\xbe\xef\xff\xff\xff\xff\xff\xff\xff\xfe", 11);
	assert_memory_equal(out + 72, "\x00\x00\x00\x02\xaa\xbb", 6);
}

static void test_every_field_counts(void **state)
{
	struct pc_leaf base = first_leaf(), l;
	uint8_t h0[PC_HASH_SIZE], h[PC_HASH_SIZE];

	(void)state;
	assert_int_equal(pc_leaf_hash(h0, &base), 0);
#define CHANGED(stmt)                                              \
	do {                                                       \
		l = base;                                          \
		stmt;                                              \
		assert_int_equal(pc_leaf_hash(h, &l), 0);          \
		assert_memory_not_equal(h, h0, PC_HASH_SIZE);      \
	} while (0)
	CHANGED(l.alliance_id = "am");
	CHANGED(l.sequence = 1);
	CHANGED(l.accepted_at_us++);
	CHANGED(l.envelope_len = 0);
	CHANGED(l.decision.status = 2);
	CHANGED(l.decision.code = 50);
	CHANGED(l.decision.balance = 99);
	CHANGED(l.decision.available = 99);
	CHANGED(l.decision.amount = 99);
	CHANGED(l.decision.remaining = 99);
	CHANGED(l.decision.hold_expires_at_us = 1);
	CHANGED((l.ext = env1, l.ext_len = 1));
#undef CHANGED
}

static void test_unencodable(void **state)
{
	struct pc_leaf l = first_leaf();
	uint8_t h[PC_HASH_SIZE];
	char *long_id = malloc(70000);

	(void)state;
	assert_non_null(long_id);
	l.alliance_id = NULL;
	assert_int_equal(pc_leaf_length(&l), 0);
	assert_int_equal(pc_leaf_hash(h, &l), -1);
	memset(long_id, 'a', 69999);
	long_id[69999] = '\0';
	l.alliance_id = long_id;
	assert_int_equal(pc_leaf_hash(h, &l), -1);
	long_id[65535] = '\0';   /* the largest that fits a u16 */
	assert_int_equal(pc_leaf_hash(h, &l), 0);
	assert_int_equal(pc_leaf_length(&l), 76 - 2 + 65535);
	free(long_id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sql_known_answers),
		cmocka_unit_test(test_encoding_bytes),
		cmocka_unit_test(test_signed_values_and_ext),
		cmocka_unit_test(test_every_field_counts),
		cmocka_unit_test(test_unencodable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
