-- test_schema.sql - the rules the database keeps by itself, whoever connects:
-- the ledger and postings are append-only, an event id is taken once, the leaf
-- hash is PROTOCOL.md's, pc_record_batch (the daemon's one call) decides as the
-- domain rules say, and receipt trees are cut and found again as PROTOCOL.md's
-- "Receipts" says.
BEGIN;
SELECT plan(63);

INSERT INTO alliances (alliance_id, name, currency, ca_cert_pem) VALUES ('al', 'Al', 'EUR', 'x');
INSERT INTO ledger_heads VALUES ('al');
INSERT INTO merchants (alliance_id, merchant_id, name, industry)
VALUES ('al', 'cafe', 'Cafe', 'cafe'), ('al', 'gym', 'Gym', 'fitness');
INSERT INTO merchant_keys (alliance_id, key_id, merchant_id, public_key, valid_from)
VALUES ('al', '00000000000000aa', 'cafe', decode(repeat('11', 32), 'hex'), now() - interval '1 day'),
       ('al', '00000000000000bb', 'gym', decode(repeat('22', 32), 'hex'), now() - interval '1 day');
INSERT INTO members (alliance_id, member_id) VALUES ('al', 'm1'), ('al', 'm2');
UPDATE members SET balance = 9223372036854775000 WHERE member_id = 'm2';

-- One batch of n events of one alliance, recorded without receipt trees (as
-- before trees were kept); the arrays not given are NULL. Each event is signed
-- with its merchant's key unless keys names others. A row per event, in order,
-- without the trees' columns.
CREATE FUNCTION t_batch(merchant text[], event text[], kind smallint[], member text[],
                        amount bigint[], ref_event text[], payload text[],
                        keys text[] DEFAULT NULL)
RETURNS SETOF record LANGUAGE sql AS $$
    SELECT r_idx, r_disposition, r_code, r_seq, r_accepted_at_us, r_status, r_balance,
           r_available, r_applied, r_remaining, r_hold_expires_at_us, r_leaf_hash,
           r_original_seq
      FROM pc_record_batch(
        array_fill('al'::text, ARRAY[cardinality(merchant)]), merchant, event,
        coalesce(keys, ARRAY(SELECT CASE m WHEN 'cafe' THEN '00000000000000aa'
                                           ELSE '00000000000000bb' END
                               FROM unnest(merchant) m)),
        kind,
        ARRAY(SELECT convert_to(p, 'UTF8') FROM unnest(payload) p),
        ARRAY(SELECT sha256(convert_to(p, 'UTF8')) FROM unnest(payload) p),
        array_fill(now(), ARRAY[cardinality(merchant)]),
        array_fill('s1'::text, ARRAY[cardinality(merchant)]),
        array_fill('t1'::text, ARRAY[cardinality(merchant)]),
        member, amount, ref_event,
        array_fill(NULL::bigint, ARRAY[cardinality(merchant)]),
        array_fill(0, ARRAY[cardinality(merchant)]),
        array_fill(NULL::text, ARRAY[cardinality(merchant)]),
        array_fill(NULL::text, ARRAY[cardinality(merchant)]),
        array_fill(NULL::text, ARRAY[cardinality(merchant)]),
        array_fill(NULL::text, ARRAY[cardinality(merchant)]),
        array_fill(NULL::text, ARRAY[cardinality(merchant)]),
        array_fill(NULL::timestamptz, ARRAY[cardinality(merchant)]),
        array_fill(NULL::text, ARRAY[cardinality(merchant)]), 0)
     WHERE r_idx > 0
     ORDER BY r_idx
$$;

CREATE TEMP TABLE r AS
SELECT * FROM t_batch(
    ARRAY['cafe', 'gym', 'gym', 'cafe', 'cafe', 'cafe', 'cafe', 'gym', 'cafe'],
    ARRAY['e1', 'g1', 'g2', 'e1', 'e1', 'e2', 'e3', 'g3', 'e4'],
    ARRAY[1, 2, 2, 1, 1, 6, 1, 2, 1]::smallint[],
    ARRAY['m1', 'm1', 'm1', 'm1', 'm1', NULL, 'nobody', 'm1', 'm2'],
    ARRAY[100, 60, 60, 100, 100, 30, 5, 10, 1000]::bigint[],
    ARRAY[NULL, NULL, NULL, NULL, NULL, 'e1', NULL, NULL, NULL],
    ARRAY['p-e1', 'p-g1', 'p-g2', 'p-e1', 'other', 'p-e2', 'p-e3', 'p-g3', 'p-e4'])
AS t(idx int, disposition smallint, code smallint, seq bigint, accepted_at_us bigint,
     status smallint, balance bigint, available bigint, applied bigint, remaining bigint,
     hold_expires_at_us bigint, leaf_hash bytea, original_seq bigint);

