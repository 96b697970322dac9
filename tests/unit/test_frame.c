/* test_frame.c - unit tests of frame header parsing and writing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "pointclear/frame.h"

static void put_len(uint8_t *p, uint32_t l)
{
	p[0] = (uint8_t)(l >> 24);
	p[1] = (uint8_t)(l >> 16);
	p[2] = (uint8_t)(l >> 8);
	p[3] = (uint8_t)l;
}

static void test_need_more_before_length(void **state)
{
	uint8_t buf[3] = { 0, 0, 0 };
	struct pc_frame_header h;

	(void)state;
	for (size_t n = 0; n < 4; n++) {
		assert_int_equal(pc_frame_peek(buf, n, &h), PC_FRAME_NEED_MORE);
		assert_int_equal(h.length, 0);
	}
}

static void test_ready_ping(void **state)
{
	uint8_t buf[13];
	struct pc_frame_header h;

	(void)state;
	assert_int_equal(pc_frame_header_encode(buf, PC_MSG_PING, 0x0102030405060708ull, 0), 13);
	assert_memory_equal(buf, "\x00\x00\x00\x09\x02\x01\x02\x03\x04\x05\x06\x07\x08", 13);
	for (size_t n = 4; n < 13; n++)
		assert_int_equal(pc_frame_peek(buf, n, &h), PC_FRAME_NEED_MORE);
	assert_int_equal(pc_frame_peek(buf, 13, &h), PC_FRAME_READY);
	assert_int_equal(h.length, 9);
	assert_int_equal(h.type, PC_MSG_PING);
	assert_true(h.request_id == 0x0102030405060708ull);
	assert_int_equal(pc_frame_total(&h), 13);
}

static void test_ready_with_body_and_trailing(void **state)
{
	uint8_t buf[64];
	struct pc_frame_header h;

	(void)state;
	memset(buf, 0xAB, sizeof(buf));
	pc_frame_header_encode(buf, PC_MSG_SUBMIT, UINT64_MAX, 20);
	assert_int_equal(pc_frame_peek(buf, 32, &h), PC_FRAME_NEED_MORE);
	assert_int_equal(h.length, 29);
	assert_true(h.request_id == UINT64_MAX);
	assert_int_equal(pc_frame_peek(buf, 33, &h), PC_FRAME_READY);
	/* A pipelined next frame behind this one does not change the verdict. */
	assert_int_equal(pc_frame_peek(buf, 64, &h), PC_FRAME_READY);
	assert_int_equal(pc_frame_total(&h), 33);
}

static void test_malformed_from_four_bytes(void **state)
{
	uint8_t buf[13] = { 0 };
	struct pc_frame_header h;

	(void)state;
	for (uint32_t l = 0; l < 9; l++) {
		put_len(buf, l);
		assert_int_equal(pc_frame_peek(buf, 4, &h), PC_FRAME_MALFORMED);
		assert_int_equal(h.length, l);
		assert_int_equal(pc_frame_peek(buf, 13, &h), PC_FRAME_MALFORMED);
	}
	put_len(buf, 9);
	assert_int_equal(pc_frame_peek(buf, 4, &h), PC_FRAME_NEED_MORE);
}

static void test_too_large_from_four_bytes(void **state)
{
	uint8_t buf[13] = { 0 };
	struct pc_frame_header h;

	(void)state;
	put_len(buf, PC_FRAME_MAX_LENGTH);
	assert_int_equal(pc_frame_peek(buf, 4, &h), PC_FRAME_NEED_MORE);
	put_len(buf, PC_FRAME_MAX_LENGTH + 1);
	assert_int_equal(pc_frame_peek(buf, 4, &h), PC_FRAME_TOO_LARGE);
	assert_int_equal(h.length, PC_FRAME_MAX_LENGTH + 1);
	put_len(buf, UINT32_MAX);
	buf[4] = PC_MSG_SUBMIT;
	memcpy(buf + 5, "\x00\x00\x00\x00\x00\x00\x30\x39", 8);
	assert_int_equal(pc_frame_peek(buf, 12, &h), PC_FRAME_TOO_LARGE);
	assert_true(h.request_id == 0);   /* not all of it has arrived */
	assert_int_equal(pc_frame_peek(buf, 13, &h), PC_FRAME_TOO_LARGE);
	assert_int_equal(h.type, PC_MSG_SUBMIT);
	assert_true(h.request_id == 12345);
	assert_true(h.length == UINT32_MAX);
}

