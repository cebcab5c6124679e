//! Device management (admins): register, list, read, update, deactivate.
//! Self-registration and approval are in `enrollment`, heartbeats in `device_auth`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use tend_domain::wire::{CreateDevice, Device, DevicePage, ErrorBody, UpdateDevice};
use tend_domain::{DeviceStatus, DeviceType};
use utoipa::IntoParams;

use super::facilities::{facility_in_scope, list_audit};
use crate::context::{admin, Audit, Ctx, Scope};
use crate::error::{ApiError, Result};
use crate::extract::{ApiJson, ApiQuery, Id};
use crate::store;
use crate::store::devices::{Fields, Filter};
use crate::validate::{cursor, Validator};
use crate::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeviceQuery {
    pub facility_id: Option<i64>,
    pub status: Option<DeviceStatus>,
    pub device_type: Option<DeviceType>,
    pub is_active: Option<bool>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
}

/// Devices visible to the caller (admins).
#[utoipa::path(get, path = "/api/devices", tag = "devices", params(DeviceQuery),
    responses(
        (status = 200, description = "A page of devices", body = DevicePage),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not manage devices", body = ErrorBody),
        (status = 404, description = "Facility not found in your scope", body = ErrorBody),
        (status = 422, description = "Bad query parameter", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_devices(
    mut ctx: Ctx,
    ApiQuery(q): ApiQuery<DeviceQuery>,
) -> Result<Json<DevicePage>> {
    let audit = list_audit(&mut ctx, "device.list", "device", q.facility_id).await?;
    ctx = ctx.require(admin).await?;
    let after = cursor::decode(q.cursor.as_deref())?;
    let limit = cursor::limit(q.limit)?;
    let filter = Filter {
        facility_id: q.facility_id,
        status: q.status,
        device_type: q.device_type,
        is_active: q.is_active,
    };
    let rows =
        store::devices::list(&mut ctx.tx, ctx.principal.scope(), &filter, after, limit).await?;
    let (items, next_cursor) = cursor::page(rows, limit, |d| d.id);
    ctx.audit_read(audit).await?;
    ctx.finish_read().await?;
    Ok(Json(DevicePage { items, next_cursor }))
}

/// Register a device to a facility (admins). It starts ACTIVE.
#[utoipa::path(post, path = "/api/devices", tag = "devices", request_body = CreateDevice,
    responses(
        (status = 201, description = "Registered", body = Device),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not manage devices", body = ErrorBody),
        (status = 404, description = "Facility not found in your scope", body = ErrorBody),
        (status = 409, description = "device_uuid already registered", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_device(
    mut ctx: Ctx,
    ApiJson(body): ApiJson<CreateDevice>,
) -> Result<(StatusCode, Json<Device>)> {
    let org = facility_in_scope(&mut ctx, body.facility_id).await?;
    ctx = ctx.require(admin).await?;
    let mut v = Validator::new();
    let fields = Fields {
        organization_id: org,
        facility_id: body.facility_id,
        device_name: v.text("device_name", &body.device_name, 200),
        device_type: body.device_type,
        device_uuid: body.device_uuid.as_uuid(),
        mac_address: body.mac_address.map(|m| m.to_string()),
        encryption_enabled: body.encryption_enabled.unwrap_or(false),
        encryption_required: body.encryption_required.unwrap_or(true),
        app_version: v.opt_text("app_version", body.app_version.as_deref(), 64),
        status: DeviceStatus::Active,
        is_active: true,
        last_security_audit: None,
    };
    v.finish()?;
    let device = store::devices::insert(&mut ctx.tx, &fields).await?;
    ctx.audit_write(
        Audit::new("device.create", "device")
            .resource(device.id)
            .facility(org, device.facility_id),
    )
    .await?;
    ctx.commit().await?;
    Ok((StatusCode::CREATED, Json(device)))
}

/// One device (admins).
#[utoipa::path(get, path = "/api/devices/{id}", tag = "devices",
    params(("id" = i64, Path, description = "Device id")),
    responses(
        (status = 200, description = "The device", body = Device),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not manage devices", body = ErrorBody),
        (status = 404, description = "Not found in your scope", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_device(mut ctx: Ctx, Id(id): Id) -> Result<Json<Device>> {
    let device = store::devices::get(&mut ctx.tx, ctx.principal.scope(), id, false)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx = ctx.require(admin).await?;
    ctx.audit_read(
        Audit::new("device.read", "device")
            .resource(id)
            .facility(device.organization_id, device.facility_id),
    )
    .await?;
    ctx.finish_read().await?;
    Ok(Json(device))
}

/// Update a device (admins). An organization or platform administrator may
/// move it to another facility of its organization (`facility_id`): its
/// tokens are revoked at once, the move is audited in both facilities, and
/// the device follows (it uploads what it wrote for the old facility, which
/// is filed there, erases that facility's data and pulls the new one).
#[utoipa::path(put, path = "/api/devices/{id}", tag = "devices", request_body = UpdateDevice,
    params(("id" = i64, Path, description = "Device id")),
    responses(
        (status = 200, description = "Updated", body = Device),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not manage devices, or a facility administrator tried to move one to another facility", body = ErrorBody),
        (status = 404, description = "Device not found in your scope", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields; `facility_id` names a facility outside your scope or of another organization", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_device(
    State(state): State<AppState>,
    mut ctx: Ctx,
    Id(id): Id,
    ApiJson(body): ApiJson<UpdateDevice>,
) -> Result<Json<Device>> {
    let current = store::devices::get(&mut ctx.tx, ctx.principal.scope(), id, true)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx = ctx.require(admin).await?;
    let mut v = Validator::new();
    let facility_id = match body.facility_id {
        Some(f) if f != current.facility_id => {
            // A move needs a scope that covers both facilities: an
            // organization (or platform) administrator's.
            if matches!(ctx.scope(), Scope::Facility { .. }) {
                return Err(ctx
                    .deny_because(
                        "a facility administrator cannot move a device to another facility; \
                         ask an organization administrator",
                    )
                    .await);
            }
            match facility_in_scope(&mut ctx, f).await {
                Ok(org) if org != current.organization_id => v.add(
                    "facility_id",
                    "a device cannot move to another organization",
                ),
                Ok(_) => {}
                Err(ApiError::NotFound) => v.add("facility_id", "no such facility in your scope"),
                Err(e) => return Err(e),
            }
            f
        }
        _ => current.facility_id,
    };
    let moved_from = (facility_id != current.facility_id).then_some(current.facility_id);
    let device_uuid = uuid::Uuid::parse_str(&current.device_uuid).map_err(ApiError::internal)?;
    let fields = Fields {
        organization_id: current.organization_id,
        facility_id,
        device_name: match &body.device_name {
            Some(n) => v.text("device_name", n, 200),
            None => current.device_name,
        },
        device_type: body.device_type.unwrap_or(current.device_type),
        device_uuid,
        mac_address: match body.mac_address {
            Some(m) => m.map(|m| m.to_string()),
            None => current.mac_address,
        },
        encryption_enabled: body
            .encryption_enabled
            .unwrap_or(current.encryption_enabled),
        encryption_required: body
            .encryption_required
            .unwrap_or(current.encryption_required),
        app_version: match &body.app_version {
            Some(a) => v.opt_text("app_version", a.as_deref(), 64),
            None => current.app_version,
        },
        status: current.status,
        is_active: current.is_active,
        last_security_audit: body.last_security_audit.or(current.last_security_audit),
    };
    v.finish()?;
    let device = store::devices::update(&mut ctx.tx, id, &fields).await?;
    let Some(from) = moved_from else {
        ctx.audit_write(
            Audit::new("device.update", "device")
                .resource(id)
                .facility(device.organization_id, device.facility_id),
        )
        .await?;
        ctx.commit().await?;
        return Ok(Json(device));
    };
    // A move: the device's tokens (which name the old facility) die with
    // this transaction, so its next request authenticates anew and learns
    // where it is now (see docs/kiosk.md). The facility it left is kept for
    // the documentation still in its outbox.
    store::devices::record_move(&mut ctx.tx, id, from).await?;
    let revoked = state.identity.revoke_device(&mut ctx.tx, id).await?;
    let reason = format!(
        "moved from facility {from} to facility {}",
        device.facility_id
    );
    // One row per facility, so each facility's audit trail shows it.
    ctx.audit_write(
        Audit::new("device.move", "device")
            .resource(id)
            .facility(device.organization_id, from)
            .reason(&reason),
    )
    .await?;
    ctx.audit_write(
        Audit::new("device.move", "device")
            .resource(id)
            .facility(device.organization_id, device.facility_id)
            .reason(&reason),
    )
    .await?;
    ctx.commit().await?;
    revoked.committed();
    tracing::info!(
        device_id = id,
        from,
        to = device.facility_id,
        "device moved"
    );
    Ok(Json(device))
}

/// Deactivate a device (admins): it can no longer authenticate and must enroll again.
#[utoipa::path(post, path = "/api/devices/{id}/deactivate", tag = "devices",
    params(("id" = i64, Path, description = "Device id")),
    responses(
        (status = 200, description = "Deactivated", body = Device),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not manage devices", body = ErrorBody),
        (status = 404, description = "Not found in your scope", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn deactivate_device(
    State(state): State<AppState>,
    mut ctx: Ctx,
    Id(id): Id,
) -> Result<Json<Device>> {
    let current = store::devices::get(&mut ctx.tx, ctx.principal.scope(), id, true)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx = ctx.require(admin).await?;
    let fields = Fields {
        organization_id: current.organization_id,
        facility_id: current.facility_id,
        device_name: current.device_name,
        device_type: current.device_type,
        device_uuid: uuid::Uuid::parse_str(&current.device_uuid).map_err(ApiError::internal)?,
        mac_address: current.mac_address,
        encryption_enabled: current.encryption_enabled,
        encryption_required: current.encryption_required,
        app_version: current.app_version,
        status: DeviceStatus::Deactivated,
        is_active: false,
        last_security_audit: current.last_security_audit,
    };
    let device = store::devices::update(&mut ctx.tx, id, &fields).await?;
    // Every device token dies with this transaction.
    let revoked = state.identity.revoke_device(&mut ctx.tx, id).await?;
    ctx.audit_write(
        Audit::new("device.deactivate", "device")
            .resource(id)
            .facility(device.organization_id, device.facility_id),
    )
    .await?;
    ctx.commit().await?;
    revoked.committed();
    Ok(Json(device))
}
