/* commands.h - the subcommands of `pointclear` and what they share.
 *
 * Every cmd_* receives the global context and its own argv (argv[0] is the
 * subcommand's name) and returns the process exit status: 0 success, 1 failure
 * (reported once, on stderr, through cli_fail), 2 usage error. */
#ifndef POINTCLEAR_COMMANDS_H
#define POINTCLEAR_COMMANDS_H

#include <stdint.h>

struct pc_cli {
	const char *db;     /* libpq conninfo (--db, POINTCLEAR_DB) */
	const char *home;   /* the daemon's keys and certificates (--home, POINTCLEAR_HOME) */
	const char *admin_home;  /* CA keys, merchants' files (--admin-home, POINTCLEAR_ADMIN_HOME) */
	const char *cmd;    /* "merchant add": names the subcommand in error messages */
};

/* One verb of a family ("merchant add"), for cli_dispatch. */
struct cli_verb {
	const char *name;
	int (*run)(struct pc_cli *ctx, int argc, char **argv);
	const char *summary;
};

int cmd_migrate(struct pc_cli *ctx, int argc, char **argv);
int cmd_init(struct pc_cli *ctx, int argc, char **argv);
int cmd_alliance(struct pc_cli *ctx, int argc, char **argv);
int cmd_merchant(struct pc_cli *ctx, int argc, char **argv);
int cmd_terms(struct pc_cli *ctx, int argc, char **argv);
int cmd_member(struct pc_cli *ctx, int argc, char **argv);
/* cmd_member_device.c: the member verbs of device keys and authorizations */
int member_add_device(struct pc_cli *ctx, int argc, char **argv);
int member_revoke_device(struct pc_cli *ctx, int argc, char **argv);
int member_keygen(struct pc_cli *ctx, int argc, char **argv);
int member_authorize(struct pc_cli *ctx, int argc, char **argv);
int cmd_submit(struct pc_cli *ctx, int argc, char **argv);
int cmd_lookup(struct pc_cli *ctx, int argc, char **argv);
int cmd_balance(struct pc_cli *ctx, int argc, char **argv);
int cmd_simulate(struct pc_cli *ctx, int argc, char **argv);
int cmd_admin(struct pc_cli *ctx, int argc, char **argv);
int cmd_check(struct pc_cli *ctx, int argc, char **argv);
int cmd_keys(struct pc_cli *ctx, int argc, char **argv);

/* ---- shared by the subcommands (tools/pointclear.c) ---- */

/* Prints "pointclear: <ctx->cmd>: <message>" on stderr; returns 1. */
int cli_fail(const struct pc_cli *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prints usage: on stdout and returns 0 for --help (status 0), else on stderr
 * and returns 2. */
int cli_usage(const char *usage, int status);

/* Reports a getopt_long failure (the `c` it returned, with ":" leading the
 * optstring) followed by the usage; returns 2. */
int cli_bad_option(const struct pc_cli *ctx, int c, char **argv, const char *usage);

/* Resets getopt for a fresh argv (glibc re-initialises on optind = 0). */
void cli_getopt_reset(void);

/* Runs the verb named by argv[1] of a family; `family` is e.g. "merchant". */
int cli_dispatch(struct pc_cli *ctx, const char *family, const struct cli_verb *verbs,
                 int nverbs, int argc, char **argv);

/* Whole-string decimal int64 within [min, max]. 0, or -1. */
int cli_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* "MINOR/POINTS": minor >= 0, points > 0. 0, or -1. */
int cli_parse_ratio(const char *s, int64_t *minor, int64_t *points);

/* Whether s is an RFC 3339 date-time ("2025-01-31T12:00:00Z", offsets and
 * fractions allowed); PostgreSQL then reads it as timestamptz. */
int cli_rfc3339_valid(const char *s);

/* ---- contract terms (tools/cmd_terms.c), also written by `merchant add` ---- */

struct db;

struct cli_terms {
	int64_t issue_minor, issue_points;     /* --issue-price MINOR/POINTS */
	int64_t redeem_minor, redeem_points;   /* --redeem-rate MINOR/POINTS */
};

/* Inserts a version of the terms, effective from `from` (RFC 3339) or, when NULL,
 * now (the transaction's time). 0, or -1 with the reason in d->err. */
int terms_insert(struct db *d, const char *alliance, const char *merchant,
                 const struct cli_terms *t, const char *from);

#endif
