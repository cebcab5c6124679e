-- Background sync (protocol 1, see tend_domain::wire::sync): clinical records
-- written on devices, the operation ids already applied (idempotent pushes),
-- patient versions (optimistic concurrency) and the per-facility change feed.
--
-- The change feed. Every row a device of a facility needs (the facility,
-- its patients, users, badges and clinical records) carries `change_seq`, its
-- position in that facility's feed, set by triggers on every insert and
-- every relevant update. Positions come from one sequence, but only while
-- holding a transaction-scoped lock on the facility: writers of one facility
-- take positions one after another, each after the previous one committed.
-- So in each facility's feed, positions grow in commit order: a reader whose
-- snapshot holds position N also holds every committed position below N, and
-- a cursor can never step over a change that commits later. (Positions of
-- other facilities fall in between; a feed has gaps, never reorderings.)
-- A row that leaves a facility (a user or patient moved elsewhere, a badge
-- following its user) leaves a tombstone at a new position of the facility it
-- left. Discharged or deceased patients, inactive users and revoked badges
-- stay in their tables and are served as removals.

CREATE SEQUENCE sync_change_seq AS bigint;

-- The next position of a facility's feed. The advisory lock (class 'tend',
-- the facility id) is held until the caller's transaction ends: that is the
-- ordering guarantee above. Taking it again in the same transaction is free.
CREATE FUNCTION tend_next_change_seq(p_facility_id bigint) RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT pg_advisory_xact_lock(1952804452, (p_facility_id % 2147483647)::integer);
    SELECT nextval('sync_change_seq');
$$;

CREATE TABLE sync_tombstones (
    organization_id bigint NOT NULL REFERENCES organizations (id),
    facility_id     bigint NOT NULL REFERENCES facilities (id),
    change_seq      bigint NOT NULL,
    -- What left: served as patient_removed, staff_removed or badge_revoked.
    entity          text NOT NULL CHECK (entity IN ('patient', 'user', 'badge')),
    entity_id       bigint NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility_id, change_seq)
);
CREATE INDEX sync_tombstones_organization_idx ON sync_tombstones (organization_id);

-- Existing rows get their first positions here; the triggers below continue.
ALTER TABLE facilities ADD COLUMN change_seq bigint;
ALTER TABLE patients ADD COLUMN change_seq bigint,
    -- Optimistic concurrency: bumped by every update (see the trigger below).
    ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version >= 1);
ALTER TABLE users ADD COLUMN change_seq bigint;
ALTER TABLE badges ADD COLUMN change_seq bigint;

UPDATE facilities SET change_seq = nextval('sync_change_seq');
UPDATE users SET change_seq = nextval('sync_change_seq');
UPDATE badges SET change_seq = nextval('sync_change_seq');
UPDATE patients SET change_seq = nextval('sync_change_seq');

ALTER TABLE facilities ALTER COLUMN change_seq SET NOT NULL;
ALTER TABLE patients ALTER COLUMN change_seq SET NOT NULL;
ALTER TABLE users ALTER COLUMN change_seq SET NOT NULL;
ALTER TABLE badges ALTER COLUMN change_seq SET NOT NULL;

-- The feed reads each table by (facility, position).
CREATE UNIQUE INDEX patients_feed_idx ON patients (facility_id, change_seq);
CREATE UNIQUE INDEX users_feed_idx ON users (facility_id, change_seq);
CREATE UNIQUE INDEX badges_feed_idx ON badges (facility_id, change_seq);

