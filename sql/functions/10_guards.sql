-- 10_guards: the rules the database keeps by itself, whoever connects, as
-- triggers, each created here with the function it runs.
--
-- The triggers live here rather than in the baseline because a trigger needs its
-- function when it is created, and functions are applied after the numbered
-- migrations (a function may use any table they make). CREATE OR REPLACE TRIGGER
-- lets this file run again whenever its text changes. A table added later that
-- must be append-only gets its two triggers here, not in its migration.

-- The ledger and what it records are append-only (001_baseline.sql).
CREATE OR REPLACE FUNCTION pc_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'pointclear: % is append-only; % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'P0001';
END $$;

CREATE OR REPLACE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger
    FOR EACH ROW EXECUTE FUNCTION pc_refuse_change();
CREATE OR REPLACE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION pc_refuse_change();
CREATE OR REPLACE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings
    FOR EACH ROW EXECUTE FUNCTION pc_refuse_change();
CREATE OR REPLACE TRIGGER postings_no_truncate BEFORE TRUNCATE ON postings
    FOR EACH STATEMENT EXECUTE FUNCTION pc_refuse_change();
CREATE OR REPLACE TRIGGER referral_touches_append_only BEFORE UPDATE OR DELETE ON referral_touches
    FOR EACH ROW EXECUTE FUNCTION pc_refuse_change();
CREATE OR REPLACE TRIGGER referral_touches_no_truncate BEFORE TRUNCATE ON referral_touches
    FOR EACH STATEMENT EXECUTE FUNCTION pc_refuse_change();
CREATE OR REPLACE TRIGGER purchases_append_only BEFORE UPDATE OR DELETE ON purchases
    FOR EACH ROW EXECUTE FUNCTION pc_refuse_change();
CREATE OR REPLACE TRIGGER purchases_no_truncate BEFORE TRUNCATE ON purchases
    FOR EACH STATEMENT EXECUTE FUNCTION pc_refuse_change();
CREATE OR REPLACE TRIGGER receipt_trees_append_only BEFORE UPDATE OR DELETE ON receipt_trees
    FOR EACH ROW EXECUTE FUNCTION pc_refuse_change();
CREATE OR REPLACE TRIGGER receipt_trees_no_truncate BEFORE TRUNCATE ON receipt_trees
    FOR EACH STATEMENT EXECUTE FUNCTION pc_refuse_change();
CREATE OR REPLACE TRIGGER key_history_append_only BEFORE UPDATE OR DELETE ON key_history
    FOR EACH ROW EXECUTE FUNCTION pc_refuse_change();
CREATE OR REPLACE TRIGGER key_history_no_truncate BEFORE TRUNCATE ON key_history
    FOR EACH STATEMENT EXECUTE FUNCTION pc_refuse_change();

-- A member id's form, checked only where it can change: a CHECK would run its
-- regular expression on every balance write-back too (members, 001_baseline.sql).
CREATE OR REPLACE FUNCTION pc_member_id_valid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.member_id !~ '^[A-Za-z0-9._:-]{1,64}$' THEN
        RAISE EXCEPTION 'pointclear: member id "%" is not 1 to 64 of A-Z a-z 0-9 . _ : -', NEW.member_id
            USING ERRCODE = 'check_violation', TABLE = 'members', COLUMN = 'member_id';
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER members_member_id_valid BEFORE INSERT OR UPDATE OF member_id ON members
    FOR EACH ROW EXECUTE FUNCTION pc_member_id_valid();

-- A trigger runs its function whoever fires it; nobody calls these directly.
REVOKE EXECUTE ON FUNCTION pc_refuse_change, pc_member_id_valid FROM PUBLIC;
