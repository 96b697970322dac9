-- 003_member_consent: members consent to spending with a key of their own
-- (PROTOCOL.md, "Member authorization"; docs/DESIGN.md, "Member consent").
--
-- A member registers the Ed25519 public key of their app (a device key); the
-- alliance decides above which amount a REDEEM or HOLD must carry an
-- authorization signed by it; each authorization's nonce is kept once used, in
-- the transaction that records the entry carrying it, so it is never accepted
-- twice.

-- NULL: no authorization is ever required; N: REDEEM and HOLD of more than N
-- points need one; 0: all of them do.
ALTER TABLE alliances
    ADD COLUMN consent_threshold bigint CHECK (consent_threshold >= 0);

-- Device keys keep their history as merchant keys do: revoking sets revoked_at,
-- nothing is deleted. The key id (hex of the first 8 bytes of SHA-256 of the
-- key) is taken once per alliance, whichever member holds it, so an
-- authorization names its key alone. The member holds the private half; the
-- clearing house never sees it.
CREATE TABLE member_devices (
    alliance_id    text COLLATE "C" NOT NULL,
    key_id         text COLLATE "C" NOT NULL CHECK (key_id ~ '^[0-9a-f]{16}$'),
    member_id      text COLLATE "C" NOT NULL,
    public_key     bytea NOT NULL CHECK (octet_length(public_key) = 32),
    registered_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    PRIMARY KEY (alliance_id, key_id),
    FOREIGN KEY (alliance_id, member_id) REFERENCES members,
    CHECK (revoked_at IS NULL OR revoked_at >= registered_at)
);
CREATE INDEX member_devices_by_member ON member_devices (alliance_id, member_id);

-- Nonces of the authorizations the ledger holds: written with the entry that
-- carried it (approved or declined), in the same transaction, so that a nonce
-- is used once. expires_at allows pruning once no authorization carrying the
-- nonce could be accepted any more.
CREATE TABLE member_auth_nonces (
    alliance_id  text COLLATE "C" NOT NULL REFERENCES alliances,
    nonce        bytea NOT NULL CHECK (octet_length(nonce) = 16),
    member_id    text COLLATE "C" NOT NULL,
    merchant_id  text COLLATE "C" NOT NULL,
    seq          bigint NOT NULL,
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (alliance_id, nonce)
);

-- The daemon's key cache loads the policy and the device keys (daemon/sql.c):
-- its group reads those columns and writes nothing; nonces are written by
-- pc_record_batch, which runs as the owner.
GRANT SELECT (consent_threshold) ON alliances TO pointclear_daemon;
GRANT SELECT (alliance_id, key_id, member_id, public_key, revoked_at) ON member_devices
    TO pointclear_daemon;
