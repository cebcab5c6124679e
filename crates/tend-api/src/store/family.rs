//! Family portal storage: visitor codes (hashes only), family updates and
//! family messages under the caller's scope; check-in and family sessions go
//! through the SECURITY DEFINER functions of migration 0005.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tend_domain::wire::{
    FamilyItem, FamilyMessage, FamilyResident, FamilyUpdate, FamilyUpdateKind, VisitorCode,
};

use super::decode;
use crate::context::Scope;
use crate::error::Result;

/// Newest items a staff list returns (codes, updates, messages of one resident).
const LIST_LIMIT: i64 = 200;
/// Newest items of each kind a family summary shows.
const SUMMARY_LIMIT: i64 = 50;

/// A resident in the caller's scope, with whether the facility has the family portal on.
#[derive(Debug, sqlx::FromRow)]
pub struct Resident {
    pub organization_id: i64,
    pub facility_id: i64,
    pub family_portal: bool,
}

pub async fn resident(
    conn: &mut PgConnection,
    scope: Scope,
    patient_id: i64,
) -> Result<Option<Resident>> {
    let (organization, facility) = match scope {
        Scope::Platform => (None, None),
        Scope::Organization(org) => (Some(org), None),
        Scope::Facility {
            organization_id,
            facility_id,
        } => (Some(organization_id), Some(facility_id)),
    };
    Ok(sqlx::query_as(
        "SELECT p.organization_id, p.facility_id, \
         coalesce((f.features ->> 'family_portal')::boolean, false) AS family_portal \
         FROM patients p JOIN facilities f ON f.id = p.facility_id \
         WHERE p.id = $1 AND ($2::bigint IS NULL OR p.organization_id = $2) \
           AND ($3::bigint IS NULL OR p.facility_id = $3)",
    )
    .bind(patient_id)
    .bind(organization)
    .bind(facility)
    .fetch_optional(conn)
    .await?)
}

const CODE_COLUMNS: &str =
    "id, organization_id, facility_id, patient_id, code_hint, visitor_name, relationship, \
     expires_at, last_used_at, created_by, created_at, revoked_at, revoked_by";

#[derive(sqlx::FromRow)]
struct CodeRow {
    id: i64,
    organization_id: i64,
    facility_id: i64,
    patient_id: i64,
    code_hint: String,
    visitor_name: String,
    relationship: Option<String>,
    expires_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    created_by: Option<i64>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    revoked_by: Option<i64>,
}

impl From<CodeRow> for VisitorCode {
    fn from(r: CodeRow) -> Self {
        VisitorCode {
            id: r.id,
            organization_id: r.organization_id,
            facility_id: r.facility_id,
            patient_id: r.patient_id,
            code_hint: r.code_hint,
            visitor_name: r.visitor_name,
            relationship: r.relationship,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
            created_by: r.created_by,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
            revoked_by: r.revoked_by,
        }
    }
}

pub struct NewCode<'a> {
    pub organization_id: i64,
    pub facility_id: i64,
    pub patient_id: i64,
    pub code_hash: &'a [u8],
    pub code_hint: &'a str,
    pub visitor_name: &'a str,
    pub relationship: Option<&'a str>,
    pub expires_in_days: i32,
    pub created_by: i64,
}

pub async fn insert_code(conn: &mut PgConnection, c: &NewCode<'_>) -> Result<VisitorCode> {
    let row: CodeRow = sqlx::query_as(&format!(
        "INSERT INTO visitor_codes (organization_id, facility_id, patient_id, code_hash, code_hint, \
         visitor_name, relationship, expires_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(days => $8), $9) RETURNING {CODE_COLUMNS}"
    ))
    .bind(c.organization_id)
    .bind(c.facility_id)
    .bind(c.patient_id)
    .bind(c.code_hash)
    .bind(c.code_hint)
    .bind(c.visitor_name)
    .bind(c.relationship)
    .bind(c.expires_in_days)
    .bind(c.created_by)
    .fetch_one(conn)
    .await?;
    Ok(row.into())
}

pub async fn list_codes(conn: &mut PgConnection, patient_id: i64) -> Result<Vec<VisitorCode>> {
    let rows: Vec<CodeRow> = sqlx::query_as(&format!(
        "SELECT {CODE_COLUMNS} FROM visitor_codes WHERE patient_id = $1 ORDER BY id DESC LIMIT $2"
    ))
    .bind(patient_id)
    .bind(LIST_LIMIT)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Revokes a code of this resident (again is a no-op); `None` if no such code.
pub async fn revoke_code(
    conn: &mut PgConnection,
    patient_id: i64,
    code_id: i64,
    by: i64,
) -> Result<Option<VisitorCode>> {
    let row: Option<CodeRow> = sqlx::query_as(&format!(
        "UPDATE visitor_codes SET revoked_at = coalesce(revoked_at, now()), \
         revoked_by = coalesce(revoked_by, $3) \
         WHERE id = $1 AND patient_id = $2 RETURNING {CODE_COLUMNS}"
    ))
    .bind(code_id)
    .bind(patient_id)
    .bind(by)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Into::into))
}

