-- Family portal (the facility feature `family_portal`): staff issue visitor
-- codes for a resident and publish updates meant for family; a family member
-- checks in on a kiosk of the facility with a code and gets a short session
-- that can read only those updates and leave a message for the care team.
--
-- Visitor codes are 8 digits (typed on a touch keypad) and stored only as
-- SHA-256 over "tend-visitor-v1\n" || facility id || "\n" || the digits, so a
-- code is only ever valid at its own facility. Eight digits are a small space:
-- what protects them online is the per-device limit on wrong codes, their
-- short life (at most 90 days) and revocation.
--
-- Family sessions are bearer tokens (prefix `tfam_`) stored as SHA-256, like
-- user and device tokens, in a table the API role cannot read; they are
-- looked up through a narrow function and never accepted where a user or a
-- device token is expected.

CREATE TABLE visitor_codes (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    facility_id     bigint NOT NULL,
    patient_id      bigint NOT NULL REFERENCES patients (id),
    code_hash       bytea NOT NULL CHECK (length(code_hash) = 32),
    -- The last two digits, to tell codes apart in staff lists.
    code_hint       text NOT NULL CHECK (code_hint ~ '^[0-9]{2}$'),
    visitor_name    text NOT NULL CHECK (length(btrim(visitor_name)) BETWEEN 1 AND 100),
    relationship    text CHECK (length(btrim(relationship)) BETWEEN 1 AND 60),
    expires_at      timestamptz NOT NULL,
    last_used_at    timestamptz,
    created_by      bigint REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz,
    revoked_by      bigint REFERENCES users (id),
    FOREIGN KEY (facility_id, organization_id) REFERENCES facilities (id, organization_id) ON UPDATE CASCADE
);
CREATE UNIQUE INDEX visitor_codes_active_hash_key ON visitor_codes (facility_id, code_hash) WHERE revoked_at IS NULL;
CREATE INDEX visitor_codes_patient_idx ON visitor_codes (patient_id, id);
CREATE INDEX visitor_codes_organization_idx ON visitor_codes (organization_id);
CREATE INDEX visitor_codes_created_by_idx ON visitor_codes (created_by);
CREATE INDEX visitor_codes_revoked_by_idx ON visitor_codes (revoked_by);

-- What staff explicitly share with a resident's family. Append-only: a
-- correction is a new update.
CREATE TABLE family_updates (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    facility_id     bigint NOT NULL,
    patient_id      bigint NOT NULL REFERENCES patients (id),
    kind            text NOT NULL CHECK (kind IN ('day_summary', 'activity', 'message')),
    body            text NOT NULL CHECK (length(btrim(body)) BETWEEN 1 AND 2000),
    created_by      bigint NOT NULL REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (facility_id, organization_id) REFERENCES facilities (id, organization_id) ON UPDATE CASCADE
);
CREATE INDEX family_updates_patient_idx ON family_updates (patient_id, created_at DESC);
CREATE INDEX family_updates_facility_idx ON family_updates (facility_id, id);
CREATE INDEX family_updates_organization_idx ON family_updates (organization_id);
CREATE INDEX family_updates_created_by_idx ON family_updates (created_by);

-- Messages family leave for the care team, through a visitor code.
CREATE TABLE family_messages (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    facility_id     bigint NOT NULL,
    patient_id      bigint NOT NULL REFERENCES patients (id),
    visitor_code_id bigint NOT NULL REFERENCES visitor_codes (id),
    device_id       bigint REFERENCES devices (id),
    body            text NOT NULL CHECK (length(btrim(body)) BETWEEN 1 AND 2000),
    created_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (facility_id, organization_id) REFERENCES facilities (id, organization_id) ON UPDATE CASCADE
);
CREATE INDEX family_messages_patient_idx ON family_messages (patient_id, id);
CREATE INDEX family_messages_facility_idx ON family_messages (facility_id, id);
CREATE INDEX family_messages_organization_idx ON family_messages (organization_id);
CREATE INDEX family_messages_code_idx ON family_messages (visitor_code_id);
CREATE INDEX family_messages_device_idx ON family_messages (device_id);

