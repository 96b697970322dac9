/* test_db_roles.c - what the daemon's database role cannot do, and what a role
 * that can (the owner) cannot hide.
 *
 * Every attack shown on a system whose daemon connected as a superuser is tried
 * again with the credentials the daemon runs with here (the harness starts it as
 * its own member of pointclear_daemon), and each must be refused with SQLSTATE
 * 42501 (insufficient_privilege) and change nothing; the daemon keeps working
 * meanwhile. Then the owner edits a balance, held points and the ledger behind
 * the functions' back, as a rogue DBA could, and `pointclear check` names each
 * member, sequence and both figures. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define RECORDED POINTCLEAR__V1__DISPOSITION__RECORDED
#define APPROVED POINTCLEAR__V1__STATUS__APPROVED
#define DECLINED POINTCLEAR__V1__STATUS__DECLINED
#define CODE_INSUFFICIENT POINTCLEAR__V1__CODE__INSUFFICIENT_POINTS

#define DENIED "42501"   /* insufficient_privilege */

static const char *M1 = "m000001";

/* A connection as the daemon: the conninfo pointcleard was started with. */
static PGconn *daemon_conn(struct harness *h)
{
	char ci[1400];
	harness_daemon_conninfo(h, ci, sizeof ci);
	PGconn *c = PQconnectdb(ci);
	if (PQstatus(c) != CONNECTION_OK)
		harness_fail(h, "connect as the daemon role: %s", PQerrorMessage(c));
	return c;
}

/* Runs sql on c and expects it refused with sqlstate. */
static void expect_refused(struct harness *h, PGconn *c, const char *sql, const char *sqlstate)
{
	PGresult *r = PQexec(c, sql);
	const char *got = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	ExecStatusType st = PQresultStatus(r);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || !got || strcmp(got, sqlstate) != 0) {
		fprintf(stderr, "as the daemon role: %s\n  expected SQLSTATE %s, got %s (%s)\n  %s\n",
		        sql, sqlstate, got ? got : "none", PQresStatus(st), PQresultErrorMessage(r));
		PQclear(r);
		harness_fail(h, "not refused with %s: %s", sqlstate, sql);
	}
	PQclear(r);
}

static void expect_ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		fprintf(stderr, "as the daemon role: %s: %s\n", sql, PQresultErrorMessage(r));
		PQclear(r);
		fail_msg("refused: %s", sql);
	}
	PQclear(r);
}

/* Earns M1 100 points and has a 4,000-point redemption declined: the state the
 * attacks below try to turn into an approval. */
static void test_baseline(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	struct harness_result r;
	pc_event *ev = harness_earn("cafe", "roles-earn-1", M1, 100);
	harness_submit(h, "cafe", ev, &r);
	harness_expect(h, &r, RECORDED, 0, APPROVED);
	harness_result_free(&r);
	harness_event_free(ev);
	ev = harness_redeem("gym", "roles-redeem-1", M1, 4000);
	harness_submit(h, "gym", ev, &r);
	harness_expect(h, &r, RECORDED, CODE_INSUFFICIENT, DECLINED);
	harness_result_free(&r);
	harness_event_free(ev);
	assert_int_equal(harness_balance(h, M1), 100);
}

/* The role has no attribute beyond LOGIN and belongs to pointclear_daemon only. */
static void test_daemon_role_is_plain(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	PGconn *c = daemon_conn(h);
	PGresult *r = PQexec(c,
		"SELECT r.rolsuper OR r.rolcreatedb OR r.rolcreaterole OR r.rolreplication"
		"        OR r.rolbypassrls,"
		"  (SELECT string_agg(g.rolname, ',') FROM pg_auth_members m"
		"     JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid)"
		" FROM pg_roles r WHERE r.rolname = current_user");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_int_equal(PQntuples(r), 1);
	assert_string_equal(PQgetvalue(r, 0, 0), "f");
	assert_string_equal(PQgetvalue(r, 0, 1), "pointclear_daemon");
	PQclear(r);
	PQfinish(c);
}