#[derive(sqlx::FromRow)]
struct UpdateRow {
    id: i64,
    organization_id: i64,
    facility_id: i64,
    patient_id: i64,
    kind: String,
    body: String,
    created_by: i64,
    created_at: DateTime<Utc>,
}

impl UpdateRow {
    fn into_wire(self) -> Result<FamilyUpdate> {
        Ok(FamilyUpdate {
            id: self.id,
            organization_id: self.organization_id,
            facility_id: self.facility_id,
            patient_id: self.patient_id,
            kind: decode(FamilyUpdateKind::parse, &self.kind)?,
            body: self.body,
            created_by: self.created_by,
            created_at: self.created_at,
        })
    }
}

const UPDATE_COLUMNS: &str =
    "id, organization_id, facility_id, patient_id, kind, body, created_by, created_at";

pub async fn insert_update(
    conn: &mut PgConnection,
    resident: &Resident,
    patient_id: i64,
    kind: FamilyUpdateKind,
    body: &str,
    by: i64,
) -> Result<FamilyUpdate> {
    let row: UpdateRow = sqlx::query_as(&format!(
        "INSERT INTO family_updates (organization_id, facility_id, patient_id, kind, body, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {UPDATE_COLUMNS}"
    ))
    .bind(resident.organization_id)
    .bind(resident.facility_id)
    .bind(patient_id)
    .bind(kind.as_str())
    .bind(body)
    .bind(by)
    .fetch_one(conn)
    .await?;
    row.into_wire()
}

pub async fn list_updates(conn: &mut PgConnection, patient_id: i64) -> Result<Vec<FamilyUpdate>> {
    let rows: Vec<UpdateRow> = sqlx::query_as(&format!(
        "SELECT {UPDATE_COLUMNS} FROM family_updates WHERE patient_id = $1 \
         ORDER BY created_at DESC, id DESC LIMIT $2"
    ))
    .bind(patient_id)
    .bind(LIST_LIMIT)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(UpdateRow::into_wire).collect()
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: i64,
    organization_id: i64,
    facility_id: i64,
    patient_id: i64,
    visitor_code_id: i64,
    visitor_name: String,
    relationship: Option<String>,
    body: String,
    created_at: DateTime<Utc>,
}

pub async fn list_messages(conn: &mut PgConnection, patient_id: i64) -> Result<Vec<FamilyMessage>> {
    let rows: Vec<MessageRow> = sqlx::query_as(
        "SELECT m.id, m.organization_id, m.facility_id, m.patient_id, m.visitor_code_id, \
         c.visitor_name, c.relationship, m.body, m.created_at \
         FROM family_messages m JOIN visitor_codes c ON c.id = m.visitor_code_id \
         WHERE m.patient_id = $1 ORDER BY m.id DESC LIMIT $2",
    )
    .bind(patient_id)
    .bind(LIST_LIMIT)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| FamilyMessage {
            id: r.id,
            organization_id: r.organization_id,
            facility_id: r.facility_id,
            patient_id: r.patient_id,
            visitor_code_id: r.visitor_code_id,
            visitor_name: r.visitor_name,
            relationship: r.relationship,
            body: r.body,
            created_at: r.created_at,
        })
        .collect())
}

// Family side ------------------------------------------------------------------

/// A code found at check-in (active, else the latest revoked).
#[derive(Debug, sqlx::FromRow)]
pub struct CodeCandidate {
    pub visitor_code_id: i64,
    pub patient_id: i64,
    pub expires_at: DateTime<Utc>,
    pub revoked: bool,
    pub patient_status: String,
}

pub async fn lookup_code(
    conn: &mut PgConnection,
    facility_id: i64,
    code_hash: &[u8],
) -> Result<Option<CodeCandidate>> {
    Ok(
        sqlx::query_as("SELECT * FROM tend_visitor_code_lookup($1, $2)")
            .bind(facility_id)
            .bind(code_hash)
            .fetch_optional(conn)
            .await?,
    )
}

/// Issues a family session for a code through a device; returns its expiry.
pub async fn issue_session(
    conn: &mut PgConnection,
    token_hash: &[u8],
    visitor_code_id: i64,
    device_id: i64,
    ttl_secs: f64,
) -> Result<DateTime<Utc>> {
    sqlx::query("UPDATE visitor_codes SET last_used_at = now() WHERE id = $1")
        .bind(visitor_code_id)
        .execute(&mut *conn)
        .await?;
    Ok(sqlx::query_scalar(
        "SELECT tend_family_session_issue($1, $2, $3, make_interval(secs => $4))",
    )
    .bind(token_hash)
    .bind(visitor_code_id)
    .bind(device_id)
    .bind(ttl_secs)
    .fetch_one(conn)
    .await?)
}

