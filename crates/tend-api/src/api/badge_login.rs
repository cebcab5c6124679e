//! Badge login: a device (device token) exchanges a badge tap, and the PIN
//! when the facility's policy asks for it, for the user's session token.
//!
//! Only an ACTIVE device of the user's own facility may log the user in; an
//! organization admin may also log in on any device of the organization
//! (audited as cross-facility). Five wrong PINs lock the badge for fifteen
//! minutes. Every outcome is an audit event naming both user and device.

use axum::extract::State;
use axum::Json;
use chrono::Utc;
use sqlx::{Postgres, Transaction};
use tend_domain::badge_login::{MAX_FAILED_PIN_ATTEMPTS, PIN_LOCKOUT};
use tend_domain::wire::{BadgeLoginRequest, ErrorBody, LoginResponse};
use tend_domain::{ErrorCode, Role};

use super::badges::parse_badge_uid;
use crate::auth::{new_token, verify_password};
use crate::context::{begin_scoped, insert_audit, set_scope, Audit, Principal};
use crate::error::{ApiError, Result};
use crate::extract::ApiJson;
use crate::identity::limits::Bucket;
use crate::identity::tokens::DevicePrincipal;
use crate::identity::{refusal_for_status, ClientAddress, DeviceAuth};
use crate::store;
use crate::store::badges::LoginCandidate;
use crate::validate::Validator;
use crate::AppState;

/// The request's transaction and what every audit row of it shares.
struct Attempt {
    tx: Transaction<'static, Postgres>,
    device: DevicePrincipal,
    address: Option<String>,
}

impl Attempt {
    /// The login event (`auth.badge_login`), in the device's facility.
    fn audit(&self, badge_id: Option<i64>) -> Audit<'static> {
        let audit = Audit::new("auth.badge_login", "badge")
            .facility(self.device.organization_id, self.device.facility_id)
            .device(self.device.device_id);
        match badge_id {
            Some(id) => audit.resource(id),
            None => audit,
        }
    }

    async fn record(
        &mut self,
        user: Option<&LoginCandidate>,
        audit: &Audit<'_>,
        outcome: &str,
    ) -> Result<()> {
        let cross = user.is_some_and(|u| u.facility_id != self.device.facility_id);
        insert_audit(
            &mut self.tx,
            user.map(|u| u.user_id),
            audit,
            outcome,
            cross,
            self.address.as_deref(),
        )
        .await
    }

    /// Records a refusal, commits it (with any counter it changed) and
    /// returns the error to answer with.
    async fn refuse(
        mut self,
        user: Option<&LoginCandidate>,
        badge_id: Option<i64>,
        reason: &str,
        err: ApiError,
    ) -> ApiError {
        let audit = self.audit(badge_id).reason(reason);
        if let Err(e) = self.record(user, &audit, "denied").await {
            return e;
        }
        if let Err(e) = self.tx.commit().await {
            return e.into();
        }
        tracing::info!(
            device_id = self.device.device_id,
            user_id = user.map(|u| u.user_id),
            reason,
            "badge login refused"
        );
        err
    }
}

/// Log a user in with a badge tap on a device (device token).
///
/// Send `pin` when the answer was `BADGE_PIN_REQUIRED` (a badge alone is
/// accepted for `badge_grace_hours` after a badge+PIN login, and a badge+PIN
/// login is due every `badge_reauth_hours`; the facility's policy, default 8
/// and 12). The session ends no later than that re-authentication.
#[utoipa::path(post, path = "/api/auth/badge-login", tag = "auth", request_body = BadgeLoginRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid device token (UNAUTHORIZED, DEVICE_*), or BADGE_UNKNOWN, BADGE_REVOKED, BADGE_PIN_REQUIRED, BADGE_PIN_NOT_SET, BADGE_PIN_WRONG (with attempts_left)", body = ErrorBody),
        (status = 403, description = "BADGE_LOCKED (too many wrong PINs), or BADGE_DEVICE_NOT_ALLOWED (a device of another facility)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        (status = 429, description = "Too many badge logins through this device", body = ErrorBody)),
    security(("device" = [])))]
