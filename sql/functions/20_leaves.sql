-- 20_leaves: times in microseconds and the leaf hash of a ledger entry.
--
-- The daemon hashes a new entry's leaf itself (proto/'s pc_leaf_hash), from the
-- bytes it sent and the decision returned: that took a SHA-256 and a dozen byte
-- concatenations per row off the one backend holding the ledger heads (8% of a
-- 200-event batch). What is hashed here is rare: a replay's leaf and the other
-- entries of a replayed receipt's tree, recomputed from what the ledger holds;
-- the tests hold every stored entry to the same hash.
--
-- SQL functions, checked against what they call when created: after 00_codes,
-- and in this order.

-- µs since the epoch, exactly (extract returns numeric).
CREATE OR REPLACE FUNCTION pc_us(ts timestamptz) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT (extract(epoch FROM ts) * 1000000)::bigint
$$;

-- The leaf hash of PROTOCOL.md, "Leaf": SHA-256(0x00 || leaf).
CREATE OR REPLACE FUNCTION pc_leaf_hash(a text, s bigint, accepted_us bigint, envelope bytea,
                                        status smallint, code smallint, balance bigint,
                                        available bigint, applied bigint, remaining bigint,
                                        hold_expires_us bigint, ext bytea)
RETURNS bytea LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT sha256('\x0050434c31'::bytea
        || int2send(octet_length(convert_to(a, 'UTF8'))::smallint) || convert_to(a, 'UTF8')
        || int8send(s) || int8send(accepted_us)
        || int4send(octet_length(envelope)) || envelope
        || set_byte('\x00'::bytea, 0, status) || int2send(code)
        || int8send(balance) || int8send(available) || int8send(applied)
        || int8send(remaining) || int8send(hold_expires_us)
        || int4send(octet_length(ext)) || ext)
$$;

-- The leaf hash of a stored entry, for whatever recomputes it from the ledger:
-- replays, context rows, the tests.
CREATE OR REPLACE FUNCTION pc_entry_leaf_hash(e ledger) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT pc_leaf_hash(e.alliance_id, e.seq, pc_us(e.accepted_at), e.envelope, e.status,
                        e.code, e.balance, e.available, e.applied, e.remaining,
                        e.hold_expires_at_us, e.ext)
$$;

-- The daemon's key cache reads key validity in µs (daemon/sql.c); the leaf
-- hashes are the owner's.
REVOKE EXECUTE ON FUNCTION pc_us, pc_leaf_hash, pc_entry_leaf_hash FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pc_us TO pointclear_daemon;
