-- 60_checks: whether an alliance's running totals still follow from its ledger.
--
-- Balances, held points and account totals are kept by the writer as running
-- totals (40_record_batch.sql, 30_holds.sql), and only the owner's functions
-- change them; a role that can write the tables directly (the owner, a superuser)
-- can change them without a ledger entry. pc_check_alliance recomputes each from
-- what the ledger recorded and returns one row per disagreement, none when the
-- alliance is consistent (`pointclear check`):
--   member-balance   a member's balance against the sum of its postings
--   member-held      a member's held points against its active holds
--   account-balance  a merchant account (kind:merchant) against its postings
--   entry-postings   an entry whose postings do not sum to zero (stored 0)
--   ledger-head      the alliance's next sequence against the entries recorded
--   ledger-gap       a missing sequence: stored is the one expected, computed the
--                    one found next
-- Sums are numeric, so no total overflows whatever was written. One statement,
-- STABLE: every part reads the same snapshot, which a batch leaves consistent.
CREATE OR REPLACE FUNCTION pc_check_alliance(a text)
RETURNS TABLE (check_name text, subject text, stored numeric, computed numeric)
LANGUAGE sql STABLE
SET search_path = pg_catalog, public, pg_temp AS $$
    WITH posted AS (
        SELECT owner_id, sum(amount) AS total FROM postings
         WHERE alliance_id = a AND account_kind = 1 GROUP BY owner_id),
    held AS (
        SELECT member_id, sum(amount) AS total FROM holds
         WHERE alliance_id = a AND state = 1 GROUP BY member_id),
    merchant_posted AS (
        SELECT account_kind, owner_id, sum(amount) AS total FROM postings
         WHERE alliance_id = a AND account_kind IN (2, 3) GROUP BY account_kind, owner_id),
    seqs AS (
        SELECT seq, lead(seq) OVER (ORDER BY seq) AS next FROM ledger WHERE alliance_id = a)
    SELECT 'member-balance', coalesce(m.member_id, p.owner_id)::text,
           coalesce(m.balance, 0)::numeric, coalesce(p.total, 0)
      FROM (SELECT member_id, balance FROM members WHERE alliance_id = a) m
      FULL JOIN posted p ON p.owner_id = m.member_id
     WHERE coalesce(m.balance, 0) <> coalesce(p.total, 0)
    UNION ALL
    SELECT 'member-held', coalesce(m.member_id, h.member_id)::text,
           coalesce(m.held, 0)::numeric, coalesce(h.total, 0)
      FROM (SELECT member_id, held FROM members WHERE alliance_id = a) m
      FULL JOIN held h ON h.member_id = m.member_id
     WHERE coalesce(m.held, 0) <> coalesce(h.total, 0)
    UNION ALL
    SELECT 'account-balance', coalesce(x.account_kind, p.account_kind) || ':'
                              || coalesce(x.owner_id, p.owner_id),
           coalesce(x.balance, 0)::numeric, coalesce(p.total, 0)
      FROM (SELECT account_kind, owner_id, balance FROM accounts WHERE alliance_id = a) x
      FULL JOIN merchant_posted p
        ON p.account_kind = x.account_kind AND p.owner_id = x.owner_id
     WHERE coalesce(x.balance, 0) <> coalesce(p.total, 0)
    UNION ALL
    SELECT 'entry-postings', seq::text, 0, sum(amount)
      FROM postings WHERE alliance_id = a GROUP BY seq HAVING sum(amount) <> 0
    UNION ALL
    SELECT 'ledger-head', a, h.next_seq::numeric, count(l.seq)::numeric
      FROM ledger_heads h LEFT JOIN ledger l ON l.alliance_id = h.alliance_id
     WHERE h.alliance_id = a
     GROUP BY h.next_seq
    HAVING h.next_seq <> count(l.seq) OR h.next_seq <> coalesce(max(l.seq) + 1, 0)
    UNION ALL
    SELECT 'ledger-gap', (s.seq + 1)::text, (s.seq + 1)::numeric, s.next::numeric
      FROM seqs s WHERE s.next <> s.seq + 1
    UNION ALL
    SELECT 'ledger-gap', '0', 0, min(seq)::numeric
      FROM ledger WHERE alliance_id = a HAVING min(seq) <> 0
$$;

-- The owner's (`pointclear check`); the daemon has no use for it.
REVOKE EXECUTE ON FUNCTION pc_check_alliance FROM PUBLIC;