/* The attacks once shown on a running system, each with the daemon's credentials. */
static void test_attacks_refused(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	int64_t ledger = harness_ledger_count(h);
	PGconn *c = daemon_conn(h);

	/* the ledger: triggers off, then rewrite or remove entries */
	expect_refused(h, c, "ALTER TABLE ledger DISABLE TRIGGER USER", DENIED);
	expect_refused(h, c, "ALTER TABLE ledger DISABLE TRIGGER ALL", DENIED);
	expect_refused(h, c, "UPDATE ledger SET status = 1, code = 0 WHERE status = 2", DENIED);
	expect_refused(h, c, "DELETE FROM ledger", DENIED);
	expect_refused(h, c, "TRUNCATE ledger", DENIED);
	expect_refused(h, c,
		"INSERT INTO ledger (alliance_id, seq, accepted_at, merchant_id, event_id, key_id,"
		" kind, event_time, store_id, terminal_id, envelope, payload_hash, status, code,"
		" balance, available, applied, remaining, hold_expires_at_us)"
		" VALUES ('acme', 999, now(), 'gym', 'forged', '0000000000000000', 2, now(), 's', 't',"
		" '\\x00', '\\x00', 1, 0, 0, 0, 0, 0, 0)", DENIED);
	/* triggers off for the session: superuser only */
	expect_refused(h, c, "SET session_replication_role = replica", DENIED);
	expect_refused(h, c, "SET SESSION session_replication_role = 'replica'", DENIED);
	/* the append-only guard replaced by a no-op, or any function made */
	expect_refused(h, c,
		"CREATE OR REPLACE FUNCTION pc_refuse_change() RETURNS trigger LANGUAGE plpgsql"
		" AS $$ BEGIN RETURN NEW; END $$", DENIED);
	expect_refused(h, c,
		"CREATE FUNCTION public.pc_x() RETURNS int LANGUAGE sql AS 'SELECT 1'", DENIED);
	/* pg_temp would be searched first by an unqualified call: no temporary objects */
	expect_refused(h, c,
		"CREATE FUNCTION pg_temp.pc_x() RETURNS int LANGUAGE sql AS 'SELECT 1'", DENIED);
	expect_refused(h, c, "CREATE TEMP TABLE members (a int)", DENIED);
	expect_refused(h, c, "CREATE TABLE public.pc_x (a int)", DENIED);
	expect_refused(h, c, "CREATE SCHEMA pc_x", DENIED);
	/* the server's programs and files */
	expect_refused(h, c, "COPY (SELECT 1) TO PROGRAM 'true'", DENIED);
	expect_refused(h, c, "COPY merchants (status) FROM PROGRAM 'true'", DENIED);
	expect_refused(h, c, "COPY (SELECT 1) TO '/tmp/pointclear-roles-test'", DENIED);
	expect_refused(h, c, "COPY alliances (alliance_id) TO '/tmp/pointclear-roles-test'", DENIED);
	expect_refused(h, c, "COPY merchants (status) FROM '/etc/hostname'", DENIED);
	expect_refused(h, c, "SELECT pg_read_file('/etc/passwd')", DENIED);
	expect_refused(h, c, "SELECT pg_read_binary_file('/etc/passwd')", DENIED);
	expect_refused(h, c, "SELECT pg_ls_dir('.')", DENIED);
	expect_refused(h, c, "SELECT lo_import('/etc/passwd')", DENIED);
	/* balances, keys and certificates */
	expect_refused(h, c, "UPDATE members SET balance = balance + 5000", DENIED);
	expect_refused(h, c, "UPDATE members SET held = 0", DENIED);
	expect_refused(h, c,
		"INSERT INTO merchant_keys (alliance_id, key_id, merchant_id, public_key)"
		" VALUES ('acme', '00000000000000ff', 'gym', decode(repeat('ab', 32), 'hex'))", DENIED);
	expect_refused(h, c, "UPDATE merchant_keys SET revoked_at = NULL", DENIED);
	expect_refused(h, c, "UPDATE merchant_keys SET grace_until = NULL", DENIED);
	expect_refused(h, c, "UPDATE merchant_certs SET revoked_at = NULL", DENIED);
	expect_refused(h, c, "UPDATE merchants SET status = 'active' WHERE status = 'suspended'",
	               DENIED);
	expect_refused(h, c, "UPDATE alliances SET ca_cert_pem = 'forged'", DENIED);
	expect_refused(h, c, "UPDATE merchants SET status = 'active'", DENIED);
	/* columns the daemon does not load are not readable either */
	expect_refused(h, c, "SELECT balance FROM members", DENIED);
	expect_refused(h, c, "SELECT envelope FROM ledger LIMIT 1", DENIED);
	expect_refused(h, c, "SELECT name FROM alliances", DENIED);
	/* more rights for itself */
	expect_refused(h, c, "ALTER ROLE CURRENT_USER SUPERUSER", DENIED);
	expect_refused(h, c, "SET ROLE postgres", DENIED);
	expect_refused(h, c, "GRANT SELECT ON members TO PUBLIC", DENIED);
	PQfinish(c);

	/* nothing changed */
	assert_int_equal(harness_ledger_count(h), ledger);
	assert_int_equal(harness_balance(h, M1), 100);
	assert_int_equal(harness_sql_int64(h, "SELECT count(*) FROM merchant_keys WHERE key_id = "
	                                      "'00000000000000ff'", NULL), 0);
	assert_int_equal(harness_sql_int64(h, "SELECT count(*) FROM ledger WHERE status = 2", NULL), 1);
	assert_int_equal(harness_sql_int64(h, "SELECT count(*) FROM alliances WHERE "
	                                      "ca_cert_pem = 'forged'", NULL), 0);
}

