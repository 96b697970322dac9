/* cmd_merchant_life.c - what happens to a merchant after `merchant add`:
 * `pointclear merchant suspend|resume|issue-cert|revoke-cert`, and the record of
 * every client certificate issued (merchant_certs) that revocation works from.
 *
 * Each commits its change with NOTIFY pc_keys: the daemon reloads its key cache
 * and closes the connections of a suspended merchant or a revoked certificate
 * (daemon/conn.c), and refuses them at the handshake from then on. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "db.h"
#include "home.h"
#include "merchant_life.h"
#include "pki.h"
#include "pointclear/ids.h"

#define SERIAL_MAX 41   /* 20 octets in hex (RFC 5280), and the NUL */

static const char suspend_usage[] =
	"usage: pointclear merchant suspend ALLIANCE MERCHANT\n"
	"  Refuses the merchant's events (MERCHANT_INACTIVE) and its connections, and\n"
	"  closes those it has now. Its ledger, keys and certificates stay.\n";
static const char resume_usage[] =
	"usage: pointclear merchant resume ALLIANCE MERCHANT\n"
	"  Makes a suspended merchant active again.\n";
static const char issue_usage[] =
	"usage: pointclear merchant issue-cert ALLIANCE MERCHANT [--csr CLIENT.CSR] [--out DIR]\n"
	"  A new TLS client certificate from the alliance CA, for the merchant's own\n"
	"  request (--csr, as for `add`) or a key made here, written as DIR/client.crt\n"
	"  (and DIR/client.key); DIR as for `add`. The previous certificate stays\n"
	"  valid until revoked (revoke-cert). Prints the new serial.\n";
static const char revoke_cert_usage[] =
	"usage: pointclear merchant revoke-cert ALLIANCE MERCHANT [SERIAL]\n"
	"  Revokes that client certificate (hex serial, colons allowed), by default the\n"
	"  merchant's newest: its connections are closed and it cannot connect again.\n";

static const char sql_notify[] = "NOTIFY pc_keys";
static const char sql_record_cert[] =
	"INSERT INTO merchant_certs (alliance_id, serial, merchant_id, not_after)"
	" VALUES ($1, $2, $3, $4::timestamptz)";
/* gone stays gone: only an active or transitioning merchant is suspended */
static const char sql_suspend[] =
	"UPDATE merchants SET status = 'suspended', status_since = now()"
	" WHERE alliance_id = $1 AND merchant_id = $2 AND status IN ('active', 'in_transition')"
	" RETURNING status";
static const char sql_resume[] =
	"UPDATE merchants SET status = 'active', status_since = now()"
	" WHERE alliance_id = $1 AND merchant_id = $2 AND status = 'suspended'"
	" RETURNING status";
static const char sql_status[] =
	"SELECT status FROM merchants WHERE alliance_id = $1 AND merchant_id = $2";
static const char sql_newest_cert[] =
	"SELECT serial FROM merchant_certs WHERE alliance_id = $1 AND merchant_id = $2"
	" ORDER BY issued_at DESC, serial DESC LIMIT 1";
/* A serial this CLI never issued is listed too: the operator may know of one.
 * A revocation is never moved later; another merchant's serial is not touched. */
static const char sql_revoke_cert[] =
	"INSERT INTO merchant_certs AS c (alliance_id, serial, merchant_id, revoked_at)"
	" VALUES ($1, $3, $2, now())"
	" ON CONFLICT (alliance_id, serial) DO UPDATE SET revoked_at = coalesce(c.revoked_at, now())"
	" WHERE c.merchant_id = EXCLUDED.merchant_id"
	" RETURNING to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";

int merchant_cert_record(struct db *d, const char *alliance, const char *merchant, X509 *cert)
{
	char serial[SERIAL_MAX], not_after[32];

	if (pki_cert_serial_hex(cert, serial, sizeof serial) != 0 ||
	    pki_cert_not_after(cert, not_after, sizeof not_after) != 0) {
		snprintf(d->err, sizeof d->err, "the new certificate's serial or expiry is unreadable");
		return -1;
	}
	const char *params[4] = {alliance, serial, merchant, not_after};
	return db_exec(d, sql_record_cert, 4, params);
}

/* A plain verb: ALLIANCE MERCHANT and --help. 0 with the ids, else the exit status + 1. */
static int two_ids(struct pc_cli *ctx, int argc, char **argv, const char *usage,
                   const char **alliance, const char **merchant)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h')
			return cli_usage(usage, 0) + 1;
		return cli_bad_option(ctx, c, argv, usage) + 1;
	}
	if (argc - optind != 2)
		return cli_usage(usage, 2) + 1;
	*alliance = argv[optind];
	*merchant = argv[optind + 1];
	if (!pc_id_valid(*alliance) || !pc_id_valid(*merchant))
		return cli_fail(ctx, "not a valid alliance or merchant id") + 1;
	return 0;
}

