-- Tend central schema: organizations → facilities → devices, users, patients,
-- plus append-only audit events and hashed bearer tokens.
--
-- Tenant isolation has two layers. The API filters every query by the
-- caller's scope, and PostgreSQL row-level security enforces the same scope
-- from transaction-local settings the API sets at the start of each request:
--   tend.scope            'platform' | 'organization' | 'facility' (unset: nothing)
--   tend.organization_id  the caller's organization
--   tend.facility_id      the caller's facility
-- The API logs in as a member of the NOLOGIN role tend_app, which owns
-- nothing, cannot bypass RLS and has no DELETE anywhere.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tend_app') THEN
        CREATE ROLE tend_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
EXCEPTION
    -- Two databases migrating at once on one cluster race on the role.
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

-- Scope predicates, one per row shape. They are SQL (inlined by the planner)
-- and read the settings with missing_ok, so an unset scope matches nothing.
CREATE FUNCTION tend_scope() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(current_setting('tend.scope', true), '') $$;

CREATE FUNCTION tend_scope_organization() RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('tend.organization_id', true), '')::bigint $$;

CREATE FUNCTION tend_scope_facility() RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('tend.facility_id', true), '')::bigint $$;

CREATE TABLE organizations (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                 text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    organization_type    text NOT NULL CHECK (organization_type IN
                         ('HOME_HEALTH_AGENCY', 'ALF_OPERATOR', 'MEMORY_CARE_GROUP', 'SNF_CHAIN', 'MULTI_SITE_SYSTEM')),
    npi                  text CHECK (npi ~ '^[12][0-9]{9}$'),
    tax_id               text CHECK (tax_id ~ '^[0-9]{2}-[0-9]{7}$'),
    state_license_number text,
    license_state        text CHECK (license_state ~ '^[A-Z]{2}$'),
    settings             jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(settings) = 'object'),
    is_active            boolean NOT NULL DEFAULT true,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX organizations_npi_key ON organizations (npi) WHERE npi IS NOT NULL;

CREATE TABLE facilities (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id          bigint NOT NULL REFERENCES organizations (id),
    name                     text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    facility_type            text NOT NULL CHECK (facility_type IN ('HOME_HEALTH', 'ALF', 'MEMORY_CARE', 'SNF', 'HOSPICE')),
    medicaid_provider_number text,
    medicare_provider_number text,
    state_license_number     text,
    licensed_beds            integer CHECK (licensed_beds > 0),
    current_census           integer NOT NULL DEFAULT 0 CHECK (current_census >= 0),
    address                  text,
    timezone                 text NOT NULL DEFAULT 'America/New_York',
    settings                 jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(settings) = 'object'),
    features                 jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(features) = 'object'),
    is_active                boolean NOT NULL DEFAULT true,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    CHECK (licensed_beds IS NULL OR current_census <= licensed_beds),
    -- Target of the (facility_id, organization_id) foreign keys below, which
    -- make a child's organization always equal its facility's.
    UNIQUE (id, organization_id)
);
CREATE INDEX facilities_organization_id_idx ON facilities (organization_id, id);

CREATE TABLE users (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    facility_id     bigint NOT NULL,
    employee_id     text NOT NULL CHECK (length(btrim(employee_id)) BETWEEN 1 AND 64),
    username        text NOT NULL CHECK (username ~ '^[a-z0-9][a-z0-9._-]{2,63}$'),
    full_name       text NOT NULL CHECK (length(btrim(full_name)) BETWEEN 1 AND 200),
    email           text,
    role            text NOT NULL CHECK (role IN
                    ('RN', 'LPN', 'CNA', 'MED_TECH', 'THERAPIST', 'SOCIAL_WORKER', 'FACILITY_ADMIN', 'ORG_ADMIN', 'PLATFORM_ADMIN')),
    password_hash   text NOT NULL,
    is_active       boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (facility_id, organization_id) REFERENCES facilities (id, organization_id) ON UPDATE CASCADE,
    UNIQUE (organization_id, employee_id)
);
CREATE UNIQUE INDEX users_username_key ON users (username);
CREATE INDEX users_facility_id_idx ON users (facility_id, role) WHERE is_active;
CREATE INDEX users_facility_id_all_idx ON users (facility_id, id);

