-- Record authorship: who had a session on which device, and when. A record a
-- device pushes names its author; the server accepts it only when that user
-- had a session on that device at the record's time (see `api::sync`'s
-- authorship check). A session starts with an online badge login through the
-- device, a password login the device made with its device token, or an
-- offline login the device reported in its outbox; it covers the record's
-- time until `ends_at` (the session token's expiry, or for an offline login
-- the same lifetime counted from the login).
CREATE TABLE device_sessions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    facility_id     bigint NOT NULL,
    device_id       bigint NOT NULL REFERENCES devices (id),
    user_id         bigint NOT NULL REFERENCES users (id),
    method          text NOT NULL CHECK (method IN ('badge', 'password', 'offline')),
    -- On the server's clock (an offline login's device time corrected by the
    -- clock offset measured when it was pushed).
    started_at      timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    CHECK (ends_at > started_at),
    FOREIGN KEY (facility_id, organization_id) REFERENCES facilities (id, organization_id) ON UPDATE CASCADE
);
-- The push asks: sessions of these users on this device around these times.
CREATE INDEX device_sessions_lookup_idx ON device_sessions (device_id, user_id, started_at);
CREATE INDEX device_sessions_user_idx ON device_sessions (user_id);
CREATE INDEX device_sessions_facility_idx ON device_sessions (facility_id);
CREATE INDEX device_sessions_organization_idx ON device_sessions (organization_id);

ALTER TABLE device_sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY device_sessions_scope ON device_sessions
    USING (tend_scope() = 'platform'
        OR (tend_scope() = 'organization' AND organization_id = tend_scope_organization())
        OR (tend_scope() = 'facility' AND facility_id = tend_scope_facility() AND organization_id = tend_scope_organization()))
    WITH CHECK (tend_scope() = 'platform'
        OR (tend_scope() = 'organization' AND organization_id = tend_scope_organization())
        OR (tend_scope() = 'facility' AND facility_id = tend_scope_facility() AND organization_id = tend_scope_organization()));

-- Append-only for the API, like the records it vouches for.
REVOKE ALL ON device_sessions FROM PUBLIC;
GRANT SELECT, INSERT ON device_sessions TO tend_app;
