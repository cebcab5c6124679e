-- The server's order-signing key (issue 17): devices pin its public half at
-- enrollment and wipe themselves only on an order signed with it. One row,
-- shared by every API instance; the first instance that needs it stores the
-- key it generated, and every other instance reads that one. The secret is
-- readable only through the function below (the API's login roles have no
-- grant on the table).

CREATE TABLE server_signing_key (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    key_id      text NOT NULL,
    secret_seed bytea NOT NULL CHECK (octet_length(secret_seed) = 32),
    public_key  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Stores the offered key unless one is already there; returns the one in use.
CREATE FUNCTION tend_signing_key_ensure(p_key_id text, p_secret_seed bytea, p_public_key text)
RETURNS TABLE (key_id text, secret_seed bytea, public_key text)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    INSERT INTO server_signing_key (key_id, secret_seed, public_key)
    VALUES (p_key_id, p_secret_seed, p_public_key)
    ON CONFLICT (singleton) DO NOTHING;
    SELECT k.key_id, k.secret_seed, k.public_key FROM server_signing_key k;
$$;

REVOKE ALL ON server_signing_key FROM PUBLIC;
REVOKE ALL ON FUNCTION tend_signing_key_ensure(text, bytea, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tend_signing_key_ensure(text, bytea, text) TO tend_app;