/* Sets the status with `sql` and notifies the daemon, or says why not. */
static int set_status(struct pc_cli *ctx, int argc, char **argv, const char *usage,
                      const char *sql, const char *done)
{
	const char *alliance = NULL, *merchant = NULL;
	struct db d = {0};
	PGresult *res = NULL;
	int rc = two_ids(ctx, argc, argv, usage, &alliance, &merchant);

	if (rc)
		return rc - 1;
	const char *params[2] = {alliance, merchant};
	if (db_open(&d, ctx->db) != 0)
		return cli_fail(ctx, "%s", d.err);
	rc = 1;
	if (db_begin(&d) != 0 || !(res = db_query(&d, sql, 2, params))) {
		db_rollback(&d);
		cli_fail(ctx, "%s", d.err);
		goto out;
	}
	if (PQntuples(res) == 1) {
		if (db_exec(&d, sql_notify, 0, NULL) != 0 || db_commit(&d) != 0) {
			db_rollback(&d);
			cli_fail(ctx, "%s", d.err);
			goto out;
		}
		printf("%s/%s %s\n", alliance, merchant, done);
		rc = 0;
		goto out;
	}
	db_rollback(&d);
	PQclear(res);
	res = db_query(&d, sql_status, 2, params);
	if (!res)
		cli_fail(ctx, "%s", d.err);
	else if (PQntuples(res) == 0)
		cli_fail(ctx, "no merchant %s/%s", alliance, merchant);
	else if (strcmp(PQgetvalue(res, 0, 0), done) == 0) {
		printf("%s/%s %s already\n", alliance, merchant, done);
		rc = 0;
	} else
		cli_fail(ctx, "merchant %s/%s is %s", alliance, merchant, PQgetvalue(res, 0, 0));
out:
	PQclear(res);
	db_close(&d);
	return rc;
}

int merchant_suspend(struct pc_cli *ctx, int argc, char **argv)
{
	return set_status(ctx, argc, argv, suspend_usage, sql_suspend, "suspended");
}

int merchant_resume(struct pc_cli *ctx, int argc, char **argv)
{
	return set_status(ctx, argc, argv, resume_usage, sql_resume, "active");
}

/* Upper-case hex in whole octets with no leading zero octet, as BN_bn2hex
 * writes it (and so the daemon compares it), from what a person copies out of
 * `openssl x509 -serial` (serial=...) or `-text` (colons). 0, or -1. */
static int serial_normalize(const char *in, char out[SERIAL_MAX])
{
	size_t n = 0;

	if (strncmp(in, "serial=", 7) == 0 || strncmp(in, "SERIAL=", 7) == 0)
		in += 7;
	for (; *in; in++) {
		char ch = *in;
		if (ch == ':')
			continue;
		if (ch >= 'a' && ch <= 'f')
			ch = (char)(ch - 'a' + 'A');
		if (!((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'F')))
			return -1;
		if (n == 0 && ch == '0')
			continue;
		if (n + 1 >= SERIAL_MAX)
			return -1;
		out[n++] = ch;
	}
	if (n == 0)
		return -1;   /* serials are positive */
	out[n] = '\0';
	if (n % 2) {
		if (n + 2 > SERIAL_MAX)
			return -1;
		memmove(out + 1, out, n + 1);
		out[0] = '0';
	}
	return 0;
}

int merchant_revoke_cert(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char serial[SERIAL_MAX];
	struct db d = {0};
	PGresult *res = NULL;
	int c, rc = 1;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h')
			return cli_usage(revoke_cert_usage, 0);
		return cli_bad_option(ctx, c, argv, revoke_cert_usage);
	}
	if (argc - optind != 2 && argc - optind != 3)
		return cli_usage(revoke_cert_usage, 2);
	const char *alliance = argv[optind], *merchant = argv[optind + 1];
	if (!pc_id_valid(alliance) || !pc_id_valid(merchant))
		return cli_fail(ctx, "not a valid alliance or merchant id");
	if (argc - optind == 3 && serial_normalize(argv[optind + 2], serial) != 0)
		return cli_fail(ctx, "'%s' is not a certificate serial (hex, at most 20 octets)",
		                argv[optind + 2]);
	if (db_open(&d, ctx->db) != 0)
		return cli_fail(ctx, "%s", d.err);
	const char *mparams[2] = {alliance, merchant};
	if (db_begin(&d) != 0 || !(res = db_query(&d, sql_status, 2, mparams)))
		goto fail;
	if (PQntuples(res) == 0) {
		cli_fail(ctx, "no merchant %s/%s", alliance, merchant);
		goto out;
	}
	PQclear(res);
	res = NULL;
	if (argc - optind == 2) {
		if (!(res = db_query(&d, sql_newest_cert, 2, mparams)))
			goto fail;
		if (PQntuples(res) == 0) {
			cli_fail(ctx, "no certificate of %s/%s is recorded; give its SERIAL", alliance,
			         merchant);
			goto out;
		}
		snprintf(serial, sizeof serial, "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
		res = NULL;
	}
	const char *params[3] = {alliance, merchant, serial};
	if (!(res = db_query(&d, sql_revoke_cert, 3, params)))
		goto fail;
	if (PQntuples(res) == 0) {
		cli_fail(ctx, "certificate %s of alliance %s belongs to another merchant", serial,
		         alliance);
		goto out;
	}
	if (db_exec(&d, sql_notify, 0, NULL) != 0 || db_commit(&d) != 0)
		goto fail;
	printf("revoked certificate %s of %s/%s at %s\n", serial, alliance, merchant,
	       PQgetvalue(res, 0, 0));
	rc = 0;
	goto out;
fail:
	cli_fail(ctx, "%s", d.err);
out:
	if (rc != 0)
		db_rollback(&d);
	PQclear(res);
	db_close(&d);
	return rc;
}

