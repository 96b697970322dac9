-- 005_receipt_trees: receipts are signed a tree at a time.
--
-- The operator's signature is the daemon's largest cost per event after the
-- merchant's own, so receipts are not signed one by one: the entries one batch
-- records for an alliance are cut into trees of at most 64 consecutive entries;
-- the daemon signs each tree's head once and gives every receipt its inclusion
-- path (PROTOCOL.md, "Receipts"). A replay must return the original receipt byte
-- for byte, so the trees' bounds are kept here, in the same transaction as their
-- entries, and a replay is answered with its whole original tree: the other
-- entries of that tree come back as context rows (r_idx 0), from which the daemon
-- rebuilds the same receipts, the same root and, Ed25519 being deterministic, the
-- same signature.

CREATE TABLE receipt_trees (
    alliance_id  text COLLATE "C" NOT NULL REFERENCES alliances,
    first_seq    bigint NOT NULL CHECK (first_seq >= 0),
    size         integer NOT NULL CHECK (size BETWEEN 1 AND 64),
    PRIMARY KEY (alliance_id, first_seq)
);

CREATE TRIGGER receipt_trees_append_only BEFORE UPDATE OR DELETE ON receipt_trees
    FOR EACH ROW EXECUTE FUNCTION pc_refuse_change();
CREATE TRIGGER receipt_trees_no_truncate BEFORE TRUNCATE ON receipt_trees
    FOR EACH STATEMENT EXECUTE FUNCTION pc_refuse_change();

-- One row of pc_apply_batch's result, so that it can be kept in an array.
CREATE TYPE pc_apply_row AS (
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
    r_original_seq        bigint);

-- pc_apply_batch, plus for every recorded or replayed event the tree its receipt
-- belongs to (t_first, t_size), plus context rows (r_idx 0, with their alliance,
-- merchant and event id) for the other entries of the trees replays belong to.
-- An entry recorded before trees were kept has a tree of its own (size 1).
CREATE FUNCTION pc_apply_batch_receipts(
    p_alliance text[], p_merchant text[], p_event text[], p_key text[], p_kind smallint[],
    p_envelope bytea[], p_payload_hash bytea[], p_event_time timestamptz[],
    p_store text[], p_terminal text[], p_member text[], p_amount bigint[],
    p_ref_event text[], p_ref_seq bigint[], p_duration integer[], p_reason text[],
    p_beneficiary text[], p_channel text[], p_campaign text[], p_code text[],
    p_touch_time timestamptz[], p_currency text[])
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
LANGUAGE plpgsql AS $$
DECLARE
    tree_max  CONSTANT integer := 64;
    res       pc_apply_row[];
BEGIN
    SELECT array_agg(ROW(x.r_idx, x.r_disposition, x.r_code, x.r_seq, x.r_accepted_at_us,
                         x.r_status, x.r_balance, x.r_available, x.r_applied, x.r_remaining,
                         x.r_hold_expires_at_us, x.r_leaf_hash, x.r_original_seq)::pc_apply_row)
      INTO res
      FROM pc_apply_batch(p_alliance, p_merchant, p_event, p_key, p_kind, p_envelope,
                          p_payload_hash, p_event_time, p_store, p_terminal, p_member,
                          p_amount, p_ref_event, p_ref_seq, p_duration, p_reason,
                          p_beneficiary, p_channel, p_campaign, p_code, p_touch_time,
                          p_currency) x;

    -- What this batch recorded for an alliance is consecutive (the head was locked).
    INSERT INTO receipt_trees (alliance_id, first_seq, size)
    SELECT c.a, f, least(tree_max, c.hi - f + 1)
      FROM (SELECT p_alliance[u.r_idx] AS a, min(u.r_seq) AS lo, max(u.r_seq) AS hi
              FROM unnest(res) u WHERE u.r_disposition = 1 GROUP BY 1) c,
           generate_series(c.lo, c.hi, tree_max) f;

    -- A statement of its own: its snapshot was taken after the heads were locked,
    -- so it sees every tree committed before, and this batch's. Trees of this
    -- batch are placed by arithmetic; only replays of earlier entries look theirs up.
    RETURN QUERY
    WITH cur AS (
        SELECT p_alliance[u.r_idx] AS a, min(u.r_seq) AS lo, max(u.r_seq) AS hi
          FROM unnest(res) u WHERE u.r_disposition = 1 GROUP BY 1),
    placed AS (
        SELECT u.*, p_alliance[u.r_idx] AS a, c.a IS NULL AS earlier,
               CASE WHEN c.a IS NOT NULL THEN c.lo + (u.r_seq - c.lo) / tree_max * tree_max
                    WHEN u.r_seq < t.first_seq + t.size THEN t.first_seq
                    ELSE u.r_seq END AS tf,
               CASE WHEN c.a IS NOT NULL
                    THEN least(tree_max, c.hi - (c.lo + (u.r_seq - c.lo) / tree_max * tree_max) + 1)
                    WHEN u.r_seq < t.first_seq + t.size THEN t.size
                    ELSE 1 END AS ts
          FROM unnest(res) u
          LEFT JOIN cur c ON c.a = p_alliance[u.r_idx] AND u.r_disposition IN (1, 2)
                         AND u.r_seq BETWEEN c.lo AND c.hi
          LEFT JOIN LATERAL (
              SELECT rt.first_seq, rt.size FROM receipt_trees rt
               WHERE u.r_disposition = 2 AND c.a IS NULL
                 AND rt.alliance_id = p_alliance[u.r_idx] AND rt.first_seq <= u.r_seq
               ORDER BY rt.first_seq DESC LIMIT 1) t ON true)
    SELECT p.r_idx, p.r_disposition, p.r_code, p.r_seq, p.r_accepted_at_us, p.r_status,
           p.r_balance, p.r_available, p.r_applied, p.r_remaining, p.r_hold_expires_at_us,
           p.r_leaf_hash, p.r_original_seq,
           CASE WHEN p.r_disposition IN (1, 2) THEN p.tf END,
           CASE WHEN p.r_disposition IN (1, 2) THEN p.ts::integer END,
           NULL::text, NULL::text, NULL::text
      FROM placed p
    UNION ALL
    SELECT 0, 0::smallint, l.code, l.seq, pc_us(l.accepted_at), l.status, l.balance,
           l.available, l.applied, l.remaining, l.hold_expires_at_us, l.leaf_hash,
           NULL::bigint, t.tf, t.ts::integer, l.alliance_id::text, l.merchant_id::text, l.event_id::text
      FROM (SELECT DISTINCT p.a, p.tf, p.ts FROM placed p
             WHERE p.r_disposition = 2 AND p.earlier AND p.ts > 1) t
      JOIN ledger l ON l.alliance_id = t.a AND l.seq >= t.tf AND l.seq < t.tf + t.ts;
END $$;
