/* cmd_member.c - `pointclear member add`: enrols pseudonymous member ids. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "db.h"
#include "pointclear/ids.h"

static const char add_usage[] =
	"usage: pointclear member add ALLIANCE MEMBER...\n"
	"       pointclear member add ALLIANCE --count N [--prefix P]\n"
	"  Enrols members (pseudonymous ids only). --count makes P000001.. (P defaults\n"
	"  to \"m\"). Ids already enrolled are left alone. Prints how many were added.\n";

/* One array parameter per chunk: a round trip per 1000 members, not per member. */
static const char sql_insert_members[] =
	"INSERT INTO members (alliance_id, member_id) SELECT $1, unnest($2::text[])"
	" ON CONFLICT (alliance_id, member_id) DO NOTHING";

#define MEMBER_CHUNK 1000

/* A text[] literal; the ids were checked, so quoting is all they need. */
struct id_array {
	char *buf;
	size_t len, cap;
	int n;
};

static int array_add(struct id_array *a, const char *id)
{
	size_t need = strlen(id) + 4;

	if (a->len + need + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 4096;
		char *p;

		while (cap < a->len + need + 2)
			cap *= 2;
		if (!(p = realloc(a->buf, cap)))
			return -1;
		a->buf = p;
		a->cap = cap;
	}
	a->len += (size_t)sprintf(a->buf + a->len, "%s\"%s\"", a->n ? "," : "{", id);
	a->n++;
	return 0;
}

/* Sends the chunk; adds the rows inserted to *added. */
static int array_flush(struct db *d, const char *alliance, struct id_array *a, int64_t *added)
{
	const char *params[2] = {alliance, a->buf};
	PGresult *res;

	if (a->n == 0)
		return 0;
	strcpy(a->buf + a->len, "}");
	res = db_query(d, sql_insert_members, 2, params);
	if (!res)
		return -1;
	*added += strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	a->len = 0;
	a->n = 0;
	return 0;
}

static int member_add(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"count", required_argument, NULL, 'c'},
		{"prefix", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *prefix = "m", *alliance;
	int64_t count = -1, added = 0, total;
	struct id_array a = {0};
	char id[PC_ID_MAX + 32];
	struct db d;
	int c, rc = 1;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (cli_parse_i64(optarg, 1, 100000000, &count) != 0)
				return cli_fail(ctx, "--count '%s' is not a number from 1 to 100000000",
				                optarg);
			break;
		case 'p':
			prefix = optarg;
			break;
		case 'h':
			return cli_usage(add_usage, 0);
		default:
			return cli_bad_option(ctx, c, argv, add_usage);
		}
	}
	/* either ids or --count, not both */
	if (argc - optind < 1 || (count < 0) == (argc - optind == 1))
		return cli_usage(add_usage, 2);
	alliance = argv[optind];
	if (!pc_id_valid(alliance))
		return cli_fail(ctx, "'%s' is not a valid alliance id", alliance);
	total = count > 0 ? count : argc - optind - 1;
	for (int i = optind + 1; i < argc; i++)
		if (!pc_id_valid(argv[i]))
			return cli_fail(ctx, "'%s' is not a valid member id (1-64 of A-Z a-z 0-9 . _ : -)",
			                argv[i]);
	if (count > 0) {
		snprintf(id, sizeof id, "%s%06" PRId64, prefix, count);
		if (!pc_id_valid(id))
			return cli_fail(ctx, "--prefix '%s' does not make valid member ids", prefix);
	}

	if (db_open(&d, ctx->db) != 0)
		return cli_fail(ctx, "%s", d.err);
	if (db_begin(&d) != 0)
		goto fail;
	for (int64_t i = 0; i < total; i++) {
		const char *m = id;

		if (count > 0)
			snprintf(id, sizeof id, "%s%06" PRId64, prefix, i + 1);
		else
			m = argv[optind + 1 + i];
		if (array_add(&a, m) != 0) {
			snprintf(d.err, sizeof d.err, "out of memory");
			goto fail;
		}
		if (a.n == MEMBER_CHUNK && array_flush(&d, alliance, &a, &added) != 0)
			goto fail;
	}
	if (array_flush(&d, alliance, &a, &added) != 0 || db_commit(&d) != 0)
		goto fail;
	printf("added %" PRId64 " members (%" PRId64 " already enrolled)\n", added, total - added);
	rc = 0;
	goto out;
fail:
	db_rollback(&d);
	if (db_failed_with(&d, "23503"))
		cli_fail(ctx, "no alliance %s", alliance);
	else
		cli_fail(ctx, "%s", d.err);
out:
	free(a.buf);
	db_close(&d);
	return rc;
}

int cmd_member(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
		{"add", member_add, "enrol members"},
		{"add-device", member_add_device, "register a member's device key"},
		{"revoke-device", member_revoke_device, "revoke a member's device key"},
		{"keygen", member_keygen, "make a device key, as a member's app would"},
		{"authorize", member_authorize, "sign an authorization, as a member's app would"},
	};

	return cli_dispatch(ctx, "member", verbs, (int)(sizeof verbs / sizeof verbs[0]), argc,
	                    argv);
}
