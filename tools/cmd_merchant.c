/* cmd_merchant.c - `pointclear merchant add|rotate-key|revoke-key|list` (and
 * `keygen`, the merchant's side, in merchant_keys.c; suspend, resume, issue-cert
 * and revoke-cert in cmd_merchant_life.c).
 *
 * A merchant's keys are either its own, registered from their public halves
 * (--public-key, --csr), or made here on the quick path and written to the
 * merchant's directory, never to the daemon's home (docs/KEYS.md). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "client.h"
#include "commands.h"
#include "db.h"
#include "home.h"
#include "keyhist_db.h"
#include "merchant_keys.h"
#include "merchant_life.h"
#include "pki.h"
#include "pointclear/ids.h"
#include "pointclear/sign.h"

static const char add_usage[] =
	"usage: pointclear merchant add ALLIANCE MERCHANT --name NAME --industry INDUSTRY\n"
	"        [--issue-price MINOR/POINTS --redeem-rate MINOR/POINTS]\n"
	"        [--public-key SIGN.PUB --csr CLIENT.CSR] [--out DIR]\n"
	"  Adds the merchant with an Ed25519 signing key (valid from now) and a TLS client\n"
	"  certificate from the alliance CA, and optionally its first contract terms.\n"
	"  With --public-key and --csr (from `merchant keygen` on the merchant's side) the\n"
	"  merchant's own keys are registered: the request must be self-signed with\n"
	"  subject O=ALLIANCE, CN=MERCHANT; only DIR/client.crt is written. Without them\n"
	"  both key pairs are made here (the quick path) and DIR gets sign.key, sign.pub,\n"
	"  client.key (mode 0600) and client.crt. DIR defaults to\n"
	"  ADMIN_HOME/alliances/ALLIANCE/merchants/MERCHANT. Prints the key id.\n";
static const char rotate_usage[] =
	"usage: pointclear merchant rotate-key ALLIANCE MERCHANT [--public-key SIGN.PUB | --out DIR]\n"
	"        [--grace SECONDS]\n"
	"  New signing key valid from now; the current one is retired now: events it\n"
	"  signed are accepted for SECONDS more (default: the alliance's key_grace_s,\n"
	"  86400), then refused KEY_REVOKED; revoke-key ends it at once. With\n"
	"  --public-key the merchant's new key is registered and nothing written;\n"
	"  otherwise a key pair is made in DIR (default as for `add`), the old files\n"
	"  kept as sign.key.<keyid>, sign.pub.<keyid>. Prints the new key id.\n";
static const char revoke_usage[] =
	"usage: pointclear merchant revoke-key ALLIANCE MERCHANT KEY_ID [--at RFC3339]\n"
	"  Revokes that key from now, or from the given time.\n";
static const char list_usage[] =
	"usage: pointclear merchant list ALLIANCE\n"
	"  One line per merchant (status, industry, terms in force, name), then its keys.\n";

static const char sql_notify[] = "NOTIFY pc_keys";
static const char sql_insert_merchant[] =
	"INSERT INTO merchants (alliance_id, merchant_id, name, industry) VALUES ($1, $2, $3, $4)";
static const char sql_insert_key[] =
	"INSERT INTO merchant_keys (alliance_id, key_id, merchant_id, public_key)"
	" VALUES ($1, $2, $3, decode($4, 'hex'))";
/* the merchant row locked: concurrent rotations of one merchant take turns */
static const char sql_lock_merchant[] =
	"SELECT 1 FROM merchants WHERE alliance_id = $1 AND merchant_id = $2 FOR UPDATE";
/* The keys in use are retired now with a grace ($3 seconds, else the alliance's);
 * a key retired or revoked already keeps the end it has. */
