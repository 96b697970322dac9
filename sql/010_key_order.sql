-- 010_key_order: the writer's indexes lead with the column that decides a comparison.
--
-- A B-tree compares keys column by column. A text column costs a function call
-- per comparison (bttextcmp, varstr_cmp, detoasting both sides), and every column
-- after a text one is found by walking the tuple from its start
-- (nocache_index_getattr), since its offset varies. The writer's random probes and
-- inserts (an event's id, a member, a member's account, a merchant's key) went
-- through indexes that began with alliance_id: a column every key of a one-alliance
-- server shares, so each comparison on the way down paid for one or two equal text
-- columns before reaching the one that differs. Callgrind counted B-tree
-- comparisons at a quarter of the instructions of a 200-event batch
-- (docs/PERFORMANCE.md, "Migration 010").
--
-- The same columns, in another order: each key now starts with the column that
-- tells keys apart, and alliance_id comes after it. Every rule these keys hold
-- (an event id once per merchant and alliance, one member row, one key id) and
-- every lookup by all their columns is unchanged. The indexes whose keys rise
-- with the sequence (ledger, postings, receipt trees, touches, purchases) keep
-- alliance_id first: an insert there takes the rightmost leaf without a descent,
-- and their range reads are per alliance.
--
-- ledger_by_time becomes a BRIN index: the ledger is appended in the order of
-- the time accepted, so a period's rows lie in a run of pages, which is what
-- settlement periods (ROADMAP) will read; a B-tree entry per event cost 1.3%.
--
-- The indexes are rebuilt, under an exclusive lock, in time proportional to the
-- tables: a one-time cost, paid with the daemon stopped as for any migration.

ALTER TABLE ledger DROP CONSTRAINT ledger_alliance_id_merchant_id_event_id_key,
    ADD CONSTRAINT ledger_event_key UNIQUE (event_id, merchant_id, alliance_id);

DROP INDEX ledger_by_time;
CREATE INDEX ledger_by_time ON ledger USING brin (accepted_at);

DROP INDEX ledger_reversals;
CREATE INDEX ledger_reversals ON ledger (ref_seq, alliance_id) WHERE kind = 6 AND status = 1;

DROP INDEX postings_by_account;
CREATE INDEX postings_by_account ON postings (owner_id, account_kind, alliance_id, seq);

ALTER TABLE members DROP CONSTRAINT members_pkey,
    ADD CONSTRAINT members_pkey PRIMARY KEY (member_id, alliance_id);

ALTER TABLE merchant_keys DROP CONSTRAINT merchant_keys_pkey,
    ADD CONSTRAINT merchant_keys_pkey PRIMARY KEY (key_id, alliance_id);

DROP INDEX referral_touches_by_member;
CREATE INDEX referral_touches_by_member ON referral_touches (member_id, alliance_id, touched_at);
DROP INDEX referral_touches_by_code;
CREATE INDEX referral_touches_by_code ON referral_touches (referral_code, alliance_id)
    WHERE referral_code IS NOT NULL;

DROP INDEX purchases_by_member;
CREATE INDEX purchases_by_member ON purchases (member_id, alliance_id, seq);

DROP INDEX holds_active_by_member;
CREATE INDEX holds_active_by_member ON holds (member_id, alliance_id) WHERE state = 1;
