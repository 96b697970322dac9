/* db.c - an asynchronous libpq connection in pipeline mode (see db.h).
 *
 * Connect phase: libpq may replace its socket between PQconnectPoll calls, so
 * each poll gets a fresh one-shot event on the socket re-read from PQsocket().
 * Connected phase: one persistent read event; a write event only while PQflush
 * has bytes left, and input is consumed while flushing so neither side can block
 * on a full buffer. */
#include "db.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "log.h"

enum db_state { DB_IDLE, DB_CONNECTING, DB_SETUP, DB_READY, DB_WAITING };

struct db_query {
	TAILQ_ENTRY(db_query) link;
	pc_db_done_cb cb;         /* NULL for the wrapper's own setup queries */
	void *arg;
	PGresult *res;
	bool failed;
	struct timespec sent;
};
TAILQ_HEAD(db_queries, db_query);

struct pc_db {
	struct event_base *base;
	struct pc_db_opts opts;
	struct pc_db_hooks hooks;
	enum db_state state;
	PGconn *conn;
	struct event *connect_ev;   /* one-shot, connect phase */
	struct event *read_ev;      /* persistent, connected phase */
	struct event *write_ev;     /* one-shot, while output is pending */
	struct timespec retry_at;   /* DB_WAITING: reconnect from then on (pc_db_tick) */
	struct db_queries queries;
	int inflight;
	int setup_left;
};

static void db_lost(struct pc_db *db, const char *why);
static void db_connect_poll(evutil_socket_t fd, short what, void *arg);

static void db_notice(void *arg, const PGresult *res)
{
	struct pc_db *db = arg;
	log_debug("db=%s notice=\"%s\"", db->opts.name, PQresultErrorMessage(res));
}

