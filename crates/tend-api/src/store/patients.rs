//! Patients. The list is keyset-paginated on id within (facility, status).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, QueryBuilder};
use tend_domain::wire::Patient;
use tend_domain::PatientStatus;

use super::decode;
use crate::context::{push_scope_filter, Scope};
use crate::error::Result;

const COLUMNS: &str =
    "id, organization_id, facility_id, mrn, first_name, last_name, date_of_birth, status, room, \
                       admitted_at, discharged_at, created_at, updated_at, version";

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    organization_id: i64,
    facility_id: i64,
    mrn: String,
    first_name: String,
    last_name: String,
    date_of_birth: NaiveDate,
    status: String,
    room: Option<String>,
    admitted_at: Option<DateTime<Utc>>,
    discharged_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i32,
}

impl Row {
    fn into_wire(self) -> Result<Patient> {
        Ok(Patient {
            id: self.id,
            organization_id: self.organization_id,
            facility_id: self.facility_id,
            mrn: self.mrn,
            first_name: self.first_name,
            last_name: self.last_name,
            date_of_birth: self.date_of_birth,
            status: decode(PatientStatus::parse, &self.status)?,
            room: self.room,
            admitted_at: self.admitted_at,
            discharged_at: self.discharged_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: i64::from(self.version),
        })
    }
}

#[derive(Debug, Default)]
pub struct Filter {
    pub facility_id: Option<i64>,
    pub status: Option<PatientStatus>,
    /// Case-insensitive prefix of the first or last name.
    pub name: Option<String>,
}

/// A case-insensitive `LIKE` prefix pattern for `s` (lower-cased, wildcards
/// escaped); the patient list and FHIR's string searches share it.
pub(crate) fn like_prefix(s: &str) -> String {
    let escaped = s
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("{escaped}%")
}

pub async fn list(
    conn: &mut PgConnection,
    scope: Scope,
    filter: &Filter,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<Patient>> {
    let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM patients WHERE true"));
    push_scope_filter(&mut qb, scope, "facility_id");
    if let Some(f) = filter.facility_id {
        qb.push(" AND facility_id = ").push_bind(f);
    }
    if let Some(s) = filter.status {
        qb.push(" AND status = ").push_bind(s.as_str());
    }
    if let Some(name) = &filter.name {
        let pattern = like_prefix(name);
        qb.push(" AND (lower(last_name) LIKE ")
            .push_bind(pattern.clone());
        qb.push(" OR lower(first_name) LIKE ")
            .push_bind(pattern)
            .push(")");
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
) -> Result<Option<Patient>> {
    let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM patients WHERE id = "));
    qb.push_bind(id);
    push_scope_filter(&mut qb, scope, "facility_id");
    if lock {
        qb.push(" FOR UPDATE");
    }
    let row: Option<Row> = qb.build_query_as().fetch_optional(conn).await?;
    row.map(Row::into_wire).transpose()
}

pub struct Fields {
    pub organization_id: i64,
    pub facility_id: i64,
    pub mrn: String,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: NaiveDate,
    pub status: PatientStatus,
    pub room: Option<String>,
    pub admitted_at: Option<DateTime<Utc>>,
    pub discharged_at: Option<DateTime<Utc>>,
}

pub async fn insert(conn: &mut PgConnection, f: &Fields) -> Result<Patient> {
    let row: Row = sqlx::query_as(&format!(
        "INSERT INTO patients (organization_id, facility_id, mrn, first_name, last_name, date_of_birth, status, room, \
         admitted_at, discharged_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {COLUMNS}"
    ))
    .bind(f.organization_id)
    .bind(f.facility_id)
    .bind(&f.mrn)
    .bind(&f.first_name)
    .bind(&f.last_name)
    .bind(f.date_of_birth)
    .bind(f.status.as_str())
    .bind(&f.room)
    .bind(f.admitted_at)
    .bind(f.discharged_at)
    .fetch_one(conn)
    .await?;
    row.into_wire()
}

pub async fn update(conn: &mut PgConnection, id: i64, f: &Fields) -> Result<Patient> {
    let row: Row = sqlx::query_as(&format!(
        "UPDATE patients SET facility_id = $2, mrn = $3, first_name = $4, last_name = $5, date_of_birth = $6, \
         status = $7, room = $8, admitted_at = $9, discharged_at = $10, updated_at = now() WHERE id = $1 \
         RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(f.facility_id)
    .bind(&f.mrn)
    .bind(&f.first_name)
    .bind(&f.last_name)
    .bind(f.date_of_birth)
    .bind(f.status.as_str())
    .bind(&f.room)
    .bind(f.admitted_at)
    .bind(f.discharged_at)
    .fetch_one(conn)
    .await?;
    row.into_wire()
}
