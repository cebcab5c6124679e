//! Enrollment codes and the device-side writes of enrollment, approval and
//! authentication. Code lookups by hash and device lookups by UUID go through
//! SECURITY DEFINER functions (enrollment has no scope yet); every write runs
//! under the scope of the facility it touches.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tend_domain::wire::EnrollmentCode;
use tend_domain::DeviceType;

use super::decode;
use crate::error::Result;

const COLUMNS: &str = "id, organization_id, facility_id, code_hint, device_type, max_uses, uses, \
                       expires_at, revoked_at, created_at";

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    organization_id: i64,
    facility_id: i64,
    code_hint: String,
    device_type: Option<String>,
    max_uses: i32,
    uses: i32,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl Row {
    fn into_wire(self) -> Result<EnrollmentCode> {
        let now = Utc::now();
        Ok(EnrollmentCode {
            id: self.id,
            organization_id: self.organization_id,
            facility_id: self.facility_id,
            code_hint: self.code_hint,
            device_type: self
                .device_type
                .as_deref()
                .map(|t| decode(DeviceType::parse, t))
                .transpose()?,
            max_uses: self.max_uses,
            uses: self.uses,
            is_usable: self.revoked_at.is_none()
                && self.expires_at > now
                && self.uses < self.max_uses,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            created_at: self.created_at,
        })
    }
}

pub struct NewCode<'a> {
    pub organization_id: i64,
    pub facility_id: i64,
    pub code_hash: &'a [u8],
    pub code_hint: &'a str,
    pub device_type: Option<DeviceType>,
    pub max_uses: i32,
    pub expires_in_hours: i64,
    pub created_by: i64,
}

pub async fn insert(conn: &mut PgConnection, c: &NewCode<'_>) -> Result<EnrollmentCode> {
    let row: Row = sqlx::query_as(&format!(
        "INSERT INTO enrollment_codes (organization_id, facility_id, code_hash, code_hint, device_type, \
         max_uses, expires_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(hours => $7::int), $8) RETURNING {COLUMNS}"
    ))
    .bind(c.organization_id)
    .bind(c.facility_id)
    .bind(c.code_hash)
    .bind(c.code_hint)
    .bind(c.device_type.map(|t| t.as_str()))
    .bind(c.max_uses)
    .bind(c.expires_in_hours)
    .bind(c.created_by)
    .fetch_one(conn)
    .await?;
    row.into_wire()
}

/// Codes of one facility (the caller's scope was checked on the facility).
pub async fn list(
    conn: &mut PgConnection,
    facility_id: i64,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<EnrollmentCode>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM enrollment_codes WHERE facility_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    ))
    .bind(facility_id)
    .bind(after.unwrap_or(0))
    .bind(limit + 1)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(Row::into_wire).collect()
}

/// Revokes a code of `facility_id` (idempotent); `None` if there is no such code.
pub async fn revoke(
    conn: &mut PgConnection,
    facility_id: i64,
    id: i64,
) -> Result<Option<EnrollmentCode>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "UPDATE enrollment_codes SET revoked_at = coalesce(revoked_at, now()) \
         WHERE id = $1 AND facility_id = $2 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(facility_id)
    .fetch_optional(conn)
    .await?;
    row.map(Row::into_wire).transpose()
}

/// A code as enrollment sees it (found by hash, before any scope).
#[derive(Debug, sqlx::FromRow)]
pub struct CodeLookup {
    pub id: i64,
    pub organization_id: i64,
    pub facility_id: i64,
    pub device_type: Option<String>,
    pub max_uses: i32,
    pub uses: i32,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub async fn lookup_code(conn: &mut PgConnection, hash: &[u8]) -> Result<Option<CodeLookup>> {
    Ok(
        sqlx::query_as("SELECT * FROM tend_enrollment_code_lookup($1)")
            .bind(hash)
            .fetch_optional(conn)
            .await?,
    )
}

/// Uses the code once; false if it ran out (or expired, or was revoked) meanwhile.
pub async fn consume(conn: &mut PgConnection, id: i64) -> Result<bool> {
    let done: Option<i64> = sqlx::query_scalar(
        "UPDATE enrollment_codes SET uses = uses + 1 \
         WHERE id = $1 AND uses < max_uses AND revoked_at IS NULL AND expires_at > now() RETURNING id",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(done.is_some())
}

/// A device as enrollment and authentication see it.
#[derive(Debug, sqlx::FromRow)]
pub struct DeviceLookup {
    pub id: i64,
    pub organization_id: i64,
    pub facility_id: i64,
    pub status: String,
    pub is_active: bool,
    pub encryption_required: bool,
    pub identity_public_key: Option<String>,
    pub facility_name: String,
    pub facility_active: bool,
    pub organization_active: bool,
}

pub async fn lookup_device(
    conn: &mut PgConnection,
    device_uuid: uuid::Uuid,
) -> Result<Option<DeviceLookup>> {
    Ok(
        sqlx::query_as("SELECT * FROM tend_device_identity_lookup($1)")
            .bind(device_uuid)
            .fetch_optional(conn)
            .await?,
    )
}

/// What enrollment writes onto a device row.
pub struct Enrollment<'a> {
    pub facility_id: i64,
    pub device_name: &'a str,
    pub device_type: DeviceType,
    pub mac_address: Option<String>,
    pub public_key: &'a str,
    pub os: Option<&'a str>,
    pub app_version: Option<&'a str>,
    pub identity_source: Option<&'a str>,
    pub enrollment_code_id: Option<i64>,
    /// `ACTIVE` (with a code) or `PENDING` (awaiting approval).
    pub status: &'a str,
}

pub async fn insert_enrolled(
    conn: &mut PgConnection,
    organization_id: i64,
    device_uuid: uuid::Uuid,
    e: &Enrollment<'_>,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO devices (organization_id, facility_id, device_name, device_type, device_uuid, mac_address, \
         identity_public_key, os, app_version, identity_source, enrollment_code_id, status, is_active, enrolled_at) \
         VALUES ($1, $2, $3, $4, $5, $6::macaddr, $7, $8, $9, $10, $11, $12, $12 = 'ACTIVE', now()) RETURNING id",
    )
    .bind(organization_id)
    .bind(e.facility_id)
    .bind(e.device_name)
    .bind(e.device_type.as_str())
    .bind(device_uuid)
    .bind(&e.mac_address)
    .bind(e.public_key)
    .bind(e.os)
    .bind(e.app_version)
    .bind(e.identity_source)
    .bind(e.enrollment_code_id)
    .bind(e.status)
    .fetch_one(conn)
    .await?)
}

