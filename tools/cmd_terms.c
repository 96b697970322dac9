/* cmd_terms.c - `pointclear terms set`: a new version of a merchant's contract terms. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "db.h"
#include "pointclear/ids.h"

static const char set_usage[] =
	"usage: pointclear terms set ALLIANCE MERCHANT --issue-price MINOR/POINTS\n"
	"        --redeem-rate MINOR/POINTS [--from RFC3339]\n"
	"  Adds a version of the merchant's contract terms, effective now or from the\n"
	"  given time: the issuing merchant pays MINOR units per POINTS points issued,\n"
	"  the redeeming merchant is reimbursed MINOR units per POINTS points redeemed.\n";

/* effective_from: the given time, or the transaction's now() */
static const char sql_insert_terms[] =
	"INSERT INTO contract_terms (alliance_id, merchant_id, effective_from,"
	" issue_price_minor, issue_price_per_points, redeem_rate_minor, redeem_rate_per_points)"
	" VALUES ($1, $2, coalesce($3::timestamptz, now()), $4::bigint, $5::bigint,"
	" $6::bigint, $7::bigint)";

int terms_insert(struct db *d, const char *alliance, const char *merchant,
                 const struct cli_terms *t, const char *from)
{
	char num[4][24];
	const char *params[7] = {alliance, merchant, from, num[0], num[1], num[2], num[3]};

	snprintf(num[0], sizeof num[0], "%" PRId64, t->issue_minor);
	snprintf(num[1], sizeof num[1], "%" PRId64, t->issue_points);
	snprintf(num[2], sizeof num[2], "%" PRId64, t->redeem_minor);
	snprintf(num[3], sizeof num[3], "%" PRId64, t->redeem_points);
	return db_exec(d, sql_insert_terms, 7, params);
}

static int terms_set(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"issue-price", required_argument, NULL, 'i'},
		{"redeem-rate", required_argument, NULL, 'r'},
		{"from", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli_terms t;
	const char *from = NULL, *alliance, *merchant;
	int c, have_issue = 0, have_redeem = 0, rc = 0;
	struct db d;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (cli_parse_ratio(optarg, &t.issue_minor, &t.issue_points) != 0)
				return cli_fail(ctx, "--issue-price '%s' is not MINOR/POINTS", optarg);
			have_issue = 1;
			break;
		case 'r':
			if (cli_parse_ratio(optarg, &t.redeem_minor, &t.redeem_points) != 0)
				return cli_fail(ctx, "--redeem-rate '%s' is not MINOR/POINTS", optarg);
			have_redeem = 1;
			break;
		case 'f':
			if (!cli_rfc3339_valid(optarg))
				return cli_fail(ctx, "--from '%s' is not an RFC 3339 time", optarg);
			from = optarg;
			break;
		case 'h':
			return cli_usage(set_usage, 0);
		default:
			return cli_bad_option(ctx, c, argv, set_usage);
		}
	}
	if (argc - optind != 2 || !have_issue || !have_redeem)
		return cli_usage(set_usage, 2);
	alliance = argv[optind];
	merchant = argv[optind + 1];
	if (!pc_id_valid(alliance) || !pc_id_valid(merchant))
		return cli_fail(ctx, "not a valid alliance or merchant id");

	if (db_open(&d, ctx->db) != 0)
		return cli_fail(ctx, "%s", d.err);
	if (terms_insert(&d, alliance, merchant, &t, from) != 0) {
		if (db_failed_with(&d, "23503"))
			rc = cli_fail(ctx, "no merchant %s/%s", alliance, merchant);
		else if (db_failed_with(&d, "23505"))
			rc = cli_fail(ctx, "%s/%s already has terms effective from that time", alliance,
			              merchant);
		else
			rc = cli_fail(ctx, "%s", d.err);
	} else {
		printf("terms set for %s/%s: issue %" PRId64 "/%" PRId64 ", redeem %" PRId64
		       "/%" PRId64 ", from %s\n",
		       alliance, merchant, t.issue_minor, t.issue_points, t.redeem_minor,
		       t.redeem_points, from ? from : "now");
	}
	db_close(&d);
	return rc;
}

int cmd_terms(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
		{"set", terms_set, "add a version of a merchant's contract terms"},
	};

	return cli_dispatch(ctx, "terms", verbs, (int)(sizeof verbs / sizeof verbs[0]), argc,
	                    argv);
}
