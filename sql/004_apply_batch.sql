-- 004_apply_batch: one call records a whole batch of verified events.
--
-- The daemon gathers events from all connections and sends them here as parallel
-- arrays (element i of every array is event i), one statement per batch, so the
-- commit is paid once per batch. Events are applied in array order, which keeps
-- each connection's order and lets several events of one member share a batch.
--
-- Per event, in this order: the key is valid at the clearing house's clock; the
-- (merchant, event id) is new (else the original is replayed, or CONFLICT if the
-- signed bytes differ); the member exists; then the event takes the next sequence
-- and its rule decides. Anything refused before the rule records nothing.
--
-- Result per event: disposition 1 recorded, 2 replayed, 3 rejected.

CREATE FUNCTION pc_apply_batch(
    p_alliance      text[],
    p_merchant      text[],
    p_event         text[],
    p_key           text[],
    p_kind          smallint[],
    p_envelope      bytea[],
    p_payload_hash  bytea[],
    p_event_time    bigint[],
    p_store         text[],
    p_terminal      text[],
    p_member        text[],
    p_amount        bigint[],
    p_ref_event     text[],
    p_ref_seq       bigint[],
    p_duration      integer[],
    p_reason        text[],
    p_beneficiary   text[],
    p_channel       text[],
    p_campaign      text[],
    p_code          text[],
    p_touch_time    bigint[],
    p_currency      text[])
RETURNS TABLE (
    idx                 integer,
    disposition         smallint,
    code                smallint,
    seq                 bigint,
    accepted_at_us      bigint,
    status              smallint,
    balance             bigint,
    available           bigint,
    applied             bigint,
    remaining           bigint,
    hold_expires_at_us  bigint,
    leaf_hash           bytea,
    original_seq        bigint)
LANGUAGE plpgsql AS $$
DECLARE
    n          integer := coalesce(array_length(p_alliance, 1), 0);
    v_heads      text[];
    v_first  bigint[];
    v_next   bigint[];
    v_now        timestamptz;
    v_now_us     bigint;
    h          integer;
    a          text;
    k          record;
    prior      record;
    al         alliances;
    dur        integer;
    o          pc_outcome;
    s          bigint;
    leaf       bytea;