static void test_largest_frame(void **state)
{
	size_t size = 4 + PC_FRAME_MAX_LENGTH;
	uint8_t *buf = calloc(size, 1);
	struct pc_frame_header h;

	(void)state;
	assert_non_null(buf);
	pc_frame_header_encode(buf, PC_MSG_SUBMIT_RESULT, 7, PC_FRAME_MAX_BODY);
	assert_int_equal(pc_frame_peek(buf, size - 1, &h), PC_FRAME_NEED_MORE);
	assert_int_equal(pc_frame_peek(buf, size, &h), PC_FRAME_READY);
	assert_int_equal(h.length, PC_FRAME_MAX_LENGTH);
	assert_int_equal(h.type, PC_MSG_SUBMIT_RESULT);
	free(buf);
}

/* The numbers PROTOCOL.md gives, and a LOOKUP frame worked out by hand. */
static void test_lookup_frame(void **state)
{
	static const uint8_t body[] = { 0x0a, 0x06, 'e', '-', '0', '0', '0', '1' };
	uint8_t buf[PC_FRAME_HEADER_SIZE + sizeof(body)];
	struct pc_frame_header h;

	(void)state;
	assert_int_equal(PC_MSG_LOOKUP, 0x03);
	assert_int_equal(PC_MSG_LOOKUP_RESULT, 0x83);
	pc_frame_header_encode(buf, PC_MSG_LOOKUP, 7, sizeof(body));
	memcpy(buf + PC_FRAME_HEADER_SIZE, body, sizeof(body));
	assert_memory_equal(buf, "\x00\x00\x00\x11\x03\x00\x00\x00\x00\x00\x00\x00\x07"
	                    "\x0a\x06" "e-0001", sizeof(buf));
	assert_int_equal(pc_frame_peek(buf, sizeof(buf), &h), PC_FRAME_READY);
	assert_int_equal(h.type, PC_MSG_LOOKUP);
	assert_true(h.request_id == 7);
	assert_int_equal(pc_frame_total(&h), sizeof(buf));
}

static void test_type_names(void **state)
{
	(void)state;
	assert_string_equal(pc_msg_type_name(PC_MSG_SUBMIT), "SUBMIT");
	assert_string_equal(pc_msg_type_name(PC_MSG_PING), "PING");
	assert_string_equal(pc_msg_type_name(PC_MSG_SUBMIT_RESULT), "SUBMIT_RESULT");
	assert_string_equal(pc_msg_type_name(PC_MSG_PONG), "PONG");
	assert_string_equal(pc_msg_type_name(PC_MSG_PROTOCOL_ERROR), "PROTOCOL_ERROR");
	assert_string_equal(pc_msg_type_name(PC_MSG_LOOKUP), "LOOKUP");
	assert_string_equal(pc_msg_type_name(PC_MSG_LOOKUP_RESULT), "LOOKUP_RESULT");
	/* 0x03 became LOOKUP: the first type no version has used yet */
	assert_string_equal(pc_msg_type_name(0x04), "unknown");
	assert_string_equal(pc_msg_type_name(0x00), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_need_more_before_length),
		cmocka_unit_test(test_ready_ping),
		cmocka_unit_test(test_ready_with_body_and_trailing),
		cmocka_unit_test(test_malformed_from_four_bytes),
		cmocka_unit_test(test_too_large_from_four_bytes),
		cmocka_unit_test(test_largest_frame),
		cmocka_unit_test(test_lookup_frame),
		cmocka_unit_test(test_type_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
