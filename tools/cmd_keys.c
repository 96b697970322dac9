/* cmd_keys.c - `pointclear keys history ALLIANCE [--verify]`: prints an
 * alliance's signed key history (PROTOCOL.md, "Key history") and checks it:
 * every signature against the operator's public key(s), the hash chain and the
 * gapless sequence, and that what the statements say of each merchant key is
 * what merchant_keys holds. */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "client.h"
#include "commands.h"
#include "db.h"
#include "home.h"
#include "pointclear/ids.h"
#include "pointclear/keyhist.h"
#include "pointclear/note.h"
#include "pointclear/sign.h"

static const char history_usage[] =
	"usage: pointclear keys history ALLIANCE [--verify] [--operator-pub PUB]...\n"
	"  Prints the alliance's key-history statements, each a signed note. With\n"
	"  --verify prints instead one line per problem and a summary, and exits 1 if\n"
	"  there is any: every statement must be signed by the operator key in force\n"
	"  (HOME/operator/receipt.pub, and any earlier operator key given with\n"
	"  --operator-pub), follow the one before (seq, prev hash), and together they\n"
	"  must describe merchant_keys exactly.\n";

#define KEYS_MAX_OPERATOR 16

static const char sql_alliance[] = "SELECT 1 FROM alliances WHERE alliance_id = $1";
static const char sql_notes[] =
	"SELECT seq, note FROM key_history WHERE alliance_id = $1 ORDER BY seq";
static const char sql_keys[] =
	"SELECT key_id, merchant_id, encode(public_key, 'hex'), pc_us(valid_from),"
	"  pc_us(grace_until), pc_us(revoked_at)"
	" FROM merchant_keys WHERE alliance_id = $1 ORDER BY key_id";

/* A merchant key as the statements describe it. */
struct said_key {
	struct pc_keyhist reg;   /* its register statement */
	bool has_grace, has_revoked;
	int64_t grace_until, revoked_at;
	bool in_db;
};

struct verify {
	const char *alliance;
	struct pc_note_verifier known[KEYS_MAX_OPERATOR];
	size_t nknown;
	struct said_key *keys;
	size_t nkeys;
	int problems;
	uint8_t op_pk[32];       /* the operator key in force */
	bool have_op;
};

static void problem(struct verify *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct verify *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("key history %s: ", v->alliance);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	v->problems++;
}

static struct said_key *find_key(struct verify *v, const char *key_id)
{
	for (size_t i = 0; i < v->nkeys; i++)
		if (strcmp(v->keys[i].reg.key_id, key_id) == 0)
			return &v->keys[i];
	return NULL;
}

/* What one statement says, applied to the keys seen so far. */
static void apply(struct verify *v, uint64_t seq, const struct pc_keyhist *k)
{
	struct said_key *sk = find_key(v, k->key_id);

	if (k->change == PC_KEYHIST_OPERATOR_KEY) {
		memcpy(v->op_pk, k->pk, 32);
		v->have_op = true;
		return;
	}
	if (k->change == PC_KEYHIST_REGISTER) {
		if (sk) {
			problem(v, "statement %" PRIu64 ": key %s registered twice", seq, k->key_id);
			return;
		}
		struct said_key *grown = realloc(v->keys, (v->nkeys + 1) * sizeof *grown);

		if (!grown) {
			problem(v, "out of memory");
			return;
		}
		v->keys = grown;
		memset(&v->keys[v->nkeys], 0, sizeof v->keys[0]);
		v->keys[v->nkeys++].reg = *k;
		return;
	}
	if (!sk || strcmp(sk->reg.merchant, k->merchant) != 0 ||
	    sodium_memcmp(sk->reg.pk, k->pk, 32) != 0 || sk->reg.valid_from != k->valid_from) {
		problem(v, "statement %" PRIu64 ": %s of key %s, which no statement registered so",
		        seq, pc_keyhist_change_name(k->change), k->key_id);
		return;
	}
	if (k->has_grace) {
		sk->has_grace = true;
		sk->grace_until = k->grace_until;
	}
	if (k->has_revoked) {
		sk->has_revoked = true;
		sk->revoked_at = k->revoked_at;
	}
}