CREATE TABLE devices (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id      bigint NOT NULL REFERENCES organizations (id),
    facility_id          bigint NOT NULL,
    device_name          text NOT NULL CHECK (length(btrim(device_name)) BETWEEN 1 AND 200),
    device_type          text NOT NULL CHECK (device_type IN ('RASPBERRY_PI', 'TABLET', 'LAPTOP', 'WORKSTATION', 'BADGE_READER')),
    device_uuid          uuid NOT NULL UNIQUE,
    mac_address          macaddr,
    encryption_enabled   boolean NOT NULL DEFAULT false,
    encryption_required  boolean NOT NULL DEFAULT true,
    app_version          text,
    -- PENDING is for self-registration (a device asks, an admin approves);
    -- an admin-registered device starts ACTIVE.
    status               text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('PENDING', 'ACTIVE', 'REJECTED', 'DEACTIVATED')),
    is_active            boolean NOT NULL DEFAULT true,
    -- Device identity (filled at enrollment; used by heartbeat authentication).
    identity_public_key  text,
    enrolled_at          timestamptz,
    -- What heartbeats report, from which is_online and sync_status derive.
    last_seen            timestamptz,
    last_sync            timestamptz,
    oldest_pending_since timestamptz,
    sync_errors          boolean NOT NULL DEFAULT false,
    last_security_audit  timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (facility_id, organization_id) REFERENCES facilities (id, organization_id) ON UPDATE CASCADE
);
CREATE INDEX devices_facility_id_idx ON devices (facility_id, status, id);
CREATE INDEX devices_organization_id_idx ON devices (organization_id, id);

CREATE TABLE patients (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    facility_id     bigint NOT NULL,
    mrn             text NOT NULL CHECK (length(btrim(mrn)) BETWEEN 1 AND 64),
    first_name      text NOT NULL CHECK (length(btrim(first_name)) BETWEEN 1 AND 100),
    last_name       text NOT NULL CHECK (length(btrim(last_name)) BETWEEN 1 AND 100),
    date_of_birth   date NOT NULL,
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'on_leave', 'discharged', 'deceased')),
    room            text,
    admitted_at     timestamptz,
    discharged_at   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (facility_id, organization_id) REFERENCES facilities (id, organization_id) ON UPDATE CASCADE,
    UNIQUE (facility_id, mrn)
);
-- The list query: one facility, one status, keyset on id.
CREATE INDEX patients_facility_status_idx ON patients (facility_id, status, id);
CREATE INDEX patients_facility_name_idx ON patients (facility_id, lower(last_name) text_pattern_ops);
CREATE INDEX patients_organization_id_idx ON patients (organization_id, id);

CREATE TABLE audit_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    actor_user_id   bigint REFERENCES users (id),
    actor_device_id bigint REFERENCES devices (id),
    organization_id bigint REFERENCES organizations (id),
    facility_id     bigint REFERENCES facilities (id),
    action          text NOT NULL,
    resource_type   text NOT NULL,
    resource_id     bigint,
    outcome         text NOT NULL CHECK (outcome IN ('success', 'denied')),
    cross_facility  boolean NOT NULL DEFAULT false,
    reason          text,
    client_address  text
);
CREATE INDEX audit_events_organization_idx ON audit_events (organization_id, id);
CREATE INDEX audit_events_facility_idx ON audit_events (facility_id, id);
CREATE INDEX audit_events_actor_user_idx ON audit_events (actor_user_id, id);
CREATE INDEX audit_events_actor_device_idx ON audit_events (actor_device_id);

-- Append-only, even for the owner.
CREATE FUNCTION audit_events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END
$$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_immutable();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_immutable();

