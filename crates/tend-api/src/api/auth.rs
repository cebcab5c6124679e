//! Login (username + password → bearer token), logout and the current user.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use sha2::{Digest, Sha256};
use tend_domain::wire::{ErrorBody, LoginRequest, LoginResponse, User};
use tend_domain::Role;

use crate::auth::{dummy_hash, new_token, verify_password};
use crate::context::{begin_scoped, client_address, insert_audit, Audit, Ctx, Principal};
use crate::error::{ApiError, Result};
use crate::extract::ApiJson;
use crate::identity::limits::Bucket;
use crate::identity::MaybeDevice;
use crate::{store, AppState};

/// The password-login throttle's answer for one attempt (`tend_login_attempt`).
#[derive(sqlx::FromRow)]
struct LoginGate {
    allowed: bool,
    retry_after_secs: f64,
    /// This attempt, if it fails, is the one that locks the account.
    locks: bool,
}

/// The throttle's key for a username: a SHA-256, never the name itself.
fn account_key(username: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"login_account\0");
    h.update(username.as_bytes());
    h.finalize().into()
}

#[derive(sqlx::FromRow)]
struct LoginRow {
    user_id: i64,
    password_hash: String,
    role: String,
    organization_id: i64,
    facility_id: i64,
    is_active: bool,
}

/// Client address: the connection's peer, or the client named by a trusted
/// proxy (never a header from anyone else; see `net`).
pub struct ClientAddress(Option<String>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(client_address(parts)))
    }
}

