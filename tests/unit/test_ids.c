/* test_ids.c - unit tests of identifier, free-text and currency syntax. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "pointclear/ids.h"

static void test_id_valid(void **state)
{
	char buf[PC_ID_MAX + 2];

	(void)state;
	assert_true(pc_id_valid("a"));
	assert_true(pc_id_valid("m-42"));
	assert_true(pc_id_valid("AZaz09._:-"));
	assert_false(pc_id_valid(NULL));
	assert_false(pc_id_valid(""));
	assert_false(pc_id_valid("a b"));
	assert_false(pc_id_valid("a/b"));
	assert_false(pc_id_valid("a\tb"));
	assert_false(pc_id_valid("caf\xc3\xa9"));
	assert_false(pc_id_valid("a+b"));
	assert_false(pc_id_valid("a@b"));
	memset(buf, 'x', sizeof(buf));
	buf[PC_ID_MAX] = '\0';
	assert_true(pc_id_valid(buf));
	buf[PC_ID_MAX] = 'x';
	buf[PC_ID_MAX + 1] = '\0';
	assert_false(pc_id_valid(buf));
}

static void test_id_every_byte(void **state)
{
	static const char allowed[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-";

	(void)state;
	for (int c = 1; c < 256; c++) {
		char s[2] = { (char)c, 0 };

		assert_int_equal(pc_id_valid(s), strchr(allowed, c) != NULL);
	}
}

static void test_reason_valid(void **state)
{
	char buf[PC_REASON_MAX + 2];

	(void)state;
	assert_true(pc_reason_valid(NULL));
	assert_true(pc_reason_valid(""));
	assert_true(pc_reason_valid("double points weekend, 2x (campaign #7)"));
	assert_true(pc_reason_valid("caf\xc3\xa9 \xe2\x82\xac"));
	assert_false(pc_reason_valid("line\nbreak"));
	assert_false(pc_reason_valid("tab\there"));
	assert_false(pc_reason_valid("del\x7f"));
	assert_false(pc_reason_valid("esc\x1b[31m"));
	assert_false(pc_reason_valid("c1 \xc2\x85 next line"));
	assert_true(pc_reason_valid("nbsp \xc2\xa0"));
	memset(buf, 'r', sizeof(buf));
	buf[PC_REASON_MAX] = '\0';
	assert_true(pc_reason_valid(buf));
	buf[PC_REASON_MAX] = 'r';
	buf[PC_REASON_MAX + 1] = '\0';
	assert_false(pc_reason_valid(buf));
}

static void test_currency_valid(void **state)
{
	(void)state;
	assert_true(pc_currency_valid("EUR"));
	assert_true(pc_currency_valid("JPY"));
	assert_false(pc_currency_valid(NULL));
	assert_false(pc_currency_valid(""));
	assert_false(pc_currency_valid("eur"));
	assert_false(pc_currency_valid("EU"));
	assert_false(pc_currency_valid("EURO"));
	assert_false(pc_currency_valid("E1R"));
	assert_false(pc_currency_valid("E R"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_valid),
		cmocka_unit_test(test_id_every_byte),
		cmocka_unit_test(test_reason_valid),
		cmocka_unit_test(test_currency_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
