-- Device vault schema v2: device credentials apart from settings, upload
-- retry bookkeeping on the outbox, and the vault's own events (a database
-- recovered after it could not be opened) so they reach the server later.

-- Credentials the device holds (its API token, enrollment secret). Kept out of
-- device_settings so a settings dump can never include them.
CREATE TABLE device_credentials (
    name       TEXT PRIMARY KEY NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    secret     BLOB NOT NULL,
    issued_at  TEXT NOT NULL,
    expires_at TEXT
) STRICT;

ALTER TABLE outbox ADD COLUMN upload_attempts INTEGER NOT NULL DEFAULT 0 CHECK (upload_attempts >= 0);
ALTER TABLE outbox ADD COLUMN last_error TEXT;

CREATE TABLE vault_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    occurred_at TEXT NOT NULL,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL CHECK (json_valid(detail)),
    reported_at TEXT
) STRICT;
