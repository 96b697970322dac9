-- 005_key_history: the operator-signed history of every signing key
-- (PROTOCOL.md, "Key history").
--
-- One row per statement: a C2SP signed note, signed with the operator's key,
-- saying that a merchant key was registered, retired or revoked (with its
-- times) or which operator key is in force. seq counts an alliance's statements
-- from 0 without gaps, and each note carries the hash of the one before, so an
-- auditor checks the history with the operator's public key alone. The CLI
-- writes a statement, as the owner, in the transaction that changes
-- merchant_keys or registers the operator key; rows are never changed
-- (append-only triggers in functions/10_guards.sql). The daemon's role gets no
-- privilege on it.

CREATE TABLE key_history (
    alliance_id  text COLLATE "C" NOT NULL REFERENCES alliances,
    seq          bigint NOT NULL CHECK (seq >= 0),
    note         text NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (alliance_id, seq)
);
