//! Break-glass access (issue 19.4): a clinician opens a resident of another
//! facility of the organization in an emergency, read-only and for the
//! resident facility's window, with a stated reason; the administrators of
//! both facilities review it. Reads under a grant go through the patient
//! endpoints (see `patients::readable_patient`).

use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use tend_domain::break_glass::{check_reason, REVIEW_NOTE_MAX};
use tend_domain::wire::{
    BreakGlassFacilityList, BreakGlassGrant, BreakGlassGrantPage, ErrorBody, OpenBreakGlass,
    ReviewBreakGlass,
};
use tend_domain::Role;
use utoipa::IntoParams;

use super::facilities::list_audit;
use crate::context::{admin, Audit, Ctx, Scope};
use crate::error::{ApiError, FieldErrors, Result};
use crate::extract::{ApiJson, ApiQuery, Id};
use crate::store;
use crate::store::break_glass::Filter;
use crate::validate::{cursor, Validator};

fn clinical(role: Role) -> bool {
    role.is_clinical()
}

/// Open a resident of another facility of your organization (clinical
/// roles): read access to that resident until `expires_at` (the resident's
/// facility's `break_glass_minutes`, default 60). Audited in both facilities
/// with the reason, and queued for the administrators' review.
#[utoipa::path(post, path = "/api/break-glass", tag = "break-glass", request_body = OpenBreakGlass,
    responses(
        (status = 201, description = "Granted: the resident and the end of access", body = BreakGlassGrant),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Only clinical roles may break the glass", body = ErrorBody),
        (status = 404, description = "No such resident in another facility of your organization", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Missing or short `reason`, empty `mrn`, or your own facility", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn open_break_glass(
    ctx: Ctx,
    ApiJson(body): ApiJson<OpenBreakGlass>,
) -> Result<(StatusCode, Json<BreakGlassGrant>)> {
    let mut ctx = ctx.require(clinical).await?;
    let p = ctx.principal;
    let mut v = Validator::new();
    let reason = check_reason(&body.reason).unwrap_or_else(|e| {
        v.add(e.field, e.message);
        String::new()
    });
    let mrn = v.text("mrn", &body.mrn, 64);
    v.positive_id("facility_id", body.facility_id);
    if body.facility_id == p.facility_id {
        v.add(
            "facility_id",
            "this resident is in your own facility: open them from your residents",
        );
    }
    v.finish()?;
    let id = store::break_glass::open(&mut ctx.tx, body.facility_id, &mrn, &reason)
        .await?
        .ok_or(ApiError::NotFound)?;
    let grant = store::break_glass::get(&mut ctx.tx, ctx.principal.scope(), p.user_id, id, false)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a new grant is not visible")))?;
    // On the record of both facilities, so both administrators' audit
    // filters (`action_prefix=break_glass.`) show it.
    for facility in [grant.facility_id, grant.user_facility_id] {
        ctx.audit_write(
            Audit::new("break_glass.grant", "break_glass_grant")
                .resource(id)
                .facility(grant.organization_id, facility)
                .reason(&reason),
        )
        .await?;
    }
    ctx.commit().await?;
    tracing::info!(
        grant_id = id,
        user_id = p.user_id,
        "break-glass access granted"
    );
    Ok((StatusCode::CREATED, Json(grant)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BreakGlassQuery {
    /// Grants into or out of this facility (in your scope).
    pub facility_id: Option<i64>,
    /// `false`: the review queue; `true`: reviewed ones.
    pub reviewed: Option<bool>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
}

/// Break-glass grants, newest first: for administrators, every grant into or
/// out of a facility in their scope (the review queue with
/// `reviewed=false`); for a clinician, their own grants that still last.
#[utoipa::path(get, path = "/api/break-glass", tag = "break-glass", params(BreakGlassQuery),
    responses(
        (status = 200, description = "A page of grants", body = BreakGlassGrantPage),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "Facility not found in your scope", body = ErrorBody),
        (status = 422, description = "Bad query parameter", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_break_glass(
    mut ctx: Ctx,
    ApiQuery(q): ApiQuery<BreakGlassQuery>,
) -> Result<Json<BreakGlassGrantPage>> {
    let before = cursor::decode(q.cursor.as_deref())?;
    let limit = cursor::limit(q.limit)?;
    let is_admin = ctx.role().is_admin();
    let audit = list_audit(
        &mut ctx,
        "break_glass.list",
        "break_glass_grant",
        q.facility_id.filter(|_| is_admin),
    )
    .await?;
    let filter = Filter {
        facility_id: q.facility_id,
        reviewed: q.reviewed,
        user_id: (!is_admin).then_some(ctx.principal.user_id),
        active_only: !is_admin,
    };
    let rows = store::break_glass::list(&mut ctx.tx, ctx.principal.scope(), &filter, before, limit)
        .await?;
    let (items, next_cursor) = cursor::page(rows, limit, |g| g.id);
    ctx.audit_read(audit).await?;
    ctx.finish_read().await?;
    Ok(Json(BreakGlassGrantPage { items, next_cursor }))
}

/// Mark a grant reviewed (administrators of either facility, of the
/// organization, or the platform), with an optional note. Once only.
#[utoipa::path(post, path = "/api/break-glass/{id}/review", tag = "break-glass", request_body = ReviewBreakGlass,
    params(("id" = i64, Path, description = "Grant id")),
    responses(
        (status = 200, description = "Reviewed", body = BreakGlassGrant),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Administrators only", body = ErrorBody),
        (status = 404, description = "Not found in your scope", body = ErrorBody),
        (status = 409, description = "Already reviewed", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "`note` too long", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn review_break_glass(
    mut ctx: Ctx,
    Id(id): Id,
    ApiJson(body): ApiJson<ReviewBreakGlass>,
) -> Result<Json<BreakGlassGrant>> {
    let user_id = ctx.principal.user_id;
    let grant = store::break_glass::get(&mut ctx.tx, ctx.principal.scope(), user_id, id, true)
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut ctx = ctx.require(admin).await?;
    let mut v = Validator::new();
    let note = v.opt_text("note", body.note.as_deref(), REVIEW_NOTE_MAX);
    v.finish()?;
    if grant.reviewed_at.is_some()
        || !store::break_glass::review(&mut ctx.tx, id, user_id, note.as_deref()).await?
    {
        return Err(already_reviewed());
    }
    // The reviewer's side of the grant: their own facility when it is one of
    // the two, otherwise (organization, platform) the resident's.
    let facility = match ctx.scope() {
        Scope::Facility { facility_id, .. } => facility_id,
        _ => grant.facility_id,
    };
    let mut audit = Audit::new("break_glass.review", "break_glass_grant")
        .resource(id)
        .facility(grant.organization_id, facility);
    if let Some(n) = note.as_deref() {
        audit = audit.reason(n);
    }
    ctx.audit_write(audit).await?;
    let reviewed = store::break_glass::get(&mut ctx.tx, ctx.principal.scope(), user_id, id, false)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx.commit().await?;
    Ok(Json(reviewed))
}

fn already_reviewed() -> ApiError {
    ApiError::Conflict {
        message: "this grant was reviewed already".to_owned(),
        fields: FieldErrors::new(),
    }
}

/// The facilities a clinician may open a resident of: the other active
/// facilities of their organization (id and name only).
#[utoipa::path(get, path = "/api/break-glass/facilities", tag = "break-glass",
    responses(
        (status = 200, description = "Other facilities of your organization", body = BreakGlassFacilityList),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Only clinical roles may break the glass", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn break_glass_facilities(ctx: Ctx) -> Result<Json<BreakGlassFacilityList>> {
    let mut ctx = ctx.require(clinical).await?;
    let items = store::break_glass::facilities(&mut ctx.tx).await?;
    ctx.finish_read().await?;
    Ok(Json(BreakGlassFacilityList { items }))
}
