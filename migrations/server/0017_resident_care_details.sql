-- What a facility needs to know about a resident from the first day: allergies,
-- code status, diet, fall risk and whom to call. All optional (unknown until the
-- admission paperwork says), each checked here as the API checks it, so a
-- value written any other way (an import, psql) follows the same rules.
ALTER TABLE patients
    ADD COLUMN allergies                      text CHECK (length(btrim(allergies)) BETWEEN 1 AND 1000),
    ADD COLUMN code_status                    text CHECK (code_status IN ('full_code', 'dnr', 'dnr_dni', 'comfort_only')),
    ADD COLUMN diet                           text CHECK (length(btrim(diet)) BETWEEN 1 AND 200),
    ADD COLUMN fall_risk                      text CHECK (fall_risk IN ('low', 'moderate', 'high')),
    ADD COLUMN emergency_contact_name         text CHECK (length(btrim(emergency_contact_name)) BETWEEN 1 AND 100),
    ADD COLUMN emergency_contact_relationship text CHECK (length(btrim(emergency_contact_relationship)) BETWEEN 1 AND 50),
    ADD COLUMN emergency_contact_phone        text CHECK (emergency_contact_phone ~ '^\+?[0-9 ().-]{7,25}$'),
    -- A contact is a name and a number; a relationship only with them.
    ADD CHECK ((emergency_contact_name IS NULL) = (emergency_contact_phone IS NULL)),
    ADD CHECK (emergency_contact_relationship IS NULL OR emergency_contact_name IS NOT NULL);
