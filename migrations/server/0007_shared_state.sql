-- One way to set the row-level-security scope, and the state several API
-- instances must share (issue 16): challenge nonces, rate-limit buckets,
-- password-login lockouts and token revocation for a whole user.

-- The only function that writes the scope settings the policies read
-- (tend_scope(), tend_scope_organization(), tend_scope_facility()) and the
-- caller triggers record (tend.user_id). Transaction-local: they end with the
-- request's transaction. NULL clears a setting.
CREATE FUNCTION tend_set_scope(p_scope text, p_organization_id bigint, p_facility_id bigint, p_user_id bigint)
RETURNS void
LANGUAGE sql VOLATILE AS $$
    SELECT set_config('tend.scope', CASE WHEN p_scope IN ('platform', 'organization', 'facility')
                                         THEN p_scope ELSE '' END, true),
           set_config('tend.organization_id', coalesce(p_organization_id::text, ''), true),
           set_config('tend.facility_id', coalesce(p_facility_id::text, ''), true),
           set_config('tend.user_id', coalesce(p_user_id::text, ''), true);
$$;

-- A request whose token the API has seen recently checks it and opens its
-- scoped transaction in one message: `SELECT tend_expect_token(…); BEGIN; …`.
-- Raises (SQLSTATE TD401) unless the token is still valid for exactly that
-- user, role, organization and facility; the API then looks it up afresh.
CREATE FUNCTION tend_expect_token(p_token_hash bytea, p_user_id bigint, p_role text,
                                  p_organization_id bigint, p_facility_id bigint)
RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM tend_token_lookup(p_token_hash) t
                   WHERE t.user_id = p_user_id AND t.role = p_role
                     AND t.organization_id = p_organization_id AND t.facility_id = p_facility_id) THEN
        RAISE EXCEPTION 'token no longer valid for this principal' USING ERRCODE = 'TD401';
    END IF;
END
$$;

