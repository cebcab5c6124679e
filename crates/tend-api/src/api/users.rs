//! Staff accounts (admins). A facility admin manages its facility's staff;
//! nobody grants a role above their own.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use tend_domain::wire::{CreateUser, ErrorBody, SetLanguage, UpdateUser, User, UserPage};
use tend_domain::Role;
use utoipa::IntoParams;

use super::facilities::{facility_in_scope, list_audit};
use crate::auth::{check_password_rules, hash_password};
use crate::context::{admin, Audit, Ctx};
use crate::error::{ApiError, Result};
use crate::extract::{ApiJson, ApiQuery, Id};
use crate::store;
use crate::store::users::{Fields, Filter};
use crate::validate::{cursor, Validator};
use crate::AppState;

async fn hash_off_thread(state: &AppState, password: tend_domain::wire::Secret) -> Result<String> {
    state
        .identity
        .hash_work(move || hash_password(password.expose()))
        .await?
}

/// The refusal when someone tries to take over a peer's or superior's sign-in.
pub(crate) const CREDENTIALS_OF_PEER: &str =
    "only a higher role may set another administrator's password or PIN, or assign them a badge";

/// Revokes every session token of `user_id` except `keep` (the caller's own);
/// how many were revoked.
pub(crate) async fn revoke_sessions(
    ctx: &mut Ctx,
    user_id: i64,
    keep: Option<&[u8]>,
) -> Result<i32> {
    Ok(sqlx::query_scalar("SELECT tend_user_tokens_revoke($1, $2)")
        .bind(user_id)
        .bind(keep)
        .fetch_one(&mut *ctx.tx)
        .await?)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    pub facility_id: Option<i64>,
    pub role: Option<Role>,
    pub is_active: Option<bool>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
}

