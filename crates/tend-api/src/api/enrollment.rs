//! Enrollment: admins issue codes per facility; devices register themselves
//! with a code (ACTIVE at once) or, when an admin pre-registered their
//! device_uuid, without one (PENDING until approved or rejected).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::Utc;
use tend_domain::wire::{
    CreateEnrollmentCode, CreatedEnrollmentCode, Device, EnrollDevice, EnrollmentCode,
    EnrollmentCodePage, ErrorBody,
};
use tend_domain::{DeviceStatus, ErrorCode};

use super::facilities::facility_in_scope;
use super::PageQuery;
use crate::context::{admin, set_scope, Audit, Ctx, Scope};
use crate::error::{ApiError, Result};
use crate::extract::{ApiJson, ApiQuery, Id};
use crate::identity::limits::Bucket;
use crate::identity::{codes, refusal_for_status, ClientAddress};
use crate::store;
use crate::store::enrollment::{DeviceAudit, Enrollment};
use crate::validate::{cursor, Validator};
use crate::AppState;

/// Longest a code may live.
const MAX_EXPIRY_HOURS: i64 = 720;
const MAX_USES: i32 = 1000;

/// Create an enrollment code for a facility (admins). The code is in this answer only.
#[utoipa::path(post, path = "/api/facilities/{id}/enrollment-codes", tag = "enrollment",
    request_body = CreateEnrollmentCode,
    params(("id" = i64, Path, description = "Facility id")),
    responses(
        (status = 201, description = "Created; `code` is shown this once", body = CreatedEnrollmentCode),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not manage devices", body = ErrorBody),
        (status = 404, description = "Facility not found in your scope", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_enrollment_code(
    mut ctx: Ctx,
    Id(facility_id): Id,
    ApiJson(body): ApiJson<CreateEnrollmentCode>,
) -> Result<(StatusCode, Json<CreatedEnrollmentCode>)> {
    let org = facility_in_scope(&mut ctx, facility_id).await?;
    ctx = ctx.require(admin).await?;
    let mut v = Validator::new();
    let hours = body.expires_in_hours.unwrap_or(24);
    if !(1..=MAX_EXPIRY_HOURS).contains(&hours) {
        v.add(
            "expires_in_hours",
            format!("must be between 1 and {MAX_EXPIRY_HOURS}"),
        );
    }
    let max_uses = body.max_uses.unwrap_or(1);
    if !(1..=MAX_USES).contains(&max_uses) {
        v.add("max_uses", format!("must be between 1 and {MAX_USES}"));
    }
    v.finish()?;
    let (code, hash) = codes::new_code();
    let hint = code.hint().to_owned();
    let created = store::enrollment::insert(
        &mut ctx.tx,
        &store::enrollment::NewCode {
            organization_id: org,
            facility_id,
            code_hash: &hash,
            code_hint: &hint,
            device_type: body.device_type,
            max_uses,
            expires_in_hours: hours,
            created_by: ctx.principal.user_id,
        },
    )
    .await?;
    ctx.audit_write(
        Audit::new("enrollment_code.create", "enrollment_code")
            .resource(created.id)
            .facility(org, facility_id),
    )
    .await?;
    ctx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedEnrollmentCode {
            code: code.display(),
            enrollment_code: created,
        }),
    ))
}