-- Bearer tokens, stored as SHA-256 of the random token. The API role cannot
-- touch this table; it goes through the SECURITY DEFINER functions below.
CREATE TABLE auth_tokens (
    token_hash bytea PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX auth_tokens_user_id_idx ON auth_tokens (user_id);

-- Row-level security ---------------------------------------------------------

ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
CREATE POLICY organizations_scope ON organizations
    USING (tend_scope() = 'platform' OR id = tend_scope_organization())
    WITH CHECK (tend_scope() = 'platform' OR id = tend_scope_organization());

ALTER TABLE facilities ENABLE ROW LEVEL SECURITY;
CREATE POLICY facilities_scope ON facilities
    USING (tend_scope() = 'platform'
        OR (tend_scope() = 'organization' AND organization_id = tend_scope_organization())
        OR (tend_scope() = 'facility' AND id = tend_scope_facility() AND organization_id = tend_scope_organization()))
    WITH CHECK (tend_scope() = 'platform'
        OR (tend_scope() = 'organization' AND organization_id = tend_scope_organization())
        OR (tend_scope() = 'facility' AND id = tend_scope_facility() AND organization_id = tend_scope_organization()));

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['users', 'devices', 'patients', 'audit_events'] LOOP
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

ALTER TABLE auth_tokens ENABLE ROW LEVEL SECURITY; -- no policy: no rows for anyone but the owner

-- Authentication happens before a scope exists, so it goes through these
-- narrow functions, which run as the owner and return only what login and
-- token checks need.
CREATE FUNCTION tend_login_lookup(p_username text)
RETURNS TABLE (user_id bigint, password_hash text, role text, organization_id bigint, facility_id bigint, is_active boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT u.id, u.password_hash, u.role, u.organization_id, u.facility_id,
           u.is_active AND o.is_active
    FROM users u JOIN organizations o ON o.id = u.organization_id
    WHERE u.username = p_username
$$;

CREATE FUNCTION tend_token_issue(p_token_hash bytea, p_user_id bigint, p_ttl interval)
RETURNS timestamptz
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    INSERT INTO auth_tokens (token_hash, user_id, expires_at)
    VALUES (p_token_hash, p_user_id, now() + p_ttl)
    RETURNING expires_at
$$;

CREATE FUNCTION tend_token_lookup(p_token_hash bytea)
RETURNS TABLE (user_id bigint, role text, organization_id bigint, facility_id bigint, expires_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT u.id, u.role, u.organization_id, u.facility_id, t.expires_at
    FROM auth_tokens t
    JOIN users u ON u.id = t.user_id
    JOIN organizations o ON o.id = u.organization_id
    WHERE t.token_hash = p_token_hash
      AND t.revoked_at IS NULL
      AND t.expires_at > now()
      AND u.is_active AND o.is_active
$$;

CREATE FUNCTION tend_token_revoke(p_token_hash bytea)
RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH r AS (
        UPDATE auth_tokens SET revoked_at = now()
        WHERE token_hash = p_token_hash AND revoked_at IS NULL
        RETURNING 1
    )
    SELECT EXISTS (SELECT 1 FROM r)
$$;

-- Privileges: read and write tenant rows, append audit events, never delete.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO tend_app;
GRANT SELECT, INSERT, UPDATE ON organizations, facilities, devices, patients TO tend_app;
-- Password hashes can be written but never read back through the API role.
GRANT INSERT, UPDATE ON users TO tend_app;
GRANT SELECT (id, organization_id, facility_id, employee_id, username, full_name, email, role,
              is_active, created_at, updated_at) ON users TO tend_app;
-- /readyz compares applied migrations with the embedded ones.
GRANT SELECT ON _sqlx_migrations TO tend_app;
GRANT SELECT, INSERT ON audit_events TO tend_app;
GRANT EXECUTE ON FUNCTION tend_scope(), tend_scope_organization(), tend_scope_facility(),
    tend_login_lookup(text), tend_token_issue(bytea, bigint, interval),
    tend_token_lookup(bytea), tend_token_revoke(bytea) TO tend_app;
