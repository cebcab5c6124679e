-- A facility's policy (tend-domain `FacilityPolicy`): the timings and limits
-- its devices apply — idle lock, badge grace, PIN length, the nurse home's
-- windows, the documentation window, the family kiosk's session. Typed and
-- validated by the API; a key missing here takes its default when read.
ALTER TABLE facilities ADD COLUMN policy jsonb NOT NULL DEFAULT '{}'::jsonb
    CHECK (jsonb_typeof(policy) = 'object');

-- The three settings Tend read itself before move into the policy (a value
-- out of the policy's range was ignored before, and is left behind now).
UPDATE facilities SET
    policy = jsonb_strip_nulls(jsonb_build_object(
        'badge_grace_hours', CASE WHEN jsonb_typeof(settings -> 'badge_grace_hours') = 'number'
            AND (settings ->> 'badge_grace_hours')::numeric BETWEEN 0 AND 24
            AND (settings ->> 'badge_grace_hours')::numeric = trunc((settings ->> 'badge_grace_hours')::numeric)
            THEN settings -> 'badge_grace_hours' END,
        'badge_reauth_hours', CASE WHEN jsonb_typeof(settings -> 'badge_reauth_hours') = 'number'
            AND (settings ->> 'badge_reauth_hours')::numeric BETWEEN 1 AND 24
            AND (settings ->> 'badge_reauth_hours')::numeric = trunc((settings ->> 'badge_reauth_hours')::numeric)
            THEN settings -> 'badge_reauth_hours' END,
        'documentation_window_days', CASE WHEN jsonb_typeof(settings -> 'documentation_window_days') = 'number'
            AND (settings ->> 'documentation_window_days')::numeric BETWEEN 1 AND 3650
            AND (settings ->> 'documentation_window_days')::numeric = trunc((settings ->> 'documentation_window_days')::numeric)
            THEN settings -> 'documentation_window_days' END)),
    settings = settings - 'badge_grace_hours' - 'badge_reauth_hours' - 'documentation_window_days',
    -- Switches the console offered with nothing behind them.
    features = features - 'med_room_workflow' - 'comfort_care_plans' - 'visit_routing'
WHERE settings ?| ARRAY['badge_grace_hours', 'badge_reauth_hours', 'documentation_window_days']
   OR features ?| ARRAY['med_room_workflow', 'comfort_care_plans', 'visit_routing'];

-- Devices receive the policy: a change moves the facility forward in the feed.
DROP TRIGGER facilities_feed_update ON facilities;
CREATE TRIGGER facilities_feed_update BEFORE UPDATE ON facilities FOR EACH ROW
    WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.facility_type IS DISTINCT FROM NEW.facility_type
          OR OLD.timezone IS DISTINCT FROM NEW.timezone OR OLD.settings IS DISTINCT FROM NEW.settings
          OR OLD.features IS DISTINCT FROM NEW.features OR OLD.is_active IS DISTINCT FROM NEW.is_active
          OR OLD.policy IS DISTINCT FROM NEW.policy)
    EXECUTE FUNCTION tend_feed_position();
