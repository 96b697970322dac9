/* harness.h - one real database, home directory and daemon per cmocka test.
 *
 * An integration test gets a fresh database `t_<name>_<pid>` in the throwaway
 * cluster the CTest fixture started (tests/integration/pg.sh; its conninfo is in
 * $PC_PG_DIR/conninfo), a temporary home made by the real CLI ($PC_POINTCLEAR:
 * migrate, init, alliance create, merchant add, member add) and a real
 * `pointcleard` ($PC_POINTCLEARD) on a free loopback port, spoken to over mutual
 * TLS with tools/client.h. Everything is torn down again, database included.
 *
 * Functions named harness_* that take the harness fail the running cmocka test
 * themselves (with the daemon's log tail) when the environment misbehaves; they
 * must only be called from the test's own thread. The *_on / *_raw functions
 * return an error instead and are safe from worker threads, one pc_client per
 * thread. */
#ifndef POINTCLEAR_TEST_HARNESS_H
#define POINTCLEAR_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "client.h"
#include "pointclear.pb-c.h"

#define HARNESS_ALLIANCE "acme"
#define HARNESS_MAX_MERCHANTS 8
#define HARNESS_MAX_ARGS 16

typedef Pointclear__V1__Event pc_event;

/* The merchants a harness can enrol, in order; opts.merchants takes the first n.
 * Their ids are also their industries. */
extern const char *const harness_merchant_ids[HARNESS_MAX_MERCHANTS];

struct harness_opts {
	const char *name;        /* short test name: [a-z0-9_], part of the database name */
	int merchants;           /* how many of harness_merchant_ids; default 4 */
	int members;             /* members m000001..; default 10 */
	/* extra arguments, NULL-terminated: to `alliance create` and to pointcleard */
	const char *alliance_args[HARNESS_MAX_ARGS];
	const char *daemon_args[HARNESS_MAX_ARGS];
	bool no_daemon;          /* set up the database and home only */
	/* its own PostgreSQL cluster (pg.sh start into the temp dir, $PC_PG_SH) instead
	 * of the fixture's shared one, for a test that stops and starts the server */
	bool private_pg;
};

struct harness_merchant {
	char id[65];
	uint8_t sk[64];          /* libsodium secret key of its current signing key */
	char key_id[17];
	char cert[512], key[512];
	struct pc_client *conn;  /* the harness's own cached connection, or NULL */
};

struct harness {
	struct harness_opts opts;
	char tmp[128];           /* temp dir under /tmp: home/, logs */
	char home[160];
	char dbname[64];
	char conninfo_base[1024];  /* host=... user=postgres */
	char conninfo[1200];       /* ... dbname=<dbname> */
	const char *cli;           /* $PC_POINTCLEAR */
	const char *daemon;        /* $PC_POINTCLEARD */
	int port;
	int daemon_pid;            /* 0 when not running */
	int daemon_starts;
	char daemon_log[192];
	char pg_dir[192];          /* opts.private_pg: pg.sh's DIR for the cluster, else "" */
	PGconn *db;
	uint8_t operator_pk[32];
	char operator_key_id[17];
	int nmerchants;
	struct harness_merchant merchants[HARNESS_MAX_MERCHANTS];
	uint64_t next_request_id;
	int cli_runs;
};

/* What one SUBMIT got back. */
struct harness_result {
	uint8_t type;              /* answer frame type: SUBMIT_RESULT or PROTOCOL_ERROR */
	uint64_t request_id;
	uint8_t *raw;              /* the answer's body, as received */
	size_t raw_len;
	Pointclear__V1__SubmitResult *res;  /* decoded SUBMIT_RESULT, or NULL */
	Pointclear__V1__ProtocolError *perr; /* decoded PROTOCOL_ERROR, or NULL */
	Pointclear__V1__ReceiptBody *body;   /* decoded receipt body, or NULL */
	uint8_t *envelope;         /* the SUBMIT body that was sent */
	size_t envelope_len;
	int disposition;           /* shortcuts, 0 when absent */
	int code;
	int status;
	uint64_t seq;
};

/* ---------------------------------------------------------------- life cycle */

/* Creates everything (fails the test on any error, also when run outside CTest
 * with PC_PG_DIR, PC_POINTCLEAR or PC_POINTCLEARD unset). */
