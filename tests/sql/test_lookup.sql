-- test_lookup.sql - LOOKUP (sql/functions/50_lookup.sql): for each event id a
-- merchant asks about, pc_lookup_entries returns the very rows a resubmission of
-- the original bytes gets from pc_record_batch (a replay, context rows of its
-- receipt tree included), NOT_FOUND for an id the merchant never recorded, and
-- it changes nothing.
BEGIN;
SELECT plan(27);

INSERT INTO alliances (alliance_id, name, currency, ca_cert_pem) VALUES ('lk', 'Lk', 'EUR', 'x');
INSERT INTO ledger_heads VALUES ('lk');
INSERT INTO merchants (alliance_id, merchant_id, name, industry)
VALUES ('lk', 'cafe', 'Cafe', 'cafe'), ('lk', 'gym', 'Gym', 'fitness');
INSERT INTO merchant_keys (alliance_id, key_id, merchant_id, public_key, valid_from)
VALUES ('lk', '00000000000000aa', 'cafe', decode(repeat('11', 32), 'hex'), now() - interval '1 day'),
       ('lk', '00000000000000bb', 'gym', decode(repeat('22', 32), 'hex'), now() - interval '1 day');
INSERT INTO members (alliance_id, member_id) VALUES ('lk', 'm1'), ('lk', 'm2');

-- The events this file sends, by id: each is sent with the same bytes every time.
CREATE TEMP TABLE ev (event text, merchant text, key text, kind smallint, member text,
                      amount bigint, ref_event text, payload bytea);
INSERT INTO ev VALUES
    ('e0', 'cafe', '00000000000000aa', 1, 'm1', 1, NULL, 'p-e0'),
    ('e1', 'cafe', '00000000000000aa', 1, 'm1', 100, NULL, 'p-e1'),
    ('e2', 'cafe', '00000000000000aa', 2, 'm1', 500, NULL, 'p-e2'),    -- declined: 101 points
    ('g1', 'gym', '00000000000000bb', 1, 'm2', 10, NULL, 'p-g1'),
    ('e3', 'cafe', '00000000000000aa', 3, 'm1', 30, NULL, 'p-e3'),     -- a hold
    ('e4', 'cafe', '00000000000000aa', 1, 'm1', 5, NULL, 'p-e4'),
    ('e5', 'cafe', '00000000000000aa', 4, NULL, 20, 'e3', 'p-e5');    -- its capture

-- The shape of the writer's rows; the first test holds the lookup's to it.
CREATE TABLE t_shape AS SELECT * FROM pc_lookup_entries('lk', 'cafe', '{}') WITH NO DATA;

-- One batch through the daemon's call, pc_record_batch: the events named, in
-- that order, signed by their merchants' keys.
CREATE FUNCTION t_send(ids text[], tree_max integer DEFAULT 64) RETURNS SETOF t_shape
LANGUAGE plpgsql AS $$
DECLARE
    n    integer := cardinality(ids);
    m    text[];
    k    text[];
    kd   smallint[];
    mem  text[];
    amt  bigint[];
    ref  text[];
    pl   bytea[];
BEGIN
    SELECT array_agg(e.merchant ORDER BY i.o), array_agg(e.key ORDER BY i.o),
           array_agg(e.kind ORDER BY i.o), array_agg(e.member ORDER BY i.o),
           array_agg(e.amount ORDER BY i.o), array_agg(e.ref_event ORDER BY i.o),
           array_agg(e.payload ORDER BY i.o)
      INTO m, k, kd, mem, amt, ref, pl
      FROM unnest(ids) WITH ORDINALITY AS i(id, o) JOIN ev e ON e.event = i.id;
    RETURN QUERY
    SELECT * FROM pc_record_batch(
        array_fill('lk'::text, ARRAY[n]), m, ids, k, kd, pl,
        ARRAY(SELECT sha256(pl[x]) FROM generate_series(1, n) x ORDER BY x),
        array_fill(now(), ARRAY[n]), array_fill('s1'::text, ARRAY[n]),
        array_fill('t1'::text, ARRAY[n]), mem, amt, ref, array_fill(NULL::bigint, ARRAY[n]),
        array_fill(0, ARRAY[n]), array_fill(NULL::text, ARRAY[n]),
        array_fill(NULL::text, ARRAY[n]), array_fill(NULL::text, ARRAY[n]),
        array_fill(NULL::text, ARRAY[n]), array_fill(NULL::text, ARRAY[n]),
        array_fill(NULL::timestamptz, ARRAY[n]), array_fill(NULL::text, ARRAY[n]), tree_max);
