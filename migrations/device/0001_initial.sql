-- Device vault schema v1: what a Tend device keeps between syncs.
-- Everything here sits inside the SQLCipher-encrypted database; ids that come
-- from the central API are its bigint ids (INTEGER), local ids are UUIDv7 text.
-- Times are RFC 3339 text in UTC.

-- Small settings and device facts (enrollment state, facility id, last
-- policy seen). Values are opaque to SQLite; the owning module parses them.
CREATE TABLE device_settings (
    key        TEXT PRIMARY KEY NOT NULL CHECK (length(key) BETWEEN 1 AND 128),
    value      BLOB NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- The facility roster: the patients of this device's facility, as last
-- synced from the server. `version` is the server's row version, sent back
-- with edits so the server can detect conflicts.
CREATE TABLE roster_patients (
    server_id     INTEGER PRIMARY KEY NOT NULL,
    facility_id   INTEGER NOT NULL,
    mrn           TEXT NOT NULL CHECK (length(mrn) BETWEEN 1 AND 64),
    first_name    TEXT NOT NULL,
    last_name     TEXT NOT NULL,
    date_of_birth TEXT,
    room          TEXT,
    status        TEXT NOT NULL CHECK (status IN ('active', 'on_leave', 'discharged', 'deceased')),
    version       INTEGER NOT NULL DEFAULT 0,
    synced_at     TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX roster_patients_facility_mrn ON roster_patients (facility_id, mrn);
CREATE INDEX roster_patients_status_name ON roster_patients (status, last_name, first_name);

-- Documentation written on this device and waiting for the server.
-- `id` is a UUIDv7 made on the device (idempotency key on upload), `seq` a
-- per-device counter that orders uploads. The patient is referenced by server
-- id without a foreign key: a roster refresh may drop a discharged patient
-- while that patient's last notes are still waiting here.
CREATE TABLE outbox (
    id                TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    seq               INTEGER NOT NULL UNIQUE CHECK (seq > 0),
    kind              TEXT NOT NULL,
    patient_server_id INTEGER,
    author_user_id    INTEGER,
    payload           TEXT NOT NULL CHECK (json_valid(payload)),
    created_at        TEXT NOT NULL,
    acknowledged      INTEGER NOT NULL DEFAULT 0 CHECK (acknowledged IN (0, 1)),
    acknowledged_at   TEXT
) STRICT, WITHOUT ROWID;
CREATE INDEX outbox_pending ON outbox (seq) WHERE acknowledged = 0;
CREATE INDEX outbox_patient ON outbox (patient_server_id, created_at);

-- Badge verifiers cached for offline login: the keyed hash of a badge, whose
-- user it is, that user's PIN hash, and the lockout counter.
CREATE TABLE badge_verifiers (
    badge_hash      BLOB PRIMARY KEY NOT NULL,
    user_id         INTEGER NOT NULL,
    pin_hash        TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    locked_until    TEXT,
    updated_at      TEXT NOT NULL
) STRICT;
CREATE INDEX badge_verifiers_user ON badge_verifiers (user_id);

-- Where each sync stream stopped (roster, verifiers, policy, ...).
CREATE TABLE sync_cursors (
    stream     TEXT PRIMARY KEY NOT NULL,
    cursor     TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- Audit events recorded on the device, uploaded with the next sync.
CREATE TABLE audit_queue (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    occurred_at   TEXT NOT NULL,
    actor_user_id INTEGER,
    action        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT,
    outcome       TEXT NOT NULL CHECK (outcome IN ('success', 'denied')),
    detail        TEXT CHECK (detail IS NULL OR json_valid(detail)),
    sent_at       TEXT
) STRICT;
CREATE INDEX audit_queue_unsent ON audit_queue (id) WHERE sent_at IS NULL;
