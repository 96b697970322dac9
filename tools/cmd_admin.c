/* cmd_admin.c - `pointclear admin`: the database roles around the schema.
 *
 * `admin daemon-role NAME` makes the login role one pointcleard connects as: a
 * member of pointclear_daemon (sql/002_daemon_role.sql) with no attribute beyond
 * LOGIN, so that it can do what the group may and nothing else. Run as the
 * schema's owner, with the right to create roles. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "commands.h"
#include "db.h"

static const char daemon_role_usage[] =
	"usage: pointclear admin daemon-role NAME [--password-file FILE]\n"
	"  Creates the login role NAME for pointcleard: a member of pointclear_daemon\n"
	"  (made by `pointclear migrate`), NOSUPERUSER NOCREATEDB NOCREATEROLE\n"
	"  NOREPLICATION NOBYPASSRLS, INHERIT so that it uses the group's privileges.\n"
	"  Run again, it sets those attributes again and, with --password-file, the\n"
	"  password; a role of that name that is anything else is refused. The\n"
	"  password is the first line of FILE, which no one but its owner may read;\n"
	"  only its SCRAM verifier is sent to the server. NAME: 1 to 63 of a-z 0-9 _,\n"
	"  not starting with a digit or pg_.\n";

static const char daemon_group[] = "pointclear_daemon";

static const char sql_group_exists[] = "SELECT 1 FROM pg_roles WHERE rolname = $1";
static const char sql_may_create_role[] =
	"SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user";
/* What an existing role of that name is: anything but a plain member of the group
 * (more rights, other memberships, objects owned in any database) is not made a
 * daemon role by dropping attributes, it is refused. */
static const char sql_existing[] =
	"SELECT r.rolsuper OR r.rolcreatedb OR r.rolcreaterole OR r.rolreplication"
	"        OR r.rolbypassrls,"
	"  EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid"
	"           WHERE m.member = r.oid AND g.rolname = $2),"
	"  EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid"
	"           WHERE m.member = r.oid AND g.rolname <> $2),"
	"  EXISTS (SELECT 1 FROM pg_shdepend s WHERE s.refclassid = 'pg_authid'::regclass"
	"           AND s.refobjid = r.oid AND s.deptype = 'o')"
	"   OR EXISTS (SELECT 1 FROM pg_database x WHERE x.datdba = r.oid)"
	" FROM pg_roles r WHERE r.rolname = $1";

/* NAME: an identifier PostgreSQL takes unquoted, and not one of its own. */
static int role_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 63 || (s[0] >= '0' && s[0] <= '9') || strncmp(s, "pg_", 3) == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

/* The first line of PATH into pw (cap bytes). 0, or 1 (reported). */
static int read_password(struct pc_cli *ctx, const char *path, char *pw, size_t cap)
{
	struct stat st;
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return cli_fail(ctx, "%s: %s", path, strerror(errno));
	/* as ssh with a private key: a secret others can read is not kept secret */
	if (fstat(fileno(f), &st) != 0 || (st.st_mode & 077) != 0) {
		fclose(f);
		return cli_fail(ctx, "%s: readable by group or others (chmod 600 it)", path);
	}
	if (!fgets(pw, (int)cap, f)) {
		fclose(f);
		return cli_fail(ctx, "%s: empty", path);
	}
	fclose(f);
	n = strcspn(pw, "\r\n");
	if (pw[n] == '\0' && n == cap - 1)
		return cli_fail(ctx, "%s: the password is longer than %zu bytes", path, cap - 2);
	pw[n] = '\0';
	if (n == 0)
		return cli_fail(ctx, "%s: the first line is empty", path);
	return 0;
}

/* "CREATE ROLE name ..." or "ALTER ROLE name ...", with the verifier when given.
 * DDL takes no parameters: the name is checked and quoted, the verifier quoted. */
static char *role_sql(struct db *d, int create, const char *name, const char *verifier)
{
	char *ident = PQescapeIdentifier(d->conn, name, strlen(name));
	char *lit = verifier ? PQescapeLiteral(d->conn, verifier, strlen(verifier)) : NULL;
	char *sql = NULL;
	size_t len;

	if (!ident || (verifier && !lit))
		goto out;
	len = strlen(ident) + (lit ? strlen(lit) : 0) + 256;
	if (!(sql = malloc(len)))
		goto out;
	snprintf(sql, len, "%s ROLE %s LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE"
	         " NOREPLICATION NOBYPASSRLS%s%s", create ? "CREATE" : "ALTER", ident,
	         lit ? " PASSWORD " : "", lit ? lit : "");
out:
	PQfreemem(ident);
	PQfreemem(lit);
	return sql;
}

