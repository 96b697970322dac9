-- test_plans.sql - pc_record_batch reuses generic plans only when the
-- statistics can be trusted (sql/functions/40_record_batch.sql): a plan made
-- while the statistics describe an empty ledger would read the alliance's whole ledger for every event
-- once it has grown. Its own file, so that its session starts with no plans,
-- and its own database (run.sh), so that the ledger is empty, not even dead rows.
BEGIN;
SELECT plan(9);

INSERT INTO alliances (alliance_id, name, currency, ca_cert_pem) VALUES ('pl', 'Pl', 'EUR', 'x');
INSERT INTO ledger_heads VALUES ('pl');
INSERT INTO merchants (alliance_id, merchant_id, name, industry) VALUES ('pl', 'cafe', 'Cafe', 'cafe');
INSERT INTO merchant_keys (alliance_id, key_id, merchant_id, public_key, valid_from)
VALUES ('pl', '00000000000000aa', 'cafe', decode(repeat('11', 32), 'hex'), now() - interval '1 day');
INSERT INTO members (alliance_id, member_id)
SELECT 'pl', 'm' || g FROM generate_series(1, 100) g;

-- One batch of n earns of 1 point by the cafe, event ids prefix1..prefixn.
CREATE FUNCTION t_earns(prefix text, n int) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FILTER (WHERE r.r_disposition = 1) FROM pc_record_batch(
        array_fill('pl'::text, ARRAY[n]), array_fill('cafe'::text, ARRAY[n]),
        ARRAY(SELECT prefix || g FROM generate_series(1, n) g),
        array_fill('00000000000000aa'::text, ARRAY[n]), array_fill(1::smallint, ARRAY[n]),
        ARRAY(SELECT convert_to(prefix || g, 'UTF8') FROM generate_series(1, n) g),
        ARRAY(SELECT sha256(convert_to(prefix || g, 'UTF8')) FROM generate_series(1, n) g),
        array_fill(now(), ARRAY[n]), array_fill('s1'::text, ARRAY[n]),
        array_fill('t1'::text, ARRAY[n]),
        ARRAY(SELECT 'm' || (1 + g % 100) FROM generate_series(1, n) g),
        array_fill(1::bigint, ARRAY[n]), array_fill(NULL::text, ARRAY[n]),
        array_fill(NULL::bigint, ARRAY[n]), array_fill(0, ARRAY[n]),
        array_fill(NULL::text, ARRAY[n]), array_fill(NULL::text, ARRAY[n]),
        array_fill(NULL::text, ARRAY[n]), array_fill(NULL::text, ARRAY[n]),
        array_fill(NULL::text, ARRAY[n]), array_fill(NULL::timestamptz, ARRAY[n]),
        array_fill(NULL::text, ARRAY[n])) r
$$;

-- rows read from the ledger through its indexes, so far in this transaction
CREATE FUNCTION t_ledger_fetched() RETURNS bigint LANGUAGE sql AS $$
    SELECT idx_tup_fetch FROM pg_stat_xact_user_tables WHERE relname = 'ledger'
$$;

ANALYZE ledger;
ANALYZE merchant_keys;
SELECT is(pc_generic_plans_safe(), false, 'statistics of an empty ledger: custom plans');

-- The plans are made now, the ledger empty; then it grows past its statistics,
-- as it does between two runs of autovacuum.
SELECT is(t_earns('a', 1), 1::bigint, 'a first batch, on an empty ledger');
SELECT is(t_earns('b', 3000), 3000::bigint, 'the ledger grows by 3,000 entries');
CREATE TEMP TABLE f0 AS SELECT t_ledger_fetched() AS n;
SELECT is(t_earns('c', 5), 5::bigint, 'a batch of five');
SELECT cmp_ok(t_ledger_fetched() - (SELECT n FROM f0), '<', 50::bigint,
    'it probes the ledger by event id, not through an index on the alliance alone');

-- With statistics of a ledger of some size, generic plans, and the same probes.
ANALYZE ledger;
SELECT is(pc_generic_plans_safe(), true, 'statistics of 3,006 entries: generic plans');
CREATE TEMP TABLE f1 AS SELECT t_ledger_fetched() AS n;
SELECT is(t_earns('d', 5), 5::bigint, 'a batch of five, with generic plans');
SELECT cmp_ok(t_ledger_fetched() - (SELECT n FROM f1), '<', 50::bigint,
    'its generic plans probe the ledger by event id too');
SELECT is(current_setting('plan_cache_mode'), 'auto', 'the choice lasts for the call');

SELECT * FROM finish();
ROLLBACK;
