-- 001_baseline: the data model of pointclear 0.1.0, in the order a reader needs it.
--
-- Tables, types, indexes and constraints only. Every function, and each trigger
-- with the function it runs, lives in sql/functions/, which `pointclear migrate`
-- applies after the numbered migrations whenever a file's text changes; a later
-- numbered migration changes the schema only (sql/embed.cmake refuses one that
-- defines a function).
--
-- Every table carries alliance_id, and alliance_id leads every primary key,
-- unique constraint and index: tenants can then be distributed by alliance_id
-- (Citus) and a ledger read per alliance, without schema changes (tests/sql
-- checks the rule). After it, each key puts first the column that tells keys
-- apart (an event id before its merchant): a B-tree compares column by column,
-- and a column shared by many keys costs a text comparison on every step down.
--
-- Codes, statuses and dispositions stored here are those of
-- proto/pointclear.proto; sql/functions/00_codes.sql names them.


-- Tenants, merchants and their keys ------------------------------------------

CREATE TABLE alliances (
    alliance_id       text COLLATE "C" PRIMARY KEY,
    name              text NOT NULL,
    currency          char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    time_zone         text NOT NULL DEFAULT 'UTC',
    default_hold_s    integer NOT NULL DEFAULT 900 CHECK (default_hold_s > 0),
    max_hold_s        integer NOT NULL DEFAULT 86400 CHECK (max_hold_s > 0),
    window_future_s   integer NOT NULL DEFAULT 300 CHECK (window_future_s >= 0),
    window_past_s     integer NOT NULL DEFAULT 604800 CHECK (window_past_s >= 0),
    ca_cert_pem       text NOT NULL,          -- the alliance CA that issues merchant TLS certs
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (alliance_id ~ '^[A-Za-z0-9._:-]{1,64}$'),
    CHECK (default_hold_s <= max_hold_s)
);

-- The one hot row per alliance: its next ledger sequence. Taking it FOR UPDATE
-- serialises ledger appends per alliance, which is what makes sequences gapless
-- across several daemons and keeps every balance check exact: every writer of
-- member balances (a batch, the hold sweep) locks it first, in alliance order.
CREATE TABLE ledger_heads (
    alliance_id  text COLLATE "C" PRIMARY KEY REFERENCES alliances,
    next_seq     bigint NOT NULL DEFAULT 0 CHECK (next_seq >= 0)
);

CREATE TABLE merchants (
    alliance_id   text COLLATE "C" NOT NULL REFERENCES alliances,
    merchant_id   text COLLATE "C" NOT NULL CHECK (merchant_id ~ '^[A-Za-z0-9._:-]{1,64}$'),
    name          text NOT NULL,
    industry      text NOT NULL,
    status        text NOT NULL DEFAULT 'active'
                  CHECK (status IN ('active', 'in_transition', 'gone')),
    status_since  timestamptz NOT NULL DEFAULT now(),
    joined_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (alliance_id, merchant_id)
);

-- Signing keys keep their history: a rotation adds a key and revokes the old one
-- at a time; nothing is deleted, so a signature can be judged by the key valid then.
-- A key id is taken once per alliance, whichever merchant holds it.
CREATE TABLE merchant_keys (
    alliance_id   text COLLATE "C" NOT NULL,
    key_id        text COLLATE "C" NOT NULL CHECK (key_id ~ '^[0-9a-f]{16}$'),
    merchant_id   text COLLATE "C" NOT NULL,
    public_key    bytea NOT NULL CHECK (octet_length(public_key) = 32),
    valid_from    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (alliance_id, key_id),
    FOREIGN KEY (alliance_id, merchant_id) REFERENCES merchants,
    CHECK (revoked_at IS NULL OR revoked_at >= valid_from)
);
CREATE INDEX merchant_keys_by_merchant ON merchant_keys (alliance_id, merchant_id);

