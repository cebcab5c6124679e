//! The family portal (facility feature `family_portal`). Staff of a
//! resident's facility issue visitor codes and publish updates meant for
//! family, and read family's messages. A family member checks in on an
//! active device of the facility (device token + visitor code) and gets a
//! 15-minute family session for that one resident, which can read only the
//! shared updates and leave a message: the family endpoints never touch
//! clinical records or demographics beyond a display name and the room, and a
//! family token is accepted nowhere else (it is neither a user nor a device token).

use axum::extract::{FromRequestParts, Path, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use sqlx::{Postgres, Transaction};
use tend_domain::wire::{
    CreateFamilyUpdate, CreateVisitorCode, ErrorBody, FamilyCheckIn, FamilyMessageList,
    FamilyMessageSent, FamilySession, FamilySummary, FamilyUpdate, FamilyUpdateList,
    IssuedVisitorCode, SendFamilyMessage, VisitorCode, VisitorCodeList, FAMILY_SUMMARY_DAYS,
    FAMILY_TEXT_MAX, VISITOR_CODE_DAYS, VISITOR_CODE_DEFAULT_DAYS, VISITOR_CODE_DIGITS,
};
use tend_domain::ErrorCode;

use crate::context::{begin_scoped, client_address, insert_audit, set_scope, Audit, Ctx, Scope};
use crate::error::{ApiError, Result};
use crate::extract::{ApiJson, Id};
use crate::identity::limits::Bucket;
use crate::identity::tokens::DevicePrincipal;
use crate::identity::{refusal_for_status, ClientAddress, DeviceAuth};
use crate::store;
use crate::store::family::{Resident, SessionRow};
use crate::validate::Validator;
use crate::AppState;

const FEATURE: &str = "family portal";

// Visitor codes ------------------------------------------------------------------

/// Eight random digits (uniform: draws above the largest multiple of 10^8
/// that fits in a u32 are discarded).
fn new_visitor_code() -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    const SPACE: u32 = 10u32.pow(VISITOR_CODE_DIGITS as u32);
    const LIMIT: u32 = SPACE * (u32::MAX / SPACE);
    loop {
        let n = OsRng.next_u32();
        if n < LIMIT {
            return format!("{:0width$}", n % SPACE, width = VISITOR_CODE_DIGITS);
        }
    }
}

/// `1234 5678`: two groups of four are easier to read out and type.
fn display_code(digits: &str) -> String {
    format!("{} {}", &digits[..4], &digits[4..])
}

/// Bound to the facility, so a code is valid only where it was issued.
fn code_hash(facility_id: i64, digits: &str) -> Vec<u8> {
    Sha256::digest(format!("tend-visitor-v1\n{facility_id}\n{digits}").as_bytes()).to_vec()
}

/// The resident in the caller's scope (404 otherwise) at a facility with the
/// family portal on (403 otherwise, audited).
/// Audits a staff read of one resident's family-portal items and ends the
/// read transaction (the list endpoints' common tail).
async fn finish_resident_read(
    mut ctx: Ctx,
    action: &'static str,
    patient_id: i64,
    resident: &Resident,
) -> Result<()> {
    ctx.audit_read(
        Audit::new(action, "patient")
            .resource(patient_id)
            .facility(resident.organization_id, resident.facility_id),
    )
    .await?;
    ctx.finish_read().await
}