static const char sql_retire_current[] =
	"UPDATE merchant_keys SET retired_at = now(), grace_until = now() + make_interval("
	"  secs => coalesce($3::integer,"
	"                   (SELECT key_grace_s FROM alliances WHERE alliance_id = $1)))"
	" WHERE alliance_id = $1 AND merchant_id = $2 AND retired_at IS NULL"
	" AND (revoked_at IS NULL OR revoked_at > now()) RETURNING key_id";
/* never moves a revocation later: that would make the key valid again for a while */
static const char sql_revoke_key[] =
	"UPDATE merchant_keys SET revoked_at = coalesce($4::timestamptz, now())"
	" WHERE alliance_id = $1 AND merchant_id = $2 AND key_id = $3"
	" AND (revoked_at IS NULL OR revoked_at > coalesce($4::timestamptz, now()))"
	" RETURNING to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";
static const char sql_key_state[] =
	"SELECT to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
	" FROM merchant_keys WHERE alliance_id = $1 AND merchant_id = $2 AND key_id = $3";
static const char sql_key_taken[] =
	"SELECT 1 FROM merchant_keys WHERE alliance_id = $1 AND key_id = $2";
static const char sql_alliance_exists[] = "SELECT 1 FROM alliances WHERE alliance_id = $1";
static const char sql_list_merchants[] =
	"SELECT m.merchant_id, m.status, m.industry, m.name,"
	"  coalesce(t.issue_price_minor || '/' || t.issue_price_per_points, '-'),"
	"  coalesce(t.redeem_rate_minor || '/' || t.redeem_rate_per_points, '-')"
	" FROM merchants m LEFT JOIN LATERAL ("
	"  SELECT * FROM contract_terms c"
	"   WHERE c.alliance_id = m.alliance_id AND c.merchant_id = m.merchant_id"
	"     AND c.effective_from <= now()"
	"   ORDER BY c.effective_from DESC LIMIT 1) t ON true"
	" WHERE m.alliance_id = $1 ORDER BY m.merchant_id COLLATE \"C\"";
static const char sql_list_keys[] =
	"SELECT merchant_id, key_id,"
	"  CASE WHEN valid_from > now() THEN 'pending'"
	"       WHEN revoked_at IS NOT NULL AND revoked_at <= now() THEN 'revoked'"
	"       WHEN grace_until <= now() THEN 'retired'"
	"       WHEN grace_until IS NOT NULL THEN 'grace'"
	"       ELSE 'current' END,"
	"  to_char(valid_from AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	"  coalesce(to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '-'),"
	"  coalesce(to_char(grace_until AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '-')"
	" FROM merchant_keys WHERE alliance_id = $1 ORDER BY merchant_id COLLATE \"C\", valid_from, key_id";

/* Checks ALLIANCE and MERCHANT as identifiers and picks the directory the
 * merchant's files go to: --out, or the admin home's default for it. Never the
 * daemon's home nor inside it. */
static int merchant_dir(struct pc_cli *ctx, const char *alliance, const char *merchant,
                        const char *out, char dir[HOME_PATH_MAX])
{
	char err[512];

	if (!pc_id_valid(alliance))
		return cli_fail(ctx, "'%s' is not a valid alliance id", alliance);
	if (!pc_id_valid(merchant))
		return cli_fail(ctx, "'%s' is not a valid merchant id (1-64 of A-Z a-z 0-9 . _ : -)",
		                merchant);
	if (out) {
		if (strlen(out) >= HOME_PATH_MAX)
			return cli_fail(ctx, "--out path too long");
		strcpy(dir, out);
	} else if (home_merchant_dir(dir, HOME_PATH_MAX, ctx->admin_home, alliance, merchant) != 0) {
		return cli_fail(ctx, "admin home path too long");
	}
	if (home_outside_check(ctx->home, dir, err, sizeof err) != 0 ||
	    home_outside_check(ctx->home, ctx->admin_home, err, sizeof err) != 0)
		return cli_fail(ctx, "%s", err);
	return 0;
}

