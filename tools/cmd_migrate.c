/* cmd_migrate.c - `pointclear migrate`: applies the compiled-in sql/ migrations,
 * then the sql/functions/ files whose text changed. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "db.h"
#include "migrations.h"

static const char usage[] =
	"usage: pointclear migrate\n"
	"  Applies the compiled-in sql/ migrations not yet applied, in order, each in\n"
	"  its own transaction, recording them in schema_migrations; then each\n"
	"  sql/functions/ file, in name order, whose text differs from the one last\n"
	"  applied, recording its SHA-256 in schema_functions. A database whose\n"
	"  recorded migrations are not this build's (a pre-0.1.0 development build's)\n"
	"  is refused and left as it is. Run it as the role that owns the schema;\n"
	"  it creates the group role pointclear_daemon, whose members may only run\n"
	"  the daemon (`pointclear admin daemon-role`), when absent and allowed to.\n";

/* A constant key: every `pointclear migrate` against one database takes the same
 * session lock, so concurrent runs apply each migration once, one after another. */
static const char sql_lock[] = "SELECT pg_advisory_lock(hashtext($1))";
static const char sql_unlock[] = "SELECT pg_advisory_unlock(hashtext($1))";
static const char lock_name[] = "pointclear.migrate";

static const char sql_create[] =
	"CREATE TABLE IF NOT EXISTS schema_migrations ("
	" version int PRIMARY KEY,"
	" name text NOT NULL,"
	" applied_at timestamptz NOT NULL DEFAULT now())";
static const char sql_applied[] = "SELECT 1 FROM schema_migrations WHERE version = $1";
static const char sql_recorded[] = "SELECT version, name FROM schema_migrations ORDER BY version";
static const char sql_record[] = "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)";

/* A function's definition is applied again whenever its text changes, so that a
 * change to it is a diff of one file rather than a copy in a new migration. The
 * hash is taken by the server, of the text as sent. */
static const char sql_create_functions[] =
	"CREATE TABLE IF NOT EXISTS schema_functions ("
	" name text PRIMARY KEY,"
	" sha256 bytea NOT NULL,"
	" applied_at timestamptz NOT NULL DEFAULT now())";
static const char sql_function_current[] =
	"SELECT 1 FROM schema_functions WHERE name = $1 AND sha256 = sha256(convert_to($2, 'UTF8'))";
static const char sql_function_record[] =
	"INSERT INTO schema_functions (name, sha256) VALUES ($1, sha256(convert_to($2, 'UTF8')))"
	" ON CONFLICT (name) DO UPDATE SET sha256 = EXCLUDED.sha256, applied_at = now()";

/* The group role the daemon's login roles belong to (sql/002_daemon_role.sql).
 * Roles belong to the cluster, not to a database, so no migration can be the one
 * place it is made: it must exist before the grants of every migrate run. */
static const char daemon_group[] = "pointclear_daemon";
static const char sql_role_exists[] = "SELECT 1 FROM pg_roles WHERE rolname = $1";
static const char sql_may_create_role[] =
	"SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user";
/* DDL takes no parameters; the name is the constant above */
static const char sql_create_group[] =
	"CREATE ROLE pointclear_daemon NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"
	" NOREPLICATION NOBYPASSRLS";

/* 1 when ROLE exists, 0 when not, -1 (d->err). */
static int role_exists(struct db *d, const char *role)
{
	const char *params[1] = {role};
	PGresult *res = db_query(d, sql_role_exists, 1, params);
	int n;

	if (!res)
		return -1;
	n = PQntuples(res);
	PQclear(res);
	return n > 0;
}

/* Creates the daemon's group role when absent and the owner may; else says what
 * a superuser must run. 0, or 1 (reported). */
static int ensure_daemon_group(struct pc_cli *ctx, struct db *d)
{
	PGresult *res;
	int r = role_exists(d, daemon_group), may;

	if (r != 0)
		return r < 0 ? cli_fail(ctx, "%s", d->err) : 0;
	if (!(res = db_query(d, sql_may_create_role, 0, NULL)))
		return cli_fail(ctx, "%s", d->err);
	may = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!may)
		return cli_fail(ctx, "role %s does not exist and %s may not create roles; as a"
		                " superuser run: %s; then migrate again", daemon_group,
		                PQuser(d->conn), sql_create_group);
	if (db_exec(d, sql_create_group, 0, NULL) != 0) {
		/* another database's migrate may have made it meanwhile */
		if ((db_failed_with(d, "42710") || db_failed_with(d, "23505")) &&
		    role_exists(d, daemon_group) == 1)
			return 0;
		return cli_fail(ctx, "%s", d->err);
	}
	printf("created role %s\n", daemon_group);
	return 0;
}

