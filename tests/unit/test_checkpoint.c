/* test_checkpoint.c - unit tests of C2SP tlog-checkpoint texts (proto/
 * checkpoint.c): the spec's example, canonical formatting, a signed checkpoint
 * opened in one step, and every malformed text refused with its own code; and
 * of the tlog-proofs that carry one (proto/tlog_proof.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pointclear/checkpoint.h"
#include "pointclear/merkle.h"
#include "pointclear/tlog_proof.h"
#include "testutil.h"

/* The example of c2sp.org/tlog-checkpoint; its key is not published. */
static const char sofa_text[] =
	"example.com/behind-the-sofa\n"
	"20852163\n"
	"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
static const char sofa_signed[] =
	"example.com/behind-the-sofa\n"
	"20852163\n"
	"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
	"\n"
	"\xe2\x80\x94 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";

static int parse_str(struct pc_checkpoint *c, const char *text)
{
	return pc_checkpoint_parse(c, text, strlen(text));
}

static void test_spec_example(void **state)
{
	(void)state;
	struct pc_checkpoint c;
	char out[512];
	size_t len;

	assert_int_equal(parse_str(&c, sofa_text), PC_CHECKPOINT_OK);
	assert_string_equal(c.origin, "example.com/behind-the-sofa");
	assert_true(c.size == 20852163);
	assert_bytes_hex(c.root, PC_HASH_SIZE,
	                 "0ac5186a91863e8e1d90c808014aa89bf5da8e3ee1d9f07630f0378f68f1ab62");
	assert_null(c.ext);
	assert_int_equal(pc_checkpoint_format(&c, out, sizeof out, &len), PC_CHECKPOINT_OK);
	assert_int_equal(len, strlen(sofa_text));
	assert_string_equal(out, sofa_text);

	/* signed by a key the reader does not have: refused as a note */
	struct pc_note_verifier v;
	assert_int_equal(pc_note_verifier_parse(&v, "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"), 0);
	assert_int_equal(pc_checkpoint_open(&c, sofa_signed, strlen(sofa_signed), &v, 1, NULL),
	                 -PC_NOTE_UNVERIFIED);
}

static void test_extensions_and_limits(void **state)
{
	(void)state;
	struct pc_checkpoint c;
	char out[512];
	size_t len;
	static const char with_ext[] =
		"log.example\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\nfirst ext\nsecond\n";
	assert_int_equal(parse_str(&c, with_ext), PC_CHECKPOINT_OK);
	assert_true(c.size == 0);
	assert_int_equal(c.ext_len, strlen("first ext\nsecond\n"));
	assert_memory_equal(c.ext, "first ext\nsecond\n", c.ext_len);
	assert_int_equal(pc_checkpoint_format(&c, out, sizeof out, &len), PC_CHECKPOINT_OK);
	assert_string_equal(out, with_ext);
	/* the empty tree's root is the hash of nothing */
	uint8_t empty[PC_HASH_SIZE];
	pc_merkle_empty_root(empty);
	assert_memory_equal(c.root, empty, PC_HASH_SIZE);

	assert_int_equal(parse_str(&c, "log.example\n18446744073709551615\n"
	                                "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"),
	                 PC_CHECKPOINT_OK);
	assert_true(c.size == UINT64_MAX);
	/* an origin may hold spaces (only a SHOULD forbids them) */
	assert_int_equal(parse_str(&c, "my log\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"),
	                 PC_CHECKPOINT_OK);
	/* a buffer too small */
	assert_int_equal(pc_checkpoint_format(&c, out, 20, &len), PC_CHECKPOINT_TOO_LONG);
	assert_int_equal(len, 0);
}

