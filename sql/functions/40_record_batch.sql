-- 40_record_batch: one call decides and records a whole batch of verified events.
--
-- The daemon gathers events from all connections and sends them as parallel
-- arrays (element i of every array is event i), one statement per batch, so the
-- commit is paid once per batch: SELECT * FROM pc_record_batch(...). Events are
-- decided in array order, which keeps each connection's order and lets several
-- events of one member share a batch. The result is a row per event (r_idx 1..n)
-- with its disposition and decision, the receipt tree it belongs to, and context
-- rows (r_idx 0) for the other entries of trees that replays belong to.
--
-- The batch first locks its alliances' ledger heads. Every writer of member
-- balances does the same (the hold sweep included, 30_holds.sql), so from then
-- on the balances this batch loads are the truth until it commits: it decides on
-- them in memory and writes them back once. Phases:
--   1. one set-based query: is the (merchant, event id) new (else replay it,
--      whatever the key's state now), is the key valid at the clearing house's
--      clock (revoked, past its grace), is the merchant active, CONFLICT when an
--      id is taken by other signed bytes, does the member exist, does the id
--      repeat within the batch; and every member's balance and held points;
--   2. a loop over the events left: each takes the next sequence and is decided on
--      the running balances; holds are written as they come (a later event of the
--      batch may refer to them);
--   3. a few set-based statements write the balances, every ledger entry, posting,
--      touch, purchase, account total and receipt tree, and one row per event is
--      returned.
-- Anything refused in phase 1 records nothing and takes no sequence.
--
-- Where the batch's cost went, measured (callgrind, tools/bench/batch_cost.sh, 200-event
-- batches of the bench's mix), and what the code does about it:
-- * Every statement reaches its rows by key. A plan cached while a table was small
--   is a sequential scan that stays until the table is analyzed again (a new
--   alliance starts with no holds: every capture scanned them all), so sequential
--   scans are priced out for the call (SET enable_seqscan = off), and JIT is off:
--   a statement that ever lost its index path would be costed at the disabled
--   scan's 10^10 and compiled by LLVM at every call.
-- * Phase 1 is one keyed probe per event and lookup (LATERAL ... LIMIT 1), not a
--   join the planner may merge on the alliance alone; its arrays come from one
--   sort by event, and a batch whose arrays do not line up is refused (XX000)
--   rather than one event decided on another's row.
-- * Arrays are read by subscript over generate_series(1, n): unnest(a1, ..., ak)
--   materialises each array before the first row (8% of a batch).
-- * The leaf of a new entry is hashed by the daemon (20_leaves.sql): r_leaf_hash
--   is NULL for it, and set for a replay from the entry it replays.
-- * A row of this batch is placed in its receipt tree by arithmetic on its
--   sequence; only replays of earlier batches' entries look theirs up.
-- The numbers of proto/pointclear.proto are named (00_codes.sql); kinds (1 EARN
-- .. 8 PURCHASE), hold states and account kinds are the ledger's own
-- (001_baseline.sql).

-- True when a generic plan of the writer's probes picks the index that matches
-- them. PL/pgSQL, not SQL: a SQL function called from PL/pgSQL is planned again
-- in every transaction, and that cost a 10-event batch 4% more instructions.
CREATE OR REPLACE FUNCTION pc_generic_plans_safe() RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT count(*) = 2 FROM pg_class c
             WHERE (c.oid = 'ledger'::regclass AND c.reltuples >= 1000)
                OR (c.oid = 'merchant_keys'::regclass AND c.reltuples > 0));
END $$;

-- The member authorizations' arrays (p_auth_*) and the key states came after
-- p_tree_max; a definition without them would make every call ambiguous, so the
-- earlier development signatures go first.
DROP FUNCTION IF EXISTS pc_record_batch(text[], text[], text[], text[], smallint[], bytea[],
    bytea[], timestamptz[], text[], text[], text[], bigint[], text[], bigint[], integer[],
    text[], text[], text[], text[], text[], timestamptz[], text[], integer);
DROP FUNCTION IF EXISTS pc_decide_and_record(text[], text[], text[], text[], smallint[], bytea[],
    bytea[], timestamptz[], text[], text[], text[], bigint[], text[], bigint[], integer[],
    text[], text[], text[], text[], text[], timestamptz[], text[], integer);
DROP FUNCTION IF EXISTS pc_record_batch(text[], text[], text[], text[], smallint[], bytea[],
    bytea[], timestamptz[], text[], text[], text[], bigint[], text[], bigint[], integer[],
    text[], text[], text[], text[], text[], timestamptz[], text[], integer, text[], bytea[],
    bigint[]);
DROP FUNCTION IF EXISTS pc_decide_and_record(text[], text[], text[], text[], smallint[], bytea[],
    bytea[], timestamptz[], text[], text[], text[], bigint[], text[], bigint[], integer[],
    text[], text[], text[], text[], text[], timestamptz[], text[], integer, text[], bytea[],
    bigint[]);
