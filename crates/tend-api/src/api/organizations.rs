//! Organizations: everyone sees their own; PLATFORM_ADMIN creates them and
//! updates any; ORG_ADMIN updates the details of their own.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use tend_domain::wire::{
    CreateOrganization, ErrorBody, Organization, OrganizationPage, UpdateOrganization,
};

use super::PageQuery;
use crate::context::{org_admin_or_above, platform_admin, Audit, Ctx};
use crate::error::{ApiError, Result};
use crate::extract::{ApiJson, ApiQuery, Id, LaterJson};
use crate::store::organizations::{self as store, Fields};
use crate::validate::{cursor, Validator};
use crate::AppState;

/// Organizations visible to the caller (all of them for a platform admin).
#[utoipa::path(get, path = "/api/organizations", tag = "organizations", params(PageQuery),
    responses(
        (status = 200, description = "A page of organizations", body = OrganizationPage),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 422, description = "Bad query parameter", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_organizations(
    mut ctx: Ctx,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<OrganizationPage>> {
    let after = cursor::decode(q.cursor.as_deref())?;
    let limit = cursor::limit(q.limit)?;
    let rows = store::list(&mut ctx.tx, ctx.principal.scope(), after, limit).await?;
    let (items, next_cursor) = cursor::page(rows, limit, |o| o.id);
    ctx.audit_org_read(Audit::new("organization.list", "organization"))
        .await?;
    ctx.finish_read().await?;
    Ok(Json(OrganizationPage { items, next_cursor }))
}

fn validate_create(body: CreateOrganization) -> Result<Fields> {
    let mut v = Validator::new();
    let fields = Fields {
        name: v.text("name", &body.name, 200),
        organization_type: body.organization_type,
        npi: body.npi.map(String::from),
        tax_id: body.tax_id.map(String::from),
        state_license_number: v.opt_text(
            "state_license_number",
            body.state_license_number.as_deref(),
            64,
        ),
        license_state: v.state_code("license_state", body.license_state.as_deref()),
        settings: body.settings.unwrap_or_default(),
        is_active: true,
    };
    v.json_numbers(
        "settings",
        &serde_json::Value::Object(fields.settings.clone()),
    );
    v.finish()?;
    Ok(fields)
}

/// Create an organization (PLATFORM_ADMIN).
#[utoipa::path(post, path = "/api/organizations", tag = "organizations", request_body = CreateOrganization,
    responses(
        (status = 201, description = "Created", body = Organization),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not a platform admin (whatever the body holds)", body = ErrorBody),
        (status = 409, description = "NPI already registered", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields (e.g. NPI check digit)", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_organization(
    mut ctx: Ctx,
    body: LaterJson<CreateOrganization>,
) -> Result<(StatusCode, Json<Organization>)> {
    // Who may comes before what the body says: anyone else gets 403.
    ctx = ctx.require(platform_admin).await?;
    let fields = validate_create(body.parse()?)?;
    let org = store::insert(&mut ctx.tx, &fields).await?;
    ctx.audit_write(
        Audit::new("organization.create", "organization")
            .resource(org.id)
            .org(org.id),
    )
    .await?;
    ctx.commit().await?;
    Ok((StatusCode::CREATED, Json(org)))
}

/// One organization, with its facility count (facilities visible to the caller).
#[utoipa::path(get, path = "/api/organizations/{id}", tag = "organizations",
    params(("id" = i64, Path, description = "Organization id")),
    responses(
        (status = 200, description = "The organization", body = Organization),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "Not found in your scope", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_organization(mut ctx: Ctx, Id(id): Id) -> Result<Json<Organization>> {
    let mut org = store::get(&mut ctx.tx, ctx.principal.scope(), id, false)
        .await?
        .ok_or(ApiError::NotFound)?;
    org.facility_count = Some(store::facility_count(&mut ctx.tx, id).await?);
    ctx.audit_org_read(
        Audit::new("organization.read", "organization")
            .resource(id)
            .org(id),
    )
    .await?;
    ctx.finish_read().await?;
    Ok(Json(org))
}

/// Update an organization (PLATFORM_ADMIN; ORG_ADMIN for their own, without
/// activating or deactivating it). Absent fields are kept.
#[utoipa::path(put, path = "/api/organizations/{id}", tag = "organizations", request_body = UpdateOrganization,
    params(("id" = i64, Path, description = "Organization id")),
    responses(
        (status = 200, description = "Updated", body = Organization),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an organization or platform admin, or an organization admin changing is_active", body = ErrorBody),
        (status = 404, description = "Not found in your scope", body = ErrorBody),
        (status = 409, description = "NPI already registered", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_organization(
    State(state): State<AppState>,
    mut ctx: Ctx,
    Id(id): Id,
    ApiJson(body): ApiJson<UpdateOrganization>,
) -> Result<Json<Organization>> {
    let current = store::get(&mut ctx.tx, ctx.principal.scope(), id, true)
        .await?
        .ok_or(ApiError::NotFound)?;
    // The scope already hides other organizations from an organization admin.
    ctx = ctx.require(org_admin_or_above).await?;
    // Opening or closing an organization locks out or lets in all of its
    // staff: a platform decision.
    if body.is_active.is_some_and(|a| a != current.is_active) && !platform_admin(ctx.principal.role)
    {
        return Err(ctx.deny().await);
    }
    let mut v = Validator::new();
    let fields = Fields {
        name: match &body.name {
            Some(n) => v.text("name", n, 200),
            None => current.name,
        },
        organization_type: body.organization_type.or(current.organization_type),
        npi: match body.npi {
            Some(n) => n.map(String::from),
            None => current.npi,
        },
        tax_id: match body.tax_id {
            Some(t) => t.map(String::from),
            None => current.tax_id,
        },
        state_license_number: match &body.state_license_number {
            Some(s) => v.opt_text("state_license_number", s.as_deref(), 64),
            None => current.state_license_number,
        },
        license_state: match &body.license_state {
            Some(s) => v.state_code("license_state", s.as_deref()),
            None => current.license_state,
        },
        settings: body.settings.unwrap_or(current.settings),
        is_active: body.is_active.unwrap_or(current.is_active),
    };
    v.json_numbers(
        "settings",
        &serde_json::Value::Object(fields.settings.clone()),
    );
    v.finish()?;
    let closing = current.is_active && !fields.is_active;
    let org = store::update(&mut ctx.tx, id, &fields).await?;
    // Closing the organization refuses all of its devices at once
    // (ORGANIZATION_CLOSED at their next authentication); they keep their data.
    let mut revoked = Vec::new();
    if closing {
        for device in crate::store::devices::active_ids(&mut ctx.tx, id, None).await? {
            revoked.push(state.identity.revoke_device(&mut ctx.tx, device).await?);
        }
    }
    ctx.audit_write(
        Audit::new("organization.update", "organization")
            .resource(id)
            .org(id),
    )
    .await?;
    ctx.commit().await?;
    revoked.into_iter().for_each(|r| r.committed());
    Ok(Json(org))
}
