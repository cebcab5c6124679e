//! Break-glass grants (migration 0013): opened through
//! `tend_break_glass_open`, read in the scope of either facility, reviewed by
//! administrators. Expiry is a comparison with the transaction's time.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use tend_domain::wire::{BreakGlassFacility, BreakGlassGrant, BreakGlassResident};
use tend_domain::PatientStatus;

use super::decode;
use crate::context::Scope;
use crate::error::Result;

/// The grant's columns, and the resident's when the reader may see them
/// (row-level security decides: the join finds nothing otherwise).
const SELECT: &str =
    "SELECT g.id, g.organization_id, g.facility_id, g.facility_name, g.patient_id, \
     g.user_id, g.user_name, g.user_facility_id, g.user_facility_name, g.reason, g.granted_at, \
     g.expires_at, g.expires_at > now() AS active, g.reviewed_by, g.reviewed_at, g.review_note, \
     p.id AS p_id, p.mrn, p.first_name, p.last_name, p.date_of_birth, p.status, p.room \
     FROM break_glass_grants g LEFT JOIN patients p ON p.id = g.patient_id";

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    organization_id: i64,
    facility_id: i64,
    facility_name: String,
    patient_id: i64,
    user_id: i64,
    user_name: String,
    user_facility_id: i64,
    user_facility_name: String,
    reason: String,
    granted_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    active: bool,
    reviewed_by: Option<i64>,
    reviewed_at: Option<DateTime<Utc>>,
    review_note: Option<String>,
    p_id: Option<i64>,
    mrn: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    date_of_birth: Option<NaiveDate>,
    status: Option<String>,
    room: Option<String>,
}

impl Row {
    fn into_wire(self) -> Result<BreakGlassGrant> {
        let patient = match (
            self.p_id,
            self.mrn,
            self.first_name,
            self.last_name,
            self.date_of_birth,
            self.status,
        ) {
            (Some(id), Some(mrn), Some(first_name), Some(last_name), Some(dob), Some(status)) => {
                Some(BreakGlassResident {
                    id,
                    mrn,
                    first_name,
                    last_name,
                    date_of_birth: dob,
                    status: decode(PatientStatus::parse, &status)?,
                    room: self.room,
                })
            }
            _ => None,
        };
        Ok(BreakGlassGrant {
            id: self.id,
            organization_id: self.organization_id,
            facility_id: self.facility_id,
            facility_name: self.facility_name,
            patient_id: self.patient_id,
            patient,
            user_id: self.user_id,
            user_name: self.user_name,
            user_facility_id: self.user_facility_id,
            user_facility_name: self.user_facility_name,
            reason: self.reason,
            granted_at: self.granted_at,
            expires_at: self.expires_at,
            active: self.active,
            reviewed_by: self.reviewed_by,
            reviewed_at: self.reviewed_at,
            review_note: self.review_note,
        })
    }
}

/// The API-level filter for grants: a grant belongs to two facilities (the
/// resident's and the clinician's), so a facility scope matches either.
fn push_scope(qb: &mut QueryBuilder<'_, Postgres>, scope: Scope) {
    match scope {
        Scope::Platform => {}
        Scope::Organization(org) => {
            qb.push(" AND g.organization_id = ").push_bind(org);
        }
        Scope::Facility {
            organization_id,
            facility_id,
        } => {
            qb.push(" AND g.organization_id = ")
                .push_bind(organization_id);
            qb.push(" AND (g.facility_id = ")
                .push_bind(facility_id)
                .push(" OR g.user_facility_id = ")
                .push_bind(facility_id)
                .push(")");
        }
    }
}

/// Opens the resident `mrn` of `facility_id` for the caller; `None` when
/// there is no such resident in another facility of the caller's organization.
pub async fn open(
    conn: &mut PgConnection,
    facility_id: i64,
    mrn: &str,
    reason: &str,
) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT tend_break_glass_open($1, $2, $3)")
            .bind(facility_id)
            .bind(mrn)
            .bind(reason)
            .fetch_one(conn)
            .await?,
    )
}

