//! Users' badges and PINs: admins assign, list and revoke badges (each one an
//! audit event); a user sets their own PIN, or an admin sets it for them.
//! Badge values arrive as read by a reader and are kept only as keyed hashes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use tend_badge::BadgeUid;
use tend_domain::wire::{AssignBadge, Badge, BadgePage, ErrorBody, PinSet, SetPin, User};

use super::users::CREDENTIALS_OF_PEER;
use super::PageQuery;
use crate::auth::hash_password;
use crate::context::{admin, Audit, Ctx};
use crate::error::{ApiError, Result};
use crate::extract::{ApiJson, ApiQuery, Id};
use crate::store;
use crate::validate::{cursor, Validator};
use crate::AppState;

/// The user, if visible to the caller (404 otherwise, as for any foreign id).
async fn user_in_scope(ctx: &mut Ctx, user_id: i64) -> Result<User> {
    store::users::get(&mut ctx.tx, ctx.principal.scope(), user_id, false)
        .await?
        .ok_or(ApiError::NotFound)
}

/// An admin who may manage this user's role, or a refusal on the record.
async fn require_manager(ctx: Ctx, user: &User) -> Result<Ctx> {
    let ctx = ctx.require(admin).await?;
    if ctx.principal.can_manage_role(user.role) {
        Ok(ctx)
    } else {
        Err(ctx.deny().await)
    }
}

/// [`require_manager`] for what signs a user in (their PIN, their badges):
/// only the user or a strictly higher role; a peer admin is refused (audited).
async fn require_credential_setter(ctx: Ctx, user: &User) -> Result<Ctx> {
    let ctx = require_manager(ctx, user).await?;
    if ctx.principal.may_set_credentials_of(user.id, user.role) {
        Ok(ctx)
    } else {
        Err(ctx.deny_because(CREDENTIALS_OF_PEER).await)
    }
}

/// Parses a badge value as read by a reader, reporting problems on `field`.
/// The value itself never appears in the message.
pub(crate) fn parse_badge_uid(v: &mut Validator, field: &str, value: &str) -> Option<BadgeUid> {
    match BadgeUid::parse(value) {
        Ok(uid) => Some(uid),
        Err(e) => {
            v.add(field, e.message);
            None
        }
    }
}

/// Two path ids (`/users/{id}/badges/{badge_id}`); anything else is a 404.
fn two_ids((first, second): &(String, String)) -> Result<(i64, i64)> {
    let id = |s: &str| {
        s.parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or(ApiError::NotFound)
    };
    Ok((id(first)?, id(second)?))
}

