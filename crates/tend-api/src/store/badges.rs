//! Badges (keyed hashes only), organization badge keys, user PINs and the
//! counters of badge login. Admin operations run under the caller's scope;
//! badge login looks a badge up organization-wide through a SECURITY DEFINER
//! function and writes under the scope of the user it logs in.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tend_domain::wire::Badge;

use crate::error::Result;

const COLUMNS: &str =
    "id, organization_id, facility_id, user_id, label, locked_until, last_used_at, \
                       created_by, created_at, revoked_at, revoked_by";

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    organization_id: i64,
    facility_id: i64,
    user_id: i64,
    label: Option<String>,
    locked_until: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
    created_by: Option<i64>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    revoked_by: Option<i64>,
}

impl Row {
    fn into_wire(self) -> Badge {
        Badge {
            id: self.id,
            organization_id: self.organization_id,
            facility_id: self.facility_id,
            user_id: self.user_id,
            label: self.label,
            is_active: self.revoked_at.is_none(),
            // A lock that has run out is no longer news.
            locked_until: self.locked_until.filter(|t| *t > Utc::now()),
            created_by: self.created_by,
            created_at: self.created_at,
            revoked_at: self.revoked_at,
            revoked_by: self.revoked_by,
            last_used_at: self.last_used_at,
        }
    }
}

/// The organization's badge key, created (32 random bytes) on first use.
pub async fn key_or_create(conn: &mut PgConnection, organization_id: i64) -> Result<Vec<u8>> {
    let mut key = [0u8; 32];
    OsRng.fill_bytes(&mut key);
    // A concurrent first assignment may win the insert; both then read its key.
    sqlx::query(
        "INSERT INTO organization_badge_keys (organization_id, badge_key) VALUES ($1, $2) \
         ON CONFLICT (organization_id) DO NOTHING",
    )
    .bind(organization_id)
    .bind(&key[..])
    .execute(&mut *conn)
    .await?;
    Ok(sqlx::query_scalar(
        "SELECT badge_key FROM organization_badge_keys WHERE organization_id = $1",
    )
    .bind(organization_id)
    .fetch_one(conn)
    .await?)
}

/// The user's active badge with this hash, if the user already holds it.
pub async fn active_for_user(
    conn: &mut PgConnection,
    organization_id: i64,
    badge_hash: &[u8],
    user_id: i64,
) -> Result<Option<Badge>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM badges WHERE organization_id = $1 AND badge_hash = $2 AND user_id = $3 \
         AND revoked_at IS NULL"
    ))
    .bind(organization_id)
    .bind(badge_hash)
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Row::into_wire))
}

pub struct NewBadge<'a> {
    pub organization_id: i64,
    pub facility_id: i64,
    pub user_id: i64,
    pub badge_hash: &'a [u8],
    pub label: Option<&'a str>,
    pub created_by: i64,
}

/// Inserts an active badge; another active holder in the organization is a
/// unique violation (`badges_active_hash_key` → 409).
pub async fn insert(conn: &mut PgConnection, b: &NewBadge<'_>) -> Result<Badge> {
    let row: Row = sqlx::query_as(&format!(
        "INSERT INTO badges (organization_id, facility_id, user_id, badge_hash, label, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
    ))
    .bind(b.organization_id)
    .bind(b.facility_id)
    .bind(b.user_id)
    .bind(b.badge_hash)
    .bind(b.label)
    .bind(b.created_by)
    .fetch_one(conn)
    .await?;
    Ok(row.into_wire())
}

/// A user's badges, revoked ones included (the user's scope was checked).
pub async fn list(
    conn: &mut PgConnection,
    user_id: i64,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<Badge>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM badges WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    ))
    .bind(user_id)
    .bind(after.unwrap_or(0))
    .bind(limit + 1)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Row::into_wire).collect())
}

/// Revokes a badge of `user_id` (idempotent: the first revocation's time and
/// author stay); `None` if the user has no such badge.
pub async fn revoke(
    conn: &mut PgConnection,
    user_id: i64,
    badge_id: i64,
    revoked_by: i64,
) -> Result<Option<Badge>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "UPDATE badges SET revoked_by = CASE WHEN revoked_at IS NULL THEN $3 ELSE revoked_by END, \
         revoked_at = coalesce(revoked_at, now()) \
         WHERE id = $1 AND user_id = $2 RETURNING {COLUMNS}"
    ))
    .bind(badge_id)
    .bind(user_id)
    .bind(revoked_by)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Row::into_wire))
}

/// Stores a new PIN hash. The badge-only grace restarts from the next
/// badge+PIN login, and the user's badges are unlocked (an admin resetting a
/// PIN is how a locked-out user gets back in before the lock runs out).
pub async fn set_pin(
    conn: &mut PgConnection,
    user_id: i64,
    pin_hash: &str,
) -> Result<DateTime<Utc>> {
    let set_at: DateTime<Utc> = sqlx::query_scalar(
        "UPDATE users SET pin_hash = $2, pin_set_at = now(), last_badge_pin_login_at = NULL, updated_at = now() \
         WHERE id = $1 RETURNING pin_set_at",
    )
    .bind(user_id)
    .bind(pin_hash)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE badges SET failed_pin_attempts = 0, locked_until = NULL \
         WHERE user_id = $1 AND revoked_at IS NULL AND (failed_pin_attempts > 0 OR locked_until IS NOT NULL)",
    )
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(set_at)
}