pub async fn badge_login(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    ClientAddress(address): ClientAddress,
    ApiJson(body): ApiJson<BadgeLoginRequest>,
) -> Result<Json<LoginResponse>> {
    if !state
        .identity
        .limits
        .take(
            &state.pool,
            Bucket::BadgeLoginDevice,
            &device.device_id.to_be_bytes(),
        )
        .await?
    {
        return Err(ApiError::RateLimited);
    }
    let mut v = Validator::new();
    let uid = parse_badge_uid(&mut v, "badge_uid", body.badge_uid.expose());
    // Only the format (`Pin::parse`, not `parse_new`): a PIN set before a
    // rule change must still be accepted.
    if let Some(pin) = &body.pin {
        if let Err(e) = tend_domain::Pin::parse(pin.expose()) {
            v.add(e.field, e.message);
        }
    }
    v.finish()?;
    let uid = uid.ok_or_else(|| ApiError::internal(anyhow::anyhow!("validated above")))?;

    let mut tx = begin_scoped(&state.pool, device.scope(), None).await?;
    // The token cache is dropped on deactivation, but the row is the truth.
    let context = store::badges::device_context(&mut tx, device.device_id)
        .await?
        .ok_or(ApiError::Device(ErrorCode::DeviceUnknown))?;
    if context.status != "ACTIVE" || !context.is_active {
        return Err(refusal_for_status(&context.status));
    }
    let policy = context.facility_policy.0.sanitized().badge_login();
    let candidate = match &context.badge_key {
        Some(key) => {
            let hash = uid.keyed_hash(key);
            store::badges::login_lookup(&mut tx, device.organization_id, hash.as_bytes()).await?
        }
        None => None,
    };
    drop(uid);
    let attempt = Attempt {
        tx,
        device,
        address,
    };
    let Some(user) = candidate else {
        return Err(attempt
            .refuse(
                None,
                None,
                "unknown badge",
                ApiError::Badge(ErrorCode::BadgeUnknown),
            )
            .await);
    };
    let badge = Some(user.badge_id);
    if user.revoked {
        return Err(attempt
            .refuse(
                Some(&user),
                badge,
                "revoked badge",
                ApiError::Badge(ErrorCode::BadgeRevoked),
            )
            .await);
    }
    if !user.is_active {
        return Err(attempt
            .refuse(
                Some(&user),
                badge,
                "account inactive",
                ApiError::Unauthorized,
            )
            .await);
    }
    let role = Role::parse(&user.role).map_err(ApiError::internal)?;
    let cross_facility = user.facility_id != device.facility_id;
    if cross_facility && !matches!(role, Role::OrgAdmin | Role::PlatformAdmin) {
        return Err(attempt
            .refuse(
                Some(&user),
                badge,
                "device of another facility",
                ApiError::Badge(ErrorCode::BadgeDeviceNotAllowed),
            )
            .await);
    }
    let now = Utc::now();
    if user.locked_until.is_some_and(|t| t > now) {
        return Err(attempt
            .refuse(
                Some(&user),
                badge,
                "badge locked",
                ApiError::Badge(ErrorCode::BadgeLocked),
            )
            .await);
    }

    // From here on the writes touch the user's own rows (badge, last PIN
    // login) as well as the device's facility (audit): the user's scope
    // covers both, since a cross-facility user is an organization admin.
    let mut attempt = attempt;
    let user_scope = Principal {
        user_id: user.user_id,
        role,
        organization_id: device.organization_id,
        facility_id: user.facility_id,
    }
    .scope();
    set_scope(&mut attempt.tx, user_scope, Some(user.user_id)).await?;
    // The lookup read the lock state without locking. Lock the badge row for
    // the rest of the attempt: concurrent attempts on one badge (from any
    // instance) queue here and each sees the failures counted before it, so
    // no more PINs are tried than the lockout allows.
    let locked_until = store::badges::lock_for_login(&mut attempt.tx, user.badge_id).await?;
    if locked_until.is_some_and(|t| t > now) {
        return Err(attempt
            .refuse(
                Some(&user),
                badge,
                "badge locked",
                ApiError::Badge(ErrorCode::BadgeLocked),
            )
            .await);
    }

    let (last_pin_login, with_pin) = match body.pin {
        Some(pin) => {
            let Some(pin_hash) = user.pin_hash.clone() else {
                return Err(attempt
                    .refuse(
                        Some(&user),
                        badge,
                        "no PIN set",
                        ApiError::Badge(ErrorCode::BadgePinNotSet),
                    )
                    .await);
            };
            let verified = state
                .identity
                .hash_work(move || verify_password(pin.expose(), &pin_hash))
                .await?;
            if !verified {
                return Err(wrong_pin(attempt, &user).await);
            }
            store::badges::record_login(&mut attempt.tx, user.badge_id, user.user_id, true).await?;
            (now, true)
        }
        None => match policy.badge_alone(user.last_badge_pin_login_at, now) {
            Ok(()) => {
                store::badges::record_login(&mut attempt.tx, user.badge_id, user.user_id, false)
                    .await?;
                (user.last_badge_pin_login_at.unwrap_or(now), false)
            }
            Err(_) if user.pin_hash.is_none() => {
                return Err(attempt
                    .refuse(
                        Some(&user),
                        badge,
                        "no PIN set",
                        ApiError::Badge(ErrorCode::BadgePinNotSet),
                    )
                    .await);
            }
            Err(reason) => {
                return Err(attempt
                    .refuse(
                        Some(&user),
                        badge,
                        "PIN required",
                        ApiError::BadgePinRequired(reason),
                    )
                    .await);
            }
        },
    };

    let lifetime = chrono::Duration::from_std(state.token_ttl).unwrap_or(chrono::Duration::MAX);
    let expires_at = policy.session_expiry(last_pin_login, now, lifetime);
    let ttl_secs = (expires_at - now).num_milliseconds().max(1000) as f64 / 1000.0;
    let (token, token_hash) = new_token();
    let expires_at: chrono::DateTime<Utc> =
        sqlx::query_scalar("SELECT tend_token_issue($1, $2, make_interval(secs => $3))")
            .bind(&token_hash)
            .bind(user.user_id)
            .bind(ttl_secs)
            .fetch_one(&mut *attempt.tx)
            .await?;
    // The session on this device: what vouches for the records it pushes
    // in this user's name (see `api::sync`).
    store::device_sessions::insert(
        &mut attempt.tx,
        &store::device_sessions::NewSession {
            organization_id: device.organization_id,
            facility_id: device.facility_id,
            device_id: device.device_id,
            user_id: user.user_id,
            method: store::device_sessions::SessionMethod::Badge,
            started_at: now,
            ends_at: expires_at,
        },
    )
    .await?;
    let principal = crate::context::Principal {
        user_id: user.user_id,
        role,
        organization_id: device.organization_id,
        facility_id: user.facility_id,
    };
    let profile = store::users::get(&mut attempt.tx, principal.scope(), user.user_id, false)
        .await?
        .ok_or(ApiError::NotFound)?;
    let audit = attempt
        .audit(badge)
        .reason(if with_pin { "badge and PIN" } else { "badge" });
    attempt.record(Some(&user), &audit, "success").await?;
    attempt.tx.commit().await?;
    tracing::info!(
        user_id = user.user_id,
        device_id = device.device_id,
        cross_facility,
        with_pin,
        "badge login"
    );
    Ok(Json(LoginResponse {
        token,
        token_type: "Bearer".to_owned(),
        expires_at,
        user: profile,
    }))
}

