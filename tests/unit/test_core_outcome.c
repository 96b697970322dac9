/* test_core_outcome.c - what the core answers (outcome.c) for each way the
 * database answers a batch row or fails a batch, and how the connection's
 * encoder (daemon/answer.c) says an outcome as a SubmitResult, its receipt
 * checked with libpcproto's pc_receipt_check as a merchant would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include <sodium.h>

#include <pointclear/receipt_check.h>
#include <pointclear/sign.h>

#include "answer.h"
#include "outcome.h"
#include "receipt.h"

#define CODE(x) POINTCLEAR__V1__CODE__##x
#define DISP(x) POINTCLEAR__V1__DISPOSITION__##x
#define STATUS(x) POINTCLEAR__V1__STATUS__##x

static uint8_t operator_pk[PC_PK_SIZE];

/* A sealed tree of entries 10, 11, 12 of alliance "al": e-10 approved, e-11
 * declined for lack of points, e-12 approved. */
static struct pc_receipt_tree *make_tree(void)
{
	static const uint8_t leaf[PC_HASH_SIZE] = { 1, 2, 3 };
	static const char *const ids[] = { "e-10", "e-11", "e-12" };
	struct pc_receipt_tree *t = pc_receipt_tree_new("al", 10, 3);
	for (int i = 0; i < 3; i++) {
		struct pc_recorded rec = {
			.alliance = "al", .merchant = "m-42", .event_id = ids[i],
			.sequence = 10 + (uint64_t)i, .leaf_hash = leaf, .accepted_at_us = 1000 + i,
			.status = i == 1 ? STATUS(DECLINED) : STATUS(APPROVED),
			.code = i == 1 ? CODE(INSUFFICIENT_POINTS) : CODE(OK),
			.balance = 500, .available = 450, .applied = i == 1 ? 0 : 50,
		};
		assert_int_equal(pc_receipt_tree_set(t, &rec), 0);
	}
	assert_int_equal(pc_receipt_tree_seal(t), 0);
	return t;
}

/* o through the encoder and back. */
static Pointclear__V1__SubmitResult *encode(const struct pc_outcome *o)
{
	size_t len;
	uint8_t *body = pc_answer_submit_result(o, &len);
	assert_non_null(body);
	Pointclear__V1__SubmitResult *sr = pc_submit_result_unpack(body, len);
	assert_non_null(sr);
	free(body);
	return sr;
}

static void check_receipt(const Pointclear__V1__SubmitResult *sr, uint64_t seq, const char *event_id)
{
	Pointclear__V1__ReceiptBody *body = NULL;
	assert_non_null(sr->receipt);
	const char *why = pc_receipt_check(sr->receipt, operator_pk, NULL, &body);
	if (why)
		fail_msg("receipt of %s: %s", event_id, why);
	assert_int_equal(body->sequence, seq);
	assert_string_equal(body->merchant_id, "m-42");
	assert_string_equal(body->event_id, event_id);
	assert_int_equal(body->decision->code, sr->code);
	char key_id[PC_KEY_ID_LEN + 1];
	pc_key_id(key_id, operator_pk);
	assert_string_equal(sr->receipt->key_id, key_id);
	pc_receipt_body_free(body);
}

static void test_recorded_and_replayed(void **state)
{
	(void)state;
	struct pc_receipt_tree *t = make_tree();
	struct pc_receipt_view v;
	struct pc_outcome o;
	pc_code code;

	pc_receipt_tree_view(t, 10, &v, &code);
	assert_int_equal(code, CODE(OK));
	pc_outcome_of_row(&o, PC_ROW_RECORDED, code, 0, &v);
	assert_int_equal(o.disposition, DISP(RECORDED));
	assert_string_equal(o.message, "approved");
	assert_ptr_equal(o.receipt, &v);
	Pointclear__V1__SubmitResult *sr = encode(&o);
	assert_int_equal(sr->disposition, DISP(RECORDED));
	assert_int_equal(sr->code, CODE(OK));
	assert_string_equal(sr->message, "approved");
	assert_int_equal(sr->original_sequence, 0);
	check_receipt(sr, 10, "e-10");
	pc_submit_result_free(sr);

	/* a declined decision is recorded too, with its code and a receipt */
	pc_receipt_tree_view(t, 11, &v, &code);
	assert_int_equal(code, CODE(INSUFFICIENT_POINTS));
	pc_outcome_of_row(&o, PC_ROW_RECORDED, code, 0, &v);
	sr = encode(&o);
	assert_int_equal(sr->disposition, DISP(RECORDED));
	assert_int_equal(sr->code, CODE(INSUFFICIENT_POINTS));
	assert_string_equal(sr->message, pc_code_message(CODE(INSUFFICIENT_POINTS)));
	check_receipt(sr, 11, "e-11");
	pc_submit_result_free(sr);

	/* a replay: the stored decision with its receipt */
	pc_receipt_tree_view(t, 12, &v, &code);
	pc_outcome_of_row(&o, PC_ROW_REPLAYED, code, 0, &v);
	sr = encode(&o);
	assert_int_equal(sr->disposition, DISP(REPLAYED));
	assert_int_equal(sr->code, CODE(OK));
	check_receipt(sr, 12, "e-12");
	pc_submit_result_free(sr);

	pc_receipt_tree_free(t);
}

