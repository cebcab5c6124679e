-- Kiosk vault keys off the SD card (issue 17). A device without an OS
-- keyring derives its vault key from a local secret and a secret the server
-- releases only to the device itself, authenticated and active. Deactivating
-- a device destroys the server's part: its vault can never be opened again,
-- even with the card in hand.

CREATE TABLE device_vault_secrets (
    device_id   bigint PRIMARY KEY REFERENCES devices (id),
    secret      bytea NOT NULL CHECK (octet_length(secret) = 32),
    -- The secret before the last rotation, until the device has re-keyed.
    previous    bytea CHECK (previous IS NULL OR octet_length(previous) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    rotated_at  timestamptz
);

-- The device's secrets, created from the offered bytes on first use.
CREATE FUNCTION tend_vault_secret(p_device_id bigint, p_offered bytea)
RETURNS TABLE (secret bytea, previous bytea)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    INSERT INTO device_vault_secrets (device_id, secret) VALUES (p_device_id, p_offered)
    ON CONFLICT (device_id) DO NOTHING;
    SELECT s.secret, s.previous FROM device_vault_secrets s WHERE s.device_id = p_device_id;
$$;

-- A new secret; the current one is kept as `previous` until the device has
-- re-keyed its vault and says so (tend_vault_secret_forget_previous).
CREATE FUNCTION tend_vault_secret_rotate(p_device_id bigint, p_new bytea)
RETURNS TABLE (secret bytea, previous bytea)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE device_vault_secrets s
    SET previous = s.secret, secret = p_new, rotated_at = now()
    WHERE s.device_id = p_device_id
    RETURNING s.secret, s.previous;
$$;

CREATE FUNCTION tend_vault_secret_forget_previous(p_device_id bigint)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE device_vault_secrets SET previous = NULL WHERE device_id = p_device_id;
$$;

-- Deactivation (or rejection) shreds the server's part in the same
-- transaction as the status change.
CREATE FUNCTION tend_vault_secret_shred() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.status IN ('DEACTIVATED', 'REJECTED') OR NOT NEW.is_active THEN
        DELETE FROM device_vault_secrets WHERE device_id = NEW.id;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER devices_vault_secret_shred AFTER UPDATE OF status, is_active ON devices
    FOR EACH ROW EXECUTE FUNCTION tend_vault_secret_shred();

-- Heartbeats may now report `server_bound`.
ALTER TABLE devices DROP CONSTRAINT devices_encryption_posture_check;
ALTER TABLE devices ADD CONSTRAINT devices_encryption_posture_check
    CHECK (encryption_posture IN ('keyring', 'server_bound', 'key_file', 'none'));

CREATE OR REPLACE FUNCTION tend_heartbeats_apply(
    p_ids bigint[], p_seen timestamptz[], p_versions text[], p_postures text[],
    p_outbox integer[], p_last_sync timestamptz[], p_oldest_pending timestamptz[],
    p_sync_errors boolean[], p_offsets bigint[])
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH h AS (
        SELECT * FROM unnest(p_ids, p_seen, p_versions, p_postures, p_outbox, p_last_sync,
                             p_oldest_pending, p_sync_errors, p_offsets)
            AS h(id, seen, version, posture, outbox, last_sync, oldest_pending, sync_errors, offset_ms)
    ), u AS (
        UPDATE devices d SET
            last_seen = greatest(d.last_seen, h.seen),
            app_version = coalesce(h.version, d.app_version),
            last_security_audit = CASE WHEN d.encryption_posture IS DISTINCT FROM h.posture
                                       THEN h.seen ELSE d.last_security_audit END,
            encryption_posture = h.posture,
            encryption_enabled = h.posture IN ('keyring', 'server_bound', 'key_file'),
            pending_outbox = h.outbox,
            last_sync = h.last_sync,
            oldest_pending_since = h.oldest_pending,
            sync_errors = h.sync_errors,
            clock_offset_ms = h.offset_ms
        FROM h
        WHERE d.id = h.id AND d.status = 'ACTIVE' AND d.is_active
        RETURNING 1
    )
    SELECT count(*) FROM u
$$;

-- A facility's minimum protection of its devices' vault keys: `any`,
-- `encrypted` (a key, wherever it lives), `off_disk` (an OS keyring or the
-- server-bound key: nothing on the disk alone opens the vault). A device
-- below it is told to lock.
ALTER TABLE facilities ADD COLUMN device_protection_minimum text NOT NULL DEFAULT 'encrypted'
    CHECK (device_protection_minimum IN ('any', 'encrypted', 'off_disk'));

-- Read by the heartbeat (which has no user scope) for its lock decision.
CREATE FUNCTION tend_facility_device_protection(p_facility_id bigint)
RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT device_protection_minimum FROM facilities WHERE id = p_facility_id
$$;

REVOKE ALL ON device_vault_secrets FROM PUBLIC;
REVOKE ALL ON FUNCTION tend_vault_secret(bigint, bytea), tend_vault_secret_rotate(bigint, bytea),
    tend_vault_secret_forget_previous(bigint), tend_facility_device_protection(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tend_vault_secret(bigint, bytea), tend_vault_secret_rotate(bigint, bytea),
    tend_vault_secret_forget_previous(bigint), tend_facility_device_protection(bigint) TO tend_app;