/* One statement: signature by the operator key in force, text, link. */
static void check_statement(struct verify *v, int64_t want_seq, const char *seqs,
                            const char *note, size_t len, struct pc_keyhist *prev,
                            bool *have_prev, uint8_t prev_hash[32])
{
	bool verified[KEYS_MAX_OPERATOR] = {false};
	struct pc_keyhist k;
	size_t tlen = 0;
	const char *blank;
	int err, note_err;

	if (strcmp(seqs, "") == 0 || strtoll(seqs, NULL, 10) != want_seq)
		problem(v, "statement %" PRId64 " is missing (next stored: %s)", want_seq, seqs);
	/* the text up to the blank line, so that an unsigned statement is still read */
	blank = strstr(note, "\n\n");
	note_err = pc_note_open(note, len, v->known, v->nknown, &tlen, verified);
	if (note_err == PC_NOTE_UNVERIFIED)
		problem(v, "statement %s: signature: %s (an earlier operator key? --operator-pub)",
		        seqs, pc_note_strerror(note_err));
	else if (note_err != PC_NOTE_OK)
		problem(v, "statement %s: signature: %s", seqs, pc_note_strerror(note_err));
	if (!blank || (err = pc_keyhist_parse(&k, note, (size_t)(blank - note) + 1)) != 0) {
		problem(v, "statement %s: %s", seqs, blank ? pc_keyhist_strerror(err)
		                                           : "not a signed note");
		*have_prev = false;
		pc_keyhist_hash(prev_hash, note, len);
		return;
	}
	if (strcmp(k.alliance, v->alliance) != 0)
		problem(v, "statement %s: of alliance %s", seqs, k.alliance);
	if ((int64_t)k.seq != strtoll(seqs, NULL, 10))
		problem(v, "statement %s: says it is statement %" PRIu64, seqs, k.seq);
	if (*have_prev && (err = pc_keyhist_follows(prev, prev_hash, &k)) != PC_KEYHIST_OK)
		problem(v, "statement %s: %s", seqs, pc_keyhist_strerror(err));
	if (want_seq == 0 && k.change != PC_KEYHIST_OPERATOR_KEY)
		problem(v, "statement 0 does not name the operator key");
	apply(v, k.seq, &k);
	/* signed by the key in force (an operator-key statement by the key it names) */
	if (v->have_op && note_err == PC_NOTE_OK) {
		bool by_op = false, known = false;

		for (size_t i = 0; i < v->nknown; i++) {
			if (sodium_memcmp(v->known[i].pk, v->op_pk, 32) == 0) {
				known = true;
				by_op = by_op || verified[i];
			}
		}
		if (!known) {
			char id[PC_KEY_ID_LEN + 1];

			pc_key_id(id, v->op_pk);
			problem(v, "statement %s: the operator key in force, %s, was not given", seqs, id);
		} else if (!by_op) {
			problem(v, "statement %s: not signed by the operator key in force", seqs);
		}
	}
	*prev = k;
	*have_prev = true;
	pc_keyhist_hash(prev_hash, note, len);
}

/* merchant_keys against what the statements say. */
static void check_rows(struct verify *v, PGresult *rows)
{
	for (int r = 0; r < PQntuples(rows); r++) {
		const char *id = PQgetvalue(rows, r, 0);
		struct said_key *sk = find_key(v, id);
		uint8_t pk[32];
		size_t n;

		if (!sk) {
			problem(v, "key %s of %s has no register statement", id, PQgetvalue(rows, r, 1));
			continue;
		}
		sk->in_db = true;
		if (sodium_hex2bin(pk, 32, PQgetvalue(rows, r, 2), 64, NULL, &n, NULL) != 0 || n != 32 ||
		    sodium_memcmp(pk, sk->reg.pk, 32) != 0)
			problem(v, "key %s: public key differs from its statement", id);
		if (strcmp(PQgetvalue(rows, r, 1), sk->reg.merchant) != 0)
			problem(v, "key %s: merchant %s, its statement says %s", id,
			        PQgetvalue(rows, r, 1), sk->reg.merchant);
		if (strtoll(PQgetvalue(rows, r, 3), NULL, 10) != sk->reg.valid_from)
			problem(v, "key %s: valid_from differs from its statement", id);
		if (PQgetisnull(rows, r, 4) == sk->has_grace ||
		    (sk->has_grace && strtoll(PQgetvalue(rows, r, 4), NULL, 10) != sk->grace_until))
			problem(v, "key %s: grace_until differs from its statements", id);
		if (PQgetisnull(rows, r, 5) == sk->has_revoked ||
		    (sk->has_revoked && strtoll(PQgetvalue(rows, r, 5), NULL, 10) != sk->revoked_at))
			problem(v, "key %s: revoked_at differs from its statements", id);
	}
	for (size_t i = 0; i < v->nkeys; i++)
		if (!v->keys[i].in_db)
			problem(v, "key %s: registered by a statement, not in merchant_keys",
			        v->keys[i].reg.key_id);
}