REVOKE ALL ON FUNCTION tend_set_scope(text, bigint, bigint, bigint),
    tend_expect_token(bytea, bigint, text, bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tend_set_scope(text, bigint, bigint, bigint),
    tend_expect_token(bytea, bigint, text, bigint, bigint) TO tend_app;

-- Challenge nonces, shared by every instance: a challenge issued by one is
-- answered at another. Single use: taking one deletes it (DELETE … RETURNING,
-- so two instances racing for the same nonce cannot both win). Expired rows
-- are swept when new ones are issued.
CREATE TABLE device_challenges (
    nonce       text PRIMARY KEY,
    device_uuid uuid NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX device_challenges_expires_at_idx ON device_challenges (expires_at);
ALTER TABLE device_challenges ENABLE ROW LEVEL SECURITY; -- no policy: only through the functions

CREATE FUNCTION tend_challenge_issue(p_nonce text, p_device_uuid uuid, p_ttl_secs float8)
RETURNS timestamptz
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH swept AS (
        DELETE FROM device_challenges
        WHERE nonce IN (SELECT nonce FROM device_challenges WHERE expires_at < now() LIMIT 100)
    )
    INSERT INTO device_challenges (nonce, device_uuid, expires_at)
    VALUES (p_nonce, p_device_uuid, now() + make_interval(secs => p_ttl_secs))
    RETURNING expires_at
$$;

-- True once: for the device the nonce was issued to, before it expires. The
-- nonce is spent whatever the answer (a signature is tried once).
CREATE FUNCTION tend_challenge_take(p_nonce text, p_device_uuid uuid)
RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH taken AS (
        DELETE FROM device_challenges WHERE nonce = p_nonce
        RETURNING device_uuid = p_device_uuid AND expires_at > clock_timestamp() AS ok
    )
    SELECT coalesce((SELECT ok FROM taken), false)
$$;

-- Rate-limit token buckets, shared by every instance. `key` is a SHA-256 of
-- what is limited (an address, a code, a device id): never a raw secret.
-- `full_at` is when the bucket will be full again; a full bucket is the same as
-- no row, so such rows are swept.
CREATE TABLE rate_limits (
    bucket     text NOT NULL,
    key        bytea NOT NULL,
    tokens     double precision NOT NULL,
    updated_at timestamptz NOT NULL,
    full_at    timestamptz NOT NULL,
    PRIMARY KEY (bucket, key)
);
CREATE INDEX rate_limits_full_at_idx ON rate_limits (full_at);
ALTER TABLE rate_limits ENABLE ROW LEVEL SECURITY; -- no policy: only through the functions

-- Takes one token from (bucket, key) — burst `p_burst`, refilled at
-- `p_per_second` — under the row's lock, so concurrent takes on any instance
-- queue and the configured rate holds across all of them. Returns 0 when
-- allowed, otherwise the seconds until a token will be there (the caller may
-- refuse locally until then: only time and refunds refill a bucket).
CREATE FUNCTION tend_rate_take(p_bucket text, p_key bytea, p_burst float8, p_per_second float8)
RETURNS float8
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_now     timestamptz := clock_timestamp();
    v_rate    float8 := greatest(p_per_second, 1e-9);
    v_tokens  float8;
    v_allowed boolean;
BEGIN
    IF random() < 0.01 THEN
        DELETE FROM rate_limits
        WHERE (bucket, key) IN (SELECT r.bucket, r.key FROM rate_limits r WHERE r.full_at < v_now LIMIT 200);
    END IF;
    -- No row is a full bucket. Another call may sweep a full row between
    -- our insert and our lock, so insert until the lock finds one.
    LOOP
        SELECT least(p_burst, r.tokens + greatest(0, extract(epoch FROM v_now - r.updated_at)) * v_rate)
        INTO v_tokens
        FROM rate_limits r WHERE r.bucket = p_bucket AND r.key = p_key
        FOR UPDATE;
        EXIT WHEN FOUND;
        INSERT INTO rate_limits (bucket, key, tokens, updated_at, full_at)
        VALUES (p_bucket, p_key, p_burst, v_now, v_now)
        ON CONFLICT (bucket, key) DO NOTHING;
    END LOOP;
    v_allowed := v_tokens >= 1;
    IF v_allowed THEN
        v_tokens := v_tokens - 1;
    END IF;
    UPDATE rate_limits r
    SET tokens = v_tokens,
        updated_at = greatest(r.updated_at, v_now),
        full_at = greatest(r.updated_at, v_now) + make_interval(secs => (p_burst - v_tokens) / v_rate)
    WHERE r.bucket = p_bucket AND r.key = p_key;
    IF v_allowed THEN
        RETURN 0;
    END IF;
    RETURN (1 - v_tokens) / v_rate;
END
$$;

-- Gives one token back (an attempt that turned out to be legitimate, when only
-- failures should count: the token is taken first, so concurrent attempts
-- cannot all slip through before the first failure is counted).
CREATE FUNCTION tend_rate_refund(p_bucket text, p_key bytea, p_burst float8, p_per_second float8)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE rate_limits r
    SET tokens = least(p_burst, r.tokens + 1),
        full_at = r.updated_at + make_interval(secs => (p_burst - least(p_burst, r.tokens + 1))
                                                      / greatest(p_per_second, 1e-9))
    WHERE r.bucket = p_bucket AND r.key = p_key
$$;

-- Password login, per account (keyed by a SHA-256 of the normalized username,
-- so an unknown name is throttled exactly like a known one). Every attempt is
-- counted as a failure before the password is checked — a flood of concurrent
-- guesses cannot all pass the check before the first failure is written — and
-- a success deletes the row. After `p_free` failures each further one costs a
-- doubling wait (`p_backoff_secs`, then twice that, …: backoff); the
-- `p_max`-th locks the account for `p_lockout_secs`.
CREATE TABLE login_throttle (
    account_key  bytea PRIMARY KEY,
    failures     integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE login_throttle ENABLE ROW LEVEL SECURITY; -- no policy: only through the functions

-- allowed: the password may be checked now (otherwise retry_after_secs says
-- when); locks: this attempt, if it fails, is the one that locked the account.
CREATE FUNCTION tend_login_attempt(p_account_key bytea, p_free integer, p_max integer,
                                   p_backoff_secs float8, p_lockout_secs float8)
RETURNS TABLE (allowed boolean, retry_after_secs float8, locks boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_now      timestamptz := clock_timestamp();
    v_failures integer;
    v_locked   timestamptz;
BEGIN
    IF random() < 0.01 THEN
        DELETE FROM login_throttle
        WHERE account_key IN (SELECT t.account_key FROM login_throttle t
                              WHERE t.updated_at < v_now - interval '1 day'
                                AND (t.locked_until IS NULL OR t.locked_until < v_now) LIMIT 200);
    END IF;
    LOOP
        SELECT t.failures, t.locked_until INTO v_failures, v_locked
        FROM login_throttle t WHERE t.account_key = p_account_key FOR UPDATE;
        EXIT WHEN FOUND;
        INSERT INTO login_throttle (account_key, updated_at) VALUES (p_account_key, v_now)
        ON CONFLICT (account_key) DO NOTHING;
    END LOOP;
    IF v_locked IS NOT NULL AND v_locked > v_now THEN
        RETURN QUERY SELECT false, extract(epoch FROM v_locked - v_now)::float8, false;
        RETURN;
    END IF;
    v_failures := v_failures + 1;
    IF v_failures >= p_max THEN
        UPDATE login_throttle SET failures = 0, updated_at = v_now,
               locked_until = v_now + make_interval(secs => p_lockout_secs)
        WHERE account_key = p_account_key;
        RETURN QUERY SELECT true, 0::float8, true;
        RETURN;
    END IF;
    UPDATE login_throttle SET failures = v_failures, updated_at = v_now,
           locked_until = CASE WHEN v_failures > p_free
                               THEN v_now + make_interval(secs => least(p_lockout_secs,
                                                                     p_backoff_secs * 2 ^ (v_failures - p_free - 1)))
                               ELSE NULL END
    WHERE account_key = p_account_key;
    RETURN QUERY SELECT true, 0::float8, false;
END
$$;

CREATE FUNCTION tend_login_succeeded(p_account_key bytea)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DELETE FROM login_throttle WHERE account_key = p_account_key
$$;

-- Revokes every live session token of a user, except `p_keep` (the caller's
-- own, when a user changes their password); returns how many.
CREATE FUNCTION tend_user_tokens_revoke(p_user_id bigint, p_keep bytea)
RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH r AS (
        UPDATE auth_tokens SET revoked_at = now()
        WHERE user_id = p_user_id AND revoked_at IS NULL AND expires_at > now()
          AND token_hash IS DISTINCT FROM p_keep
        RETURNING 1
    )
    SELECT count(*)::integer FROM r
$$;

REVOKE ALL ON device_challenges, rate_limits, login_throttle FROM PUBLIC;
REVOKE ALL ON FUNCTION tend_challenge_issue(text, uuid, float8), tend_challenge_take(text, uuid),
    tend_rate_take(text, bytea, float8, float8), tend_rate_refund(text, bytea, float8, float8),
    tend_login_attempt(bytea, integer, integer, float8, float8), tend_login_succeeded(bytea),
    tend_user_tokens_revoke(bigint, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tend_challenge_issue(text, uuid, float8), tend_challenge_take(text, uuid),
    tend_rate_take(text, bytea, float8, float8), tend_rate_refund(text, bytea, float8, float8),
    tend_login_attempt(bytea, integer, integer, float8, float8), tend_login_succeeded(bytea),
    tend_user_tokens_revoke(bigint, bytea) TO tend_app;