/// A facility's enrollment codes (admins), without the codes themselves.
#[utoipa::path(get, path = "/api/facilities/{id}/enrollment-codes", tag = "enrollment",
    params(("id" = i64, Path, description = "Facility id"), PageQuery),
    responses(
        (status = 200, description = "A page of codes", body = EnrollmentCodePage),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not manage devices", body = ErrorBody),
        (status = 404, description = "Facility not found in your scope", body = ErrorBody),
        (status = 422, description = "Bad query parameter", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_enrollment_codes(
    mut ctx: Ctx,
    Id(facility_id): Id,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<EnrollmentCodePage>> {
    let org = facility_in_scope(&mut ctx, facility_id).await?;
    ctx = ctx.require(admin).await?;
    let after = cursor::decode(q.cursor.as_deref())?;
    let limit = cursor::limit(q.limit)?;
    let rows = store::enrollment::list(&mut ctx.tx, facility_id, after, limit).await?;
    let (items, next_cursor) = cursor::page(rows, limit, |c| c.id);
    ctx.audit_read(
        Audit::new("enrollment_code.list", "enrollment_code").facility(org, facility_id),
    )
    .await?;
    ctx.finish_read().await?;
    Ok(Json(EnrollmentCodePage { items, next_cursor }))
}

/// Revoke an enrollment code (admins); revoking twice is harmless.
#[utoipa::path(post, path = "/api/facilities/{id}/enrollment-codes/{code_id}/revoke", tag = "enrollment",
    params(("id" = i64, Path, description = "Facility id"), ("code_id" = i64, Path, description = "Enrollment code id")),
    responses(
        (status = 200, description = "Revoked", body = EnrollmentCode),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not manage devices", body = ErrorBody),
        (status = 404, description = "Facility or code not found in your scope", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke_enrollment_code(
    mut ctx: Ctx,
    Path((facility_id, code_id)): Path<(String, String)>,
) -> Result<Json<EnrollmentCode>> {
    let id = |s: &str| {
        s.parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or(ApiError::NotFound)
    };
    let (facility_id, code_id) = (id(&facility_id)?, id(&code_id)?);
    let org = facility_in_scope(&mut ctx, facility_id).await?;
    ctx = ctx.require(admin).await?;
    let code = store::enrollment::revoke(&mut ctx.tx, facility_id, code_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx.audit_write(
        Audit::new("enrollment_code.revoke", "enrollment_code")
            .resource(code_id)
            .facility(org, facility_id),
    )
    .await?;
    ctx.commit().await?;
    Ok(Json(code))
}

fn decode_public_key(v: &mut Validator, key: &str) -> String {
    let ok = STANDARD
        .decode(key.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| ed25519_dalek::VerifyingKey::from_bytes(&b).ok())
        .is_some_and(|k| !k.is_weak());
    if !ok {
        v.add(
            "public_key",
            "must be an Ed25519 public key: standard base64 of 32 bytes",
        );
    }
    key.trim().to_owned()
}

/// Self-registration of a device (unauthenticated, rate-limited).
///
/// With a valid `enrollment_code` the device becomes ACTIVE in the code's
/// facility. Without one, a device an admin pre-registered (same
/// device_uuid) binds its key and waits PENDING for approval. A device_uuid
/// already enrolled with another key is a suspected clone: 409, flagged and audited.
#[utoipa::path(post, path = "/api/devices/enroll", tag = "enrollment", request_body = EnrollDevice,
    responses(
        (status = 200, description = "Already enrolled with this key; nothing changed", body = Device),
        (status = 201, description = "Enrolled (ACTIVE with a code, PENDING without)", body = Device),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "This device was rejected (DEVICE_REJECTED)", body = ErrorBody),
        (status = 403, description = "Code invalid, expired, revoked or used up, or a code is required", body = ErrorBody),
        (status = 409, description = "device_uuid enrolled with another key (DEVICE_CLONE_CONFLICT), or registered in another organization", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        (status = 429, description = "Too many attempts from this address or with this code", body = ErrorBody)))]
pub async fn enroll_device(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    ApiJson(body): ApiJson<EnrollDevice>,
) -> Result<(StatusCode, Json<Device>)> {
    let limits = &state.identity.limits;
    let address_key = address.as_deref().unwrap_or("-");
    if !limits
        .take(&state.pool, Bucket::EnrollAddress, address_key.as_bytes())
        .await?
    {
        return Err(ApiError::RateLimited);
    }
    let mut v = Validator::new();
    let device_name = v.text("device_name", &body.device_name, 200);
    let public_key = decode_public_key(&mut v, &body.public_key);
    let os = v.opt_text("os", body.os.as_deref(), 100);
    let app_version = v.opt_text("app_version", body.app_version.as_deref(), 64);
    let identity_source = v.opt_text("identity_source", body.identity_source.as_deref(), 64);
    v.finish()?;
    let device_uuid = body.device_uuid.as_uuid();
    // The per-code limit is taken before the transaction opens: it needs a
    // connection of its own (and commits whatever this request does).
    let code_hash = match &body.enrollment_code {
        Some(secret) => {
            let code = tend_domain::EnrollmentCode::parse(secret.expose())
                .map_err(|_| ApiError::Enrollment(ErrorCode::EnrollmentCodeInvalid))?;
            let hash = codes::code_hash(&code);
            if !limits.take(&state.pool, Bucket::EnrollCode, &hash).await? {
                return Err(ApiError::RateLimited);
            }
            Some(hash)
        }
        None => None,
    };
    let mut tx = state.pool.begin().await?;
    let code = match &code_hash {
        Some(hash) => {
            let code = store::enrollment::lookup_code(&mut tx, hash)
                .await?
                .ok_or(ApiError::Enrollment(ErrorCode::EnrollmentCodeInvalid))?;
            if code.revoked_at.is_some() {
                return Err(ApiError::Enrollment(ErrorCode::EnrollmentCodeRevoked));
            }
            if code.expires_at <= Utc::now() {
                return Err(ApiError::Enrollment(ErrorCode::EnrollmentCodeExpired));
            }
            if code.uses >= code.max_uses {
                return Err(ApiError::Enrollment(ErrorCode::EnrollmentCodeExhausted));
            }
            if let Some(t) = code.device_type.as_deref() {
                if t != body.device_type.as_str() {
                    return Err(ApiError::field(
                        "device_type",
                        format!("this enrollment code is for {t} devices"),
                    ));
                }
            }
            Some(code)
        }
        None => None,
    };
    let existing = store::enrollment::lookup_device(&mut tx, device_uuid).await?;
    let enrollment = |facility_id, status, code_id| Enrollment {
        facility_id,
        device_name: &device_name,
        device_type: body.device_type,
        mac_address: body.mac_address.map(|m| m.to_string()),
        public_key: &public_key,
        os: os.as_deref(),
        app_version: app_version.as_deref(),
        identity_source: identity_source.as_deref(),
        enrollment_code_id: code_id,
        status,
    };
    // The device the answer is about, its scope, and whether anything changed.
    let (device_id, org, facility, created) = match (existing, code) {
        // A device that holds this key already: say where it stands.
        // (A PENDING one presenting a code goes on to be activated by it.)
        (Some(d), ref code)
            if d.identity_public_key.as_deref() == Some(public_key.as_str())
                && (d.status == "ACTIVE" || (d.status == "PENDING" && code.is_none())) =>
        {
            (d.id, d.organization_id, d.facility_id, false)
        }
        // Another key for a device that is in use or waiting: a clone.
        (Some(d), _)
            if d.identity_public_key.is_some()
                && d.identity_public_key.as_deref() != Some(public_key.as_str())
                && matches!(d.status.as_str(), "ACTIVE" | "PENDING") =>
        {
            set_scope(
                &mut tx,
                facility_scope(d.organization_id, d.facility_id),
                None,
            )
            .await?;
            store::enrollment::flag_clone(&mut tx, d.id).await?;
            store::enrollment::audit_device(
                &mut tx,
                &DeviceAudit {
                    device_id: Some(d.id),
                    organization_id: d.organization_id,
                    facility_id: d.facility_id,
                    action: "device.clone_conflict",
                    outcome: "denied",
                    reason: Some("device_uuid presented with a different public key"),
                    client_address: address.as_deref(),
                },
            )
            .await?;
            tx.commit().await?;
            tracing::warn!(
                device_id = d.id,
                "enrollment with a different key: suspected clone"
            );
            return Err(ApiError::CloneConflict);
        }
        // With a code: the code decides the tenant.
        (existing, Some(code)) => {
            set_scope(
                &mut tx,
                facility_scope(code.organization_id, code.facility_id),
                None,
            )
            .await?;
            let e = enrollment(code.facility_id, "ACTIVE", Some(code.id));
            let id = match existing {
                None => {
                    store::enrollment::insert_enrolled(
                        &mut tx,
                        code.organization_id,
                        device_uuid,
                        &e,
                    )
                    .await?
                }
                Some(d) if d.organization_id != code.organization_id => {
                    return Err(ApiError::Conflict {
                        message: "this device_uuid is registered in another organization".into(),
                        fields: [(
                            "device_uuid".to_owned(),
                            vec!["registered in another organization".to_owned()],
                        )]
                        .into(),
                    });
                }
                Some(d) => {
                    // Pre-registered, deactivated or rejected: moving it into the
                    // code's facility needs the old facility in scope too.
                    set_scope(&mut tx, Scope::Organization(code.organization_id), None).await?;
                    store::enrollment::update_enrolled(&mut tx, d.id, &e).await?;
                    set_scope(
                        &mut tx,
                        facility_scope(code.organization_id, code.facility_id),
                        None,
                    )
                    .await?;
                    d.id
                }
            };
            if !store::enrollment::consume(&mut tx, code.id).await? {
                return Err(ApiError::Enrollment(ErrorCode::EnrollmentCodeExhausted));
            }
            (id, code.organization_id, code.facility_id, true)
        }
        // No code: only a pre-registered device, which then waits for approval.
        (Some(d), None) if d.identity_public_key.is_none() && d.status == "ACTIVE" => {
            set_scope(
                &mut tx,
                facility_scope(d.organization_id, d.facility_id),
                None,
            )
            .await?;
            let e = enrollment(d.facility_id, "PENDING", None);
            store::enrollment::update_enrolled(&mut tx, d.id, &e).await?;
            (d.id, d.organization_id, d.facility_id, true)
        }
        (Some(d), None) if d.status == "REJECTED" => return Err(refusal_for_status(&d.status)),
        (_, None) => return Err(ApiError::Enrollment(ErrorCode::EnrollmentCodeRequired)),
    };
    if !created {
        set_scope(&mut tx, facility_scope(org, facility), None).await?;
    }
    let scope = crate::context::Scope::Facility {
        organization_id: org,
        facility_id: facility,
    };
    let device = store::devices::get(&mut tx, scope, device_id, false)
        .await?
        .ok_or(ApiError::NotFound)?;
    if created {
        let action = if device.status == DeviceStatus::Pending {
            "device.enroll_pending"
        } else {
            "device.enroll"
        };
        store::enrollment::audit_device(
            &mut tx,
            &DeviceAudit {
                device_id: Some(device_id),
                organization_id: org,
                facility_id: facility,
                action,
                outcome: "success",
                reason: None,
                client_address: address.as_deref(),
            },
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            device_id,
            status = device.status.as_str(),
            "device enrolled"
        );
        Ok((StatusCode::CREATED, Json(device)))
    } else {
        Ok((StatusCode::OK, Json(device)))
    }
}

async fn decide(mut ctx: Ctx, id: i64, approve: bool) -> Result<Json<Device>> {
    let device = store::devices::get(&mut ctx.tx, ctx.principal.scope(), id, true)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx = ctx.require(admin).await?;
    let (target, action) = if approve {
        (DeviceStatus::Active, "device.approve")
    } else {
        (DeviceStatus::Rejected, "device.reject")
    };
    if device.status == target {
        // Deciding twice is harmless, and still on the record.
        ctx.audit_write(
            Audit::new(action, "device")
                .resource(id)
                .facility(device.organization_id, device.facility_id)
                .reason("already decided"),
        )
        .await?;
        ctx.commit().await?;
        return Ok(Json(device));
    }
    if device.status != DeviceStatus::Pending || !device.has_identity_key {
        return Err(ApiError::Conflict {
            message: format!(
                "only a PENDING device that enrolled a key can be approved or rejected; this one is {}",
                device.status.as_str()
            ),
            fields: Default::default(),
        });
    }
    store::enrollment::set_status(&mut ctx.tx, id, target.as_str(), approve).await?;
    ctx.audit_write(
        Audit::new(action, "device")
            .resource(id)
            .facility(device.organization_id, device.facility_id),
    )
    .await?;
    let device = store::devices::get(&mut ctx.tx, ctx.principal.scope(), id, false)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx.commit().await?;
    Ok(Json(device))
}

/// Approve a PENDING device (admins): it becomes ACTIVE and may authenticate.
#[utoipa::path(post, path = "/api/devices/{id}/approve", tag = "enrollment",
    params(("id" = i64, Path, description = "Device id")),
    responses(
        (status = 200, description = "Approved (or already active)", body = Device),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not manage devices", body = ErrorBody),
        (status = 404, description = "Not found in your scope", body = ErrorBody),
        (status = 409, description = "Not a pending device with a key", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn approve_device(ctx: Ctx, Id(id): Id) -> Result<Json<Device>> {
    decide(ctx, id, true).await
}

/// Reject a PENDING device (admins): it cannot authenticate.
#[utoipa::path(post, path = "/api/devices/{id}/reject", tag = "enrollment",
    params(("id" = i64, Path, description = "Device id")),
    responses(
        (status = 200, description = "Rejected (or already rejected)", body = Device),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not manage devices", body = ErrorBody),
        (status = 404, description = "Not found in your scope", body = ErrorBody),
        (status = 409, description = "Not a pending device with a key", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reject_device(ctx: Ctx, Id(id): Id) -> Result<Json<Device>> {
    decide(ctx, id, false).await
}

fn facility_scope(organization_id: i64, facility_id: i64) -> Scope {
    Scope::Facility {
        organization_id,
        facility_id,
    }
}
