-- 50_lookup: LOOKUP, the stored outcome of events a merchant sent before.
--
-- A POS that lost its copy of a request asks, over its own connection, what
-- became of (its alliance, its merchant, an event id). The answer is the one a
-- resubmission of the original bytes would get, so the rows are the writer's
-- rows for a replay (35_replays.sql): same columns, same receipt tree, same
-- context rows, the leaf hashed from the stored entry. An id the merchant never
-- recorded, another merchant's included, is NOT_FOUND: a merchant sees only its
-- own entries, and cannot tell another's id from one never used.
--
-- STABLE: PL/pgSQL refuses any write in it, so a lookup can have no second
-- effect, and it takes no lock a batch waits for.

-- SELECT * FROM pc_lookup_entries(alliance, merchant, event ids). A row per id,
-- r_idx its place in p_event_ids (1-based): REPLAYED as pc_decide_and_record
-- returns a replay of the ledger, or REJECTED with NOT_FOUND and every other
-- column NULL; then context rows (r_idx 0) for the trees of several entries the
-- replays belong to. p_tree_max is the writer's (pc_record_batch's default).
CREATE OR REPLACE FUNCTION pc_lookup_entries(
    p_alliance    text,
    p_merchant    text,
    p_event_ids   text[],
    p_tree_max    integer DEFAULT 64)
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
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET enable_seqscan = off
SET jit = off AS $$
DECLARE
    n      integer := coalesce(cardinality(p_event_ids), 0);
    v_seq  bigint[];   -- the entry holding id i, else NULL
BEGIN
    IF p_tree_max IS NULL OR p_tree_max NOT BETWEEN 0 AND 64 THEN
        RAISE EXCEPTION 'pointclear: receipt trees hold 1 to 64 entries (0: none), not %', p_tree_max
            USING ERRCODE = '22023';
    END IF;
    IF n = 0 THEN
        RETURN;
    END IF;

    -- one probe per id on the key the writer keeps unique
    SELECT array_agg(l.seq ORDER BY x.i) INTO v_seq
      FROM generate_series(1, n) AS x(i)
      LEFT JOIN LATERAL (
          SELECT y.seq FROM ledger y
           WHERE y.alliance_id = p_alliance AND y.merchant_id = p_merchant
             AND y.event_id = p_event_ids[x.i] LIMIT 1) l ON true;

    RETURN QUERY
    SELECT x.i, pc_disposition_rejected()::smallint, pc_code_not_found()::smallint,
           NULL::bigint, NULL::bigint, NULL::smallint, NULL::bigint, NULL::bigint,
           NULL::bigint, NULL::bigint, NULL::bigint, NULL::bytea, NULL::bigint,
           NULL::bigint, NULL::integer, NULL::text, NULL::text, NULL::text
      FROM generate_series(1, n) AS x(i)
     WHERE v_seq[x.i] IS NULL;

    RETURN QUERY
    SELECT * FROM pc_replay_rows(array_fill(p_alliance, ARRAY[n]), v_seq, p_tree_max);
END $$;

-- The daemon's role reads no ledger table: it asks through this function, which
-- runs as the owner and answers only the merchant's own event ids.
REVOKE EXECUTE ON FUNCTION pc_lookup_entries FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pc_lookup_entries TO pointclear_daemon;
