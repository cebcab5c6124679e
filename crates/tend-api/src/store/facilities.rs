//! Facilities, their census and dashboard figures.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, QueryBuilder};
use tend_domain::wire::{DeviceProtectionMinimum, Facility, JsonObject};
use tend_domain::{available_beds, occupancy_rate, FacilityPolicy, FacilityType};

use super::decode;
use crate::context::{push_scope_filter, Scope};
use crate::error::Result;

const COLUMNS: &str = "id, organization_id, name, facility_type, medicaid_provider_number, medicare_provider_number, \
                       state_license_number, licensed_beds, current_census, address, timezone, settings, features, \
                       device_protection_minimum, policy, is_active, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    organization_id: i64,
    name: String,
    facility_type: String,
    medicaid_provider_number: Option<String>,
    medicare_provider_number: Option<String>,
    state_license_number: Option<String>,
    licensed_beds: Option<i32>,
    current_census: i32,
    address: Option<String>,
    timezone: String,
    settings: Json<JsonObject>,
    features: Json<BTreeMap<String, bool>>,
    device_protection_minimum: String,
    policy: Json<FacilityPolicy>,
    is_active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Row {
    fn into_wire(self) -> Result<Facility> {
        Ok(Facility {
            id: self.id,
            organization_id: self.organization_id,
            name: self.name,
            facility_type: decode(FacilityType::parse, &self.facility_type)?,
            medicaid_provider_number: self.medicaid_provider_number,
            medicare_provider_number: self.medicare_provider_number,
            state_license_number: self.state_license_number,
            licensed_beds: self.licensed_beds,
            current_census: self.current_census,
            occupancy_rate: occupancy_rate(self.licensed_beds, self.current_census),
            available_beds: available_beds(self.licensed_beds, self.current_census),
            address: self.address,
            timezone: self.timezone,
            settings: self.settings.0,
            features: self.features.0,
            device_protection_minimum: DeviceProtectionMinimum::parse(
                &self.device_protection_minimum,
            )
            .ok_or_else(|| {
                crate::error::ApiError::internal(anyhow::anyhow!(
                    "unknown device_protection_minimum in the database"
                ))
            })?,
            policy: self.policy.0.sanitized(),
            is_active: self.is_active,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(Debug, Default)]
pub struct Filter {
    pub organization_id: Option<i64>,
    pub facility_type: Option<FacilityType>,
    pub is_active: Option<bool>,
}

pub async fn list(
    conn: &mut PgConnection,
    scope: Scope,
    filter: &Filter,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<Facility>> {
    let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM facilities WHERE true"));
    push_scope_filter(&mut qb, scope, "id");
    if let Some(org) = filter.organization_id {
        qb.push(" AND organization_id = ").push_bind(org);
    }
    if let Some(t) = filter.facility_type {
        qb.push(" AND facility_type = ").push_bind(t.as_str());
    }
    if let Some(active) = filter.is_active {
        qb.push(" AND is_active = ").push_bind(active);
    }
    if let Some(after) = after {
        qb.push(" AND id > ").push_bind(after);
    }
    qb.push(" ORDER BY id LIMIT ").push_bind(limit + 1);
    let rows: Vec<Row> = qb.build_query_as().fetch_all(conn).await?;
    rows.into_iter().map(Row::into_wire).collect()
}

pub async fn get(
    conn: &mut PgConnection,
    scope: Scope,
    id: i64,
    lock: bool,
) -> Result<Option<Facility>> {
    let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM facilities WHERE id = "));
    qb.push_bind(id);
    push_scope_filter(&mut qb, scope, "id");
    if lock {
        qb.push(" FOR UPDATE");
    }
    let row: Option<Row> = qb.build_query_as().fetch_optional(conn).await?;
    row.map(Row::into_wire).transpose()
}

/// The organization of a facility in scope, or `None` when it is not visible.
pub async fn organization_of(
    conn: &mut PgConnection,
    scope: Scope,
    id: i64,
) -> Result<Option<i64>> {
    let mut qb = QueryBuilder::new("SELECT organization_id FROM facilities WHERE id = ");
    qb.push_bind(id);
    push_scope_filter(&mut qb, scope, "id");
    Ok(qb.build_query_scalar().fetch_optional(conn).await?)
}

pub struct Fields {
    pub organization_id: i64,
    pub name: String,
    pub facility_type: FacilityType,
    pub medicaid_provider_number: Option<String>,
    pub medicare_provider_number: Option<String>,
    pub state_license_number: Option<String>,
    pub licensed_beds: Option<i32>,
    pub current_census: i32,
    pub address: Option<String>,
    pub timezone: String,
    pub settings: JsonObject,
    pub features: BTreeMap<String, bool>,
    pub device_protection_minimum: DeviceProtectionMinimum,
    pub policy: FacilityPolicy,
    pub is_active: bool,
}

pub async fn insert(conn: &mut PgConnection, f: &Fields) -> Result<Facility> {
    let row: Row = sqlx::query_as(&format!(
        "INSERT INTO facilities (organization_id, name, facility_type, medicaid_provider_number, \
         medicare_provider_number, state_license_number, licensed_beds, current_census, address, timezone, \
         settings, features, is_active, device_protection_minimum, policy) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         RETURNING {COLUMNS}"
    ))
    .bind(f.organization_id)
    .bind(&f.name)
    .bind(f.facility_type.as_str())
    .bind(&f.medicaid_provider_number)
    .bind(&f.medicare_provider_number)
    .bind(&f.state_license_number)
    .bind(f.licensed_beds)
    .bind(f.current_census)
    .bind(&f.address)
    .bind(&f.timezone)
    .bind(Json(&f.settings))
    .bind(Json(&f.features))
    .bind(f.is_active)
    .bind(f.device_protection_minimum.as_str())
    .bind(Json(&f.policy))
    .fetch_one(conn)
    .await?;
    row.into_wire()
}

/// Overwrites every writable column except the organization, which never changes.
pub async fn update(conn: &mut PgConnection, id: i64, f: &Fields) -> Result<Facility> {
    let row: Row = sqlx::query_as(&format!(
        "UPDATE facilities SET name = $2, facility_type = $3, medicaid_provider_number = $4, \
         medicare_provider_number = $5, state_license_number = $6, licensed_beds = $7, current_census = $8, \
         address = $9, timezone = $10, settings = $11, features = $12, is_active = $13, \
         device_protection_minimum = $14, policy = $15, updated_at = now() \
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(&f.name)
    .bind(f.facility_type.as_str())
    .bind(&f.medicaid_provider_number)
    .bind(&f.medicare_provider_number)
    .bind(&f.state_license_number)
    .bind(f.licensed_beds)
    .bind(f.current_census)
    .bind(&f.address)
    .bind(&f.timezone)
    .bind(Json(&f.settings))
    .bind(Json(&f.features))
    .bind(f.is_active)
    .bind(f.device_protection_minimum.as_str())
    .bind(Json(&f.policy))
    .fetch_one(conn)
    .await?;
    row.into_wire()
}

/// Sets only the census (the rest of the row as it is).
pub async fn set_census(conn: &mut PgConnection, id: i64, census: i32) -> Result<Facility> {
    let row: Row = sqlx::query_as(&format!(
        "UPDATE facilities SET current_census = $2, updated_at = now() WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(census)
    .fetch_one(conn)
    .await?;
    row.into_wire()
}

/// A facility's policy (a missing facility: the defaults). For callers
/// that already know the facility is theirs, e.g. a user in scope.
pub async fn policy(conn: &mut PgConnection, facility_id: i64) -> Result<FacilityPolicy> {
    let policy: Option<Json<FacilityPolicy>> =
        sqlx::query_scalar("SELECT policy FROM facilities WHERE id = $1")
            .bind(facility_id)
            .fetch_optional(conn)
            .await?;
    Ok(policy.map(|p| p.0.sanitized()).unwrap_or_default())
}

/// Active staff and active RNs of a facility.
pub async fn staff_counts(conn: &mut PgConnection, facility_id: i64) -> Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE role = 'RN') FROM users WHERE facility_id = $1 AND is_active",
    )
    .bind(facility_id)
    .fetch_one(conn)
    .await?)
}

/// Residents of the facility who count toward the census (active or on leave).
pub async fn active_residents(conn: &mut PgConnection, facility_id: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM patients WHERE facility_id = $1 AND status IN ('active', 'on_leave')",
    )
    .bind(facility_id)
    .fetch_one(conn)
    .await?)
}

/// A facility's minimum device protection, for the heartbeat's lock
/// decision (no scope: the device token already proved the tenancy).
pub async fn device_protection_minimum(
    pool: &sqlx::PgPool,
    facility_id: i64,
) -> Result<DeviceProtectionMinimum> {
    let value: Option<String> = sqlx::query_scalar("SELECT tend_facility_device_protection($1)")
        .bind(facility_id)
        .fetch_one(pool)
        .await?;
    Ok(value
        .as_deref()
        .and_then(DeviceProtectionMinimum::parse)
        .unwrap_or_default())
}
