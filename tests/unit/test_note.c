/* test_note.c - unit tests of C2SP signed notes (proto/note.c): the published
 * example key and note of Go's note package (golang.org/x/mod/sumdb/note), the
 * spec's own example, and every way a note or key string is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pointclear/note.h"

/* The example of Go's sumdb/note documentation. */
static const char peter_skey[] =
	"PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char peter_vkey[] =
	"PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char peter_text[] =
	"If you think cryptography is the answer to your problem,\n"
	"then you don't know what your problem is.\n";
static const char peter_msg[] =
	"If you think cryptography is the answer to your problem,\n"
	"then you don't know what your problem is.\n"
	"\n"
	"\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
/* The same note signed again by a second, unknown key. */
static const char peter_enoch_msg[] =
	"If you think cryptography is the answer to your problem,\n"
	"then you don't know what your problem is.\n"
	"\n"
	"\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
	"\xe2\x80\x94 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";
/* The example of c2sp.org/signed-note (its key is not published). */
static const char quasimodo_msg[] =
	"Ognuno sta solo sul cuor della terra\n"
	"trafitto da un raggio di sole:\n"
	"\n"
	"ed \xc3\xa8 subito sera.\n"
	"\n"
	"\xe2\x80\x94 quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";

static int open_str(const char *msg, const struct pc_note_verifier *v, size_t nv,
                    size_t *text_len)
{
	return pc_note_open(msg, strlen(msg), v, nv, text_len, NULL);
}

static void test_go_example(void **state)
{
	(void)state;
	struct pc_note_signer s;
	struct pc_note_verifier v, v2;
	char skey[PC_NOTE_SKEY_MAX], vkey[PC_NOTE_VKEY_MAX];

	assert_int_equal(pc_note_signer_parse(&s, peter_skey), PC_NOTE_OK);
	assert_string_equal(s.name, "PeterNeumann");
	assert_int_equal(s.key_id, 0xc74f20a3);
	pc_note_signer_format(&s, skey);
	assert_string_equal(skey, peter_skey);
	pc_note_signer_verifier(&s, &v);
	pc_note_verifier_format(&v, vkey);
	assert_string_equal(vkey, peter_vkey);
	assert_int_equal(pc_note_verifier_parse(&v2, peter_vkey), PC_NOTE_OK);
	assert_string_equal(v.name, v2.name);
	assert_int_equal(v.key_id, v2.key_id);
	assert_memory_equal(v.pk, v2.pk, sizeof v.pk);

	/* Ed25519 is deterministic: the same key signs the same bytes */
	char *msg;
	size_t len, text_len;
	assert_int_equal(pc_note_sign(peter_text, strlen(peter_text), &s, 1, &msg, &len),
	                 PC_NOTE_OK);
	assert_int_equal(len, strlen(peter_msg));
	assert_string_equal(msg, peter_msg);
	free(msg);

	bool verified[1];
	assert_int_equal(pc_note_open(peter_msg, strlen(peter_msg), &v, 1, &text_len, verified),
	                 PC_NOTE_OK);
	assert_int_equal(text_len, strlen(peter_text));
	assert_memory_equal(peter_msg, peter_text, text_len);
	assert_true(verified[0]);
	/* a second signature by a key the reader does not know is ignored */
	assert_int_equal(open_str(peter_enoch_msg, &v, 1, &text_len), PC_NOTE_OK);
	assert_int_equal(text_len, strlen(peter_text));
}

static void test_spec_example(void **state)
{
	(void)state;
	struct pc_note_verifier v;
	size_t text_len;
	assert_int_equal(pc_note_verifier_parse(&v, peter_vkey), PC_NOTE_OK);
	/* well formed, but no key the reader knows signed it; the text may hold
	 * blank lines, the last one ends it */
	assert_int_equal(open_str(quasimodo_msg, &v, 1, &text_len), PC_NOTE_UNVERIFIED);
	assert_int_equal(text_len, 0);
	assert_int_equal(open_str(quasimodo_msg, NULL, 0, &text_len), PC_NOTE_UNVERIFIED);
}

