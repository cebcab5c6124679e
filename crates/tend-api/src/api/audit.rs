//! Audit events (admins): read-only, newest first, filterable.

use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tend_domain::wire::{AuditEventPage, ErrorBody};
use utoipa::IntoParams;

use super::facilities::list_audit;
use crate::context::{admin, Ctx};
use crate::error::Result;
use crate::extract::ApiQuery;
use crate::store;
use crate::validate::cursor;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub facility_id: Option<i64>,
    pub actor_user_id: Option<i64>,
    /// e.g. `patient.read`.
    pub action: Option<String>,
    /// Every action starting with this, e.g. `auth.` or `patient.`.
    pub action_prefix: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<i64>,
    pub cross_facility: Option<bool>,
    /// Only events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
}

/// Audit events in the caller's scope (admins).
#[utoipa::path(get, path = "/api/audit-events", tag = "audit", params(AuditQuery),
    responses(
        (status = 200, description = "A page of audit events", body = AuditEventPage),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "Facility not found in your scope", body = ErrorBody),
        (status = 422, description = "Bad query parameter", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_audit_events(
    mut ctx: Ctx,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditEventPage>> {
    let audit = list_audit(&mut ctx, "audit_event.list", "audit_event", q.facility_id).await?;
    ctx = ctx.require(admin).await?;
    let before = cursor::decode(q.cursor.as_deref())?;
    let limit = cursor::limit(q.limit)?;
    let filter = store::audit::Filter {
        facility_id: q.facility_id,
        actor_user_id: q.actor_user_id,
        action: q.action,
        action_prefix: q.action_prefix,
        resource_type: q.resource_type,
        resource_id: q.resource_id,
        cross_facility: q.cross_facility,
        since: q.since,
    };
    let rows =
        store::audit::list(&mut ctx.tx, ctx.principal.scope(), &filter, before, limit).await?;
    let (items, next_cursor) = cursor::page(rows, limit, |e| e.id);
    ctx.audit_read(audit).await?;
    ctx.finish_read().await?;
    Ok(Json(AuditEventPage { items, next_cursor }))
}