/* Stages "<dir>/<name>" and returns its temporary path, or NULL. */
static const char *stage_in(struct home_stage *st, const char *dir, const char *name)
{
	char path[HOME_PATH_MAX];
	int n = snprintf(path, sizeof path, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= sizeof path)
		return NULL;
	return home_stage_add(st, path);
}

struct add_args {
	const char *alliance, *merchant, *name, *industry;
	const char *public_key, *csr;   /* the merchant's own keys, or both NULL */
	int have_terms;
	struct cli_terms terms;
};

/* The alliance CA, from the admin home. 0, or -1 with err. */
static int load_alliance_ca(struct pc_cli *ctx, const char *alliance, X509 **ca,
                            EVP_PKEY **ca_key, char *err, size_t errlen)
{
	char crt[HOME_PATH_MAX], key[HOME_PATH_MAX];

	if (home_path(crt, sizeof crt, ctx->admin_home, "alliances/%s/ca.crt", alliance) != 0 ||
	    home_path(key, sizeof key, ctx->admin_home, "alliances/%s/ca.key", alliance) != 0) {
		snprintf(err, errlen, "admin home path too long");
		return -1;
	}
	if (!home_exists(crt)) {
		snprintf(err, errlen, "no CA for alliance %s in %s (run `pointclear alliance create`)",
		         alliance, ctx->admin_home);
		return -1;
	}
	if (!(*ca = pki_read_cert(crt, err, errlen)) ||
	    !(*ca_key = pki_read_private(key, err, errlen)))
		return -1;
	return 0;
}

int merchant_client_cert(struct pc_cli *ctx, const char *alliance, const char *merchant,
                         const char *csr, X509 **cert_out, EVP_PKEY **tls_key_out,
                         char *err, size_t errlen)
{
	EVP_PKEY *ca_key = NULL, *tls_key = NULL, *cert_key;
	X509_REQ *req = NULL;
	X509 *ca = NULL, *cert = NULL;
	int rc = -1;

	if (load_alliance_ca(ctx, alliance, &ca, &ca_key, err, errlen) != 0)
		goto out;
	if (csr) {
		char why[300];

		if (!(req = pki_read_csr(csr, err, errlen)))
			goto out;
		if (pki_check_csr(req, alliance, merchant, why, sizeof why) != 0) {
			snprintf(err, errlen, "--csr %.150s refused: %s", csr, why);
			goto out;
		}
		cert_key = X509_REQ_get0_pubkey(req);
	} else {
		if (!(tls_key = pki_p256_new(err, errlen)))
			goto out;
		cert_key = tls_key;
	}
	if (!(cert = pki_make_leaf(ca, ca_key, cert_key, alliance, merchant, PKI_LEAF_CLIENT, NULL,
	                           err, errlen)))
		goto out;
	*cert_out = cert;
	cert = NULL;
	*tls_key_out = tls_key;
	tls_key = NULL;
	rc = 0;
out:
	X509_REQ_free(req);
	X509_free(cert);
	X509_free(ca);
	EVP_PKEY_free(tls_key);
	EVP_PKEY_free(ca_key);
	return rc;
}

/* The TLS client certificate, and with the quick path's private halves, staged
 * in dir. */
