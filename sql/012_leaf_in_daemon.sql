-- 012_leaf_in_daemon: the daemon hashes a new entry's leaf; the ledger stops
-- storing it.
--
-- Every ledger entry's leaf hash (PROTOCOL.md, "Leaf") is a function of the
-- entry's own columns: alliance, sequence, time accepted, the envelope as
-- received, the decision and ext. pc_decide_and_record used to compute it for
-- every new entry, with a SHA-256 and a dozen byte concatenations per row, in the
-- one backend that holds the ledger heads; it was 8.0% of a 200-event batch
-- (tools/batch_cost.sh; docs/PERFORMANCE.md, "Migration 012"). The daemon already
-- holds every input once the batch returns, and hashes them with proto/'s
-- pc_leaf_hash, the definition the offline auditor will use too. A replay's and a
-- context row's leaf, rare, are still hashed in the database from what the
-- ledger holds, by pc_entry_leaf_hash below (sql/functions/).
--
-- The stored column was a copy of what the row already says. Before it goes, this
-- checks that every stored hash is the hash of its row, and refuses to migrate if
-- one is not: nothing the column held is lost. The check hashes every entry
-- once, so it runs in time proportional to the ledger, with the daemon stopped as
-- for any migration. Dropping the column itself rewrites nothing.

-- The leaf hash of a stored entry: pc_leaf_hash (002_ledger.sql) over its
-- columns, for whatever recomputes it from the ledger: replays, context rows,
-- the check below and the tests.
CREATE FUNCTION pc_entry_leaf_hash(e ledger) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT pc_leaf_hash(e.alliance_id, e.seq, pc_us(e.accepted_at), e.envelope, e.status,
                        e.code, e.balance, e.available, e.applied, e.remaining,
                        e.hold_expires_at_us, e.ext)
$$;

DO $$
DECLARE
    bad bigint;
BEGIN
    SELECT count(*) INTO bad FROM ledger l WHERE l.leaf_hash <> pc_entry_leaf_hash(l);
    IF bad > 0 THEN
        RAISE EXCEPTION 'pointclear: % ledger entries store a leaf hash that is not the hash of the entry', bad
            USING ERRCODE = 'XX001';
    END IF;
END $$;

ALTER TABLE ledger DROP COLUMN leaf_hash;
