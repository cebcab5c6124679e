-- Device vault schema v6: a record that corrects the one it `amends` carries
-- why (NULL for every other record). The original row is never changed.
ALTER TABLE records ADD COLUMN correction_reason TEXT;