static int add_files(struct pc_cli *ctx, const struct add_args *a, const char *dir,
                     const struct mkey_sign *sk, struct home_stage *st, X509 **cert_out,
                     char *err, size_t errlen)
{
	EVP_PKEY *tls_key = NULL;
	const char *t_key, *t_pub, *t_crt, *t_tls;
	X509 *cert = NULL;
	int rc = -1;

	if (merchant_client_cert(ctx, a->alliance, a->merchant, a->csr, &cert, &tls_key, err,
	                         errlen) != 0)
		goto out;
	if (home_mkdirs(dir, err, errlen) != 0)
		goto out;
	if (!(t_crt = stage_in(st, dir, "client.crt"))) {
		snprintf(err, errlen, "path too long");
		goto out;
	}
	if (pki_write_cert(t_crt, cert, err, errlen) != 0)
		goto out;
	if (!a->csr) {
		if (!(t_key = stage_in(st, dir, "sign.key")) || !(t_pub = stage_in(st, dir, "sign.pub")) ||
		    !(t_tls = stage_in(st, dir, "client.key"))) {
			snprintf(err, errlen, "path too long");
			goto out;
		}
		if (pki_write_private(t_key, sk->key, err, errlen) != 0 ||
		    pki_write_public(t_pub, sk->key, err, errlen) != 0 ||
		    pki_write_private(t_tls, tls_key, err, errlen) != 0)
			goto out;
	}
	*cert_out = cert;   /* recorded with the merchant (merchant_certs) */
	cert = NULL;
	rc = 0;
out:
	X509_free(cert);
	EVP_PKEY_free(tls_key);
	return rc;
}

/* Whether the key is registered already, in this alliance, for anyone: a merchant
 * must not be able to claim another's key. 1, 0, or -1 (d->err). */
static int key_taken(struct db *d, const char *alliance, const char *key_id)
{
	const char *params[2] = {alliance, key_id};
	PGresult *res = db_query(d, sql_key_taken, 2, params);
	int n;

	if (!res)
		return -1;
	n = PQntuples(res);
	PQclear(res);
	return n > 0;
}

static int add_rows(struct pc_cli *ctx, struct db *d, const struct add_args *a,
                    const struct mkey_sign *sk, X509 *cert)
{
	const char *mparams[4] = {a->alliance, a->merchant, a->name, a->industry};
	const char *kparams[4] = {a->alliance, sk->key_id, a->merchant, sk->pk_hex};
	struct keyhist_operator op;
	char err[512];
	int taken;

	if (keyhist_operator_load(ctx, &op, err, sizeof err) != 0)
		return cli_fail(ctx, "%s", err);
	if (db_begin(d) != 0 || db_exec(d, sql_insert_merchant, 4, mparams) != 0 ||
	    (taken = key_taken(d, a->alliance, sk->key_id)) < 0)
		goto fail;
	if (taken) {
		db_rollback(d);
		return cli_fail(ctx, "signing key %s is already registered in %s", sk->key_id,
		                a->alliance);
	}
	if (db_exec(d, sql_insert_key, 4, kparams) != 0 ||
	    keyhist_record(d, &op, a->alliance, PC_KEYHIST_REGISTER, sk->key_id) != 0 ||
	    merchant_cert_record(d, a->alliance, a->merchant, cert) != 0 ||
	    (a->have_terms && terms_insert(d, a->alliance, a->merchant, &a->terms, NULL) != 0) ||
	    db_exec(d, sql_notify, 0, NULL) != 0 || db_commit(d) != 0)
		goto fail;
	keyhist_operator_wipe(&op);
	return 0;
fail:
	keyhist_operator_wipe(&op);
	db_rollback(d);
	if (db_failed_with(d, "23505"))
		return cli_fail(ctx, "merchant %s/%s already exists", a->alliance, a->merchant);
	if (db_failed_with(d, "23503"))
		return cli_fail(ctx, "no alliance %s", a->alliance);
	return cli_fail(ctx, "%s", d->err);
}

