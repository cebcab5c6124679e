-- Device vault schema v5: what staff need to know about a resident at a
-- glance, as the server has it (allergies, code status, diet, fall risk, the
-- emergency contact as JSON `{"name", "relationship", "phone"}`). NULL is
-- "not recorded". The change feed starts over so residents pulled before v5
-- get theirs at the next sync (applying a page is idempotent).
ALTER TABLE roster_patients ADD COLUMN allergies TEXT;
ALTER TABLE roster_patients ADD COLUMN code_status TEXT;
ALTER TABLE roster_patients ADD COLUMN diet TEXT;
ALTER TABLE roster_patients ADD COLUMN fall_risk TEXT;
ALTER TABLE roster_patients ADD COLUMN emergency_contact TEXT;
DELETE FROM sync_cursors WHERE stream = 'facility';
