-- 004_apply_batch: one call records a whole batch of verified events.
--
-- The daemon gathers events from all connections and sends them here as parallel
-- arrays (element i of every array is event i), one statement per batch, so the
-- commit is paid once per batch. Events are decided in array order, which keeps
-- each connection's order and lets several events of one member share a batch.
--
-- Three phases, so that per-event work is only what depends on order:
--   1. one set-based query: is the key valid at the clearing house's clock, is the
--      (merchant, event id) new (else replay it, or CONFLICT when the signed bytes
--      differ), does the member exist, does the id repeat within the batch;
--   2. a loop over the events left: each takes the next sequence and its rule
--      decides, changing balances and holds at once;
--   3. one statement writes every ledger entry, posting and account total in bulk
--      and returns one row per event.
-- Anything refused in phase 1 records nothing.
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
    p_event_time    timestamptz[],
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
    p_touch_time    timestamptz[],
    p_currency      text[])
RETURNS TABLE (
    r_idx                 integer,
    r_disposition         smallint,
    r_code                smallint,
    r_seq                 bigint,
    r_accepted_at_us      bigint,
    r_status              smallint,
    r_balance             bigint,
    r_available           bigint,
    r_applied             bigint,
    r_remaining           bigint,
    r_hold_expires_at_us  bigint,
    r_leaf_hash           bytea,
    r_original_seq        bigint)
LANGUAGE plpgsql AS $$
DECLARE
    n           integer := coalesce(array_length(p_alliance, 1), 0);
    v_heads     text[];
    v_first     bigint[];
    v_next      bigint[];
    v_now       timestamptz;
    v_now_us    bigint;
    -- phase 1, per event
    v_pre       smallint[];   -- 0 decide, 2 replay of a ledger entry, 3 refused
    v_pre_code  smallint[];
    v_prior     bigint[];     -- the ledger entry holding this id
    v_dup_of    integer[];    -- the first event of this batch with the same id
    -- phase 2, per event
    o_disp      smallint[] := array_fill(NULL::smallint, ARRAY[n]);
    o_code      smallint[] := array_fill(NULL::smallint, ARRAY[n]);
    o_seq       bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    o_status    smallint[] := array_fill(NULL::smallint, ARRAY[n]);
    o_balance   bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    o_available bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    o_applied   bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    o_remaining bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    o_hold      bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    o_ref       bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    o_member    text[] := array_fill(NULL::text, ARRAY[n]);
    o_delta     bigint[] := array_fill(0::bigint, ARRAY[n]);
    o_counter   smallint[] := array_fill(NULL::smallint, ARRAY[n]);
    o_orig      bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    a           text;
    mer         text;
    h           integer;
    j           integer;
    s           bigint;
    al          alliances;
    dur         integer;
    o           pc_outcome;
    t_seq       bigint;       -- the entry a capture, void or reversal refers to
    t_owner     text;
    t_idx       integer;      -- ... when it was recorded earlier in this batch
    t_kind      smallint;
    t_status    smallint;
    t_member    text;
    t_amount    bigint;
    t_reversed  bigint;
