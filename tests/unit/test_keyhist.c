/* test_keyhist.c - unit tests of key-history statements (proto/keyhist.c):
 * format and parse round-trip, a chain of signed statements checked link by
 * link, and a flipped byte, a wrong key id, wrong times, a gap and a broken
 * link each refused with its own code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "pointclear/keyhist.h"
#include "pointclear/note.h"
#include "pointclear/sign.h"

static void make(struct pc_keyhist *k, uint64_t seq, int change, uint8_t seed_byte)
{
	uint8_t seed[32], sk[64];

	memset(k, 0, sizeof *k);
	memset(seed, seed_byte, sizeof seed);
	pc_keypair_from_seed(k->pk, sk, seed);
	pc_key_id(k->key_id, k->pk);
	strcpy(k->alliance, "demo");
	k->seq = seq;
	k->change = change;
	if (change != PC_KEYHIST_OPERATOR_KEY)
		strcpy(k->merchant, "m1");
	k->valid_from = 1700000000000000;
	if (change == PC_KEYHIST_RETIRE) {
		k->has_grace = true;
		k->grace_until = k->valid_from + 86400000000;
	}
	if (change == PC_KEYHIST_REVOKE) {
		k->has_revoked = true;
		k->revoked_at = k->valid_from + 5;
	}
}

static void test_round_trip(void **state)
{
	struct pc_keyhist k, back;
	char text[PC_KEYHIST_TEXT_MAX];
	size_t len;

	(void)state;
	for (int c = PC_KEYHIST_REGISTER; c <= PC_KEYHIST_OPERATOR_KEY; c++) {
		make(&k, 7, c, (uint8_t)(c + 1));
		assert_int_equal(pc_keyhist_format(&k, text, sizeof text, &len), PC_KEYHIST_OK);
		assert_int_equal(len, strlen(text));
		assert_int_equal(pc_keyhist_parse(&back, text, len), PC_KEYHIST_OK);
		assert_memory_equal(&k, &back, sizeof k);
	}
	make(&k, 0, PC_KEYHIST_OPERATOR_KEY, 9);
	pc_keyhist_format(&k, text, sizeof text, &len);
	assert_non_null(strstr(text, "\nmerchant -\n"));
	assert_non_null(strstr(text, "\ngrace-until -\nrevoked-at -\n"));
	assert_int_equal(strncmp(text, "pointclear key history v1\nalliance demo\nseq 0\n", 46), 0);
}

static void test_refused(void **state)
{
	struct pc_keyhist k, back;
	char text[PC_KEYHIST_TEXT_MAX], bad[PC_KEYHIST_TEXT_MAX];
	size_t len;
	char *p;

	(void)state;
	make(&k, 3, PC_KEYHIST_REGISTER, 1);
	assert_int_equal(pc_keyhist_format(&k, text, sizeof text, &len), PC_KEYHIST_OK);

	/* the key id no longer the key's: one flipped byte */
	memcpy(bad, text, len + 1);
	p = strstr(bad, "key-id ") + 7;
	*p = *p == '0' ? '1' : '0';
	assert_int_equal(pc_keyhist_parse(&back, bad, len), PC_KEYHIST_BAD_KEY_ID);

	memcpy(bad, text, len + 1);
	bad[0] = 'P';
	assert_int_equal(pc_keyhist_parse(&back, bad, len), PC_KEYHIST_BAD_VERSION);

	memcpy(bad, text, len + 1);
	p = strstr(bad, "change register");
	memcpy(p, "chanGe", 6);
	assert_int_equal(pc_keyhist_parse(&back, bad, len), PC_KEYHIST_BAD_LINE);

	memcpy(bad, text, len + 1);
	p = strstr(bad, "seq 3");
	p[4] = 'x';
	assert_int_equal(pc_keyhist_parse(&back, bad, len), PC_KEYHIST_BAD_FIELD);

	/* a register that carries an end */
	memcpy(bad, text, len + 1);
	p = strstr(bad, "revoked-at -");
	p[11] = '1';
	assert_int_equal(pc_keyhist_parse(&back, bad, len), PC_KEYHIST_BAD_TIMES);

	/* trailing text, a missing final newline */
	memcpy(bad, text, len + 1);
	strcat(bad, "x\n");
	assert_int_equal(pc_keyhist_parse(&back, bad, len + 2), PC_KEYHIST_BAD_LINE);
	assert_int_equal(pc_keyhist_parse(&back, text, len - 1), PC_KEYHIST_BAD_LINE);

	/* format checks what parse checks */
	k.has_grace = true;
	assert_int_equal(pc_keyhist_format(&k, text, sizeof text, &len), PC_KEYHIST_BAD_TIMES);
}

