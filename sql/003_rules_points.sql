-- 003_rules_points: the decisions that move points (EARN, REDEEM, HOLD, CAPTURE,
-- VOID, REVERSAL) and the touches that don't yet (REFERRAL, PURCHASE).
--
-- Each rule is called by pc_apply_batch with the entry's sequence already assigned,
-- and returns its outcome; a decline is a return value, never an error, because an
-- error would roll back every other event of the batch. Debits are conditional
-- UPDATEs, so the check and the change are one step whatever runs concurrently.
--
-- Codes and kinds are those of proto/pointclear.proto.

CREATE TYPE pc_outcome AS (
    status              smallint,   -- 1 approved, 2 declined
    code                smallint,
    balance             bigint,
    available           bigint,
    applied             bigint,
    remaining           bigint,
    hold_expires_at_us  bigint,
    ref_seq             bigint,
    member_id           text
);

CREATE FUNCTION pc_ts(us bigint) RETURNS timestamptz LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT timestamptz '1970-01-01 00:00:00+00' + us * interval '1 microsecond'
$$;

CREATE FUNCTION pc_max_points() RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT 9223372036854775807::bigint
$$;

CREATE FUNCTION pc_posting_reason(kind text, event_id text, why text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT kind || ' ' || event_id || coalesce(' / ' || why, '')
$$;

-- A member's outcome without a change: their balance as it stands.
CREATE FUNCTION pc_declined(a text, mem text, code smallint, ref bigint DEFAULT NULL,
                            remaining bigint DEFAULT 0, expires_us bigint DEFAULT 0)
RETURNS pc_outcome LANGUAGE plpgsql AS $$
DECLARE b bigint := 0; h bigint := 0;
BEGIN
    IF mem IS NOT NULL THEN
        SELECT m.balance, m.held INTO b, h FROM members m
         WHERE m.alliance_id = a AND m.member_id = mem;
    END IF;
    RETURN ROW(2, code, coalesce(b, 0), coalesce(b - h, 0), 0, remaining, expires_us, ref, mem)::pc_outcome;
END $$;

-- Release a member's holds that expired by `now`; returns the points released.
CREATE FUNCTION pc_release_expired(a text, mem text, now timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE released bigint;
BEGIN
    WITH e AS (
        UPDATE holds SET state = 4, resolved_at = expires_at
         WHERE alliance_id = a AND member_id = mem AND state = 1 AND expires_at <= now
        RETURNING amount)
    SELECT coalesce(sum(amount), 0) INTO released FROM e;
    IF released > 0 THEN
        UPDATE members SET held = held - released WHERE alliance_id = a AND member_id = mem;
    END IF;
    RETURN released;
END $$;

-- The janitor's sweep: release every hold expired by now, in bounded slices.
-- It takes the ledger heads first, in the same order as pc_apply_batch, so the two
-- never deadlock.
CREATE FUNCTION pc_expire_holds(max_holds integer) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    PERFORM 1 FROM ledger_heads ORDER BY alliance_id FOR UPDATE;
    WITH due AS (
        SELECT alliance_id, seq FROM holds
         WHERE state = 1 AND expires_at <= clock_timestamp()
         ORDER BY alliance_id, expires_at LIMIT max_holds),
    e AS (
        UPDATE holds h SET state = 4, resolved_at = h.expires_at
          FROM due WHERE h.alliance_id = due.alliance_id AND h.seq = due.seq
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

-- The entry a capture, void or reversal refers to: by event id (always the
-- sender's own namespace) or by sequence (which may be another merchant's).
CREATE FUNCTION pc_resolve_ref(a text, mer text, by_event text, by_seq bigint,
                               OUT target bigint, OUT owner text)
LANGUAGE plpgsql AS $$
BEGIN
    IF by_event IS NOT NULL THEN
        SELECT l.seq, l.merchant_id INTO target, owner FROM ledger l
         WHERE l.alliance_id = a AND l.merchant_id = mer AND l.event_id = by_event;
    ELSE
        SELECT l.seq, l.merchant_id INTO target, owner FROM ledger l
         WHERE l.alliance_id = a AND l.seq = by_seq;
    END IF;
END $$;

CREATE FUNCTION pc_rule_earn(a text, s bigint, mer text, mem text, n bigint,
                             why text, evid text)
RETURNS pc_outcome LANGUAGE plpgsql AS $$
DECLARE b bigint; h bigint; r text := pc_posting_reason('EARN', evid, why);
BEGIN
    UPDATE members SET balance = balance + n
     WHERE alliance_id = a AND member_id = mem AND balance <= pc_max_points() - n
    RETURNING balance, held INTO b, h;
    IF NOT FOUND THEN
        RETURN pc_declined(a, mem, 33::smallint);
    END IF;
    INSERT INTO postings VALUES (a, s, 1, 1, mem, n, r), (a, s, 2, 2, mer, -n, r);
    INSERT INTO reversible (alliance_id, seq, merchant_id, kind, member_id, amount)
    VALUES (a, s, mer, 1, mem, n);
    RETURN ROW(1, 0, b, b - h, n, n, 0, NULL, mem)::pc_outcome;
END $$;

-- Takes n from the spendable balance (balance - held), releasing the member's
-- expired holds once if that is what stands in the way. what: 'balance' debits
-- posted points (REDEEM), 'held' reserves them (HOLD).
CREATE FUNCTION pc_take_spendable(a text, mem text, n bigint, what text, now timestamptz,
                                  OUT ok boolean, OUT b bigint, OUT h bigint)
LANGUAGE plpgsql AS $$
BEGIN
    FOR attempt IN 1..2 LOOP
        IF what = 'balance' THEN
            UPDATE members SET balance = balance - n
             WHERE alliance_id = a AND member_id = mem AND balance - held >= n
            RETURNING balance, held INTO b, h;
        ELSE
            UPDATE members SET held = held + n
             WHERE alliance_id = a AND member_id = mem AND balance - held >= n
            RETURNING balance, held INTO b, h;
        END IF;
        ok := FOUND;
        EXIT WHEN ok OR attempt = 2 OR pc_release_expired(a, mem, now) = 0;
    END LOOP;
END $$;

CREATE FUNCTION pc_rule_redeem(a text, s bigint, mer text, mem text, n bigint,
                               why text, evid text, now timestamptz)
RETURNS pc_outcome LANGUAGE plpgsql AS $$
DECLARE t record; r text := pc_posting_reason('REDEEM', evid, why);
BEGIN
    t := pc_take_spendable(a, mem, n, 'balance', now);
    IF NOT t.ok THEN
        RETURN pc_declined(a, mem, 50::smallint);
    END IF;
    INSERT INTO postings VALUES (a, s, 1, 1, mem, -n, r), (a, s, 2, 3, mer, n, r);
    INSERT INTO reversible (alliance_id, seq, merchant_id, kind, member_id, amount)
    VALUES (a, s, mer, 2, mem, n);
    RETURN ROW(1, 0, t.b, t.b - t.h, n, n, 0, NULL, mem)::pc_outcome;
END $$;

CREATE FUNCTION pc_rule_hold(a text, s bigint, mer text, mem text, n bigint,
                             duration_s integer, now timestamptz)
RETURNS pc_outcome LANGUAGE plpgsql AS $$
DECLARE t record; expires timestamptz := now + make_interval(secs => duration_s);
BEGIN
    t := pc_take_spendable(a, mem, n, 'held', now);
    IF NOT t.ok THEN
        RETURN pc_declined(a, mem, 50::smallint);
    END IF;
    INSERT INTO holds (alliance_id, seq, merchant_id, member_id, amount, expires_at)
    VALUES (a, s, mer, mem, n, expires);
    RETURN ROW(1, 0, t.b, t.b - t.h, n, 0, pc_us(expires), NULL, mem)::pc_outcome;
END $$;

-- The hold a CAPTURE or VOID names, locked, after the checks both share.
-- Returns NULL hold and the decline code when it cannot be resolved now.
CREATE FUNCTION pc_open_hold(a text, mer text, ref_event text, ref_seq bigint,
                             now timestamptz, OUT hold holds, OUT code smallint)
LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    r := pc_resolve_ref(a, mer, ref_event, ref_seq);
    IF r.target IS NULL THEN code := 51; RETURN; END IF;
    IF r.owner <> mer THEN code := 59; RETURN; END IF;
    SELECT * INTO hold FROM holds WHERE alliance_id = a AND seq = r.target FOR UPDATE;
    IF NOT FOUND THEN code := 51; RETURN; END IF;
    IF hold.state = 1 AND hold.expires_at <= now THEN
        -- expired but not yet swept: resolve it as expired now
        UPDATE holds SET state = 4, resolved_at = expires_at
         WHERE alliance_id = a AND seq = hold.seq;
        UPDATE members SET held = held - hold.amount
         WHERE alliance_id = a AND member_id = hold.member_id;
        hold.state := 4;
    END IF;
    code := CASE hold.state WHEN 1 THEN 0 WHEN 2 THEN 55 WHEN 3 THEN 54 ELSE 53 END;
END $$;

CREATE FUNCTION pc_rule_capture(a text, s bigint, mer text, ref_event text, ref_seq bigint,
                                n bigint, evid text, now timestamptz)
RETURNS pc_outcome LANGUAGE plpgsql AS $$
DECLARE o record; b bigint; h bigint; r text := pc_posting_reason('CAPTURE', evid, NULL);
BEGIN
    o := pc_open_hold(a, mer, ref_event, ref_seq, now);
    IF o.code <> 0 THEN
        RETURN pc_declined(a, (o.hold).member_id, o.code, (o.hold).seq, 0,
                           coalesce(pc_us((o.hold).expires_at), 0));
    END IF;
    IF n > (o.hold).amount THEN
        RETURN pc_declined(a, (o.hold).member_id, 52::smallint, (o.hold).seq,
                           (o.hold).amount, pc_us((o.hold).expires_at));
    END IF;
    UPDATE holds SET state = 2, resolved_seq = s, resolved_at = now
     WHERE alliance_id = a AND seq = (o.hold).seq;
    UPDATE members SET balance = balance - n, held = held - (o.hold).amount
     WHERE alliance_id = a AND member_id = (o.hold).member_id
    RETURNING balance, held INTO b, h;
    INSERT INTO postings VALUES (a, s, 1, 1, (o.hold).member_id, -n, r),
                                (a, s, 2, 3, mer, n, r);
    INSERT INTO reversible (alliance_id, seq, merchant_id, kind, member_id, amount)
    VALUES (a, s, mer, 4, (o.hold).member_id, n);
    RETURN ROW(1, 0, b, b - h, n, (o.hold).amount - n, pc_us((o.hold).expires_at),
               (o.hold).seq, (o.hold).member_id)::pc_outcome;
END $$;

CREATE FUNCTION pc_rule_void(a text, s bigint, mer text, ref_event text, ref_seq bigint,
                             now timestamptz)
RETURNS pc_outcome LANGUAGE plpgsql AS $$
DECLARE o record; b bigint; h bigint;
BEGIN
    o := pc_open_hold(a, mer, ref_event, ref_seq, now);
    IF o.code <> 0 THEN
        RETURN pc_declined(a, (o.hold).member_id, o.code, (o.hold).seq, 0,
                           coalesce(pc_us((o.hold).expires_at), 0));
    END IF;
    UPDATE holds SET state = 3, resolved_seq = s, resolved_at = now
     WHERE alliance_id = a AND seq = (o.hold).seq;
    UPDATE members SET held = held - (o.hold).amount
     WHERE alliance_id = a AND member_id = (o.hold).member_id
    RETURNING balance, held INTO b, h;
    RETURN ROW(1, 0, b, b - h, (o.hold).amount, 0, pc_us((o.hold).expires_at),
               (o.hold).seq, (o.hold).member_id)::pc_outcome;
END $$;

-- Bounded by what remains of the original, never by the member's balance:
-- reversing an earn may take the balance below zero (points owed).
CREATE FUNCTION pc_rule_reversal(a text, s bigint, mer text, ref_event text, ref_seq bigint,
                                 n bigint, why text, evid text)
RETURNS pc_outcome LANGUAGE plpgsql AS $$
DECLARE t record; o reversible; b bigint; h bigint; left_after bigint;
        r text := pc_posting_reason('REVERSAL', evid, why);
BEGIN
    t := pc_resolve_ref(a, mer, ref_event, ref_seq);
    IF t.target IS NULL THEN RETURN pc_declined(a, NULL, 56::smallint); END IF;
    IF t.owner <> mer THEN RETURN pc_declined(a, NULL, 59::smallint, t.target); END IF;
    SELECT * INTO o FROM reversible WHERE alliance_id = a AND seq = t.target FOR UPDATE;
    IF NOT FOUND THEN RETURN pc_declined(a, NULL, 57::smallint, t.target); END IF;
    IF n > o.amount - o.reversed THEN
        RETURN pc_declined(a, o.member_id, 58::smallint, t.target, o.amount - o.reversed);
    END IF;
    IF o.kind = 1 THEN
        UPDATE members SET balance = balance - n
         WHERE alliance_id = a AND member_id = o.member_id
        RETURNING balance, held INTO b, h;
        INSERT INTO postings VALUES (a, s, 1, 1, o.member_id, -n, r), (a, s, 2, 2, mer, n, r);
    ELSIF o.kind IN (2, 4) THEN
        UPDATE members SET balance = balance + n
         WHERE alliance_id = a AND member_id = o.member_id AND balance <= pc_max_points() - n
        RETURNING balance, held INTO b, h;
        IF NOT FOUND THEN
            RETURN pc_declined(a, o.member_id, 33::smallint, t.target, o.amount - o.reversed);
        END IF;
        INSERT INTO postings VALUES (a, s, 1, 1, o.member_id, n, r), (a, s, 2, 3, mer, -n, r);
    ELSE
        -- a purchase refund moves no points; its commission clawback comes with attribution
        SELECT m.balance, m.held INTO b, h FROM members m
         WHERE m.alliance_id = a AND m.member_id = o.member_id;
    END IF;
    UPDATE reversible SET reversed = reversed + n WHERE alliance_id = a AND seq = t.target
    RETURNING amount - reversed INTO left_after;
    RETURN ROW(1, 0, b, b - h, n, left_after, 0, t.target, o.member_id)::pc_outcome;
END $$;

CREATE FUNCTION pc_rule_referral(a text, s bigint, mer text, mem text, beneficiary text,
                                 channel text, campaign text, code text, touched timestamptz)
RETURNS pc_outcome LANGUAGE plpgsql AS $$
DECLARE b bigint; h bigint;
BEGIN
    INSERT INTO referral_touches VALUES (a, s, mem, mer, beneficiary, channel, campaign, code, touched);
    SELECT m.balance, m.held INTO b, h FROM members m WHERE m.alliance_id = a AND m.member_id = mem;
    RETURN ROW(1, 0, b, b - h, 0, 0, 0, NULL, mem)::pc_outcome;
END $$;

CREATE FUNCTION pc_rule_purchase(a text, s bigint, mer text, mem text, amount bigint,
                                 currency text, code text)
RETURNS pc_outcome LANGUAGE plpgsql AS $$
DECLARE b bigint; h bigint;
BEGIN
    INSERT INTO purchases VALUES (a, s, mem, mer, amount, currency, code);
    INSERT INTO reversible (alliance_id, seq, merchant_id, kind, member_id, amount)
    VALUES (a, s, mer, 8, mem, amount);
    SELECT m.balance, m.held INTO b, h FROM members m WHERE m.alliance_id = a AND m.member_id = mem;
    RETURN ROW(1, 0, b, b - h, amount, amount, 0, NULL, mem)::pc_outcome;
END $$;
