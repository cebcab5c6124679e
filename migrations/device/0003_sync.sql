-- Device vault schema v3: background sync (protocol 1). The device's own
-- timeline of clinical records, the outbox with a state per operation (a
-- rejected one is kept for people to see, never resent, never blocking the
-- queue), the facility's staff, badges and settings as pulled, and the sync
-- bookkeeping the status bar and the heartbeat report.

-- The outbox again, with a state instead of `acknowledged`: 'pending' is
-- uploaded in `seq` order, 'synced' the server has (new or duplicate),
-- 'rejected' the server refused for good (code and reason kept).
-- `payload` is the operation's payload as sent (`OperationPayload` JSON).
CREATE TABLE outbox_v3 (
    id                TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    seq               INTEGER NOT NULL UNIQUE CHECK (seq > 0),
    kind              TEXT NOT NULL,
    patient_server_id INTEGER,
    author_user_id    INTEGER,
    payload           TEXT NOT NULL CHECK (json_valid(payload)),
    created_at        TEXT NOT NULL,
    state             TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'synced', 'rejected')),
    upload_attempts   INTEGER NOT NULL DEFAULT 0 CHECK (upload_attempts >= 0),
    last_error        TEXT,
    synced_at         TEXT,
    rejection_code    TEXT,
    rejection_reason  TEXT,
    CHECK ((state = 'rejected') = (rejection_code IS NOT NULL))
) STRICT, WITHOUT ROWID;
INSERT INTO outbox_v3 (id, seq, kind, patient_server_id, author_user_id, payload, created_at,
                       state, upload_attempts, last_error, synced_at)
    SELECT id, seq, kind, patient_server_id, author_user_id, payload, created_at,
           CASE acknowledged WHEN 1 THEN 'synced' ELSE 'pending' END,
           upload_attempts, last_error, acknowledged_at
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v3 RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox (seq) WHERE state = 'pending';
-- Status counts read only what is not synced, however long the history.
CREATE INDEX outbox_unsynced ON outbox (state, created_at) WHERE state <> 'synced';
CREATE INDEX outbox_patient ON outbox (patient_server_id, created_at);

-- Clinical records of the device's timeline: those written here (pending
-- until the server has them) and those pulled for the facility's patients.
-- `recorded_at` is the writing device's clock; `occurred_at` the server's
-- (null until the server answered). `sort_at` orders timelines: the server's
-- `occurred_at` once known, before that `recorded_at` corrected by the last
-- measured clock offset — never the raw device clock once the server spoke.
-- No foreign key to the roster: a discharged patient's pending notes stay.
CREATE TABLE records (
    id               TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    patient_id       INTEGER NOT NULL,
    author_user_id   INTEGER NOT NULL,
    kind             TEXT NOT NULL,
    body             TEXT NOT NULL CHECK (json_valid(body)),
    amends           TEXT CHECK (amends IS NULL OR length(amends) = 36),
    device_id        INTEGER,
    recorded_at      TEXT NOT NULL,
    occurred_at      TEXT,
    received_at      TEXT,
    sort_at          TEXT NOT NULL,
    written_here     INTEGER NOT NULL DEFAULT 0 CHECK (written_here IN (0, 1)),
    sync_state       TEXT NOT NULL CHECK (sync_state IN ('pending', 'synced', 'rejected')),
    rejection_code   TEXT,
    rejection_reason TEXT,
    CHECK ((sync_state = 'rejected') = (rejection_code IS NOT NULL))
) STRICT, WITHOUT ROWID;
CREATE INDEX records_patient_time ON records (patient_id, sort_at);
CREATE INDEX records_unsynced ON records (sync_state) WHERE sync_state <> 'synced';

-- The roster carries what the `Patient` wire type does.
ALTER TABLE roster_patients ADD COLUMN organization_id INTEGER;
ALTER TABLE roster_patients ADD COLUMN admitted_at TEXT;
ALTER TABLE roster_patients ADD COLUMN discharged_at TEXT;
ALTER TABLE roster_patients ADD COLUMN created_at TEXT;
ALTER TABLE roster_patients ADD COLUMN updated_at TEXT;

-- Staff of the facility (no credentials), for names on records and offline login.
CREATE TABLE staff (
    id          INTEGER PRIMARY KEY NOT NULL,
    full_name   TEXT NOT NULL,
    role        TEXT NOT NULL,
    employee_id TEXT NOT NULL,
    synced_at   TEXT NOT NULL
) STRICT;

-- Active badges of the facility's staff: the keyed hash (hex, under the
-- organization's badge key) and whose badge it is. Never a badge value.
CREATE TABLE badges (
    id         INTEGER PRIMARY KEY NOT NULL,
    user_id    INTEGER NOT NULL,
    badge_hash TEXT NOT NULL CHECK (length(badge_hash) BETWEEN 1 AND 128),
    synced_at  TEXT NOT NULL
) STRICT;
CREATE INDEX badges_hash ON badges (badge_hash);
CREATE INDEX badges_user ON badges (user_id);

-- The device's facility as last pulled (one row).
CREATE TABLE facility (
    id              INTEGER PRIMARY KEY NOT NULL,
    organization_id INTEGER NOT NULL,
    name            TEXT NOT NULL,
    facility_type   TEXT NOT NULL,
    timezone        TEXT NOT NULL,
    settings        TEXT NOT NULL CHECK (json_valid(settings)),
    features        TEXT NOT NULL CHECK (json_valid(features)),
    synced_at       TEXT NOT NULL
) STRICT;

-- Sync bookkeeping (one row): when the device last completed a sync, the
-- last failure in plain words and its code, the clock offset measured from
-- the server's answers, and the highest outbox sequence number ever used
-- (so numbers are never reused, even after synced rows are pruned).
CREATE TABLE sync_state (
    id                 INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    last_sync          TEXT,
    last_error_code    TEXT,
    last_error_message TEXT,
    last_error_at      TEXT,
    clock_offset_ms    INTEGER NOT NULL DEFAULT 0,
    last_seq           INTEGER NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    update_needed      INTEGER NOT NULL DEFAULT 0 CHECK (update_needed IN (0, 1))
) STRICT;
INSERT INTO sync_state (id, last_seq) SELECT 1, coalesce(max(seq), 0) FROM outbox;