/* Every table, whatever later migrations add: no write of any kind. */
static void test_every_table_refused(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	PGresult *t = PQexec(harness_db(h),
		"SELECT c.relname, (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.oid"
		"                    AND a.attnum = 1)"
		" FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'"
		" ORDER BY 1");
	assert_int_equal(PQresultStatus(t), PGRES_TUPLES_OK);
	assert_true(PQntuples(t) >= 16);   /* the baseline's 14 and the two schema_ tables */
	PGconn *c = daemon_conn(h);
	for (int i = 0; i < PQntuples(t); i++) {
		const char *rel = PQgetvalue(t, i, 0), *col = PQgetvalue(t, i, 1);
		char sql[512];

		snprintf(sql, sizeof sql, "UPDATE %s SET %s = %s", rel, col, col);
		expect_refused(h, c, sql, DENIED);
		snprintf(sql, sizeof sql, "DELETE FROM %s", rel);
		expect_refused(h, c, sql, DENIED);
		snprintf(sql, sizeof sql, "TRUNCATE %s", rel);
		expect_refused(h, c, sql, DENIED);
		snprintf(sql, sizeof sql, "INSERT INTO %s DEFAULT VALUES", rel);
		expect_refused(h, c, sql, DENIED);
		snprintf(sql, sizeof sql, "ALTER TABLE %s DISABLE TRIGGER ALL", rel);
		expect_refused(h, c, sql, DENIED);
		snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN pc_x int", rel);
		expect_refused(h, c, sql, DENIED);
		snprintf(sql, sizeof sql, "DROP TABLE %s", rel);
		expect_refused(h, c, sql, DENIED);
		/* holding every writer off: LOCK needs a transaction, then a rollback */
		snprintf(sql, sizeof sql, "BEGIN; LOCK TABLE %s IN ACCESS EXCLUSIVE MODE", rel);
		expect_refused(h, c, sql, DENIED);
		expect_ok(c, "ROLLBACK");
	}
	PQfinish(c);
	PQclear(t);
}

/* The owner's functions: only pc_record_batch, pc_expire_holds, pc_lookup_entries
 * (LOOKUP's read of the merchant's own entries) and pc_us are the daemon's to call. */
static void test_owner_functions_refused(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	PGconn *c = daemon_conn(h);

	expect_refused(h, c,
		"SELECT * FROM pc_decide_and_record(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
		" NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
		" 64)", DENIED);
	expect_refused(h, c, "SELECT pc_release_expired('acme', 'm000001', now())", DENIED);
	expect_refused(h, c, "SELECT * FROM pc_open_hold('acme', 'gym', 0, 'gym', now())", DENIED);
	expect_refused(h, c, "SELECT * FROM pc_check_alliance('acme')", DENIED);
	expect_refused(h, c, "SELECT pc_generic_plans_safe()", DENIED);
	expect_refused(h, c, "SELECT * FROM pc_replay_rows(ARRAY['acme'], ARRAY[0::bigint], 64)", DENIED);
	expect_refused(h, c, "SELECT pc_code_ok()", DENIED);
	expect_refused(h, c, "SELECT pc_leaf_hash('a', 0, 0, '\\x', 1::smallint, 0::smallint,"
	                     " 0, 0, 0, 0, 0, '\\x')", DENIED);
	/* and every other function of the schema, whatever is added later */
	PGresult *f = PQexec(c,
		"SELECT p.proname FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace"
		"   AND has_function_privilege(p.oid, 'EXECUTE')"
		"   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass"
		"                    AND d.objid = p.oid AND d.deptype = 'e')"
		" ORDER BY 1");
	assert_int_equal(PQresultStatus(f), PGRES_TUPLES_OK);
	assert_int_equal(PQntuples(f), 4);
	assert_string_equal(PQgetvalue(f, 0, 0), "pc_expire_holds");
	assert_string_equal(PQgetvalue(f, 1, 0), "pc_lookup_entries");
	assert_string_equal(PQgetvalue(f, 2, 0), "pc_record_batch");
	assert_string_equal(PQgetvalue(f, 3, 0), "pc_us");
	PQclear(f);
	/* what it may run changes only what the rules allow: nothing is due here */
	expect_ok(c, "SELECT pc_expire_holds(100)");
	PQfinish(c);
	assert_int_equal(harness_balance(h, M1), 100);
}

