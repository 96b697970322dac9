-- 35_replays: the answer rows for entries already in the ledger, with what the
-- daemon needs to sign their receipts again.
--
-- Two callers ask for an entry recorded by an earlier batch: the writer, when a
-- request is sent again (pc_decide_and_record, 40_record_batch.sql), and LOOKUP,
-- when a POS that lost its copy asks for the outcome (pc_lookup_entries,
-- 50_lookup.sql). Both must answer with the original receipt byte for byte, so
-- both take their rows from here. Receipts are signed a tree at a time: the row
-- of each entry names its tree (receipt_trees, or a tree of its own when it was
-- recorded without one), and every entry of a tree of several comes as a context
-- row (index 0), so that the daemon rebuilds the same tree and signature.
--
-- Only reads. Each entry and each tree is one keyed probe whatever the estimates
-- (the caller prices sequential scans out: SET enable_seqscan = off).

-- p_seq[i]: the entry event i is answered with, in alliance p_alliance[i]; NULL
-- for an event answered otherwise (it gets no row here). The row of event i has
-- index i and disposition REPLAYED; p_tree_max 0 (no trees kept) leaves the
-- trees' columns NULL.
CREATE OR REPLACE FUNCTION pc_replay_rows(p_alliance text[], p_seq bigint[], p_tree_max integer)
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
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    WITH res AS (
        SELECT x.i, p_alliance[x.i] AS a, e.*
          FROM generate_series(1, coalesce(cardinality(p_seq), 0)) AS x(i)
          -- one probe per entry (OFFSET 0 keeps it from being planned as a join
          -- of the ledger)
         CROSS JOIN LATERAL (
              SELECT l.seq, l.accepted_at, l.code, l.status, l.balance, l.available,
                     l.applied, l.remaining, l.hold_expires_at_us,
                     pc_entry_leaf_hash(l) AS leaf
                FROM ledger l
               WHERE p_seq[x.i] IS NOT NULL AND l.alliance_id = p_alliance[x.i]
                 AND l.seq = p_seq[x.i]
              OFFSET 0) e),
    placed AS (
        SELECT x.*,
               CASE WHEN x.seq < t.first_seq + t.size THEN t.first_seq ELSE x.seq END AS tf,
               CASE WHEN x.seq < t.first_seq + t.size THEN t.size ELSE 1 END AS ts
          FROM res x
          LEFT JOIN LATERAL (
              SELECT rt.first_seq, rt.size FROM receipt_trees rt
               WHERE p_tree_max > 0 AND rt.alliance_id = x.a AND rt.first_seq <= x.seq
               ORDER BY rt.first_seq DESC LIMIT 1) t ON true)
    SELECT p.i, pc_disposition_replayed()::smallint, p.code, p.seq, pc_us(p.accepted_at),
           p.status, p.balance, p.available, p.applied, p.remaining, p.hold_expires_at_us,
           p.leaf, NULL::bigint,
           CASE WHEN p_tree_max > 0 THEN p.tf END,
           CASE WHEN p_tree_max > 0 THEN p.ts::integer END,
           NULL::text, NULL::text, NULL::text
      FROM placed p
    UNION ALL
    SELECT 0, pc_disposition_unspecified()::smallint, l.code, l.seq, pc_us(l.accepted_at), l.status, l.balance,
           l.available, l.applied, l.remaining, l.hold_expires_at_us, l.leaf,
           NULL::bigint, t.tf, t.ts::integer, l.alliance_id::text, l.merchant_id::text,
           l.event_id::text
      FROM (SELECT DISTINCT p.a, p.tf, p.ts FROM placed p WHERE p.ts > 1 AND p_tree_max > 0) t
      -- one range probe per tree, whatever the estimates: counted from
      -- generate_series, res is 1,000 rows to the planner, not 10 as from unnest
     CROSS JOIN LATERAL (
          SELECT x.alliance_id, x.merchant_id, x.event_id, x.seq, x.accepted_at, x.code,
                 x.status, x.balance, x.available, x.applied, x.remaining,
                 x.hold_expires_at_us, pc_entry_leaf_hash(x) AS leaf
            FROM ledger x
           WHERE x.alliance_id = t.a AND x.seq >= t.tf AND x.seq < t.tf + t.ts
          OFFSET 0) l;
END $$;

REVOKE EXECUTE ON FUNCTION pc_replay_rows FROM PUBLIC;
