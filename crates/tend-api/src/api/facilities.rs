//! Facilities, census, the facility's devices and its dashboard.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use tend_domain::wire::{
    CensusHistory, CensusUpdate, CreateFacility, DevicePage, ErrorBody, Facility,
    FacilityDashboard, FacilityPage, JsonObject, UpdateFacility,
};
use tend_domain::{
    available_beds, occupancy_rate, DeviceStatus, DeviceType, FacilityPolicy, FacilityType,
    HistoryDays, SyncStatus,
};
use utoipa::IntoParams;

use crate::context::{admin, org_admin_or_above, Audit, Ctx, Scope};
use crate::error::{ApiError, Result};
use crate::extract::{ApiJson, ApiQuery, Id};
use crate::store;
use crate::store::facilities::{Fields, Filter};
use crate::validate::{cursor, Validator};
use crate::AppState;

/// Most beds a single facility may license.
const MAX_BEDS: i32 = 10_000;

/// The organization of facility `id` if the caller can see it; 404 otherwise.
pub(crate) async fn facility_in_scope(ctx: &mut Ctx, id: i64) -> Result<i64> {
    let scope = ctx.scope();
    // The caller's own facility is always in its scope: skip the round trip
    // (the hot path of the facility-scoped patient list).
    if let Scope::Facility {
        organization_id,
        facility_id,
    } = scope
    {
        if facility_id == id {
            return Ok(organization_id);
        }
    }
    store::facilities::organization_of(&mut ctx.tx, scope, id)
        .await?
        .ok_or(ApiError::NotFound)
}

/// The audit event of a list read, for [`Ctx::audit_read`] after the query:
/// with `facility_id`, that facility (404 unless it is in the caller's scope);
/// without, the caller's own facility, or for an organization admin the whole
/// organization ("organization-wide list", always audited). The one place
/// that decides how a list is audited.
pub(crate) async fn list_audit(
    ctx: &mut Ctx,
    action: &'static str,
    resource_type: &'static str,
    facility_id: Option<i64>,
) -> Result<Audit<'static>> {
    let audit = Audit::new(action, resource_type);
    Ok(match (facility_id, ctx.scope()) {
        (Some(f), _) => {
            let org = facility_in_scope(ctx, f).await?;
            audit.facility(org, f)
        }
        (None, Scope::Organization(org)) => audit.org(org).reason("organization-wide list"),
        (
            None,
            Scope::Facility {
                organization_id,
                facility_id,
            },
        ) => audit.facility(organization_id, facility_id),
        (None, Scope::Platform) => audit,
    })
}

/// Capacity rules shared by create, update, census and `tend-api import`.
pub(crate) fn check_capacity(
    v: &mut Validator,
    facility_type: FacilityType,
    beds: Option<i32>,
    census: i32,
) {
    if let Some(b) = beds {
        if !(1..=MAX_BEDS).contains(&b) {
            v.add(
                "licensed_beds",
                format!("must be between 1 and {MAX_BEDS}, or null"),
            );
        }
        if !facility_type.has_beds() {
            v.add(
                "licensed_beds",
                "home health has no bed capacity; leave it null",
            );
        }
    }
    if census < 0 {
        v.add("current_census", "must not be negative");
    } else if let Some(b) = beds.filter(|b| *b > 0) {
        if census > b {
            v.add(
                "current_census",
                format!("must not exceed the {b} licensed beds"),
            );
        }
    } else if census > 1_000_000 {
        v.add("current_census", "is implausibly large");
    }
}

/// The settings Tend reads itself must be valid; other keys are free-form.
fn check_settings(v: &mut Validator, settings: JsonObject) -> JsonObject {
    if let Err(e) = tend_domain::break_glass::window_setting(&settings) {
        v.add(e.field, e.message);
    }
    for value in settings.values() {
        v.json_numbers("settings", value);
    }
    settings
}