CREATE TABLE clinical_records (
    id              uuid PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    facility_id     bigint NOT NULL,
    patient_id      bigint NOT NULL REFERENCES patients (id),
    author_user_id  bigint NOT NULL REFERENCES users (id),
    device_id       bigint REFERENCES devices (id),
    kind            text NOT NULL CHECK (kind IN ('care_note', 'vital_signs', 'behavior_event',
                    'prn_administration', 'prn_follow_up', 'wandering_alert')),
    -- The RecordBody as JSON (its `kind` tag included).
    body            jsonb NOT NULL CHECK (jsonb_typeof(body) = 'object'),
    -- The device's clock.
    recorded_at     timestamptz NOT NULL,
    -- recorded_at shifted by the device's clock offset measured at upload.
    occurred_at     timestamptz NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    amends          uuid REFERENCES clinical_records (id),
    change_seq      bigint NOT NULL,
    FOREIGN KEY (facility_id, organization_id) REFERENCES facilities (id, organization_id) ON UPDATE CASCADE
);
CREATE UNIQUE INDEX clinical_records_feed_idx ON clinical_records (facility_id, change_seq);
-- A patient's timeline, newest first.
CREATE INDEX clinical_records_patient_idx ON clinical_records (patient_id, occurred_at DESC, id DESC);
CREATE INDEX clinical_records_organization_idx ON clinical_records (organization_id);
CREATE INDEX clinical_records_author_idx ON clinical_records (author_user_id);
CREATE INDEX clinical_records_device_idx ON clinical_records (device_id);
CREATE INDEX clinical_records_amends_idx ON clinical_records (amends) WHERE amends IS NOT NULL;

-- Every operation a device pushed and the server applied, by its id: a
-- replayed operation finds itself here and changes nothing.
CREATE TABLE sync_operations (
    id              uuid PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    facility_id     bigint NOT NULL REFERENCES facilities (id),
    device_id       bigint NOT NULL REFERENCES devices (id),
    -- The device's own counter.
    seq             bigint NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('record', 'audit')),
    applied_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sync_operations_device_idx ON sync_operations (device_id, seq);
CREATE INDEX sync_operations_facility_idx ON sync_operations (facility_id);
CREATE INDEX sync_operations_organization_idx ON sync_operations (organization_id);

-- Triggers ------------------------------------------------------------------

CREATE FUNCTION tend_feed_position() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    old_facility bigint;
    old_organization bigint;
    entity text;
BEGIN
    -- The facilities table is its own facility (and has no facility_id).
    IF TG_TABLE_NAME = 'facilities' THEN
        NEW.change_seq := tend_next_change_seq(NEW.id);
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'patients' THEN
        NEW.version := OLD.version + 1;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        old_facility := OLD.facility_id;
        old_organization := OLD.organization_id;
    END IF;
    IF old_facility IS NULL OR old_facility = NEW.facility_id THEN
        NEW.change_seq := tend_next_change_seq(NEW.facility_id);
        RETURN NEW;
    END IF;
    entity := CASE TG_TABLE_NAME WHEN 'patients' THEN 'patient' WHEN 'users' THEN 'user' ELSE 'badge' END;
    -- Moved: a tombstone where it was, a new position where it is. Facilities
    -- are locked in id order, so two opposite moves cannot deadlock.
    IF old_facility < NEW.facility_id THEN
        INSERT INTO sync_tombstones (organization_id, facility_id, change_seq, entity, entity_id)
        VALUES (old_organization, old_facility, tend_next_change_seq(old_facility), entity, OLD.id);
        NEW.change_seq := tend_next_change_seq(NEW.facility_id);
    ELSE
        NEW.change_seq := tend_next_change_seq(NEW.facility_id);
        INSERT INTO sync_tombstones (organization_id, facility_id, change_seq, entity, entity_id)
        VALUES (old_organization, old_facility, tend_next_change_seq(old_facility), entity, OLD.id);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER facilities_feed BEFORE INSERT ON facilities
    FOR EACH ROW EXECUTE FUNCTION tend_feed_position();
-- Only what devices receive moves a facility forward (not the census).
CREATE TRIGGER facilities_feed_update BEFORE UPDATE ON facilities FOR EACH ROW
    WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.facility_type IS DISTINCT FROM NEW.facility_type
          OR OLD.timezone IS DISTINCT FROM NEW.timezone OR OLD.settings IS DISTINCT FROM NEW.settings
          OR OLD.features IS DISTINCT FROM NEW.features OR OLD.is_active IS DISTINCT FROM NEW.is_active)
    EXECUTE FUNCTION tend_feed_position();

CREATE TRIGGER patients_feed BEFORE INSERT OR UPDATE ON patients
    FOR EACH ROW EXECUTE FUNCTION tend_feed_position();

CREATE TRIGGER users_feed BEFORE INSERT ON users
    FOR EACH ROW EXECUTE FUNCTION tend_feed_position();
