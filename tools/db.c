/* db.c - blocking libpq helpers for the CLI (the daemon has its own async ones). */
#include <stdio.h>
#include <string.h>

#include "db.h"

/* Notices (such as "relation already exists, skipping") are not for the user. */
static void db_quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static void db_set_err(struct db *d, const char *msg)
{
	size_t n;

	snprintf(d->err, sizeof d->err, "%s", msg && *msg ? msg : "unknown database error");
	n = strlen(d->err);
	while (n > 0 && (d->err[n - 1] == '\n' || d->err[n - 1] == ' '))
		d->err[--n] = '\0';
}

static void db_set_result_err(struct db *d, const PGresult *res)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	snprintf(d->sqlstate, sizeof d->sqlstate, "%s", state ? state : "");
	if (!primary) {
		db_set_err(d, PQerrorMessage(d->conn));
		return;
	}
	if (detail)
		snprintf(d->err, sizeof d->err, "%s (%s)", primary, detail);
	else
		snprintf(d->err, sizeof d->err, "%s", primary);
}

int db_open(struct db *d, const char *conninfo)
{
	const char *keys[] = {"dbname", "fallback_application_name", NULL};
	const char *vals[] = {conninfo, "pointclear", NULL};

	memset(d, 0, sizeof *d);
	/* expand_dbname: the conninfo string (or URI) in dbname is taken apart */
	d->conn = PQconnectdbParams(keys, vals, 1);
	if (!d->conn) {
		db_set_err(d, "out of memory");
		return -1;
	}
	if (PQstatus(d->conn) != CONNECTION_OK) {
		db_set_err(d, PQerrorMessage(d->conn));
		PQfinish(d->conn);
		d->conn = NULL;
		return -1;
	}
	PQsetNoticeProcessor(d->conn, db_quiet, NULL);
	return 0;
}

void db_close(struct db *d)
{
	if (d->conn)
		PQfinish(d->conn);
	d->conn = NULL;
}

PGresult *db_query(struct db *d, const char *sql, int nparams, const char *const *params)
{
	PGresult *res = PQexecParams(d->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;
	db_set_result_err(d, res);
	PQclear(res);
	return NULL;
}

int db_exec(struct db *d, const char *sql, int nparams, const char *const *params)
{
	PGresult *res = db_query(d, sql, nparams, params);

	if (!res)
		return -1;
	PQclear(res);
	return 0;
}

int db_exec_script(struct db *d, const char *sql)
{
	PGresult *res = PQexec(d->conn, sql);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
		PQclear(res);
		return 0;
	}
	db_set_result_err(d, res);
	PQclear(res);
	return -1;
}

int db_begin(struct db *d)
{
	return db_exec(d, "BEGIN", 0, NULL);
}

int db_commit(struct db *d)
{
	PGresult *res = db_query(d, "COMMIT", 0, NULL);
	int ok;

	if (!res)
		return -1;
	/* COMMIT of a failed transaction "succeeds" as a ROLLBACK */
	ok = strcmp(PQcmdStatus(res), "COMMIT") == 0;
	PQclear(res);
	if (!ok) {
		snprintf(d->sqlstate, sizeof d->sqlstate, "40000");
		db_set_err(d, "transaction rolled back");
		return -1;
	}
	return 0;
}

void db_rollback(struct db *d)
{
	PGresult *res = PQexec(d->conn, "ROLLBACK");

	PQclear(res);
}

int db_change_one(struct db *d, const char *sql, int nparams, const char *const *params,
                  const char *notify)
{
	PGresult *res;
	int one;

	if (db_begin(d) != 0 || !(res = db_query(d, sql, nparams, params))) {
		db_rollback(d);
		return -1;
	}
	one = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (!one) {
		db_rollback(d);
		return 0;
	}
	if ((notify && db_exec(d, notify, 0, NULL) != 0) || db_commit(d) != 0) {
		db_rollback(d);
		return -1;
	}
	return 1;
}

int db_open_alliance_snapshot(struct db *d, const char *conninfo, const char *alliance_id)
{
	const char *params[1] = {alliance_id};
	PGresult *res;
	int found;

	if (db_open(d, conninfo) != 0)
		return -1;
	if (db_exec(d, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL) != 0 ||
	    !(res = db_query(d, "SELECT 1 FROM alliances WHERE alliance_id = $1", 1, params))) {
		db_close(d);
		return -1;
	}
	found = PQntuples(res) > 0;
	PQclear(res);
	if (!found) {
		snprintf(d->err, sizeof d->err, "no alliance %s", alliance_id);
		db_close(d);
		return -1;
	}
	return 0;
}

int db_failed_with(const struct db *d, const char *sqlstate)
{
	return strcmp(d->sqlstate, sqlstate) == 0;
}