static void test_bad_texts(void **state)
{
	(void)state;
	static const struct { const char *text; int want; } cases[] = {
		{ "", PC_CHECKPOINT_BAD_TEXT },
		{ "log.example\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", PC_CHECKPOINT_BAD_TEXT },
		{ "log.example\n", PC_CHECKPOINT_BAD_TEXT },
		{ "log.example\n1\n", PC_CHECKPOINT_BAD_TEXT },
		{ "log.\x01xample\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", PC_CHECKPOINT_BAD_TEXT },
		{ "log.\xffxample\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", PC_CHECKPOINT_BAD_TEXT },
		{ "\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", PC_CHECKPOINT_BAD_ORIGIN },
		{ "log.example\n\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", PC_CHECKPOINT_BAD_SIZE },
		{ "log.example\n01\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", PC_CHECKPOINT_BAD_SIZE },
		{ "log.example\n00\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", PC_CHECKPOINT_BAD_SIZE },
		{ "log.example\n-1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", PC_CHECKPOINT_BAD_SIZE },
		{ "log.example\n+1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", PC_CHECKPOINT_BAD_SIZE },
		{ "log.example\n 1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", PC_CHECKPOINT_BAD_SIZE },
		{ "log.example\n1a\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", PC_CHECKPOINT_BAD_SIZE },
		{ "log.example\n18446744073709551616\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", PC_CHECKPOINT_BAD_SIZE },
		{ "log.example\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n", PC_CHECKPOINT_BAD_ROOT },
		{ "log.example\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=\n", PC_CHECKPOINT_BAD_ROOT },
		{ "log.example\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuA==\n", PC_CHECKPOINT_BAD_ROOT },
		{ "log.example\n1\n47DEQpj8HBSa-_TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", PC_CHECKPOINT_BAD_ROOT },
		{ "log.example\n1\n 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", PC_CHECKPOINT_BAD_ROOT },
		{ "log.example\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n", PC_CHECKPOINT_BAD_EXT },
		{ "log.example\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next\n\n", PC_CHECKPOINT_BAD_EXT },
		{ "log.example\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\next\n", PC_CHECKPOINT_BAD_EXT },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct pc_checkpoint c;
		int got = parse_str(&c, cases[i].text);
		if (got != cases[i].want)
			fail_msg("case %zu: got %d (%s), want %d", i, got, pc_checkpoint_strerror(got),
			         cases[i].want);
	}
}

static void test_bad_formats(void **state)
{
	(void)state;
	struct pc_checkpoint c = { .origin = "", .size = 1 };
	char out[256];
	size_t len;
	assert_int_equal(pc_checkpoint_format(&c, out, sizeof out, &len), PC_CHECKPOINT_BAD_ORIGIN);
	strcpy(c.origin, "two\nlines");
	assert_int_equal(pc_checkpoint_format(&c, out, sizeof out, &len), PC_CHECKPOINT_BAD_ORIGIN);
	strcpy(c.origin, "tab\there");
	assert_int_equal(pc_checkpoint_format(&c, out, sizeof out, &len), PC_CHECKPOINT_BAD_ORIGIN);
	strcpy(c.origin, "log.example");
	c.ext = "no newline";
	c.ext_len = strlen(c.ext);
	assert_int_equal(pc_checkpoint_format(&c, out, sizeof out, &len), PC_CHECKPOINT_BAD_EXT);
	c.ext = "a\n\nb\n";
	c.ext_len = strlen(c.ext);
	assert_int_equal(pc_checkpoint_format(&c, out, sizeof out, &len), PC_CHECKPOINT_BAD_EXT);
}