async fn resident_with_portal(mut ctx: Ctx, patient_id: i64) -> Result<(Ctx, Resident)> {
    let scope = ctx.scope();
    // Any staff role of the resident's facility may share with family (RLS
    // and the scope filter already limit who sees the resident).
    let resident = store::family::resident(&mut ctx.tx, scope, patient_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !resident.family_portal {
        return Err(feature_off(ctx, &resident).await);
    }
    Ok((ctx, resident))
}

async fn feature_off(mut ctx: Ctx, resident: &Resident) -> ApiError {
    let audit = Audit::new("access.denied", "route")
        .facility(resident.organization_id, resident.facility_id)
        .reason("family portal is off at this facility");
    let cross = resident.facility_id != ctx.principal.facility_id;
    let written = insert_audit(
        &mut ctx.tx,
        Some(ctx.principal.user_id),
        &audit,
        "denied",
        cross,
        ctx.client_address.as_deref(),
    )
    .await;
    if let Err(e) = written {
        return e;
    }
    if let Err(e) = ctx.tx.commit().await {
        return e.into();
    }
    ApiError::FeatureDisabled(FEATURE)
}

fn two_ids(ids: &(String, String)) -> Result<(i64, i64)> {
    let id = |s: &str| {
        s.parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or(ApiError::NotFound)
    };
    Ok((id(&ids.0)?, id(&ids.1)?))
}

/// Issue a visitor code for a resident (staff of the resident's facility).
/// The code is in this answer only.
#[utoipa::path(post, path = "/api/patients/{id}/visitor-codes", tag = "family",
    request_body = CreateVisitorCode,
    params(("id" = i64, Path, description = "Patient id")),
    responses(
        (status = 201, description = "Issued; `code` is shown this once", body = IssuedVisitorCode),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The family portal is not turned on for the facility", body = ErrorBody),
        (status = 404, description = "Patient not found in your scope", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn issue_visitor_code(
    ctx: Ctx,
    Id(patient_id): Id,
    ApiJson(body): ApiJson<CreateVisitorCode>,
) -> Result<(StatusCode, Json<IssuedVisitorCode>)> {
    let (mut ctx, resident) = resident_with_portal(ctx, patient_id).await?;
    let mut v = Validator::new();
    let visitor_name = v.text("visitor_name", &body.visitor_name, 100);
    let relationship = v.opt_text("relationship", body.relationship.as_deref(), 60);
    let days = body.expires_in_days.unwrap_or(VISITOR_CODE_DEFAULT_DAYS);
    if !VISITOR_CODE_DAYS.contains(&days) {
        v.add(
            "expires_in_days",
            format!(
                "must be between {} and {}",
                VISITOR_CODE_DAYS.start(),
                VISITOR_CODE_DAYS.end()
            ),
        );
    }
    v.finish()?;
    let digits = new_visitor_code();
    let hash = code_hash(resident.facility_id, &digits);
    let created = store::family::insert_code(
        &mut ctx.tx,
        &store::family::NewCode {
            organization_id: resident.organization_id,
            facility_id: resident.facility_id,
            patient_id,
            code_hash: &hash,
            code_hint: &digits[6..],
            visitor_name: &visitor_name,
            relationship: relationship.as_deref(),
            expires_in_days: days,
            created_by: ctx.principal.user_id,
        },
    )
    .await?;
    ctx.audit_write(
        Audit::new("visitor_code.create", "visitor_code")
            .resource(created.id)
            .facility(resident.organization_id, resident.facility_id),
    )
    .await?;
    ctx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedVisitorCode {
            code: display_code(&digits),
            visitor_code: created,
        }),
    ))
}

