//! Patients. The list is keyset-paginated on id within (facility, status).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, QueryBuilder};
use tend_domain::wire::{EmergencyContact, Patient};
use tend_domain::{CodeStatus, FallRisk, PatientStatus};

use super::decode;
use crate::context::{push_scope_filter, Scope};
use crate::error::Result;

const COLUMNS: &str =
    "id, organization_id, facility_id, mrn, first_name, last_name, date_of_birth, status, room, \
     admitted_at, discharged_at, created_at, updated_at, version, allergies, code_status, diet, \
     fall_risk, emergency_contact_name, emergency_contact_relationship, emergency_contact_phone";

/// The care details' columns, as the patient list, a patient and the sync
/// feed read them (`#[sqlx(flatten)]` into their rows).
#[derive(sqlx::FromRow)]
pub(crate) struct CareRow {
    allergies: Option<String>,
    code_status: Option<String>,
    diet: Option<String>,
    fall_risk: Option<String>,
    emergency_contact_name: Option<String>,
    emergency_contact_relationship: Option<String>,
    emergency_contact_phone: Option<String>,
}

impl CareRow {
    pub(crate) fn into_care(self) -> Result<Care> {
        Ok(Care {
            allergies: self.allergies,
            code_status: self
                .code_status
                .as_deref()
                .map(|c| decode(CodeStatus::parse, c))
                .transpose()?,
            diet: self.diet,
            fall_risk: self
                .fall_risk
                .as_deref()
                .map(|f| decode(FallRisk::parse, f))
                .transpose()?,
            emergency_contact: match (self.emergency_contact_name, self.emergency_contact_phone) {
                (Some(name), Some(phone)) => Some(EmergencyContact {
                    name,
                    relationship: self.emergency_contact_relationship,
                    phone,
                }),
                _ => None,
            },
        })
    }
}

/// What the facility needs to know about a resident beyond who they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Care {
    pub allergies: Option<String>,
    pub code_status: Option<CodeStatus>,
    pub diet: Option<String>,
    pub fall_risk: Option<FallRisk>,
    pub emergency_contact: Option<EmergencyContact>,
}

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
    #[sqlx(flatten)]
    care: CareRow,
}

impl Row {
    fn into_wire(self) -> Result<Patient> {
        let care = self.care.into_care()?;
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
            allergies: care.allergies,
            code_status: care.code_status,
            diet: care.diet,
            fall_risk: care.fall_risk,
            emergency_contact: care.emergency_contact,
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
    pub care: Care,
}

impl Fields {
    fn contact(&self) -> (Option<&str>, Option<&str>, Option<&str>) {
        match &self.care.emergency_contact {
            Some(c) => (
                Some(c.name.as_str()),
                c.relationship.as_deref(),
                Some(c.phone.as_str()),
            ),
            None => (None, None, None),
        }
    }
}

pub async fn insert(conn: &mut PgConnection, f: &Fields) -> Result<Patient> {
    let sql = format!(
        "INSERT INTO patients (organization_id, facility_id, mrn, first_name, last_name, date_of_birth, status, room, \
         admitted_at, discharged_at, allergies, code_status, diet, fall_risk, emergency_contact_name, \
         emergency_contact_relationship, emergency_contact_phone) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING {COLUMNS}"
    );
    let query = sqlx::query_as(&sql).bind(f.organization_id);
    let row: Row = bind_fields(query, f).fetch_one(conn).await?;
    row.into_wire()
}

pub async fn update(conn: &mut PgConnection, id: i64, f: &Fields) -> Result<Patient> {
    let sql = format!(
        "UPDATE patients SET facility_id = $2, mrn = $3, first_name = $4, last_name = $5, date_of_birth = $6, \
         status = $7, room = $8, admitted_at = $9, discharged_at = $10, allergies = $11, code_status = $12, \
         diet = $13, fall_risk = $14, emergency_contact_name = $15, emergency_contact_relationship = $16, \
         emergency_contact_phone = $17, updated_at = now() WHERE id = $1 RETURNING {COLUMNS}"
    );
    let query = sqlx::query_as(&sql).bind(id);
    let row: Row = bind_fields(query, f).fetch_one(conn).await?;
    row.into_wire()
}

type RowQuery<'q> = sqlx::query::QueryAs<'q, sqlx::Postgres, Row, sqlx::postgres::PgArguments>;

/// Binds `$2` … `$17` of insert and update, in their column order.
fn bind_fields<'q>(query: RowQuery<'q>, f: &'q Fields) -> RowQuery<'q> {
    let (name, relationship, phone) = f.contact();
    query
        .bind(f.facility_id)
        .bind(&f.mrn)
        .bind(&f.first_name)
        .bind(&f.last_name)
        .bind(f.date_of_birth)
        .bind(f.status.as_str())
        .bind(&f.room)
        .bind(f.admitted_at)
        .bind(f.discharged_at)
        .bind(f.care.allergies.as_deref())
        .bind(f.care.code_status.map(CodeStatus::as_str))
        .bind(f.care.diet.as_deref())
        .bind(f.care.fall_risk.map(FallRisk::as_str))
        .bind(name)
        .bind(relationship)
        .bind(phone)
}
