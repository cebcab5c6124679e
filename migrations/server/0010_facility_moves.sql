-- Facility moves and closures (issue 17).
--
-- A device moved by an administrator to another facility of its organization
-- remembers the facility it left and when: its outbox may still hold
-- documentation written there, which the device uploads after the move and
-- the server files in that facility (only the facility of the latest move).
ALTER TABLE devices
    ADD COLUMN moved_from_facility_id bigint,
    ADD COLUMN moved_at               timestamptz,
    ADD FOREIGN KEY (moved_from_facility_id, organization_id) REFERENCES facilities (id, organization_id),
    ADD CHECK ((moved_from_facility_id IS NULL) = (moved_at IS NULL));
-- Few devices ever move: the foreign key's index holds only those.
CREATE INDEX devices_moved_from_facility_idx ON devices (moved_from_facility_id)
    WHERE moved_from_facility_id IS NOT NULL;

-- Authentication now also needs the facility's name (the token carries it,
-- so a moved device learns where it is) and whether the facility and the
-- organization are open: a closed one's devices are refused, not wiped.
DROP FUNCTION tend_device_identity_lookup(uuid);
CREATE FUNCTION tend_device_identity_lookup(p_device_uuid uuid)
RETURNS TABLE (id bigint, organization_id bigint, facility_id bigint, status text,
               is_active boolean, encryption_required boolean, identity_public_key text,
               facility_name text, facility_active boolean, organization_active boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT d.id, d.organization_id, d.facility_id, d.status, d.is_active, d.encryption_required,
           d.identity_public_key, f.name, f.is_active, o.is_active
    FROM devices d
    JOIN facilities f ON f.id = d.facility_id
    JOIN organizations o ON o.id = d.organization_id
    WHERE d.device_uuid = p_device_uuid
$$;

-- A token is looked up (cache miss) with the same two flags, so a token
-- issued before a closure stops working at the next lookup even if it was
-- not revoked (a closure through the API revokes the tokens at once).
DROP FUNCTION tend_device_token_lookup(bytea);
CREATE FUNCTION tend_device_token_lookup(p_token_hash bytea)
RETURNS TABLE (device_id bigint, organization_id bigint, facility_id bigint, status text,
               is_active boolean, encryption_required boolean, expires_at timestamptz, revoked boolean,
               facility_active boolean, organization_active boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT d.id, d.organization_id, d.facility_id, d.status, d.is_active, d.encryption_required, t.expires_at,
           t.revoked_at IS NOT NULL, f.is_active, o.is_active
    FROM device_tokens t
    JOIN devices d ON d.id = t.device_id
    JOIN facilities f ON f.id = d.facility_id
    JOIN organizations o ON o.id = d.organization_id
    WHERE t.token_hash = p_token_hash
$$;

REVOKE ALL ON FUNCTION tend_device_identity_lookup(uuid), tend_device_token_lookup(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tend_device_identity_lookup(uuid), tend_device_token_lookup(bytea) TO tend_app;