-- A decline without the member's authorization tells no balance (PROTOCOL.md,
-- "Answers"): rows 3 and 9 carry 0.
SELECT results_eq('SELECT idx, disposition, code, seq, status, balance FROM r ORDER BY idx',
    $$VALUES (1, 1::smallint, 0::smallint, 0::bigint, 1::smallint, 100::bigint),
             (2, 1::smallint, 0::smallint, 1::bigint, 1::smallint, 40::bigint),
             (3, 1::smallint, 50::smallint, 2::bigint, 2::smallint, 0::bigint),
             (4, 2::smallint, 0::smallint, 0::bigint, 1::smallint, 100::bigint),
             (5, 3::smallint, 40::smallint, NULL::bigint, NULL::smallint, NULL::bigint),
             (6, 1::smallint, 0::smallint, 3::bigint, 1::smallint, 10::bigint),
             (7, 3::smallint, 28::smallint, NULL::bigint, NULL::smallint, NULL::bigint),
             (8, 1::smallint, 0::smallint, 4::bigint, 1::smallint, 0::bigint),
             (9, 1::smallint, 33::smallint, 5::bigint, 2::smallint, 0::bigint)$$,
    'one batch: earn, redeem, overdraft declined, in-batch replay and conflict, reversal of an in-batch earn, unknown member, overflow declined');
SELECT is((SELECT original_seq FROM r WHERE idx = 5), 0::bigint, 'CONFLICT names the entry holding the id');
SELECT is((SELECT remaining FROM r WHERE idx = 6), 70::bigint, 'what remains of the earn after reversing 30');
SELECT is((SELECT leaf_hash FROM r WHERE idx = 4),
          (SELECT pc_entry_leaf_hash(l) FROM ledger l WHERE l.alliance_id = 'al' AND l.seq = 0),
          'a replay within the batch carries the leaf hash of the entry it replays');
SELECT is((SELECT next_seq FROM ledger_heads WHERE alliance_id = 'al'), 6::bigint, 'rejected events use no sequence: gapless');
SELECT is((SELECT count(*) FROM ledger), 6::bigint, 'six entries recorded, declines included');
SELECT is((SELECT balance FROM members WHERE member_id = 'm1'), 0::bigint, 'member balance follows the approved events');
SELECT is((SELECT count(*) FROM (SELECT seq FROM postings GROUP BY alliance_id, seq HAVING sum(amount) <> 0) x),
          0::bigint, 'every entry''s postings balance');
SELECT is((SELECT count(*) FROM postings WHERE seq IN (2, 5)), 0::bigint, 'declines post nothing');
SELECT is((SELECT sum(balance) FROM members) - 9223372036854775000 + (SELECT sum(balance) FROM accounts),
          0::numeric, 'conservation: members and merchant accounts sum to zero');
SELECT is((SELECT count(*) FROM r WHERE disposition = 1 AND leaf_hash IS NOT NULL), 0::bigint,
          'a new entry''s leaf hash is left to the daemon');

-- a second batch: the replay comes from the ledger, the reversal bound from it too
CREATE TEMP TABLE r2 AS
SELECT * FROM t_batch(ARRAY['cafe', 'cafe', 'cafe', 'gym'], ARRAY['e1', 'e5', 'e6', 'g4'],
                      ARRAY[1, 6, 6, 6]::smallint[], ARRAY['m1', NULL, NULL, NULL],
                      ARRAY[100, 70, 1, 5]::bigint[], ARRAY[NULL, 'e1', 'e1', 'e1'],
                      ARRAY['p-e1', 'p-e5', 'p-e6', 'p-g4'])
AS t(idx int, disposition smallint, code smallint, seq bigint, accepted_at_us bigint,
     status smallint, balance bigint, available bigint, applied bigint, remaining bigint,
     hold_expires_at_us bigint, leaf_hash bytea, original_seq bigint);
SELECT results_eq('SELECT idx, disposition, code, status, balance, remaining FROM r2 ORDER BY idx',
    $$VALUES (1, 2::smallint, 0::smallint, 1::smallint, 100::bigint, 100::bigint),
             (2, 1::smallint, 0::smallint, 1::smallint, -70::bigint, 0::bigint),
             (3, 1::smallint, 58::smallint, 2::smallint, 0::bigint, 0::bigint),
             (4, 1::smallint, 56::smallint, 2::smallint, 0::bigint, 0::bigint)$$,
    'replay from the ledger; reversal of what remains takes the balance below zero; no more remains; another merchant''s id is not found');
SELECT is((SELECT leaf_hash FROM r2 WHERE idx = 1),
          (SELECT pc_entry_leaf_hash(l) FROM ledger l WHERE l.alliance_id = 'al' AND l.seq = 0),
          'a replay from the ledger carries the leaf hash of the entry it replays');

