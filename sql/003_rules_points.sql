-- 003_rules_points: the decisions that move points (EARN, REDEEM, HOLD, CAPTURE,
-- VOID, REVERSAL) and the touches that don't yet (REFERRAL, PURCHASE).
--
-- Each rule is called by pc_apply_batch with the entry's sequence already assigned
-- and any reference already resolved, and returns its outcome; a decline is a
-- return value, never an error, because an error would roll back every other event
-- of the batch. Rules change balances and holds at once (a later event of the same
-- batch must see them); the ledger rows and postings they imply are written by
-- pc_apply_batch in bulk. Debits are conditional UPDATEs, so the check and the
-- change are one step whatever runs concurrently.
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
    member_id           text,
    member_delta        bigint,     -- the member leg of the postings; 0 = no postings
    counter_kind        smallint    -- the other leg's account kind (2 issued, 3 redeemed)
);

CREATE FUNCTION pc_ts(us bigint) RETURNS timestamptz LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT timestamptz '1970-01-01 00:00:00+00' + us * interval '1 microsecond'
$$;

-- A member's outcome without a change: their balance as it stands.
CREATE FUNCTION pc_declined(a text, mem text, decline smallint, ref bigint DEFAULT NULL,
                            left_over bigint DEFAULT 0, expires_us bigint DEFAULT 0)
RETURNS pc_outcome LANGUAGE plpgsql AS $$
DECLARE b bigint := 0; h bigint := 0;
BEGIN
    IF mem IS NOT NULL THEN
        SELECT m.balance, m.held INTO b, h FROM members m
         WHERE m.alliance_id = a AND m.member_id = mem;
    END IF;
    RETURN ROW(2, decline, coalesce(b, 0), coalesce(b - h, 0), 0, left_over, expires_us, ref,
               mem, 0, NULL)::pc_outcome;
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

CREATE FUNCTION pc_rule_earn(a text, mem text, n bigint)
RETURNS pc_outcome LANGUAGE plpgsql AS $$
DECLARE b bigint; h bigint;
BEGIN
    UPDATE members SET balance = balance + n
     WHERE alliance_id = a AND member_id = mem AND balance <= 9223372036854775807 - n
    RETURNING balance, held INTO b, h;
    IF NOT FOUND THEN
        RETURN pc_declined(a, mem, 33::smallint);
    END IF;
    RETURN ROW(1, 0, b, b - h, n, n, 0, NULL, mem, n, 2)::pc_outcome;
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

CREATE FUNCTION pc_rule_redeem(a text, mem text, n bigint, now timestamptz)
RETURNS pc_outcome LANGUAGE plpgsql AS $$
DECLARE t record;
BEGIN
    t := pc_take_spendable(a, mem, n, 'balance', now);
    IF NOT t.ok THEN
        RETURN pc_declined(a, mem, 50::smallint);
    END IF;
    RETURN ROW(1, 0, t.b, t.b - t.h, n, n, 0, NULL, mem, -n, 3)::pc_outcome;
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
    RETURN ROW(1, 0, t.b, t.b - t.h, n, 0, pc_us(expires), NULL, mem, 0, NULL)::pc_outcome;
END $$;

-- The hold a CAPTURE or VOID names (target: its sequence, owner: its merchant),
-- locked, after the checks both share. Returns NULL hold and the decline code when
-- it cannot be resolved now.
CREATE FUNCTION pc_open_hold(a text, mer text, target bigint, owner text, now timestamptz,
                             OUT hold holds, OUT code smallint)
LANGUAGE plpgsql AS $$
BEGIN
    IF target IS NULL THEN code := 51; RETURN; END IF;
    IF owner <> mer THEN code := 59; RETURN; END IF;
    SELECT * INTO hold FROM holds WHERE alliance_id = a AND seq = target FOR UPDATE;
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

CREATE FUNCTION pc_rule_capture(a text, s bigint, mer text, target bigint, owner text,
                                n bigint, now timestamptz)
RETURNS pc_outcome LANGUAGE plpgsql AS $$
DECLARE o record; b bigint; h bigint;
BEGIN
    o := pc_open_hold(a, mer, target, owner, now);
    IF o.code <> 0 THEN
        RETURN pc_declined(a, (o.hold).member_id, o.code, target, 0,
                           coalesce(pc_us((o.hold).expires_at), 0));
    END IF;
    IF n > (o.hold).amount THEN
        RETURN pc_declined(a, (o.hold).member_id, 52::smallint, target,
                           (o.hold).amount, pc_us((o.hold).expires_at));
    END IF;
    UPDATE holds SET state = 2, resolved_seq = s, resolved_at = now
     WHERE alliance_id = a AND seq = target;
    UPDATE members SET balance = balance - n, held = held - (o.hold).amount
     WHERE alliance_id = a AND member_id = (o.hold).member_id
    RETURNING balance, held INTO b, h;
    RETURN ROW(1, 0, b, b - h, n, (o.hold).amount - n, pc_us((o.hold).expires_at),
               target, (o.hold).member_id, -n, 3)::pc_outcome;
