/* db.h - blocking libpq helpers for the CLI: connect, parameterized statements,
 * transactions, and one readable error per failure. */
#ifndef POINTCLEAR_TOOLS_DB_H
#define POINTCLEAR_TOOLS_DB_H

#include <libpq-fe.h>

struct db {
	PGconn *conn;
	char err[1024];      /* the last failure, ready to print */
	char sqlstate[6];    /* its SQLSTATE, "" when not from the server */
};

/* Connects (application_name=pointclear). 0, or -1 with d->err. */
int db_open(struct db *d, const char *conninfo);
void db_close(struct db *d);

/* Runs one parameterized statement (text parameters; NULL is SQL NULL). Returns
 * the result (caller PQclear()s it) when it succeeded, NULL with d->err. */
PGresult *db_query(struct db *d, const char *sql, int nparams, const char *const *params);

/* db_query for statements whose rows do not matter. 0, or -1. */
int db_exec(struct db *d, const char *sql, int nparams, const char *const *params);

/* Runs a multi-statement script of our own (compiled-in migrations): PQexec,
 * since the extended protocol takes one statement at a time. 0, or -1. */
int db_exec_script(struct db *d, const char *sql);

int db_begin(struct db *d);
int db_commit(struct db *d);
/* Rolls back, keeping d->err as the reason the caller is giving up. */
void db_rollback(struct db *d);

/* In one transaction: the parameterized change sql, which must touch exactly one
 * row, then notify (a NOTIFY statement, or NULL) so that daemons see it. 1 when
 * committed; 0 when it touched no row (or several) and nothing changed; -1 with
 * d->err, nothing changed. */
int db_change_one(struct db *d, const char *sql, int nparams, const char *const *params,
                  const char *notify);

/* Opens a connection holding one read-only snapshot (REPEATABLE READ) in which
 * the alliance exists, for reports whose figures must agree with each other.
 * 0 (the caller ends with db_rollback and db_close), or -1 with d->err and the
 * connection closed. */
int db_open_alliance_snapshot(struct db *d, const char *conninfo, const char *alliance_id);

/* Whether the last failure had this SQLSTATE (e.g. "23505" unique_violation). */
int db_failed_with(const struct db *d, const char *sqlstate);

#endif
