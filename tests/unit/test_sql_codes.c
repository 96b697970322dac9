/* test_sql_codes.c - the numbers sql/functions/00_codes.sql names are
 * proto/pointclear.proto's: each pc_code_*, pc_status_* and pc_disposition_*
 * function there must be a value of Code, Status or Disposition with the same
 * name and number, as protobuf-c's generated descriptors give them. The SQL file
 * need not name every value of the proto, only those the functions use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pointclear.pb-c.h"

/* The families of names, and the prefix the proto gives values that would
 * otherwise clash (STATUS_UNSPECIFIED, DISPOSITION_UNSPECIFIED). */
static const struct family {
	const char *sql;                    /* "pc_code_" */
	const char *proto_prefix;           /* "" or "DISPOSITION_" */
	const ProtobufCEnumDescriptor *desc;
} families[] = {
	{"pc_code_", "", &pointclear__v1__code__descriptor},
	{"pc_status_", "STATUS_", &pointclear__v1__status__descriptor},
	{"pc_disposition_", "DISPOSITION_", &pointclear__v1__disposition__descriptor},
};
#define NFAMILIES (sizeof families / sizeof families[0])

struct tally {
	int names;                 /* definitions checked */
	int per_family[NFAMILIES];
	int problems;
	char first[256];           /* the first problem, for the failure message */
};

__attribute__((format(printf, 2, 3)))
static void problem(struct tally *t, const char *fmt, ...)
{
	va_list ap;

	if (t->problems++ == 0) {
		va_start(ap, fmt);
		vsnprintf(t->first, sizeof t->first, fmt, ap);
		va_end(ap);
	}
}

/* The proto value of family F that the SQL name REST (after the family's
 * prefix, lower case) names, or NULL. */
static const ProtobufCEnumValue *proto_value(const struct family *f, const char *rest)
{
	char name[128], prefixed[160];
	const ProtobufCEnumValue *v;
	size_t i;

	for (i = 0; rest[i] && i + 1 < sizeof name; i++)
		name[i] = (char)toupper((unsigned char)rest[i]);
	name[i] = '\0';
	v = protobuf_c_enum_descriptor_get_value_by_name(f->desc, name);
	if (!v && f->proto_prefix[0]) {
		snprintf(prefixed, sizeof prefixed, "%s%s", f->proto_prefix, name);
		v = protobuf_c_enum_descriptor_get_value_by_name(f->desc, prefixed);
	}
	return v;
}

/* Checks one line holding "FUNCTION pc_...() ... RETURN <n>;". */
static void check_definition(struct tally *t, const char *line)
{
	const char *p = strstr(line, "FUNCTION ") + strlen("FUNCTION ");
	const char *ret = strstr(line, "RETURN ");
	char name[128], *end;
	size_t len = strcspn(p, "( ");
	long number;

	if (len >= sizeof name || !ret || strncmp(p + len, "()", 2) != 0) {
		problem(t, "not one definition on one line: %.100s", line);
		return;
	}
	memcpy(name, p, len);
	name[len] = '\0';
	number = strtol(ret + strlen("RETURN "), &end, 10);
	if (end == ret + strlen("RETURN ") || *end != ';') {
		problem(t, "%s: no RETURN <number>;", name);
		return;
	}
	for (size_t i = 0; i < NFAMILIES; i++) {
		const struct family *f = &families[i];
		const ProtobufCEnumValue *v, *by_number;

		if (strncmp(name, f->sql, strlen(f->sql)) != 0)
			continue;
		t->names++;
		t->per_family[i]++;
		v = proto_value(f, name + strlen(f->sql));
		if (!v) {
			problem(t, "%s is no value of pointclear.proto", name);
			return;
		}
		if (v->value != number) {
			problem(t, "%s returns %ld, not the proto's number", name, number);
			return;
		}
		/* and the other way: the proto's name for that number is this one */
		by_number = protobuf_c_enum_descriptor_get_value(f->desc, (int)number);
		if (!by_number || by_number != v)
			problem(t, "%s: the proto names %ld otherwise", name, number);
		return;
	}
	problem(t, "%s is not pc_code_*, pc_status_* or pc_disposition_*", name);
}

/* Checks every definition in TEXT (the file's contents); comments are skipped. */
static struct tally check_text(const char *text)
{
	struct tally t;
	const char *line = text;

	memset(&t, 0, sizeof t);
	while (*line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[512];

		if (len >= sizeof buf) {
			problem(&t, "a line too long: %.60s", line);
		} else {
			memcpy(buf, line, len);
			buf[len] = '\0';
			if (strncmp(buf, "--", 2) != 0 && strstr(buf, "FUNCTION"))
				check_definition(&t, buf);
		}
		line += len + (nl ? 1 : 0);
	}
	return t;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_file_matches_proto(void **state)
{
	char *text = read_file(PC_SQL_CODES);
	struct tally t = check_text(text);

	(void)state;
	free(text);
	if (t.problems)
		fail_msg("%s: %d problem(s), the first: %s", PC_SQL_CODES, t.problems, t.first);
	/* not vacuous: the writer's codes, both statuses, the dispositions */
	assert_true(t.per_family[0] >= 19);
	assert_int_equal(t.per_family[1], 2);
	assert_true(t.per_family[2] >= 3);
}

#define DEF(name, n) \
	"CREATE OR REPLACE FUNCTION " name "() RETURNS integer LANGUAGE plpgsql" \
	" IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN " #n "; END $$;\n"

static void test_detects_wrong_number(void **state)
{
	struct tally t = check_text("-- a comment naming FUNCTION is skipped\n"
	                            DEF("pc_code_ok", 0) DEF("pc_code_insufficient_points", 51));

	(void)state;
	assert_int_equal(t.names, 2);
	assert_int_equal(t.problems, 1);
	assert_non_null(strstr(t.first, "pc_code_insufficient_points returns 51"));
}

static void test_detects_unknown_name(void **state)
{
	struct tally t = check_text(DEF("pc_code_no_such_code", 50) DEF("pc_status_maybe", 3)
	                            DEF("pc_kind_earn", 1) DEF("pc_status_approved", 1));

	(void)state;
	assert_int_equal(t.problems, 3);
	assert_non_null(strstr(t.first, "pc_code_no_such_code is no value"));
}

static void test_unspecified_takes_the_enum_prefix(void **state)
{
	struct tally t = check_text(DEF("pc_disposition_unspecified", 0) DEF("pc_status_unspecified", 0)
	                            DEF("pc_disposition_rejected", 3));

	(void)state;
	assert_int_equal(t.problems, 0);
	assert_int_equal(t.names, 3);
}

static void test_detects_unparsable_definition(void **state)
{
	struct tally t = check_text("CREATE FUNCTION pc_code_ok()\n  RETURNS integer AS $$ SELECT 0 $$;\n");

	(void)state;
	assert_int_equal(t.problems, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_matches_proto),
		cmocka_unit_test(test_detects_wrong_number),
		cmocka_unit_test(test_detects_unknown_name),
		cmocka_unit_test(test_unspecified_takes_the_enum_prefix),
		cmocka_unit_test(test_detects_unparsable_definition),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