/// Users visible to the caller (admins).
#[utoipa::path(get, path = "/api/users", tag = "users", params(UserQuery),
    responses(
        (status = 200, description = "A page of users", body = UserPage),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not manage users", body = ErrorBody),
        (status = 404, description = "Facility not found in your scope", body = ErrorBody),
        (status = 422, description = "Bad query parameter", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_users(mut ctx: Ctx, ApiQuery(q): ApiQuery<UserQuery>) -> Result<Json<UserPage>> {
    let audit = list_audit(&mut ctx, "user.list", "user", q.facility_id).await?;
    ctx = ctx.require(admin).await?;
    let after = cursor::decode(q.cursor.as_deref())?;
    let limit = cursor::limit(q.limit)?;
    let filter = Filter {
        facility_id: q.facility_id,
        role: q.role,
        is_active: q.is_active,
    };
    let rows =
        store::users::list(&mut ctx.tx, ctx.principal.scope(), &filter, after, limit).await?;
    let (items, next_cursor) = cursor::page(rows, limit, |u| u.id);
    ctx.audit_read(audit).await?;
    ctx.finish_read().await?;
    Ok(Json(UserPage { items, next_cursor }))
}

/// Create a user in a facility (admins; no role above your own).
#[utoipa::path(post, path = "/api/users", tag = "users", request_body = CreateUser,
    responses(
        (status = 201, description = "Created", body = User),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not create this user", body = ErrorBody),
        (status = 404, description = "Facility not found in your scope", body = ErrorBody),
        (status = 409, description = "employee_id or username taken", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_user(
    State(state): State<AppState>,
    mut ctx: Ctx,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<(StatusCode, Json<User>)> {
    let org = facility_in_scope(&mut ctx, body.facility_id).await?;
    ctx = ctx.require(admin).await?;
    if !ctx.principal.can_manage_role(body.role) {
        return Err(ctx.deny().await);
    }
    let mut v = Validator::new();
    let fields = Fields {
        organization_id: org,
        facility_id: body.facility_id,
        employee_id: v.text("employee_id", &body.employee_id, 64),
        username: v.username("username", &body.username),
        full_name: v.text("full_name", &body.full_name, 200),
        email: v.email("email", body.email.as_deref()),
        role: body.role,
        is_active: true,
        preferred_language: body.preferred_language,
    };
    if let Err(msg) = check_password_rules(body.password.expose()) {
        v.add("password", msg);
    }
    v.finish()?;
    let hash = hash_off_thread(&state, body.password).await?;
    let user = store::users::insert(&mut ctx.tx, &fields, &hash).await?;
    ctx.audit_write(
        Audit::new("user.create", "user")
            .resource(user.id)
            .facility(org, user.facility_id),
    )
    .await?;
    ctx.commit().await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// One user (admins, or the user themself).
#[utoipa::path(get, path = "/api/users/{id}", tag = "users",
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = User),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not read other users", body = ErrorBody),
        (status = 404, description = "Not found in your scope", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_user(mut ctx: Ctx, Id(id): Id) -> Result<Json<User>> {
    let user = store::users::get(&mut ctx.tx, ctx.principal.scope(), id, false)
        .await?
        .ok_or(ApiError::NotFound)?;
    if id != ctx.principal.user_id {
        ctx = ctx.require(admin).await?;
    }
    ctx.audit_read(
        Audit::new("user.read", "user")
            .resource(id)
            .facility(user.organization_id, user.facility_id),
    )
    .await?;
    ctx.finish_read().await?;
    Ok(Json(user))
}

/// Update a user (admins; no role above your own). The organization never changes.
#[utoipa::path(put, path = "/api/users/{id}", tag = "users", request_body = UpdateUser,
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "Updated", body = User),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not change this user (a password: only the user or a higher role)", body = ErrorBody),
        (status = 404, description = "User or target facility not found in your scope", body = ErrorBody),
        (status = 409, description = "employee_id taken", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_user(
    State(state): State<AppState>,
    mut ctx: Ctx,
    Id(id): Id,
    ApiJson(body): ApiJson<UpdateUser>,
) -> Result<Json<User>> {
    let current = store::users::get(&mut ctx.tx, ctx.principal.scope(), id, true)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx = ctx.require(admin).await?;
    let role = body.role.unwrap_or(current.role);
    if !ctx.principal.can_manage_role(current.role) || !ctx.principal.can_manage_role(role) {
        return Err(ctx.deny().await);
    }
    if body.password.is_some() && !ctx.principal.may_set_credentials_of(id, current.role) {
        return Err(ctx.deny_because(CREDENTIALS_OF_PEER).await);
    }
    let mut v = Validator::new();
    let facility_id = match body.facility_id {
        Some(f) if f != current.facility_id => {
            let org = facility_in_scope(&mut ctx, f).await?;
            if org != current.organization_id {
                v.add("facility_id", "a user cannot move to another organization");
            }
            f
        }
        _ => current.facility_id,
    };
    let fields = Fields {
        organization_id: current.organization_id,
        facility_id,
        employee_id: match &body.employee_id {
            Some(e) => v.text("employee_id", e, 64),
            None => current.employee_id,
        },
        username: current.username,
        full_name: match &body.full_name {
            Some(n) => v.text("full_name", n, 200),
            None => current.full_name,
        },
        email: match &body.email {
            Some(e) => v.email("email", e.as_deref()),
            None => current.email,
        },
        role,
        is_active: body.is_active.unwrap_or(current.is_active),
        preferred_language: body
            .preferred_language
            .unwrap_or(current.preferred_language),
    };
    if let Some(p) = &body.password {
        if let Err(msg) = check_password_rules(p.expose()) {
            v.add("password", msg);
        }
    }
    v.finish()?;
    let hash = match body.password {
        Some(p) => Some(hash_off_thread(&state, p).await?),
        None => None,
    };
    let user = store::users::update(&mut ctx.tx, id, &fields, hash.as_deref()).await?;
    ctx.audit_write(
        Audit::new("user.update", "user")
            .resource(id)
            .facility(user.organization_id, user.facility_id),
    )
    .await?;
    if hash.is_some() {
        // A new password ends the sessions the old one opened (the caller's own stays).
        let keep = (id == ctx.principal.user_id).then(|| ctx.token_hash.clone());
        let revoked = revoke_sessions(&mut ctx, id, keep.as_deref()).await?;
        if revoked > 0 {
            let reason = format!("password changed; {revoked} other session(s) ended");
            ctx.audit_write(
                Audit::new("user.sessions_revoked", "user")
                    .resource(id)
                    .facility(user.organization_id, user.facility_id)
                    .reason(&reason),
            )
            .await?;
        }
    }
    ctx.commit().await?;
    Ok(Json(user))
}

/// Set your own language (any role, for yourself only): the screens of every
/// device you sign in to follow it; `null` leaves it to each device.
#[utoipa::path(put, path = "/api/users/me/language", tag = "users", request_body = SetLanguage,
    responses(
        (status = 200, description = "Your account with its new language", body = User),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Unknown language", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_my_language(
    mut ctx: Ctx,
    ApiJson(body): ApiJson<SetLanguage>,
) -> Result<Json<User>> {
    let p = ctx.principal;
    // Your own row, whatever your role: no admin check, and no other id.
    store::users::get(&mut ctx.tx, p.scope(), p.user_id, true)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let user = store::users::set_language(&mut ctx.tx, p.user_id, body.language).await?;
    let reason = format!(
        "language {}",
        body.language.map_or("none", tend_domain::Language::as_str)
    );
    ctx.audit_write(
        Audit::new("user.language", "user")
            .resource(p.user_id)
            .facility(user.organization_id, user.facility_id)
            .reason(&reason),
    )
    .await?;
    ctx.commit().await?;
    Ok(Json(user))
}

/// End every session of a user (admins who may manage the user): all their
/// login tokens are revoked at once, on every API instance.
#[utoipa::path(post, path = "/api/users/{id}/sign-out-everywhere", tag = "users",
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 204, description = "Every session of the user ended"),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not manage this user", body = ErrorBody),
        (status = 404, description = "Not found in your scope", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn sign_out_user_everywhere(mut ctx: Ctx, Id(id): Id) -> Result<StatusCode> {
    let user = store::users::get(&mut ctx.tx, ctx.principal.scope(), id, false)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx = ctx.require(admin).await?;
    if !ctx.principal.can_manage_role(user.role) {
        return Err(ctx.deny().await);
    }
    let revoked = revoke_sessions(&mut ctx, id, None).await?;
    let reason = format!("{revoked} session(s) ended");
    ctx.audit_write(
        Audit::new("user.sign_out_everywhere", "user")
            .resource(id)
            .facility(user.organization_id, user.facility_id)
            .reason(&reason),
    )
    .await?;
    ctx.commit().await?;
    tracing::info!(user_id = id, revoked, "signed out everywhere by an admin");
    Ok(StatusCode::NO_CONTENT)
}
