/* cmd_balance.c - `pointclear balance`: merchant positions, member balances and
 * the conservation check, all read from one snapshot. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "db.h"
#include "pointclear/ids.h"

static const char usage[] =
	"usage: pointclear balance ALLIANCE [MEMBER...] [--sample N]\n"
	"  Each merchant's position (points issued, redeemed, net = issued - redeemed),\n"
	"  the given members' (or N sampled members') balance, held and spendable\n"
	"  points, member totals, then the conservation check: the sum of all member\n"
	"  and merchant accounts must be zero (exit 1 if not).\n";

/* kind 2 holds -issued (net of earn reversals), kind 3 +redeemed */
static const char sql_merchants[] =
	"SELECT m.merchant_id,"
	"  coalesce(-sum(a.balance) FILTER (WHERE a.account_kind = 2), 0),"
	"  coalesce(sum(a.balance) FILTER (WHERE a.account_kind = 3), 0),"
	"  coalesce(-sum(a.balance) FILTER (WHERE a.account_kind = 2), 0)"
	"   - coalesce(sum(a.balance) FILTER (WHERE a.account_kind = 3), 0)"
	" FROM merchants m LEFT JOIN accounts a"
	"   ON a.alliance_id = m.alliance_id AND a.owner_id = m.merchant_id"
	" WHERE m.alliance_id = $1"
	" GROUP BY m.merchant_id ORDER BY m.merchant_id COLLATE \"C\"";
static const char sql_member[] =
	"SELECT balance, held, balance - held FROM members"
	" WHERE alliance_id = $1 AND member_id = $2";
static const char sql_sample[] =
	"SELECT member_id, balance, held, balance - held FROM members"
	" WHERE alliance_id = $1 ORDER BY random() LIMIT $2::bigint";
static const char sql_member_totals[] =
	"SELECT count(*), coalesce(sum(balance), 0), coalesce(sum(held), 0),"
	"  count(*) FILTER (WHERE balance < 0), coalesce(-sum(balance) FILTER (WHERE balance < 0), 0)"
	" FROM members WHERE alliance_id = $1";
/* numeric sums: no overflow whatever the balances */
static const char sql_conservation[] =
	"SELECT mb, ab, mb + ab, mb + ab = 0 FROM"
	" (SELECT coalesce(sum(balance), 0) AS mb FROM members WHERE alliance_id = $1) m,"
	" (SELECT coalesce(sum(balance), 0) AS ab FROM accounts WHERE alliance_id = $1) a";

/* 0, 1 when a member given is not enrolled, -1 on a database error (reported). */
static int print_members(struct pc_cli *ctx, struct db *d, const char *alliance,
                         char **members, int nmembers, const char *sample)
{
	PGresult *res;
	int rc = 0;

	for (int i = 0; i < nmembers; i++) {
		const char *params[2] = {alliance, members[i]};

		if (!(res = db_query(d, sql_member, 2, params)))
			return -cli_fail(ctx, "%s", d->err);
		if (PQntuples(res) == 0) {
			printf("member %s not-enrolled\n", members[i]);
			rc = 1;
		} else {
			printf("member %s balance=%s held=%s spendable=%s\n", members[i],
			       PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
		}
		PQclear(res);
	}
	if (sample) {
		const char *params[2] = {alliance, sample};

		if (!(res = db_query(d, sql_sample, 2, params)))
			return -cli_fail(ctx, "%s", d->err);
		for (int i = 0; i < PQntuples(res); i++)
			printf("member %s balance=%s held=%s spendable=%s\n", PQgetvalue(res, i, 0),
			       PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3));
		PQclear(res);
	}
	const char *params[1] = {alliance};

	if (!(res = db_query(d, sql_member_totals, 1, params)))
		return -cli_fail(ctx, "%s", d->err);
	printf("members: count=%s balance=%s held=%s owing=%s owed=%s\n", PQgetvalue(res, 0, 0),
	       PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3),
	       PQgetvalue(res, 0, 4));
	PQclear(res);
	if (rc)
		cli_fail(ctx, "some members are not enrolled in %s", alliance);
	return rc;
}

int cmd_balance(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"sample", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *sample = NULL;
	PGresult *res = NULL;
	int64_t n;
	struct db d;
	int c, rc = 1, members_rc;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (cli_parse_i64(optarg, 0, 1000000, &n) != 0)
				return cli_fail(ctx, "--sample '%s' is not a number from 0 to 1000000",
				                optarg);
			sample = optarg;
			break;
		case 'h':
			return cli_usage(usage, 0);
		default:
			return cli_bad_option(ctx, c, argv, usage);
		}
	}
	if (argc - optind < 1)
		return cli_usage(usage, 2);
	const char *params[1] = {argv[optind]};

	if (!pc_id_valid(params[0]))
		return cli_fail(ctx, "'%s' is not a valid alliance id", params[0]);
	/* members and accounts change together in the daemon's transactions: read
	 * them in one snapshot, or a busy ledger looks unbalanced */
	if (db_open_alliance_snapshot(&d, ctx->db, params[0]) != 0)
		return cli_fail(ctx, "%s", d.err);
	if (!(res = db_query(&d, sql_merchants, 1, params))) {
		cli_fail(ctx, "%s", d.err);
		goto out;
	}
	for (int i = 0; i < PQntuples(res); i++)
		printf("merchant %s issued=%s redeemed=%s net=%s\n", PQgetvalue(res, i, 0),
		       PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3));
	PQclear(res);
	res = NULL;

	members_rc = print_members(ctx, &d, params[0], argv + optind + 1, argc - optind - 1,
	                           sample);
	if (members_rc < 0)
		goto out;
	if (!(res = db_query(&d, sql_conservation, 1, params))) {
		cli_fail(ctx, "%s", d.err);
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 3), "t") == 0) {
		printf("conservation: ok (members=%s accounts=%s sum=0)\n", PQgetvalue(res, 0, 0),
		       PQgetvalue(res, 0, 1));
		rc = members_rc;
	} else {
		printf("conservation: VIOLATED (members=%s accounts=%s sum=%s)\n",
		       PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
		cli_fail(ctx, "conservation violated in %s", params[0]);
	}
out:
	PQclear(res);
	db_rollback(&d);
	db_close(&d);
	return rc;
}