CREATE TABLE family_sessions (
    token_hash      bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    visitor_code_id bigint NOT NULL REFERENCES visitor_codes (id),
    device_id       bigint NOT NULL REFERENCES devices (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL
);
CREATE INDEX family_sessions_code_idx ON family_sessions (visitor_code_id);
CREATE INDEX family_sessions_device_idx ON family_sessions (device_id);

-- Row-level security ---------------------------------------------------------

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['visitor_codes', 'family_updates', 'family_messages'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format($p$
            CREATE POLICY %I ON %I
            USING (tend_scope() = 'platform'
                OR (tend_scope() = 'organization' AND organization_id = tend_scope_organization())
                OR (tend_scope() = 'facility' AND facility_id = tend_scope_facility() AND organization_id = tend_scope_organization()))
            WITH CHECK (tend_scope() = 'platform'
                OR (tend_scope() = 'organization' AND organization_id = tend_scope_organization())
                OR (tend_scope() = 'facility' AND facility_id = tend_scope_facility() AND organization_id = tend_scope_organization()))
        $p$, t || '_scope', t);
    END LOOP;
END
$$;

ALTER TABLE family_sessions ENABLE ROW LEVEL SECURITY; -- no policy: owner only

CREATE FUNCTION tend_family_session_issue(p_token_hash bytea, p_visitor_code_id bigint, p_device_id bigint, p_ttl interval)
RETURNS timestamptz
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    INSERT INTO family_sessions (token_hash, visitor_code_id, device_id, expires_at)
    VALUES (p_token_hash, p_visitor_code_id, p_device_id, now() + p_ttl)
    RETURNING expires_at
$$;

-- A live session: its code still valid, its device still active, and the
-- family portal still on at the facility. Anything else: no row.
CREATE FUNCTION tend_family_session_lookup(p_token_hash bytea)
RETURNS TABLE (visitor_code_id bigint, patient_id bigint, organization_id bigint, facility_id bigint,
               device_id bigint, expires_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT c.id, c.patient_id, c.organization_id, c.facility_id, s.device_id, s.expires_at
    FROM family_sessions s
    JOIN visitor_codes c ON c.id = s.visitor_code_id
    JOIN devices d ON d.id = s.device_id
    JOIN facilities f ON f.id = c.facility_id
    JOIN organizations o ON o.id = c.organization_id
    WHERE s.token_hash = p_token_hash
      AND s.expires_at > now()
      AND c.revoked_at IS NULL AND c.expires_at > now()
      AND d.status = 'ACTIVE' AND d.is_active AND d.facility_id = c.facility_id
      AND f.is_active AND o.is_active
      AND coalesce((f.features ->> 'family_portal')::boolean, false)
$$;

-- Check-in runs with the device's scope but must match a hash the API role
-- cannot read: this returns, for one facility and one hash, the code (the
-- active one, else the most recently revoked) and what the decision needs.
CREATE FUNCTION tend_visitor_code_lookup(p_facility_id bigint, p_code_hash bytea)
RETURNS TABLE (visitor_code_id bigint, patient_id bigint, expires_at timestamptz, revoked boolean,
               patient_status text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT c.id, c.patient_id, c.expires_at, c.revoked_at IS NOT NULL, p.status
    FROM visitor_codes c JOIN patients p ON p.id = c.patient_id
    WHERE c.facility_id = p_facility_id AND c.code_hash = p_code_hash
    ORDER BY c.revoked_at IS NULL DESC, c.id DESC
    LIMIT 1
$$;

CREATE FUNCTION tend_family_session_end(p_token_hash bytea)
RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH r AS (
        UPDATE family_sessions SET expires_at = least(expires_at, now())
        WHERE token_hash = p_token_hash AND expires_at > now()
        RETURNING 1
    )
    SELECT EXISTS (SELECT 1 FROM r)
$$;

-- Privileges: codes can be revoked (updated) but not deleted; updates and
-- messages are append-only; the code hash is written but never read back.
REVOKE ALL ON visitor_codes, family_updates, family_messages, family_sessions FROM PUBLIC;
REVOKE ALL ON FUNCTION tend_family_session_issue(bytea, bigint, bigint, interval),
    tend_family_session_lookup(bytea), tend_family_session_end(bytea),
    tend_visitor_code_lookup(bigint, bytea) FROM PUBLIC;
GRANT INSERT, UPDATE ON visitor_codes TO tend_app;
GRANT SELECT (id, organization_id, facility_id, patient_id, code_hint, visitor_name, relationship, expires_at,
              last_used_at, created_by, created_at, revoked_at, revoked_by) ON visitor_codes TO tend_app;
GRANT SELECT, INSERT ON family_updates, family_messages TO tend_app;
GRANT EXECUTE ON FUNCTION tend_family_session_issue(bytea, bigint, bigint, interval),
    tend_family_session_lookup(bytea), tend_family_session_end(bytea),
    tend_visitor_code_lookup(bigint, bytea) TO tend_app;
