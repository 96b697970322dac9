-- test_roles.sql - who may do what in the database (sql/002_daemon_role.sql and
-- the grants in sql/functions/): every function is the schema owner's, nobody
-- else may execute one unless granted, a SECURITY DEFINER one cannot be led to
-- another schema's objects, and the daemon's group role may read what the key
-- cache loads and execute the daemon's three calls, and nothing else.
BEGIN;
SELECT plan(14);

-- pointclear's functions: those in public that no extension (pgTAP) brought
CREATE TEMP VIEW own_functions AS
SELECT p.oid, p.proname, p.proowner, p.prosecdef, p.proconfig
  FROM pg_proc p
 WHERE p.pronamespace = 'public'::regnamespace
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                      AND d.deptype = 'e');

SELECT cmp_ok((SELECT count(*) FROM own_functions), '>', 30::bigint,
              'the functions of sql/functions/ are there');

SELECT is_empty($$
    SELECT proname FROM own_functions
     WHERE proowner <> (SELECT relowner FROM pg_class WHERE oid = 'ledger'::regclass)$$,
    'every function is owned by the owner of the schema''s tables');

SELECT is_empty($$
    SELECT proname FROM own_functions WHERE has_function_privilege('public', oid, 'EXECUTE')$$,
    'no function is executable by PUBLIC');

SELECT set_eq($$SELECT proname::text FROM own_functions WHERE prosecdef$$,
              ARRAY['pc_record_batch', 'pc_expire_holds', 'pc_lookup_entries'],
              'the SECURITY DEFINER functions are the daemon''s two writers and its lookup');

-- pg_temp named last: otherwise it is searched first, and a caller's temporary
-- table or function would stand in for the schema's
SELECT is_empty($$
    SELECT proname FROM own_functions
     WHERE prosecdef
       AND NOT EXISTS (SELECT 1 FROM unnest(proconfig) c
                        WHERE c ~ '^search_path=pg_catalog, public, pg_temp$')$$,
    'every SECURITY DEFINER function fixes search_path = pg_catalog, public, pg_temp');

SELECT set_eq($$SELECT proname::text FROM own_functions
                WHERE has_function_privilege('pointclear_daemon', oid, 'EXECUTE')$$,
              ARRAY['pc_record_batch', 'pc_expire_holds', 'pc_us', 'pc_lookup_entries'],
              'the daemon''s group executes pc_record_batch, pc_expire_holds, pc_us and pc_lookup_entries only');

SELECT is_empty($$
    SELECT c.relname FROM pg_class c
     WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
       AND has_table_privilege('pointclear_daemon', c.oid,
                               'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')$$,
    'the daemon''s group may write no table, sequence or view');

SELECT set_eq($$
    SELECT c.relname || '.' || a.attname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
     WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
       AND a.attnum > 0 AND NOT a.attisdropped
       AND has_column_privilege('pointclear_daemon', c.oid, a.attnum, 'SELECT')$$,
    ARRAY['alliances.alliance_id', 'alliances.currency', 'alliances.window_future_s',
          'alliances.window_past_s', 'alliances.ca_cert_pem', 'alliances.consent_threshold',
          'member_devices.alliance_id', 'member_devices.key_id', 'member_devices.member_id',
          'member_devices.public_key', 'member_devices.revoked_at',
          'merchants.alliance_id', 'merchants.merchant_id', 'merchants.status',
          'merchant_keys.alliance_id', 'merchant_keys.key_id', 'merchant_keys.merchant_id',
          'merchant_keys.public_key', 'merchant_keys.valid_from', 'merchant_keys.revoked_at',
          'merchant_keys.grace_until',
          'merchant_certs.alliance_id', 'merchant_certs.serial', 'merchant_certs.revoked_at'],
    'the daemon''s group reads the columns its key cache loads (daemon/sql.c), no others');

SELECT ok(NOT has_schema_privilege('pointclear_daemon', 'public', 'CREATE'),
          'the daemon''s group may not create in schema public');
SELECT ok(NOT has_schema_privilege('public', 'public', 'CREATE'),
          'nor may PUBLIC');
SELECT ok(NOT has_database_privilege('pointclear_daemon', current_database(), 'TEMPORARY'),
          'the daemon''s group may not create temporary objects (pg_temp functions)');

SELECT is((SELECT row(rolsuper, rolcanlogin, rolcreaterole, rolcreatedb, rolreplication,
                      rolbypassrls)::text
             FROM pg_roles WHERE rolname = 'pointclear_daemon'),
          row(false, false, false, false, false, false)::text,
          'the group role has no attribute: it cannot log in, create or bypass');

SELECT is_empty($$
    SELECT 1 FROM pg_shdepend s
     WHERE s.refclassid = 'pg_authid'::regclass AND s.deptype = 'o'
       AND s.refobjid = 'pointclear_daemon'::regrole$$,
    'the group role owns nothing');

SELECT is_empty($$
    SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
     WHERE m.member = 'pointclear_daemon'::regrole$$,
    'the group role is a member of no other role');

SELECT * FROM finish();
ROLLBACK;
