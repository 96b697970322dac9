-- 002_ledger: the append-only ledger, its postings, and the state derived from it.
--
-- ledger, postings, referral_touches and purchases are append-only: the database
-- refuses UPDATE, DELETE and TRUNCATE on them, whoever asks. holds is working state
-- (how a hold was resolved) that the ledger alone determines; it may change, the
-- ledger never does. What remains of an event after reversals is not stored: it is
-- its applied amount minus the approved reversals naming it (ledger_reversals).

CREATE TABLE ledger (
    alliance_id         text COLLATE "C" NOT NULL,
    seq                 bigint NOT NULL CHECK (seq >= 0),
    accepted_at         timestamptz NOT NULL,    -- clearing house clock
    merchant_id         text COLLATE "C" NOT NULL,
    event_id            text COLLATE "C" NOT NULL,
    key_id              text COLLATE "C" NOT NULL,
    kind                smallint NOT NULL CHECK (kind BETWEEN 1 AND 8),
    event_time          timestamptz NOT NULL,    -- POS clock, as sent
    store_id            text COLLATE "C" NOT NULL,
    terminal_id         text COLLATE "C" NOT NULL,
    member_id           text COLLATE "C",
    amount              bigint,                  -- points, or minor units for a purchase
    ref_seq             bigint,                  -- capture/void/reversal: the entry referred to
    envelope            bytea NOT NULL,          -- the SUBMIT body exactly as received
    payload_hash        bytea NOT NULL,          -- SHA-256 of the signed payload
    status              smallint NOT NULL CHECK (status IN (1, 2)),
    code                smallint NOT NULL,
    balance             bigint NOT NULL,
    available           bigint NOT NULL,
    applied             bigint NOT NULL,
    remaining           bigint NOT NULL,
    hold_expires_at_us  bigint NOT NULL,
    ext                 bytea NOT NULL DEFAULT '\x',  -- leaf extension (attribution), empty in v1
    leaf_hash           bytea NOT NULL CHECK (octet_length(leaf_hash) = 32),
    PRIMARY KEY (alliance_id, seq),
    UNIQUE (alliance_id, merchant_id, event_id)
);
CREATE INDEX ledger_by_time ON ledger (alliance_id, accepted_at);
CREATE INDEX ledger_by_member ON ledger (alliance_id, member_id, accepted_at)
    WHERE member_id IS NOT NULL;
CREATE INDEX ledger_reversals ON ledger (alliance_id, ref_seq)
    WHERE kind = 6 AND status = 1;

-- Double entry in points: each approved entry's legs sum to zero.
-- account_kind 1 = member (owner = member id), 2 = merchant issued, 3 = merchant redeemed.
CREATE TABLE postings (
    alliance_id   text COLLATE "C" NOT NULL,
    seq           bigint NOT NULL,
    leg           smallint NOT NULL,
    account_kind  smallint NOT NULL CHECK (account_kind IN (1, 2, 3)),
    owner_id      text COLLATE "C" NOT NULL,
    amount        bigint NOT NULL CHECK (amount <> 0),
    reason        text NOT NULL,          -- event kind and id, plus rule or campaign
    PRIMARY KEY (alliance_id, seq, leg)
);
CREATE INDEX postings_by_account ON postings (alliance_id, account_kind, owner_id, seq);

CREATE TABLE referral_touches (
    alliance_id              text COLLATE "C" NOT NULL,
    seq                      bigint NOT NULL,
    member_id                text COLLATE "C" NOT NULL,
    referrer_merchant_id     text COLLATE "C" NOT NULL,
    beneficiary_merchant_id  text COLLATE "C",          -- NULL: the whole alliance
    channel                  text COLLATE "C",
    campaign_id              text COLLATE "C",
    referral_code            text COLLATE "C",
    touched_at               timestamptz NOT NULL,
    PRIMARY KEY (alliance_id, seq)
);
CREATE INDEX referral_touches_by_member ON referral_touches (alliance_id, member_id, touched_at);
CREATE INDEX referral_touches_by_code ON referral_touches (alliance_id, referral_code)
    WHERE referral_code IS NOT NULL;

CREATE TABLE purchases (
    alliance_id    text COLLATE "C" NOT NULL,
    seq            bigint NOT NULL,
    member_id      text COLLATE "C" NOT NULL,
    merchant_id    text COLLATE "C" NOT NULL,
    amount_minor   bigint NOT NULL CHECK (amount_minor > 0),
    currency       char(3) NOT NULL,
    referral_code  text COLLATE "C",
    PRIMARY KEY (alliance_id, seq)
);
CREATE INDEX purchases_by_member ON purchases (alliance_id, member_id, seq);

-- state 1 active, 2 captured, 3 voided, 4 expired
CREATE TABLE holds (
    alliance_id   text COLLATE "C" NOT NULL,
    seq           bigint NOT NULL,
    merchant_id   text COLLATE "C" NOT NULL,
    member_id     text COLLATE "C" NOT NULL,
    amount        bigint NOT NULL CHECK (amount > 0),
    expires_at    timestamptz NOT NULL,
    state         smallint NOT NULL DEFAULT 1 CHECK (state BETWEEN 1 AND 4),
    resolved_seq  bigint,
    resolved_at   timestamptz,
    PRIMARY KEY (alliance_id, seq)
);
CREATE INDEX holds_active_by_expiry ON holds (alliance_id, expires_at) WHERE state = 1;
CREATE INDEX holds_active_by_member ON holds (alliance_id, member_id) WHERE state = 1;

CREATE FUNCTION pc_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'pointclear: % is append-only; % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'P0001';
END $$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['ledger', 'postings', 'referral_touches', 'purchases'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I
                        FOR EACH ROW EXECUTE FUNCTION pc_refuse_change()',
                       t || '_append_only', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I
                        FOR EACH STATEMENT EXECUTE FUNCTION pc_refuse_change()',
                       t || '_no_truncate', t);
    END LOOP;
END $$;

-- µs since the epoch, exactly (extract returns numeric).
CREATE FUNCTION pc_us(ts timestamptz) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT (extract(epoch FROM ts) * 1000000)::bigint
$$;

-- The leaf hash of PROTOCOL.md, "Leaf": SHA-256(0x00 || leaf). pc_apply_batch
-- writes the same expression inline (a call per row costs more than the hash);
-- the integration tests hold every stored row to this function.
CREATE FUNCTION pc_leaf_hash(a text, s bigint, accepted_us bigint, envelope bytea,
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
