-- A correction is a new record of the same kind that `amends` the original,
-- with the reason it was corrected; the original is never changed. The API
-- checks the kind and the reason; the table keeps the reason's shape.
ALTER TABLE clinical_records
    ADD COLUMN correction_reason text
        CHECK (correction_reason IS NULL
               OR (amends IS NOT NULL AND length(btrim(correction_reason)) BETWEEN 3 AND 500));