/* Applies SCRIPT, named NAME, in its own transaction unless SQL_DONE (its first
 * NDONE of PARAMS) finds it already applied, and records it with SQL_RECORD (both
 * PARAMS): the one way a migration and a function definition are applied.
 * 1 applied, 0 already there, -1. */
static int apply_once(struct pc_cli *ctx, struct db *d, const char *name, const char *script,
                      const char *sql_done, int ndone, const char *sql_record,
                      const char *const params[2])
{
	PGresult *res;
	int done;

	if (db_begin(d) != 0)
		goto fail;
	res = db_query(d, sql_done, ndone, params);
	if (!res)
		goto fail;
	done = PQntuples(res) > 0;
	PQclear(res);
	if (done) {
		db_rollback(d);
		return 0;
	}
	/* our own compiled-in text, several statements: PQexec, not PQexecParams */
	if (db_exec_script(d, script) != 0 || db_exec(d, sql_record, 2, params) != 0 ||
	    db_commit(d) != 0)
		goto fail;
	printf("applied %s\n", name);
	return 1;
fail:
	db_rollback(d);
	cli_fail(ctx, "%s: %s", name, d->err);
	return -1;
}

/* The compiled-in migration numbered VERSION, or NULL. */
static const struct pc_migration *migration_of(int version)
{
	for (int i = 0; i < pc_migrations_count; i++)
		if (pc_migrations[i].version == version)
			return &pc_migrations[i];
	return NULL;
}

/* 0 when every migration the database records is this build's under the same
 * name, so that what is left to apply builds on what is there. Development
 * builds before 0.1.0 numbered other migrations (001_core.sql .. 012); there was
 * no release, so such a database is not upgraded: it is refused untouched. */
static int check_recorded(struct pc_cli *ctx, struct db *d)
{
	PGresult *res = db_query(d, sql_recorded, 0, NULL);
	int rc = 0;

	if (!res)
		return cli_fail(ctx, "%s", d->err);
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		int version = atoi(PQgetvalue(res, i, 0));
		const char *name = PQgetvalue(res, i, 1);
		const struct pc_migration *m = migration_of(version);

		if (strcmp(name, "001_core.sql") == 0)
			rc = cli_fail(ctx, "this database was created by a pre-0.1.0 development build"
			              " (schema_migrations holds %s); recreate it", name);
		else if (!m)
			rc = cli_fail(ctx, "this database holds migration %s, which this build does not"
			              " know; a newer pointclear made it", name);
		else if (strcmp(name, m->name) != 0)
			rc = cli_fail(ctx, "this database applied %s as migration %d, where this build"
			              " has %s; recreate it", name, version, m->name);
	}
	PQclear(res);
	return rc;
}

int cmd_migrate(struct pc_cli *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *lock_params[1] = {lock_name};
	struct db d;
	int c, applied = 0, rc = 0;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h')
			return cli_usage(usage, 0);
		return cli_bad_option(ctx, c, argv, usage);
	}
	if (optind != argc)
		return cli_usage(usage, 2);

	if (db_open(&d, ctx->db) != 0)
		return cli_fail(ctx, "%s", d.err);
	if (db_exec(&d, sql_lock, 1, lock_params) != 0 || db_exec(&d, sql_create, 0, NULL) != 0) {
		rc = cli_fail(ctx, "%s", d.err);
		goto out;
	}
	if (check_recorded(ctx, &d) != 0) {
		rc = 1;
		goto unlock;
	}
	if (db_exec(&d, sql_create_functions, 0, NULL) != 0) {
		rc = cli_fail(ctx, "%s", d.err);
		goto out;
	}
	if (ensure_daemon_group(ctx, &d) != 0) {
		rc = 1;
		goto unlock;
	}
	for (int i = 0; rc == 0 && i < pc_migrations_count; i++) {
		const struct pc_migration *m = &pc_migrations[i];
		char version[16];
		const char *params[2] = {version, m->name};
		int r;

		snprintf(version, sizeof version, "%d", m->version);
		r = apply_once(ctx, &d, m->name, m->sql, sql_applied, 1, sql_record, params);
		rc = r < 0;
		applied += r > 0;
	}
	/* after every migration: a definition may use what the latest one made; in
	 * file-name order, the order the functions/NN_ prefixes give */
	for (int i = 0; rc == 0 && i < pc_functions_count; i++) {
		const struct pc_function *f = &pc_functions[i];
		const char *params[2] = {f->name, f->sql};
		int r = apply_once(ctx, &d, f->name, f->sql, sql_function_current, 2,
		                   sql_function_record, params);

		rc = r < 0;
		applied += r > 0;
	}
	if (rc == 0 && applied == 0)
		printf("up to date\n");
unlock:
	/* closing the session would release the lock too; say so explicitly */
	db_exec(&d, sql_unlock, 1, lock_params);
out:
	db_close(&d);
	return rc;
}