/// The policy's numbers must be in range; each problem names
/// `policy.<field>`.
fn check_policy(v: &mut Validator, policy: FacilityPolicy) -> FacilityPolicy {
    for (field, message) in policy.problems() {
        v.add(&format!("policy.{field}"), message);
    }
    policy
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FacilityQuery {
    /// Only facilities of this organization.
    pub organization_id: Option<i64>,
    pub facility_type: Option<FacilityType>,
    pub is_active: Option<bool>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
}

/// Facilities visible to the caller.
#[utoipa::path(get, path = "/api/facilities", tag = "facilities", params(FacilityQuery),
    responses(
        (status = 200, description = "A page of facilities", body = FacilityPage),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 422, description = "Bad query parameter", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_facilities(
    mut ctx: Ctx,
    ApiQuery(q): ApiQuery<FacilityQuery>,
) -> Result<Json<FacilityPage>> {
    let after = cursor::decode(q.cursor.as_deref())?;
    let limit = cursor::limit(q.limit)?;
    let filter = Filter {
        organization_id: q.organization_id,
        facility_type: q.facility_type,
        is_active: q.is_active,
    };
    let rows =
        store::facilities::list(&mut ctx.tx, ctx.principal.scope(), &filter, after, limit).await?;
    let (items, next_cursor) = cursor::page(rows, limit, |f| f.id);
    let mut audit = Audit::new("facility.list", "facility").reason("facility list");
    if let Scope::Organization(org) = ctx.scope() {
        audit = audit.org(org);
    }
    ctx.audit_read(audit).await?;
    ctx.finish_read().await?;
    Ok(Json(FacilityPage { items, next_cursor }))
}

/// Create a facility (ORG_ADMIN in its organization, PLATFORM_ADMIN anywhere).
#[utoipa::path(post, path = "/api/facilities", tag = "facilities", request_body = CreateFacility,
    responses(
        (status = 201, description = "Created", body = Facility),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not create facilities", body = ErrorBody),
        (status = 404, description = "Organization not found in your scope", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_facility(
    mut ctx: Ctx,
    ApiJson(body): ApiJson<CreateFacility>,
) -> Result<(StatusCode, Json<Facility>)> {
    let organization_id = body
        .organization_id
        .unwrap_or(ctx.principal.organization_id);
    let scope = ctx.scope();
    store::organizations::get(&mut ctx.tx, scope, organization_id, false)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx = ctx.require(org_admin_or_above).await?;
    let mut v = Validator::new();
    let census = body.current_census.unwrap_or(0);
    check_capacity(&mut v, body.facility_type, body.licensed_beds, census);
    let fields = Fields {
        organization_id,
        name: v.text("name", &body.name, 200),
        facility_type: body.facility_type,
        medicaid_provider_number: v.opt_text(
            "medicaid_provider_number",
            body.medicaid_provider_number.as_deref(),
            32,
        ),
        medicare_provider_number: v.opt_text(
            "medicare_provider_number",
            body.medicare_provider_number.as_deref(),
            32,
        ),
        state_license_number: v.opt_text(
            "state_license_number",
            body.state_license_number.as_deref(),
            64,
        ),
        licensed_beds: body.licensed_beds,
        current_census: census,
        address: v.opt_text("address", body.address.as_deref(), 500),
        timezone: v.timezone(
            "timezone",
            body.timezone.as_deref().unwrap_or("America/New_York"),
        ),
        settings: check_settings(&mut v, body.settings.unwrap_or_default()),
        features: body.features.unwrap_or_default(),
        device_protection_minimum: body.device_protection_minimum.unwrap_or_default(),
        policy: check_policy(&mut v, body.policy.unwrap_or_default()),
        is_active: true,
    };
    v.finish()?;
    let facility = store::facilities::insert(&mut ctx.tx, &fields).await?;
    ctx.audit_write(
        Audit::new("facility.create", "facility")
            .resource(facility.id)
            .facility(organization_id, facility.id),
    )
    .await?;
    ctx.commit().await?;
    Ok((StatusCode::CREATED, Json(facility)))
}

/// One facility, with occupancy rate and available beds.
#[utoipa::path(get, path = "/api/facilities/{id}", tag = "facilities",
    params(("id" = i64, Path, description = "Facility id")),
    responses(
        (status = 200, description = "The facility", body = Facility),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "Not found in your scope", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_facility(mut ctx: Ctx, Id(id): Id) -> Result<Json<Facility>> {
    let facility = store::facilities::get(&mut ctx.tx, ctx.principal.scope(), id, false)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx.audit_read(
        Audit::new("facility.read", "facility")
            .resource(id)
            .facility(facility.organization_id, id),
    )
    .await?;
    ctx.finish_read().await?;
    Ok(Json(facility))
}

/// Update a facility (ORG_ADMIN, PLATFORM_ADMIN; a FACILITY_ADMIN of the
/// facility may send its `policy` alone). It never changes organization.
#[utoipa::path(put, path = "/api/facilities/{id}", tag = "facilities", request_body = UpdateFacility,
    params(("id" = i64, Path, description = "Facility id")),
    responses(
        (status = 200, description = "Updated", body = Facility),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not update facilities", body = ErrorBody),
        (status = 404, description = "Not found in your scope", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields, or a move to another organization", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_facility(
    State(state): State<AppState>,
    mut ctx: Ctx,
    Id(id): Id,
    ApiJson(body): ApiJson<UpdateFacility>,
) -> Result<Json<Facility>> {
    let current = store::facilities::get(&mut ctx.tx, ctx.principal.scope(), id, true)
        .await?
        .ok_or(ApiError::NotFound)?;
    // The policy is the facility's own running of its devices: its
    // administrator may change it; everything else is the organization's.
    let policy_only = body.is_policy_only();
    ctx = ctx
        .require(|role| org_admin_or_above(role) || (policy_only && admin(role)))
        .await?;
    let mut v = Validator::new();
    if body
        .organization_id
        .is_some_and(|o| o != current.organization_id)
    {
        v.add(
            "organization_id",
            "a facility cannot move to another organization",
        );
    }
    let facility_type = body.facility_type.unwrap_or(current.facility_type);
    let licensed_beds = body.licensed_beds.unwrap_or(current.licensed_beds);
    check_capacity(&mut v, facility_type, licensed_beds, current.current_census);
    let opt = |v: &mut Validator,
               field: &str,
               new: &Option<Option<String>>,
               old: Option<String>,
               max: usize| match new {
        Some(value) => v.opt_text(field, value.as_deref(), max),
        None => old,
    };
    let fields = Fields {
        organization_id: current.organization_id,
        name: match &body.name {
            Some(n) => v.text("name", n, 200),
            None => current.name,
        },
        facility_type,
        medicaid_provider_number: opt(
            &mut v,
            "medicaid_provider_number",
            &body.medicaid_provider_number,
            current.medicaid_provider_number,
            32,
        ),
        medicare_provider_number: opt(
            &mut v,
            "medicare_provider_number",
            &body.medicare_provider_number,
            current.medicare_provider_number,
            32,
        ),
        state_license_number: opt(
            &mut v,
            "state_license_number",
            &body.state_license_number,
            current.state_license_number,
            64,
        ),
        licensed_beds,
        current_census: current.current_census,
        address: opt(&mut v, "address", &body.address, current.address, 500),
        timezone: match &body.timezone {
            Some(tz) => v.timezone("timezone", tz),
            None => current.timezone,
        },
        settings: match body.settings {
            Some(settings) => check_settings(&mut v, settings),
            None => current.settings,
        },
        features: body.features.unwrap_or(current.features),
        device_protection_minimum: body
            .device_protection_minimum
            .unwrap_or(current.device_protection_minimum),
        policy: match body.policy {
            Some(policy) => check_policy(&mut v, policy),
            None => current.policy,
        },
        is_active: body.is_active.unwrap_or(current.is_active),
    };
    v.finish()?;
    let closing = current.is_active && !fields.is_active;
    let facility = store::facilities::update(&mut ctx.tx, id, &fields).await?;
    // Closing the facility refuses its devices at once (FACILITY_CLOSED at
    // their next authentication); they keep their data.
    let mut revoked = Vec::new();
    if closing {
        for device in
            store::devices::active_ids(&mut ctx.tx, facility.organization_id, Some(id)).await?
        {
            revoked.push(state.identity.revoke_device(&mut ctx.tx, device).await?);
        }
    }
    // Which policy numbers changed, so the audit log answers "who set the
    // idle lock to one minute" without a diff of the row.
    let changed = fields.policy.changed_from(&current.policy);
    let reason = (!changed.is_empty()).then(|| format!("policy changed: {}", changed.join(", ")));
    let mut audit = Audit::new("facility.update", "facility")
        .resource(id)
        .facility(facility.organization_id, id);
    if let Some(reason) = &reason {
        audit = audit.reason(reason);
    }
    ctx.audit_write(audit).await?;
    ctx.commit().await?;
    revoked.into_iter().for_each(|r| r.committed());
    Ok(Json(facility))
}

/// Set the census (FACILITY_ADMIN of the facility, ORG_ADMIN, PLATFORM_ADMIN).
#[utoipa::path(put, path = "/api/facilities/{id}/census", tag = "facilities", request_body = CensusUpdate,
    params(("id" = i64, Path, description = "Facility id")),
    responses(
        (status = 200, description = "Updated facility", body = Facility),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not change the census", body = ErrorBody),
        (status = 404, description = "Not found in your scope", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Negative, or above licensed beds", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_census(
    mut ctx: Ctx,
    Id(id): Id,
    ApiJson(body): ApiJson<CensusUpdate>,
) -> Result<Json<Facility>> {
    let current = store::facilities::get(&mut ctx.tx, ctx.principal.scope(), id, true)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx = ctx.require(admin).await?;
    let mut v = Validator::new();
    check_capacity(&mut v, current.facility_type, None, body.current_census);
    if let Some(b) = current.licensed_beds {
        if body.current_census > b {
            v.add(
                "current_census",
                format!("must not exceed the {b} licensed beds"),
            );
        }
    }
    v.finish()?;
    let org = current.organization_id;
    let fields = Fields {
        organization_id: org,
        name: current.name,
        facility_type: current.facility_type,
        medicaid_provider_number: current.medicaid_provider_number,
        medicare_provider_number: current.medicare_provider_number,
        state_license_number: current.state_license_number,
        licensed_beds: current.licensed_beds,
        current_census: body.current_census,
        address: current.address,
        timezone: current.timezone,
        settings: current.settings,
        features: current.features,
        device_protection_minimum: current.device_protection_minimum,
        policy: current.policy,
        is_active: current.is_active,
    };
    let facility = store::facilities::update(&mut ctx.tx, id, &fields).await?;
    ctx.audit_write(
        Audit::new("facility.census.update", "facility")
            .resource(id)
            .facility(org, id),
    )
    .await?;
    ctx.commit().await?;
    Ok(Json(facility))
}

/// Set the census to the residents on the list who are active or on leave
/// (the dashboard's "reconcile"), counted by the server in the same
/// transaction; audited with both numbers.
#[utoipa::path(post, path = "/api/facilities/{id}/census/reconcile", tag = "facilities",
    params(("id" = i64, Path, description = "Facility id")),
    responses(
        (status = 200, description = "Updated facility", body = Facility),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not change the census", body = ErrorBody),
        (status = 404, description = "Not found in your scope", body = ErrorBody),
        (status = 422, description = "More active residents than licensed beds (`current_census`)", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reconcile_census(mut ctx: Ctx, Id(id): Id) -> Result<Json<Facility>> {
    let current = store::facilities::get(&mut ctx.tx, ctx.principal.scope(), id, true)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx = ctx.require(admin).await?;
    let residents = store::facilities::active_residents(&mut ctx.tx, id).await?;
    let census = i32::try_from(residents).unwrap_or(i32::MAX);
    let mut v = Validator::new();
    check_capacity(&mut v, current.facility_type, None, census);
    if let Some(b) = current.licensed_beds {
        if census > b {
            v.add(
                "current_census",
                format!("{residents} active residents exceed the {b} licensed beds; check the resident list"),
            );
        }
    }
    v.finish()?;
    let before = current.current_census;
    let org = current.organization_id;
    let facility = store::facilities::set_census(&mut ctx.tx, id, census).await?;
    let reason = format!("census {before} set to the {residents} active residents on the list");
    ctx.audit_write(
        Audit::new("facility.census.reconcile", "facility")
            .resource(id)
            .facility(org, id)
            .reason(&reason),
    )
    .await?;
    ctx.commit().await?;
    Ok(Json(facility))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FacilityDeviceQuery {
    pub status: Option<DeviceStatus>,
    pub device_type: Option<DeviceType>,
    pub is_active: Option<bool>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
}

/// Devices registered to a facility (admins).
#[utoipa::path(get, path = "/api/facilities/{id}/devices", tag = "devices",
    params(("id" = i64, Path, description = "Facility id"), FacilityDeviceQuery),
    responses(
        (status = 200, description = "A page of devices", body = DevicePage),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not manage devices", body = ErrorBody),
        (status = 404, description = "Facility not found in your scope", body = ErrorBody),
        (status = 422, description = "Bad query parameter", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_facility_devices(
    mut ctx: Ctx,
    Id(id): Id,
    ApiQuery(q): ApiQuery<FacilityDeviceQuery>,
) -> Result<Json<DevicePage>> {
    let org = facility_in_scope(&mut ctx, id).await?;
    ctx = ctx.require(admin).await?;
    let after = cursor::decode(q.cursor.as_deref())?;
    let limit = cursor::limit(q.limit)?;
    let filter = store::devices::Filter {
        facility_id: Some(id),
        status: q.status,
        device_type: q.device_type,
        is_active: q.is_active,
    };
    let rows =
        store::devices::list(&mut ctx.tx, ctx.principal.scope(), &filter, after, limit).await?;
    let (items, next_cursor) = cursor::page(rows, limit, |d| d.id);
    ctx.audit_read(Audit::new("device.list", "device").facility(org, id))
        .await?;
    ctx.finish_read().await?;
    Ok(Json(DevicePage { items, next_cursor }))
}

/// The seed's dashboard: capacity, device health and staffing (admins).
#[utoipa::path(get, path = "/api/facilities/{id}/dashboard", tag = "facilities",
    params(("id" = i64, Path, description = "Facility id")),
    responses(
        (status = 200, description = "Dashboard figures", body = FacilityDashboard),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not see the dashboard", body = ErrorBody),
        (status = 404, description = "Facility not found in your scope", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn facility_dashboard(mut ctx: Ctx, Id(id): Id) -> Result<Json<FacilityDashboard>> {
    let facility = store::facilities::get(&mut ctx.tx, ctx.principal.scope(), id, false)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx = ctx.require(admin).await?;
    let devices = store::devices::active_in_facility(&mut ctx.tx, id).await?;
    let (active_staff, rn_count) = store::facilities::staff_counts(&mut ctx.tx, id).await?;
    let break_glass_unreviewed = store::break_glass::unreviewed_count(&mut ctx.tx, id).await?;
    let active_residents = store::facilities::active_residents(&mut ctx.tx, id).await?;
    let count = |pred: &dyn Fn(&tend_domain::wire::Device) -> bool| {
        devices.iter().filter(|d| pred(d)).count() as i64
    };
    let dashboard = FacilityDashboard {
        facility_id: id,
        current_census: facility.current_census,
        licensed_beds: facility.licensed_beds,
        occupancy_rate: occupancy_rate(facility.licensed_beds, facility.current_census),
        available_beds: available_beds(facility.licensed_beds, facility.current_census),
        active_devices: devices.len() as i64,
        online_devices: count(&|d| d.is_online),
        devices_with_sync_issues: count(&|d| d.sync_status != SyncStatus::Synced),
        devices_suspected_clones: count(&|d| d.clone_suspected_at.is_some()),
        active_staff,
        rn_count,
        break_glass_unreviewed,
        active_residents,
    };
    ctx.audit_read(
        Audit::new("facility.dashboard", "facility")
            .resource(id)
            .facility(facility.organization_id, id),
    )
    .await?;
    ctx.finish_read().await?;
    Ok(Json(dashboard))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CensusHistoryQuery {
    /// Days to cover, ending today: 1–365 (default 30). Read as text so a
    /// bad value answers 400 naming `days` rather than a generic query error.
    #[param(value_type = Option<i32>, minimum = 1, maximum = 365)]
    pub days: Option<String>,
}

/// Occupancy over time for the dashboard's chart (admins): one point per day
/// in the facility's time zone, each day's last census carried forward.
#[utoipa::path(get, path = "/api/facilities/{id}/census-history", tag = "facilities",
    params(("id" = i64, Path, description = "Facility id"), CensusHistoryQuery),
    responses(
        (status = 200, description = "One point per day, oldest first", body = CensusHistory),
        (status = 400, description = "`days` is not a whole number from 1 to 365", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not see the dashboard", body = ErrorBody),
        (status = 404, description = "Facility not found in your scope", body = ErrorBody),
        (status = 422, description = "Bad query string", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn census_history(
    mut ctx: Ctx,
    Id(id): Id,
    ApiQuery(q): ApiQuery<CensusHistoryQuery>,
) -> Result<Json<CensusHistory>> {
    let days = match q.days.as_deref() {
        None => HistoryDays::DEFAULT,
        Some(raw) => {
            HistoryDays::parse(raw).map_err(|e| ApiError::parameter(e.field, e.message))?
        }
    };
    let facility = store::facilities::get(&mut ctx.tx, ctx.principal.scope(), id, false)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx = ctx.require(admin).await?;
    let (timezone, points) =
        store::census_history::daily(&mut ctx.tx, id, &facility.timezone, days).await?;
    ctx.audit_read(
        Audit::new("facility.census_history", "facility")
            .resource(id)
            .facility(facility.organization_id, id),
    )
    .await?;
    ctx.finish_read().await?;
    Ok(Json(CensusHistory {
        facility_id: id,
        days: days.get(),
        timezone,
        points,
    }))
}
