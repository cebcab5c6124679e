-- Device identity: enrollment codes (stored hashed), self-registration,
-- clone flags, device tokens (stored hashed), heartbeat columns.

CREATE TABLE enrollment_codes (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    facility_id     bigint NOT NULL,
    -- SHA-256 of the normalized code (128 random bits: no salt or KDF needed).
    code_hash       bytea NOT NULL UNIQUE,
    -- The last group, so an admin can tell codes apart without the secret.
    code_hint       text NOT NULL,
    device_type     text CHECK (device_type IN ('RASPBERRY_PI', 'TABLET', 'LAPTOP', 'WORKSTATION', 'BADGE_READER')),
    max_uses        integer NOT NULL CHECK (max_uses BETWEEN 1 AND 10000),
    uses            integer NOT NULL DEFAULT 0 CHECK (uses >= 0 AND uses <= max_uses),
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    created_by      bigint REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (facility_id, organization_id) REFERENCES facilities (id, organization_id) ON UPDATE CASCADE
);
CREATE INDEX enrollment_codes_facility_idx ON enrollment_codes (facility_id, id);
CREATE INDEX enrollment_codes_organization_idx ON enrollment_codes (organization_id, id);
CREATE INDEX enrollment_codes_created_by_idx ON enrollment_codes (created_by);

ALTER TABLE enrollment_codes ENABLE ROW LEVEL SECURITY;
CREATE POLICY enrollment_codes_scope ON enrollment_codes
    USING (tend_scope() = 'platform'
        OR (tend_scope() = 'organization' AND organization_id = tend_scope_organization())
        OR (tend_scope() = 'facility' AND facility_id = tend_scope_facility() AND organization_id = tend_scope_organization()))
    WITH CHECK (tend_scope() = 'platform'
        OR (tend_scope() = 'organization' AND organization_id = tend_scope_organization())
        OR (tend_scope() = 'facility' AND facility_id = tend_scope_facility() AND organization_id = tend_scope_organization()));

ALTER TABLE devices
    ADD COLUMN os                   text,
    ADD COLUMN identity_source      text,
    ADD COLUMN enrollment_code_id   bigint REFERENCES enrollment_codes (id),
    -- Set when another machine presented this device_uuid with a different key.
    ADD COLUMN clone_suspected_at   timestamptz,
    -- What the last heartbeat said.
    ADD COLUMN encryption_posture   text CHECK (encryption_posture IN ('keyring', 'key_file', 'none')),
    ADD COLUMN pending_outbox       integer CHECK (pending_outbox >= 0),
    ADD COLUMN clock_offset_ms      bigint;
CREATE INDEX devices_enrollment_code_idx ON devices (enrollment_code_id);