BEGIN
    -- Lock every alliance's head in one order, then read the clock: sequences and
    -- times accepted rise together, and batches never deadlock on heads.
    SELECT array_agg(lh.alliance_id ORDER BY lh.alliance_id),
           array_agg(lh.next_seq ORDER BY lh.alliance_id)
      INTO v_heads, v_next
      FROM (SELECT x.alliance_id, x.next_seq FROM ledger_heads x
             WHERE x.alliance_id = ANY (p_alliance)
             ORDER BY x.alliance_id FOR UPDATE) lh;
    v_first := v_next;
    v_now := clock_timestamp();
    v_now_us := pc_us(v_now);

    -- Phase 1.
    WITH e AS (
        SELECT u.*, min(u.i) OVER (PARTITION BY u.a, u.m, u.ev) AS first_i
          FROM unnest(p_alliance, p_merchant, p_event, p_key, p_member, p_payload_hash)
               WITH ORDINALITY AS u(a, m, ev, k, mem, ph, i))
    SELECT array_agg(CASE
               WHEN NOT (e.a = ANY (v_heads)) THEN 3
               WHEN mk.key_id IS NULL OR mk.merchant_id <> e.m OR mk.valid_from > v_now
                    OR mk.revoked_at <= v_now THEN 3
               WHEN l.seq IS NOT NULL THEN CASE WHEN l.payload_hash = e.ph THEN 2 ELSE 3 END
               WHEN e.mem IS NOT NULL AND mb.member_id IS NULL THEN 3
               ELSE 0 END ORDER BY e.i),
           array_agg(CASE
               WHEN NOT (e.a = ANY (v_heads)) THEN 25
               WHEN mk.key_id IS NULL THEN 21
               WHEN mk.merchant_id <> e.m THEN 24
               WHEN mk.valid_from > v_now THEN 23
               WHEN mk.revoked_at <= v_now THEN 22
               WHEN l.seq IS NOT NULL THEN CASE WHEN l.payload_hash = e.ph THEN l.code ELSE 40 END
               WHEN e.mem IS NOT NULL AND mb.member_id IS NULL THEN 28
               ELSE 0 END ORDER BY e.i),
           array_agg(l.seq ORDER BY e.i),
           array_agg(e.first_i::integer ORDER BY e.i)
      INTO v_pre, v_pre_code, v_prior, v_dup_of
      FROM e
      LEFT JOIN merchant_keys mk ON mk.alliance_id = e.a AND mk.key_id = e.k
      LEFT JOIN ledger l ON l.alliance_id = e.a AND l.merchant_id = e.m AND l.event_id = e.ev
      LEFT JOIN members mb ON mb.alliance_id = e.a AND mb.member_id = e.mem;

    -- Phase 2.
    FOR i IN 1 .. n LOOP
        IF v_pre[i] <> 0 THEN
            o_disp[i] := v_pre[i]; o_code[i] := v_pre_code[i]; o_orig[i] := v_prior[i];
            IF v_pre[i] = 2 THEN
                o_seq[i] := v_prior[i];
            END IF;
            CONTINUE;
        END IF;
        j := v_dup_of[i];
        IF j < i AND o_disp[j] = 1 THEN
            -- the same id earlier in this batch, recorded there: replay it, or refuse
            IF p_payload_hash[i] = p_payload_hash[j] THEN
                o_disp[i] := 2; o_code[i] := o_code[j]; o_seq[i] := o_seq[j];
                o_status[i] := o_status[j]; o_balance[i] := o_balance[j];
                o_available[i] := o_available[j]; o_applied[i] := o_applied[j];
                o_remaining[i] := o_remaining[j]; o_hold[i] := o_hold[j];
            ELSE
                o_disp[i] := 3; o_code[i] := 40; o_orig[i] := o_seq[j];
            END IF;
            CONTINUE;
        END IF;

        a := p_alliance[i];
        mer := p_merchant[i];
        h := array_position(v_heads, a);
        s := v_next[h];
        v_next[h] := s + 1;

        -- the entry a capture, void or reversal names: in this batch or the ledger
        IF p_kind[i] IN (4, 5, 6) THEN
            t_seq := NULL; t_owner := NULL; t_idx := NULL;
            IF p_ref_event[i] IS NOT NULL THEN
                FOREACH j IN ARRAY array_positions(p_event, p_ref_event[i]) LOOP
                    EXIT WHEN j >= i;
                    IF p_merchant[j] = mer AND p_alliance[j] = a AND o_disp[j] = 1 THEN
                        t_idx := j;
                    END IF;
                END LOOP;
                IF t_idx IS NOT NULL THEN
                    t_seq := o_seq[t_idx]; t_owner := mer;
                ELSE
                    SELECT l.seq, l.merchant_id INTO t_seq, t_owner FROM ledger l
                     WHERE l.alliance_id = a AND l.merchant_id = mer AND l.event_id = p_ref_event[i];
                END IF;
            ELSIF p_ref_seq[i] >= v_first[h] THEN
                FOREACH j IN ARRAY array_positions(o_seq, p_ref_seq[i]) LOOP
                    IF p_alliance[j] = a AND o_disp[j] = 1 THEN
                        t_idx := j; t_seq := o_seq[j]; t_owner := p_merchant[j];
                    END IF;
                END LOOP;
            ELSE
                SELECT l.seq, l.merchant_id INTO t_seq, t_owner FROM ledger l
                 WHERE l.alliance_id = a AND l.seq = p_ref_seq[i];
            END IF;
        END IF;

        CASE p_kind[i]
        WHEN 1 THEN
            o := pc_rule_earn(a, p_member[i], p_amount[i]);
        WHEN 2 THEN
            o := pc_rule_redeem(a, p_member[i], p_amount[i], v_now);
        WHEN 3 THEN
            IF al.alliance_id IS DISTINCT FROM a THEN
                SELECT * INTO al FROM alliances x WHERE x.alliance_id = a;
            END IF;
            dur := CASE WHEN coalesce(p_duration[i], 0) = 0 THEN al.default_hold_s
                        ELSE least(p_duration[i], al.max_hold_s) END;
            o := pc_rule_hold(a, s, mer, p_member[i], p_amount[i], dur, v_now);
        WHEN 4 THEN
            o := pc_rule_capture(a, s, mer, t_seq, t_owner, p_amount[i], v_now);
        WHEN 5 THEN
            o := pc_rule_void(a, s, mer, t_seq, t_owner, v_now);
        WHEN 6 THEN
            IF t_seq IS NULL THEN
                o := pc_declined(a, NULL, 56::smallint);
            ELSIF t_owner <> mer THEN
                o := pc_declined(a, NULL, 59::smallint, t_seq);
            ELSE
                -- what remains: the original's applied amount less the approved
                -- reversals naming it, in the ledger and earlier in this batch
                IF t_idx IS NOT NULL THEN
                    t_kind := p_kind[t_idx]; t_status := o_status[t_idx];
                    t_member := o_member[t_idx]; t_amount := o_applied[t_idx]; t_reversed := 0;
                ELSE
                    SELECT l.kind, l.status, l.member_id, l.applied
                      INTO t_kind, t_status, t_member, t_amount
                      FROM ledger l WHERE l.alliance_id = a AND l.seq = t_seq;
                    SELECT coalesce(sum(l.applied), 0) INTO t_reversed FROM ledger l
                     WHERE l.alliance_id = a AND l.ref_seq = t_seq AND l.kind = 6 AND l.status = 1;
                END IF;
                FOREACH j IN ARRAY array_positions(o_ref, t_seq) LOOP
                    IF p_kind[j] = 6 AND o_status[j] = 1 AND p_alliance[j] = a THEN
                        t_reversed := t_reversed + o_applied[j];
                    END IF;
                END LOOP;
                IF t_status = 1 AND t_kind IN (1, 2, 4, 8) THEN
                    o := pc_rule_reversal(a, t_seq, t_kind, t_member, t_amount, t_reversed,
                                          p_amount[i]);
                ELSE
                    o := pc_declined(a, NULL, 57::smallint, t_seq);
                END IF;
            END IF;
        WHEN 7 THEN
            o := pc_rule_referral(a, s, mer, p_member[i], p_beneficiary[i], p_channel[i],
                                  p_campaign[i], p_code[i],
                                  coalesce(p_touch_time[i], p_event_time[i]));
        WHEN 8 THEN
            o := pc_rule_purchase(a, s, mer, p_member[i], p_amount[i], p_currency[i], p_code[i]);
        END CASE;

        o_disp[i] := 1; o_code[i] := o.code; o_seq[i] := s; o_status[i] := o.status;
        o_balance[i] := o.balance; o_available[i] := o.available; o_applied[i] := o.applied;
        o_remaining[i] := o.remaining; o_hold[i] := o.hold_expires_at_us;
        o_ref[i] := o.ref_seq; o_member[i] := coalesce(o.member_id, p_member[i]);
        o_delta[i] := o.member_delta; o_counter[i] := o.counter_kind;
    END LOOP;

    -- Phase 3.
    RETURN QUERY
    WITH ev AS (
        SELECT * FROM unnest(p_alliance, p_merchant, p_event, p_key, p_kind, p_envelope,
                             p_payload_hash, p_event_time, p_store, p_terminal, p_amount,
                             p_reason, o_disp, o_code, o_seq, o_status, o_balance, o_available,
                             o_applied, o_remaining, o_hold, o_ref, o_member, o_delta,
                             o_counter, o_orig)
               WITH ORDINALITY AS u(a, m, evid, k, kind, env, ph, et, st, te, amt, why, disp,
                                    code, seq, status, bal, avail, appl, rem, hold, ref, mem,
                                    delta, counter, orig, i)),
    entries AS (
        INSERT INTO ledger (alliance_id, seq, accepted_at, merchant_id, event_id, key_id, kind,
                            event_time, store_id, terminal_id, member_id, amount, ref_seq,
                            envelope, payload_hash, status, code, balance, available, applied,
                            remaining, hold_expires_at_us, leaf_hash)
        SELECT ev.a, ev.seq, v_now, ev.m, ev.evid, ev.k, ev.kind, ev.et, ev.st, ev.te, ev.mem,
               ev.amt, ev.ref, ev.env, ev.ph, ev.status, ev.code, ev.bal, ev.avail, ev.appl,
               ev.rem, ev.hold,
               -- pc_leaf_hash(ev.a, ev.seq, v_now_us, ev.env, ev.status, ev.code, ev.bal,
               --              ev.avail, ev.appl, ev.rem, ev.hold, '\x'), written out
               sha256('\x0050434c31'::bytea
                   || int2send(octet_length(convert_to(ev.a, 'UTF8'))::smallint)
                   || convert_to(ev.a, 'UTF8') || int8send(ev.seq) || int8send(v_now_us)
                   || int4send(octet_length(ev.env)) || ev.env
                   || set_byte('\x00'::bytea, 0, ev.status) || int2send(ev.code)
                   || int8send(ev.bal) || int8send(ev.avail) || int8send(ev.appl)
                   || int8send(ev.rem) || int8send(ev.hold) || int4send(0))
          FROM ev WHERE ev.disp = 1
        RETURNING ledger.alliance_id, ledger.seq, ledger.leaf_hash),
    legs AS (
        INSERT INTO postings (alliance_id, seq, leg, account_kind, owner_id, amount, reason)
        SELECT ev.a, ev.seq, x.leg, x.kind, x.owner, x.amount,
               (ARRAY['EARN', 'REDEEM', 'HOLD', 'CAPTURE', 'VOID', 'REVERSAL', 'REFERRAL',
                      'PURCHASE'])[ev.kind] || ' ' || ev.evid || coalesce(' / ' || ev.why, '')
          FROM ev CROSS JOIN LATERAL (VALUES (1::smallint, 1::smallint, ev.mem, ev.delta),
                                            (2::smallint, ev.counter, ev.m, -ev.delta))
                                     AS x(leg, kind, owner, amount)
         WHERE ev.disp = 1 AND ev.delta <> 0
        RETURNING 1),
    totals AS (
        -- merchant accounts move once per batch, not once per event
        INSERT INTO accounts AS acc (alliance_id, account_kind, owner_id, balance)
        SELECT ev.a, ev.counter, ev.m, sum(-ev.delta)
          FROM ev WHERE ev.disp = 1 AND ev.delta <> 0
         GROUP BY 1, 2, 3
        ON CONFLICT (alliance_id, account_kind, owner_id)
        DO UPDATE SET balance = acc.balance + EXCLUDED.balance
        RETURNING 1)
    SELECT ev.i::integer, ev.disp, ev.code::smallint, ev.seq,
           CASE WHEN l.seq IS NOT NULL THEN pc_us(l.accepted_at) WHEN ev.disp <> 3 THEN v_now_us END,
           coalesce(l.status, ev.status), coalesce(l.balance, ev.bal),
           coalesce(l.available, ev.avail), coalesce(l.applied, ev.appl),
           coalesce(l.remaining, ev.rem), coalesce(l.hold_expires_at_us, ev.hold),
           coalesce(l.leaf_hash, ne.leaf_hash),
           CASE WHEN ev.disp = 3 THEN ev.orig END
      FROM ev
      LEFT JOIN entries ne ON ev.disp IN (1, 2) AND ne.alliance_id = ev.a AND ne.seq = ev.seq
      LEFT JOIN ledger l ON ev.disp = 2 AND l.alliance_id = ev.a AND l.seq = ev.orig
     ORDER BY ev.i;

    IF v_heads IS NOT NULL THEN
        UPDATE ledger_heads x SET next_seq = r.hi
          FROM unnest(v_heads, v_next) AS r(a, hi)
         WHERE x.alliance_id = r.a AND x.next_seq <> r.hi;
    END IF;
END $$;