/// A user's badges, revoked ones included (admins; audited).
#[utoipa::path(get, path = "/api/users/{id}/badges", tag = "badges",
    params(("id" = i64, Path, description = "User id"), PageQuery),
    responses(
        (status = 200, description = "A page of badges", body = BadgePage),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not manage badges", body = ErrorBody),
        (status = 404, description = "User not found in your scope", body = ErrorBody),
        (status = 422, description = "Bad query parameter", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_badges(
    mut ctx: Ctx,
    Id(user_id): Id,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<BadgePage>> {
    let user = user_in_scope(&mut ctx, user_id).await?;
    ctx = ctx.require(admin).await?;
    let after = cursor::decode(q.cursor.as_deref())?;
    let limit = cursor::limit(q.limit)?;
    let rows = store::badges::list(&mut ctx.tx, user_id, after, limit).await?;
    let (items, next_cursor) = cursor::page(rows, limit, |b| b.id);
    // Who looked at whose badges is always on the record, not only across facilities.
    ctx.audit_write(
        Audit::new("badge.list", "user")
            .resource(user_id)
            .facility(user.organization_id, user.facility_id),
    )
    .await?;
    ctx.commit().await?;
    Ok(Json(BadgePage { items, next_cursor }))
}

/// Assign a badge to a user (admins; no role above your own). Assigning a
/// badge the user already holds changes nothing (200).
#[utoipa::path(post, path = "/api/users/{id}/badges", tag = "badges", request_body = AssignBadge,
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The user already holds this badge", body = Badge),
        (status = 201, description = "Assigned", body = Badge),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not manage this user's badges (only a higher role may assign a badge to an administrator)", body = ErrorBody),
        (status = 404, description = "User not found in your scope", body = ErrorBody),
        (status = 409, description = "The badge is active for someone else in the organization", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn assign_badge(
    mut ctx: Ctx,
    Id(user_id): Id,
    ApiJson(body): ApiJson<AssignBadge>,
) -> Result<(StatusCode, Json<Badge>)> {
    let user = user_in_scope(&mut ctx, user_id).await?;
    ctx = require_credential_setter(ctx, &user).await?;
    let mut v = Validator::new();
    let uid = parse_badge_uid(&mut v, "badge_uid", body.badge_uid.expose());
    let label = v.opt_text("label", body.label.as_deref(), 100);
    v.finish()?;
    let uid = uid.ok_or_else(|| ApiError::internal(anyhow::anyhow!("validated above")))?;
    let key = store::badges::key_or_create(&mut ctx.tx, user.organization_id).await?;
    let hash = uid.keyed_hash(&key);
    let existing =
        store::badges::active_for_user(&mut ctx.tx, user.organization_id, hash.as_bytes(), user_id)
            .await?;
    let (status, badge) = match existing {
        Some(badge) => (StatusCode::OK, badge),
        None => {
            let badge = store::badges::insert(
                &mut ctx.tx,
                &store::badges::NewBadge {
                    organization_id: user.organization_id,
                    facility_id: user.facility_id,
                    user_id,
                    badge_hash: hash.as_bytes(),
                    label: label.as_deref(),
                    created_by: ctx.principal.user_id,
                },
            )
            .await?;
            (StatusCode::CREATED, badge)
        }
    };
    let audit = Audit::new("badge.assign", "badge")
        .resource(badge.id)
        .facility(user.organization_id, user.facility_id);
    ctx.audit_write(if status == StatusCode::OK {
        audit.reason("already assigned to this user")
    } else {
        audit
    })
    .await?;
    ctx.commit().await?;
    tracing::info!(user_id, badge_id = badge.id, "badge assigned");
    Ok((status, Json(badge)))
}

/// Revoke a badge in one action (admins; no role above your own): it stops
/// working at the next badge login. Revoking twice is harmless.
#[utoipa::path(post, path = "/api/users/{id}/badges/{badge_id}/revoke", tag = "badges",
    params(("id" = i64, Path, description = "User id"), ("badge_id" = i64, Path, description = "Badge id")),
    responses(
        (status = 200, description = "Revoked", body = Badge),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not manage this user's badges", body = ErrorBody),
        (status = 404, description = "User or badge not found in your scope", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke_badge(mut ctx: Ctx, Path(ids): Path<(String, String)>) -> Result<Json<Badge>> {
    let (user_id, badge_id) = two_ids(&ids)?;
    let user = user_in_scope(&mut ctx, user_id).await?;
    ctx = require_manager(ctx, &user).await?;
    let by = ctx.principal.user_id;
    let badge = store::badges::revoke(&mut ctx.tx, user_id, badge_id, by)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx.audit_write(
        Audit::new("badge.revoke", "badge")
            .resource(badge_id)
            .facility(user.organization_id, user.facility_id),
    )
    .await?;
    ctx.commit().await?;
    tracing::info!(user_id, badge_id, "badge revoked");
    Ok(Json(badge))
}

/// Set or replace a user's PIN: the user themself, or an admin (no role above
/// your own). The user's badges are unlocked and the next badge login asks
/// for the new PIN.
#[utoipa::path(put, path = "/api/users/{id}/pin", tag = "badges", request_body = SetPin,
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "PIN set", body = PinSet),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not set this user's PIN (only the user or a higher role)", body = ErrorBody),
        (status = 404, description = "User not found in your scope", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid PIN", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_pin(
    State(state): State<AppState>,
    mut ctx: Ctx,
    Id(user_id): Id,
    ApiJson(body): ApiJson<SetPin>,
) -> Result<Json<PinSet>> {
    let user = user_in_scope(&mut ctx, user_id).await?;
    if user_id != ctx.principal.user_id {
        ctx = require_credential_setter(ctx, &user).await?;
    }
    tend_domain::Pin::parse_new(body.pin.expose())?;
    // The length the user's facility asks for (its policy).
    store::facilities::policy(&mut ctx.tx, user.facility_id)
        .await?
        .check_pin_length(body.pin.expose())?;
    let pin = body.pin;
    // argon2 is deliberately slow: off the async workers, and bounded.
    let hash = state
        .identity
        .hash_work(move || hash_password(pin.expose()))
        .await??;
    let pin_set_at = store::badges::set_pin(&mut ctx.tx, user_id, &hash).await?;
    ctx.audit_write(
        Audit::new("user.pin_set", "user")
            .resource(user_id)
            .facility(user.organization_id, user.facility_id),
    )
    .await?;
    ctx.commit().await?;
    Ok(Json(PinSet {
        user_id,
        pin_set_at,
    }))
}