END $$;

CREATE FUNCTION pc_rule_void(a text, s bigint, mer text, target bigint, owner text,
                             now timestamptz)
RETURNS pc_outcome LANGUAGE plpgsql AS $$
DECLARE o record; b bigint; h bigint;
BEGIN
    o := pc_open_hold(a, mer, target, owner, now);
    IF o.code <> 0 THEN
        RETURN pc_declined(a, (o.hold).member_id, o.code, target, 0,
                           coalesce(pc_us((o.hold).expires_at), 0));
    END IF;
    UPDATE holds SET state = 3, resolved_seq = s, resolved_at = now
     WHERE alliance_id = a AND seq = target;
    UPDATE members SET held = held - (o.hold).amount
     WHERE alliance_id = a AND member_id = (o.hold).member_id
    RETURNING balance, held INTO b, h;
    RETURN ROW(1, 0, b, b - h, (o.hold).amount, 0, pc_us((o.hold).expires_at),
               target, (o.hold).member_id, 0, NULL)::pc_outcome;
END $$;

-- Bounded by what remains of the original (orig_amount - orig_reversed), never by
-- the member's balance: reversing an earn may take the balance below zero (points
-- owed). The caller found the original and records what this takes from it.
CREATE FUNCTION pc_rule_reversal(a text, target bigint, orig_kind smallint, mem text,
                                 orig_amount bigint, orig_reversed bigint, n bigint)
RETURNS pc_outcome LANGUAGE plpgsql AS $$
DECLARE b bigint; h bigint; delta bigint := 0; counter smallint;
BEGIN
    IF n > orig_amount - orig_reversed THEN
        RETURN pc_declined(a, mem, 58::smallint, target, orig_amount - orig_reversed);
    END IF;
    IF orig_kind = 1 THEN
        UPDATE members SET balance = balance - n
         WHERE alliance_id = a AND member_id = mem
        RETURNING balance, held INTO b, h;
        delta := -n; counter := 2;
    ELSIF orig_kind IN (2, 4) THEN
        UPDATE members SET balance = balance + n
         WHERE alliance_id = a AND member_id = mem AND balance <= 9223372036854775807 - n
        RETURNING balance, held INTO b, h;
        IF NOT FOUND THEN
            RETURN pc_declined(a, mem, 33::smallint, target, orig_amount - orig_reversed);
        END IF;
        delta := n; counter := 3;
    ELSE
        -- a purchase refund moves no points; its commission clawback comes with attribution
        SELECT m.balance, m.held INTO b, h FROM members m
         WHERE m.alliance_id = a AND m.member_id = mem;
    END IF;
    RETURN ROW(1, 0, b, b - h, n, orig_amount - orig_reversed - n, 0, target, mem, delta,
               counter)::pc_outcome;
END $$;

CREATE FUNCTION pc_rule_referral(a text, s bigint, mer text, mem text, beneficiary text,
                                 channel text, campaign text, referral_code text,
                                 touched timestamptz)
RETURNS pc_outcome LANGUAGE plpgsql AS $$
DECLARE b bigint; h bigint;
BEGIN
    INSERT INTO referral_touches VALUES (a, s, mem, mer, beneficiary, channel, campaign,
                                         referral_code, touched);
    SELECT m.balance, m.held INTO b, h FROM members m WHERE m.alliance_id = a AND m.member_id = mem;
    RETURN ROW(1, 0, b, b - h, 0, 0, 0, NULL, mem, 0, NULL)::pc_outcome;
END $$;

CREATE FUNCTION pc_rule_purchase(a text, s bigint, mer text, mem text, amount_minor bigint,
                                 currency text, referral_code text)
RETURNS pc_outcome LANGUAGE plpgsql AS $$
DECLARE b bigint; h bigint;
BEGIN
    INSERT INTO purchases VALUES (a, s, mem, mer, amount_minor, currency, referral_code);
    SELECT m.balance, m.held INTO b, h FROM members m WHERE m.alliance_id = a AND m.member_id = mem;
    RETURN ROW(1, 0, b, b - h, amount_minor, amount_minor, 0, NULL, mem, 0, NULL)::pc_outcome;
END $$;