/// Exchange a username and password for a bearer token.
///
/// A device signing someone in sends its device token as the bearer: the
/// session then counts as one on that device, which the records it pushes in
/// this user's name need (`FORGED_AUTHOR` otherwise). Any other bearer is ignored.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Wrong username or password, or a device token that is not valid (UNAUTHORIZED, DEVICE_*)", body = ErrorBody),
        (status = 403, description = "The device token's facility or organization is closed (FACILITY_CLOSED, ORGANIZATION_CLOSED)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        (status = 429, description = "Too many sign-ins from this address, or too many failed ones for this account (RATE_LIMITED; Retry-After)", body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddress(addr): ClientAddress,
    MaybeDevice(device): MaybeDevice,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>> {
    let username = body.username.trim().to_ascii_lowercase();
    if username.is_empty()
        || username.len() > 64
        || body.password.expose().len() > crate::auth::MAX_PASSWORD_LEN
    {
        return Err(ApiError::BadCredentials);
    }
    let identity = &state.identity;
    let address_key = addr.as_deref().unwrap_or("-");
    if !identity
        .limits
        .take(&state.pool, Bucket::LoginAddress, address_key.as_bytes())
        .await?
    {
        return Err(ApiError::RateLimited);
    }
    // Per account, counted before the password is checked (see migration 0007).
    let account_key = account_key(&username);
    let config = &identity.config;
    let gate: LoginGate = sqlx::query_as("SELECT * FROM tend_login_attempt($1, $2, $3, $4, $5)")
        .bind(&account_key[..])
        .bind(i32::try_from(config.login_free_failures).unwrap_or(i32::MAX))
        .bind(i32::try_from(config.login_max_failures).unwrap_or(i32::MAX))
        .bind(config.login_backoff.as_secs_f64())
        .bind(config.login_lockout.as_secs_f64())
        .fetch_one(&state.pool)
        .await?;
    if !gate.allowed {
        return Err(ApiError::LoginThrottled {
            retry_after_secs: gate.retry_after_secs.ceil().max(1.0) as u64,
        });
    }
    let row: Option<LoginRow> = sqlx::query_as("SELECT * FROM tend_login_lookup($1)")
        .bind(&username)
        .fetch_optional(&state.pool)
        .await?;
    let password = body.password.clone();
    let hash = row
        .as_ref()
        .map(|r| r.password_hash.clone())
        .unwrap_or_else(|| dummy_hash().to_owned());
    // argon2 is deliberately slow: off the async workers, and bounded so a
    // flood of logins cannot starve heartbeats and sync.
    let verified = identity
        .hash_work(move || verify_password(password.expose(), &hash))
        .await?;
    let Some(row) = row else {
        if gate.locks {
            tracing::warn!("sign-in locked for an unknown username");
        }
        tracing::info!("login refused: unknown user");
        return Err(ApiError::BadCredentials);
    };
    let role = Role::parse(&row.role).map_err(ApiError::internal)?;
    let principal = Principal {
        user_id: row.user_id,
        role,
        organization_id: row.organization_id,
        facility_id: row.facility_id,
    };
    let mut tx = begin_scoped(&state.pool, principal.scope(), Some(principal.user_id)).await?;
    let audit = Audit::new("auth.login", "user")
        .resource(row.user_id)
        .facility(row.organization_id, row.facility_id);
    if !verified || !row.is_active {
        let reason = if verified {
            "account inactive"
        } else {
            "wrong password"
        };
        insert_audit(
            &mut tx,
            Some(row.user_id),
            &audit.clone().reason(reason),
            "denied",
            false,
            addr.as_deref(),
        )
        .await?;
        if gate.locks {
            let minutes = config.login_lockout.as_secs().div_ceil(60);
            let why = format!(
                "{} failed sign-ins; locked for {minutes} minute(s)",
                config.login_max_failures
            );
            let locked = Audit::new("auth.account_locked", "user")
                .resource(row.user_id)
                .facility(row.organization_id, row.facility_id)
                .reason(&why);
            insert_audit(
                &mut tx,
                Some(row.user_id),
                &locked,
                "denied",
                false,
                addr.as_deref(),
            )
            .await?;
            tracing::warn!(
                user_id = row.user_id,
                "account locked after failed sign-ins"
            );
        }
        tx.commit().await?;
        tracing::info!(user_id = row.user_id, "login refused");
        return Err(ApiError::BadCredentials);
    }
    sqlx::query("SELECT tend_login_succeeded($1)")
        .bind(&account_key[..])
        .execute(&mut *tx)
        .await?;
    let (token, token_hash) = new_token();
    let ttl_secs = i64::try_from(state.token_ttl.as_secs()).unwrap_or(i64::MAX);
    let expires_at: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT tend_token_issue($1, $2, make_interval(secs => $3))")
            .bind(&token_hash)
            .bind(row.user_id)
            .bind(ttl_secs as f64)
            .fetch_one(&mut *tx)
            .await?;
    // A device this user may work on (their facility's, or any of the
    // organization's for an organization admin, as with badges) gets the
    // session; on any other device the login is the user's alone.
    let on_device = device.filter(|d| {
        d.organization_id == row.organization_id
            && (d.facility_id == row.facility_id || role == Role::OrgAdmin)
    });
    if let Some(d) = on_device {
        store::device_sessions::insert(
            &mut tx,
            &store::device_sessions::NewSession {
                organization_id: d.organization_id,
                facility_id: d.facility_id,
                device_id: d.device_id,
                user_id: row.user_id,
                method: store::device_sessions::SessionMethod::Password,
                started_at: chrono::Utc::now(),
                ends_at: expires_at,
            },
        )
        .await?;
    }
    let audit = match on_device {
        Some(d) => audit.device(d.device_id),
        None => audit,
    };
    let user = store::users::get(&mut tx, principal.scope(), row.user_id, false)
        .await?
        .ok_or(ApiError::NotFound)?;
    insert_audit(
        &mut tx,
        Some(row.user_id),
        &audit,
        "success",
        false,
        addr.as_deref(),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user_id = row.user_id, "login");
    Ok(Json(LoginResponse {
        token,
        token_type: "Bearer".to_owned(),
        expires_at,
        user,
    }))
}

/// Revoke the token used for this request.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth",
    responses(
        (status = 204, description = "Token revoked"),
        (status = 401, description = "No valid token", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn logout(mut ctx: Ctx) -> Result<StatusCode> {
    sqlx::query_scalar::<_, bool>("SELECT tend_token_revoke($1)")
        .bind(&ctx.token_hash)
        .fetch_one(&mut *ctx.tx)
        .await?;
    let p = ctx.principal;
    ctx.audit_write(
        Audit::new("auth.logout", "user")
            .resource(p.user_id)
            .facility(p.organization_id, p.facility_id),
    )
    .await?;
    ctx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The user this token belongs to.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth",
    responses(
        (status = 200, description = "Current user", body = User),
        (status = 401, description = "No valid token", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn me(mut ctx: Ctx) -> Result<Json<User>> {
    let p = ctx.principal;
    let user = store::users::get(&mut ctx.tx, p.scope(), p.user_id, false)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    ctx.finish_read().await?;
    Ok(Json(user))
}

/// End every session of the caller: all of their login tokens, this one
/// included, are revoked at once, on every API instance.
#[utoipa::path(post, path = "/api/auth/sign-out-everywhere", tag = "auth",
    responses(
        (status = 204, description = "Every session ended"),
        (status = 401, description = "No valid token", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn sign_out_everywhere(mut ctx: Ctx) -> Result<StatusCode> {
    let p = ctx.principal;
    let revoked = super::users::revoke_sessions(&mut ctx, p.user_id, None).await?;
    let reason = format!("{revoked} session(s) ended");
    ctx.audit_write(
        Audit::new("auth.sign_out_everywhere", "user")
            .resource(p.user_id)
            .facility(p.organization_id, p.facility_id)
            .reason(&reason),
    )
    .await?;
    ctx.commit().await?;
    tracing::info!(user_id = p.user_id, revoked, "signed out everywhere");
    Ok(StatusCode::NO_CONTENT)
}