/* 0 when NAME may be (re)made a daemon role: absent (*exists 0), or a plain
 * member of the group (*exists 1). 1 (reported) otherwise. */
static int check_existing(struct pc_cli *ctx, struct db *d, const char *name, int *exists)
{
	const char *params[2] = {name, daemon_group};
	PGresult *res = db_query(d, sql_existing, 2, params);
	int rc = 0;

	if (!res)
		return cli_fail(ctx, "%s", d->err);
	*exists = PQntuples(res) > 0;
	if (*exists && (strcmp(PQgetvalue(res, 0, 0), "t") == 0 ||
	                strcmp(PQgetvalue(res, 0, 1), "t") != 0 ||
	                strcmp(PQgetvalue(res, 0, 2), "t") == 0 ||
	                strcmp(PQgetvalue(res, 0, 3), "t") == 0))
		rc = cli_fail(ctx, "role %s exists and is not a daemon role (it has more rights,"
		              " other memberships or owns objects); choose another name", name);
	PQclear(res);
	return rc;
}

static int admin_daemon_role(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"password-file", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *pwfile = NULL, *name;
	const char *params[1] = {daemon_group};
	char pw[1024] = "", *verifier = NULL, *sql = NULL;
	PGresult *res;
	struct db d;
	int c, exists = 0, may, rc = 1;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'p')
			pwfile = optarg;
		else if (c == 'h')
			return cli_usage(daemon_role_usage, 0);
		else
			return cli_bad_option(ctx, c, argv, daemon_role_usage);
	}
	if (optind != argc - 1)
		return cli_usage(daemon_role_usage, 2);
	name = argv[optind];
	if (!role_name_valid(name) || strcmp(name, daemon_group) == 0)
		return cli_fail(ctx, "'%s' is not a role name for a daemon (1 to 63 of a-z 0-9 _,"
		                " not starting with a digit or pg_, not %s)", name, daemon_group);
	if (pwfile && read_password(ctx, pwfile, pw, sizeof pw) != 0)
		return 1;

	if (db_open(&d, ctx->db) != 0) {
		cli_fail(ctx, "%s", d.err);
		goto wipe;
	}
	if (strcmp(name, PQuser(d.conn)) == 0) {
		cli_fail(ctx, "%s is the role this command runs as, the schema's owner;"
		         " the daemon needs a role of its own", name);
		goto out;
	}
	if (!(res = db_query(&d, sql_group_exists, 1, params))) {
		cli_fail(ctx, "%s", d.err);
		goto out;
	}
	may = PQntuples(res) > 0;
	PQclear(res);
	if (!may) {
		cli_fail(ctx, "role %s does not exist: run `pointclear migrate` first", daemon_group);
		goto out;
	}
	if (!(res = db_query(&d, sql_may_create_role, 0, NULL))) {
		cli_fail(ctx, "%s", d.err);
		goto out;
	}
	may = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!may) {
		cli_fail(ctx, "%s may not create roles; run this as a role with CREATEROLE",
		         PQuser(d.conn));
		goto out;
	}
	if (db_begin(&d) != 0)
		goto fail;
	if (check_existing(ctx, &d, name, &exists) != 0) {
		db_rollback(&d);
		goto out;
	}
	if (pw[0] && !(verifier = PQencryptPasswordConn(d.conn, pw, name, NULL))) {
		snprintf(d.err, sizeof d.err, "%s", PQerrorMessage(d.conn));
		goto fail;
	}
	if (!(sql = role_sql(&d, !exists, name, verifier))) {
		snprintf(d.err, sizeof d.err, "out of memory");
		goto fail;
	}
	if (db_exec(&d, sql, 0, NULL) != 0)
		goto fail;
	free(sql);
	sql = NULL;
	if (!exists) {
		char grant[160];

		/* name checked above: of a-z 0-9 _ only */
		snprintf(grant, sizeof grant, "GRANT %s TO %s", daemon_group, name);
		if (db_exec(&d, grant, 0, NULL) != 0)
			goto fail;
	}
	if (db_commit(&d) != 0)
		goto fail;
	printf("daemon role %s %s%s\n", name, exists ? "updated" : "created",
	       verifier ? ", password set" : "");
	rc = 0;
	goto out;
fail:
	db_rollback(&d);
	cli_fail(ctx, "%s", d.err);
out:
	free(sql);
	PQfreemem(verifier);
	db_close(&d);
wipe:
	sodium_memzero(pw, sizeof pw);
	return rc;
}

static const struct cli_verb verbs[] = {
	{"daemon-role", admin_daemon_role, "create the login role pointcleard connects as"},
};

int cmd_admin(struct pc_cli *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, "admin", verbs, sizeof verbs / sizeof verbs[0], argc, argv);
}
