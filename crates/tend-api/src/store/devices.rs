//! Devices. `is_online` and `sync_status` are derived here from what
//! heartbeats stored, in server time, with the shared domain rules.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, QueryBuilder};
use tend_domain::wire::{Device, EncryptionPosture};
use tend_domain::{is_online, sync_status, DeviceStatus, DeviceType, SyncInputs, SyncThresholds};

use super::decode;
use crate::context::{push_scope_filter, Scope};
use crate::error::Result;

const COLUMNS: &str = "id, organization_id, facility_id, device_name, device_type, device_uuid, \
                       mac_address::text AS mac_address, encryption_enabled, encryption_required, app_version, \
                       status, is_active, last_seen, last_sync, oldest_pending_since, sync_errors, \
                       last_security_audit, encryption_posture, os, identity_source, \
                       identity_public_key IS NOT NULL AS has_identity_key, clone_suspected_at, clock_offset_ms, \
                       created_at, updated_at, \
                       (SELECT o.settings FROM organizations o WHERE o.id = devices.organization_id) AS org_settings, \
                       (SELECT f.name FROM facilities f WHERE f.id = devices.facility_id) AS facility_name";

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    organization_id: i64,
    facility_id: i64,
    device_name: String,
    device_type: String,
    device_uuid: uuid::Uuid,
    mac_address: Option<String>,
    encryption_enabled: bool,
    encryption_required: bool,
    app_version: Option<String>,
    status: String,
    is_active: bool,
    last_seen: Option<DateTime<Utc>>,
    last_sync: Option<DateTime<Utc>>,
    oldest_pending_since: Option<DateTime<Utc>>,
    sync_errors: bool,
    last_security_audit: Option<DateTime<Utc>>,
    encryption_posture: Option<String>,
    os: Option<String>,
    identity_source: Option<String>,
    has_identity_key: bool,
    clone_suspected_at: Option<DateTime<Utc>>,
    clock_offset_ms: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    org_settings: Option<serde_json::Value>,
    facility_name: Option<String>,
}

/// The organization's sync thresholds: settings `sync_synced_within_minutes`
/// (default 15) and `sync_out_of_sync_after_hours` (default 24); a missing or
/// out-of-range value keeps the default.
pub fn thresholds(settings: Option<&serde_json::Value>) -> SyncThresholds {
    let defaults = SyncThresholds::default();
    let get = |key: &str, max: i64| {
        settings
            .and_then(|s| s.get(key))
            .and_then(|v| v.as_i64())
            .filter(|n| (1..=max).contains(n))
    };
    SyncThresholds {
        synced_within: get("sync_synced_within_minutes", 7 * 24 * 60)
            .map_or(defaults.synced_within, chrono::Duration::minutes),
        out_of_sync_after: get("sync_out_of_sync_after_hours", 365 * 24)
            .map_or(defaults.out_of_sync_after, chrono::Duration::hours),
    }
}