static void test_signed_round_trip(void **state)
{
	(void)state;
	struct pc_note_signer s;
	struct pc_note_verifier v;
	uint8_t seed[32];
	struct pc_checkpoint c = { .origin = "pointclear.example/alliance/42", .size = 1234567 }, got;
	char text[256], *msg;
	size_t len, msg_len;

	randombytes_buf(seed, sizeof seed);
	randombytes_buf(c.root, sizeof c.root);
	assert_int_equal(pc_note_signer_from_seed(&s, c.origin, seed), 0);
	pc_note_signer_verifier(&s, &v);
	assert_int_equal(pc_checkpoint_format(&c, text, sizeof text, &len), 0);
	assert_int_equal(pc_note_sign(text, len, &s, 1, &msg, &msg_len), 0);
	assert_int_equal(pc_checkpoint_open(&got, msg, msg_len, &v, 1, c.origin), 0);
	assert_string_equal(got.origin, c.origin);
	assert_true(got.size == c.size);
	assert_memory_equal(got.root, c.root, PC_HASH_SIZE);
	assert_int_equal(pc_checkpoint_open(&got, msg, msg_len, &v, 1, "another.example/log"),
	                 PC_CHECKPOINT_WRONG_ORIGIN);
	msg[len - 3] ^= 1;   /* inside the root line */
	assert_int_equal(pc_checkpoint_open(&got, msg, msg_len, &v, 1, c.origin),
	                 -PC_NOTE_BAD_SIGNATURE);
	free(msg);

	/* a well-signed note that is no checkpoint */
	assert_int_equal(pc_note_sign("hello\n", 6, &s, 1, &msg, &msg_len), 0);
	assert_int_equal(pc_checkpoint_open(&got, msg, msg_len, &v, 1, NULL), PC_CHECKPOINT_BAD_TEXT);
	free(msg);
}

/* The example of c2sp.org/tlog-proof (its signatures are elided there). */
static const char spec_proof[] =
	"c2sp.org/tlog-proof@v1\n"
	"extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ\n"
	"index 73894\n"
	"gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n"
	"B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\n"
	"EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=\n"
	"RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=\n"
	"AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=\n"
	"\n"
	"example.com/fancylog\n"
	"109482\n"
	"sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n"
	"\n"
	"\xe2\x80\x94 example.com/fancylog hI2DJw[...]1roloI=\n";

static void test_tlog_proof_spec(void **state)
{
	(void)state;
	struct pc_tlog_proof *p = malloc(sizeof *p);
	struct pc_checkpoint c;
	assert_non_null(p);
	assert_int_equal(pc_tlog_proof_parse(p, spec_proof, strlen(spec_proof)), PC_TLOG_PROOF_OK);
	assert_int_equal(p->extra_len, 39);
	assert_memory_equal(p->extra, "age-v1.2.1-darwin-arm64.tar.gz", 30);
	assert_true(p->index == 73894);
	assert_int_equal(p->path_len, 5);
	assert_bytes_hex(p->path[4], PC_HASH_SIZE,
	                 "0070a2a17f672e3b2bb1ee988634519a4d565048ab54e2cb468390eaf7cee6f9");
	assert_int_equal(strncmp(p->checkpoint, "example.com/fancylog\n109482\n", 28), 0);
	/* its signature is elided: the checkpoint does not open */
	uint8_t leaf[PC_HASH_SIZE] = { 0 };
	assert_int_equal(pc_tlog_proof_verify(p, leaf, NULL, 0, NULL, &c),
	                 PC_TLOG_PROOF_NO_CHECKPOINT);
	/* written again, it is the same text */
	char *out;
	size_t len;
	assert_int_equal(pc_tlog_proof_format(p, &out, &len), PC_TLOG_PROOF_OK);
	assert_int_equal(len, strlen(spec_proof));
	assert_string_equal(out, spec_proof);
	free(out);
	free(p);
}