static void test_key_id(void **state)
{
	(void)state;
	struct pc_note_verifier v;
	assert_int_equal(pc_note_verifier_parse(&v, peter_vkey), PC_NOTE_OK);
	assert_int_equal(pc_note_key_id("PeterNeumann", v.pk), 0xc74f20a3);
	/* the name is part of what is hashed */
	assert_int_not_equal(pc_note_key_id("PeterNeumann2", v.pk), 0xc74f20a3);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(pc_note_name_valid("example.com/log", 15));
	assert_true(pc_note_name_valid("caf\xc3\xa9", 5));
	assert_false(pc_note_name_valid("", 0));
	assert_false(pc_note_name_valid("a b", 3));
	assert_false(pc_note_name_valid("a+b", 3));
	assert_false(pc_note_name_valid("a\tb", 3));
	assert_false(pc_note_name_valid("a\xc2\xa0" "b", 4));       /* NO-BREAK SPACE */
	assert_false(pc_note_name_valid("a\xe3\x80\x80" "b", 5));   /* IDEOGRAPHIC SPACE */
	assert_false(pc_note_name_valid("a\xff" "b", 3));           /* not UTF-8 */
	assert_false(pc_note_name_valid("a\xc0\xaf", 3));           /* overlong */
	assert_false(pc_note_name_valid("a\xed\xa0\x80", 4));       /* surrogate */
	char long_name[PC_NOTE_MAX_NAME + 2];
	memset(long_name, 'a', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	assert_false(pc_note_name_valid(long_name, strlen(long_name)));
	assert_true(pc_note_name_valid(long_name, PC_NOTE_MAX_NAME));

	struct pc_note_signer s;
	uint8_t seed[32] = { 1 };
	assert_int_equal(pc_note_signer_from_seed(&s, "bad name", seed), PC_NOTE_BAD_NAME);
	assert_int_equal(pc_note_signer_from_seed(&s, "", seed), PC_NOTE_BAD_NAME);
}

static void test_bad_keys(void **state)
{
	(void)state;
	struct pc_note_verifier v;
	struct pc_note_signer s;
	/* from Go's note tests: wrong length with the id that length gives, and an
	 * unknown algorithm */
	assert_int_equal(pc_note_verifier_parse(&v, "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="),
	                 PC_NOTE_BAD_KEY);
	assert_int_equal(pc_note_verifier_parse(&v, "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
	                 PC_NOTE_BAD_ALG);
	assert_int_equal(pc_note_verifier_parse(&v, "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
	                 PC_NOTE_BAD_KEY_ID);
	assert_int_equal(pc_note_verifier_parse(&v, "PeterNeumann2+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
	                 PC_NOTE_BAD_KEY_ID);
	assert_int_equal(pc_note_verifier_parse(&v, "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
	                 PC_NOTE_BAD_KEY);
	assert_int_equal(pc_note_verifier_parse(&v, "PeterNeumann+c74f20g3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
	                 PC_NOTE_BAD_KEY);
	assert_int_equal(pc_note_verifier_parse(&v, "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW="),
	                 PC_NOTE_BAD_KEY);
	assert_int_equal(pc_note_verifier_parse(&v, "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T"),
	                 PC_NOTE_BAD_KEY);
	assert_int_equal(pc_note_verifier_parse(&v, "PeterNeumann+c74f20a3"), PC_NOTE_BAD_KEY);
	assert_int_equal(pc_note_verifier_parse(&v, "PeterNeumann"), PC_NOTE_BAD_KEY);
	assert_int_equal(pc_note_verifier_parse(&v, "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
	                 PC_NOTE_BAD_NAME);
	/* a private key is not a public one, nor the reverse */
	assert_int_equal(pc_note_verifier_parse(&v, peter_skey), PC_NOTE_BAD_KEY);
	assert_int_equal(pc_note_signer_parse(&s, peter_vkey), PC_NOTE_BAD_KEY);
	assert_int_equal(pc_note_signer_parse(&s, "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"),
	                 PC_NOTE_BAD_KEY_ID);
	assert_int_equal(pc_note_signer_parse(&s, "PRIVATE+KEY+PeterNeumann+c74f20a3+AoEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"),
	                 PC_NOTE_BAD_ALG);
}

/* Replaces the first occurrence of from in msg with to, into a fresh string. */
static char *replaced(const char *msg, const char *from, const char *to)
{
	const char *at = strstr(msg, from);
	assert_non_null(at);
	size_t head = (size_t)(at - msg), n = strlen(msg) - strlen(from) + strlen(to);
	char *out = malloc(n + 1);
	assert_non_null(out);
	memcpy(out, msg, head);
	strcpy(out + head, to);
	strcat(out, at + strlen(from));
	return out;
}

static void expect_open(const char *msg, const struct pc_note_verifier *v, int want)
{
	size_t text_len = 99;
	assert_int_equal(open_str(msg, v, 1, &text_len), want);
	assert_int_equal(text_len, 0);
}

static void test_bad_notes(void **state)
{
	(void)state;
	struct pc_note_verifier v;
	char *m;
	assert_int_equal(pc_note_verifier_parse(&v, peter_vkey), PC_NOTE_OK);

	/* no blank line; no signature; a signature line without its newline */
	expect_open(peter_text, &v, PC_NOTE_MALFORMED);
	m = replaced(peter_msg, "\xe2\x80\x94 PeterNeumann", "");
	m[strlen(peter_text) + 1] = '\0';
	expect_open(m, &v, PC_NOTE_MALFORMED);
	free(m);
	m = strdup(peter_msg);
	m[strlen(m) - 1] = '\0';
	expect_open(m, &v, PC_NOTE_MALFORMED);
	free(m);
	/* a hyphen for the em dash; no space; no signature; bad base64 */
	m = replaced(peter_msg, "\xe2\x80\x94 ", "- ");
	expect_open(m, &v, PC_NOTE_MALFORMED);
	free(m);
	m = replaced(peter_msg, "PeterNeumann ", "PeterNeumann");
	expect_open(m, &v, PC_NOTE_MALFORMED);
	free(m);
	m = replaced(peter_msg, "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=", "");
	expect_open(m, &v, PC_NOTE_MALFORMED);
	free(m);
	m = replaced(peter_msg, "AM=\n", "A=\n");
	expect_open(m, &v, PC_NOTE_MALFORMED);
	free(m);
	m = replaced(peter_msg, "AM=\n", "AN=\n");   /* non-zero padding bits */
	expect_open(m, &v, PC_NOTE_MALFORMED);
	free(m);
	m = replaced(peter_msg, "x08go", "x08g");
	expect_open(m, &v, PC_NOTE_MALFORMED);
	free(m);
	/* a key id and no signature at all */
	m = replaced(peter_msg, "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=", "x08gow==");
	expect_open(m, &v, PC_NOTE_MALFORMED);
	free(m);
	/* text changed; signature changed; a short signature of a known key */
	m = replaced(peter_msg, "answer", "Answer");
	expect_open(m, &v, PC_NOTE_BAD_SIGNATURE);
	free(m);
	m = replaced(peter_msg, "ZJku", "ZJkv");
	expect_open(m, &v, PC_NOTE_BAD_SIGNATURE);
	free(m);
	m = replaced(peter_msg, "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=", "x08go/ZJ");
	expect_open(m, &v, PC_NOTE_BAD_SIGNATURE);
	free(m);
	/* the same line twice */
	m = replaced(peter_msg, "AM=\n", "AM=\n\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n");
	expect_open(m, &v, PC_NOTE_DUPLICATE_SIG);
	free(m);
	/* a control character; a carriage return; bad UTF-8, in the text */
	m = replaced(peter_msg, "answer", "ans\x01wer");
	expect_open(m, &v, PC_NOTE_BAD_TEXT);
	free(m);
	m = replaced(peter_msg, "problem,\n", "problem,\r\n");
	expect_open(m, &v, PC_NOTE_BAD_TEXT);
	free(m);
	m = replaced(peter_msg, "answer", "answ\xe9r");
	expect_open(m, &v, PC_NOTE_BAD_TEXT);
	free(m);
	/* the right key under another name, or id, is another key */
	m = replaced(peter_msg, "PeterNeumann x08", "PeterNeumann2 x08");
	expect_open(m, &v, PC_NOTE_UNVERIFIED);
	free(m);
	m = replaced(peter_msg, "x08go", "x08gp");
	expect_open(m, &v, PC_NOTE_UNVERIFIED);
	free(m);
}

static void test_too_many(void **state)
{
	(void)state;
	struct pc_note_verifier v;
	assert_int_equal(pc_note_verifier_parse(&v, peter_vkey), PC_NOTE_OK);
	size_t cap = strlen(peter_msg) + (PC_NOTE_MAX_SIGS + 1) * 64;
	char *m = malloc(cap);
	assert_non_null(m);
	strcpy(m, peter_msg);
	size_t text_len;
	/* up to the limit unknown keys do not matter; one more is refused */
	for (int i = 1; i <= PC_NOTE_MAX_SIGS; i++) {
		size_t n = strlen(m);
		snprintf(m + n, cap - n, "\xe2\x80\x94 witness%d.example AAAAAAAAAAAAAAAA\n", i);
		assert_int_equal(open_str(m, &v, 1, &text_len),
		                 i < PC_NOTE_MAX_SIGS ? PC_NOTE_OK : PC_NOTE_TOO_MANY_SIGS);
	}
	free(m);
}

static void test_sign_round_trip(void **state)
{
	(void)state;
	struct pc_note_signer s[2];
	struct pc_note_verifier v[3];
	uint8_t seed[32];
	char *msg;
	size_t len, text_len;
	bool verified[3];
	static const char text[] = "pointclear.example/alliance/7\n12\nqwerty\n\nand an empty line\n";

	randombytes_buf(seed, sizeof seed);
	assert_int_equal(pc_note_signer_from_seed(&s[0], "pointclear.example/alliance/7", seed), 0);
	randombytes_buf(seed, sizeof seed);
	assert_int_equal(pc_note_signer_from_seed(&s[1], "witness.example", seed), 0);
	pc_note_signer_verifier(&s[0], &v[0]);
	pc_note_signer_verifier(&s[1], &v[1]);
	assert_int_equal(pc_note_verifier_parse(&v[2], peter_vkey), 0);

	assert_int_equal(pc_note_sign(text, strlen(text), s, 2, &msg, &len), PC_NOTE_OK);
	assert_int_equal(pc_note_open(msg, len, v, 3, &text_len, verified), PC_NOTE_OK);
	assert_int_equal(text_len, strlen(text));
	assert_true(verified[0]);
	assert_true(verified[1]);
	assert_false(verified[2]);
	assert_int_equal(pc_note_open(msg, len, &v[1], 1, &text_len, verified), PC_NOTE_OK);
	assert_int_equal(pc_note_open(msg, len, &v[2], 1, &text_len, verified), PC_NOTE_UNVERIFIED);
	/* a known key's failing signature rejects the note, even beside a good one;
	 * unknown, it is ignored */
	char *bad_sig = strstr(msg, "witness.example ") + strlen("witness.example ") + 10;
	*bad_sig = *bad_sig == 'A' ? 'B' : 'A';
	assert_int_equal(pc_note_open(msg, len, v, 2, &text_len, verified), PC_NOTE_BAD_SIGNATURE);
	assert_false(verified[0]);
	assert_int_equal(pc_note_open(msg, len, v, 1, &text_len, verified), PC_NOTE_OK);
	free(msg);

	/* a signer key string read back signs alike */
	char skey[PC_NOTE_SKEY_MAX];
	struct pc_note_signer back;
	pc_note_signer_format(&s[0], skey);
	assert_int_equal(pc_note_signer_parse(&back, skey), PC_NOTE_OK);
	assert_string_equal(back.name, s[0].name);
	assert_int_equal(back.key_id, s[0].key_id);
	assert_memory_equal(back.sk, s[0].sk, sizeof back.sk);

	/* texts that cannot be signed */
	assert_int_equal(pc_note_sign("no newline", 10, s, 1, &msg, &len), PC_NOTE_BAD_TEXT);
	assert_null(msg);
	assert_int_equal(pc_note_sign("", 0, s, 1, &msg, &len), PC_NOTE_BAD_TEXT);
	assert_int_equal(pc_note_sign("tab\there\n", 9, s, 1, &msg, &len), PC_NOTE_BAD_TEXT);
	assert_int_equal(pc_note_sign("bad \xff\n", 6, s, 1, &msg, &len), PC_NOTE_BAD_TEXT);
	assert_int_equal(pc_note_sign("ok\n", 3, s, 0, &msg, &len), PC_NOTE_TOO_MANY_SIGS);
	assert_string_equal(pc_note_strerror(PC_NOTE_UNVERIFIED), "no signature of a known key");
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_go_example),
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_key_id),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_bad_keys),
		cmocka_unit_test(test_bad_notes),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_sign_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
