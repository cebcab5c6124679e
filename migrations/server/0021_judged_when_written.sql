-- A record written offline is judged by the state when it was written, not
-- when it arrives: an author deactivated since, or a resident moved to another
-- facility since, does not make a note written before that a forgery. For
-- that the server keeps when a user was deactivated and when a resident left a
-- facility.

ALTER TABLE users ADD COLUMN deactivated_at timestamptz;
-- Accounts deactivated before this migration: their last change is the best
-- knowledge of when.
UPDATE users SET deactivated_at = updated_at WHERE NOT is_active;

CREATE FUNCTION tend_users_deactivated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.is_active IS DISTINCT FROM OLD.is_active THEN
        NEW.deactivated_at := CASE WHEN NEW.is_active THEN NULL ELSE now() END;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER users_deactivated_at BEFORE UPDATE OF is_active ON users
    FOR EACH ROW EXECUTE FUNCTION tend_users_deactivated_at();

-- Every move of a resident between facilities of an organization.
CREATE TABLE patient_moves (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id       bigint NOT NULL REFERENCES patients (id),
    organization_id  bigint NOT NULL REFERENCES organizations (id),
    from_facility_id bigint NOT NULL REFERENCES facilities (id),
    to_facility_id   bigint NOT NULL REFERENCES facilities (id),
    moved_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX patient_moves_patient_idx ON patient_moves (patient_id, moved_at);
CREATE INDEX patient_moves_organization_idx ON patient_moves (organization_id);
CREATE INDEX patient_moves_from_idx ON patient_moves (from_facility_id, patient_id);
CREATE INDEX patient_moves_to_idx ON patient_moves (to_facility_id);
ALTER TABLE patient_moves ENABLE ROW LEVEL SECURITY;
CREATE POLICY patient_moves_scope ON patient_moves
    USING (tend_scope() = 'platform'
        OR (tend_scope() = 'organization' AND organization_id = tend_scope_organization())
        OR (tend_scope() = 'facility' AND organization_id = tend_scope_organization()
            AND tend_scope_facility() IN (from_facility_id, to_facility_id)));
REVOKE ALL ON patient_moves FROM PUBLIC;

-- Written by the owner whatever role moved the resident.
CREATE FUNCTION tend_patient_moves_record() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.facility_id IS DISTINCT FROM OLD.facility_id THEN
        INSERT INTO patient_moves (patient_id, organization_id, from_facility_id, to_facility_id)
        VALUES (NEW.id, NEW.organization_id, OLD.facility_id, NEW.facility_id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER patients_moves AFTER UPDATE OF facility_id ON patients
    FOR EACH ROW EXECUTE FUNCTION tend_patient_moves_record();

-- The author check of a push also needs when an author was deactivated.
DROP FUNCTION tend_sync_author_lookup(bigint, bigint[]);
CREATE FUNCTION tend_sync_author_lookup(p_organization_id bigint, p_user_ids bigint[])
RETURNS TABLE (user_id bigint, facility_id bigint, role text, is_active boolean, deactivated_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT u.id, u.facility_id, u.role, u.is_active, u.deactivated_at
    FROM users u
    WHERE u.organization_id = p_organization_id AND u.id = ANY (p_user_ids)
$$;

-- Residents among `p_patient_ids` who left `p_facility_id`, and when they last
-- left it (a push runs in the old facility's scope and no longer sees them).
CREATE FUNCTION tend_sync_patients_left(p_facility_id bigint, p_patient_ids bigint[])
RETURNS TABLE (patient_id bigint, left_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT m.patient_id, max(m.moved_at)
    FROM patient_moves m
    WHERE m.from_facility_id = p_facility_id AND m.patient_id = ANY (p_patient_ids)
    GROUP BY m.patient_id
$$;

REVOKE ALL ON FUNCTION tend_users_deactivated_at(), tend_patient_moves_record(),
    tend_sync_author_lookup(bigint, bigint[]), tend_sync_patients_left(bigint, bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tend_sync_author_lookup(bigint, bigint[]),
    tend_sync_patients_left(bigint, bigint[]) TO tend_app;
