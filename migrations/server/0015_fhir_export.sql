-- FHIR bulk data export ($export): asynchronous jobs and their NDJSON files.
-- Instances are stateless, so a job lives here: whichever instance answers the
-- status request reads it, and the instance that runs the job touches
-- `updated_at` as it writes, so a job whose instance died is recognized as
-- interrupted. Only the user who started a job sees it and its files (the
-- files are clinical data). Jobs expire after a day; expired ones are deleted
-- when new ones start.
CREATE TABLE fhir_export_jobs (
    id               uuid PRIMARY KEY,
    -- The scope the export ran in (the requester's) and its bounds.
    scope            text NOT NULL CHECK (scope IN ('platform', 'organization', 'facility')),
    organization_id  bigint REFERENCES organizations (id),
    facility_id      bigint REFERENCES facilities (id),
    requested_by     bigint NOT NULL REFERENCES users (id),
    -- The kick-off URL as requested (for the manifest's `request`).
    request          text NOT NULL,
    types            text[] NOT NULL,
    since            timestamptz,
    status           text NOT NULL DEFAULT 'running'
                     CHECK (status IN ('running', 'done', 'failed', 'cancelled')),
    progress         text,
    error            text,
    transaction_time timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz,
    expires_at       timestamptz NOT NULL
);
CREATE INDEX fhir_export_jobs_requester_idx ON fhir_export_jobs (requested_by);
CREATE INDEX fhir_export_jobs_expiry_idx ON fhir_export_jobs (expires_at);
-- Every foreign key indexed (deleting an organization or facility checks them).
CREATE INDEX fhir_export_jobs_organization_idx ON fhir_export_jobs (organization_id);
CREATE INDEX fhir_export_jobs_facility_idx ON fhir_export_jobs (facility_id);

CREATE TABLE fhir_export_files (
    job_id        uuid NOT NULL REFERENCES fhir_export_jobs (id) ON DELETE CASCADE,
    -- `Observation-2.ndjson`
    name          text NOT NULL CHECK (name ~ '^[A-Za-z]+-[0-9]+\.ndjson$'),
    resource_type text NOT NULL,
    count         integer NOT NULL CHECK (count > 0),
    body          bytea NOT NULL,
    PRIMARY KEY (job_id, name)
);

ALTER TABLE fhir_export_jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY fhir_export_jobs_owner ON fhir_export_jobs
    USING (requested_by = nullif(current_setting('tend.user_id', true), '')::bigint)
    WITH CHECK (requested_by = nullif(current_setting('tend.user_id', true), '')::bigint);
ALTER TABLE fhir_export_files ENABLE ROW LEVEL SECURITY;
CREATE POLICY fhir_export_files_owner ON fhir_export_files
    USING (EXISTS (SELECT 1 FROM fhir_export_jobs j WHERE j.id = job_id))
    WITH CHECK (EXISTS (SELECT 1 FROM fhir_export_jobs j WHERE j.id = job_id));

REVOKE ALL ON fhir_export_jobs, fhir_export_files FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON fhir_export_jobs, fhir_export_files TO tend_app;

-- Deletes every expired job (and its files), whoever started it: the API
-- calls it when a job starts, so nobody's old exports linger.
CREATE FUNCTION tend_fhir_export_sweep() RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DELETE FROM fhir_export_jobs WHERE expires_at < now();
$$;
REVOKE ALL ON FUNCTION tend_fhir_export_sweep() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tend_fhir_export_sweep() TO tend_app;