static int merchant_add(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"name", required_argument, NULL, 'n'},
		{"industry", required_argument, NULL, 'I'},
		{"issue-price", required_argument, NULL, 'i'},
		{"redeem-rate", required_argument, NULL, 'r'},
		{"public-key", required_argument, NULL, 'p'},
		{"csr", required_argument, NULL, 'c'},
		{"out", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct add_args a = {0};
	struct mkey_sign sk = {0};
	char dir[HOME_PATH_MAX], err[512];
	const char *out_dir = NULL;
	struct home_stage st;
	struct db d = {0};
	X509 *cert = NULL;
	int c, have_issue = 0, have_redeem = 0, new_dir, rc = 1;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			a.name = optarg;
			break;
		case 'I':
			a.industry = optarg;
			break;
		case 'i':
			if (cli_parse_ratio(optarg, &a.terms.issue_minor, &a.terms.issue_points) != 0)
				return cli_fail(ctx, "--issue-price '%s' is not MINOR/POINTS", optarg);
			have_issue = 1;
			break;
		case 'r':
			if (cli_parse_ratio(optarg, &a.terms.redeem_minor, &a.terms.redeem_points) != 0)
				return cli_fail(ctx, "--redeem-rate '%s' is not MINOR/POINTS", optarg);
			have_redeem = 1;
			break;
		case 'p':
			a.public_key = optarg;
			break;
		case 'c':
			a.csr = optarg;
			break;
		case 'o':
			out_dir = optarg;
			break;
		case 'h':
			return cli_usage(add_usage, 0);
		default:
			return cli_bad_option(ctx, c, argv, add_usage);
		}
	}
	if (argc - optind != 2 || !a.name || !a.industry)
		return cli_usage(add_usage, 2);
	if (have_issue != have_redeem)
		return cli_fail(ctx, "terms need both --issue-price and --redeem-rate");
	/* half the merchant's keys and half the operator's would bind nobody clearly */
	if (!a.public_key != !a.csr)
		return cli_fail(ctx, "--public-key and --csr go together (the merchant's own keys)");
	a.have_terms = have_issue;
	a.alliance = argv[optind];
	a.merchant = argv[optind + 1];
	if (merchant_dir(ctx, a.alliance, a.merchant, out_dir, dir) != 0)
		return 1;
	if (a.public_key ? mkey_sign_from_public(&sk, a.public_key, err, sizeof err) != 0
	                 : mkey_sign_new(&sk, err, sizeof err) != 0)
		return cli_fail(ctx, "%s", err);
	if (db_open(&d, ctx->db) != 0) {
		cli_fail(ctx, "%s", d.err);
		goto out_key;
	}

	home_stage_init(&st);
	new_dir = !home_exists(dir);
	if (add_files(ctx, &a, dir, &sk, &st, &cert, err, sizeof err) != 0) {
		cli_fail(ctx, "%s", err);
		goto out;
	}
	if (add_rows(ctx, &d, &a, &sk, cert) != 0)
		goto out;
	/* the database has the merchant now: its files replace any stale ones */
	if (home_stage_commit(&st, err, sizeof err) != 0) {
		cli_fail(ctx, "%s", err);
		goto out;
	}
	printf("%s\n", sk.key_id);
	rc = 0;
out:
	home_stage_abort(&st);
	if (rc != 0 && new_dir)
		rmdir(dir);   /* only if it stayed empty */
	X509_free(cert);
	db_close(&d);
out_key:
	mkey_sign_free(&sk);
	return rc;
}

