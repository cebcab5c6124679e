-- Each person's own language for the staff screens (issue 18.7): NULL is no
-- preference (the device's language applies). Devices receive it with the
-- facility's staff, so an offline sign-in shows it too: a change of it moves
-- the user forward in the change feed like the other fields devices receive.
ALTER TABLE users ADD COLUMN preferred_language text
    CHECK (preferred_language IN ('en', 'es'));
GRANT SELECT (preferred_language) ON users TO tend_app;

DROP TRIGGER users_feed_update ON users;
-- Logins update users and badges (PIN counters, last login): those stay off the feed.
CREATE TRIGGER users_feed_update BEFORE UPDATE ON users FOR EACH ROW
    WHEN (OLD.full_name IS DISTINCT FROM NEW.full_name OR OLD.role IS DISTINCT FROM NEW.role
          OR OLD.employee_id IS DISTINCT FROM NEW.employee_id OR OLD.is_active IS DISTINCT FROM NEW.is_active
          OR OLD.facility_id IS DISTINCT FROM NEW.facility_id
          OR OLD.preferred_language IS DISTINCT FROM NEW.preferred_language)
    EXECUTE FUNCTION tend_feed_position();