-- the ledger and postings refuse change, whoever asks
SELECT throws_ok('UPDATE ledger SET code = 0', 'P0001', NULL, 'ledger refuses UPDATE');
SELECT throws_ok('DELETE FROM ledger', 'P0001', NULL, 'ledger refuses DELETE');
SELECT throws_ok('TRUNCATE ledger', 'P0001', NULL, 'ledger refuses TRUNCATE');
SELECT throws_ok('UPDATE postings SET amount = 1', 'P0001', NULL, 'postings refuse UPDATE');
SELECT throws_ok('DELETE FROM postings', 'P0001', NULL, 'postings refuse DELETE');
SELECT throws_ok('TRUNCATE postings', 'P0001', NULL, 'postings refuse TRUNCATE');
INSERT INTO purchases VALUES ('al', 90, 'm1', 'cafe', 1999, 'EUR', NULL);
INSERT INTO referral_touches VALUES ('al', 91, 'm1', 'cafe', 'gym', 'qr', 'c1', 'R1', now());
SELECT throws_ok('UPDATE purchases SET amount_minor = 1', 'P0001', NULL, 'purchases refuse UPDATE');
SELECT throws_ok('DELETE FROM referral_touches', 'P0001', NULL, 'referral touches refuse DELETE');
SELECT throws_ok($$INSERT INTO ledger (alliance_id, seq, accepted_at, merchant_id, event_id, key_id,
        kind, event_time, store_id, terminal_id, envelope, payload_hash, status, code, balance,
        available, applied, remaining, hold_expires_at_us)
    VALUES ('al', 99, now(), 'cafe', 'e1', '00000000000000aa', 1, now(), 's', 't', '\x', '\x',
            1, 0, 0, 0, 0, 0, 0)$$,
    '23505', NULL, 'a second entry with the same (alliance, merchant, event id) is refused');
SELECT throws_ok($$INSERT INTO postings VALUES ('al', 0, 9, 1, 'm1', 0, 'zero')$$, '23514', NULL,
                 'a posting of zero is refused');
SELECT throws_ok($$UPDATE members SET held = -1 WHERE member_id = 'm1'$$, '23514', NULL,
                 'held points cannot go negative');
-- member ids keep their form on INSERT and on UPDATE OF member_id (a trigger, since
-- a CHECK would run its regular expression on every balance write-back too)
SELECT throws_ok($$INSERT INTO members (alliance_id, member_id) VALUES ('al', 'no spaces')$$,
                 '23514', NULL, 'a member id outside A-Z a-z 0-9 . _ : - is refused');
SELECT throws_ok($$UPDATE members SET member_id = repeat('m', 65) WHERE member_id = 'm1'$$,
                 '23514', NULL, 'a member id of 65 characters is refused on UPDATE too');
ALTER TABLE members DISABLE TRIGGER members_member_id_valid;
INSERT INTO members (alliance_id, member_id) VALUES ('al', 'legacy id');
ALTER TABLE members ENABLE TRIGGER members_member_id_valid;
SELECT lives_ok($$UPDATE members SET balance = balance + 1 WHERE member_id = 'legacy id'$$,
                'a balance write does not check the member id again');
DELETE FROM members WHERE member_id = 'legacy id';

-- the writer's keys put alliance_id first, then the column that decides: the
-- rules they hold include the alliance
INSERT INTO alliances (alliance_id, name, currency, ca_cert_pem) VALUES ('al2', 'Al2', 'EUR', 'x');
INSERT INTO merchants (alliance_id, merchant_id, name, industry) VALUES ('al2', 'cafe', 'Cafe', 'cafe');
SELECT throws_ok($$INSERT INTO members (alliance_id, member_id) VALUES ('al', 'm1')$$,
                 '23505', NULL, 'a member is one row per alliance');
SELECT lives_ok($$INSERT INTO members (alliance_id, member_id) VALUES ('al2', 'm1')$$,
                'the same member id in another alliance is another member');
SELECT throws_ok($$INSERT INTO merchant_keys (alliance_id, key_id, merchant_id, public_key)
                   VALUES ('al', '00000000000000aa', 'gym', decode(repeat('33', 32), 'hex'))$$,
                 '23505', NULL, 'a key id is taken once per alliance');
SELECT lives_ok($$INSERT INTO merchant_keys (alliance_id, key_id, merchant_id, public_key)
                  VALUES ('al2', '00000000000000aa', 'cafe', decode(repeat('33', 32), 'hex'))$$,
                'the same key id in another alliance is another key');
SELECT lives_ok($$INSERT INTO ledger (alliance_id, seq, accepted_at, merchant_id, event_id, key_id,
        kind, event_time, store_id, terminal_id, envelope, payload_hash, status, code, balance,
        available, applied, remaining, hold_expires_at_us)
    VALUES ('al2', 0, now(), 'cafe', 'e1', '00000000000000aa', 1, now(), 's', 't', '\x', '\x',
            1, 0, 0, 0, 0, 0, 0)$$,
    'the same merchant and event id in another alliance is another entry');