static double elapsed_ms(const struct timespec *since)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) * 1e3 + (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

static void db_free_events(struct pc_db *db)
{
	if (db->connect_ev) { event_free(db->connect_ev); db->connect_ev = NULL; }
	if (db->read_ev) { event_free(db->read_ev); db->read_ev = NULL; }
	if (db->write_ev) { event_free(db->write_ev); db->write_ev = NULL; }
}

/* Fails every query in flight. Their outcome is unknown: the Sync never came. */
static void db_fail_all(struct pc_db *db)
{
	struct db_query *q;
	while ((q = TAILQ_FIRST(&db->queries)) != NULL) {
		TAILQ_REMOVE(&db->queries, q, link);
		db->inflight--;
		if (q->cb)
			q->cb(q->arg, PC_DB_LOST, NULL);
		PQclear(q->res);
		free(q);
	}
}

static void db_flush(struct pc_db *db)
{
	int r = PQflush(db->conn);
	if (r < 0) {
		db_lost(db, "flush failed");
		return;
	}
	if (r > 0 && !event_pending(db->write_ev, EV_WRITE, NULL))
		event_add(db->write_ev, NULL);
}

static struct db_query *db_push(struct pc_db *db, pc_db_done_cb cb, void *arg)
{
	struct db_query *q = calloc(1, sizeof *q);
	if (!q)
		fatal("db: calloc");
	q->cb = cb;
	q->arg = arg;
	clock_gettime(CLOCK_MONOTONIC, &q->sent);
	TAILQ_INSERT_TAIL(&db->queries, q, link);
	db->inflight++;
	return q;
}

/* One query finished (its Sync arrived): hand it over. */
static void db_complete(struct pc_db *db, struct db_query *q)
{
	TAILQ_REMOVE(&db->queries, q, link);
	db->inflight--;
	enum pc_db_outcome outcome = PC_DB_OK;
	if (q->failed || !q->res)
		outcome = PC_DB_ERROR;
	if (q->cb) {
		q->cb(q->arg, outcome, q->res);
	} else if (outcome != PC_DB_OK) {
		log_error("db=%s setup failed: %s", db->opts.name,
		          q->res ? PQresultErrorMessage(q->res) : "aborted");
		PQclear(q->res);
		free(q);
		db_lost(db, "setup failed");
		return;
	} else if (--db->setup_left == 0) {
		db->state = DB_READY;
		log_info("db=%s state=ready", db->opts.name);
		if (db->hooks.on_ready)
			db->hooks.on_ready(db->hooks.arg);
	}
	PQclear(q->res);
	free(q);
}

static void db_drain_results(struct pc_db *db)
{
	int nulls = 0;
	while (db->conn && !TAILQ_EMPTY(&db->queries) && !PQisBusy(db->conn)) {
		struct db_query *q = TAILQ_FIRST(&db->queries);
		PGresult *res = PQgetResult(db->conn);
		if (!res) {
			if (++nulls > 1)
				break;   /* nothing more to read yet */
			continue;
		}
		nulls = 0;
		switch (PQresultStatus(res)) {
		case PGRES_PIPELINE_SYNC:
			PQclear(res);
			db_complete(db, q);
			break;
		case PGRES_TUPLES_OK:
		case PGRES_COMMAND_OK:
			if (q->res)
				PQclear(q->res);
			q->res = res;
			break;
		case PGRES_PIPELINE_ABORTED:
			q->failed = true;
			PQclear(res);
			break;
		default:
			q->failed = true;
			if (q->res)
				PQclear(q->res);
			q->res = res;
			break;
		}
	}
}

static void db_notifies(struct pc_db *db)
{
	PGnotify *n;
	while (db->conn && (n = PQnotifies(db->conn)) != NULL) {
		if (db->hooks.on_notify)
			db->hooks.on_notify(db->hooks.arg, n->relname);
		PQfreemem(n);
	}
}

/* Both socket events: take what arrived, send what waits, hand over what is done.
 * Input is consumed on write readiness too, so neither side blocks on a full
 * buffer while the other waits to be read. */
static void db_on_io(evutil_socket_t fd, short what, void *arg)
{
	struct pc_db *db = arg;
	(void)fd;
	if (!PQconsumeInput(db->conn)) {
		db_lost(db, PQerrorMessage(db->conn));
		return;
	}
	if (what & EV_WRITE) {
		db_flush(db);
		if (!db->conn)
			return;
	}
	db_drain_results(db);
	if (db->conn)
		db_notifies(db);
	if (db->conn && PQstatus(db->conn) == CONNECTION_BAD)
		db_lost(db, "connection bad");
}

static int db_send_setup(struct pc_db *db)
{
	for (int i = 0; i < db->opts.nstatements; i++) {
		const struct pc_db_statement *s = &db->opts.statements[i];
		if (!PQsendPrepare(db->conn, s->name, s->sql, s->nparams, s->types) ||
		    !PQpipelineSync(db->conn))
			return -1;
		db_push(db, NULL, NULL);
	}
	for (int i = 0; i < db->opts.nsetup; i++) {
		if (!PQsendQueryParams(db->conn, db->opts.setup[i], 0, NULL, NULL, NULL, NULL, 0) ||
		    !PQpipelineSync(db->conn))
			return -1;
		db_push(db, NULL, NULL);
	}
	db->setup_left = db->opts.nstatements + db->opts.nsetup;
	return 0;
}

static void db_connected(struct pc_db *db)
{
	evutil_socket_t fd = PQsocket(db->conn);
	if (PQsetnonblocking(db->conn, 1) != 0 || !PQenterPipelineMode(db->conn)) {
		db_lost(db, "cannot enter pipeline mode");
		return;
	}
	db->read_ev = event_new(db->base, fd, EV_READ | EV_PERSIST, db_on_io, db);
	db->write_ev = event_new(db->base, fd, EV_WRITE, db_on_io, db);
	if (!db->read_ev || !db->write_ev)
		fatal("db: event_new");
	event_add(db->read_ev, NULL);
	db->state = DB_SETUP;
	if (db_send_setup(db) < 0) {
		db_lost(db, PQerrorMessage(db->conn));
		return;
	}
	if (db->setup_left == 0) {
		db->state = DB_READY;
		if (db->hooks.on_ready)
			db->hooks.on_ready(db->hooks.arg);
	}
	db_flush(db);
}

static void db_wait_socket(struct pc_db *db, short what)
{
	if (db->connect_ev)
		event_free(db->connect_ev);
	db->connect_ev = event_new(db->base, PQsocket(db->conn), what, db_connect_poll, db);
	if (!db->connect_ev)
		fatal("db: event_new");
	struct timeval tv = { 10, 0 };   /* PQconnectPoll ignores connect_timeout */
	event_add(db->connect_ev, &tv);
}

static void db_connect_poll(evutil_socket_t fd, short what, void *arg)
{
	struct pc_db *db = arg;
	(void)fd;
	if (what & EV_TIMEOUT) {
		db_lost(db, "connect timed out");
		return;
	}
	switch (PQconnectPoll(db->conn)) {
	case PGRES_POLLING_READING:
		db_wait_socket(db, EV_READ);
		break;
	case PGRES_POLLING_WRITING:
		db_wait_socket(db, EV_WRITE);
		break;
	case PGRES_POLLING_OK:
		event_free(db->connect_ev);
		db->connect_ev = NULL;
		db_connected(db);
		break;
	default:
		db_lost(db, PQerrorMessage(db->conn));
		break;
	}
}

static void db_connect(struct pc_db *db)
{
	char app[64];
	const char *keys[] = {"dbname", "fallback_application_name", NULL};
	const char *vals[] = {db->opts.conninfo, app, NULL};

	/* pg_stat_activity then tells the writer from the control connection (the
	 * bench finds the writer's backend so); a conninfo's own name wins */
	snprintf(app, sizeof app, "pointcleard %s", db->opts.name);
	/* expand_dbname: the conninfo string (or URI) in dbname is taken apart */
	db->conn = PQconnectStartParams(keys, vals, 1);
	if (!db->conn)
		fatal("db: PQconnectStart");
	if (PQstatus(db->conn) == CONNECTION_BAD) {
		db_lost(db, PQerrorMessage(db->conn));
		return;
	}
	PQsetNoticeReceiver(db->conn, db_notice, db);
	db->state = DB_CONNECTING;
	db_wait_socket(db, EV_WRITE);
}

static void db_lost(struct pc_db *db, const char *why)
{
	char reason[256];
	snprintf(reason, sizeof reason, "%s", why ? why : "");
	reason[strcspn(reason, "\n")] = '\0';
	bool was_up = db->state == DB_SETUP || db->state == DB_READY;
	log_warnx("db=%s state=down reason=\"%s\" inflight=%d", db->opts.name, reason, db->inflight);
	db_free_events(db);
	if (db->conn) {
		PQfinish(db->conn);
		db->conn = NULL;
	}
	db->state = DB_WAITING;
	db_fail_all(db);
	if (was_up && db->hooks.on_lost)
		db->hooks.on_lost(db->hooks.arg);
	clock_gettime(CLOCK_MONOTONIC, &db->retry_at);
	db->retry_at.tv_sec += db->opts.reconnect_ms / 1000;
	db->retry_at.tv_nsec += (long)(db->opts.reconnect_ms % 1000) * 1000000;
}

struct pc_db *pc_db_new(struct event_base *base, const struct pc_db_opts *opts,
                        const struct pc_db_hooks *hooks)
{
	struct pc_db *db = calloc(1, sizeof *db);
	if (!db)
		fatal("db: calloc");
	db->base = base;
	db->opts = *opts;
	if (hooks)
		db->hooks = *hooks;
	TAILQ_INIT(&db->queries);
	return db;
}

void pc_db_start(struct pc_db *db)
{
	if (db->state == DB_IDLE)
		db_connect(db);
}

void pc_db_tick(struct pc_db *db)
{
	if (db->state == DB_WAITING) {
		if (elapsed_ms(&db->retry_at) >= 0)
			db_connect(db);
		return;
	}
	if (db->state != DB_SETUP && db->state != DB_READY)
		return;
	struct db_query *q = TAILQ_FIRST(&db->queries);
	if (q && elapsed_ms(&q->sent) > db->opts.query_timeout_ms)
		db_lost(db, "query timed out");
}

bool pc_db_ready(const struct pc_db *db)
{
	return db->state == DB_READY;
}

int pc_db_inflight(const struct pc_db *db)
{
	return db->inflight;
}

int pc_db_send_prepared(struct pc_db *db, const char *stmt, int nparams,
                        const char *const *values, const int *lengths,
                        const int *formats, int result_format,
                        pc_db_done_cb cb, void *arg)
{
	if (db->state != DB_READY)
		return -1;
	if (!PQsendQueryPrepared(db->conn, stmt, nparams, values, lengths, formats, result_format) ||
	    !PQpipelineSync(db->conn)) {
		db_lost(db, PQerrorMessage(db->conn));
		return -1;
	}
	db_push(db, cb, arg);
	db_flush(db);
	/* PQflush may have read the server's answers into libpq's buffer while
	 * sending; the socket will then never turn readable for them. One drain pass
	 * on the next loop iteration picks them up. */
	if (db->read_ev)
		event_active(db->read_ev, EV_READ, 0);
	return 0;
}

void pc_db_free(struct pc_db *db)
{
	if (!db)
		return;
	db_free_events(db);
	if (db->conn)
		PQfinish(db->conn);
	db->conn = NULL;
	db_fail_all(db);
	free(db);
}
