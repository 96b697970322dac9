/* test_client.c - the client library's parts that need no daemon: the answer to a
 * LOOKUP checked as `pointclear lookup` checks it (against the vectors' answers),
 * its one-line summary, and --server parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "client.h"
#include "pbjson.h"
#include "pointclear/codec.h"
#include "pointclear/frame.h"
#include "pointclear/leaf.h"
#include "pointclear/receipt_check.h"
#include "pointclear/sign.h"
#include "testutil.h"

#define VECTORS PC_VECTORS_DIR "/signing.json"

struct fixture {
	json_object *root;
	uint8_t op_pk[PC_PK_SIZE];
	char op_id[PC_KEY_ID_LEN + 1];
};

static const char *str(json_object *o, const char *name)
{
	json_object *v;

	if (!json_object_object_get_ex(o, name, &v))
		fail_msg("vector lacks %s", name);
	return json_object_get_string(v);
}

static json_object *get(json_object *o, const char *name)
{
	json_object *v;

	if (!json_object_object_get_ex(o, name, &v))
		fail_msg("vector lacks %s", name);
	return v;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	json_object *k;
	size_t len;
	uint8_t *seed, sk[PC_SK_SIZE];

	if (f == NULL || sodium_init() < 0 || (f->root = json_object_from_file(VECTORS)) == NULL)
		return -1;
	k = get(get(f->root, "receipt_trees"), "operator_key");
	seed = hex_decode(str(k, "seed"), &len);
	pc_keypair_from_seed(f->op_pk, sk, seed);
	pc_key_id(f->op_id, f->op_pk);
	free(seed);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	json_object_put(f->root);
	free(f);
	return 0;
}

/* The named answer of lookup_results, decoded. */
static Pointclear__V1__SubmitResult *answer(struct fixture *f, const char *name,
                                            json_object **v)
{
	json_object *arr = get(f->root, "lookup_results");

	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		size_t len;
		uint8_t *b;
		Pointclear__V1__SubmitResult *r;

		if (strcmp(str(o, "name"), name) != 0)
			continue;
		b = hex_decode(str(o, "result"), &len);
		r = pc_submit_result_unpack(b, len);
		free(b);
		assert_non_null(r);
		*v = o;
		return r;
	}
	fail_msg("no lookup result %s", name);
	return NULL;
}

static void test_found_checks(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = { "found_approved", "found_declined" };

	for (size_t i = 0; i < 2; i++) {
		json_object *v;
		Pointclear__V1__SubmitResult *r = answer(f, names[i], &v);
		Pointclear__V1__ReceiptBody *body = NULL;
		struct pc_receipt_cache cache = { 0 };

		assert_null(pc_client_check_receipt(r, f->op_pk, f->op_id, NULL, "al", "m-42",
		                                    str(v, "event_id"), NULL, 0, &body));
		assert_non_null(body);
		assert_string_equal(body->event_id, str(v, "event_id"));
		pc_receipt_body_free(body);
		/* the same through a cache, twice */
		for (int j = 0; j < 2; j++) {
			assert_null(pc_client_check_receipt(r, f->op_pk, f->op_id, &cache, "al",
			                                    "m-42", str(v, "event_id"), NULL, 0, &body));
			pc_receipt_body_free(body);
		}
		pc_submit_result_free(r);
	}
}

/* A genuine receipt that does not answer the question asked, or an answer
 * that does not match its receipt, is refused, and no body is handed back. */
static void test_found_refused(void **state)
{
	struct fixture *f = *state;
	json_object *v;
	Pointclear__V1__SubmitResult *r = answer(f, "found_declined", &v);
	Pointclear__V1__ReceiptBody *body = NULL;
	const char *id = str(v, "event_id");
	uint8_t other_pk[PC_PK_SIZE];
	pc_code code = r->code;

	assert_string_equal(pc_client_check_receipt(r, f->op_pk, f->op_id, NULL, "al", "m-42",
	                                            "e-0001", NULL, 0, &body),
	                    "receipt is for another event");
	assert_null(body);
	assert_string_equal(pc_client_check_receipt(r, f->op_pk, f->op_id, NULL, "al", "m-43",
	                                            id, NULL, 0, &body),
	                    "receipt is for another event");
	assert_string_equal(pc_client_check_receipt(r, f->op_pk, f->op_id, NULL, "zz", "m-42",
	                                            id, NULL, 0, &body),
	                    "receipt is for another event");
	assert_string_equal(pc_client_check_receipt(r, f->op_pk, "0000000000000000", NULL, "al",
	                                            "m-42", id, NULL, 0, &body),
	                    "signed by another key than the operator's");
	memcpy(other_pk, f->op_pk, sizeof(other_pk));
	other_pk[0] ^= 0x01;
	assert_non_null(pc_client_check_receipt(r, other_pk, f->op_id, NULL, "al", "m-42", id,
	                                        NULL, 0, &body));
	assert_null(body);
	r->code = POINTCLEAR__V1__CODE__OK;
	assert_string_equal(pc_client_check_receipt(r, f->op_pk, f->op_id, NULL, "al", "m-42",
	                                            id, NULL, 0, &body),
	                    "receipt code differs from the answer's");
	assert_null(body);
	r->code = code;
	pc_submit_result_free(r);

	r = answer(f, "not_found", &v);
	assert_string_equal(pc_client_check_receipt(r, f->op_pk, f->op_id, NULL, "al", "m-42",
	                                            "e-9999", NULL, 0, &body), "no receipt");
	assert_null(body);
	pc_submit_result_free(r);
}

