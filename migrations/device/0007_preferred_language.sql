-- Device vault schema v7: each staff member's own language as the server has
-- it (NULL: no preference), so an offline badge sign-in shows the screens in
-- it. The change feed starts over so staff pulled before v7 get theirs at the
-- next sync (applying a page is idempotent).
ALTER TABLE staff ADD COLUMN preferred_language TEXT
    CHECK (preferred_language IN ('en', 'es'));
DELETE FROM sync_cursors WHERE stream = 'facility';
