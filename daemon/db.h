/* db.h - one asynchronous PostgreSQL connection on the event loop.
 *
 * The connection runs in pipeline mode: every query is sent with its own Sync,
 * so it is its own implicit transaction, and its callback fires only when that
 * Sync comes back, i.e. after the commit. Queries are answered in the order sent.
 * A lost connection fails every query in flight with PC_DB_LOST (outcome unknown:
 * never report those as done); pc_db_tick, run periodically by the janitor,
 * reconnects it once the pause after the loss has passed. */
#ifndef PC_DB_H
#define PC_DB_H

#include <stdbool.h>
#include <libpq-fe.h>

struct event_base;
struct pc_db;

enum pc_db_outcome {
	PC_DB_OK,      /* committed; res holds the rows */
	PC_DB_ERROR,   /* the statement failed and was rolled back; res holds the error */
	PC_DB_LOST,    /* the connection failed before the Sync: outcome unknown; res NULL */
};

/* res belongs to the wrapper and is cleared after the callback returns. */
typedef void (*pc_db_done_cb)(void *arg, enum pc_db_outcome outcome, const PGresult *res);

struct pc_db_statement {
	const char *name;
	const char *sql;
	int nparams;
	const Oid *types;
};

struct pc_db_hooks {
	void (*on_ready)(void *arg);                   /* connected, statements prepared */
	void (*on_lost)(void *arg);                    /* after in-flight queries were failed */
	void (*on_notify)(void *arg, const char *channel);
	void *arg;
};

struct pc_db_opts {
	const char *conninfo;
	const char *name;                       /* for logs: "writer", "control" */
	const struct pc_db_statement *statements;
	int nstatements;
	const char *const *setup;               /* parameterless statements run after connect (LISTEN ...) */
	int nsetup;
	int reconnect_ms;                       /* pause after a loss before reconnecting */
	int query_timeout_ms;                   /* oldest query older than this: connection presumed dead */
};

struct pc_db *pc_db_new(struct event_base *base, const struct pc_db_opts *opts,
                        const struct pc_db_hooks *hooks);
void pc_db_start(struct pc_db *db);
/* Periodic work: reconnects a lost connection whose pause is over; presumes dead
 * one whose oldest query is older than query_timeout_ms. */
void pc_db_tick(struct pc_db *db);
bool pc_db_ready(const struct pc_db *db);
int pc_db_inflight(const struct pc_db *db);

/* Sends a prepared statement with its Sync. Returns 0, or -1 when not ready (the
 * callback is then never called). */
int pc_db_send_prepared(struct pc_db *db, const char *stmt, int nparams,
                        const char *const *values, const int *lengths,
                        const int *formats, int result_format,
                        pc_db_done_cb cb, void *arg);

/* Closes the connection and frees everything; in-flight callbacks get PC_DB_LOST. */
void pc_db_free(struct pc_db *db);

#endif