END $$;

-- What the tables that change hold, in brief.
CREATE FUNCTION t_state() RETURNS text LANGUAGE sql AS $$
    SELECT concat_ws(' | ',
        (SELECT string_agg(alliance_id || ':' || next_seq, ',' ORDER BY alliance_id) FROM ledger_heads),
        (SELECT string_agg(member_id || ':' || balance || '/' || held, ',' ORDER BY member_id) FROM members),
        (SELECT string_agg(seq || ':' || state || ':' || coalesce(resolved_seq, -1), ',' ORDER BY seq) FROM holds),
        (SELECT string_agg(owner_id || ':' || account_kind || ':' || balance, ',' ORDER BY owner_id, account_kind)
           FROM accounts),
        (SELECT count(*) FROM ledger), (SELECT count(*) FROM postings),
        (SELECT count(*) FROM receipt_trees), (SELECT count(*) FROM purchases),
        (SELECT count(*) FROM referral_touches))
$$;
-- Rows this transaction inserted, updated or deleted in the schema's tables.
CREATE FUNCTION t_writes() RETURNS bigint LANGUAGE sql AS $$
    SELECT sum(n_tup_ins + n_tup_upd + n_tup_del)::bigint FROM pg_stat_xact_user_tables
     WHERE schemaname = 'public'
$$;

SELECT is(pg_get_function_result('pc_lookup_entries'::regproc),
          pg_get_function_result('pc_decide_and_record'::regproc),
          'a lookup returns the columns of the writer''s rows: names, types, order');
SELECT is((SELECT provolatile::text FROM pg_proc WHERE proname = 'pc_lookup_entries'), 's',
          'pc_lookup_entries is STABLE: PL/pgSQL refuses any write in it');
SELECT is(pc_code_not_found(), 41, 'NOT_FOUND is Code 41');

-- e0 before receipt trees were kept; a tree of five entries of two merchants,
-- one declined, one a hold; a tree of one, the capture of that hold
CREATE TEMP TABLE b0 AS SELECT * FROM t_send(ARRAY['e0'], 0);
CREATE TEMP TABLE b1 AS SELECT * FROM t_send(ARRAY['e1', 'e2', 'g1', 'e3', 'e4']);
CREATE TEMP TABLE b2 AS SELECT * FROM t_send(ARRAY['e5']);
SELECT results_eq($$SELECT r_idx, r_disposition, r_code, r_seq FROM b1 ORDER BY r_idx$$,
    $$VALUES (1, 1::smallint, 0::smallint, 1::bigint), (2, 1::smallint, 50::smallint, 2::bigint),
             (3, 1::smallint, 0::smallint, 3::bigint), (4, 1::smallint, 0::smallint, 4::bigint),
             (5, 1::smallint, 0::smallint, 5::bigint)$$,
    'the events are recorded, the redeem declined');

CREATE TEMP TABLE s0 AS SELECT t_state() AS s, t_writes() AS w;
CREATE TEMP TABLE scans0 AS
SELECT sum(seq_scan) AS n FROM pg_stat_xact_user_tables WHERE relname IN ('ledger', 'receipt_trees');

CREATE TEMP TABLE lk AS
SELECT * FROM pc_lookup_entries('lk', 'cafe', ARRAY['e1', 'e2', 'e3', 'e4', 'e0', 'e5', 'e1']);
CREATE TEMP TABLE lk_miss AS
SELECT * FROM pc_lookup_entries('lk', 'cafe', ARRAY['nope', 'g1', 'e2', NULL]);
CREATE TEMP TABLE lk_gym AS SELECT * FROM pc_lookup_entries('lk', 'gym', ARRAY['g1', 'e1']);
CREATE TEMP TABLE lk_away AS SELECT * FROM pc_lookup_entries('elsewhere', 'cafe', ARRAY['e1']);
CREATE TEMP TABLE lk_flat AS SELECT * FROM pc_lookup_entries('lk', 'cafe', ARRAY['e1', 'e0'], 0);