impl Row {
    fn into_wire(self, now: DateTime<Utc>) -> Result<Device> {
        let inputs = SyncInputs {
            last_sync: self.last_sync,
            oldest_pending_since: self.oldest_pending_since,
            sync_errors: self.sync_errors,
        };
        Ok(Device {
            id: self.id,
            organization_id: self.organization_id,
            facility_id: self.facility_id,
            facility_name: self.facility_name,
            device_name: self.device_name,
            device_type: decode(DeviceType::parse, &self.device_type)?,
            device_uuid: self.device_uuid.hyphenated().to_string(),
            mac_address: self.mac_address,
            encryption_enabled: self.encryption_enabled,
            encryption_required: self.encryption_required,
            app_version: self.app_version,
            status: decode(DeviceStatus::parse, &self.status)?,
            is_active: self.is_active,
            // Only a device that may still talk to the API can be online.
            is_online: self.status == "ACTIVE" && is_online(self.last_seen, now),
            sync_status: sync_status(inputs, now, thresholds(self.org_settings.as_ref())),
            last_seen: self.last_seen,
            last_sync: self.last_sync,
            last_security_audit: self.last_security_audit,
            encryption_posture: match self.encryption_posture.as_deref() {
                Some("keyring") => Some(EncryptionPosture::Keyring),
                Some("key_file") => Some(EncryptionPosture::KeyFile),
                Some("server_bound") => Some(EncryptionPosture::ServerBound),
                Some("none") => Some(EncryptionPosture::None),
                _ => None,
            },
            os: self.os,
            identity_source: self.identity_source,
            has_identity_key: self.has_identity_key,
            clone_suspected_at: self.clone_suspected_at,
            clock_offset_ms: self.clock_offset_ms,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(Debug, Default)]
pub struct Filter {
    pub facility_id: Option<i64>,
    pub status: Option<DeviceStatus>,
    pub device_type: Option<DeviceType>,
    pub is_active: Option<bool>,
}

pub async fn list(
    conn: &mut PgConnection,
    scope: Scope,
    filter: &Filter,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<Device>> {
    let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM devices WHERE true"));
    push_scope_filter(&mut qb, scope, "facility_id");
    if let Some(f) = filter.facility_id {
        qb.push(" AND facility_id = ").push_bind(f);
    }
    if let Some(s) = filter.status {
        qb.push(" AND status = ").push_bind(s.as_str());
    }
    if let Some(t) = filter.device_type {
        qb.push(" AND device_type = ").push_bind(t.as_str());
    }
    if let Some(a) = filter.is_active {
        qb.push(" AND is_active = ").push_bind(a);
    }
    if let Some(after) = after {
        qb.push(" AND id > ").push_bind(after);
    }
    qb.push(" ORDER BY id LIMIT ").push_bind(limit + 1);
    let rows: Vec<Row> = qb.build_query_as().fetch_all(conn).await?;
    let now = Utc::now();
    rows.into_iter().map(|r| r.into_wire(now)).collect()
}

pub async fn get(
    conn: &mut PgConnection,
    scope: Scope,
    id: i64,
    lock: bool,
) -> Result<Option<Device>> {
    let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM devices WHERE id = "));
    qb.push_bind(id);
    push_scope_filter(&mut qb, scope, "facility_id");
    if lock {
        qb.push(" FOR UPDATE");
    }
    let row: Option<Row> = qb.build_query_as().fetch_optional(conn).await?;
    row.map(|r| r.into_wire(Utc::now())).transpose()
}

/// Every active device of a facility (for the dashboard).
pub async fn active_in_facility(conn: &mut PgConnection, facility_id: i64) -> Result<Vec<Device>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM devices WHERE facility_id = $1 AND is_active ORDER BY id"
    ))
    .bind(facility_id)
    .fetch_all(conn)
    .await?;
    let now = Utc::now();
    rows.into_iter().map(|r| r.into_wire(now)).collect()
}

pub struct Fields {
    pub organization_id: i64,
    pub facility_id: i64,
    pub device_name: String,
    pub device_type: DeviceType,
    pub device_uuid: uuid::Uuid,
    pub mac_address: Option<String>,
    pub encryption_enabled: bool,
    pub encryption_required: bool,
    pub app_version: Option<String>,
    pub status: DeviceStatus,
    pub is_active: bool,
    pub last_security_audit: Option<DateTime<Utc>>,
}

pub async fn insert(conn: &mut PgConnection, f: &Fields) -> Result<Device> {
    let row: Row = sqlx::query_as(&format!(
        "INSERT INTO devices (organization_id, facility_id, device_name, device_type, device_uuid, mac_address, \
         encryption_enabled, encryption_required, app_version, status, is_active, last_security_audit, enrolled_at) \
         VALUES ($1, $2, $3, $4, $5, $6::macaddr, $7, $8, $9, $10, $11, $12, \
         CASE WHEN $10 = 'ACTIVE' THEN now() END) RETURNING {COLUMNS}"
    ))
    .bind(f.organization_id)
    .bind(f.facility_id)
    .bind(&f.device_name)
    .bind(f.device_type.as_str())
    .bind(f.device_uuid)
    .bind(&f.mac_address)
    .bind(f.encryption_enabled)
    .bind(f.encryption_required)
    .bind(&f.app_version)
    .bind(f.status.as_str())
    .bind(f.is_active)
    .bind(f.last_security_audit)
    .fetch_one(conn)
    .await?;
    row.into_wire(Utc::now())
}

pub async fn update(conn: &mut PgConnection, id: i64, f: &Fields) -> Result<Device> {
    let row: Row = sqlx::query_as(&format!(
        "UPDATE devices SET facility_id = $2, device_name = $3, device_type = $4, mac_address = $5::macaddr, \
         encryption_enabled = $6, encryption_required = $7, app_version = $8, status = $9, is_active = $10, \
         last_security_audit = $11, updated_at = now() WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(f.facility_id)
    .bind(&f.device_name)
    .bind(f.device_type.as_str())
    .bind(&f.mac_address)
    .bind(f.encryption_enabled)
    .bind(f.encryption_required)
    .bind(&f.app_version)
    .bind(f.status.as_str())
    .bind(f.is_active)
    .bind(f.last_security_audit)
    .fetch_one(conn)
    .await?;
    row.into_wire(Utc::now())
}

/// Remembers the facility the device just left (its outbox may still hold
/// documentation written there; see `api::sync::push`).
pub async fn record_move(conn: &mut PgConnection, id: i64, from_facility_id: i64) -> Result<()> {
    sqlx::query("UPDATE devices SET moved_from_facility_id = $2, moved_at = now() WHERE id = $1")
        .bind(id)
        .bind(from_facility_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The facility the device left at its latest move, if any.
pub async fn moved_from(conn: &mut PgConnection, id: i64) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT moved_from_facility_id FROM devices WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?
            .flatten(),
    )
}

/// The devices of a facility (`facility_id`) or of a whole organization
/// (`None`) that may hold tokens: what a closure revokes.
pub async fn active_ids(
    conn: &mut PgConnection,
    organization_id: i64,
    facility_id: Option<i64>,
) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM devices WHERE organization_id = $1 AND ($2::bigint IS NULL OR facility_id = $2) \
         AND status = 'ACTIVE'",
    )
    .bind(organization_id)
    .bind(facility_id)
    .fetch_all(conn)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn thresholds_come_from_settings_with_defaults() {
        assert_eq!(thresholds(None), SyncThresholds::default());
        let t = thresholds(Some(
            &json!({"sync_synced_within_minutes": 5, "sync_out_of_sync_after_hours": 48}),
        ));
        assert_eq!(t.synced_within, chrono::Duration::minutes(5));
        assert_eq!(t.out_of_sync_after, chrono::Duration::hours(48));
        let t = thresholds(Some(
            &json!({"sync_synced_within_minutes": 0, "sync_out_of_sync_after_hours": "x"}),
        ));
        assert_eq!(t, SyncThresholds::default());
    }
}
