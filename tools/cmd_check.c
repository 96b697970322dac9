/* cmd_check.c - `pointclear check`: whether an alliance's balances, held points
 * and account totals still follow from its ledger (sql/functions/60_checks.sql). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "db.h"
#include "pointclear/ids.h"

static const char usage[] =
	"usage: pointclear check ALLIANCE\n"
	"  Recomputes from the ledger each member's balance (the sum of its postings)\n"
	"  and held points (its active holds), each merchant account's total, that\n"
	"  every entry's postings sum to zero and that the sequence is gapless, and\n"
	"  prints one line per disagreement: CHECK SUBJECT stored=N computed=N.\n"
	"  Exit 0 when there is none, 1 when there is (or on an error).\n";

static const char sql_check[] =
	"SELECT check_name, subject, stored, computed FROM pc_check_alliance($1)"
	" ORDER BY check_name, subject COLLATE \"C\"";

int cmd_check(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	PGresult *res = NULL;
	struct db d;
	int c, rc = 1;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h')
			return cli_usage(usage, 0);
		return cli_bad_option(ctx, c, argv, usage);
	}
	if (optind != argc - 1)
		return cli_usage(usage, 2);
	const char *params[1] = {argv[optind]};

	if (!pc_id_valid(params[0]))
		return cli_fail(ctx, "'%s' is not a valid alliance id", params[0]);
	if (db_open_alliance_snapshot(&d, ctx->db, params[0]) != 0)
		return cli_fail(ctx, "%s", d.err);
	if (!(res = db_query(&d, sql_check, 1, params))) {
		cli_fail(ctx, "%s", d.err);
		goto out;
	}
	for (int i = 0; i < PQntuples(res); i++)
		printf("%s %s stored=%s computed=%s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		       PQgetvalue(res, i, 2), PQgetvalue(res, i, 3));
	if (PQntuples(res) == 0) {
		printf("check %s: consistent\n", params[0]);
		rc = 0;
	} else {
		cli_fail(ctx, "%d disagreement(s) in %s", PQntuples(res), params[0]);
	}
out:
	PQclear(res);
	db_rollback(&d);
	db_close(&d);
	return rc;
}