static void test_refused_row(void **state)
{
	(void)state;
	struct pc_outcome o;
	pc_outcome_of_row(&o, PC_ROW_REFUSED, CODE(CONFLICT), 77, NULL);
	assert_int_equal(o.disposition, DISP(REJECTED));
	assert_int_equal(o.code, CODE(CONFLICT));
	assert_int_equal(o.original_sequence, 77);
	assert_null(o.receipt);
	Pointclear__V1__SubmitResult *sr = encode(&o);
	assert_int_equal(sr->disposition, DISP(REJECTED));
	assert_int_equal(sr->code, CODE(CONFLICT));
	assert_int_equal(sr->original_sequence, 77);
	assert_string_equal(sr->message, pc_code_message(CODE(CONFLICT)));
	assert_null(sr->receipt);
	pc_submit_result_free(sr);
}

static void test_failures(void **state)
{
	(void)state;
	static const struct {
		enum pc_batch_failure why;
		pc_code code;
	} cases[] = {
		{ PC_BATCH_LOST, CODE(UNAVAILABLE) },
		{ PC_BATCH_UNAVAILABLE, CODE(UNAVAILABLE) },
		{ PC_BATCH_FAILED, CODE(INTERNAL) },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct pc_outcome o;
		pc_outcome_of_failure(&o, cases[i].why);
		Pointclear__V1__SubmitResult *sr = encode(&o);
		assert_int_equal(sr->disposition, DISP(RETRYABLE));
		assert_int_equal(sr->code, cases[i].code);
		assert_true(strstr(sr->message, "resend") != NULL);
		assert_null(sr->receipt);
		pc_submit_result_free(sr);
	}
}

/* A validation refusal keeps its own message; without one the code's text. */
static void test_refused(void **state)
{
	(void)state;
	struct pc_outcome o;
	pc_outcome_refused(&o, DISP(REJECTED), CODE(BAD_SIGNATURE), "signature does not verify", 0);
	Pointclear__V1__SubmitResult *sr = encode(&o);
	assert_int_equal(sr->disposition, DISP(REJECTED));
	assert_int_equal(sr->code, CODE(BAD_SIGNATURE));
	assert_string_equal(sr->message, "signature does not verify");
	pc_submit_result_free(sr);
	pc_outcome_refused(&o, DISP(REJECTED), CODE(UNKNOWN_KEY), NULL, 0);
	assert_string_equal(o.message, pc_code_message(CODE(UNKNOWN_KEY)));
}

static void test_protocol_error(void **state)
{
	(void)state;
	size_t len;
	uint8_t *body = pc_answer_protocol_error(CODE(FRAME_TIMEOUT), "frame not completed in time", &len);
	Pointclear__V1__ProtocolError *pe = pc_protocol_error_unpack(body, len);
	assert_non_null(pe);
	assert_int_equal(pe->code, CODE(FRAME_TIMEOUT));
	assert_string_equal(pe->message, "frame not completed in time");
	pc_protocol_error_free(pe);
	free(body);
}

int main(void)
{
	uint8_t seed[PC_SEED_SIZE], sk[PC_SK_SIZE];
	if (sodium_init() < 0)
		return 1;
	memset(seed, 9, sizeof seed);
	pc_keypair_from_seed(operator_pk, sk, seed);
	pc_receipt_use_seed(seed);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recorded_and_replayed),
		cmocka_unit_test(test_refused_row),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_protocol_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