DROP FUNCTION IF EXISTS pc_record_batch(text[], text[], text[], text[], smallint[], bytea[],
    bytea[], timestamptz[], text[], text[], text[], bigint[], text[], bigint[], integer[],
    text[], text[], text[], text[], text[], timestamptz[], text[], integer, smallint[]);
DROP FUNCTION IF EXISTS pc_decide_and_record(text[], text[], text[], text[], smallint[], bytea[],
    bytea[], timestamptz[], text[], text[], text[], bigint[], text[], bigint[], integer[],
    text[], text[], text[], text[], text[], timestamptz[], text[], integer, smallint[]);

-- The daemon's entry point: pc_decide_and_record, with generic plans when the
-- statistics can be trusted. For a statement whose parameters are arrays,
-- PostgreSQL keeps choosing a custom plan, planned again at every call: about
-- 40% of a small batch's time (a one-event batch: 4.05 ms custom, 2.36 ms
-- generic). But a generic plan made while the statistics describe an empty
-- ledger ties every index that starts with alliance_id, and the tie went to one
-- that read the alliance's whole ledger at every event. So generic plans only
-- once the statistics say the ledger holds 1,000 entries and merchant_keys is not
-- empty; autovacuum's ANALYZE makes the plans again as the ledger grows. The
-- choice lasts for the call (the function's SET restores the setting).
-- p_tree_max: entries per receipt tree, 1 to 64; 0 records no trees.
--
-- The daemon's role may write no table: the batch runs as the owner (SECURITY
-- DEFINER), with a search_path fixed to the schema and pg_temp last, as
-- pc_expire_holds (30_holds.sql); every function it calls runs with that path.
-- It costs once per call, not per event: about 0.8 µs more than the SET the
-- function had already (200,000 calls of an empty function: 0.83 µs each with
-- SET plan_cache_mode only, 1.68 µs with SECURITY DEFINER and search_path too),
-- against 15-20 ms for a 200-event batch.
--
-- p_auth_key, p_auth_nonce, p_auth_expires (µs): per event, the member
-- authorization the daemon verified (key id, nonce, expiry), NULL for an event
-- without one; the arrays themselves are NULL when no event of the batch has one,
-- and then nothing here spends a statement on authorizations.
--
-- p_key_state: NULL, or per event NULL when its signing key was usable when the
-- daemon received it, else the code that key earns (KEY_REVOKED, KEY_NOT_YET_VALID).
-- Such an event was still verified against the key: it is answered REPLAYED when
-- its payload is recorded already, else refused with that code. The arrays of a
-- batch without one stay what they were: the daemon sends NULL.
CREATE OR REPLACE FUNCTION pc_record_batch(
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
    p_currency      text[],
    p_tree_max      integer DEFAULT 64,
    p_auth_key      text[] DEFAULT NULL,
    p_auth_nonce    bytea[] DEFAULT NULL,
    p_auth_expires  bigint[] DEFAULT NULL,
    p_key_state     smallint[] DEFAULT NULL)
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
    r_original_seq        bigint,
    t_first               bigint,
    t_size                integer,
    c_alliance            text,
    c_merchant            text,
    c_event               text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET plan_cache_mode = auto AS $$
BEGIN
    IF pc_generic_plans_safe() THEN
        PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
    END IF;
    RETURN QUERY
    SELECT * FROM pc_decide_and_record(p_alliance, p_merchant, p_event, p_key, p_kind,
                                       p_envelope, p_payload_hash, p_event_time, p_store,
                                       p_terminal, p_member, p_amount, p_ref_event, p_ref_seq,
                                       p_duration, p_reason, p_beneficiary, p_channel,
                                       p_campaign, p_code, p_touch_time, p_currency, p_tree_max,
                                       p_auth_key, p_auth_nonce, p_auth_expires,
                                       p_key_state);
END $$;

-- Phases 1 to 3; called by pc_record_batch only.
CREATE OR REPLACE FUNCTION pc_decide_and_record(
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
    p_currency      text[],
    p_tree_max      integer DEFAULT 64,
    p_auth_key      text[] DEFAULT NULL,
    p_auth_nonce    bytea[] DEFAULT NULL,
    p_auth_expires  bigint[] DEFAULT NULL,
    p_key_state     smallint[] DEFAULT NULL)
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
    r_original_seq        bigint,
    t_first               bigint,
    t_size                integer,
    c_alliance            text,
    c_merchant            text,
    c_event               text)