/* Writes the new certificate (and, without a request, its new key) under
 * temporary names in dir. 0, or -1 with err. */
static int issue_files(struct pc_cli *ctx, const char *alliance, const char *merchant,
                       const char *csr, const char *dir, struct home_stage *st,
                       X509 **cert_out, char *err, size_t errlen)
{
	char crt[HOME_PATH_MAX], key[HOME_PATH_MAX];
	EVP_PKEY *tls_key = NULL;
	X509 *cert = NULL;
	const char *t_crt, *t_key;
	int rc = -1;

	if ((size_t)snprintf(crt, sizeof crt, "%s/client.crt", dir) >= sizeof crt ||
	    (size_t)snprintf(key, sizeof key, "%s/client.key", dir) >= sizeof key) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	if (merchant_client_cert(ctx, alliance, merchant, csr, &cert, &tls_key, err, errlen) != 0)
		goto out;
	if (home_mkdirs(dir, err, errlen) != 0)
		goto out;
	if (!(t_crt = home_stage_add(st, crt)) || (!csr && !(t_key = home_stage_add(st, key)))) {
		snprintf(err, errlen, "path too long");
		goto out;
	}
	if (pki_write_cert(t_crt, cert, err, errlen) != 0 ||
	    (!csr && pki_write_private(t_key, tls_key, err, errlen) != 0))
		goto out;
	*cert_out = cert;
	cert = NULL;
	rc = 0;
out:
	X509_free(cert);
	EVP_PKEY_free(tls_key);
	return rc;
}

int merchant_issue_cert(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"csr", required_argument, NULL, 'c'},
		{"out", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char dir[HOME_PATH_MAX], err[512], serial[SERIAL_MAX];
	const char *csr = NULL, *out_dir = NULL;
	struct home_stage st;
	struct db d = {0};
	X509 *cert = NULL;
	PGresult *res = NULL;
	int c, rc = 1;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			csr = optarg;
			break;
		case 'o':
			out_dir = optarg;
			break;
		case 'h':
			return cli_usage(issue_usage, 0);
		default:
			return cli_bad_option(ctx, c, argv, issue_usage);
		}
	}
	if (argc - optind != 2)
		return cli_usage(issue_usage, 2);
	const char *alliance = argv[optind], *merchant = argv[optind + 1];
	if (!pc_id_valid(alliance) || !pc_id_valid(merchant))
		return cli_fail(ctx, "not a valid alliance or merchant id");
	if (out_dir) {
		if (strlen(out_dir) >= sizeof dir)
			return cli_fail(ctx, "--out path too long");
		strcpy(dir, out_dir);
	} else if (home_merchant_dir(dir, sizeof dir, ctx->admin_home, alliance, merchant) != 0) {
		return cli_fail(ctx, "admin home path too long");
	}
	/* the daemon's home holds no merchant's key (docs/KEYS.md) */
	if (home_outside_check(ctx->home, dir, err, sizeof err) != 0)
		return cli_fail(ctx, "%s", err);
	if (db_open(&d, ctx->db) != 0)
		return cli_fail(ctx, "%s", d.err);
	home_stage_init(&st);
	const char *params[2] = {alliance, merchant};
	if (!(res = db_query(&d, sql_status, 2, params))) {
		cli_fail(ctx, "%s", d.err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		cli_fail(ctx, "no merchant %s/%s", alliance, merchant);
		goto out;
	}
	if (issue_files(ctx, alliance, merchant, csr, dir, &st, &cert, err, sizeof err) != 0) {
		cli_fail(ctx, "%s", err);
		goto out;
	}
	if (db_begin(&d) != 0 || merchant_cert_record(&d, alliance, merchant, cert) != 0 ||
	    db_exec(&d, sql_notify, 0, NULL) != 0 || db_commit(&d) != 0) {
		db_rollback(&d);
		cli_fail(ctx, "%s", d.err);
		goto out;
	}
	if (home_stage_commit(&st, err, sizeof err) != 0) {
		cli_fail(ctx, "the certificate is recorded but its files are not in place: %s", err);
		goto out;
	}
	if (pki_cert_serial_hex(cert, serial, sizeof serial) == 0)
		printf("%s\n", serial);
	rc = 0;
out:
	home_stage_abort(&st);
	PQclear(res);
	X509_free(cert);
	db_close(&d);
	return rc;
}