static int add_known(struct pc_cli *ctx, struct verify *v, const char *path)
{
	char name[PC_KEYHIST_NAME_MAX], err[512];
	struct pc_note_verifier *kv = &v->known[v->nknown];

	if (v->nknown == KEYS_MAX_OPERATOR)
		return cli_fail(ctx, "at most %d operator keys", KEYS_MAX_OPERATOR);
	if (pc_load_public_key(path, kv->pk, err, sizeof err) != 0)
		return cli_fail(ctx, "%s", err);
	pc_keyhist_name(name, v->alliance);
	strcpy(kv->name, name);
	kv->key_id = pc_note_key_id(name, kv->pk);
	v->nknown++;
	return 0;
}

static int keys_history(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"verify", no_argument, NULL, 'v'},
		{"operator-pub", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *extra[KEYS_MAX_OPERATOR];
	char path[HOME_PATH_MAX];
	struct verify v = {0};
	PGresult *exists = NULL, *notes = NULL, *rows = NULL;
	struct db d;
	int c, nextra = 0, verify = 0, rc = 1;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			verify = 1;
			break;
		case 'o':
			if (nextra == KEYS_MAX_OPERATOR - 1)
				return cli_fail(ctx, "too many --operator-pub");
			extra[nextra++] = optarg;
			break;
		case 'h':
			return cli_usage(history_usage, 0);
		default:
			return cli_bad_option(ctx, c, argv, history_usage);
		}
	}
	if (argc - optind != 1)
		return cli_usage(history_usage, 2);
	v.alliance = argv[optind];
	if (!pc_id_valid(v.alliance))
		return cli_fail(ctx, "'%s' is not a valid alliance id", v.alliance);
	if (verify) {
		if (home_path(path, sizeof path, ctx->home, "operator/receipt.pub") != 0)
			return cli_fail(ctx, "home path too long");
		if (add_known(ctx, &v, path) != 0)
			return 1;
		for (int i = 0; i < nextra; i++)
			if (add_known(ctx, &v, extra[i]) != 0)
				return 1;
	}
	const char *params[1] = {v.alliance};

	if (db_open(&d, ctx->db) != 0)
		return cli_fail(ctx, "%s", d.err);
	/* the statements and the keys from one snapshot */
	if (db_exec(&d, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL) != 0 ||
	    !(exists = db_query(&d, sql_alliance, 1, params)) ||
	    !(notes = db_query(&d, sql_notes, 1, params)) ||
	    !(rows = db_query(&d, sql_keys, 1, params))) {
		cli_fail(ctx, "%s", d.err);
		goto out;
	}
	if (PQntuples(exists) == 0) {
		cli_fail(ctx, "no alliance %s", v.alliance);
		goto out;
	}
	if (!verify) {
		for (int i = 0; i < PQntuples(notes); i++)
			printf("%s\n", PQgetvalue(notes, i, 1));
		rc = 0;
		goto out;
	}

	struct pc_keyhist prev;
	uint8_t prev_hash[32];
	bool have_prev = false;

	for (int i = 0; i < PQntuples(notes); i++)
		check_statement(&v, i, PQgetvalue(notes, i, 0), PQgetvalue(notes, i, 1),
		                (size_t)PQgetlength(notes, i, 1), &prev, &have_prev, prev_hash);
	check_rows(&v, rows);
	if (PQntuples(notes) == 0 && PQntuples(rows) == 0)
		printf("key history %s: empty\n", v.alliance);
	if (v.problems == 0) {
		printf("key history %s: %d statements, %zu merchant keys, all verified\n",
		       v.alliance, PQntuples(notes), v.nkeys);
		rc = 0;
	} else {
		printf("key history %s: %d problem%s\n", v.alliance, v.problems,
		       v.problems == 1 ? "" : "s");
	}
out:
	free(v.keys);
	PQclear(exists);
	PQclear(notes);
	PQclear(rows);
	db_rollback(&d);
	db_close(&d);
	return rc;
}

int cmd_keys(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
		{"history", keys_history, "print or verify an alliance's signed key history"},
	};

	return cli_dispatch(ctx, "keys", verbs, (int)(sizeof verbs / sizeof verbs[0]), argc, argv);
}