BEGIN
    -- Lock every alliance's head in one order, then read the clock: sequences and
    -- times accepted then rise together, and batches never deadlock on v_heads.
    SELECT array_agg(lh.alliance_id ORDER BY lh.alliance_id),
           array_agg(lh.next_seq ORDER BY lh.alliance_id)
      INTO v_heads, v_next
      FROM (SELECT x.alliance_id, x.next_seq FROM ledger_heads x
             WHERE x.alliance_id = ANY (p_alliance)
             ORDER BY x.alliance_id FOR UPDATE) lh;
    v_first := v_next;
    v_now := clock_timestamp();
    v_now_us := pc_us(v_now);

    FOR i IN 1 .. n LOOP
        a := p_alliance[i];
        idx := i;
        seq := NULL; accepted_at_us := NULL; status := NULL; balance := NULL;
        available := NULL; applied := NULL; remaining := NULL;
        hold_expires_at_us := NULL; leaf_hash := NULL; original_seq := NULL;
        h := array_position(v_heads, a);
        IF h IS NULL THEN
            disposition := 3; code := 25; RETURN NEXT; CONTINUE;
        END IF;

        SELECT mk.merchant_id, mk.valid_from, mk.revoked_at INTO k
          FROM merchant_keys mk WHERE mk.alliance_id = a AND mk.key_id = p_key[i];
        IF NOT FOUND THEN
            disposition := 3; code := 21; RETURN NEXT; CONTINUE;
        ELSIF k.merchant_id <> p_merchant[i] THEN
            disposition := 3; code := 24; RETURN NEXT; CONTINUE;
        ELSIF k.valid_from > v_now THEN
            disposition := 3; code := 23; RETURN NEXT; CONTINUE;
        ELSIF k.revoked_at IS NOT NULL AND k.revoked_at <= v_now THEN
            disposition := 3; code := 22; RETURN NEXT; CONTINUE;
        END IF;

        SELECT l.seq, l.accepted_at, l.payload_hash, l.status, l.code, l.balance,
               l.available, l.applied, l.remaining, l.hold_expires_at_us, l.leaf_hash
          INTO prior
          FROM ledger l
         WHERE l.alliance_id = a AND l.merchant_id = p_merchant[i] AND l.event_id = p_event[i];
        IF FOUND THEN
            IF prior.payload_hash = p_payload_hash[i] THEN
                disposition := 2; code := prior.code; seq := prior.seq;
                accepted_at_us := pc_us(prior.accepted_at); status := prior.status;
                balance := prior.balance; available := prior.available;
                applied := prior.applied; remaining := prior.remaining;
                hold_expires_at_us := prior.hold_expires_at_us; leaf_hash := prior.leaf_hash;
            ELSE
                disposition := 3; code := 40; original_seq := prior.seq;
            END IF;
            RETURN NEXT; CONTINUE;
        END IF;

        IF p_member[i] IS NOT NULL AND NOT EXISTS (
               SELECT 1 FROM members m WHERE m.alliance_id = a AND m.member_id = p_member[i]) THEN
            disposition := 3; code := 28; RETURN NEXT; CONTINUE;
        END IF;

        s := v_next[h];
        v_next[h] := s + 1;

        CASE p_kind[i]
        WHEN 1 THEN
            o := pc_rule_earn(a, s, p_merchant[i], p_member[i], p_amount[i], p_reason[i], p_event[i]);
        WHEN 2 THEN
            o := pc_rule_redeem(a, s, p_merchant[i], p_member[i], p_amount[i], p_reason[i],
                                p_event[i], v_now);
        WHEN 3 THEN
            IF al.alliance_id IS DISTINCT FROM a THEN
                SELECT * INTO al FROM alliances x WHERE x.alliance_id = a;
            END IF;
            dur := CASE WHEN coalesce(p_duration[i], 0) = 0 THEN al.default_hold_s
                        ELSE least(p_duration[i], al.max_hold_s) END;
            o := pc_rule_hold(a, s, p_merchant[i], p_member[i], p_amount[i], dur, v_now);
        WHEN 4 THEN
            o := pc_rule_capture(a, s, p_merchant[i], p_ref_event[i], p_ref_seq[i],
                                 p_amount[i], p_event[i], v_now);
        WHEN 5 THEN
            o := pc_rule_void(a, s, p_merchant[i], p_ref_event[i], p_ref_seq[i], v_now);
        WHEN 6 THEN
            o := pc_rule_reversal(a, s, p_merchant[i], p_ref_event[i], p_ref_seq[i],
                                  p_amount[i], p_reason[i], p_event[i]);
        WHEN 7 THEN
            o := pc_rule_referral(a, s, p_merchant[i], p_member[i], p_beneficiary[i],
                                  p_channel[i], p_campaign[i], p_code[i],
                                  pc_ts(coalesce(nullif(p_touch_time[i], 0), p_event_time[i])));
        WHEN 8 THEN
            o := pc_rule_purchase(a, s, p_merchant[i], p_member[i], p_amount[i],
                                  p_currency[i], p_code[i]);
        END CASE;

        leaf := pc_leaf_hash(a, s, v_now_us, p_envelope[i], o.status, o.code, o.balance,
                             o.available, o.applied, o.remaining, o.hold_expires_at_us, '\x');
        INSERT INTO ledger (alliance_id, seq, accepted_at, merchant_id, event_id, key_id, kind,
                            event_time, store_id, terminal_id, member_id, amount, ref_seq,
                            envelope, payload_hash, status, code, balance, available, applied,
                            remaining, hold_expires_at_us, leaf_hash)
        VALUES (a, s, v_now, p_merchant[i], p_event[i], p_key[i], p_kind[i],
                pc_ts(p_event_time[i]), p_store[i], p_terminal[i], o.member_id, p_amount[i],
                o.ref_seq, p_envelope[i], p_payload_hash[i], o.status, o.code, o.balance,
                o.available, o.applied, o.remaining, o.hold_expires_at_us, leaf);

        disposition := 1; code := o.code; seq := s; accepted_at_us := v_now_us;
        status := o.status; balance := o.balance; available := o.available;
        applied := o.applied; remaining := o.remaining;
        hold_expires_at_us := o.hold_expires_at_us; leaf_hash := leaf;
        RETURN NEXT;
    END LOOP;

    IF v_heads IS NOT NULL THEN
        UPDATE ledger_heads x SET next_seq = r.hi
          FROM unnest(v_heads, v_next) AS r(a, hi)
         WHERE x.alliance_id = r.a AND x.next_seq <> r.hi;

        -- merchant accounts move once per batch, not once per event
        INSERT INTO accounts (alliance_id, account_kind, owner_id, balance)
        SELECT p.alliance_id, p.account_kind, p.owner_id, sum(p.amount)
          FROM unnest(v_heads, v_first, v_next) AS r(a, lo, hi)
          JOIN postings p ON p.alliance_id = r.a AND p.seq >= r.lo AND p.seq < r.hi
         WHERE p.account_kind <> 1 AND r.hi > r.lo
         GROUP BY 1, 2, 3
        ON CONFLICT (alliance_id, account_kind, owner_id)
        DO UPDATE SET balance = accounts.balance + EXCLUDED.balance;
    END IF;
END $$;
