-- 002_daemon_role: what the daemon's database role may do, and nothing more.
--
-- The schema belongs to the role that runs `pointclear migrate` (the owner); the
-- CLI's admin commands use it too. pointcleard connects as a login role that is a
-- member of the group role pointclear_daemon (`pointclear admin daemon-role`),
-- which owns nothing. `pointclear migrate` creates the group role before this
-- migration runs (roles belong to the cluster, not to a database).
--
-- The group may read the columns the daemon's key cache loads (daemon/sql.c) and
-- listen for pc_keys; it may execute pc_record_batch, pc_expire_holds, pc_us and pc_lookup_entries
-- (granted beside each function, in sql/functions/, so that a function file
-- applied again grants again). Those two writers are SECURITY DEFINER: balances,
-- holds and the ledger change only through them, as the owner. Nothing here lets
-- the group write, alter or own anything; superuser-only settings
-- (session_replication_role) and server files stay out of reach because the
-- daemon's role has no attribute beyond LOGIN.

GRANT USAGE ON SCHEMA public TO pointclear_daemon;
GRANT SELECT (alliance_id, currency, window_future_s, window_past_s, ca_cert_pem)
    ON alliances TO pointclear_daemon;
GRANT SELECT (alliance_id, merchant_id, status) ON merchants TO pointclear_daemon;
GRANT SELECT (alliance_id, key_id, merchant_id, public_key, valid_from, revoked_at)
    ON merchant_keys TO pointclear_daemon;

-- New functions are not executable by everyone (PostgreSQL's default): each file
-- in sql/functions/ also revokes and grants explicitly, and tests/sql checks it.
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- Nobody but the owner creates objects in the schema (PostgreSQL 15's default for
-- a new database; a database made from an older template may still allow it),
-- and nobody but the owner makes temporary objects: with TEMPORARY any role can
-- create functions in its pg_temp schema. Both need the owner of the schema or
-- database (or a superuser); when the migrating role is neither, the migration
-- fails and says what to run.
DO $$
BEGIN
    IF pg_has_role((SELECT nspowner FROM pg_namespace WHERE nspname = 'public'), 'USAGE') THEN
        REVOKE CREATE ON SCHEMA public FROM PUBLIC;
    END IF;
    IF pg_has_role((SELECT datdba FROM pg_database WHERE datname = current_database()), 'USAGE') THEN
        EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
        EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO %I', current_database(), current_user);
    END IF;
    IF has_schema_privilege('pointclear_daemon', 'public', 'CREATE') THEN
        RAISE EXCEPTION 'pointclear: every role may create objects in schema public'
            USING HINT = 'as the owner of schema public (or a superuser) run: '
                         'REVOKE CREATE ON SCHEMA public FROM PUBLIC; then migrate again';
    END IF;
    IF has_database_privilege('pointclear_daemon', current_database(), 'TEMPORARY') THEN
        RAISE EXCEPTION 'pointclear: every role may create temporary objects in database %',
                current_database()
            USING HINT = format('as the owner of the database (or a superuser) run: '
                                'REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC; then migrate again',
                                current_database());
    END IF;
END $$;
