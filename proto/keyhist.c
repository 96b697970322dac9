/* keyhist.c - key-history statements: formatting, strict parsing, and the hash
 * chain that links each statement to the one before it (keyhist.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "pointclear/ids.h"
#include "pointclear/keyhist.h"
#include "pointclear/sign.h"

static const char *const change_names[] = {"register", "retire", "revoke", "operator-key"};
#define NCHANGES (sizeof change_names / sizeof change_names[0])
#define B64_32 sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)

const char *pc_keyhist_strerror(int err)
{
	switch (err) {
	case PC_KEYHIST_OK: return "ok";
	case PC_KEYHIST_BAD_VERSION: return "not a key-history statement of version 1";
	case PC_KEYHIST_BAD_LINE: return "a line is missing, out of order or malformed";
	case PC_KEYHIST_BAD_FIELD: return "a field has a value its line does not allow";
	case PC_KEYHIST_BAD_KEY_ID: return "the key id is not the public key's";
	case PC_KEYHIST_BAD_TIMES: return "the times do not fit the change";
	case PC_KEYHIST_BAD_SEQ: return "the sequence number does not follow the previous one";
	case PC_KEYHIST_BAD_PREV: return "prev is not the hash of the previous statement";
	case PC_KEYHIST_BAD_ALLIANCE: return "a statement of another alliance";
	case PC_KEYHIST_TOO_LONG: return "the statement does not fit";
	}
	return "unknown key-history error";
}

const char *pc_keyhist_change_name(int change)
{
	return change >= 0 && (size_t)change < NCHANGES ? change_names[change] : "?";
}

int pc_keyhist_name(char out[PC_KEYHIST_NAME_MAX], const char *alliance)
{
	int n;

	if (!pc_id_valid(alliance))
		return -1;
	n = snprintf(out, PC_KEYHIST_NAME_MAX, "pointclear/%s/keys", alliance);
	return n > 0 && n < PC_KEYHIST_NAME_MAX ? 0 : -1;
}

/* The rules parse enforces, shared with format so that what it writes parses. */
static int check(const struct pc_keyhist *k)
{
	char id[PC_KEY_ID_LEN + 1];
	bool op = k->change == PC_KEYHIST_OPERATOR_KEY;

	if (!pc_id_valid(k->alliance) || k->change < 0 || (size_t)k->change >= NCHANGES ||
	    (op ? k->merchant[0] != '\0' : !pc_id_valid(k->merchant)) || k->valid_from < 0 ||
	    k->seq > INT64_MAX)
		return PC_KEYHIST_BAD_FIELD;
	pc_key_id(id, k->pk);
	if (strcmp(id, k->key_id) != 0)
		return PC_KEYHIST_BAD_KEY_ID;
	/* a retirement states its grace, a revocation its time; nothing else ends */
	if (k->has_grace != (k->change == PC_KEYHIST_RETIRE) ||
	    k->has_revoked != (k->change == PC_KEYHIST_REVOKE) ||
	    (k->has_grace && k->grace_until < k->valid_from) ||
	    (k->has_revoked && k->revoked_at < k->valid_from))
		return PC_KEYHIST_BAD_TIMES;
	return PC_KEYHIST_OK;
}

static void put_time(char *out, size_t size, bool has, int64_t v)
{
	if (has)
		snprintf(out, size, "%" PRId64, v);
	else
		snprintf(out, size, "-");
}

int pc_keyhist_format(const struct pc_keyhist *k, char *out, size_t size, size_t *len)
{
	char pk[B64_32], prev[B64_32], grace[24], revoked[24];
	int err = check(k), n;

	if (err != PC_KEYHIST_OK)
		return err;
	sodium_bin2base64(pk, sizeof pk, k->pk, 32, sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(prev, sizeof prev, k->prev, 32, sodium_base64_VARIANT_ORIGINAL);
	put_time(grace, sizeof grace, k->has_grace, k->grace_until);
	put_time(revoked, sizeof revoked, k->has_revoked, k->revoked_at);
	n = snprintf(out, size,
	             PC_KEYHIST_VERSION "\n"
	             "alliance %s\nseq %" PRIu64 "\nchange %s\nmerchant %s\nkey-id %s\n"
	             "public-key %s\nvalid-from %" PRId64 "\ngrace-until %s\nrevoked-at %s\n"
	             "prev %s\n",
	             k->alliance, k->seq, change_names[k->change], k->merchant[0] ? k->merchant : "-",
	             k->key_id, pk, k->valid_from, grace, revoked, prev);
	if (n < 0 || (size_t)n >= size)
		return PC_KEYHIST_TOO_LONG;
	*len = (size_t)n;
	return PC_KEYHIST_OK;
}

/* Decimal without sign or leading zero, at most INT64_MAX. 0, or -1. */
static int parse_num(const char *s, int64_t *out)
{
	uint64_t v = 0;

	if (!*s || (s[0] == '0' && s[1]) || strlen(s) > 19)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > INT64_MAX)
		return -1;
	*out = (int64_t)v;
	return 0;
}