/// A live family session (see `tend_family_session_lookup`).
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct SessionRow {
    pub visitor_code_id: i64,
    pub patient_id: i64,
    pub organization_id: i64,
    pub facility_id: i64,
    pub device_id: i64,
    pub expires_at: DateTime<Utc>,
}

pub async fn lookup_session(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> Result<Option<SessionRow>> {
    Ok(
        sqlx::query_as("SELECT * FROM tend_family_session_lookup($1)")
            .bind(token_hash)
            .fetch_optional(conn)
            .await?,
    )
}

pub async fn end_session(conn: &mut PgConnection, token_hash: &[u8]) -> Result<bool> {
    Ok(sqlx::query_scalar("SELECT tend_family_session_end($1)")
        .bind(token_hash)
        .fetch_one(conn)
        .await?)
}

/// The resident as family see them, and the visitor's name.
pub async fn family_view(
    conn: &mut PgConnection,
    patient_id: i64,
    visitor_code_id: i64,
) -> Result<(FamilyResident, String)> {
    let (first, last, room, visitor): (String, String, Option<String>, String) = sqlx::query_as(
        "SELECT p.first_name, p.last_name, p.room, c.visitor_name \
         FROM patients p JOIN visitor_codes c ON c.patient_id = p.id \
         WHERE p.id = $1 AND c.id = $2",
    )
    .bind(patient_id)
    .bind(visitor_code_id)
    .fetch_one(conn)
    .await?;
    Ok((
        FamilyResident {
            display_name: display_name(&first, &last),
            room,
        },
        visitor,
    ))
}

/// First name and last initial: enough for a visitor to know they have the
/// right person, no more.
pub fn display_name(first: &str, last: &str) -> String {
    match last.trim().chars().next() {
        Some(initial) => format!("{} {}.", first.trim(), initial.to_uppercase()),
        None => first.trim().to_owned(),
    }
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    id: i64,
    body: String,
    created_at: DateTime<Utc>,
}

/// Today's latest day summary (facility time zone), the last week's
/// activities and messages, newest first: family updates only.
pub async fn summary_items(
    conn: &mut PgConnection,
    patient_id: i64,
    days: i64,
) -> Result<(Option<FamilyItem>, Vec<FamilyItem>, Vec<FamilyItem>)> {
    let day: Option<ItemRow> = sqlx::query_as(
        "SELECT u.id, u.body, u.created_at FROM family_updates u \
         JOIN facilities f ON f.id = u.facility_id \
         WHERE u.patient_id = $1 AND u.kind = 'day_summary' \
           AND (u.created_at AT TIME ZONE f.timezone)::date = (now() AT TIME ZONE f.timezone)::date \
         ORDER BY u.created_at DESC, u.id DESC LIMIT 1",
    )
    .bind(patient_id)
    .fetch_optional(&mut *conn)
    .await?;
    let mut lists = Vec::with_capacity(2);
    for kind in [FamilyUpdateKind::Activity, FamilyUpdateKind::Message] {
        let rows: Vec<ItemRow> = sqlx::query_as(
            "SELECT id, body, created_at FROM family_updates \
             WHERE patient_id = $1 AND kind = $2 AND created_at > now() - make_interval(days => $3) \
             ORDER BY created_at DESC, id DESC LIMIT $4",
        )
        .bind(patient_id)
        .bind(kind.as_str())
        .bind(i32::try_from(days).unwrap_or(7))
        .bind(SUMMARY_LIMIT)
        .fetch_all(&mut *conn)
        .await?;
        lists.push(rows.into_iter().map(item).collect::<Vec<_>>());
    }
    let messages = lists.pop().unwrap_or_default();
    let activities = lists.pop().unwrap_or_default();
    Ok((day.map(item), activities, messages))
}

fn item(r: ItemRow) -> FamilyItem {
    FamilyItem {
        id: r.id,
        body: r.body,
        posted_at: r.created_at,
    }
}

pub async fn insert_message(
    conn: &mut PgConnection,
    session: &SessionRow,
    body: &str,
) -> Result<(i64, DateTime<Utc>)> {
    Ok(sqlx::query_as(
        "INSERT INTO family_messages (organization_id, facility_id, patient_id, visitor_code_id, device_id, body) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, created_at",
    )
    .bind(session.organization_id)
    .bind(session.facility_id)
    .bind(session.patient_id)
    .bind(session.visitor_code_id)
    .bind(session.device_id)
    .bind(body)
    .fetch_one(conn)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_keep_only_the_last_initial() {
        assert_eq!(display_name("Margaret", "Hughes"), "Margaret H.");
        assert_eq!(display_name(" José ", "ángel"), "José Á.");
        assert_eq!(display_name("Cher", " "), "Cher");
    }
}