struct harness *harness_new(const struct harness_opts *opts);
/* Stops the daemon (SIGTERM; a non-zero exit or a crash fails the test unless it
 * was killed on purpose), drops the database and removes the temp dir (kept when
 * PC_ITEST_KEEP is set). Returns 0, or -1 when the daemon did not stop cleanly. */
int harness_free(struct harness *h);

/* Runs `pointclear --db ... --home ... ARGS...` (NULL-terminated). Returns its exit
 * status; *out (may be NULL) receives its stdout, malloc'd. */
int harness_cli(struct harness *h, char **out, const char *arg, ...)
	__attribute__((sentinel));
/* Same, but fails the test with the output when the exit status is not 0. */
void harness_cli_ok(struct harness *h, char **out, const char *arg, ...)
	__attribute__((sentinel));

/* The conninfo pointcleard is started with: the test's database, as its own
 * daemon role (a member of pointclear_daemon only, `pointclear admin daemon-role`). */
void harness_daemon_conninfo(const struct harness *h, char *out, size_t len);
/* On h->port; waits for "listening on" and "db=writer state=ready". */
void harness_start_daemon(struct harness *h);
/* Sends sig; for SIGKILL reaps it at once, else waits (bounded) and returns the
 * wait status. Cached connections are closed. */
int harness_kill_daemon(struct harness *h, int sig);
void harness_restart_daemon(struct harness *h);  /* SIGTERM (if running), then start */
/* Prints the last lines of the daemon's log to stderr. */
void harness_dump_log(struct harness *h);
/* The daemon's whole log (all starts), malloc'd and NUL-terminated; *len may be NULL. */
char *harness_log_text(struct harness *h, size_t *len);
/* How many times needle occurs in the daemon's log. */
int harness_log_count(struct harness *h, const char *needle);
/* The daemon's resident set size in KiB (VmRSS of /proc/<pid>/status); fails the
 * test when no daemon runs. */
int64_t harness_daemon_rss_kb(struct harness *h);
/* Fails the running test after dumping the daemon log. */
void harness_fail(struct harness *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* opts.private_pg only: stops the test's PostgreSQL server ("fast": sessions are
 * terminated; "immediate": as a crash, recovery on restart), keeping its data, and
 * starts it again. The harness's own database connection is dropped first. */
void harness_pg_halt(struct harness *h, const char *mode);
void harness_pg_resume(struct harness *h);

/* ---------------------------------------------------------------- merchants, members */

struct harness_merchant *harness_merchant(struct harness *h, const char *id);
/* "m000001" style id of member i (1-based), as `member add --count N
 * --sequential m` makes it (test fixtures only: real ids are random). */
const char *harness_member(int i, char buf[16]);

/* ---------------------------------------------------------------- connections */

/* A new connection with that merchant's client certificate (fails the test). */
struct pc_client *harness_connect(struct harness *h, const char *merchant);
/* Same without failing: NULL with err. cert NULL: connect without a certificate. */
struct pc_client *harness_connect_raw(const struct harness *h, const char *cert,
                                      const char *key, int timeout_ms, char *err,
                                      size_t errlen);

/* A non-blocking connection for a client that does not read while it writes
 * (harness_nb.c): frames are queued in memory and moved by harness_nb_pump in
 * the caller's loop, so a daemon that stops reading shows as unsent bytes instead
 * of a blocked thread. One thread per connection; no cmocka. */
struct harness_nb;
/* Connects with the merchant's certificate; sockbuf > 0 sets a small SO_RCVBUF
 * first (the kernel then holds few answers for a client that does not read).
 * NULL with err. */
struct harness_nb *harness_nb_connect(const struct harness *h, const char *merchant,
                                      int sockbuf, char *err, size_t errlen);
/* Appends one frame to the bytes to send. */
void harness_nb_queue(struct harness_nb *c, uint8_t type, uint64_t request_id,
                      const uint8_t *body, size_t body_len);
/* Bytes queued and not yet taken by the socket. */
size_t harness_nb_unsent(const struct harness_nb *c);
/* Waits up to timeout_ms for the socket, then sends what it takes and, when
 * reading, reads what arrived; *progress (may be NULL) gets the bytes moved
 * either way. 0, or -1 on an error or EOF (with err). */
int harness_nb_pump(struct harness_nb *c, bool reading, int timeout_ms, size_t *progress,
                    char *err, size_t errlen);
