-- 008_generic_plans: a batch reuses its plans once the statistics can be trusted.
--
-- PL/pgSQL caches a plan per statement, but for a statement whose parameters are
-- arrays PostgreSQL keeps choosing a custom plan: it plans the statement again at
-- every call, with the arrays' values. Planning is about 40% of a small batch's
-- time in PostgreSQL (a one-event batch: 4.05 ms custom, 2.36 ms generic), and
-- batches hold a few events under light load (docs/PERFORMANCE.md). From about
-- ten events on, the plan cache already keeps one plan per statement.
--
-- A generic plan is made once and kept until the tables' statistics change, so it
-- must not be made while they describe an empty ledger. Then every index that
-- starts with alliance_id costs the same as the one that matches the probe, and
-- the tie goes to the newest: ledger_by_time, read for the alliance's whole ledger
-- at every event (batches of 1.1 to 2.3 s, measured). With statistics of a
-- ledger of some size, the unique index, one row, is cheaper than any index on
-- the alliance alone, and autovacuum's ANALYZE, every tenth of growth, makes the
-- plans again. The same holds for the key probe: merchant_keys_pkey against
-- merchant_keys_by_merchant, on the alliance alone.
--
-- So pc_record_batch chooses per call: generic plans when the statistics say the
-- ledger holds at least 1,000 entries and merchant_keys is not empty, else the
-- custom plans of before. The choice lasts for the call (the function's SET
-- restores the setting when it returns). What it decides is unchanged: 007's
-- body is renamed pc_decide_and_record and called as it was.

ALTER FUNCTION pc_record_batch(
    text[], text[], text[], text[], smallint[], bytea[], bytea[], timestamptz[], text[],
    text[], text[], bigint[], text[], bigint[], integer[], text[], text[], text[], text[],
    text[], timestamptz[], text[], integer)
    RENAME TO pc_decide_and_record;

-- True when a generic plan of the writer's probes picks the index that matches
-- them. PL/pgSQL, not SQL: a SQL function called from PL/pgSQL is planned again
-- in every transaction, and that cost a 10-event batch 4% more instructions.
CREATE FUNCTION pc_generic_plans_safe() RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT count(*) = 2 FROM pg_class c
             WHERE (c.oid = 'ledger'::regclass AND c.reltuples >= 1000)
                OR (c.oid = 'merchant_keys'::regclass AND c.reltuples > 0));
END $$;

CREATE FUNCTION pc_record_batch(
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
    p_tree_max      integer DEFAULT 64)
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
                                       p_campaign, p_code, p_touch_time, p_currency, p_tree_max);
END $$;