SELECT is((SELECT sum(seq_scan) FROM pg_stat_xact_user_tables WHERE relname IN ('ledger', 'receipt_trees'))
          - (SELECT n FROM scans0), 0::numeric,
          'lookups reach entries and trees by key, never by scanning a table');
SELECT is(t_state(), (SELECT s FROM s0), 'lookups change no balance, hold, head, account or row count');
SELECT is(t_writes(), (SELECT w FROM s0), 'lookups insert, update and delete no row');

-- what a lookup answers
SELECT results_eq($$SELECT r_idx, r_disposition, r_seq, t_first, t_size FROM lk WHERE r_idx > 0 ORDER BY r_idx$$,
    $$VALUES (1, 2::smallint, 1::bigint, 1::bigint, 5), (2, 2::smallint, 2::bigint, 1::bigint, 5),
             (3, 2::smallint, 4::bigint, 1::bigint, 5), (4, 2::smallint, 5::bigint, 1::bigint, 5),
             (5, 2::smallint, 0::bigint, 0::bigint, 1), (6, 2::smallint, 6::bigint, 6::bigint, 1),
             (7, 2::smallint, 1::bigint, 1::bigint, 5)$$,
    'each id found is REPLAYED in its receipt tree; one recorded before trees were kept in a tree of its own');
SELECT results_eq($$SELECT r_code, r_status, r_applied, r_original_seq FROM lk WHERE r_idx = 2$$,
    $$VALUES (50::smallint, 2::smallint, 0::bigint, NULL::bigint)$$,
    'a declined entry is looked up with its decline');
SELECT results_eq($$SELECT r_seq, r_disposition, c_alliance, c_merchant, c_event, t_first, t_size
                      FROM lk WHERE r_idx = 0 ORDER BY r_seq$$,
    $$VALUES (1::bigint, 0::smallint, 'lk', 'cafe', 'e1', 1::bigint, 5),
             (2::bigint, 0::smallint, 'lk', 'cafe', 'e2', 1::bigint, 5),
             (3::bigint, 0::smallint, 'lk', 'gym', 'g1', 1::bigint, 5),
             (4::bigint, 0::smallint, 'lk', 'cafe', 'e3', 1::bigint, 5),
             (5::bigint, 0::smallint, 'lk', 'cafe', 'e4', 1::bigint, 5)$$,
    'the tree of five comes once, every entry as a context row, another merchant''s included');
SELECT is((SELECT count(*) FROM lk l JOIN ledger e ON e.alliance_id = 'lk' AND e.seq = l.r_seq
            WHERE (l.r_code, l.r_accepted_at_us, l.r_status, l.r_balance, l.r_available,
                   l.r_applied, l.r_remaining, l.r_hold_expires_at_us, l.r_leaf_hash)
                  IS NOT DISTINCT FROM
                  (e.code, pc_us(e.accepted_at), e.status, e.balance, e.available, e.applied,
                   e.remaining, e.hold_expires_at_us, pc_entry_leaf_hash(e))),
          (SELECT count(*) FROM lk),
          'every row is its stored entry: decision, time accepted, leaf hash');
SELECT results_eq($$SELECT r_code, r_seq, r_accepted_at_us, r_status, r_balance, r_available,
                           r_applied, r_remaining, r_hold_expires_at_us, t_first, t_size
                      FROM b1 ORDER BY r_seq$$,
    $$SELECT r_code, r_seq, r_accepted_at_us, r_status, r_balance, r_available, r_applied,
             r_remaining, r_hold_expires_at_us, t_first, t_size
        FROM (SELECT * FROM lk WHERE r_idx BETWEEN 1 AND 4
              UNION ALL SELECT * FROM lk_gym WHERE r_idx = 1) x
       ORDER BY r_seq$$,
    'a lookup tells what the event was told when it was recorded');
SELECT ok((SELECT r_hold_expires_at_us > r_accepted_at_us FROM lk WHERE r_idx = 3)
          AND (SELECT r_hold_expires_at_us FROM lk WHERE r_idx = 3)
              = (SELECT pc_us(expires_at) FROM holds WHERE alliance_id = 'lk' AND seq = 4),
          'a hold is looked up with its expiry');
