-- 004_key_life: keys retire with a grace period, merchants can be suspended, and
-- merchant TLS certificates are recorded by serial so that they can be revoked.
--
-- A rotation retires the outgoing signing key: retired_at is when, grace_until
-- the end of the period in which events signed by it are still accepted (first
-- received before it). revoked_at stays what it was, immediate. A key is usable
-- at time t when valid_from <= t < least(revoked_at, grace_until); least()
-- ignores NULLs, so a key neither revoked nor retired has no end.
--
-- A suspended merchant is refused at the handshake, its live connections are
-- cut, and the batch refuses its events (MERCHANT_INACTIVE) whatever the
-- daemon's cache says; resume makes it active again. Its ledger stays.
--
-- merchant_certs lists the client certificates an alliance CA issued to its
-- merchants (`merchant add`, `merchant issue-cert`), by serial: unique per
-- issuing CA, hence per alliance. revoke-cert sets revoked_at; a serial the CLI
-- did not issue may be listed revoked too (merchant known, not_after unknown).
-- The daemon reads the revoked serials into its key cache and refuses them at the
-- handshake and on every reload (daemon/tls.c, daemon/conn.c).

ALTER TABLE merchant_keys
    ADD COLUMN retired_at   timestamptz,
    ADD COLUMN grace_until  timestamptz,
    ADD CONSTRAINT merchant_keys_retirement
        CHECK ((retired_at IS NULL) = (grace_until IS NULL) AND grace_until >= retired_at);

ALTER TABLE alliances
    ADD COLUMN key_grace_s integer NOT NULL DEFAULT 86400
        CHECK (key_grace_s BETWEEN 0 AND 2592000);

ALTER TABLE merchants DROP CONSTRAINT merchants_status_check,
    ADD CONSTRAINT merchants_status_check
        CHECK (status IN ('active', 'in_transition', 'suspended', 'gone'));

CREATE TABLE merchant_certs (
    alliance_id  text COLLATE "C" NOT NULL,
    serial       text COLLATE "C" NOT NULL CHECK (serial ~ '^([0-9A-F]{2}){1,20}$'),  -- hex octets, as BN_bn2hex
    merchant_id  text COLLATE "C" NOT NULL,
    not_after    timestamptz,
    issued_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    PRIMARY KEY (alliance_id, serial),
    FOREIGN KEY (alliance_id, merchant_id) REFERENCES merchants
);
CREATE INDEX merchant_certs_by_merchant ON merchant_certs (alliance_id, merchant_id, issued_at);

-- What the daemon reads of them (002_daemon_role.sql lists the rest).
GRANT SELECT (grace_until) ON merchant_keys TO pointclear_daemon;
GRANT SELECT (alliance_id, serial, revoked_at) ON merchant_certs TO pointclear_daemon;