/* Takes one whole received frame: 1 (body malloc'd or NULL when empty), 0 when
 * none is complete yet, -1 when the stream is not frames. */
int harness_nb_next_frame(struct harness_nb *c, uint8_t *type, uint64_t *request_id,
                          uint8_t **body, size_t *body_len);
void harness_nb_close(struct harness_nb *c);

/* ---------------------------------------------------------------- events */

int64_t harness_now_us(void);

/* Each builds a malloc'd Event of HARNESS_ALLIANCE, event time now, store-1/pos-1.
 * Free with harness_event_free. */
pc_event *harness_earn(const char *merchant, const char *event_id, const char *member,
                       int64_t points);
pc_event *harness_redeem(const char *merchant, const char *event_id, const char *member,
                         int64_t points);
pc_event *harness_hold(const char *merchant, const char *event_id, const char *member,
                       int64_t points, uint32_t duration_s);
pc_event *harness_capture(const char *merchant, const char *event_id,
                          const char *hold_event_id, int64_t points);
pc_event *harness_capture_seq(const char *merchant, const char *event_id, uint64_t hold_seq,
                              int64_t points);
pc_event *harness_void(const char *merchant, const char *event_id, const char *hold_event_id);
pc_event *harness_reversal(const char *merchant, const char *event_id,
                           const char *original_event_id, int64_t amount);
pc_event *harness_reversal_seq(const char *merchant, const char *event_id,
                               uint64_t original_seq, int64_t amount);
pc_event *harness_referral(const char *merchant, const char *event_id, const char *member,
                           const char *beneficiary, const char *campaign);
pc_event *harness_purchase(const char *merchant, const char *event_id, const char *member,
                           int64_t amount_minor, const char *currency);
void harness_event_free(pc_event *ev);
/* Replaces a string field of an event (frees the old value). */
void harness_set_str(char **field, const char *value);

/* The canonical Event bytes, malloc'd. */
uint8_t *harness_event_pack(const pc_event *ev, size_t *len);
/* A SUBMIT body (SignedEvent) for arbitrary payload bytes, signed with sk. */
uint8_t *harness_envelope(const uint8_t *payload, size_t payload_len, const uint8_t sk[64],
                          const char *key_id, size_t *len);
/* A SUBMIT body for ev signed with the merchant's current key. */
uint8_t *harness_sign(struct harness *h, const char *merchant, const pc_event *ev,
                      size_t *len);
/* The SUBMIT body of harness_earn(merchant, event_id, member, points), signed
 * with the merchant's current key; malloc'd. */
uint8_t *harness_signed_earn(struct harness *h, const char *merchant, const char *event_id,
                             const char *member, int64_t points, size_t *len);

/* ---------------------------------------------------------------- submitting */

/* Signs ev with the merchant's key, sends it on the merchant's cached connection
 * (opened on first use) and reads the answer into r (fails the test on I/O error
 * or a request id mismatch). */
void harness_submit(struct harness *h, const char *merchant, const pc_event *ev,
                    struct harness_result *r);
/* Sends an already built SUBMIT body (copied into r->envelope) on the merchant's
 * cached connection and reads the answer. */
void harness_submit_envelope(struct harness *h, const char *merchant, const uint8_t *env,
                             size_t env_len, struct harness_result *r);
/* Thread-safe, no cmocka: one SUBMIT of env on c, one answer read; 0, or -1 with
 * err (I/O error, EOF, or an answer to another request id). */
int harness_submit_on(struct pc_client *c, uint64_t request_id, const uint8_t *env,
                      size_t env_len, struct harness_result *r, char *err, size_t errlen);

/* The outcomes of one pipelined burst. */
struct harness_burst {
	int approved;                /* RECORDED, APPROVED */
	int declined_insufficient;   /* RECORDED, DECLINED, INSUFFICIENT_POINTS */
	int other;
};

/* Sends SUBMIT bodies env[from..n-1] on c, env[i] with request id i + 1, without
 * reading. 0, or -1 when a send failed. */
int harness_send_all(struct pc_client *c, uint8_t *const *env, const size_t *len, int from,
                     int n);
/* Sends the n SUBMIT bodies env[i] (len[i] bytes) at once on c, request ids 1..n,
 * then reads n answers, each id answered exactly once, and counts them into out.
 * No cmocka inside: client threads call it. 0, or -1 with err. */