/// A resident's visitor codes, newest first, without the codes themselves.
#[utoipa::path(get, path = "/api/patients/{id}/visitor-codes", tag = "family",
    params(("id" = i64, Path, description = "Patient id")),
    responses(
        (status = 200, description = "The codes", body = VisitorCodeList),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The family portal is not turned on for the facility", body = ErrorBody),
        (status = 404, description = "Patient not found in your scope", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_visitor_codes(ctx: Ctx, Id(patient_id): Id) -> Result<Json<VisitorCodeList>> {
    let (mut ctx, resident) = resident_with_portal(ctx, patient_id).await?;
    let items = store::family::list_codes(&mut ctx.tx, patient_id).await?;
    finish_resident_read(ctx, "visitor_code.list", patient_id, &resident).await?;
    Ok(Json(VisitorCodeList { items }))
}

/// Revoke a visitor code (staff); revoking twice is harmless. Sessions
/// opened with it end at once.
#[utoipa::path(post, path = "/api/patients/{id}/visitor-codes/{code_id}/revoke", tag = "family",
    params(("id" = i64, Path, description = "Patient id"), ("code_id" = i64, Path, description = "Visitor code id")),
    responses(
        (status = 200, description = "Revoked", body = VisitorCode),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The family portal is not turned on for the facility", body = ErrorBody),
        (status = 404, description = "Patient or code not found in your scope", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke_visitor_code(
    ctx: Ctx,
    Path(ids): Path<(String, String)>,
) -> Result<Json<VisitorCode>> {
    let (patient_id, code_id) = two_ids(&ids)?;
    let (mut ctx, resident) = resident_with_portal(ctx, patient_id).await?;
    let by = ctx.principal.user_id;
    let code = store::family::revoke_code(&mut ctx.tx, patient_id, code_id, by)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx.audit_write(
        Audit::new("visitor_code.revoke", "visitor_code")
            .resource(code_id)
            .facility(resident.organization_id, resident.facility_id),
    )
    .await?;
    ctx.commit().await?;
    Ok(Json(code))
}

// Family updates (staff) ------------------------------------------------------------

/// Publish an update for a resident's family (staff). Everything in `body`
/// is shown to whoever holds a visitor code for the resident.
#[utoipa::path(post, path = "/api/patients/{id}/family-updates", tag = "family",
    request_body = CreateFamilyUpdate,
    params(("id" = i64, Path, description = "Patient id")),
    responses(
        (status = 201, description = "Published", body = FamilyUpdate),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The family portal is not turned on for the facility", body = ErrorBody),
        (status = 404, description = "Patient not found in your scope", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn publish_family_update(
    ctx: Ctx,
    Id(patient_id): Id,
    ApiJson(body): ApiJson<CreateFamilyUpdate>,
) -> Result<(StatusCode, Json<FamilyUpdate>)> {
    let (mut ctx, resident) = resident_with_portal(ctx, patient_id).await?;
    let mut v = Validator::new();
    let text = v.text("body", &body.body, FAMILY_TEXT_MAX);
    v.finish()?;
    let by = ctx.principal.user_id;
    let update =
        store::family::insert_update(&mut ctx.tx, &resident, patient_id, body.kind, &text, by)
            .await?;
    ctx.audit_write(
        Audit::new("family_update.create", "family_update")
            .resource(update.id)
            .facility(resident.organization_id, resident.facility_id),
    )
    .await?;
    ctx.commit().await?;
    Ok((StatusCode::CREATED, Json(update)))
}

/// A resident's family updates, newest first (staff).
#[utoipa::path(get, path = "/api/patients/{id}/family-updates", tag = "family",
    params(("id" = i64, Path, description = "Patient id")),
    responses(
        (status = 200, description = "The updates", body = FamilyUpdateList),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The family portal is not turned on for the facility", body = ErrorBody),
        (status = 404, description = "Patient not found in your scope", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_family_updates(ctx: Ctx, Id(patient_id): Id) -> Result<Json<FamilyUpdateList>> {
    let (mut ctx, resident) = resident_with_portal(ctx, patient_id).await?;
    let items = store::family::list_updates(&mut ctx.tx, patient_id).await?;
    finish_resident_read(ctx, "family_update.list", patient_id, &resident).await?;
    Ok(Json(FamilyUpdateList { items }))
}

/// Messages family left for the care team about a resident, newest first (staff).
#[utoipa::path(get, path = "/api/patients/{id}/family-messages", tag = "family",
    params(("id" = i64, Path, description = "Patient id")),
    responses(
        (status = 200, description = "The messages", body = FamilyMessageList),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The family portal is not turned on for the facility", body = ErrorBody),
        (status = 404, description = "Patient not found in your scope", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_family_messages(ctx: Ctx, Id(patient_id): Id) -> Result<Json<FamilyMessageList>> {
    let (mut ctx, resident) = resident_with_portal(ctx, patient_id).await?;
    let items = store::family::list_messages(&mut ctx.tx, patient_id).await?;
    finish_resident_read(ctx, "family_message.list", patient_id, &resident).await?;
    Ok(Json(FamilyMessageList { items }))
}

// Family side ------------------------------------------------------------------------

#[derive(sqlx::FromRow)]
struct DeviceStanding {
    status: String,
    is_active: bool,
    family_portal: bool,
}

/// Check in on a kiosk (device token) with a visitor code: a 15-minute
/// family session for the code's resident. A code works only on active
/// devices of its own facility, and only while the resident is in care.
/// Wrong codes are counted per device; after five, the device must wait
/// (429). Every attempt is audited.
#[utoipa::path(post, path = "/api/family/check-in", tag = "family", request_body = FamilyCheckIn,
    responses(
        (status = 200, description = "Checked in", body = FamilySession),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid device token (UNAUTHORIZED, DEVICE_*), or VISITOR_CODE_INVALID (unknown, expired or revoked at this facility)", body = ErrorBody),
        (status = 403, description = "The family portal is not turned on for the device's facility", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Not eight digits", body = ErrorBody),
        (status = 429, description = "Too many wrong codes at this device; wait a minute", body = ErrorBody)),
    security(("device" = [])))]
pub async fn family_check_in(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    ClientAddress(address): ClientAddress,
    ApiJson(body): ApiJson<FamilyCheckIn>,
) -> Result<Json<FamilySession>> {
    let digits = tend_domain::parse_visitor_code(body.visitor_code.expose())?;
    // Only wrong codes count, but the token is taken before the code is looked
    // up (and before the transaction, which would otherwise hold a connection
    // while this waits for another) and given back for any other outcome:
    // concurrent guesses cannot all be tried before the first wrong one counts.
    let limiter_key = device.device_id.to_be_bytes();
    let limits = &state.identity.limits;
    if !limits
        .take(&state.pool, Bucket::VisitorCodeDevice, &limiter_key)
        .await?
    {
        return Err(ApiError::RateLimited);
    }
    let outcome = check_in_with(&state, device, address, digits).await;
    if !matches!(outcome, Err(ApiError::VisitorCodeInvalid)) {
        limits
            .refund(&state.pool, Bucket::VisitorCodeDevice, &limiter_key)
            .await?;
    }
    outcome
}

/// The check-in itself, once the attempt is allowed.
async fn check_in_with(
    state: &AppState,
    device: DevicePrincipal,
    address: Option<String>,
    digits: String,
) -> Result<Json<FamilySession>> {
    let mut tx = begin_scoped(&state.pool, device.scope(), None).await?;
    let standing: DeviceStanding = sqlx::query_as(
        "SELECT d.status, d.is_active, coalesce((f.features ->> 'family_portal')::boolean, false) AS family_portal \
         FROM devices d JOIN facilities f ON f.id = d.facility_id WHERE d.id = $1",
    )
    .bind(device.device_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::Device(ErrorCode::DeviceUnknown))?;
    if standing.status != "ACTIVE" || !standing.is_active {
        return Err(refusal_for_status(&standing.status));
    }
    let audit = |code_id: Option<i64>| {
        let a = Audit::new("family.check_in", "visitor_code")
            .facility(device.organization_id, device.facility_id)
            .device(device.device_id);
        match code_id {
            Some(id) => a.resource(id),
            None => a,
        }
    };
    if !standing.family_portal {
        insert_audit(
            &mut tx,
            None,
            &audit(None).reason("family portal is off at this facility"),
            "denied",
            false,
            address.as_deref(),
        )
        .await?;
        tx.commit().await?;
        return Err(ApiError::FeatureDisabled(FEATURE));
    }
    let hash = code_hash(device.facility_id, &digits);
    drop(digits);
    let candidate = store::family::lookup_code(&mut tx, device.facility_id, &hash).await?;
    let refusal = match &candidate {
        None => Some("unknown visitor code"),
        Some(c) if c.revoked => Some("revoked visitor code"),
        Some(c) if c.expires_at <= chrono::Utc::now() => Some("expired visitor code"),
        Some(c) if c.patient_status != "active" && c.patient_status != "on_leave" => {
            Some("resident no longer in care")
        }
        Some(_) => None,
    };
    if let Some(reason) = refusal {
        insert_audit(
            &mut tx,
            None,
            &audit(candidate.as_ref().map(|c| c.visitor_code_id)).reason(reason),
            "denied",
            false,
            address.as_deref(),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            device_id = device.device_id,
            reason,
            "family check-in refused"
        );
        return Err(ApiError::VisitorCodeInvalid);
    }
    let code = candidate.ok_or_else(|| ApiError::internal(anyhow::anyhow!("checked above")))?;
    let (token, token_hash) = new_family_token();
    let ttl = state
        .identity
        .config
        .family_session_ttl
        .as_secs_f64()
        .max(1.0);
    let expires_at = store::family::issue_session(
        &mut tx,
        &token_hash,
        code.visitor_code_id,
        device.device_id,
        ttl,
    )
    .await?;
    let (resident, visitor_name) =
        store::family::family_view(&mut tx, code.patient_id, code.visitor_code_id).await?;
    insert_audit(
        &mut tx,
        None,
        &audit(Some(code.visitor_code_id)).reason("visitor code"),
        "success",
        false,
        address.as_deref(),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        device_id = device.device_id,
        visitor_code_id = code.visitor_code_id,
        "family check-in"
    );
    Ok(Json(FamilySession {
        token,
        expires_at,
        visitor_name,
        resident,
    }))
}

/// `tfam_` + 43 base64url characters, and its SHA-256.
fn new_family_token() -> (String, Vec<u8>) {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let token = format!("tfam_{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = crate::auth::token_hash(&token);
    (token, hash)
}

/// A request authenticated with a family session: the session, and a
/// transaction scoped to the resident's facility.
pub struct FamilyAuth {
    pub session: SessionRow,
    pub tx: Transaction<'static, Postgres>,
    pub token_hash: Vec<u8>,
    pub client_address: Option<String>,
}

impl FromRequestParts<AppState> for FamilyAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .filter(|t| t.starts_with("tfam_") && t.len() <= 128)
            .ok_or(ApiError::Unauthorized)?;
        let hash = crate::auth::token_hash(token);
        let mut tx = state.pool.begin().await?;
        let session = store::family::lookup_session(&mut tx, &hash)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let scope = Scope::Facility {
            organization_id: session.organization_id,
            facility_id: session.facility_id,
        };
        set_scope(&mut tx, scope, None).await?;
        Ok(FamilyAuth {
            session,
            tx,
            token_hash: hash,
            client_address: client_address(parts),
        })
    }
}

impl FamilyAuth {
    fn audit(&self, action: &'static str) -> Audit<'static> {
        Audit::new(action, "patient")
            .resource(self.session.patient_id)
            .facility(self.session.organization_id, self.session.facility_id)
            .device(self.session.device_id)
    }
}

/// What the family member may see (family session): the resident's display
/// name and room, today's day summary, and the last week's activities and
/// messages from the care team, newest first. Only what staff shared.
#[utoipa::path(get, path = "/api/family/summary", tag = "family",
    responses(
        (status = 200, description = "The shared updates", body = FamilySummary),
        (status = 401, description = "No valid family session (expired, ended, or its code revoked)", body = ErrorBody)),
    security(("family" = [])))]
pub async fn family_summary(mut family: FamilyAuth) -> Result<Json<FamilySummary>> {
    let s = family.session;
    let (resident, visitor_name) =
        store::family::family_view(&mut family.tx, s.patient_id, s.visitor_code_id).await?;
    let (day_summary, activities, messages) =
        store::family::summary_items(&mut family.tx, s.patient_id, FAMILY_SUMMARY_DAYS).await?;
    let audit = family.audit("family.summary.read").reason("visitor code");
    insert_audit(
        &mut family.tx,
        None,
        &audit,
        "success",
        false,
        family.client_address.as_deref(),
    )
    .await?;
    family.tx.commit().await?;
    Ok(Json(FamilySummary {
        resident,
        visitor_name,
        day_summary,
        activities,
        messages,
    }))
}

/// Leave a message for the care team (family session).
#[utoipa::path(post, path = "/api/family/messages", tag = "family", request_body = SendFamilyMessage,
    responses(
        (status = 201, description = "Sent", body = FamilyMessageSent),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid family session", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Empty or longer than 2000 characters", body = ErrorBody)),
    security(("family" = [])))]
pub async fn send_family_message(
    mut family: FamilyAuth,
    ApiJson(body): ApiJson<SendFamilyMessage>,
) -> Result<(StatusCode, Json<FamilyMessageSent>)> {
    let mut v = Validator::new();
    let text = v.text("body", &body.body, FAMILY_TEXT_MAX);
    v.finish()?;
    let session = family.session;
    let (id, created_at) = store::family::insert_message(&mut family.tx, &session, &text).await?;
    let audit = family.audit("family_message.create").reason("visitor code");
    insert_audit(
        &mut family.tx,
        None,
        &audit,
        "success",
        false,
        family.client_address.as_deref(),
    )
    .await?;
    family.tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(FamilyMessageSent { id, created_at }),
    ))
}

/// End the family session now (the kiosk's idle reset or "Done").
#[utoipa::path(post, path = "/api/family/end", tag = "family",
    responses(
        (status = 204, description = "Ended"),
        (status = 401, description = "No valid family session", body = ErrorBody)),
    security(("family" = [])))]
pub async fn end_family_session(mut family: FamilyAuth) -> Result<StatusCode> {
    store::family::end_session(&mut family.tx, &family.token_hash).await?;
    family.tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_eight_digits_shown_in_two_groups() {
        for _ in 0..100 {
            let c = new_visitor_code();
            assert_eq!(c.len(), 8);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
            let shown = display_code(&c);
            assert_eq!(shown.len(), 9);
            assert_eq!(tend_domain::parse_visitor_code(&shown).unwrap(), c);
        }
    }

    #[test]
    fn a_code_hashes_differently_at_each_facility() {
        assert_ne!(code_hash(1, "48210937"), code_hash(2, "48210937"));
        assert_eq!(code_hash(1, "48210937"), code_hash(1, "48210937"));
    }
}