/* Anyone connected may NOTIFY any channel; PostgreSQL has no privilege for it.
 * It is harmless here: pc_keys only makes the daemon reload its key cache from
 * merchant_keys, merchants and alliances, which the daemon's role cannot write
 * (above), so a NOTIFY brings in nothing the owner did not put there; a flood of
 * them costs reloads of what is already loaded. */
static void test_notify_harmless(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	PGconn *c = daemon_conn(h);
	expect_ok(c, "NOTIFY pc_keys");
	expect_ok(c, "SELECT pg_notify('pc_keys', 'forged')");
	PQfinish(c);

	struct harness_result r;
	pc_event *ev = harness_earn("bookshop", "roles-after-notify", M1, 5);
	harness_submit(h, "bookshop", ev, &r);
	harness_expect(h, &r, RECORDED, 0, APPROVED);
	assert_true(harness_receipt_valid(h, &r));
	harness_result_free(&r);
	harness_event_free(ev);
	assert_int_equal(harness_balance(h, M1), 105);
	harness_check_books(h);
}

/* Runs `pointclear check acme`; returns its exit status, *out its stdout. */
static int run_check(struct harness *h, char **out)
{
	return harness_cli(h, out, "check", HARNESS_ALLIANCE, NULL);
}

/* The owner can write behind the functions' back (a superuser even past the
 * triggers); the check recomputes from the ledger and names what disagrees. */
static void test_owner_edit_detected(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	char *out = NULL;

	assert_int_equal(run_check(h, &out), 0);
	assert_non_null(strstr(out, "check acme: consistent"));
	free(out);

	/* a rogue DBA: guards off for the session, then the balance that would have
	 * approved the declined 4,000-point redemption */
	harness_sql_exec(h, "SET session_replication_role = replica", NULL);
	harness_sql_exec(h, "UPDATE members SET balance = balance + 5000 WHERE alliance_id = $1"
	                    " AND member_id = $2", HARNESS_ALLIANCE, M1, NULL);
	harness_sql_exec(h, "RESET session_replication_role", NULL);
	assert_int_equal(run_check(h, &out), 1);
	assert_non_null(strstr(out, "member-balance m000001 stored=5105 computed=105\n"));
	assert_null(strstr(out, "consistent"));
	free(out);
	harness_sql_exec(h, "UPDATE members SET balance = balance - 5000 WHERE alliance_id = $1"
	                    " AND member_id = $2", HARNESS_ALLIANCE, M1, NULL);
	assert_int_equal(run_check(h, &out), 0);
	free(out);

	/* held points no hold accounts for */
	harness_sql_exec(h, "UPDATE members SET held = held + 7 WHERE alliance_id = $1"
	                    " AND member_id = $2", HARNESS_ALLIANCE, M1, NULL);
	assert_int_equal(run_check(h, &out), 1);
	assert_non_null(strstr(out, "member-held m000001 stored=7 computed=0\n"));
	free(out);
	harness_sql_exec(h, "UPDATE members SET held = held - 7 WHERE alliance_id = $1"
	                    " AND member_id = $2", HARNESS_ALLIANCE, M1, NULL);

	/* an entry taken out of the ledger, past its append-only trigger */
	harness_sql_exec(h, "SET session_replication_role = replica", NULL);
	harness_sql_exec(h, "DELETE FROM ledger WHERE alliance_id = $1 AND seq = 1",
	                 HARNESS_ALLIANCE, NULL);
	harness_sql_exec(h, "RESET session_replication_role", NULL);
	assert_int_equal(run_check(h, &out), 1);
	assert_non_null(strstr(out, "ledger-gap 1 stored=1 computed=2\n"));
	assert_non_null(strstr(out, "ledger-head acme stored=3 computed=2\n"));
	free(out);
}

static void test_check_bad_input(void **state)
{
	struct harness *h = HARNESS_STATE(state);
	char *out = NULL;
	assert_int_equal(harness_cli(h, &out, "check", "no-such-alliance", NULL), 1);
	free(out);
	assert_int_equal(harness_cli(h, &out, "check", "bad id!", NULL), 1);
	free(out);
	assert_int_equal(harness_cli(h, &out, "check", NULL), 2);
	free(out);
}

static int setup(void **state)
{
	struct harness_opts o = {.name = "db_roles", .members = 3};
	*state = harness_new(&o);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	return harness_free(HARNESS_STATE(state));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_baseline),
		cmocka_unit_test(test_daemon_role_is_plain),
		cmocka_unit_test(test_attacks_refused),
		cmocka_unit_test(test_every_table_refused),
		cmocka_unit_test(test_owner_functions_refused),
		cmocka_unit_test(test_notify_harmless),
		cmocka_unit_test(test_check_bad_input),
		cmocka_unit_test(test_owner_edit_detected),
	};
	return cmocka_run_group_tests_name("integration.db_roles", tests, setup, teardown);
}