int harness_burst(struct pc_client *c, uint8_t *const *env, const size_t *len, int n,
                  struct harness_burst *out, char *err, size_t errlen);
/* Reads the next answer frame on c and decodes it into r (zeroed by the caller).
 * 0; 1 when the daemon closed the connection; -1 on a read error or an answer
 * that does not decode. */
int harness_read_answer(struct pc_client *c, struct harness_result *r);
/* Decodes an answer frame into r (takes ownership of body). 0, or -1. */
int harness_result_decode(struct harness_result *r, uint8_t type, uint64_t request_id,
                          uint8_t *body, size_t body_len);
void harness_result_free(struct harness_result *r);
/* Closes and forgets the cached connection of a merchant (or all with NULL). */
void harness_drop_connections(struct harness *h, const char *merchant);
uint64_t harness_request_id(struct harness *h);

/* Asserts the answer's disposition and code (and, when status is not 0, the
 * decision's status), naming them on failure. */
#define harness_expect(h, r, disp, cd, st) \
	harness_expect_at((h), (r), (disp), (cd), (st), __FILE__, __LINE__)
void harness_expect_at(struct harness *h, const struct harness_result *r, int disposition,
                       int code, int status, const char *file, int line);

/* The receipt's signature verifies with HOME/operator/receipt.pub and names its key. */
bool harness_receipt_valid(struct harness *h, const struct harness_result *r);
/* The receipt's leaf hash equals pc_leaf_hash over its fields and the envelope sent,
 * and the SQL pc_leaf_hash of the ledger entry under its sequence. */
bool harness_leaf_valid(struct harness *h, const struct harness_result *r);

/* ---------------------------------------------------------------- database */

PGconn *harness_db(struct harness *h);
/* Runs a query with text parameters (NULL-terminated) that returns one row of one
 * integer column, and returns it; fails the test on error, no row, or NULL. */
int64_t harness_sql_int64(struct harness *h, const char *sql, ...) __attribute__((sentinel));
/* Runs a statement with text parameters (NULL-terminated); fails on error. */
void harness_sql_exec(struct harness *h, const char *sql, ...) __attribute__((sentinel));

/* Same for one text value, copied into out (fails on error, no row, or NULL). */
void harness_sql_text(struct harness *h, char *out, size_t outlen, const char *sql, ...)
	__attribute__((sentinel));

/* Takes HARNESS_ALLIANCE's ledger head FOR UPDATE in a transaction on a connection
 * of its own: every batch of the daemon's writer waits for it (each begins by
 * locking the heads) until harness_unlock_heads commits. Returns that connection. */
PGconn *harness_lock_heads(struct harness *h);
void harness_unlock_heads(struct harness *h, PGconn *lock);
/* True when a pc_record_batch call waits for a lock, seen from pg_stat_activity. */
bool harness_batch_waits(struct harness *h, void *unused);

/* The writer held behind a locked ledger head: harness_hold_writer locks the
 * heads, sends one earn of 1 point (event_id, to member) on a connection of
 * merchant's own, and returns once that batch waits for the lock, so events sent
 * after it queue in the writer. harness_release_writer unlocks and expects the
 * gate event RECORDED and APPROVED. */
struct harness_gate {
	PGconn *lock;
	struct pc_client *c;
	uint8_t *env;
	size_t len;
};
void harness_hold_writer(struct harness *h, struct harness_gate *g, const char *merchant,
                         const char *event_id, const char *member);
void harness_release_writer(struct harness *h, struct harness_gate *g);

int64_t harness_balance(struct harness *h, const char *member);
int64_t harness_held(struct harness *h, const char *member);
int64_t harness_ledger_count(struct harness *h);
/* Asserts the books: every approved entry's postings sum to zero, no postings for
 * declined entries, and members plus merchant accounts sum to zero. */
void harness_check_books(struct harness *h);

/* Waits up to timeout_ms for fn(h, arg) to return true, polling every 50 ms. */
bool harness_wait_until(struct harness *h, int timeout_ms,
                        bool (*fn)(struct harness *h, void *arg), void *arg);
void harness_sleep_ms(int ms);

/* cmocka glue: a group state holding the harness. */
#define HARNESS_STATE(state) ((struct harness *)*(state))

#endif