/// What badge login needs to know about the device it runs on (under the
/// device's facility scope).
#[derive(sqlx::FromRow)]
pub struct DeviceContext {
    pub status: String,
    pub is_active: bool,
    pub facility_policy: sqlx::types::Json<tend_domain::FacilityPolicy>,
    /// `None` until the organization's first badge is assigned.
    pub badge_key: Option<Vec<u8>>,
}

pub async fn device_context(
    conn: &mut PgConnection,
    device_id: i64,
) -> Result<Option<DeviceContext>> {
    Ok(sqlx::query_as(
        "SELECT d.status, d.is_active, f.policy AS facility_policy, k.badge_key \
         FROM devices d JOIN facilities f ON f.id = d.facility_id \
         LEFT JOIN organization_badge_keys k ON k.organization_id = d.organization_id \
         WHERE d.id = $1",
    )
    .bind(device_id)
    .fetch_optional(conn)
    .await?)
}

/// A badge found for a login: the active one, else the latest revoked one.
#[derive(sqlx::FromRow)]
pub struct LoginCandidate {
    pub badge_id: i64,
    pub revoked: bool,
    pub failed_pin_attempts: i32,
    pub locked_until: Option<DateTime<Utc>>,
    pub user_id: i64,
    pub role: String,
    pub facility_id: i64,
    pub is_active: bool,
    pub pin_hash: Option<String>,
    pub last_badge_pin_login_at: Option<DateTime<Utc>>,
}

pub async fn login_lookup(
    conn: &mut PgConnection,
    organization_id: i64,
    badge_hash: &[u8],
) -> Result<Option<LoginCandidate>> {
    Ok(
        sqlx::query_as("SELECT * FROM tend_badge_login_lookup($1, $2)")
            .bind(organization_id)
            .bind(badge_hash)
            .fetch_optional(conn)
            .await?,
    )
}

/// Locks a badge's row until the transaction ends and returns its lock
/// state as it is now (serializes concurrent login attempts on one badge).
pub async fn lock_for_login(
    conn: &mut PgConnection,
    badge_id: i64,
) -> Result<Option<DateTime<Utc>>> {
    Ok(sqlx::query_scalar::<_, Option<DateTime<Utc>>>(
        "SELECT locked_until FROM badges WHERE id = $1 FOR UPDATE",
    )
    .bind(badge_id)
    .fetch_optional(conn)
    .await?
    .flatten())
}

/// Counts a wrong PIN; at `max_attempts` the badge locks for `lockout` and
/// the counter starts again. Returns the attempts counted so far (0 after a
/// lock) and whether this attempt locked the badge; `None` when a concurrent
/// attempt locked it first (this one then counts for nothing).
pub async fn record_wrong_pin(
    conn: &mut PgConnection,
    badge_id: i64,
    max_attempts: i32,
    lockout: chrono::Duration,
) -> Result<Option<(i32, bool)>> {
    Ok(sqlx::query_as(
        "UPDATE badges SET \
           locked_until = CASE WHEN failed_pin_attempts + 1 >= $2 \
                               THEN now() + make_interval(secs => $3) ELSE locked_until END, \
           failed_pin_attempts = CASE WHEN failed_pin_attempts + 1 >= $2 THEN 0 ELSE failed_pin_attempts + 1 END \
         WHERE id = $1 AND (locked_until IS NULL OR locked_until <= now()) \
         RETURNING failed_pin_attempts, coalesce(locked_until > now(), false)",
    )
    .bind(badge_id)
    .bind(max_attempts)
    .bind(lockout.num_seconds() as f64)
    .fetch_optional(conn)
    .await?)
}

/// Records a successful login with the badge; with the PIN, it also clears
/// the wrong-PIN counter and starts the user's badge-only grace period.
pub async fn record_login(
    conn: &mut PgConnection,
    badge_id: i64,
    user_id: i64,
    with_pin: bool,
) -> Result<()> {
    if with_pin {
        sqlx::query(
            "UPDATE badges SET last_used_at = now(), failed_pin_attempts = 0, locked_until = NULL WHERE id = $1",
        )
        .bind(badge_id)
        .execute(&mut *conn)
        .await?;
        sqlx::query("UPDATE users SET last_badge_pin_login_at = now() WHERE id = $1")
            .bind(user_id)
            .execute(conn)
            .await?;
    } else {
        sqlx::query("UPDATE badges SET last_used_at = now() WHERE id = $1")
            .bind(badge_id)
            .execute(conn)
            .await?;
    }
    Ok(())
}
