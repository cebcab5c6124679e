-- A tamper-evident audit log (issue 19, part 3). The append-only triggers
-- of 0001 stop the API's role, but the database owner can disable them
-- without a trace; this makes every change after the fact detectable.
--
-- Each audit event joins a hash chain: one per organization, and one for
-- events without an organization (platform-level), chain_key 0. An event
-- carries its sequence number in its chain, the previous event's hash and its
-- own hash:
--
--   hash = SHA-256( 'tend-audit-v1' || prev_hash || field(chain_key) ||
--                   field(chain_seq) || field(id) || field(at) ||
--                   field(actor_user_id) || field(actor_device_id) ||
--                   field(organization_id) || field(facility_id) ||
--                   field(action) || field(resource_type) ||
--                   field(resource_id) || field(outcome) ||
--                   field(cross_facility) || field(reason) ||
--                   field(client_address) )
--
-- field(v) is NULL → the four bytes ff ff ff ff; otherwise the UTF-8 text of
-- v prefixed with its length in bytes as a 4-byte big-endian integer.
-- Integers are in decimal, `at` is microseconds since the Unix epoch in
-- decimal, booleans are `true`/`false`. The first event's prev_hash is 32
-- zero bytes. The Rust verifier (`crates/tend-api/src/audit_chain.rs`)
-- recomputes this from the row's columns on its own: it never calls the
-- function below, which a database owner could replace.
--
-- The chain is computed in one place every writer passes through: a BEFORE
-- INSERT trigger that locks the chain's head row (audit_chain_heads), so
-- concurrent writers of one organization take turns from their insert to
-- their commit, and a rolled-back transaction leaves no gap. Other
-- organizations' writers are not held up.
--
-- Signed checkpoints (audit_checkpoints) record (chain, seq, hash, time),
-- signed by the server's Ed25519 key (0008), so cutting off the end of a
-- chain, or rewriting it with recomputed hashes, is detected too.
-- audit_verifications records each run of `tend-api audit verify` (and of
-- the console's "verify now") for the console to show.

ALTER TABLE audit_events
    ADD COLUMN chain_key bigint GENERATED ALWAYS AS (coalesce(organization_id, 0)) STORED,
    ADD COLUMN chain_seq bigint,
    ADD COLUMN prev_hash bytea,
    ADD COLUMN hash      bytea;

-- The head of each chain: its last sequence number and hash. The API's role
-- has no grant; only the trigger (SECURITY DEFINER) moves it.
CREATE TABLE audit_chain_heads (
    chain_key bigint PRIMARY KEY,
    seq       bigint NOT NULL CHECK (seq >= 0),
    hash      bytea NOT NULL CHECK (octet_length(hash) = 32)
) WITH (fillfactor = 50); -- room for HOT updates: every audit insert moves a head

-- STABLE, not IMMUTABLE: convert_to is STABLE, and PostgreSQL never inlines
-- an IMMUTABLE SQL function whose body is not; run as a function instead, it
-- tripled the trigger's cost (0.21 ms against 0.08 ms per insert).
CREATE FUNCTION tend_audit_field(v text) RETURNS bytea
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN v IS NULL THEN '\xffffffff'::bytea
                      ELSE int4send(octet_length(v)) || convert_to(v, 'UTF8') END $$;

-- The canonical content of an event (see the header); used by the trigger
-- and the migration below only.
CREATE FUNCTION tend_audit_hash(e audit_events, p_chain_key bigint, p_seq bigint, p_prev bytea)
RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT sha256(convert_to('tend-audit-v1', 'UTF8') || p_prev
        || tend_audit_field(p_chain_key::text)
        || tend_audit_field(p_seq::text)
        || tend_audit_field(e.id::text)
        || tend_audit_field((extract(epoch FROM e.at) * 1000000)::bigint::text)
        || tend_audit_field(e.actor_user_id::text)
        || tend_audit_field(e.actor_device_id::text)
        || tend_audit_field(e.organization_id::text)
        || tend_audit_field(e.facility_id::text)
        || tend_audit_field(e.action)
        || tend_audit_field(e.resource_type)
        || tend_audit_field(e.resource_id::text)
        || tend_audit_field(e.outcome)
        || tend_audit_field(CASE WHEN e.cross_facility THEN 'true' ELSE 'false' END)
        || tend_audit_field(e.reason)
        || tend_audit_field(e.client_address))
$$;

-- Chain the existing rows, in id order within each chain.
ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update;
DO $$
DECLARE
    r audit_events;
    k bigint;
    last_key bigint := NULL;
    s bigint := 0;
    prev bytea;
    h bytea;
BEGIN
    FOR r IN SELECT * FROM audit_events ORDER BY coalesce(organization_id, 0), id LOOP
        k := coalesce(r.organization_id, 0);
        IF last_key IS DISTINCT FROM k THEN
            IF last_key IS NOT NULL THEN
                INSERT INTO audit_chain_heads (chain_key, seq, hash) VALUES (last_key, s, prev);
            END IF;
            last_key := k;
            s := 0;
            prev := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
        END IF;
        s := s + 1;
        h := tend_audit_hash(r, k, s, prev);
        UPDATE audit_events SET chain_seq = s, prev_hash = prev, hash = h WHERE id = r.id;
        prev := h;
    END LOOP;
    IF last_key IS NOT NULL THEN
        INSERT INTO audit_chain_heads (chain_key, seq, hash) VALUES (last_key, s, prev);
    END IF;
END
$$;
ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update;

ALTER TABLE audit_events
    ALTER COLUMN chain_seq SET NOT NULL,
    ALTER COLUMN prev_hash SET NOT NULL,
    ALTER COLUMN hash SET NOT NULL;
-- The verifier walks each chain in this order.
CREATE UNIQUE INDEX audit_events_chain_idx ON audit_events (chain_key, chain_seq);

-- search_path puts pg_temp last, so a caller's temporary table or type
-- cannot stand in for ours (the names are qualified as well).
CREATE FUNCTION audit_events_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    k bigint := coalesce(NEW.organization_id, 0);
    head_seq bigint;
    head_hash bytea;
BEGIN
    SELECT h.seq, h.hash INTO head_seq, head_hash FROM public.audit_chain_heads h
    WHERE h.chain_key = k FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO public.audit_chain_heads (chain_key, seq, hash)
        VALUES (k, 0, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
        ON CONFLICT (chain_key) DO NOTHING;
        SELECT h.seq, h.hash INTO head_seq, head_hash FROM public.audit_chain_heads h
        WHERE h.chain_key = k FOR UPDATE;
    END IF;
    NEW.chain_seq := head_seq + 1;
    NEW.prev_hash := head_hash;
    NEW.hash := public.tend_audit_hash(NEW, k, NEW.chain_seq, head_hash);
    UPDATE public.audit_chain_heads SET seq = NEW.chain_seq, hash = NEW.hash WHERE chain_key = k;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_events_chain BEFORE INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_chain();

-- Signed checkpoints: the server signs
--   'tend-audit-checkpoint-v1' LF chain_key LF seq LF hex(hash) LF
--   signed_at (microseconds since the epoch) LF key_id
-- with its Ed25519 key. Append-only like the events.
CREATE TABLE audit_checkpoints (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chain_key       bigint NOT NULL,
    organization_id bigint REFERENCES organizations (id),
    seq             bigint NOT NULL CHECK (seq >= 1),
    hash            bytea NOT NULL CHECK (octet_length(hash) = 32),
    signed_at       timestamptz NOT NULL,
    key_id          text NOT NULL,
    signature       bytea NOT NULL CHECK (octet_length(signature) = 64),
    UNIQUE (chain_key, seq)
);
CREATE INDEX audit_checkpoints_organization_idx ON audit_checkpoints (organization_id);
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_events_immutable();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_immutable();

-- Chains whose head moved past their last checkpoint (the checkpoint task
-- runs without a tenant scope, so it reads heads through this).
CREATE FUNCTION tend_audit_checkpoints_due()
RETURNS TABLE (chain_key bigint, seq bigint, hash bytea)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT h.chain_key, h.seq, h.hash FROM audit_chain_heads h
    WHERE h.seq > coalesce((SELECT max(c.seq) FROM audit_checkpoints c WHERE c.chain_key = h.chain_key), 0)
    ORDER BY h.chain_key
$$;

-- One chain's head, for a verification inside a tenant scope (the API's
-- role cannot read audit_chain_heads itself).
CREATE FUNCTION tend_audit_chain_head(p_chain_key bigint)
RETURNS TABLE (seq bigint, hash bytea)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT h.seq, h.hash FROM audit_chain_heads h
    WHERE h.chain_key = p_chain_key
      AND (tend_scope() = 'platform'
           OR (tend_scope() IN ('organization', 'facility') AND p_chain_key = tend_scope_organization()))
$$;

CREATE FUNCTION tend_audit_checkpoint_store(p_chain_key bigint, p_seq bigint, p_hash bytea,
                                            p_signed_at timestamptz, p_key_id text, p_signature bytea)
RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH stored AS (
        INSERT INTO audit_checkpoints (chain_key, organization_id, seq, hash, signed_at, key_id, signature)
        VALUES (p_chain_key, nullif(p_chain_key, 0), p_seq, p_hash, p_signed_at, p_key_id, p_signature)
        ON CONFLICT (chain_key, seq) DO NOTHING
        RETURNING 1
    )
    SELECT EXISTS (SELECT 1 FROM stored)
$$;

-- Each verification run, per chain: the console shows the latest.
CREATE TABLE audit_verifications (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chain_key           bigint NOT NULL,
    organization_id     bigint REFERENCES organizations (id),
    started_at          timestamptz NOT NULL,
    finished_at         timestamptz NOT NULL DEFAULT now(),
    intact              boolean NOT NULL,
    events_checked      bigint NOT NULL,
    checkpoints_checked bigint NOT NULL,
    -- The last event found intact (the run's reach).
    last_seq            bigint,
    last_event_id       bigint,
    -- The first broken event, when not intact (no id when it is missing).
    broken_seq          bigint,
    broken_event_id     bigint,
    problem             text,
    -- 'cli', or the user who asked in the console.
    run_by_user_id      bigint REFERENCES users (id)
);
CREATE INDEX audit_verifications_chain_idx ON audit_verifications (chain_key, id);
CREATE INDEX audit_verifications_organization_idx ON audit_verifications (organization_id, id);
CREATE INDEX audit_verifications_run_by_idx ON audit_verifications (run_by_user_id);

ALTER TABLE audit_checkpoints ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_checkpoints_scope ON audit_checkpoints
    USING (tend_scope() = 'platform'
        OR (tend_scope() IN ('organization', 'facility') AND organization_id = tend_scope_organization()));

ALTER TABLE audit_verifications ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_verifications_scope ON audit_verifications
    USING (tend_scope() = 'platform'
        OR (tend_scope() IN ('organization', 'facility') AND organization_id = tend_scope_organization()))
    WITH CHECK (tend_scope() = 'platform'
        OR (tend_scope() = 'organization' AND organization_id = tend_scope_organization()));

REVOKE ALL ON audit_chain_heads, audit_checkpoints, audit_verifications FROM PUBLIC;
REVOKE ALL ON FUNCTION tend_audit_field(text), tend_audit_hash(audit_events, bigint, bigint, bytea),
    tend_audit_chain_head(bigint), tend_audit_checkpoints_due(),
    tend_audit_checkpoint_store(bigint, bigint, bytea, timestamptz, text, bytea) FROM PUBLIC;
GRANT SELECT ON audit_checkpoints TO tend_app;
GRANT SELECT, INSERT ON audit_verifications TO tend_app;
GRANT EXECUTE ON FUNCTION tend_audit_chain_head(bigint), tend_audit_checkpoints_due(),
    tend_audit_checkpoint_store(bigint, bigint, bytea, timestamptz, text, bytea) TO tend_app;