-- docs/DESIGN.md, "Tenancy: `alliance_id` first": alliance_id leads every key and index of every table that carries it
SELECT is(ARRAY(SELECT x.indexrelid::regclass::text
                  FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid
                  JOIN pg_namespace ns ON ns.oid = t.relnamespace AND ns.nspname = 'public'
                 WHERE EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid
                                  AND a.attname = 'alliance_id' AND NOT a.attisdropped)
                   AND (x.indkey[0] = 0 OR (SELECT a.attname FROM pg_attribute a
                                             WHERE a.attrelid = t.oid AND a.attnum = x.indkey[0])
                                           <> 'alliance_id')
                 ORDER BY 1),
          '{}'::text[], 'alliance_id leads every index of every table that carries it');
SELECT is(ARRAY(SELECT pg_get_indexdef(x) FROM unnest(ARRAY['ledger_by_time'::regclass,
                 'ledger_event_key', 'members_pkey', 'merchant_keys_pkey', 'postings_by_account']) x),
          ARRAY['CREATE INDEX ledger_by_time ON public.ledger USING brin (alliance_id, accepted_at)',
                'CREATE UNIQUE INDEX ledger_event_key ON public.ledger USING btree (alliance_id, event_id, merchant_id)',
                'CREATE UNIQUE INDEX members_pkey ON public.members USING btree (alliance_id, member_id)',
                'CREATE UNIQUE INDEX merchant_keys_pkey ON public.merchant_keys USING btree (alliance_id, key_id)',
                'CREATE INDEX postings_by_account ON public.postings USING btree (alliance_id, owner_id, seq) WHERE (account_kind = 1)'],
          'after alliance_id, the writer''s keys lead with the column that decides; members'' legs only by account (tools/bench/batch_cost.sh counts them)');
SELECT is((SELECT array_agg(c ORDER BY c) FROM pg_proc, unnest(proconfig) c
            WHERE proname = 'pc_decide_and_record'),
          ARRAY['enable_seqscan=off', 'jit=off'],
          'the writer''s function probes by index and never JIT-compiles a batch');
DELETE FROM merchant_keys WHERE alliance_id = 'al2';
DELETE FROM members WHERE alliance_id = 'al2';

-- PROTOCOL.md's leaf, the same known answer as proto/testvectors
SELECT is(encode(pc_leaf_hash('al', 0, 1795385298713955, '\x01', 1::smallint, 0::smallint, 100, 100,
                              100, 100, 0, '\x'), 'hex'),
          'f5ef0f257769d5503c760c5b185a05478799d84e899b3a7080187fadd6499c6a',
          'pc_leaf_hash reproduces the protocol''s known answer');
SELECT is(pc_us(timestamptz '1970-01-01 00:00:00+00' + 1795385298713955 * interval '1 microsecond'),
          1795385298713955::bigint, 'microsecond times round-trip exactly');

-- holds: reserve, capture part, the rest released; a second resolution names the first
CREATE TEMP TABLE r3 AS
SELECT * FROM t_batch(ARRAY['cafe', 'gym', 'gym', 'gym', 'gym'], ARRAY['e7', 'g5', 'g6', 'g7', 'g8'],
                      ARRAY[1, 3, 4, 5, 4]::smallint[], ARRAY['m1', 'm1', NULL, NULL, NULL],
                      ARRAY[200, 50, 20, NULL, 10]::bigint[], ARRAY[NULL, NULL, 'g5', 'g5', 'g5'],
                      ARRAY['p-e7', 'p-g5', 'p-g6', 'p-g7', 'p-g8'])
AS t(idx int, disposition smallint, code smallint, seq bigint, accepted_at_us bigint,
     status smallint, balance bigint, available bigint, applied bigint, remaining bigint,
     hold_expires_at_us bigint, leaf_hash bytea, original_seq bigint);
-- the declines (4, 5) tell no balance; the member's row (6) shows what they left
SELECT results_eq('SELECT idx, code, balance, available FROM r3
                   UNION ALL SELECT 6, NULL, balance, balance - held FROM members
                    WHERE alliance_id = ''al'' AND member_id = ''m1'' ORDER BY 1',
    $$VALUES (1, 0::smallint, 130::bigint, 130::bigint), (2, 0::smallint, 130::bigint, 80::bigint),
             (3, 0::smallint, 110::bigint, 110::bigint), (4, 55::smallint, 0::bigint, 0::bigint),
             (5, 55::smallint, 0::bigint, 0::bigint), (6, NULL::smallint, 110::bigint, 110::bigint)$$,
    'hold reserves, capture takes 20 and releases 30, void and second capture are told HOLD_CAPTURED');
SELECT is((SELECT state FROM holds WHERE member_id = 'm1'), 2::smallint, 'the hold is resolved as captured');
SELECT is((SELECT held FROM members WHERE member_id = 'm1'), 0::bigint, 'nothing stays held');
SELECT is((SELECT count(*) FROM postings WHERE seq = (SELECT seq FROM r3 WHERE idx = 2)), 0::bigint,
          'a hold posts nothing');
SELECT is((SELECT sum(amount) FROM postings WHERE seq = (SELECT seq FROM r3 WHERE idx = 3) AND account_kind = 1),
          -20::numeric, 'the capture posts the captured points');