/// One grant in `scope` (the caller's own grants are always in it).
pub async fn get(
    conn: &mut PgConnection,
    scope: Scope,
    user_id: i64,
    id: i64,
    lock: bool,
) -> Result<Option<BreakGlassGrant>> {
    let mut qb = QueryBuilder::new(format!("{SELECT} WHERE g.id = "));
    qb.push_bind(id);
    qb.push(" AND (g.user_id = ")
        .push_bind(user_id)
        .push(" OR (true");
    push_scope(&mut qb, scope);
    qb.push("))");
    if lock {
        qb.push(" FOR UPDATE OF g");
    }
    let row: Option<Row> = qb.build_query_as().fetch_optional(conn).await?;
    row.map(Row::into_wire).transpose()
}

#[derive(Debug, Default)]
pub struct Filter {
    /// Grants into or out of this facility.
    pub facility_id: Option<i64>,
    pub reviewed: Option<bool>,
    /// Only this clinician's grants.
    pub user_id: Option<i64>,
    /// Only grants that still open their resident.
    pub active_only: bool,
}

/// Newest first; `before` is the last id of the previous page.
pub async fn list(
    conn: &mut PgConnection,
    scope: Scope,
    f: &Filter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<BreakGlassGrant>> {
    let mut qb = QueryBuilder::new(format!("{SELECT} WHERE true"));
    match f.user_id {
        // A clinician's own grants are theirs wherever they work now.
        Some(user) => {
            qb.push(" AND g.user_id = ").push_bind(user);
        }
        None => push_scope(&mut qb, scope),
    }
    if let Some(facility) = f.facility_id {
        qb.push(" AND (g.facility_id = ")
            .push_bind(facility)
            .push(" OR g.user_facility_id = ")
            .push_bind(facility)
            .push(")");
    }
    match f.reviewed {
        Some(true) => {
            qb.push(" AND g.reviewed_at IS NOT NULL");
        }
        Some(false) => {
            qb.push(" AND g.reviewed_at IS NULL");
        }
        None => {}
    }
    if f.active_only {
        qb.push(" AND g.expires_at > now()");
    }
    if let Some(b) = before {
        qb.push(" AND g.id < ").push_bind(b);
    }
    qb.push(" ORDER BY g.id DESC LIMIT ").push_bind(limit + 1);
    let rows: Vec<Row> = qb.build_query_as().fetch_all(conn).await?;
    rows.into_iter().map(Row::into_wire).collect()
}

/// The reason of the caller's unexpired grant for `patient_id`, if any (the
/// latest, when several overlap).
pub async fn active_reason(
    conn: &mut PgConnection,
    user_id: i64,
    patient_id: i64,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT reason FROM break_glass_grants WHERE user_id = $1 AND patient_id = $2 \
         AND expires_at > now() ORDER BY expires_at DESC, id DESC LIMIT 1",
    )
    .bind(user_id)
    .bind(patient_id)
    .fetch_optional(conn)
    .await?)
}

/// Marks grant `id` reviewed; `false` when someone reviewed it already.
pub async fn review(
    conn: &mut PgConnection,
    id: i64,
    reviewer: i64,
    note: Option<&str>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE break_glass_grants SET reviewed_by = $2, reviewed_at = now(), review_note = $3 \
         WHERE id = $1 AND reviewed_at IS NULL",
    )
    .bind(id)
    .bind(reviewer)
    .bind(note)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Grants into or out of `facility_id` nobody has reviewed (the dashboard's badge).
pub async fn unreviewed_count(conn: &mut PgConnection, facility_id: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM break_glass_grants WHERE facility_id = $1 AND reviewed_at IS NULL) \
              + (SELECT count(*) FROM break_glass_grants WHERE user_facility_id = $1 AND reviewed_at IS NULL)",
    )
    .bind(facility_id)
    .fetch_one(conn)
    .await?)
}

/// The other active facilities of the caller's organization.
pub async fn facilities(conn: &mut PgConnection) -> Result<Vec<BreakGlassFacility>> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, name FROM tend_break_glass_facilities()")
            .fetch_all(conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| BreakGlassFacility { id, name })
        .collect())
}
