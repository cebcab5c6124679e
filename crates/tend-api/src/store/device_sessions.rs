//! Sessions users had on devices (migration 0012): written by the logins a
//! device makes or reports, read by the push's authorship check.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::error::Result;

/// How a session on a device began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionMethod {
    /// An online badge login through the device.
    Badge,
    /// A password login the device made with its device token.
    Password,
    /// An offline badge login the device reported in its outbox.
    Offline,
}

impl SessionMethod {
    fn as_str(self) -> &'static str {
        match self {
            Self::Badge => "badge",
            Self::Password => "password",
            Self::Offline => "offline",
        }
    }
}

/// A session to remember.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub organization_id: i64,
    /// The device's facility when the session began.
    pub facility_id: i64,
    pub device_id: i64,
    pub user_id: i64,
    pub method: SessionMethod,
    pub started_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut PgConnection, session: &NewSession) -> Result<()> {
    sqlx::query(
        "INSERT INTO device_sessions (organization_id, facility_id, device_id, user_id, method, \
         started_at, ends_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(session.organization_id)
    .bind(session.facility_id)
    .bind(session.device_id)
    .bind(session.user_id)
    .bind(session.method.as_str())
    .bind(session.started_at)
    .bind(session.ends_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// One session's span, for the authorship check.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct SessionSpan {
    pub user_id: i64,
    pub started_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// Sessions of `users` on `device_id` that overlap `[from, to]` (under the
/// caller's scope: the device's facility).
pub async fn overlapping(
    conn: &mut PgConnection,
    device_id: i64,
    users: &[i64],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<SessionSpan>> {
    Ok(sqlx::query_as(
        "SELECT user_id, started_at, ends_at FROM device_sessions \
         WHERE device_id = $1 AND user_id = ANY($2) AND started_at <= $4 AND ends_at >= $3",
    )
    .bind(device_id)
    .bind(users)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?)
}

/// For each of `users` who ever logged in on `device_id` with an online
/// badge login: the first such login. The device keeps an offline verifier
/// only after one, so only these users can log in offline there.
pub async fn first_badge_logins(
    conn: &mut PgConnection,
    device_id: i64,
    users: &[i64],
) -> Result<Vec<(i64, DateTime<Utc>)>> {
    Ok(sqlx::query_as(
        "SELECT user_id, min(started_at) FROM device_sessions \
         WHERE device_id = $1 AND user_id = ANY($2) AND method = 'badge' GROUP BY user_id",
    )
    .bind(device_id)
    .bind(users)
    .fetch_all(conn)
    .await?)
}