/* Given the envelope, a RECORDED answer is held to its leaf; a REPLAYED one is
 * not (it may be of an earlier copy signed with a rotated key). */
static void test_leaf_bound_when_recorded(void **state)
{
	struct fixture *f = *state;
	json_object *v;
	Pointclear__V1__SubmitResult *r = answer(f, "found_approved", &v);
	json_object *tree0 = json_object_array_get_idx(get(get(f->root, "receipt_trees"), "trees"), 0);
	json_object *entry0 = json_object_array_get_idx(get(tree0, "receipts"), 0);
	Pointclear__V1__ReceiptBody *body = NULL;
	size_t len;
	uint8_t *env = hex_decode(str(entry0, "envelope"), &len);

	r->disposition = POINTCLEAR__V1__DISPOSITION__RECORDED;
	assert_null(pc_client_check_receipt(r, f->op_pk, f->op_id, NULL, "al", "m-42",
	                                    str(v, "event_id"), env, len, &body));
	pc_receipt_body_free(body);
	env[len - 1] ^= 0x01;
	assert_string_equal(pc_client_check_receipt(r, f->op_pk, f->op_id, NULL, "al", "m-42",
	                                            str(v, "event_id"), env, len, &body),
	                    "leaf hash does not match the event sent and the decision");
	assert_null(body);
	r->disposition = POINTCLEAR__V1__DISPOSITION__REPLAYED;
	assert_null(pc_client_check_receipt(r, f->op_pk, f->op_id, NULL, "al", "m-42",
	                                    str(v, "event_id"), env, len, &body));
	pc_receipt_body_free(body);
	free(env);
	pc_submit_result_free(r);
}

static void test_result_line(void **state)
{
	struct fixture *f = *state;
	json_object *v;
	Pointclear__V1__SubmitResult *r = answer(f, "found_declined", &v);
	Pointclear__V1__ReceiptBody *body = NULL;
	char line[512];

	assert_null(pc_client_check_receipt(r, f->op_pk, f->op_id, NULL, "al", "m-42",
	                                    str(v, "event_id"), NULL, 0, &body));
	pc_client_result_line(line, sizeof line, r, body);
	assert_string_equal(line, "REPLAYED DECLINED HOLD_CAPTURED seq=5 balance=35 available=35 "
	                    "the referenced hold was already captured");
	pc_receipt_body_free(body);
	pc_submit_result_free(r);

	r = answer(f, "found_approved", &v);
	assert_null(pc_client_check_receipt(r, f->op_pk, f->op_id, NULL, "al", "m-42",
	                                    str(v, "event_id"), NULL, 0, &body));
	pc_client_result_line(line, sizeof line, r, body);
	assert_string_equal(line, "REPLAYED APPROVED OK seq=0 balance=100 available=100 approved");
	pc_receipt_body_free(body);
	pc_submit_result_free(r);

	r = answer(f, "shutting_down", &v);
	pc_client_result_line(line, sizeof line, r, NULL);
	assert_string_equal(line, "RETRYABLE - SHUTTING_DOWN seq=- balance=- available=- "
	                    "the clearing house is shutting down; resend the same bytes later");
	/* no message: the code's own sentence */
	r->message[0] = '\0';
	r->disposition = POINTCLEAR__V1__DISPOSITION__REJECTED;
	r->code = POINTCLEAR__V1__CODE__NOT_FOUND;
	pc_client_result_line(line, sizeof line, r, NULL);
	assert_string_equal(line, "REJECTED - NOT_FOUND seq=- balance=- available=- "
	                    "no entry of this merchant has this event id");
	pc_client_result_line(line, 16, r, NULL);   /* truncated, still a string */
	assert_int_equal(strlen(line), 15);
	pc_submit_result_free(r);
}

static void test_parse_server(void **state)
{
	static const struct {
		const char *in, *host;
		int port;
	} good[] = {
		{ "127.0.0.1:7444", "127.0.0.1", 7444 },
		{ "example.org", "example.org", 7443 },
		{ "[::1]:1", "::1", 1 },
		{ "[::1]", "::1", 7443 },
		{ "h:65535", "h", 65535 },
	};
	static const char *const bad[] = { "", ":7443", "h:", "h:0", "h:65536", "h:12x", "h:-1",
	                                   "[::1", "[::1]x", "[]:1", "h: 1" };
	char host[64];
	int port;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(pc_client_parse_server(good[i].in, host, sizeof host, &port), 0);
		assert_string_equal(host, good[i].host);
		assert_int_equal(port, good[i].port);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (pc_client_parse_server(bad[i], host, sizeof host, &port) == 0)
			fail_msg("'%s' taken as a server", bad[i]);
	}
	assert_int_equal(pc_client_parse_server("abcdef:1", host, 6, &port), -1);   /* too long */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_found_checks),
		cmocka_unit_test(test_found_refused),
		cmocka_unit_test(test_leaf_bound_when_recorded),
		cmocka_unit_test(test_result_line),
		cmocka_unit_test(test_parse_server),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