static int rotate_rows(struct pc_cli *ctx, struct db *d, const char *alliance,
                       const char *merchant, const char *grace, const struct mkey_sign *sk)
{
	const char *params[4] = {alliance, sk->key_id, merchant, sk->pk_hex};
	const char *mparams[2] = {alliance, merchant};
	const char *rparams[3] = {alliance, merchant, grace};
	struct keyhist_operator op;
	char err[512];
	PGresult *res;
	int taken;

	if (keyhist_operator_load(ctx, &op, err, sizeof err) != 0)
		return cli_fail(ctx, "%s", err);
	if (db_begin(d) != 0 || !(res = db_query(d, sql_lock_merchant, 2, mparams)))
		goto fail;
	if (PQntuples(res) == 0) {
		PQclear(res);
		db_rollback(d);
		keyhist_operator_wipe(&op);
		return cli_fail(ctx, "no merchant %s/%s", alliance, merchant);
	}
	PQclear(res);
	if ((taken = key_taken(d, alliance, sk->key_id)) < 0)
		goto fail;
	if (taken) {
		db_rollback(d);
		keyhist_operator_wipe(&op);
		return cli_fail(ctx, "signing key %s is already registered in %s", sk->key_id,
		                alliance);
	}
	/* stdout carries only the new key id, for scripts to capture */
	if (!(res = db_query(d, sql_retire_current, 3, rparams)))
		goto fail;
	for (int i = 0; i < PQntuples(res); i++) {
		if (keyhist_record(d, &op, alliance, PC_KEYHIST_RETIRE, PQgetvalue(res, i, 0)) != 0) {
			PQclear(res);
			goto fail;
		}
	}
	PQclear(res);
	if (db_exec(d, sql_insert_key, 4, params) != 0 ||
	    keyhist_record(d, &op, alliance, PC_KEYHIST_REGISTER, sk->key_id) != 0 ||
	    db_exec(d, sql_notify, 0, NULL) != 0 || db_commit(d) != 0)
		goto fail;
	keyhist_operator_wipe(&op);
	return 0;
fail:
	keyhist_operator_wipe(&op);
	db_rollback(d);
	return cli_fail(ctx, "%s", d->err);
}

/* The quick path's new key pair, staged in dir; the old files' names come from
 * their own key id, whatever the database says. */
static int rotate_files(struct pc_cli *ctx, const char *dir, const struct mkey_sign *sk,
                        struct home_stage *st, char old_id[PC_KEY_ID_LEN + 1])
{
	char cur[HOME_PATH_MAX], err[512];
	uint8_t old_sk[PC_SK_SIZE];
	const char *t_key, *t_pub;

	if ((size_t)snprintf(cur, sizeof cur, "%s/sign.key", dir) >= sizeof cur)
		return cli_fail(ctx, "path too long");
	if (home_exists(cur)) {
		if (pc_load_signing_key(cur, old_sk, old_id, err, sizeof err) != 0)
			return cli_fail(ctx, "%s", err);
		sodium_memzero(old_sk, sizeof old_sk);
	}
	if (home_mkdirs(dir, err, sizeof err) != 0)
		return cli_fail(ctx, "%s", err);
	if (!(t_key = stage_in(st, dir, "sign.key")) || !(t_pub = stage_in(st, dir, "sign.pub")))
		return cli_fail(ctx, "path too long");
	if (pki_write_private(t_key, sk->key, err, sizeof err) != 0 ||
	    pki_write_public(t_pub, sk->key, err, sizeof err) != 0)
		return cli_fail(ctx, "%s", err);
	return 0;
}

