-- Occupancy over time: one row per change of a facility's census or licensed
-- beds, for the admin dashboard's chart (GET /api/facilities/{id}/census-history).
--
-- Rows are written by a trigger on facilities, so every path that changes the
-- census (the census update, facility create and update, the demo seed) adds
-- its row in the same transaction as the change, and none can forget to. The
-- trigger runs as the owner: the API role may read history (under row-level
-- security, like every tenant table) but never write or rewrite it. Who made
-- the change comes from the transaction-local setting `tend.user_id`, which
-- the API sets with the caller's scope; rows written outside a request
-- (seeding, migrations) have no author.

CREATE TABLE census_history (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    facility_id     bigint NOT NULL,
    current_census  integer NOT NULL CHECK (current_census >= 0),
    -- The licensed beds at that time (null: a setting without beds).
    licensed_beds   integer CHECK (licensed_beds > 0),
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    recorded_by     bigint REFERENCES users (id),
    FOREIGN KEY (facility_id, organization_id) REFERENCES facilities (id, organization_id) ON UPDATE CASCADE
);
-- The chart's query: the last row of a facility at or before a moment.
CREATE INDEX census_history_facility_idx ON census_history (facility_id, recorded_at DESC, id DESC);
CREATE INDEX census_history_organization_idx ON census_history (organization_id);
CREATE INDEX census_history_recorded_by_idx ON census_history (recorded_by);

-- Existing facilities start their history with the census they have now.
INSERT INTO census_history (organization_id, facility_id, current_census, licensed_beds, recorded_at)
SELECT organization_id, id, current_census, licensed_beds, updated_at FROM facilities;

CREATE FUNCTION tend_record_census() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO census_history (organization_id, facility_id, current_census, licensed_beds, recorded_by)
    VALUES (NEW.organization_id, NEW.id, NEW.current_census, NEW.licensed_beds,
            nullif(current_setting('tend.user_id', true), '')::bigint);
    RETURN NULL;
END
$$;

CREATE TRIGGER facilities_census_created AFTER INSERT ON facilities
    FOR EACH ROW EXECUTE FUNCTION tend_record_census();
-- Updates rewrite every column, so only a real change of either figure counts.
CREATE TRIGGER facilities_census_changed AFTER UPDATE OF current_census, licensed_beds ON facilities
    FOR EACH ROW
    WHEN (OLD.current_census IS DISTINCT FROM NEW.current_census
          OR OLD.licensed_beds IS DISTINCT FROM NEW.licensed_beds)
    EXECUTE FUNCTION tend_record_census();

-- The facility's own time zone decides where its days begin; a zone name the
-- server does not know (only its shape is checked on input) counts in UTC
-- rather than failing the chart.
CREATE FUNCTION tend_zone_or_utc(p_zone text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM now() AT TIME ZONE p_zone;
    RETURN p_zone;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN 'UTC';
END
$$;

-- Row-level security ---------------------------------------------------------

ALTER TABLE census_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY census_history_scope ON census_history
    USING (tend_scope() = 'platform'
        OR (tend_scope() = 'organization' AND organization_id = tend_scope_organization())
        OR (tend_scope() = 'facility' AND facility_id = tend_scope_facility() AND organization_id = tend_scope_organization()));

-- Privileges: read only; the trigger writes.
REVOKE ALL ON census_history FROM PUBLIC;
REVOKE ALL ON FUNCTION tend_record_census(), tend_zone_or_utc(text) FROM PUBLIC;
GRANT SELECT ON census_history TO tend_app;
GRANT EXECUTE ON FUNCTION tend_zone_or_utc(text) TO tend_app;
