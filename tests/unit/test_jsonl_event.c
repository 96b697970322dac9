/* test_jsonl_event.c - `pointclear submit`'s JSON lines: each kind gives the
 * sample's bytes through the event builder, and each bad line its own message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "jsonl_event.h"
#include "samples.h"

#define HEAD "\"merchant\":\"m-42\",\"event_time_us\":1795385298713955," \
             "\"store\":\"store-1\",\"terminal\":\"pos:7\","

static const char *const lines[SAMPLE_COUNT] = {
	[SAMPLE_EARN] = "{\"kind\":\"earn\"," HEAD "\"event_id\":\"e-0001\",\"member\":\"mem-1\","
	                "\"points\":100,\"reason\":\"double points weekend\"}",
	[SAMPLE_REDEEM] = "{\"kind\":\"redeem\"," HEAD "\"event_id\":\"e-0002\","
	                  "\"member\":\"mem-1\",\"points\":40}",
	[SAMPLE_HOLD] = "{\"kind\":\"hold\"," HEAD "\"event_id\":\"e-0003\",\"member\":\"mem-1\","
	                "\"points\":60,\"duration_s\":600}",
	[SAMPLE_CAPTURE_BY_ID] = "{\"kind\":\"capture\"," HEAD "\"event_id\":\"e-0004\","
	                         "\"hold\":\"e-0003\",\"points\":50}",
	[SAMPLE_CAPTURE_BY_SEQUENCE] = "{\"kind\":\"capture\"," HEAD "\"event_id\":\"e-0005\","
	                               "\"hold_seq\":3,\"points\":50}",
	[SAMPLE_VOID] = "{\"kind\":\"void\"," HEAD "\"event_id\":\"e-0006\",\"hold_seq\":0}",
	[SAMPLE_REVERSAL_BY_SEQUENCE] = "{\"kind\":\"reversal\"," HEAD "\"event_id\":\"e-0007\","
	                                "\"original_seq\":1,\"amount\":25,"
	                                "\"reason\":\"returned item\"}",
	[SAMPLE_REVERSAL_BY_ID] = "{\"kind\":\"reversal\"," HEAD "\"event_id\":\"e-0008\","
	                          "\"original\":\"e-0001\",\"amount\":25}",
	[SAMPLE_REFERRAL] = "{\"kind\":\"referral\"," HEAD "\"event_id\":\"e-0009\","
	                    "\"member\":\"mem-2\",\"beneficiary\":\"m-7\",\"channel\":\"qr\","
	                    "\"campaign\":\"spring-26\",\"code\":\"REF:ab12\","
	                    "\"touch_time_us\":1795385238713955}",
	[SAMPLE_PURCHASE] = "{\"kind\":\"purchase\"," HEAD "\"event_id\":\"e-0010\","
	                    "\"member\":\"mem-2\",\"amount_minor\":12995,\"currency\":\"EUR\","
	                    "\"code\":\"REF:ab12\"}",
};

static void assert_same_bytes(const struct pc_event_desc *got, const struct pc_event_desc *want)
{
	uint8_t a[512], b[512];
	size_t alen, blen;

	assert_int_equal(pc_event_encode(got, a, sizeof a, &alen), PC_EB_OK);
	assert_int_equal(pc_event_encode(want, b, sizeof b, &blen), PC_EB_OK);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
}

static void test_every_kind(void **state)
{
	(void)state;
	for (int k = 0; k < SAMPLE_COUNT; k++) {
		struct jsonl_event je;
		struct sample s;
		char err[256];

		sample_init(&s, (enum sample_kind)k);
		if (jsonl_event_parse(&je, lines[k], strlen(lines[k]), "al", 0, err, sizeof err) != 0)
			fail_msg("%s: %s", s.name, err);
		assert_same_bytes(&je.desc, &s.desc);
		jsonl_event_free(&je);
	}
}

/* Store and terminal as docs/CLI.md says when absent, empty when given empty;
 * time_offset_s counts from the clock given. */
static void test_defaults(void **state)
{
	static const char line[] = "{\"kind\":\"redeem\",\"merchant\":\"m\",\"event_id\":\"e\","
	                           "\"store\":\"\",\"time_offset_s\":-2,\"points\":1}  \n";
	static const char bare[] = "{\"kind\":\"void\",\"merchant\":\"m\",\"event_id\":\"e\"}";
	struct jsonl_event je;
	char err[256];

	(void)state;
	assert_int_equal(jsonl_event_parse(&je, line, strlen(line), "al", 5000000, err, sizeof err),
	                 0);
	assert_string_equal(je.desc.store_id, "");
	assert_string_equal(je.desc.terminal_id, "pos-1");
	assert_true(je.desc.event_time_us == 3000000);
	assert_string_equal(je.desc.alliance_id, "al");
	jsonl_event_free(&je);

	assert_int_equal(jsonl_event_parse(&je, bare, strlen(bare), "al", 0, err, sizeof err), 0);
	assert_string_equal(je.desc.store_id, "store-1");
	assert_int_equal(je.desc.ref.by, PC_REF_NONE);   /* the daemon says it is missing */
	jsonl_event_free(&je);
}