-- Operator receipt-signing keys (public halves only): one operator, no alliance.
CREATE TABLE operator_keys (
    key_id      text COLLATE "C" PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{16}$'),
    public_key  bytea NOT NULL CHECK (octet_length(public_key) = 32),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Versioned terms; an event settles under the row in force at its time accepted.
-- Prices are exact rationals: `*_minor` minor units per `*_per_points` points.
CREATE TABLE contract_terms (
    alliance_id            text COLLATE "C" NOT NULL,
    merchant_id            text COLLATE "C" NOT NULL,
    effective_from         timestamptz NOT NULL,
    issue_price_minor      bigint NOT NULL CHECK (issue_price_minor >= 0),
    issue_price_per_points bigint NOT NULL CHECK (issue_price_per_points > 0),
    redeem_rate_minor      bigint NOT NULL CHECK (redeem_rate_minor >= 0),
    redeem_rate_per_points bigint NOT NULL CHECK (redeem_rate_per_points > 0),
    created_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (alliance_id, merchant_id, effective_from),
    FOREIGN KEY (alliance_id, merchant_id) REFERENCES merchants
);


-- Members and balances --------------------------------------------------------

-- Members are pseudonymous alliance ids; nothing identifying is stored.
-- balance is posted points (negative = owed after an earn reversal);
-- held is the sum of active holds; spendable = balance - held.
-- The member id's form is kept by a trigger on INSERT and UPDATE OF member_id
-- (sql/functions/10_guards.sql), not a CHECK: every UPDATE evaluates every CHECK
-- of the row, and the writer's balance write-back would run the regular
-- expression again for each member a batch touches (4% of a batch).
CREATE TABLE members (
    alliance_id  text COLLATE "C" NOT NULL REFERENCES alliances,
    member_id    text COLLATE "C" NOT NULL,
    balance      bigint NOT NULL DEFAULT 0,
    held         bigint NOT NULL DEFAULT 0 CHECK (held >= 0),
    enrolled_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (alliance_id, member_id)
);

-- Running totals of the non-member side of postings, one row per account.
-- kind 2 = points issued by the merchant (its funding obligation, negative),
-- kind 3 = points redeemed at the merchant (its reimbursement claim, positive).
CREATE TABLE accounts (
    alliance_id   text COLLATE "C" NOT NULL,
    account_kind  smallint NOT NULL CHECK (account_kind IN (2, 3)),
    owner_id      text COLLATE "C" NOT NULL,
    balance       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (alliance_id, account_kind, owner_id)
);


-- The ledger and what it records ---------------------------------------------
--
-- ledger, postings, referral_touches, purchases and receipt_trees are
-- append-only: the database refuses UPDATE, DELETE and TRUNCATE on them, whoever
-- asks (triggers, sql/functions/10_guards.sql). holds is working state (how a
-- hold was resolved) that the ledger alone determines; it may change, the ledger
-- never does. What remains of an event after reversals is not stored: it is its
-- applied amount minus the approved reversals naming it (ledger_reversals).

-- One row per decided event, approved or declined. The leaf hash of an entry
-- (PROTOCOL.md, "Leaf") is not stored: it is a function of the row's own
-- columns (pc_entry_leaf_hash), and the daemon hashes a new entry's leaf itself.
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
    PRIMARY KEY (alliance_id, seq),
    -- an event id is taken once per merchant and alliance
    CONSTRAINT ledger_event_key UNIQUE (alliance_id, event_id, merchant_id)
);
-- The ledger is appended in the order of the time accepted, so a period of one
-- alliance (settlement) is a run of pages: BRIN, without a B-tree entry per event.
CREATE INDEX ledger_by_time ON ledger USING brin (alliance_id, accepted_at);
-- What remains of an entry: the approved reversals naming it.
CREATE INDEX ledger_reversals ON ledger (alliance_id, ref_seq) WHERE kind = 6 AND status = 1;

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
-- A member's point history, in sequence order (the order of time accepted).
-- Members' legs only: a merchant's legs are read by period, a sequence range of
-- postings_pkey, and its running totals are in accounts; in this index every
-- merchant leg would be an insert into the middle of that merchant's range.
CREATE INDEX postings_by_account ON postings (alliance_id, owner_id, seq) WHERE account_kind = 1;

-- A REFERRAL event's touch, kept for attribution.
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

-- A PURCHASE event, kept for attribution; it moves no points.
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

-- Points a HOLD reserves, until captured, voided or expired.
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
-- the sweep's order, and a member's active holds
CREATE INDEX holds_active_by_expiry ON holds (alliance_id, expires_at) WHERE state = 1;
CREATE INDEX holds_active_by_member ON holds (alliance_id, member_id) WHERE state = 1;


-- Receipts ---------------------------------------------------------------------
--
-- The operator's signature is the daemon's largest cost per event after the
-- merchant's own, so receipts are signed a tree at a time: the entries one batch
-- records for an alliance are cut into trees of at most 64 consecutive entries,
-- and each receipt carries its inclusion path (PROTOCOL.md, "Receipts"). A replay
-- must return the original receipt byte for byte, so a tree's bounds are kept in
-- the same transaction as its entries; a replay is answered with its whole tree,
-- from which the daemon rebuilds the same root and, Ed25519 being deterministic,
-- the same signature. An entry with no tree row has a tree of its own (size 1).
CREATE TABLE receipt_trees (
    alliance_id  text COLLATE "C" NOT NULL REFERENCES alliances,
    first_seq    bigint NOT NULL CHECK (first_seq >= 0),
    size         integer NOT NULL CHECK (size BETWEEN 1 AND 64),
    PRIMARY KEY (alliance_id, first_seq)
);