static int parse_opt_time(const char *s, bool *has, int64_t *v)
{
	*has = strcmp(s, "-") != 0;
	return *has ? parse_num(s, v) : 0;
}

static int parse_b64_32(const char *s, uint8_t out[32])
{
	size_t n;

	if (strlen(s) != B64_32 - 1 ||
	    sodium_base642bin(out, 32, s, strlen(s), NULL, &n, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 || n != 32)
		return -1;
	return 0;
}

int pc_keyhist_parse(struct pc_keyhist *k, const char *text, size_t len)
{
	static const char *const labels[] = {"alliance", "seq", "change", "merchant", "key-id",
	                                     "public-key", "valid-from", "grace-until",
	                                     "revoked-at", "prev"};
	enum { NLINES = sizeof labels / sizeof labels[0] };
	char buf[PC_KEYHIST_TEXT_MAX], *line, *val[NLINES];
	size_t vlen = strlen(PC_KEYHIST_VERSION);
	int64_t seq;

	memset(k, 0, sizeof *k);
	if (len >= sizeof buf)
		return PC_KEYHIST_TOO_LONG;
	if (memchr(text, '\0', len))
		return PC_KEYHIST_BAD_LINE;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (len <= vlen || memcmp(buf, PC_KEYHIST_VERSION, vlen) != 0 || buf[vlen] != '\n')
		return PC_KEYHIST_BAD_VERSION;
	line = buf + vlen + 1;
	for (size_t i = 0; i < NLINES; i++) {
		char *nl = strchr(line, '\n');
		size_t l = strlen(labels[i]);

		if (!nl || strncmp(line, labels[i], l) != 0 || line[l] != ' ' || line + l + 1 == nl)
			return PC_KEYHIST_BAD_LINE;
		*nl = '\0';
		val[i] = line + l + 1;
		if (strchr(val[i], ' '))
			return PC_KEYHIST_BAD_LINE;
		line = nl + 1;
	}
	if (*line)
		return PC_KEYHIST_BAD_LINE;   /* nothing after prev */

	if (strlen(val[0]) >= sizeof k->alliance || parse_num(val[1], &seq) != 0 ||
	    strlen(val[3]) >= sizeof k->merchant || strlen(val[4]) != PC_KEY_ID_LEN ||
	    parse_b64_32(val[5], k->pk) != 0 || parse_num(val[6], &k->valid_from) != 0 ||
	    parse_opt_time(val[7], &k->has_grace, &k->grace_until) != 0 ||
	    parse_opt_time(val[8], &k->has_revoked, &k->revoked_at) != 0 ||
	    parse_b64_32(val[9], k->prev) != 0)
		return PC_KEYHIST_BAD_FIELD;
	strcpy(k->alliance, val[0]);
	k->seq = (uint64_t)seq;
	k->change = -1;
	for (size_t c = 0; c < NCHANGES; c++)
		if (strcmp(val[2], change_names[c]) == 0)
			k->change = (int)c;
	if (k->change < 0)
		return PC_KEYHIST_BAD_FIELD;
	if (strcmp(val[3], "-") != 0)
		strcpy(k->merchant, val[3]);
	strcpy(k->key_id, val[4]);
	return check(k);
}

void pc_keyhist_hash(uint8_t out[32], const char *note, size_t len)
{
	crypto_hash_sha256(out, (const unsigned char *)note, len);
}

int pc_keyhist_follows(const struct pc_keyhist *prev, const uint8_t prev_hash[32],
                       const struct pc_keyhist *cur)
{
	static const uint8_t zero[32];

	if (!prev)
		return cur->seq != 0 ? PC_KEYHIST_BAD_SEQ
		       : sodium_memcmp(cur->prev, zero, 32) != 0 ? PC_KEYHIST_BAD_PREV
		                                                 : PC_KEYHIST_OK;
	if (strcmp(prev->alliance, cur->alliance) != 0)
		return PC_KEYHIST_BAD_ALLIANCE;
	if (cur->seq != prev->seq + 1)
		return PC_KEYHIST_BAD_SEQ;
	if (sodium_memcmp(cur->prev, prev_hash, 32) != 0)
		return PC_KEYHIST_BAD_PREV;
	return PC_KEYHIST_OK;
}