/// Counts a wrong PIN; the fifth in a row locks the badge (and says so in the
/// audit trail).
async fn wrong_pin(mut attempt: Attempt, user: &LoginCandidate) -> ApiError {
    let max = i32::try_from(MAX_FAILED_PIN_ATTEMPTS).unwrap_or(5);
    let counted =
        store::badges::record_wrong_pin(&mut attempt.tx, user.badge_id, max, PIN_LOCKOUT).await;
    let (failed, locked) = match counted {
        Ok(Some(c)) => c,
        Ok(None) => {
            return attempt
                .refuse(
                    Some(user),
                    Some(user.badge_id),
                    "badge locked",
                    ApiError::Badge(ErrorCode::BadgeLocked),
                )
                .await
        }
        Err(e) => return e,
    };
    if locked {
        let audit = Audit::new("badge.locked", "badge")
            .resource(user.badge_id)
            .facility(attempt.device.organization_id, attempt.device.facility_id)
            .device(attempt.device.device_id)
            .reason("too many wrong PINs; locked for 15 minutes");
        if let Err(e) = attempt.record(Some(user), &audit, "denied").await {
            return e;
        }
        tracing::warn!(
            badge_id = user.badge_id,
            user_id = user.user_id,
            "badge locked"
        );
        return attempt
            .refuse(
                Some(user),
                Some(user.badge_id),
                "wrong PIN",
                ApiError::Badge(ErrorCode::BadgeLocked),
            )
            .await;
    }
    let attempts_left = MAX_FAILED_PIN_ATTEMPTS.saturating_sub(u32::try_from(failed).unwrap_or(0));
    attempt
        .refuse(
            Some(user),
            Some(user.badge_id),
            "wrong PIN",
            ApiError::BadgePinWrong { attempts_left },
        )
        .await
}
