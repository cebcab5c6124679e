-- Live wandering alerts: each `wandering_alert` record opens an alert that
-- stays active until a clinician acknowledges it or a later `found` record for
-- the same resident closes it; unacknowledged, it is escalated after the
-- facility's `wandering_escalation_minutes` (default 5). Every change is an
-- event with a position (`seq`) that devices resume from, and a NOTIFY on
-- `tend_wandering_alert` that each API instance's one listener fans out to
-- its push connections. An event carries only what a lock screen may show:
-- the resident's room and first name, the alert type, place and times, and
-- who acknowledged.
CREATE TABLE wandering_alerts (
    id              uuid PRIMARY KEY REFERENCES clinical_records (id),
    organization_id bigint NOT NULL,
    facility_id     bigint NOT NULL,
    patient_id      bigint NOT NULL REFERENCES patients (id),
    alert           text NOT NULL CHECK (alert IN ('exit_door', 'missing', 'found')),
    location        text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    raised_at       timestamptz NOT NULL DEFAULT now(),
    acknowledged_at timestamptz,
    acknowledged_by bigint REFERENCES users (id),
    escalated_at    timestamptz,
    -- A later `found` for the resident (a `found` closes itself).
    resolved_at     timestamptz,
    CHECK ((acknowledged_at IS NULL) = (acknowledged_by IS NULL)),
    FOREIGN KEY (facility_id, organization_id) REFERENCES facilities (id, organization_id) ON UPDATE CASCADE
);
-- The escalation task's scan.
CREATE INDEX wandering_alerts_open_idx ON wandering_alerts (raised_at)
    WHERE acknowledged_at IS NULL AND resolved_at IS NULL AND escalated_at IS NULL;
CREATE INDEX wandering_alerts_patient_idx ON wandering_alerts (patient_id) WHERE resolved_at IS NULL;
CREATE INDEX wandering_alerts_facility_idx ON wandering_alerts (facility_id, organization_id);
CREATE INDEX wandering_alerts_acknowledged_by_idx ON wandering_alerts (acknowledged_by) WHERE acknowledged_by IS NOT NULL;

CREATE TABLE wandering_alert_events (
    seq             bigserial PRIMARY KEY,
    organization_id bigint NOT NULL,
    facility_id     bigint NOT NULL,
    alert_id        uuid NOT NULL REFERENCES wandering_alerts (id),
    event           text NOT NULL CHECK (event IN ('raised', 'acknowledged', 'escalated', 'resolved')),
    -- The lock-screen view of the alert after the event (LiveAlert on the wire).
    alert           jsonb NOT NULL,
    at              timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (facility_id, organization_id) REFERENCES facilities (id, organization_id) ON UPDATE CASCADE
);
CREATE INDEX wandering_alert_events_feed_idx ON wandering_alert_events (facility_id, seq);
CREATE INDEX wandering_alert_events_alert_idx ON wandering_alert_events (alert_id);

-- Writes one event for the alert's current state and tells every API instance
-- (delivered at commit). The notice carries the event itself (far below
-- NOTIFY's 8000-byte limit), so no instance reads it back.
CREATE FUNCTION tend_wandering_alert_event(p_alert_id uuid, p_event text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_alert jsonb;
    v_org bigint;
    v_facility bigint;
    v_seq bigint;
    v_at timestamptz := now();
BEGIN
    SELECT jsonb_build_object(
               'id', a.id,
               'room', p.room,
               'first_name', p.first_name,
               'alert', a.alert,
               'location', a.location,
               'occurred_at', a.occurred_at,
               'acknowledged_at', a.acknowledged_at,
               'acknowledged_by', u.full_name,
               'escalated_at', a.escalated_at,
               'resolved_at', a.resolved_at),
           a.organization_id, a.facility_id
      INTO v_alert, v_org, v_facility
      FROM wandering_alerts a
      JOIN patients p ON p.id = a.patient_id
      LEFT JOIN users u ON u.id = a.acknowledged_by
     WHERE a.id = p_alert_id;
    IF v_alert IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO wandering_alert_events (organization_id, facility_id, alert_id, event, alert, at)
    VALUES (v_org, v_facility, p_alert_id, p_event, v_alert, v_at)
    RETURNING seq INTO v_seq;
    PERFORM pg_notify('tend_wandering_alert', jsonb_build_object(
        'facility_id', v_facility,
        'event', jsonb_build_object('seq', v_seq, 'event', p_event, 'at', v_at, 'alert', v_alert))::text);
    RETURN v_seq;
END
$$;

-- A stored wandering_alert record opens an alert; a `found` (usually amending
-- the alert it ends) closes the resident's earlier open ones. An amended
-- exit-door or missing record (a corrected location) raises nothing again.
CREATE FUNCTION tend_wandering_alert_raise() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_type text := NEW.body ->> 'alert';
    v_closed uuid;
BEGIN
    IF v_type <> 'found' AND NEW.amends IS NOT NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO wandering_alerts (id, organization_id, facility_id, patient_id, alert, location, occurred_at, resolved_at)
    VALUES (NEW.id, NEW.organization_id, NEW.facility_id, NEW.patient_id, v_type,
            coalesce(NEW.body ->> 'location', ''), NEW.occurred_at,
            CASE WHEN v_type = 'found' THEN now() END);
    PERFORM tend_wandering_alert_event(NEW.id, 'raised');
    IF v_type = 'found' THEN
        FOR v_closed IN
            UPDATE wandering_alerts SET resolved_at = now()
             WHERE patient_id = NEW.patient_id AND resolved_at IS NULL AND occurred_at <= NEW.occurred_at
            RETURNING id
        LOOP
            PERFORM tend_wandering_alert_event(v_closed, 'resolved');
        END LOOP;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER clinical_records_wandering_alert AFTER INSERT ON clinical_records
    FOR EACH ROW WHEN (NEW.kind = 'wandering_alert')
    EXECUTE FUNCTION tend_wandering_alert_raise();

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['wandering_alerts', 'wandering_alert_events'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format($p$
            CREATE POLICY %I ON %I
            USING (tend_scope() = 'platform'
                OR (tend_scope() = 'organization' AND organization_id = tend_scope_organization())
                OR (tend_scope() = 'facility' AND facility_id = tend_scope_facility() AND organization_id = tend_scope_organization()))
        $p$, t || '_scope', t);
    END LOOP;
END
$$;

REVOKE ALL ON wandering_alerts, wandering_alert_events FROM PUBLIC;
REVOKE ALL ON FUNCTION tend_wandering_alert_event(uuid, text), tend_wandering_alert_raise() FROM PUBLIC;
GRANT SELECT ON wandering_alerts, wandering_alert_events TO tend_app;
GRANT UPDATE (acknowledged_at, acknowledged_by, escalated_at) ON wandering_alerts TO tend_app;
GRANT EXECUTE ON FUNCTION tend_wandering_alert_event(uuid, text) TO tend_app;