-- a capture that meets an expired hold before the daemon's sweep does: declined,
-- and the hold released by the capture's batch
CREATE TEMP TABLE r3x AS
SELECT * FROM t_batch(ARRAY['gym'], ARRAY['gx1'], ARRAY[3]::smallint[], ARRAY['m1'],
                      ARRAY[30]::bigint[], ARRAY[NULL::text], ARRAY['p-gx1'])
AS t(idx int, disposition smallint, code smallint, seq bigint, accepted_at_us bigint,
     status smallint, balance bigint, available bigint, applied bigint, remaining bigint,
     hold_expires_at_us bigint, leaf_hash bytea, original_seq bigint);
UPDATE holds SET expires_at = clock_timestamp() - interval '1 second'
 WHERE seq = (SELECT seq FROM r3x);
CREATE TEMP TABLE r3y AS
SELECT * FROM t_batch(ARRAY['gym'], ARRAY['gx2'], ARRAY[4]::smallint[], ARRAY[NULL::text],
                      ARRAY[10]::bigint[], ARRAY['gx1'], ARRAY['p-gx2'])
AS t(idx int, disposition smallint, code smallint, seq bigint, accepted_at_us bigint,
     status smallint, balance bigint, available bigint, applied bigint, remaining bigint,
     hold_expires_at_us bigint, leaf_hash bytea, original_seq bigint);
-- the decline tells no balance; the member's row shows the points free
SELECT results_eq('SELECT (SELECT available FROM r3x), code, balance, available,
                          (SELECT m.balance - m.held FROM members m
                            WHERE m.alliance_id = ''al'' AND m.member_id = ''m1'') FROM r3y',
    $$VALUES (80::bigint, 53::smallint, 0::bigint, 0::bigint, 110::bigint)$$,
    'a capture of an expired, unswept hold is told HOLD_EXPIRED and finds its points free');
SELECT results_eq($$SELECT h.state, m.held FROM holds h, members m
                    WHERE h.seq = (SELECT seq FROM r3x) AND m.member_id = 'm1'$$,
    $$VALUES (4::smallint, 0::bigint)$$, 'the hold is written expired, and nothing stays held');