LANGUAGE plpgsql
SET enable_seqscan = off
SET jit = off AS $$
DECLARE
    max_points  CONSTANT bigint := 9223372036854775807;
    n           integer := coalesce(array_length(p_alliance, 1), 0);
    v_heads     text[];
    v_first     bigint[];
    v_next      bigint[];
    one_lo      bigint;       -- v_first and v_next of a batch of one alliance
    one_hi      bigint;
    v_now       timestamptz;
    v_now_us    bigint;
    v_inactive  text[];       -- 'alliance merchant' of the batch's suspended or gone merchants
    -- phase 1, per event
    v_pre       smallint[];   -- 0 decide now, else the disposition: replayed from the ledger, rejected
    v_pre_code  smallint[];
    v_prior     bigint[];     -- the ledger entry holding this id
    v_dup_of    integer[];    -- the first event of this batch with the same id
    v_slot      integer[];    -- the first event of this batch with the same member
    v_mbal      bigint[];     -- that member's balance and held points when loaded
    v_mheld     bigint[];
    v_order     integer[];
    -- running member balances: slot i (the member's first event) or, for members
    -- met only through a hold or an original, slots past n
    s_a         text[] := array_fill(NULL::text, ARRAY[n]);
    s_id        text[] := array_fill(NULL::text, ARRAY[n]);
    s_bal       bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    s_held      bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    s_n         integer := n;
    -- phase 2, per event
    o_disp      smallint[] := array_fill(NULL::smallint, ARRAY[n]);
    o_code      smallint[] := array_fill(NULL::smallint, ARRAY[n]);
    o_seq       bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    o_at        bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    o_status    smallint[] := array_fill(NULL::smallint, ARRAY[n]);
    o_balance   bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    o_available bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    o_applied   bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    o_remaining bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    o_hold      bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    o_ref       bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    o_member    text[] := array_fill(NULL::text, ARRAY[n]);
    o_delta     bigint[] := array_fill(0::bigint, ARRAY[n]);   -- the member leg; 0 = no postings
    o_counter   smallint[] := array_fill(NULL::smallint, ARRAY[n]);   -- 2 issued, 3 redeemed
    o_orig      bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    o_leaf      bytea[] := array_fill(NULL::bytea, ARRAY[n]);   -- replays' only
    -- the receipt trees of what this batch records
    rt_a        text[] := '{}';
    rt_first    bigint[] := '{}';
    rt_size     integer[] := '{}';
    -- the event being decided
    a           text;
    mer         text;
    mem         text;
    amt         bigint;
    h           integer;
    j           integer;
    ms          integer;      -- its member's slot
    s           bigint;
    st          smallint;
    cd          smallint;
    ap          bigint;
    rm          bigint;
    hx          bigint;
    dl          bigint;
    ck          smallint;
    al          alliances;
    dur         integer;
    opened      record;
    hold_row    holds;
    hold_code   smallint;
    hold_gone   boolean;      -- found expired, not yet swept: release it
    t_seq       bigint;       -- the entry a capture, void or reversal refers to
    t_owner     text;
    t_idx       integer;      -- ... when it was recorded earlier in this batch
    t_kind      smallint;
    t_status    smallint;
    t_amount    bigint;
    t_reversed  bigint;
    x_bal       bigint;
    x_held      bigint;
BEGIN
    IF p_tree_max IS NULL OR p_tree_max NOT BETWEEN 0 AND 64 THEN
        RAISE EXCEPTION 'pointclear: receipt trees hold 1 to 64 entries (0: none), not %', p_tree_max
            USING ERRCODE = '22023';
    END IF;

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

    -- Merchants that may record nothing (suspended, gone), probed once each:
    -- usually none, and the daemon refuses them too, but its cache may be stale.
    SELECT array_agg(u.a || ' ' || u.m) INTO v_inactive
      FROM (SELECT DISTINCT p_alliance[i] AS a, p_merchant[i] AS m
              FROM generate_series(1, n) AS i) u
     CROSS JOIN LATERAL (
         SELECT 1 FROM merchants x
          WHERE x.alliance_id = u.a AND x.merchant_id = u.m
            AND x.status IN ('suspended', 'gone') LIMIT 1) x;

    -- Phase 1.
    WITH e AS (
        SELECT u.*, min(u.i) OVER (PARTITION BY u.ev, u.m, u.a) AS first_i,
               CASE WHEN u.mem IS NOT NULL THEN min(u.i) OVER (PARTITION BY u.mem, u.a) END AS slot
          FROM (SELECT i, p_alliance[i] AS a, p_merchant[i] AS m, p_event[i] AS ev, p_key[i] AS k,
                       p_member[i] AS mem, p_payload_hash[i] AS ph, p_key_state[i] AS ks
                  FROM generate_series(1, n) AS i) u),
    c AS (
        SELECT e.i, e.first_i, e.slot, mb.balance AS mbal, mb.held AS mheld, l.seq,
               CASE
               WHEN NOT (e.a = ANY (v_heads)) THEN pc_code_unknown_alliance()
               WHEN mk.key_id IS NULL THEN pc_code_unknown_key()
               WHEN mk.merchant_id <> e.m THEN pc_code_wrong_merchant()
               -- bytes recorded already are replayed whatever became of the key or
               -- the merchant since: the answer is the one given then
               WHEN l.seq IS NOT NULL AND l.payload_hash = e.ph THEN l.code
               WHEN e.ks IS NOT NULL THEN e.ks
               WHEN mk.valid_from > v_now THEN pc_code_key_not_yet_valid()
               WHEN mk.revoked_at <= v_now OR mk.grace_until <= v_now THEN pc_code_key_revoked()
               WHEN v_inactive IS NOT NULL AND e.a || ' ' || e.m = ANY (v_inactive)
                   THEN pc_code_merchant_inactive()
               WHEN l.seq IS NOT NULL THEN pc_code_conflict()
               WHEN e.mem IS NOT NULL AND mb.member_id IS NULL THEN pc_code_unknown_member()
               ELSE pc_code_ok() END AS pre_code,
               l.seq IS NOT NULL AND l.payload_hash = e.ph AND mk.key_id IS NOT NULL
               AND mk.merchant_id = e.m AS replay
          FROM e
          -- one keyed probe per event each, whatever the statistics say (LIMIT
          -- keeps the planner from turning them into joins of whole tables)
          LEFT JOIN LATERAL (
              SELECT k.key_id, k.merchant_id, k.valid_from, k.revoked_at, k.grace_until
                FROM merchant_keys k
               WHERE k.alliance_id = e.a AND k.key_id = e.k LIMIT 1) mk ON true
          LEFT JOIN LATERAL (
              SELECT x.seq, x.payload_hash, x.code FROM ledger x
               WHERE x.alliance_id = e.a AND x.merchant_id = e.m AND x.event_id = e.ev LIMIT 1) l ON true
          LEFT JOIN LATERAL (
              SELECT y.member_id, y.balance, y.held FROM members y
               WHERE y.alliance_id = e.a AND y.member_id = e.mem LIMIT 1) mb ON true)
    SELECT array_agg(CASE WHEN c.replay THEN pc_disposition_replayed()
                          WHEN c.pre_code <> pc_code_ok() THEN pc_disposition_rejected()
                          ELSE 0 END),
           array_agg(c.pre_code), array_agg(c.seq),
           array_agg(c.first_i::integer), array_agg(c.slot::integer),
           array_agg(c.mbal), array_agg(c.mheld), array_agg(c.i)
      INTO v_pre, v_pre_code, v_prior, v_dup_of, v_slot, v_mbal, v_mheld, v_order
      FROM (SELECT * FROM c ORDER BY c.i) c;

    FOR i IN 1 .. n LOOP
        IF v_order[i] <> i THEN
            RAISE EXCEPTION 'pointclear: phase 1 aggregated event % at %', v_order[i], i
                USING ERRCODE = 'XX000';
        END IF;
        IF v_slot[i] = i THEN
            s_a[i] := p_alliance[i]; s_id[i] := p_member[i];
            s_bal[i] := v_mbal[i]; s_held[i] := v_mheld[i];
        END IF;
    END LOOP;

    -- Member authorizations, verified by the daemon (signature, names, maximum,
    -- expiry at its clock): judged again here at the clearing house's clock and
    -- with the device key's state now, and each nonce is taken once, also within
    -- the batch (an event repeated under its own id is a replay, not a reuse).
    IF p_auth_nonce IS NOT NULL THEN
        FOR i IN 1 .. n LOOP
            CONTINUE WHEN p_auth_nonce[i] IS NULL OR v_pre[i] <> 0 OR v_dup_of[i] <> i;
            cd := NULL;
            IF p_auth_expires[i] < v_now_us THEN
                cd := pc_code_member_auth_expired();
            ELSIF NOT EXISTS (
                    SELECT 1 FROM member_devices d
                     WHERE d.alliance_id = p_alliance[i] AND d.key_id = p_auth_key[i]
                       AND d.member_id = p_member[i]
                       AND (d.revoked_at IS NULL OR d.revoked_at > v_now)) THEN
                cd := pc_code_member_auth_invalid();
            ELSIF EXISTS (
                    SELECT 1 FROM member_auth_nonces x
                     WHERE x.alliance_id = p_alliance[i] AND x.nonce = p_auth_nonce[i]) THEN
                cd := pc_code_member_auth_reused();
            ELSE
                FOREACH j IN ARRAY array_positions(p_auth_nonce, p_auth_nonce[i]) LOOP
                    EXIT WHEN j >= i;
                    IF p_alliance[j] = p_alliance[i] AND v_pre[j] = 0 AND v_dup_of[j] = j THEN
                        cd := pc_code_member_auth_reused();
                    END IF;
                END LOOP;
            END IF;
            IF cd IS NOT NULL THEN
                v_pre[i] := pc_disposition_rejected(); v_pre_code[i] := cd;
            END IF;
        END LOOP;
    END IF;

    -- Phase 2.
    FOR i IN 1 .. n LOOP
        IF v_pre[i] <> 0 THEN
            -- a replay of the ledger is answered from it at the end (35_replays.sql)
            o_disp[i] := v_pre[i]; o_code[i] := v_pre_code[i]; o_orig[i] := v_prior[i];
            CONTINUE;
        END IF;
        j := v_dup_of[i];
        IF j < i AND o_disp[j] = pc_disposition_recorded() THEN
            -- the same id earlier in this batch, recorded there: replay it, or refuse
            IF p_payload_hash[i] = p_payload_hash[j] THEN
                o_disp[i] := pc_disposition_replayed(); o_code[i] := o_code[j]; o_seq[i] := o_seq[j]; o_at[i] := v_now_us;
                o_status[i] := o_status[j]; o_balance[i] := o_balance[j];
                o_available[i] := o_available[j]; o_applied[i] := o_applied[j];
                o_remaining[i] := o_remaining[j]; o_hold[i] := o_hold[j];
            ELSE
                o_disp[i] := pc_disposition_rejected(); o_code[i] := pc_code_conflict(); o_orig[i] := o_seq[j];
            END IF;
            CONTINUE;
        END IF;

        a := p_alliance[i];
        mer := p_merchant[i];
        mem := p_member[i];
        amt := p_amount[i];
        ms := v_slot[i];
        h := array_position(v_heads, a);
        s := v_next[h];
        v_next[h] := s + 1;
        st := pc_status_approved(); cd := pc_code_ok(); ap := 0; rm := 0; hx := 0; dl := 0; ck := NULL; t_seq := NULL;

        -- the entry a capture, void or reversal names: in this batch or the ledger;
        -- its member is the one whose balance moves
        IF p_kind[i] IN (4, 5, 6) THEN
            t_owner := NULL; t_idx := NULL;
            IF p_ref_event[i] IS NOT NULL THEN
                FOREACH j IN ARRAY array_positions(p_event, p_ref_event[i]) LOOP
                    EXIT WHEN j >= i;
                    IF p_merchant[j] = mer AND p_alliance[j] = a AND o_disp[j] = pc_disposition_recorded() THEN
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
                    IF p_alliance[j] = a AND o_disp[j] = pc_disposition_recorded() THEN
                        t_idx := j; t_seq := o_seq[j]; t_owner := p_merchant[j];
                    END IF;
                END LOOP;
            ELSE
                SELECT l.seq, l.merchant_id INTO t_seq, t_owner FROM ledger l
                 WHERE l.alliance_id = a AND l.seq = p_ref_seq[i];
            END IF;

            mem := NULL;
            IF p_kind[i] IN (4, 5) THEN
                opened := pc_open_hold(a, mer, t_seq, t_owner, v_now);
                hold_row := opened.hold; hold_code := opened.code; hold_gone := opened.expired_now;
                mem := hold_row.member_id;
            ELSIF t_seq IS NOT NULL AND t_owner = mer THEN
                -- what remains: the original's applied amount less the approved
                -- reversals naming it, in the ledger and earlier in this batch
                IF t_idx IS NOT NULL THEN
                    t_kind := p_kind[t_idx]; t_status := o_status[t_idx];
                    mem := o_member[t_idx]; t_amount := o_applied[t_idx]; t_reversed := 0;
                ELSE
                    SELECT l.kind, l.status, l.member_id, l.applied
                      INTO t_kind, t_status, mem, t_amount
                      FROM ledger l WHERE l.alliance_id = a AND l.seq = t_seq;
                    SELECT coalesce(sum(l.applied), 0) INTO t_reversed FROM ledger l
                     WHERE l.alliance_id = a AND l.ref_seq = t_seq AND l.kind = 6
                       AND l.status = pc_status_approved();
                END IF;
                FOREACH j IN ARRAY array_positions(o_ref, t_seq) LOOP
                    IF p_kind[j] = 6 AND o_status[j] = pc_status_approved() AND p_alliance[j] = a THEN
                        t_reversed := t_reversed + o_applied[j];
                    END IF;
                END LOOP;
            END IF;

            -- that member's slot: its first event in this batch, else one made now
            ms := NULL;
            IF mem IS NOT NULL THEN
                FOREACH j IN ARRAY array_positions(p_member, mem) LOOP
                    IF p_alliance[j] = a THEN ms := v_slot[j]; EXIT; END IF;
                END LOOP;
                IF ms IS NULL THEN
                    FOR j IN n + 1 .. s_n LOOP
                        IF s_a[j] = a AND s_id[j] = mem THEN ms := j; EXIT; END IF;
                    END LOOP;
                END IF;
                IF ms IS NULL THEN
                    SELECT m.balance, m.held INTO x_bal, x_held FROM members m
                     WHERE m.alliance_id = a AND m.member_id = mem;
                    s_n := s_n + 1; ms := s_n;
                    s_a[ms] := a; s_id[ms] := mem; s_bal[ms] := x_bal; s_held[ms] := x_held;
                END IF;
            END IF;
        END IF;

        CASE p_kind[i]
        WHEN 1 THEN
            -- EARN: the member gains, the merchant owes the points it issued
            IF s_bal[ms] > max_points - amt THEN
                st := pc_status_declined(); cd := pc_code_amount_too_large();
            ELSE
                s_bal[ms] := s_bal[ms] + amt; ap := amt; rm := amt; dl := amt; ck := 2;
            END IF;
        WHEN 2, 3 THEN
            -- REDEEM spends, HOLD reserves; both only from the spendable balance,
            -- after releasing holds that expired if they are what stands in the way
            IF s_bal[ms] - s_held[ms] < amt AND s_held[ms] > 0 THEN
                s_held[ms] := s_held[ms] - pc_release_expired(a, mem, v_now);
            END IF;
            IF s_bal[ms] - s_held[ms] < amt THEN
                st := pc_status_declined(); cd := pc_code_insufficient_points();
            ELSIF p_kind[i] = 2 THEN
                s_bal[ms] := s_bal[ms] - amt; ap := amt; rm := amt; dl := -amt; ck := 3;
            ELSE
                IF al.alliance_id IS DISTINCT FROM a THEN
                    SELECT * INTO al FROM alliances x WHERE x.alliance_id = a;
                END IF;
                -- expiry counts from the time accepted, never from the POS clock
                dur := CASE WHEN coalesce(p_duration[i], 0) = 0 THEN al.default_hold_s
                            ELSE least(p_duration[i], al.max_hold_s) END;
                INSERT INTO holds (alliance_id, seq, merchant_id, member_id, amount, expires_at)
                VALUES (a, s, mer, mem, amt, v_now + make_interval(secs => dur));
                s_held[ms] := s_held[ms] + amt; ap := amt;
                hx := pc_us(v_now + make_interval(secs => dur));
            END IF;
        WHEN 4, 5 THEN
            -- CAPTURE takes up to the held points and releases the rest; VOID
            -- releases them all; a hold resolves once
            IF hold_gone THEN
                s_held[ms] := s_held[ms] - hold_row.amount;
            END IF;
            hx := coalesce(pc_us(hold_row.expires_at), 0);
            IF hold_code <> pc_code_ok() THEN
                st := pc_status_declined(); cd := hold_code;
            ELSIF p_kind[i] = 4 AND amt > hold_row.amount THEN
                st := pc_status_declined(); cd := pc_code_hold_exceeded(); rm := hold_row.amount;
            ELSE
                UPDATE holds x SET state = CASE WHEN p_kind[i] = 4 THEN 2 ELSE 3 END,
                                   resolved_seq = s, resolved_at = v_now
                 WHERE x.alliance_id = a AND x.seq = hold_row.seq;
                s_held[ms] := s_held[ms] - hold_row.amount;
                IF p_kind[i] = 4 THEN
                    s_bal[ms] := s_bal[ms] - amt; ap := amt; rm := hold_row.amount - amt;
                    dl := -amt; ck := 3;
                ELSE
                    ap := hold_row.amount;
                END IF;
            END IF;
        WHEN 6 THEN
            -- REVERSAL: bounded by what remains of the original, never by the
            -- balance: reversing an earn may leave points owed
            IF t_seq IS NULL THEN
                st := pc_status_declined(); cd := pc_code_original_not_found();
            ELSIF t_owner <> mer THEN
                st := pc_status_declined(); cd := pc_code_foreign_event();
            ELSIF NOT (t_status = pc_status_approved() AND t_kind IN (1, 2, 4, 8)) THEN
                st := pc_status_declined(); cd := pc_code_not_reversible();
            ELSIF amt > t_amount - t_reversed THEN
                st := pc_status_declined(); cd := pc_code_reversal_exceeds_remaining(); rm := t_amount - t_reversed;
            ELSIF t_kind IN (2, 4) AND s_bal[ms] > max_points - amt THEN
                st := pc_status_declined(); cd := pc_code_amount_too_large(); rm := t_amount - t_reversed;
            ELSE
                ap := amt; rm := t_amount - t_reversed - amt;
                IF t_kind = 1 THEN
                    s_bal[ms] := s_bal[ms] - amt; dl := -amt; ck := 2;
                ELSIF t_kind IN (2, 4) THEN
                    s_bal[ms] := s_bal[ms] + amt; dl := amt; ck := 3;
                END IF;
                -- a purchase refund moves no points; its clawback comes with attribution
            END IF;
        WHEN 7 THEN
            -- REFERRAL: a touch, kept for attribution (written in phase 3)
            NULL;
        WHEN 8 THEN
            -- PURCHASE: kept for attribution (written in phase 3); a refund
            -- reverses its amount
            ap := amt; rm := amt;
        END CASE;

        o_disp[i] := pc_disposition_recorded(); o_code[i] := cd; o_seq[i] := s; o_at[i] := v_now_us; o_status[i] := st;
        -- a decline tells the merchant a balance only with the member's consent
        -- (PROTOCOL.md, "Answers"): a merchant probing with amounts it cannot
        -- spend learns nothing
        IF st = pc_status_declined() AND p_auth_nonce[i] IS NULL THEN
            o_balance[i] := 0; o_available[i] := 0;
        ELSE
            o_balance[i] := coalesce(s_bal[ms], 0);
            o_available[i] := coalesce(s_bal[ms] - s_held[ms], 0);
        END IF;
        o_applied[i] := CASE WHEN st = pc_status_approved() THEN ap ELSE 0 END;
        o_remaining[i] := rm; o_hold[i] := hx; o_ref[i] := t_seq; o_member[i] := mem;
        o_delta[i] := CASE WHEN st = pc_status_approved() THEN dl ELSE 0 END; o_counter[i] := ck;
    END LOOP;

    -- Phase 3. Separate statements over the arrays, no joins: a join of row sets
    -- the planner cannot estimate turns into a nested loop, quadratic in the batch.
    UPDATE members m SET balance = u.bal, held = u.held
      FROM unnest(s_a, s_id, s_bal, s_held) AS u(a, id, bal, held)
     WHERE u.id IS NOT NULL AND m.alliance_id = u.a AND m.member_id = u.id
       AND (m.balance <> u.bal OR m.held <> u.held);

    -- The daemon hashes the leaves of the entries it sent (20_leaves.sql); a
    -- replay's leaf is hashed here, from the entry it replays, since the daemon
    -- may hold other bytes under the same payload (a replay of the ledger's, at
    -- the end).
    IF pc_disposition_replayed() = ANY (o_disp) THEN
        FOR i IN 1 .. n LOOP
            IF o_disp[i] = pc_disposition_replayed() AND v_pre[i] = 0 THEN
                j := v_dup_of[i];
                o_leaf[i] := pc_leaf_hash(p_alliance[j], o_seq[j], v_now_us, p_envelope[j],
                                          o_status[j], o_code[j], o_balance[j],
                                          o_available[j], o_applied[j], o_remaining[j],
                                          o_hold[j], '\x'::bytea);
            END IF;
        END LOOP;
    END IF;

    INSERT INTO ledger (alliance_id, seq, accepted_at, merchant_id, event_id, key_id, kind,
                        event_time, store_id, terminal_id, member_id, amount, ref_seq,
                        envelope, payload_hash, status, code, balance, available, applied,
                        remaining, hold_expires_at_us)
    SELECT p_alliance[i], o_seq[i], v_now, p_merchant[i], p_event[i], p_key[i], p_kind[i],
           p_event_time[i], p_store[i], p_terminal[i], o_member[i], p_amount[i], o_ref[i],
           p_envelope[i], p_payload_hash[i], o_status[i], o_code[i], o_balance[i],
           o_available[i], o_applied[i], o_remaining[i], o_hold[i]
      FROM generate_series(1, n) AS i
     WHERE o_disp[i] = pc_disposition_recorded();

    -- an authorization is spent by the entry that carried it, approved or declined
    IF p_auth_nonce IS NOT NULL THEN
        INSERT INTO member_auth_nonces (alliance_id, nonce, member_id, merchant_id, seq, expires_at)
        SELECT p_alliance[i], p_auth_nonce[i], p_member[i], p_merchant[i], o_seq[i],
               timestamptz 'epoch' + p_auth_expires[i] * interval '1 microsecond'
          FROM generate_series(1, n) AS i
         WHERE o_disp[i] = pc_disposition_recorded() AND p_auth_nonce[i] IS NOT NULL;
    END IF;

    INSERT INTO postings (alliance_id, seq, leg, account_kind, owner_id, amount, reason)
    SELECT p_alliance[i], o_seq[i], x.leg, x.kind, x.owner, x.amount,
           (ARRAY['EARN', 'REDEEM', 'HOLD', 'CAPTURE', 'VOID', 'REVERSAL', 'REFERRAL',
                  'PURCHASE'])[p_kind[i]] || ' ' || p_event[i] || coalesce(' / ' || p_reason[i], '')
      FROM generate_series(1, n) AS i
     CROSS JOIN LATERAL (VALUES (1::smallint, 1::smallint, o_member[i], o_delta[i]),
                                (2::smallint, o_counter[i], p_merchant[i], -o_delta[i]))
           AS x(leg, kind, owner, amount)
     WHERE o_disp[i] = pc_disposition_recorded() AND o_delta[i] <> 0;

    -- touches and purchases, kept for attribution, written like the ledger: once
    IF 7 = ANY (p_kind) THEN
        INSERT INTO referral_touches (alliance_id, seq, member_id, referrer_merchant_id,
                                      beneficiary_merchant_id, channel, campaign_id,
                                      referral_code, touched_at)
        SELECT p_alliance[i], o_seq[i], o_member[i], p_merchant[i], p_beneficiary[i],
               p_channel[i], p_campaign[i], p_code[i], coalesce(p_touch_time[i], p_event_time[i])
          FROM generate_series(1, n) AS i
         WHERE o_disp[i] = pc_disposition_recorded() AND p_kind[i] = 7;
    END IF;

    IF 8 = ANY (p_kind) THEN
        INSERT INTO purchases (alliance_id, seq, member_id, merchant_id, amount_minor, currency,
                               referral_code)
        SELECT p_alliance[i], o_seq[i], o_member[i], p_merchant[i], p_amount[i], p_currency[i],
               p_code[i]
          FROM generate_series(1, n) AS i
         WHERE o_disp[i] = pc_disposition_recorded() AND p_kind[i] = 8;
    END IF;

    -- merchant accounts move once per batch, not once per event
    INSERT INTO accounts AS acc (alliance_id, account_kind, owner_id, balance)
    SELECT p_alliance[i], o_counter[i], p_merchant[i], sum(-o_delta[i])
      FROM generate_series(1, n) AS i
     WHERE o_disp[i] = pc_disposition_recorded() AND o_delta[i] <> 0
     GROUP BY 1, 2, 3
    ON CONFLICT (alliance_id, account_kind, owner_id)
    DO UPDATE SET balance = acc.balance + EXCLUDED.balance;

    IF v_heads IS NOT NULL THEN
        UPDATE ledger_heads x SET next_seq = r.hi
          FROM unnest(v_heads, v_next) AS r(a, hi)
         WHERE x.alliance_id = r.a AND x.next_seq <> r.hi;
    END IF;

    -- What this batch recorded for an alliance is consecutive (its head was locked):
    -- cut into trees here, so that the INSERT's plan does not depend on the batch
    -- (a generate_series over them was planned anew for every call).
    IF p_tree_max > 0 THEN
        FOR h IN 1 .. coalesce(array_length(v_heads, 1), 0) LOOP
            s := v_first[h];
            WHILE s < v_next[h] LOOP
                rt_a := rt_a || v_heads[h];
                rt_first := rt_first || s;
                rt_size := rt_size || least(p_tree_max, v_next[h] - s)::integer;
                s := s + p_tree_max;
            END LOOP;
        END LOOP;
        INSERT INTO receipt_trees (alliance_id, first_seq, size)
        SELECT * FROM unnest(rt_a, rt_first, rt_size);
    END IF;

    -- Every row but a replay of an earlier batch's entry: this batch's trees are
    -- runs of p_tree_max from each alliance's first new sequence, so a row's tree
    -- is arithmetic on its sequence. In a batch of one alliance, the usual one,
    -- the run starts at one_lo and ends before one_hi; a lookup per row of the
    -- alliance's place in v_heads cost 1.5-1.7% of a 200-event batch.
    IF coalesce(array_length(v_heads, 1), 0) = 1 THEN
        one_lo := v_first[1]; one_hi := v_next[1];
    END IF;
    RETURN QUERY
    SELECT x.i, o_disp[x.i], o_code[x.i], o_seq[x.i], o_at[x.i], o_status[x.i], o_balance[x.i],
           o_available[x.i], o_applied[x.i], o_remaining[x.i], o_hold[x.i], o_leaf[x.i],
           CASE WHEN o_disp[x.i] = pc_disposition_rejected() THEN o_orig[x.i] END,
           CASE WHEN o_disp[x.i] IN (pc_disposition_recorded(), pc_disposition_replayed()) AND p_tree_max > 0
                THEN x.lo + (o_seq[x.i] - x.lo) / p_tree_max * p_tree_max END,
           CASE WHEN o_disp[x.i] IN (pc_disposition_recorded(), pc_disposition_replayed()) AND p_tree_max > 0
                THEN least(p_tree_max,
                           x.hi - (x.lo + (o_seq[x.i] - x.lo) / p_tree_max * p_tree_max))::integer END,
           NULL::text, NULL::text, NULL::text
      FROM (SELECT i, coalesce(one_lo, v_first[array_position(v_heads, p_alliance[i])]) AS lo,
                   coalesce(one_hi, v_next[array_position(v_heads, p_alliance[i])]) AS hi
              FROM generate_series(1, n) AS i
             WHERE v_pre[i] <> pc_disposition_replayed()) x;

    IF NOT pc_disposition_replayed() = ANY (v_pre) THEN
        RETURN;
    END IF;
    -- Replays of earlier batches' entries, rare: each names its original tree, and
    -- that tree's other entries come as context rows (index 0), as LOOKUP's do.
    RETURN QUERY
    SELECT * FROM pc_replay_rows(
        p_alliance,
        ARRAY(SELECT CASE WHEN v_pre[i] = pc_disposition_replayed() THEN v_prior[i] END
                FROM generate_series(1, n) AS i),
        p_tree_max);
END $$;


-- The daemon calls pc_record_batch only; the rest is the owner's.
REVOKE EXECUTE ON FUNCTION pc_generic_plans_safe, pc_record_batch, pc_decide_and_record
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pc_record_batch TO pointclear_daemon;
