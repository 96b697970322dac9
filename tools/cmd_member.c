/* cmd_member.c - `pointclear member add`: enrols pseudonymous member ids.
 *
 * Ids made here are random: a sequence would let anyone who learns one id
 * guess every other member's. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcntl.h>
#include <sodium.h>

#include "commands.h"
#include "db.h"
#include "home.h"
#include "pointclear/ids.h"

static const char add_usage[] =
	"usage: pointclear member add ALLIANCE MEMBER...\n"
	"       pointclear member add ALLIANCE --count N [--out FILE]\n"
	"       pointclear member add ALLIANCE --count N --sequential PREFIX\n"
	"  Enrols members (pseudonymous ids only); ids already enrolled are left alone.\n"
	"  --count makes N random ids, \"m\" and 16 characters of [a-z2-7] (80 bits),\n"
	"  printed one per line, or written to FILE (mode 0600; stdout then has the\n"
	"  count). --sequential makes PREFIX000001.. instead: guessable, for test\n"
	"  fixtures only. Otherwise prints how many were added.\n";

#define MEMBER_RANDOM_CHARS 16

/* "m" and MEMBER_RANDOM_CHARS base32 (RFC 4648 alphabet, lowercase) characters:
 * 5 random bits each, so 80 bits in all. */
static void random_id(char id[MEMBER_RANDOM_CHARS + 2])
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint8_t raw[MEMBER_RANDOM_CHARS];

	randombytes_buf(raw, sizeof raw);
	id[0] = 'm';
	for (int i = 0; i < MEMBER_RANDOM_CHARS; i++)
		id[i + 1] = alphabet[raw[i] & 31];
	id[MEMBER_RANDOM_CHARS + 1] = '\0';
	sodium_memzero(raw, sizeof raw);
}

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

/* The id list, created 0600: the ids are pseudonyms, but a list of them is
 * still the alliance's membership. */
static FILE *member_list_create(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f;

	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	return f;
}

static int member_list_close(FILE *f, const char *path, char *err, size_t errlen)
{
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		fclose(f);
		return -1;
	}
	if (fclose(f) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int member_add(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"count", required_argument, NULL, 'c'},
		{"sequential", required_argument, NULL, 'p'},
		{"out", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *prefix = NULL, *alliance, *out_path = NULL;
	int64_t count = -1, added = 0, total;
	struct id_array a = {0};
	char id[PC_ID_MAX + 32], out_tmp[HOME_PATH_MAX];
	struct home_stage st;
	FILE *out = NULL;
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
		case 'o':
			out_path = optarg;
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
	if ((prefix || out_path) && count < 0)
		return cli_fail(ctx, "--sequential and --out go with --count");
	if (prefix && out_path)
		return cli_fail(ctx, "--out lists random ids; sequential ones need no list");
	if (prefix) {
		snprintf(id, sizeof id, "%s%06" PRId64, prefix, count);
		if (!pc_id_valid(id))
			return cli_fail(ctx, "--sequential '%s' does not make valid member ids", prefix);
	}

	home_stage_init(&st);
	if (db_open(&d, ctx->db) != 0)
		return cli_fail(ctx, "%s", d.err);
	if (count > 0 && !prefix) {
		const char *tmp = out_path ? home_stage_add(&st, out_path) : NULL;

		if (out_path && (!tmp || strlen(tmp) >= sizeof out_tmp)) {
			snprintf(d.err, sizeof d.err, "--out path too long");
			goto fail;
		}
		if (tmp)
			strcpy(out_tmp, tmp);
		out = tmp ? member_list_create(out_tmp, d.err, sizeof d.err) : stdout;
		if (!out)
			goto fail;
	}
	if (db_begin(&d) != 0)
		goto fail;
	for (int64_t i = 0; i < total; i++) {
		const char *m = id;

		if (prefix)
			snprintf(id, sizeof id, "%s%06" PRId64, prefix, i + 1);
		else if (count > 0)
			random_id(id);
		else
			m = argv[optind + 1 + i];
		if (array_add(&a, m) != 0) {
			snprintf(d.err, sizeof d.err, "out of memory");
			goto fail;
		}
		if (out && fprintf(out, "%s\n", m) < 0) {
			snprintf(d.err, sizeof d.err, "cannot write the ids: %s", strerror(errno));
			goto fail;
		}
		if (a.n == MEMBER_CHUNK && array_flush(&d, alliance, &a, &added) != 0)
			goto fail;
	}
	if (array_flush(&d, alliance, &a, &added) != 0)
		goto fail;
	/* a random id that met an enrolled one would be listed as new: none is kept */
	if (out && added != total) {
		snprintf(d.err, sizeof d.err,
		         "%" PRId64 " random ids were enrolled already; nothing added, run again",
		         total - added);
		goto fail;
	}
	if (out && out != stdout) {
		FILE *f = out;

		out = NULL;
		if (member_list_close(f, out_tmp, d.err, sizeof d.err) != 0)
			goto fail;
	}
	if (db_commit(&d) != 0)
		goto fail;
	/* the list is valid once the rows are: only then under its name */
	if (home_stage_commit(&st, d.err, sizeof d.err) != 0) {
		cli_fail(ctx, "members added, but %s", d.err);
		goto out;
	}
	if (!out)
		printf("added %" PRId64 " members (%" PRId64 " already enrolled)\n", added,
		       total - added);
	rc = 0;
	goto out;
fail:
	db_rollback(&d);
	if (db_failed_with(&d, "23503"))
		cli_fail(ctx, "no alliance %s", alliance);
	else
		cli_fail(ctx, "%s", d.err);
out:
	if (out && out != stdout)
		fclose(out);
	home_stage_abort(&st);
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