/// Binds a key to an existing (pre-registered, deactivated or rejected) row.
pub async fn update_enrolled(conn: &mut PgConnection, id: i64, e: &Enrollment<'_>) -> Result<()> {
    sqlx::query(
        "UPDATE devices SET facility_id = $2, device_name = $3, device_type = $4, \
         mac_address = coalesce($5::macaddr, mac_address), identity_public_key = $6, os = $7, \
         app_version = coalesce($8, app_version), identity_source = $9, \
         enrollment_code_id = coalesce($10, enrollment_code_id), status = $11, is_active = ($11 = 'ACTIVE'), \
         enrolled_at = now(), clone_suspected_at = NULL, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(e.facility_id)
    .bind(e.device_name)
    .bind(e.device_type.as_str())
    .bind(&e.mac_address)
    .bind(e.public_key)
    .bind(e.os)
    .bind(e.app_version)
    .bind(e.identity_source)
    .bind(e.enrollment_code_id)
    .bind(e.status)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn flag_clone(conn: &mut PgConnection, id: i64) -> Result<()> {
    sqlx::query("UPDATE devices SET clone_suspected_at = now(), updated_at = now() WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Moves a device to `status` (approve, reject).
pub async fn set_status(
    conn: &mut PgConnection,
    id: i64,
    status: &str,
    is_active: bool,
) -> Result<()> {
    sqlx::query(
        "UPDATE devices SET status = $2, is_active = $3, updated_at = now(), \
         enrolled_at = CASE WHEN $2 = 'ACTIVE' THEN coalesce(enrolled_at, now()) ELSE enrolled_at END \
         WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(is_active)
    .execute(conn)
    .await?;
    Ok(())
}

/// An audit row whose actor is a device (or an unauthenticated enrollment).
#[derive(Debug)]
pub struct DeviceAudit<'a> {
    pub device_id: Option<i64>,
    pub organization_id: i64,
    pub facility_id: i64,
    pub action: &'a str,
    pub outcome: &'a str,
    pub reason: Option<&'a str>,
    pub client_address: Option<&'a str>,
}

pub async fn audit_device(conn: &mut PgConnection, a: &DeviceAudit<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_events (actor_device_id, organization_id, facility_id, action, resource_type, \
         resource_id, outcome, reason, client_address) VALUES ($1, $2, $3, $4, 'device', $1, $5, $6, $7)",
    )
    .bind(a.device_id)
    .bind(a.organization_id)
    .bind(a.facility_id)
    .bind(a.action)
    .bind(a.outcome)
    .bind(a.reason)
    .bind(a.client_address)
    .execute(conn)
    .await?;
    crate::metrics::metrics().audit_rows.inc();
    Ok(())
}

pub async fn issue_token(
    conn: &mut PgConnection,
    hash: &[u8],
    device_id: i64,
    ttl: std::time::Duration,
) -> Result<DateTime<Utc>> {
    Ok(
        sqlx::query_scalar("SELECT tend_device_token_issue($1, $2, make_interval(secs => $3))")
            .bind(hash)
            .bind(device_id)
            .bind(ttl.as_secs_f64())
            .fetch_one(conn)
            .await?,
    )
}

/// Revokes every token of the device and, at commit, tells every API
/// instance to drop them from its cache.
pub async fn revoke_tokens(conn: &mut PgConnection, device_id: i64) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT tend_device_tokens_revoke($1) FROM pg_notify($2, $1::text)")
            .bind(device_id)
            .bind(crate::identity::REVOCATION_CHANNEL)
            .fetch_one(conn)
            .await?,
    )
}
