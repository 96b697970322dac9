-- 001_core: tenants, merchants and their keys, contract terms, members, accounts.
--
-- Every table carries alliance_id and it leads every key and index, so tenants can
-- later be distributed by alliance_id (Citus) without schema changes.

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
-- across several daemons and keeps every balance check exact.
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

-- Operator receipt-signing keys (public halves only).
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

-- Members are pseudonymous alliance ids; nothing identifying is stored.
-- balance is posted points (negative = owed after an earn reversal);
-- held is the sum of active holds; spendable = balance - held.
CREATE TABLE members (
    alliance_id  text COLLATE "C" NOT NULL REFERENCES alliances,
    member_id    text COLLATE "C" NOT NULL CHECK (member_id ~ '^[A-Za-z0-9._:-]{1,64}$'),
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