SELECT results_eq($$SELECT r_applied, r_remaining FROM lk WHERE r_idx = 6$$,
    $$VALUES (20::bigint, 10::bigint)$$, 'a capture is looked up with what it took and released');

-- NOT_FOUND: never recorded, another merchant's, another alliance
SELECT results_eq($$SELECT r_idx, r_disposition, r_code, num_nonnulls(
                           r_seq, r_accepted_at_us, r_status, r_balance, r_available, r_applied,
                           r_remaining, r_hold_expires_at_us, r_leaf_hash, r_original_seq,
                           t_first, t_size, c_alliance, c_merchant, c_event)
                      FROM lk_miss WHERE r_idx IN (1, 2, 4) ORDER BY r_idx$$,
    $$VALUES (1, 3::smallint, 41::smallint, 0), (2, 3::smallint, 41::smallint, 0),
             (4, 3::smallint, 41::smallint, 0)$$,
    'an unknown id, another merchant''s id and no id are REJECTED, NOT_FOUND, and nothing else');
SELECT results_eq($$SELECT * FROM lk_miss WHERE r_idx = 3$$,
    $$SELECT 3, r_disposition, r_code, r_seq, r_accepted_at_us, r_status, r_balance, r_available,
             r_applied, r_remaining, r_hold_expires_at_us, r_leaf_hash, r_original_seq, t_first,
             t_size, c_alliance, c_merchant, c_event FROM lk WHERE r_idx = 2$$,
    'an id found among ids not found is answered as alone');
SELECT results_eq($$SELECT * FROM lk_miss WHERE r_idx = 0 ORDER BY r_seq$$,
    $$SELECT * FROM lk WHERE r_idx = 0 ORDER BY r_seq$$, 'with its tree''s context rows');
SELECT results_eq($$SELECT r_idx, r_disposition, r_code, r_seq FROM lk_gym WHERE r_idx > 0 ORDER BY r_idx$$,
    $$VALUES (1, 2::smallint, 0::smallint, 3::bigint), (2, 3::smallint, 41::smallint, NULL::bigint)$$,
    'the gym finds its own entry, not the cafe''s');
SELECT results_eq($$SELECT r_idx, r_disposition, r_code, r_seq FROM lk_away$$,
    $$VALUES (1, 3::smallint, 41::smallint, NULL::bigint)$$,
    'an id of the merchant''s is not found in another alliance');
SELECT is((SELECT count(*) FROM pc_lookup_entries('lk', 'cafe', '{}')), 0::bigint,
          'no ids, no rows');
SELECT is((SELECT count(*) FROM pc_lookup_entries('lk', 'cafe', NULL)), 0::bigint,
          'a NULL array is no ids');
SELECT throws_ok($$SELECT * FROM pc_lookup_entries('lk', 'cafe', ARRAY['e1'], 65)$$,
    '22023', NULL, 'receipt trees hold at most 64 entries, for lookups too');

SELECT is(t_state(), (SELECT s FROM s0), 'still nothing changed');
SELECT is(t_writes(), (SELECT w FROM s0), 'still no row written');

-- the same ids sent again, with the same bytes: the writer's replays
CREATE TEMP TABLE rs AS SELECT * FROM t_send(ARRAY['e1', 'e2', 'e3', 'e4', 'e0', 'e5', 'e1']);
CREATE TEMP TABLE rs_flat AS SELECT * FROM t_send(ARRAY['e1', 'e0'], 0);
SELECT is((SELECT count(*) FROM rs WHERE r_idx > 0 AND r_disposition = 2), 7::bigint,
          'sent again, every event is a replay');
SELECT results_eq($$SELECT * FROM lk ORDER BY r_idx, r_seq$$, $$SELECT * FROM rs ORDER BY r_idx, r_seq$$,
    'a lookup returns exactly the rows a resubmission gets, context rows included');
SELECT results_eq($$SELECT * FROM lk_flat ORDER BY r_idx, r_seq$$,
                  $$SELECT * FROM rs_flat ORDER BY r_idx, r_seq$$,
    'and so without receipt trees');

SELECT * FROM finish();
ROLLBACK;
