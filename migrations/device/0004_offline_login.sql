-- Device vault schema v4: offline badge login. A verifier lets one user sign
-- in on this device while the central API is unreachable: the keyed hash of
-- their badge (lower-case hex of HMAC-SHA256 under the organization's badge
-- key, the same form sync delivers in `badges`, so a revoked badge's tombstone
-- deletes its verifier), an argon2id hash of the PIN they typed here in their
-- last online badge+PIN login, when that was (the grace period and the expiry
-- count from it), and what the lock screen shows of them. Never a badge value
-- or a PIN. Replaces v1's unused table, whose BLOB hash could not match sync's.
DROP TABLE badge_verifiers;
CREATE TABLE badge_verifiers (
    badge_hash      TEXT PRIMARY KEY NOT NULL CHECK (length(badge_hash) = 64),
    user_id         INTEGER NOT NULL,
    organization_id INTEGER NOT NULL,
    facility_id     INTEGER NOT NULL,
    username        TEXT NOT NULL,
    full_name       TEXT NOT NULL,
    employee_id     TEXT NOT NULL,
    role            TEXT NOT NULL,
    pin_hash        TEXT NOT NULL,
    pin_verified_at TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0 CHECK (failed_attempts BETWEEN 0 AND 5),
    updated_at      TEXT NOT NULL
) STRICT;
CREATE INDEX badge_verifiers_user ON badge_verifiers (user_id);