#define EV "\"merchant\":\"m\",\"event_id\":\"e\","

static void test_bad_lines(void **state)
{
	static const struct {
		const char *line, *message;
	} cases[] = {
		{"earn 5", "not valid JSON: "},
		{"{\"kind\":\"earn\"", "not valid JSON: unexpected end of line"},
		{"{\"kind\":\"earn\"," EV "\"points\":1} x", "not valid JSON: unexpected character"},
		{"[1]", "a line must be a JSON object"},
		{"{" EV "\"points\":1}", "field 'kind' is required (a string)"},
		{"{\"kind\":3," EV "\"points\":1}", "field 'kind' is required (a string)"},
		{"{\"kind\":\"none\"," EV "\"points\":1}", "unknown kind 'none' (earn, redeem, hold, "
		                                           "capture, void, reversal, referral, purchase)"},
		{"{\"kind\":\"earn\"," EV "\"hold\":\"h\"}", "unknown field 'hold' for kind earn"},
		{"{\"kind\":\"void\"," EV "\"points\":1}", "unknown field 'points' for kind void"},
		{"{\"kind\":\"earn\",\"event_id\":\"e\"}", "field 'merchant' is required"},
		{"{\"kind\":\"earn\",\"merchant\":\"m\"}", "field 'event_id' is required"},
		{"{\"kind\":\"earn\",\"merchant\":7,\"event_id\":\"e\"}", "field 'merchant' must be a string"},
		{"{\"kind\":\"earn\"," EV "\"member\":\"a\\u0000b\"}",
		 "field 'member' contains a NUL character"},
		{"{\"kind\":\"earn\"," EV "\"points\":\"1\"}",
		 "field 'points' must be a JSON integer (no quotes, no fraction)"},
		{"{\"kind\":\"earn\"," EV "\"points\":1.5}",
		 "field 'points' must be a JSON integer (no quotes, no fraction)"},
		{"{\"kind\":\"earn\"," EV "\"points\":9223372036854775808}",
		 "field 'points' is out of range"},
		{"{\"kind\":\"hold\"," EV "\"duration_s\":4294967296}",
		 "field 'duration_s' is out of range (0..4294967295)"},
		{"{\"kind\":\"capture\"," EV "\"hold_seq\":-1}",
		 "field 'hold_seq' is out of range (0..9223372036854775807)"},
		{"{\"kind\":\"capture\"," EV "\"hold\":\"h\",\"hold_seq\":1}",
		 "give either 'hold' or 'hold_seq', not both"},
		{"{\"kind\":\"reversal\"," EV "\"original\":\"o\",\"original_seq\":1}",
		 "give either 'original' or 'original_seq', not both"},
		{"{\"kind\":\"earn\"," EV "\"event_time_us\":1,\"time_offset_s\":1}",
		 "give either 'event_time_us' or 'time_offset_s', not both"},
		{"{\"kind\":\"earn\"," EV "\"time_offset_s\":3155760001}",
		 "field 'time_offset_s' is out of range (-3155760000..3155760000)"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct jsonl_event je;
		char err[256];

		if (jsonl_event_parse(&je, cases[i].line, strlen(cases[i].line), "al", 0, err,
		                      sizeof err) == 0)
			fail_msg("accepted: %s", cases[i].line);
		if (strncmp(err, cases[i].message, strlen(cases[i].message)) != 0)
			fail_msg("%s: said \"%s\", not \"%s\"", cases[i].line, err, cases[i].message);
	}
}

/* json-c stops at a NUL, which would hide what follows it from the check. */
static void test_text_after_nul(void **state)
{
	static const char line[] = "{\"kind\":\"earn\"," EV "\"points\":1}\0x";
	struct jsonl_event je;
	char err[256];

	(void)state;
	assert_int_equal(jsonl_event_parse(&je, line, sizeof line - 1, "al", 0, err, sizeof err), -1);
	assert_string_equal(err, "unexpected text after the JSON object");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_kind),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_text_after_nul),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
