/* pointclear.c - the `pointclear` command line: global options, the table of
 * subcommands, and the error and usage reporting they all share. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "commands.h"
#include "home.h"

struct subcommand {
	const char *name;
	int (*run)(struct pc_cli *ctx, int argc, char **argv);
	const char *summary;
};

/* One row per subcommand; a family (merchant, ...) dispatches its verbs itself. */
static const struct subcommand subcommands[] = {
	{"migrate", cmd_migrate, "apply the compiled-in SQL migrations"},
	{"init", cmd_init, "create the operator keys and TLS material"},
	{"alliance", cmd_alliance, "create an alliance and its CA"},
	{"merchant", cmd_merchant, "add merchants, rotate or revoke their keys, list them"},
	{"terms", cmd_terms, "set a merchant's contract terms"},
	{"member", cmd_member, "enrol members"},
	{"submit", cmd_submit, "sign and submit JSON-lines events to the daemon"},
	{"lookup", cmd_lookup, "ask the daemon for the stored decision of an event id"},
	{"balance", cmd_balance, "merchant positions, member balances, conservation check"},
	{"check", cmd_check, "recompute an alliance's balances from its ledger"},
	{"keys", cmd_keys, "print or verify an alliance's signed key history"},
	{"admin", cmd_admin, "database roles: the daemon's login role"},
	{"simulate", cmd_simulate, "write a simulated day of events as JSON lines"},
};

static const char main_usage_head[] =
	"usage: pointclear [--db CONNINFO] [--home DIR] [--admin-home DIR] SUBCOMMAND [ARGS...]\n"
	"       pointclear SUBCOMMAND --help\n"
	"       pointclear --version\n"
	"\n"
	"  --db CONNINFO   libpq connection string (env POINTCLEAR_DB, default dbname=pointclear)\n"
	"  --home DIR      the daemon's keys and certificates (env POINTCLEAR_HOME,\n"
	"                  default ./pointclear-home)\n"
	"  --admin-home DIR  CA keys and merchants' files (env POINTCLEAR_ADMIN_HOME,\n"
	"                  default HOME-admin; see docs/KEYS.md)\n"	"\n"
	"subcommands:\n";

