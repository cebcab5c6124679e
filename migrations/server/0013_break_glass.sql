-- Break-glass access (issue 19, part 4). In an emergency a clinician opens a
-- resident of another facility of the same organization: they state a
-- reason and get read access to that one resident (the patient row and its
-- clinical records) for the window of the resident's facility (facility
-- setting `break_glass_minutes`, 5–240, default 60). The grant ends by
-- itself: every check compares `expires_at` with the transaction's time.
--
-- Only reads widen, and only for the granting user: the SELECT policies below
-- are added next to the existing FOR ALL scope policies, so INSERT, UPDATE
-- (and SELECT … FOR UPDATE, which also needs the UPDATE policy) stay within
-- the caller's own scope. The one write that widens is appending the audit
-- rows of that access to the resident's facility's trail. The API's role cannot insert a grant directly: it
-- goes through tend_break_glass_open, which finds the resident inside the
-- caller's organization and writes the grant with the window and the names
-- of the moment. Administrators of either facility (and of the organization)
-- review grants; only the review columns are writable.

-- The caller the API named in tend_set_scope (NULL for device requests).
CREATE FUNCTION tend_user_id() RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('tend.user_id', true), '')::bigint $$;

CREATE TABLE break_glass_grants (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id    bigint NOT NULL REFERENCES organizations (id),
    -- The resident's facility.
    facility_id        bigint NOT NULL,
    patient_id         bigint NOT NULL REFERENCES patients (id),
    user_id            bigint NOT NULL REFERENCES users (id),
    -- The clinician's own facility when the grant was made.
    user_facility_id   bigint NOT NULL,
    -- Names at the time of the grant, for reviewers who cannot see the other
    -- facility's staff or the facility itself.
    user_name          text NOT NULL,
    facility_name      text NOT NULL,
    user_facility_name text NOT NULL,
    reason             text NOT NULL CHECK (char_length(btrim(reason)) BETWEEN 10 AND 500),
    granted_at         timestamptz NOT NULL DEFAULT now(),
    expires_at         timestamptz NOT NULL,
    reviewed_by        bigint REFERENCES users (id),
    reviewed_at        timestamptz,
    review_note        text CHECK (char_length(review_note) <= 1000),
    CHECK (expires_at > granted_at),
    CHECK (facility_id <> user_facility_id),
    CHECK ((reviewed_by IS NULL) = (reviewed_at IS NULL)),
    FOREIGN KEY (facility_id, organization_id) REFERENCES facilities (id, organization_id) ON UPDATE CASCADE,
    FOREIGN KEY (user_facility_id, organization_id) REFERENCES facilities (id, organization_id) ON UPDATE CASCADE
);
-- The read check: this user, this patient, not yet expired.
CREATE INDEX break_glass_grants_access_idx ON break_glass_grants (user_id, patient_id, expires_at);
-- The review queues of both facilities, newest first.
CREATE INDEX break_glass_grants_facility_idx ON break_glass_grants (facility_id, id);
CREATE INDEX break_glass_grants_user_facility_idx ON break_glass_grants (user_facility_id, id);
CREATE INDEX break_glass_grants_organization_idx ON break_glass_grants (organization_id, id);
CREATE INDEX break_glass_grants_unreviewed_idx ON break_glass_grants (facility_id) WHERE reviewed_at IS NULL;
CREATE INDEX break_glass_grants_unreviewed_user_facility_idx ON break_glass_grants (user_facility_id) WHERE reviewed_at IS NULL;
CREATE INDEX break_glass_grants_patient_idx ON break_glass_grants (patient_id);
CREATE INDEX break_glass_grants_reviewed_by_idx ON break_glass_grants (reviewed_by) WHERE reviewed_by IS NOT NULL;

-- Row-level security ---------------------------------------------------------

-- A grant is visible to its clinician, and within the scope of either of its
-- facilities (the API narrows by role: clinicians see their own only).
ALTER TABLE break_glass_grants ENABLE ROW LEVEL SECURITY;
CREATE POLICY break_glass_grants_scope ON break_glass_grants
    USING (tend_scope() = 'platform'
        OR (tend_scope() = 'organization' AND organization_id = tend_scope_organization())
        OR (tend_scope() = 'facility' AND organization_id = tend_scope_organization()
            AND (facility_id = tend_scope_facility() OR user_facility_id = tend_scope_facility()))
        OR (organization_id = tend_scope_organization() AND user_id = tend_user_id()))
    WITH CHECK (tend_scope() = 'platform'
        OR (tend_scope() = 'organization' AND organization_id = tend_scope_organization())
        OR (tend_scope() = 'facility' AND organization_id = tend_scope_organization()
            AND (facility_id = tend_scope_facility() OR user_facility_id = tend_scope_facility())));

-- Reads only: a facility-scoped caller also sees the patient, and its
-- records, that an unexpired grant of its own opens. Organization and
-- platform scopes see these rows already.
CREATE POLICY patients_break_glass ON patients FOR SELECT
    USING (tend_scope() = 'facility' AND organization_id = tend_scope_organization()
        AND EXISTS (SELECT 1 FROM break_glass_grants g
                    WHERE g.user_id = tend_user_id() AND g.patient_id = patients.id
                      AND g.expires_at > now()));

