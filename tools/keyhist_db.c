/* keyhist_db.c - the CLI's writer of key-history statements: reads the key's
 * row as the open transaction sees it, chains the statement to the alliance's
 * last one, signs it with the operator key as a C2SP note and appends it. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "client.h"
#include "commands.h"
#include "db.h"
#include "home.h"
#include "keyhist_db.h"
#include "pointclear/note.h"
#include "pointclear/sign.h"

/* Concurrent writers of one alliance's history take turns: the second sees the
 * first's statement as the last one. */
static const char sql_lock[] =
	"SELECT pg_advisory_xact_lock(hashtextextended('pointclear key_history ' || $1, 0))";
static const char sql_last[] =
	"SELECT seq, note FROM key_history WHERE alliance_id = $1 ORDER BY seq DESC LIMIT 1";
static const char sql_merchant_key[] =
	"SELECT merchant_id, encode(public_key, 'hex'), pc_us(valid_from), pc_us(grace_until),"
	"  pc_us(revoked_at) FROM merchant_keys WHERE alliance_id = $1 AND key_id = $2";
static const char sql_operator_since[] =
	"SELECT coalesce((SELECT pc_us(created_at) FROM operator_keys WHERE key_id = $1),"
	"                pc_us(now()))";
static const char sql_insert[] =
	"INSERT INTO key_history (alliance_id, seq, note) VALUES ($1, $2::bigint, $3)";
static const char sql_alliances[] = "SELECT alliance_id FROM alliances ORDER BY alliance_id";
static const char sql_notes[] =
	"SELECT note FROM key_history WHERE alliance_id = $1 ORDER BY seq";

static int fail(struct db *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct db *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->err, sizeof d->err, fmt, ap);
	va_end(ap);
	d->sqlstate[0] = '\0';
	return -1;
}

int keyhist_operator_load(const struct pc_cli *ctx, struct keyhist_operator *op, char *err,
                          size_t errlen)
{
	char path[HOME_PATH_MAX];

	if (home_path(path, sizeof path, ctx->home, "operator/receipt.key") != 0) {
		snprintf(err, errlen, "home path too long");
		return -1;
	}
	if (!home_exists(path)) {
		snprintf(err, errlen, "no operator key %s to sign the key history"
		         " (run `pointclear init`)", path);
		return -1;
	}
	if (pc_load_signing_key(path, op->sk, op->key_id, err, errlen) != 0)
		return -1;
	memcpy(op->pk, op->sk + 32, 32);
	return 0;
}

void keyhist_operator_from_seed(struct keyhist_operator *op, const uint8_t seed[32])
{
	pc_keypair_from_seed(op->pk, op->sk, seed);
	pc_key_id(op->key_id, op->pk);
}

void keyhist_operator_wipe(struct keyhist_operator *op)
{
	sodium_memzero(op, sizeof *op);
}

static int64_t num(PGresult *res, int col)
{
	return (int64_t)strtoll(PQgetvalue(res, 0, col), NULL, 10);
}

/* Fills k's key fields from the database as the transaction sees it now. */
static int key_fields(struct db *d, const struct keyhist_operator *op, struct pc_keyhist *k,
                      const char *key_id)
{
	PGresult *res;
	size_t n;

	if (k->change == PC_KEYHIST_OPERATOR_KEY) {
		const char *params[1] = {op->key_id};

		memcpy(k->pk, op->pk, 32);
		strcpy(k->key_id, op->key_id);
		if (!(res = db_query(d, sql_operator_since, 1, params)))
			return -1;
		k->valid_from = num(res, 0);
		PQclear(res);
		return 0;
	}
	const char *params[2] = {k->alliance, key_id};

	if (!(res = db_query(d, sql_merchant_key, 2, params)))
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return fail(d, "key history: no key %s in %s", key_id, k->alliance);
	}
	snprintf(k->merchant, sizeof k->merchant, "%s", PQgetvalue(res, 0, 0));
	if (sodium_hex2bin(k->pk, 32, PQgetvalue(res, 0, 1), 64, NULL, &n, NULL) != 0 || n != 32) {
		PQclear(res);
		return fail(d, "key history: key %s has no 32-byte public key", key_id);
	}
	pc_key_id(k->key_id, k->pk);
	k->valid_from = num(res, 2);
	if (k->change == PC_KEYHIST_RETIRE && !PQgetisnull(res, 0, 3)) {
		k->has_grace = true;
		k->grace_until = num(res, 3);
	}
	if (k->change == PC_KEYHIST_REVOKE && !PQgetisnull(res, 0, 4)) {
		k->has_revoked = true;
		k->revoked_at = num(res, 4);
	}
	PQclear(res);
	return 0;
}