static int merchant_rotate_key(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"public-key", required_argument, NULL, 'p'},
		{"out", required_argument, NULL, 'o'},
		{"grace", required_argument, NULL, 'g'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char dir[HOME_PATH_MAX], err[512], old_id[PC_KEY_ID_LEN + 1] = "";
	const char *public_key = NULL, *out_dir = NULL, *grace = NULL;
	int64_t grace_s;
	struct mkey_sign sk = {0};
	struct home_stage st;
	struct db d = {0};
	int c, new_dir = 0, rc = 1;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			public_key = optarg;
			break;
		case 'o':
			out_dir = optarg;
			break;
		case 'g':
			/* at most 30 days, as alliances.key_grace_s */
			if (cli_parse_i64(optarg, 0, 2592000, &grace_s) != 0)
				return cli_fail(ctx, "--grace '%s' is not 0 to 2592000 seconds", optarg);
			grace = optarg;
			break;
		case 'h':
			return cli_usage(rotate_usage, 0);
		default:
			return cli_bad_option(ctx, c, argv, rotate_usage);
		}
	}
	if (argc - optind != 2)
		return cli_usage(rotate_usage, 2);
	if (public_key && out_dir)
		return cli_fail(ctx, "--out names where a key made here goes; with --public-key"
		                " nothing is written");
	if (merchant_dir(ctx, argv[optind], argv[optind + 1], out_dir, dir) != 0)
		return 1;
	if (public_key ? mkey_sign_from_public(&sk, public_key, err, sizeof err) != 0
	               : mkey_sign_new(&sk, err, sizeof err) != 0)
		return cli_fail(ctx, "%s", err);

	home_stage_init(&st);
	if (db_open(&d, ctx->db) != 0) {
		cli_fail(ctx, "%s", d.err);
		goto out;
	}
	if (!public_key) {
		new_dir = !home_exists(dir);
		if (rotate_files(ctx, dir, &sk, &st, old_id) != 0)
			goto out;
	}
	if (rotate_rows(ctx, &d, argv[optind], argv[optind + 1], grace, &sk) != 0)
		goto out;
	if ((*old_id && mkey_keep_old(dir, old_id, err, sizeof err) != 0) ||
	    home_stage_commit(&st, err, sizeof err) != 0) {
		cli_fail(ctx, "new key %s is registered but its files are not in place: %s",
		         sk.key_id, err);
		goto out;
	}
	printf("%s\n", sk.key_id);
	rc = 0;
out:
	home_stage_abort(&st);
	if (rc != 0 && new_dir)
		rmdir(dir);   /* only if it stayed empty */
	mkey_sign_free(&sk);
	db_close(&d);
	return rc;
}

static int key_id_valid(const char *s)
{
	if (strlen(s) != PC_KEY_ID_LEN)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

static int merchant_revoke_key(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"at", required_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *at = NULL;
	struct db d;
	PGresult *res;
	int c, rc = 1;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (!cli_rfc3339_valid(optarg))
				return cli_fail(ctx, "--at '%s' is not an RFC 3339 time", optarg);
			at = optarg;
			break;
		case 'h':
			return cli_usage(revoke_usage, 0);
		default:
			return cli_bad_option(ctx, c, argv, revoke_usage);
		}
	}
	if (argc - optind != 3)
		return cli_usage(revoke_usage, 2);
	const char *params[4] = {argv[optind], argv[optind + 1], argv[optind + 2], at};

	if (!pc_id_valid(params[0]) || !pc_id_valid(params[1]))
		return cli_fail(ctx, "not a valid alliance or merchant id");
	if (!key_id_valid(params[2]))
		return cli_fail(ctx, "'%s' is not a key id (16 lowercase hex digits)", params[2]);
	struct keyhist_operator op;
	char err[512];

	if (keyhist_operator_load(ctx, &op, err, sizeof err) != 0)
		return cli_fail(ctx, "%s", err);
	if (db_open(&d, ctx->db) != 0) {
		keyhist_operator_wipe(&op);
		return cli_fail(ctx, "%s", d.err);
	}

	if (db_begin(&d) != 0 || !(res = db_query(&d, sql_revoke_key, 4, params))) {
		db_rollback(&d);
		if (db_failed_with(&d, "23514"))
			cli_fail(ctx, "key %s cannot be revoked before it became valid", params[2]);
		else
			cli_fail(ctx, "%s", d.err);
		goto out;
	}
	if (PQntuples(res) == 1) {
		char when[40];

		snprintf(when, sizeof when, "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
		if (keyhist_record(&d, &op, params[0], PC_KEYHIST_REVOKE, params[2]) != 0 ||
		    db_exec(&d, sql_notify, 0, NULL) != 0 || db_commit(&d) != 0) {
			db_rollback(&d);
			cli_fail(ctx, "%s", d.err);
			goto out;
		}
		/* said once it holds: the revocation and its statement committed */
		printf("revoked %s at %s\n", params[2], when);
		rc = 0;
		goto out;
	}
	PQclear(res);
	db_rollback(&d);
	/* nothing updated: no such key, or revoked already at or before that time */
	res = db_query(&d, sql_key_state, 3, params);
	if (!res) {
		cli_fail(ctx, "%s", d.err);
	} else if (PQntuples(res) == 0) {
		cli_fail(ctx, "no key %s for merchant %s/%s", params[2], params[0], params[1]);
	} else {
		printf("key %s already revoked at %s\n", params[2], PQgetvalue(res, 0, 0));
		rc = 0;
	}
	PQclear(res);
out:
	keyhist_operator_wipe(&op);
	db_close(&d);
	return rc;
}

