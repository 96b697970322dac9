-- 011_alliance_first: alliance_id leads every key and index again.
--
-- DESIGN.md ("Scale") and 001_core.sql make it a rule: every table carries
-- alliance_id and it leads every primary key, unique constraint and index, so that
-- tenants can be distributed by alliance_id (Citus) and a ledger read by alliance
-- and time. Migration 010 broke that rule for speed: it put the column that tells
-- keys apart first (an event id, a member, a key id) and alliance_id after it, and
-- made ledger_by_time a BRIN index on accepted_at alone. This restores the rule and
-- keeps what of 010's gain the rule allows, counted with callgrind on a 200-event
-- batch (tools/batch_cost.sh; docs/PERFORMANCE.md, "Migration 011"):
--
-- * After alliance_id, each key puts the column that decides first: the ledger's
--   event key is (alliance, event id, merchant), not (alliance, merchant, event
--   id), since a merchant id is shared by all of that merchant's entries and an
--   event id by few; postings by account are (alliance, owner, seq). Every rule these
--   keys hold and every lookup by all their columns is unchanged. With alliance_id
--   first again a batch costs 7% more than with 010's keys: each comparison on the
--   way down a B-tree compares two equal alliance ids before the column that
--   differs.
-- * postings_by_account holds the member legs only (account_kind = 1). A member's
--   history, which expiry oldest-first will read by time (ROADMAP), is one range of
--   it in sequence order. A merchant's legs will be read by period (settlement),
--   that is by a sequence range of postings_pkey, and its running totals are in
--   accounts; in the index, every merchant leg was an insert into the middle of
--   that merchant's range whose comparisons ran through all four columns.
-- * ledger_by_time is BRIN on (alliance_id, accepted_at): a period of one alliance
--   is a run of pages, without a B-tree entry per event.
-- * pc_decide_and_record is no longer redefined by a numbered migration: its one
--   definition is sql/functions/pc_decide_and_record.sql, which `pointclear
--   migrate` applies after these whenever its text changes. What changed in it
--   with this migration (phase 1's arrays from one sort) is described there.
--
-- The indexes are rebuilt, under an exclusive lock, in time proportional to the
-- tables: a one-time cost, paid with the daemon stopped as for any migration.

ALTER TABLE ledger DROP CONSTRAINT ledger_event_key,
    ADD CONSTRAINT ledger_event_key UNIQUE (alliance_id, event_id, merchant_id);

DROP INDEX ledger_by_time;
CREATE INDEX ledger_by_time ON ledger USING brin (alliance_id, accepted_at);

DROP INDEX ledger_reversals;
CREATE INDEX ledger_reversals ON ledger (alliance_id, ref_seq) WHERE kind = 6 AND status = 1;

DROP INDEX postings_by_account;
CREATE INDEX postings_by_account ON postings (alliance_id, owner_id, seq) WHERE account_kind = 1;

ALTER TABLE members DROP CONSTRAINT members_pkey,
    ADD CONSTRAINT members_pkey PRIMARY KEY (alliance_id, member_id);

ALTER TABLE merchant_keys DROP CONSTRAINT merchant_keys_pkey,
    ADD CONSTRAINT merchant_keys_pkey PRIMARY KEY (alliance_id, key_id);

DROP INDEX referral_touches_by_member;
CREATE INDEX referral_touches_by_member ON referral_touches (alliance_id, member_id, touched_at);
DROP INDEX referral_touches_by_code;
CREATE INDEX referral_touches_by_code ON referral_touches (alliance_id, referral_code)
    WHERE referral_code IS NOT NULL;

DROP INDEX purchases_by_member;
CREATE INDEX purchases_by_member ON purchases (alliance_id, member_id, seq);

DROP INDEX holds_active_by_member;
CREATE INDEX holds_active_by_member ON holds (alliance_id, member_id) WHERE state = 1;