/* Appends one statement after the alliance's last (locked already). */
static int append(struct db *d, const struct keyhist_operator *op, const char *alliance,
                  int change, const char *key_id)
{
	const char *params[1] = {alliance};
	struct pc_keyhist k = {0};
	struct pc_note_signer s;
	char text[PC_KEYHIST_TEXT_MAX], seqs[24], *note = NULL;
	size_t len, note_len;
	PGresult *res;
	int err;

	snprintf(k.alliance, sizeof k.alliance, "%s", alliance);
	k.change = change;
	if (!(res = db_query(d, sql_last, 1, params)))
		return -1;
	if (PQntuples(res) == 1) {
		k.seq = (uint64_t)num(res, 0) + 1;
		pc_keyhist_hash(k.prev, PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1));
	}
	PQclear(res);
	if (key_fields(d, op, &k, key_id) != 0)
		return -1;
	if ((err = pc_keyhist_format(&k, text, sizeof text, &len)) != PC_KEYHIST_OK)
		return fail(d, "key history: %s", pc_keyhist_strerror(err));
	char name[PC_KEYHIST_NAME_MAX];

	if (pc_keyhist_name(name, alliance) != 0 ||
	    pc_note_signer_from_seed(&s, name, op->sk) != PC_NOTE_OK)
		return fail(d, "key history: no note key name for %s", alliance);
	err = pc_note_sign(text, len, &s, 1, &note, &note_len);
	sodium_memzero(&s, sizeof s);
	if (err != PC_NOTE_OK)
		return fail(d, "key history: %s", pc_note_strerror(err));
	snprintf(seqs, sizeof seqs, "%" PRIu64, k.seq);
	const char *iparams[3] = {alliance, seqs, note};

	err = db_exec(d, sql_insert, 3, iparams);
	free(note);
	return err;
}

int keyhist_record(struct db *d, const struct keyhist_operator *op, const char *alliance,
                   int change, const char *key_id)
{
	const char *params[1] = {alliance};
	PGresult *res;
	int empty;

	if (db_exec(d, sql_lock, 1, params) != 0 || !(res = db_query(d, sql_last, 1, params)))
		return -1;
	empty = PQntuples(res) == 0;
	PQclear(res);
	/* an alliance's history starts with the operator key that signs it */
	if (empty && change != PC_KEYHIST_OPERATOR_KEY &&
	    append(d, op, alliance, PC_KEYHIST_OPERATOR_KEY, NULL) != 0)
		return -1;
	return append(d, op, alliance, change, key_id);
}

/* The key id of the last operator-key statement of an alliance, "" if none. */
static int operator_in_force(struct db *d, const char *alliance, char key_id[17])
{
	const char *params[1] = {alliance};
	struct pc_keyhist k;
	PGresult *res;

	key_id[0] = '\0';
	if (!(res = db_query(d, sql_notes, 1, params)))
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *note = PQgetvalue(res, i, 0);
		const char *end = strstr(note, "\n\n");   /* the text ends at the blank line */

		if (end && pc_keyhist_parse(&k, note, (size_t)(end - note) + 1) == PC_KEYHIST_OK &&
		    k.change == PC_KEYHIST_OPERATOR_KEY)
			strcpy(key_id, k.key_id);
	}
	PQclear(res);
	return 0;
}

int keyhist_record_operator_all(struct db *d, const struct keyhist_operator *op)
{
	PGresult *res = db_query(d, sql_alliances, 0, NULL);
	char cur[17];
	int rc = 0;

	if (!res)
		return -1;
	for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
		const char *alliance = PQgetvalue(res, i, 0);
		const char *params[1] = {alliance};

		if (db_exec(d, sql_lock, 1, params) != 0 || operator_in_force(d, alliance, cur) != 0)
			rc = -1;
		else if (strcmp(cur, op->key_id) != 0)
			rc = keyhist_record(d, op, alliance, PC_KEYHIST_OPERATOR_KEY, NULL);
	}
	PQclear(res);
	return rc;
}
