-- 30_holds: holds expire, by the daemon's sweep or when an event meets them first.
--
-- Member balances change only while the alliance's ledger head is locked (by a
-- batch, 40_record_batch.sql, and by the sweep here), so a batch decides on
-- balances it loaded once and writes them back once. A decline is a return
-- value, never an error: an error would roll back every other event of the batch.
--
-- Holds state: 1 active, 2 captured, 3 voided, 4 expired (001_baseline.sql).

-- Marks a member's holds that expired by `now` as expired; returns the points they
-- held, which the caller releases from the member's held points.
CREATE OR REPLACE FUNCTION pc_release_expired(a text, mem text, now timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE released bigint;
BEGIN
    WITH e AS (
        UPDATE holds SET state = 4, resolved_at = expires_at
         WHERE alliance_id = a AND member_id = mem AND state = 1 AND expires_at <= now
        RETURNING amount)
    SELECT coalesce(sum(amount), 0) INTO released FROM e;
    RETURN released;
END $$;

-- The daemon's sweep: release every hold expired by now, in bounded slices.
-- Only alliances with holds due are touched: their ledger heads are locked first,
-- in the same order as a batch, so the two never deadlock and no batch holds
-- balances it loaded before the sweep. With nothing due it locks nothing, so the
-- sweep never stalls the writer for an idle second.
--
-- Sequential scans are priced out (enable_seqscan = off), as for the batch: a
-- plan cached while holds was small is a sequential scan that stays until the
-- table is analyzed again, and a new alliance starts with no holds.
--
-- The daemon calls it, and its role may not write holds or members: it runs as
-- the owner (SECURITY DEFINER), with a search_path fixed to the schema and
-- pg_temp last, so that nothing the caller creates can stand in for a table or
-- function it names (PostgreSQL's "Writing SECURITY DEFINER Functions Safely").
CREATE OR REPLACE FUNCTION pc_expire_holds(max_holds integer) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET enable_seqscan = off AS $$
DECLARE due_alliances text[]; n bigint;
BEGIN
    SELECT array_agg(DISTINCT h.alliance_id) INTO due_alliances
      FROM holds h WHERE h.state = 1 AND h.expires_at <= clock_timestamp();
    IF due_alliances IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM 1 FROM ledger_heads x WHERE x.alliance_id = ANY (due_alliances)
      ORDER BY x.alliance_id FOR UPDATE;
    WITH due AS (
        SELECT alliance_id, seq FROM holds
         WHERE alliance_id = ANY (due_alliances) AND state = 1
           AND expires_at <= clock_timestamp()
         ORDER BY alliance_id, expires_at LIMIT max_holds),
    e AS (
        UPDATE holds h SET state = 4, resolved_at = h.expires_at
          FROM due WHERE h.alliance_id = due.alliance_id AND h.seq = due.seq AND h.state = 1
        RETURNING h.alliance_id, h.member_id, h.amount),
    per_member AS (
        SELECT alliance_id, member_id, sum(amount) AS released, count(*) AS holds
          FROM e GROUP BY 1, 2),
    upd AS (
        UPDATE members m SET held = m.held - p.released
          FROM per_member p
         WHERE m.alliance_id = p.alliance_id AND m.member_id = p.member_id
        RETURNING p.holds)
    SELECT coalesce(sum(holds), 0) INTO n FROM upd;
    RETURN n;
END $$;

-- The hold a CAPTURE or VOID names (target: its sequence, owner: its merchant),
-- locked. code OK when it can be resolved now, else the decline. A hold found
-- expired but not yet swept is marked expired here (expired_now): the caller
-- releases its points.
CREATE OR REPLACE FUNCTION pc_open_hold(a text, mer text, target bigint, owner text, now timestamptz,
                                        OUT hold holds, OUT code smallint, OUT expired_now boolean)
LANGUAGE plpgsql AS $$
BEGIN
    expired_now := false;
    IF target IS NULL THEN code := pc_code_hold_not_found(); RETURN; END IF;
    IF owner <> mer THEN code := pc_code_foreign_event(); RETURN; END IF;
    SELECT * INTO hold FROM holds WHERE alliance_id = a AND seq = target FOR UPDATE;
    IF NOT FOUND THEN code := pc_code_hold_not_found(); RETURN; END IF;
    IF hold.state = 1 AND hold.expires_at <= now THEN
        UPDATE holds SET state = 4, resolved_at = expires_at
         WHERE alliance_id = a AND seq = hold.seq;
        hold.state := 4;
        expired_now := true;
    END IF;
    code := CASE hold.state WHEN 1 THEN pc_code_ok() WHEN 2 THEN pc_code_hold_captured()
                            WHEN 3 THEN pc_code_hold_voided() ELSE pc_code_hold_expired() END;
END $$;

REVOKE EXECUTE ON FUNCTION pc_release_expired, pc_expire_holds, pc_open_hold FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pc_expire_holds TO pointclear_daemon;