static int merchant_list(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	PGresult *alliance = NULL, *merchants = NULL, *keys = NULL;
	struct db d;
	int c, k = 0, rc = 1;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h')
			return cli_usage(list_usage, 0);
		return cli_bad_option(ctx, c, argv, list_usage);
	}
	if (argc - optind != 1)
		return cli_usage(list_usage, 2);
	const char *params[1] = {argv[optind]};

	if (db_open(&d, ctx->db) != 0)
		return cli_fail(ctx, "%s", d.err);
	/* one snapshot for the merchants and their keys */
	if (db_exec(&d, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL) != 0 ||
	    !(alliance = db_query(&d, sql_alliance_exists, 1, params)) ||
	    !(merchants = db_query(&d, sql_list_merchants, 1, params)) ||
	    !(keys = db_query(&d, sql_list_keys, 1, params))) {
		cli_fail(ctx, "%s", d.err);
		goto out;
	}
	if (PQntuples(alliance) == 0) {
		cli_fail(ctx, "no alliance %s", params[0]);
		goto out;
	}
	for (int m = 0; m < PQntuples(merchants); m++) {
		const char *id = PQgetvalue(merchants, m, 0);

		printf("%s %s industry=%s issue=%s redeem=%s name=%s\n", id,
		       PQgetvalue(merchants, m, 1), PQgetvalue(merchants, m, 2),
		       PQgetvalue(merchants, m, 4), PQgetvalue(merchants, m, 5),
		       PQgetvalue(merchants, m, 3));
		/* both ordered by merchant id: walk the keys alongside */
		for (; k < PQntuples(keys) && strcmp(PQgetvalue(keys, k, 0), id) <= 0; k++) {
			if (strcmp(PQgetvalue(keys, k, 0), id) != 0)
				continue;
			printf("  key %s %s valid_from=%s revoked_at=%s grace_until=%s\n",
			       PQgetvalue(keys, k, 1), PQgetvalue(keys, k, 2), PQgetvalue(keys, k, 3),
			       PQgetvalue(keys, k, 4), PQgetvalue(keys, k, 5));
		}
	}
	if (PQntuples(merchants) == 0)
		printf("no merchants in %s\n", params[0]);
	rc = 0;
out:
	PQclear(alliance);
	PQclear(merchants);
	PQclear(keys);
	db_rollback(&d);
	db_close(&d);
	return rc;
}

int cmd_merchant(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
		{"add", merchant_add, "add a merchant with its signing key and TLS certificate"},
		{"keygen", mkey_keygen, "(merchant's side) make its keys and a certificate request"},
		{"rotate-key", merchant_rotate_key, "new signing key, the current one retired (grace)"},
		{"revoke-key", merchant_revoke_key, "revoke a signing key now or at a time"},
		{"list", merchant_list, "list an alliance's merchants and their keys"},
		{"suspend", merchant_suspend, "refuse a merchant's events and connections"},
		{"resume", merchant_resume, "make a suspended merchant active again"},
		{"issue-cert", merchant_issue_cert, "a new TLS client certificate for a merchant"},
		{"revoke-cert", merchant_revoke_cert, "revoke a merchant's TLS client certificate"},
	};

	return cli_dispatch(ctx, "merchant", verbs, (int)(sizeof verbs / sizeof verbs[0]), argc,
	                    argv);
}