-- Device tokens: SHA-256 of a random token, like user tokens. The API role
-- reaches them only through the SECURITY DEFINER functions below.
CREATE TABLE device_tokens (
    token_hash bytea PRIMARY KEY,
    device_id  bigint NOT NULL REFERENCES devices (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX device_tokens_device_idx ON device_tokens (device_id) WHERE revoked_at IS NULL;
ALTER TABLE device_tokens ENABLE ROW LEVEL SECURITY; -- no policy: owner only

-- Enrollment runs before any scope exists: these narrow lookups return only
-- what the enrollment decision needs; the writes then run under the scope
-- of the facility the code (or the pre-authorized device) belongs to.
CREATE FUNCTION tend_enrollment_code_lookup(p_code_hash bytea)
RETURNS TABLE (id bigint, organization_id bigint, facility_id bigint, device_type text,
               max_uses integer, uses integer, expires_at timestamptz, revoked_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT c.id, c.organization_id, c.facility_id, c.device_type, c.max_uses, c.uses, c.expires_at, c.revoked_at
    FROM enrollment_codes c
    JOIN facilities f ON f.id = c.facility_id
    JOIN organizations o ON o.id = c.organization_id
    WHERE c.code_hash = p_code_hash AND f.is_active AND o.is_active
$$;

CREATE FUNCTION tend_device_identity_lookup(p_device_uuid uuid)
RETURNS TABLE (id bigint, organization_id bigint, facility_id bigint, status text,
               is_active boolean, encryption_required boolean, identity_public_key text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT d.id, d.organization_id, d.facility_id, d.status, d.is_active, d.encryption_required,
           d.identity_public_key
    FROM devices d WHERE d.device_uuid = p_device_uuid
$$;

CREATE FUNCTION tend_device_token_issue(p_token_hash bytea, p_device_id bigint, p_ttl interval)
RETURNS timestamptz
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    INSERT INTO device_tokens (token_hash, device_id, expires_at)
    VALUES (p_token_hash, p_device_id, now() + p_ttl)
    RETURNING expires_at
$$;

-- Returns the token's device even when the token is revoked or expired, so
-- the API can tell a deactivated device (wipe) from a stale token.
CREATE FUNCTION tend_device_token_lookup(p_token_hash bytea)
RETURNS TABLE (device_id bigint, organization_id bigint, facility_id bigint, status text,
               is_active boolean, encryption_required boolean, expires_at timestamptz, revoked boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT d.id, d.organization_id, d.facility_id, d.status, d.is_active, d.encryption_required, t.expires_at,
           t.revoked_at IS NOT NULL
    FROM device_tokens t JOIN devices d ON d.id = t.device_id
    WHERE t.token_hash = p_token_hash
$$;

-- Called from the same transaction that deactivates the device (which the
-- caller could already see and change under its own scope).
CREATE FUNCTION tend_device_tokens_revoke(p_device_id bigint)
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH r AS (
        UPDATE device_tokens SET revoked_at = now()
        WHERE device_id = p_device_id AND revoked_at IS NULL
        RETURNING 1
    )
    SELECT count(*) FROM r
$$;

-- Heartbeats are flushed in batches by the API (one statement per flush).
-- Tenancy was checked when the device token was verified; the function only
-- ever touches the listed devices, and only their heartbeat columns.
CREATE FUNCTION tend_heartbeats_apply(
    p_ids bigint[], p_seen timestamptz[], p_versions text[], p_postures text[],
    p_outbox integer[], p_last_sync timestamptz[], p_oldest_pending timestamptz[],
    p_sync_errors boolean[], p_offsets bigint[])
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH h AS (
        SELECT * FROM unnest(p_ids, p_seen, p_versions, p_postures, p_outbox, p_last_sync,
                             p_oldest_pending, p_sync_errors, p_offsets)
            AS h(id, seen, version, posture, outbox, last_sync, oldest_pending, sync_errors, offset_ms)
    ), u AS (
        UPDATE devices d SET
            last_seen = greatest(d.last_seen, h.seen),
            app_version = coalesce(h.version, d.app_version),
            last_security_audit = CASE WHEN d.encryption_posture IS DISTINCT FROM h.posture
                                       THEN h.seen ELSE d.last_security_audit END,
            encryption_posture = h.posture,
            encryption_enabled = h.posture IN ('keyring', 'key_file'),
            pending_outbox = h.outbox,
            last_sync = h.last_sync,
            oldest_pending_since = h.oldest_pending,
            sync_errors = h.sync_errors,
            clock_offset_ms = h.offset_ms
        FROM h
        WHERE d.id = h.id AND d.status = 'ACTIVE' AND d.is_active
        RETURNING 1
    )
    SELECT count(*) FROM u
$$;

REVOKE ALL ON enrollment_codes, device_tokens FROM PUBLIC;
REVOKE ALL ON FUNCTION tend_enrollment_code_lookup(bytea), tend_device_identity_lookup(uuid),
    tend_device_token_issue(bytea, bigint, interval), tend_device_token_lookup(bytea),
    tend_device_tokens_revoke(bigint),
    tend_heartbeats_apply(bigint[], timestamptz[], text[], text[], integer[], timestamptz[],
                          timestamptz[], boolean[], bigint[]) FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON enrollment_codes TO tend_app;
GRANT EXECUTE ON FUNCTION tend_enrollment_code_lookup(bytea), tend_device_identity_lookup(uuid),
    tend_device_token_issue(bytea, bigint, interval), tend_device_token_lookup(bytea),
    tend_device_tokens_revoke(bigint),
    tend_heartbeats_apply(bigint[], timestamptz[], text[], text[], integer[], timestamptz[],
                          timestamptz[], boolean[], bigint[]) TO tend_app;