CREATE POLICY clinical_records_break_glass ON clinical_records FOR SELECT
    USING (tend_scope() = 'facility' AND organization_id = tend_scope_organization()
        AND EXISTS (SELECT 1 FROM break_glass_grants g
                    WHERE g.user_id = tend_user_id() AND g.patient_id = clinical_records.patient_id
                      AND g.expires_at > now()));

-- The audit rows of break-glass access belong to the resident's facility,
-- outside the clinician's scope: a facility-scoped caller may also append
-- (never read) its own grant and read events for a facility an unexpired
-- grant of its own opens.
CREATE POLICY audit_events_break_glass ON audit_events FOR INSERT
    WITH CHECK (tend_scope() = 'facility' AND organization_id = tend_scope_organization()
        AND actor_user_id = tend_user_id()
        AND action IN ('break_glass.grant', 'patient.read', 'patient.records.read')
        AND EXISTS (SELECT 1 FROM break_glass_grants g
                    WHERE g.user_id = tend_user_id() AND g.facility_id = audit_events.facility_id
                      AND g.expires_at > now()));

-- Opening ---------------------------------------------------------------------

-- Opens the resident with this exact MRN in facility p_facility_id for the
-- caller (tend.user_id) and returns the grant's id, or nothing when there is
-- no such resident in another facility of the caller's organization, or the
-- caller is not an active clinician of a facility-scoped session. Foreign
-- organizations, closed facilities and missing MRNs all look alike.
CREATE FUNCTION tend_break_glass_open(p_facility_id bigint, p_mrn text, p_reason text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_user users%ROWTYPE;
    v_patient_id bigint;
    v_facility facilities%ROWTYPE;
    v_own_facility_name text;
    v_minutes integer;
    v_id bigint;
BEGIN
    IF tend_scope() <> 'facility' THEN
        RETURN NULL;
    END IF;
    SELECT * INTO v_user FROM users u
    WHERE u.id = tend_user_id() AND u.is_active
      AND u.organization_id = tend_scope_organization() AND u.facility_id = tend_scope_facility()
      AND u.role IN ('RN', 'LPN', 'CNA', 'MED_TECH', 'THERAPIST', 'SOCIAL_WORKER');
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT * INTO v_facility FROM facilities f
    WHERE f.id = p_facility_id AND f.organization_id = v_user.organization_id
      AND f.is_active AND f.id <> v_user.facility_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT p.id INTO v_patient_id FROM patients p
    WHERE p.facility_id = v_facility.id AND p.mrn = p_mrn;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT f.name INTO v_own_facility_name FROM facilities f WHERE f.id = v_user.facility_id;
    -- The API validates the setting when a facility is saved; an older or
    -- hand-edited value outside the bounds falls back to the default.
    v_minutes := CASE
        WHEN jsonb_typeof(v_facility.settings -> 'break_glass_minutes') = 'number'
             AND (v_facility.settings ->> 'break_glass_minutes') ~ '^[0-9]+$'
             AND (v_facility.settings ->> 'break_glass_minutes')::numeric BETWEEN 5 AND 240
        THEN (v_facility.settings ->> 'break_glass_minutes')::integer
        ELSE 60 END;
    INSERT INTO break_glass_grants (organization_id, facility_id, patient_id, user_id, user_facility_id,
                                    user_name, facility_name, user_facility_name, reason, granted_at, expires_at)
    VALUES (v_user.organization_id, v_facility.id, v_patient_id, v_user.id, v_user.facility_id,
            v_user.full_name, v_facility.name, v_own_facility_name, btrim(p_reason),
            now(), now() + make_interval(mins => v_minutes))
    RETURNING id INTO v_id;
    RETURN v_id;
END
$$;

-- The facilities a clinician may open a resident of: the other active
-- facilities of their organization (id and name only; a facility-scoped
-- caller cannot read other facilities' rows).
CREATE FUNCTION tend_break_glass_facilities()
RETURNS TABLE (id bigint, name text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT f.id, f.name FROM facilities f
    WHERE tend_scope() = 'facility' AND f.organization_id = tend_scope_organization()
      AND f.id <> tend_scope_facility() AND f.is_active
    ORDER BY f.name, f.id
$$;

-- Privileges: the API reads grants in scope and writes only the review.
REVOKE ALL ON break_glass_grants FROM PUBLIC;
REVOKE ALL ON FUNCTION tend_user_id(), tend_break_glass_open(bigint, text, text),
    tend_break_glass_facilities() FROM PUBLIC;
GRANT SELECT ON break_glass_grants TO tend_app;
GRANT UPDATE (reviewed_by, reviewed_at, review_note) ON break_glass_grants TO tend_app;
GRANT EXECUTE ON FUNCTION tend_user_id(), tend_break_glass_open(bigint, text, text),
    tend_break_glass_facilities() TO tend_app;