-- Logins update users and badges (PIN counters, last login): those stay off the feed.
CREATE TRIGGER users_feed_update BEFORE UPDATE ON users FOR EACH ROW
    WHEN (OLD.full_name IS DISTINCT FROM NEW.full_name OR OLD.role IS DISTINCT FROM NEW.role
          OR OLD.employee_id IS DISTINCT FROM NEW.employee_id OR OLD.is_active IS DISTINCT FROM NEW.is_active
          OR OLD.facility_id IS DISTINCT FROM NEW.facility_id)
    EXECUTE FUNCTION tend_feed_position();

CREATE TRIGGER badges_feed BEFORE INSERT ON badges
    FOR EACH ROW EXECUTE FUNCTION tend_feed_position();
CREATE TRIGGER badges_feed_update BEFORE UPDATE ON badges FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.badge_hash IS DISTINCT FROM NEW.badge_hash
          OR OLD.facility_id IS DISTINCT FROM NEW.facility_id OR OLD.user_id IS DISTINCT FROM NEW.user_id)
    EXECUTE FUNCTION tend_feed_position();

-- A deactivated (or reactivated) user's badges are served as revoked (or
-- active again): give them new positions too.
CREATE FUNCTION tend_user_badges_follow() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE badges SET change_seq = tend_next_change_seq(facility_id)
    WHERE user_id = NEW.id AND revoked_at IS NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_badges_follow AFTER UPDATE ON users FOR EACH ROW
    WHEN (OLD.is_active IS DISTINCT FROM NEW.is_active)
    EXECUTE FUNCTION tend_user_badges_follow();

CREATE TRIGGER clinical_records_feed BEFORE INSERT ON clinical_records
    FOR EACH ROW EXECUTE FUNCTION tend_feed_position();

-- Row-level security ---------------------------------------------------------

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['clinical_records', 'sync_operations', 'sync_tombstones'] LOOP
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

-- A push runs under the device's facility scope, but a record's author may be
-- an organization admin of another facility: this narrow lookup returns, for
-- users of one organization, only what the author check needs.
CREATE FUNCTION tend_sync_author_lookup(p_organization_id bigint, p_user_ids bigint[])
RETURNS TABLE (user_id bigint, facility_id bigint, role text, is_active boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT u.id, u.facility_id, u.role, u.is_active
    FROM users u
    WHERE u.organization_id = p_organization_id AND u.id = ANY (p_user_ids)
$$;

-- How many feed rows of one facility follow a position (a number only): the
-- progress bar of an initial sync, without a row-level check per row. The
-- API passes the facility of the device token.
CREATE FUNCTION tend_sync_remaining(p_facility_id bigint, p_after bigint)
RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT (SELECT count(*) FROM patients WHERE facility_id = p_facility_id AND change_seq > p_after)
         + (SELECT count(*) FROM users WHERE facility_id = p_facility_id AND change_seq > p_after)
         + (SELECT count(*) FROM badges WHERE facility_id = p_facility_id AND change_seq > p_after)
         + (SELECT count(*) FROM sync_tombstones WHERE facility_id = p_facility_id AND change_seq > p_after)
         + (SELECT count(*) FROM clinical_records WHERE facility_id = p_facility_id AND change_seq > p_after)
$$;

-- Privileges: records and applied operations are append-only for the API;
-- tombstones are written only by the triggers above.
REVOKE ALL ON clinical_records, sync_operations, sync_tombstones FROM PUBLIC;
REVOKE ALL ON SEQUENCE sync_change_seq FROM PUBLIC;
REVOKE ALL ON FUNCTION tend_next_change_seq(bigint), tend_feed_position(),
    tend_user_badges_follow(), tend_sync_author_lookup(bigint, bigint[]),
    tend_sync_remaining(bigint, bigint) FROM PUBLIC;
GRANT SELECT, INSERT ON clinical_records, sync_operations TO tend_app;
GRANT SELECT ON sync_tombstones TO tend_app;
GRANT SELECT (change_seq) ON users TO tend_app;
GRANT EXECUTE ON FUNCTION tend_sync_author_lookup(bigint, bigint[]), tend_sync_remaining(bigint, bigint) TO tend_app;
