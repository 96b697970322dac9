-- 003_rules_points: the helpers pc_apply_batch decides with.
--
-- Member balances change only while the alliance's ledger head is locked (by
-- pc_apply_batch, and by the hold sweep pc_expire_holds), so a batch decides on
-- balances it loaded once and writes them back once; what it cannot keep in hand
-- (holds, touches, purchases) is read and written here, per event. A decline is
-- a return value, never an error, because an error would roll back every other
-- event of the batch.
--
-- Codes and kinds are those of proto/pointclear.proto.

CREATE FUNCTION pc_ts(us bigint) RETURNS timestamptz LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT timestamptz '1970-01-01 00:00:00+00' + us * interval '1 microsecond'
$$;

-- Marks a member's holds that expired by `now` as expired; returns the points they
-- held, which the caller releases from the member's held points.
CREATE FUNCTION pc_release_expired(a text, mem text, now timestamptz) RETURNS bigint
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

-- The janitor's sweep: release every hold expired by now, in bounded slices.
-- Only alliances with holds due are touched: their ledger heads are locked first,
-- in the same order as pc_apply_batch, so the two never deadlock and no batch holds
-- balances it loaded before the sweep. With nothing due it locks nothing, so the
-- sweep never stalls the writer for an idle second.
CREATE FUNCTION pc_expire_holds(max_holds integer) RETURNS bigint
LANGUAGE plpgsql AS $$
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
-- locked. code 0 when it can be resolved now; else the decline: 51 not found,
-- 59 another merchant's, 55 captured, 54 voided, 53 expired. A hold found expired
-- but not yet swept is marked expired here (expired_now): the caller releases it.
CREATE FUNCTION pc_open_hold(a text, mer text, target bigint, owner text, now timestamptz,
                             OUT hold holds, OUT code smallint, OUT expired_now boolean)
LANGUAGE plpgsql AS $$
BEGIN
    expired_now := false;
    IF target IS NULL THEN code := 51; RETURN; END IF;
    IF owner <> mer THEN code := 59; RETURN; END IF;
    SELECT * INTO hold FROM holds WHERE alliance_id = a AND seq = target FOR UPDATE;
    IF NOT FOUND THEN code := 51; RETURN; END IF;
    IF hold.state = 1 AND hold.expires_at <= now THEN
        UPDATE holds SET state = 4, resolved_at = expires_at
         WHERE alliance_id = a AND seq = hold.seq;
        hold.state := 4;
        expired_now := true;
    END IF;
    code := CASE hold.state WHEN 1 THEN 0 WHEN 2 THEN 55 WHEN 3 THEN 54 ELSE 53 END;
END $$;