-- receipts are signed a tree at a time: a batch's entries are cut into trees
-- of at most 64 (the daemon's call, trees of the default size), a replay names
-- its original tree and brings its entries
CREATE FUNCTION t_batch_r(merchant text[], event text[], kind smallint[], member text[],
                          amount bigint[], ref_event text[], payload text[])
RETURNS SETOF record LANGUAGE sql AS $$
    SELECT * FROM pc_record_batch(
        array_fill('al'::text, ARRAY[cardinality(merchant)]), merchant, event,
        array_fill('00000000000000aa'::text, ARRAY[cardinality(merchant)]),
        kind,
        ARRAY(SELECT convert_to(p, 'UTF8') FROM unnest(payload) p),
        ARRAY(SELECT sha256(convert_to(p, 'UTF8')) FROM unnest(payload) p),
        array_fill(now(), ARRAY[cardinality(merchant)]),
        array_fill('s1'::text, ARRAY[cardinality(merchant)]),
        array_fill('t1'::text, ARRAY[cardinality(merchant)]),
        member, amount, ref_event,
        array_fill(NULL::bigint, ARRAY[cardinality(merchant)]),
        array_fill(0, ARRAY[cardinality(merchant)]),
        array_fill(NULL::text, ARRAY[cardinality(merchant)]),
        array_fill(NULL::text, ARRAY[cardinality(merchant)]),
        array_fill(NULL::text, ARRAY[cardinality(merchant)]),
        array_fill(NULL::text, ARRAY[cardinality(merchant)]),
        array_fill(NULL::text, ARRAY[cardinality(merchant)]),
        array_fill(NULL::timestamptz, ARRAY[cardinality(merchant)]),
        array_fill(NULL::text, ARRAY[cardinality(merchant)]))
$$;
CREATE TEMP TABLE h0 AS SELECT next_seq AS s FROM ledger_heads WHERE alliance_id = 'al';
CREATE TEMP TABLE r4 AS
SELECT * FROM t_batch_r(
    array_fill('cafe'::text, ARRAY[67]),
    ARRAY['e2'] || ARRAY(SELECT 'n' || i FROM generate_series(1, 66) i),
    ARRAY[6::smallint] || array_fill(1::smallint, ARRAY[66]),
    ARRAY[NULL::text] || array_fill('m1'::text, ARRAY[66]),
    ARRAY[30::bigint] || array_fill(1::bigint, ARRAY[66]),
    ARRAY['e1'] || array_fill(NULL::text, ARRAY[66]),
    ARRAY['p-e2'] || ARRAY(SELECT 'p-n' || i FROM generate_series(1, 66) i))
AS t(idx int, disposition smallint, code smallint, seq bigint, accepted_at_us bigint,
     status smallint, balance bigint, available bigint, applied bigint, remaining bigint,
     hold_expires_at_us bigint, leaf_hash bytea, original_seq bigint, t_first bigint,
     t_size int, c_alliance text, c_merchant text, c_event text);
SELECT results_eq('SELECT first_seq - (SELECT s FROM h0), size FROM receipt_trees ORDER BY first_seq',
    $$VALUES (0::bigint, 64), (64::bigint, 2)$$,
    'what one batch records is cut into trees of at most 64 consecutive entries');
SELECT is((SELECT count(*) FROM r4 WHERE idx > 0 AND disposition = 1
            AND t_first IS DISTINCT FROM (SELECT first_seq FROM receipt_trees rt
                                           WHERE rt.first_seq <= r4.seq
                                           ORDER BY first_seq DESC LIMIT 1)),
          0::bigint, 'every recorded entry is placed in the tree that holds it');
SELECT results_eq('SELECT disposition, seq, t_first, t_size FROM r4 WHERE idx = 1',
    $$VALUES (2::smallint, 3::bigint, 3::bigint, 1)$$,
    'an entry recorded before trees were kept replays in a tree of its own');
SELECT is((SELECT count(*) FROM r4 WHERE idx = 0), 0::bigint, 'no context rows when no replay needs them');
CREATE TEMP TABLE r5 AS
SELECT * FROM t_batch_r(ARRAY['cafe'], ARRAY['n10'], ARRAY[1]::smallint[], ARRAY['m1'],
                        ARRAY[1]::bigint[], ARRAY[NULL::text], ARRAY['p-n10'])
AS t(idx int, disposition smallint, code smallint, seq bigint, accepted_at_us bigint,
     status smallint, balance bigint, available bigint, applied bigint, remaining bigint,
     hold_expires_at_us bigint, leaf_hash bytea, original_seq bigint, t_first bigint,
     t_size int, c_alliance text, c_merchant text, c_event text);
SELECT results_eq('SELECT disposition, t_first - (SELECT s FROM h0), t_size FROM r5 WHERE idx = 1',
    $$VALUES (2::smallint, 0::bigint, 64)$$, 'a replay names its original tree');
SELECT results_eq('SELECT seq, c_merchant, c_event, leaf_hash FROM r5 WHERE idx = 0 ORDER BY seq',
    'SELECT seq, merchant_id::text COLLATE "default", event_id::text COLLATE "default",
            pc_entry_leaf_hash(l) FROM ledger l
      WHERE seq >= (SELECT s FROM h0) AND seq < (SELECT s FROM h0) + 64 ORDER BY seq',
    'and every entry of that tree comes with it');
SELECT throws_ok('UPDATE receipt_trees SET size = 1', 'P0001', NULL, 'receipt trees refuse UPDATE');
SELECT throws_ok('DELETE FROM receipt_trees', 'P0001', NULL, 'receipt trees refuse DELETE');

-- A plan cached while holds was empty must not scan it for every capture later.
ANALYZE holds;
CREATE TEMP TABLE scans0 AS
SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables WHERE relname = 'holds';
CREATE TEMP TABLE r6 AS
SELECT * FROM t_batch_r(ARRAY['cafe', 'cafe'], ARRAY['k1', 'k2'], ARRAY[1, 3]::smallint[],
                        ARRAY['m2', 'm2'], ARRAY[100, 10]::bigint[], ARRAY[NULL::text, NULL],
                        ARRAY['p-k1', 'p-k2'])
AS t(idx int, disposition smallint, code smallint, seq bigint, accepted_at_us bigint,
     status smallint, balance bigint, available bigint, applied bigint, remaining bigint,
     hold_expires_at_us bigint, leaf_hash bytea, original_seq bigint, t_first bigint,
     t_size int, c_alliance text, c_merchant text, c_event text);
CREATE TEMP TABLE r7 AS
SELECT * FROM t_batch_r(ARRAY['cafe'], ARRAY['k3'], ARRAY[4]::smallint[], ARRAY[NULL::text],
                        ARRAY[10]::bigint[], ARRAY['k2'], ARRAY['p-k3'])
AS t(idx int, disposition smallint, code smallint, seq bigint, accepted_at_us bigint,
     status smallint, balance bigint, available bigint, applied bigint, remaining bigint,
     hold_expires_at_us bigint, leaf_hash bytea, original_seq bigint, t_first bigint,
     t_size int, c_alliance text, c_merchant text, c_event text);
SELECT results_eq('SELECT disposition, status, applied, balance - (SELECT balance FROM r6 WHERE idx = 2) FROM r7',
    $$VALUES (1::smallint, 1::smallint, 10::bigint, -10::bigint)$$,
    'a capture of a hold made in an earlier batch');
SELECT is((SELECT x.seq_scan - s.seq_scan FROM pg_stat_xact_user_tables x, scans0 s
            WHERE x.relname = 'holds'), 0::bigint,
          'the writer reaches holds by key, never by scanning the table');

-- referral touches and purchases: one row per recorded event, none for a replay
-- or a refusal
CREATE TEMP TABLE r8 AS
SELECT * FROM pc_record_batch(
    array_fill('al'::text, ARRAY[4]), ARRAY['cafe', 'gym', 'cafe', 'cafe'],
    ARRAY['f1', 'f2', 'f1', 'f3'],
    ARRAY['00000000000000aa', '00000000000000bb', '00000000000000aa', '00000000000000aa'],
    ARRAY[7, 8, 7, 8]::smallint[],
    ARRAY['\x01', '\x02', '\x01', '\x03']::bytea[],
    ARRAY[sha256('\x01'), sha256('\x02'), sha256('\x01'), sha256('\x03')],
    array_fill('2026-11-20 10:00:00+00'::timestamptz, ARRAY[4]),
    array_fill('s1'::text, ARRAY[4]), array_fill('t1'::text, ARRAY[4]),
    ARRAY['m1', 'm1', 'm1', 'nobody'], ARRAY[NULL, 2599, NULL, 100]::bigint[],
    array_fill(NULL::text, ARRAY[4]), array_fill(NULL::bigint, ARRAY[4]),
    array_fill(0, ARRAY[4]), array_fill(NULL::text, ARRAY[4]),
    ARRAY['gym', NULL, 'gym', NULL], ARRAY['qr', NULL, 'qr', NULL],
    ARRAY['c9', NULL, 'c9', NULL], ARRAY['R9', 'R9', 'R9', NULL],
    array_fill(NULL::timestamptz, ARRAY[4]), ARRAY[NULL, 'EUR', NULL, 'EUR']);
SELECT results_eq(
    $$SELECT ARRAY[rt.member_id, rt.referrer_merchant_id, rt.beneficiary_merchant_id,
                   rt.channel, rt.campaign_id, rt.referral_code]::text[] COLLATE "default",
             rt.touched_at
        FROM referral_touches rt WHERE rt.seq IN (SELECT r_seq FROM r8)$$,
    $$VALUES (ARRAY['m1', 'cafe', 'gym', 'qr', 'c9', 'R9'], '2026-11-20 10:00:00+00'::timestamptz)$$,
    'a referral is kept once, at its entry, touched at its event time when no touch time is sent');
SELECT results_eq(
    $$SELECT p.seq, ARRAY[p.member_id, p.merchant_id, p.currency, p.referral_code]::text[]
             COLLATE "default", p.amount_minor
        FROM purchases p WHERE p.seq IN (SELECT r_seq FROM r8)$$,
    $$SELECT r_seq, ARRAY['m1', 'gym', 'EUR', 'R9'], 2599::bigint FROM r8 WHERE r_idx = 2$$,
    'a purchase is kept at its entry; a refused one is not');

SELECT throws_ok($$SELECT * FROM pc_record_batch('{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}',
        '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', 65)$$,
    '22023', NULL, 'receipt trees hold at most 64 entries');
-- every event of a batch gets the verdict of the key it names, whether or not
-- other events name it too: reused, unknown, another merchant's, revoked, not
-- yet valid
INSERT INTO merchant_keys (alliance_id, key_id, merchant_id, public_key, valid_from, revoked_at)
VALUES ('al', '00000000000000cc', 'cafe', decode(repeat('33', 32), 'hex'),
        now() - interval '1 day', now() - interval '1 hour'),
       ('al', '00000000000000dd', 'cafe', decode(repeat('44', 32), 'hex'),
        now() + interval '1 day', NULL);
SELECT results_eq($$
    SELECT idx, disposition, code FROM t_batch(
        ARRAY['cafe', 'cafe', 'gym', 'cafe', 'cafe', 'cafe', 'gym', 'cafe'],
        ARRAY['key-1', 'key-2', 'key-3', 'key-4', 'key-5', 'key-6', 'key-7', 'key-8'],
        array_fill(1::smallint, ARRAY[8]), array_fill('m1'::text, ARRAY[8]),
        array_fill(1::bigint, ARRAY[8]), array_fill(NULL::text, ARRAY[8]),
        ARRAY(SELECT 'p-key-' || i FROM generate_series(1, 8) i),
        ARRAY['00000000000000aa', '00000000000000aa', '00000000000000aa', 'ffffffffffffffff',
              '00000000000000cc', '00000000000000dd', '00000000000000bb', '00000000000000aa'])
    AS t(idx int, disposition smallint, code smallint, seq bigint, accepted_at_us bigint,
         status smallint, balance bigint, available bigint, applied bigint, remaining bigint,
         hold_expires_at_us bigint, leaf_hash bytea, original_seq bigint)
    ORDER BY idx$$,
    $$VALUES (1, 1::smallint, 0::smallint), (2, 1::smallint, 0::smallint),
             (3, 3::smallint, 24::smallint), (4, 3::smallint, 21::smallint),
             (5, 3::smallint, 22::smallint), (6, 3::smallint, 23::smallint),
             (7, 1::smallint, 0::smallint), (8, 1::smallint, 0::smallint)$$,
    'every event gets its key''s verdict, however many events share the key');

-- a batch of two alliances: each takes its own sequences, and each recorded
-- entry is placed in its own alliance's tree
INSERT INTO alliances (alliance_id, name, currency, ca_cert_pem) VALUES ('al3', 'Al3', 'EUR', 'x');
INSERT INTO ledger_heads VALUES ('al3');
INSERT INTO merchants (alliance_id, merchant_id, name, industry) VALUES ('al3', 'cafe', 'Cafe', 'cafe');
INSERT INTO merchant_keys (alliance_id, key_id, merchant_id, public_key, valid_from)
VALUES ('al3', '00000000000000ee', 'cafe', decode(repeat('55', 32), 'hex'), now() - interval '1 day');
INSERT INTO members (alliance_id, member_id) VALUES ('al3', 'm1');
CREATE TEMP TABLE a9 AS SELECT ARRAY['al', 'al3', 'al', 'al3', 'al'] AS a;
CREATE TEMP TABLE r9 AS
SELECT * FROM pc_record_batch(
    (SELECT a FROM a9), array_fill('cafe'::text, ARRAY[5]),
    ARRAY['two-1', 'two-2', 'two-3', 'two-4', 'two-5'],
    ARRAY(SELECT CASE x WHEN 'al' THEN '00000000000000aa' ELSE '00000000000000ee' END
            FROM unnest((SELECT a FROM a9)) x),
    array_fill(1::smallint, ARRAY[5]),
    ARRAY['\x11', '\x12', '\x13', '\x14', '\x15']::bytea[],
    ARRAY[sha256('\x11'), sha256('\x12'), sha256('\x13'), sha256('\x14'), sha256('\x15')],
    array_fill(now(), ARRAY[5]), array_fill('s1'::text, ARRAY[5]), array_fill('t1'::text, ARRAY[5]),
    array_fill('m1'::text, ARRAY[5]), array_fill(10::bigint, ARRAY[5]),
    array_fill(NULL::text, ARRAY[5]), array_fill(NULL::bigint, ARRAY[5]), array_fill(0, ARRAY[5]),
    array_fill(NULL::text, ARRAY[5]), array_fill(NULL::text, ARRAY[5]),
    array_fill(NULL::text, ARRAY[5]), array_fill(NULL::text, ARRAY[5]),
    array_fill(NULL::text, ARRAY[5]), array_fill(NULL::timestamptz, ARRAY[5]),
    array_fill(NULL::text, ARRAY[5]));
SELECT results_eq($$SELECT r_idx, r_disposition, r_seq, r_t_first, r_t_size FROM (
        SELECT r_idx, r_disposition, r_seq, t_first AS r_t_first, t_size AS r_t_size FROM r9
         WHERE (SELECT a FROM a9)[r_idx] = 'al3') x ORDER BY r_idx$$,
    $$VALUES (2, 1::smallint, 0::bigint, 0::bigint, 2), (4, 1::smallint, 1::bigint, 0::bigint, 2)$$,
    'a batch of two alliances: the second takes its own sequences from 0, in a tree of its own');
SELECT is((SELECT count(*) FROM r9
            WHERE r_disposition <> 1 OR ROW(t_first, t_size) IS DISTINCT FROM
                  (SELECT ROW(rt.first_seq, rt.size) FROM receipt_trees rt
                    WHERE rt.alliance_id = (SELECT a FROM a9)[r9.r_idx] AND rt.first_seq <= r9.r_seq
                    ORDER BY rt.first_seq DESC LIMIT 1)), 0::bigint,
          'a batch of two alliances: every entry is placed in its own alliance''s tree');

-- the numbers of pointclear.proto are named once (sql/functions/00_codes.sql;
-- tests/unit/test_sql_codes.c holds them to the proto): every name a function
-- uses is defined, and a plan holds the number, not a call
SELECT is(ARRAY(SELECT DISTINCT m[1] FROM pg_proc p,
                       regexp_matches(p.prosrc, '(pc_(?:code|status|disposition)_[a-z_]+)\(', 'g') m
                 WHERE p.pronamespace = 'public'::regnamespace
                EXCEPT
                SELECT proname::text FROM pg_proc WHERE pronamespace = 'public'::regnamespace),
          '{}'::text[], 'every code, status and disposition a function names is defined');
SELECT cmp_ok((SELECT count(DISTINCT m[1]) FROM pg_proc p,
                      regexp_matches(p.prosrc, '(pc_(?:code|status|disposition)_[a-z_]+)\(', 'g') m
                WHERE p.proname IN ('pc_decide_and_record', 'pc_open_hold')), '>=', 20::bigint,
              'the writer decides with named codes');
CREATE FUNCTION t_explain(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE line text; o text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || q LOOP
        o := o || line || E'\n';
    END LOOP;
    RETURN o;
END $$;
SELECT is(t_explain('SELECT pc_code_insufficient_points(), pc_status_declined(), pc_disposition_replayed()'),
          E'Result\n  Output: 50, 2, 2\n',
          'a named code is a constant in the plan: it costs what a literal costs');

SELECT * FROM finish();
ROLLBACK;