/* Three statements signed as notes, chained, each opened and linked; then a
 * byte flipped in the middle one breaks its signature and the next link. */
static void test_chain(void **state)
{
	struct pc_note_signer s;
	struct pc_note_verifier v;
	struct pc_keyhist k[3], got[3];
	char name[PC_KEYHIST_NAME_MAX], text[PC_KEYHIST_TEXT_MAX], *note[3];
	size_t note_len[3], len, tlen;
	uint8_t seed[32], hash[32];

	(void)state;
	memset(seed, 42, sizeof seed);
	assert_int_equal(pc_keyhist_name(name, "demo"), 0);
	assert_string_equal(name, "pointclear/demo/keys");
	assert_int_equal(pc_keyhist_name(name, "bad alliance"), -1);
	assert_int_equal(pc_note_signer_from_seed(&s, name, seed), PC_NOTE_OK);
	pc_note_signer_verifier(&s, &v);

	make(&k[0], 0, PC_KEYHIST_OPERATOR_KEY, 42);
	make(&k[1], 1, PC_KEYHIST_REGISTER, 1);
	make(&k[2], 2, PC_KEYHIST_RETIRE, 1);
	for (int i = 0; i < 3; i++) {
		if (i > 0)
			pc_keyhist_hash(k[i].prev, note[i - 1], note_len[i - 1]);
		assert_int_equal(pc_keyhist_format(&k[i], text, sizeof text, &len), PC_KEYHIST_OK);
		assert_int_equal(pc_note_sign(text, len, &s, 1, &note[i], &note_len[i]), PC_NOTE_OK);
	}
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pc_note_open(note[i], note_len[i], &v, 1, &tlen, NULL), PC_NOTE_OK);
		assert_int_equal(pc_keyhist_parse(&got[i], note[i], tlen), PC_KEYHIST_OK);
		if (i > 0)
			pc_keyhist_hash(hash, note[i - 1], note_len[i - 1]);
		assert_int_equal(pc_keyhist_follows(i ? &got[i - 1] : NULL, hash, &got[i]),
		                 PC_KEYHIST_OK);
	}
	/* a gap, a statement of another alliance, a first statement not at 0 */
	got[2].seq = 3;
	assert_int_equal(pc_keyhist_follows(&got[1], hash, &got[2]), PC_KEYHIST_BAD_SEQ);
	got[2].seq = 2;
	strcpy(got[2].alliance, "other");
	assert_int_equal(pc_keyhist_follows(&got[1], hash, &got[2]), PC_KEYHIST_BAD_ALLIANCE);
	assert_int_equal(pc_keyhist_follows(NULL, hash, &got[1]), PC_KEYHIST_BAD_SEQ);

	/* one byte of statement 1's public key flipped */
	note[1][strstr(note[1], "public-key ") - note[1] + 11] ^= 0x01;
	assert_int_equal(pc_note_open(note[1], note_len[1], &v, 1, &tlen, NULL),
	                 PC_NOTE_BAD_SIGNATURE);
	pc_keyhist_hash(hash, note[1], note_len[1]);
	assert_int_equal(pc_keyhist_follows(&got[1], hash, &got[2]), PC_KEYHIST_BAD_ALLIANCE);
	strcpy(got[2].alliance, "demo");
	assert_int_equal(pc_keyhist_follows(&got[1], hash, &got[2]), PC_KEYHIST_BAD_PREV);
	for (int i = 0; i < 3; i++)
		free(note[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_chain),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