static void main_usage(FILE *out)
{
	fputs(main_usage_head, out);
	for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
		fprintf(out, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
}

int cli_fail(const struct pc_cli *ctx, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pointclear: %s: ", ctx && ctx->cmd ? ctx->cmd : "error");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int cli_usage(const char *usage, int status)
{
	fputs(usage, status == 0 ? stdout : stderr);
	return status == 0 ? 0 : 2;
}

int cli_bad_option(const struct pc_cli *ctx, int c, char **argv, const char *usage)
{
	/* getopt_long leaves the offending word just before optind */
	const char *word = optind > 0 ? argv[optind - 1] : "?";

	if (c == ':')
		fprintf(stderr, "pointclear: %s: option '%s' needs a value\n", ctx->cmd, word);
	else if (optopt && optopt != '?')
		fprintf(stderr, "pointclear: %s: unknown option '-%c'\n", ctx->cmd, optopt);
	else
		fprintf(stderr, "pointclear: %s: unknown option '%s'\n", ctx->cmd, word);
	return cli_usage(usage, 2);
}

void cli_getopt_reset(void)
{
	optind = 0;
	opterr = 0;
}

int cli_dispatch(struct pc_cli *ctx, const char *family, const struct cli_verb *verbs,
                 int nverbs, int argc, char **argv)
{
	static char name[64];

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		FILE *out = argc < 2 ? stderr : stdout;

		fprintf(out, "usage: pointclear %s VERB [ARGS...]   (VERB --help for details)\n\n",
		        family);
		for (int i = 0; i < nverbs; i++)
			fprintf(out, "  %-12s %s\n", verbs[i].name, verbs[i].summary);
		return argc < 2 ? 2 : 0;
	}
	for (int i = 0; i < nverbs; i++) {
		if (strcmp(argv[1], verbs[i].name) == 0) {
			snprintf(name, sizeof name, "%s %s", family, verbs[i].name);
			ctx->cmd = name;
			return verbs[i].run(ctx, argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "pointclear: %s: unknown verb '%s'\n", family, argv[1]);
	return 2;
}

int cli_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int cli_parse_ratio(const char *s, int64_t *minor, int64_t *points)
{
	const char *slash = strchr(s, '/');
	char left[32];

	if (!slash || (size_t)(slash - s) >= sizeof left)
		return -1;
	memcpy(left, s, (size_t)(slash - s));
	left[slash - s] = '\0';
	if (cli_parse_i64(left, 0, INT64_MAX, minor) != 0)
		return -1;
	return cli_parse_i64(slash + 1, 1, INT64_MAX, points);
}

/* digits at s[0..n) */
static int all_digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

int cli_rfc3339_valid(const char *s)
{
	/* 2025-01-31T12:00:00 */
	if (strlen(s) < 20 || !all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2) ||
	    s[7] != '-' || !all_digits(s + 8, 2) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    !all_digits(s + 11, 2) || s[13] != ':' || !all_digits(s + 14, 2) || s[16] != ':' ||
	    !all_digits(s + 17, 2))
		return 0;
	s += 19;
	if (*s == '.') {
		int n = 0;

		for (s++; *s >= '0' && *s <= '9'; s++)
			n++;
		if (n == 0)
			return 0;
	}
	if ((*s == 'Z' || *s == 'z') && s[1] == '\0')
		return 1;
	return (*s == '+' || *s == '-') && all_digits(s + 1, 2) && s[3] == ':' &&
	       all_digits(s + 4, 2) && s[6] == '\0';
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"home", required_argument, NULL, 'H'},
		{"admin-home", required_argument, NULL, 'A'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct pc_cli ctx = {
		.db = getenv("POINTCLEAR_DB"),
		.home = getenv("POINTCLEAR_HOME"),
		.admin_home = getenv("POINTCLEAR_ADMIN_HOME"),
		.cmd = NULL,
	};
	static char admin_default[HOME_PATH_MAX];
	int c;

	/* the contract library's signing and key ids run on libsodium */
	if (sodium_init() < 0) {
		fprintf(stderr, "pointclear: libsodium cannot be initialised\n");
		return 1;
	}
	if (!ctx.db || !*ctx.db)
		ctx.db = "dbname=pointclear";
	if (!ctx.home || !*ctx.home)
		ctx.home = "./pointclear-home";

	/* "+": stop at the subcommand, whose options are its own */
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			ctx.db = optarg;
			break;
		case 'H':
			ctx.home = optarg;
			break;
		case 'A':
			ctx.admin_home = optarg;
			break;
		case 'h':
			main_usage(stdout);
			return 0;
		case 'V':
			printf("pointclear %s\n", PC_VERSION);
			return 0;
		default:
			ctx.cmd = "options";
			cli_bad_option(&ctx, c, argv, "");
			main_usage(stderr);
			return 2;
		}
	}
	if (!ctx.admin_home || !*ctx.admin_home) {
		if (home_admin_default(admin_default, sizeof admin_default, ctx.home) != 0) {
			fprintf(stderr, "pointclear: no admin home can be made from --home '%s':"
			                " give --admin-home\n", ctx.home);
			return 2;
		}
		ctx.admin_home = admin_default;
	}
	if (optind >= argc) {
		main_usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++) {
		if (strcmp(argv[optind], subcommands[i].name) == 0) {
			ctx.cmd = subcommands[i].name;
			return subcommands[i].run(&ctx, argc - optind, argv + optind);
		}
	}
	fprintf(stderr, "pointclear: unknown subcommand '%s'\n", argv[optind]);
	main_usage(stderr);
	return 2;
}
