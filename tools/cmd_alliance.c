/* cmd_alliance.c - `pointclear alliance create`: an alliance, its CA and ledger head. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "db.h"
#include "home.h"
#include "keyhist_db.h"
#include "pki.h"
#include "pointclear/ids.h"

static const char create_usage[] =
	"usage: pointclear alliance create ALLIANCE --name NAME [--currency EUR]\n"
	"        [--time-zone UTC] [--default-hold S] [--max-hold S]\n"
	"        [--window-future S] [--window-past S]\n"
	"  Creates the alliance CA under ADMIN_HOME/alliances/ALLIANCE, the alliances row and\n"
	"  its ledger head. Defaults: hold 900 s (max 86400 s), window 300 s ahead and\n"
	"  604800 s behind the clearing house clock.\n";

static const char sql_insert_alliance[] =
	"INSERT INTO alliances (alliance_id, name, currency, time_zone, default_hold_s,"
	" max_hold_s, window_future_s, window_past_s, ca_cert_pem)"
	" VALUES ($1, $2, $3, $4, $5::int, $6::int, $7::int, $8::int, $9)";
static const char sql_insert_head[] = "INSERT INTO ledger_heads (alliance_id) VALUES ($1)";
static const char sql_notify[] = "NOTIFY pc_keys";

struct alliance_opts {
	const char *id, *name, *currency, *time_zone;
	int64_t default_hold, max_hold, window_future, window_past;
};

static int parse_seconds(struct pc_cli *ctx, const char *opt, const char *s, int64_t min,
                         int64_t *out)
{
	if (cli_parse_i64(s, min, INT32_MAX, out) != 0) {
		cli_fail(ctx, "--%s: '%s' is not a number of seconds (%" PRId64 "..%d)", opt, s, min,
		         INT32_MAX);
		return -1;
	}
	return 0;
}

/* Inserts the rows in one transaction, with the NOTIFY that reloads daemons and,
 * when the operator key exists, statement 0 of the key history naming it. */
static int alliance_insert(struct db *d, const struct alliance_opts *o, const char *ca_pem,
                           const struct keyhist_operator *op)
{
	char num[4][24];
	const char *params[9] = {o->id, o->name, o->currency, o->time_zone,
	                         num[0], num[1], num[2], num[3], ca_pem};

	snprintf(num[0], sizeof num[0], "%" PRId64, o->default_hold);
	snprintf(num[1], sizeof num[1], "%" PRId64, o->max_hold);
	snprintf(num[2], sizeof num[2], "%" PRId64, o->window_future);
	snprintf(num[3], sizeof num[3], "%" PRId64, o->window_past);
	if (db_begin(d) != 0 || db_exec(d, sql_insert_alliance, 9, params) != 0 ||
	    db_exec(d, sql_insert_head, 1, params) != 0 ||
	    (op && keyhist_record(d, op, o->id, PC_KEYHIST_OPERATOR_KEY, NULL) != 0) ||
	    db_exec(d, sql_notify, 0, NULL) != 0 || db_commit(d) != 0) {
		db_rollback(d);
		return -1;
	}
	return 0;
}