static void test_tlog_proof_round_trip(void **state)
{
	(void)state;
	enum { N = 21, INDEX = 13 };
	uint8_t leaves[N][PC_HASH_SIZE], seed[32];
	for (int i = 0; i < N; i++)
		pc_merkle_leaf_hash(leaves[i], (const uint8_t *)&i, sizeof i);
	struct pc_merkle_tree t;
	assert_int_equal(pc_merkle_build(&t, (const uint8_t (*)[PC_HASH_SIZE])leaves, N), 0);

	struct pc_note_signer s, other;
	struct pc_note_verifier v, vo;
	randombytes_buf(seed, sizeof seed);
	assert_int_equal(pc_note_signer_from_seed(&s, "log.example", seed), 0);
	randombytes_buf(seed, sizeof seed);
	assert_int_equal(pc_note_signer_from_seed(&other, "log.example", seed), 0);
	pc_note_signer_verifier(&s, &v);
	pc_note_signer_verifier(&other, &vo);
	struct pc_checkpoint c = { .origin = "log.example", .size = N }, got;
	memcpy(c.root, pc_merkle_root(&t), PC_HASH_SIZE);
	char text[256], *note, *out;
	size_t len, note_len, out_len;
	assert_int_equal(pc_checkpoint_format(&c, text, sizeof text, &len), 0);
	assert_int_equal(pc_note_sign(text, len, &s, 1, &note, &note_len), 0);

	struct pc_tlog_proof *p = calloc(1, sizeof *p), *q = malloc(sizeof *q);
	assert_non_null(p);
	assert_non_null(q);
	p->index = INDEX;
	p->path_len = pc_merkle_path(&t, INDEX, p->path);
	p->checkpoint = note;
	p->checkpoint_len = note_len;
	assert_int_equal(pc_tlog_proof_format(p, &out, &out_len), 0);
	assert_int_equal(strncmp(out, "c2sp.org/tlog-proof@v1\nindex 13\n", 32), 0);
	assert_int_equal(pc_tlog_proof_parse(q, out, out_len), 0);
	assert_int_equal(q->extra_len, 0);
	assert_true(q->index == INDEX);
	assert_int_equal(q->path_len, p->path_len);
	assert_memory_equal(q->path, p->path, p->path_len * PC_HASH_SIZE);
	assert_int_equal(pc_tlog_proof_verify(q, leaves[INDEX], &v, 1, "log.example", &got), 0);
	assert_true(got.size == N);
	/* another entry, another key, another log, another place: no proof */
	assert_int_equal(pc_tlog_proof_verify(q, leaves[INDEX + 1], &v, 1, "log.example", &got),
	                 PC_TLOG_PROOF_NOT_INCLUDED);
	assert_int_equal(pc_tlog_proof_verify(q, leaves[INDEX], &vo, 1, "log.example", &got),
	                 PC_TLOG_PROOF_NO_CHECKPOINT);
	assert_int_equal(pc_tlog_proof_verify(q, leaves[INDEX], &v, 1, "log2.example", &got),
	                 PC_TLOG_PROOF_NO_CHECKPOINT);
	q->index = N;
	assert_int_equal(pc_tlog_proof_verify(q, leaves[INDEX], &v, 1, "log.example", &got),
	                 PC_TLOG_PROOF_NOT_INCLUDED);
	free(out);

	/* malformed texts */
	static const char *const bad[] = {
		"c2sp.org/tlog-proof@v2\nindex 1\n\nX\n",
		"c2sp.org/tlog-proof@v1\nindex 01\n\nX\n",
		"c2sp.org/tlog-proof@v1\nindex\n\nX\n",
		"c2sp.org/tlog-proof@v1\nindex -1\n\nX\n",
		"c2sp.org/tlog-proof@v1\nextra \nindex 1\n\nX\n",
		"c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n\nX\n",
		"c2sp.org/tlog-proof@v1\nindex 1\ngSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPl=\n\nX\n",
		"c2sp.org/tlog-proof@v1\nindex 1\ngSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n",
		"c2sp.org/tlog-proof@v1\nindex 1\n\n",
		"c2sp.org/tlog-proof@v1\nindex 1",
		"c2sp.org/tlog-proof@v1\n",
		"",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (pc_tlog_proof_parse(q, bad[i], strlen(bad[i])) != PC_TLOG_PROOF_MALFORMED)
			fail_msg("accepted bad proof %zu", i);
	free(note);
	free(p);
	free(q);
	pc_merkle_free(&t);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_extensions_and_limits),
		cmocka_unit_test(test_bad_texts),
		cmocka_unit_test(test_bad_formats),
		cmocka_unit_test(test_signed_round_trip),
		cmocka_unit_test(test_tlog_proof_spec),
		cmocka_unit_test(test_tlog_proof_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
