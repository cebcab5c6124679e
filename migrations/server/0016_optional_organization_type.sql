-- An organization's type is optional, as in the design's own examples
-- (`POST /api/organizations {"name": …, "npi": …}`). The CHECK on its values
-- stays: a type given is one of the five.
ALTER TABLE organizations ALTER COLUMN organization_type DROP NOT NULL;