static int alliance_create(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"name", required_argument, NULL, 'n'},
		{"currency", required_argument, NULL, 'c'},
		{"time-zone", required_argument, NULL, 'z'},
		{"default-hold", required_argument, NULL, 'd'},
		{"max-hold", required_argument, NULL, 'm'},
		{"window-future", required_argument, NULL, 'F'},
		{"window-past", required_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct alliance_opts o = {
		.currency = "EUR", .time_zone = "UTC", .default_hold = 900, .max_hold = 86400,
		.window_future = 300, .window_past = 604800,
	};
	char dir[HOME_PATH_MAX], crt[HOME_PATH_MAX], key[HOME_PATH_MAX], err[512], cn[128];
	const char *tmp_crt, *tmp_key;
	EVP_PKEY *ca_key = NULL;
	X509 *ca = NULL;
	char *pem = NULL;
	struct keyhist_operator op = {0};
	struct home_stage st;
	struct db d = {0};
	int c, have_op, rc = 1;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o.name = optarg;
			break;
		case 'c':
			o.currency = optarg;
			break;
		case 'z':
			o.time_zone = optarg;
			break;
		case 'd':
			if (parse_seconds(ctx, "default-hold", optarg, 1, &o.default_hold) != 0)
				return 1;
			break;
		case 'm':
			if (parse_seconds(ctx, "max-hold", optarg, 1, &o.max_hold) != 0)
				return 1;
			break;
		case 'F':
			if (parse_seconds(ctx, "window-future", optarg, 0, &o.window_future) != 0)
				return 1;
			break;
		case 'P':
			if (parse_seconds(ctx, "window-past", optarg, 0, &o.window_past) != 0)
				return 1;
			break;
		case 'h':
			return cli_usage(create_usage, 0);
		default:
			return cli_bad_option(ctx, c, argv, create_usage);
		}
	}
	if (argc - optind != 1 || !o.name)
		return cli_usage(create_usage, 2);
	o.id = argv[optind];
	if (!pc_id_valid(o.id))
		return cli_fail(ctx, "'%s' is not a valid alliance id (1-64 of A-Z a-z 0-9 . _ : -)",
		                o.id);
	if (!pc_currency_valid(o.currency))
		return cli_fail(ctx, "'%s' is not an ISO 4217 currency code", o.currency);
	if (o.default_hold > o.max_hold)
		return cli_fail(ctx, "--default-hold %" PRId64 " exceeds --max-hold %" PRId64,
		                o.default_hold, o.max_hold);

	/* the CA key lives with the admin, out of the daemon's reach (docs/KEYS.md) */
	if (home_outside_check(ctx->home, ctx->admin_home, err, sizeof err) != 0)
		return cli_fail(ctx, "%s", err);
	if (home_path(dir, sizeof dir, ctx->admin_home, "alliances/%s", o.id) != 0 ||
	    home_path(crt, sizeof crt, ctx->admin_home, "alliances/%s/ca.crt", o.id) != 0 ||
	    home_path(key, sizeof key, ctx->admin_home, "alliances/%s/ca.key", o.id) != 0)
		return cli_fail(ctx, "home path too long");
	if (db_open(&d, ctx->db) != 0)
		return cli_fail(ctx, "%s", d.err);

	home_stage_init(&st);
	snprintf(cn, sizeof cn, "%s merchant CA", o.id);
	if (home_mkdirs(dir, err, sizeof err) != 0 || !(ca_key = pki_p256_new(err, sizeof err)) ||
	    !(ca = pki_make_ca(ca_key, o.id, cn, err, sizeof err))) {
		cli_fail(ctx, "%s", err);
		goto out;
	}
	if (!(pem = pki_cert_pem(ca)) || !(tmp_crt = home_stage_add(&st, crt)) ||
	    !(tmp_key = home_stage_add(&st, key))) {
		cli_fail(ctx, "out of memory");
		goto out;
	}
	if (pki_write_cert(tmp_crt, ca, err, sizeof err) != 0 ||
	    pki_write_private(tmp_key, ca_key, err, sizeof err) != 0) {
		cli_fail(ctx, "%s", err);
		goto out;
	}
	/* without `init` yet, the history starts at the first key change instead */
	have_op = keyhist_operator_load(ctx, &op, err, sizeof err) == 0;
	if (alliance_insert(&d, &o, pem, have_op ? &op : NULL) != 0) {
		if (db_failed_with(&d, "23505"))
			cli_fail(ctx, "alliance '%s' already exists", o.id);
		else
			cli_fail(ctx, "%s", d.err);
		goto out;
	}
	if (home_stage_commit(&st, err, sizeof err) != 0) {
		cli_fail(ctx, "%s", err);
		goto out;
	}
	printf("alliance %s created\n", o.id);
	rc = 0;
out:
	keyhist_operator_wipe(&op);
	home_stage_abort(&st);
	free(pem);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	db_close(&d);
	return rc;
}

static const char set_consent_usage[] =
	"usage: pointclear alliance set-consent ALLIANCE --threshold N|off\n"
	"  REDEEM and HOLD of more than N points must then carry the member's\n"
	"  authorization (0: all of them); off: none need one. Daemons apply it when\n"
	"  they reload their keys, at once (NOTIFY pc_keys).\n";

static const char sql_set_consent[] =
	"UPDATE alliances SET consent_threshold = $2::bigint WHERE alliance_id = $1";

/* The alliance's member consent policy (PROTOCOL.md, "Member authorization"). */
static int alliance_set_consent(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"threshold", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *threshold = NULL;
	int64_t n;
	struct db d;
	int c, changed, rc = 1;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			threshold = optarg;
			break;
		case 'h':
			return cli_usage(set_consent_usage, 0);
		default:
			return cli_bad_option(ctx, c, argv, set_consent_usage);
		}
	}
	if (argc - optind != 1 || !threshold)
		return cli_usage(set_consent_usage, 2);
	if (!pc_id_valid(argv[optind]))
		return cli_fail(ctx, "'%s' is not a valid alliance id", argv[optind]);
	if (strcmp(threshold, "off") == 0)
		threshold = NULL;   /* SQL NULL */
	else if (cli_parse_i64(threshold, 0, INT64_MAX, &n) != 0)
		return cli_fail(ctx, "--threshold '%s' is neither a number of points nor off", threshold);

	const char *params[2] = { argv[optind], threshold };
	if (db_open(&d, ctx->db) != 0)
		return cli_fail(ctx, "%s", d.err);
	changed = db_change_one(&d, sql_set_consent, 2, params, sql_notify);
	if (changed < 0) {
		cli_fail(ctx, "%s", d.err);
		goto out;
	}
	if (changed == 0) {
		cli_fail(ctx, "no alliance %s", argv[optind]);
		goto out;
	}
	if (threshold)
		printf("alliance %s: REDEEM and HOLD above %s points need the member's authorization\n",
		       argv[optind], threshold);
	else
		printf("alliance %s: no member authorization required\n", argv[optind]);
	rc = 0;
out:
	db_close(&d);
	return rc;
}

int cmd_alliance(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
		{"create", alliance_create, "create an alliance, its CA and ledger head"},
		{"set-consent", alliance_set_consent, "require members' authorization above a threshold"},
	};

	return cli_dispatch(ctx, "alliance", verbs, (int)(sizeof verbs / sizeof verbs[0]), argc,
	                    argv);
}
