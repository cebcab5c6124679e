//! Organizations.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use tend_domain::wire::{JsonObject, Organization};
use tend_domain::OrganizationType;

use super::decode;
use crate::context::Scope;
use crate::error::Result;

const COLUMNS: &str =
    "id, name, organization_type, npi, tax_id, state_license_number, license_state, \
                       settings, is_active, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    name: String,
    organization_type: Option<String>,
    npi: Option<String>,
    tax_id: Option<String>,
    state_license_number: Option<String>,
    license_state: Option<String>,
    settings: Json<JsonObject>,
    is_active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Row {
    fn into_wire(self) -> Result<Organization> {
        Ok(Organization {
            id: self.id,
            name: self.name,
            organization_type: self
                .organization_type
                .as_deref()
                .map(|t| decode(OrganizationType::parse, t))
                .transpose()?,
            npi: self.npi,
            tax_id: self.tax_id,
            state_license_number: self.state_license_number,
            license_state: self.license_state,
            settings: self.settings.0,
            is_active: self.is_active,
            created_at: self.created_at,
            updated_at: self.updated_at,
            facility_count: None,
        })
    }
}

fn scope_filter(qb: &mut QueryBuilder<'_, Postgres>, scope: Scope) {
    match scope {
        Scope::Platform => {}
        Scope::Organization(org)
        | Scope::Facility {
            organization_id: org,
            ..
        } => {
            qb.push(" AND id = ").push_bind(org);
        }
    }
}

pub async fn list(
    conn: &mut PgConnection,
    scope: Scope,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<Organization>> {
    let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM organizations WHERE true"));
    scope_filter(&mut qb, scope);
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
) -> Result<Option<Organization>> {
    let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM organizations WHERE id = "));
    qb.push_bind(id);
    scope_filter(&mut qb, scope);
    if lock {
        qb.push(" FOR UPDATE");
    }
    let row: Option<Row> = qb.build_query_as().fetch_optional(conn).await?;
    row.map(Row::into_wire).transpose()
}

pub async fn facility_count(conn: &mut PgConnection, id: i64) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM facilities WHERE organization_id = $1")
            .bind(id)
            .fetch_one(conn)
            .await?,
    )
}

/// Inserts or overwrites every writable column.
pub struct Fields {
    pub name: String,
    pub organization_type: Option<OrganizationType>,
    pub npi: Option<String>,
    pub tax_id: Option<String>,
    pub state_license_number: Option<String>,
    pub license_state: Option<String>,
    pub settings: JsonObject,
    pub is_active: bool,
}

pub async fn insert(conn: &mut PgConnection, f: &Fields) -> Result<Organization> {
    let row: Row = sqlx::query_as(&format!(
        "INSERT INTO organizations (name, organization_type, npi, tax_id, state_license_number, license_state, \
         settings, is_active) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
    ))
    .bind(&f.name)
    .bind(f.organization_type.map(OrganizationType::as_str))
    .bind(&f.npi)
    .bind(&f.tax_id)
    .bind(&f.state_license_number)
    .bind(&f.license_state)
    .bind(Json(&f.settings))
    .bind(f.is_active)
    .fetch_one(conn)
    .await?;
    row.into_wire()
}

pub async fn update(conn: &mut PgConnection, id: i64, f: &Fields) -> Result<Organization> {
    let row: Row = sqlx::query_as(&format!(
        "UPDATE organizations SET name = $2, organization_type = $3, npi = $4, tax_id = $5, \
         state_license_number = $6, license_state = $7, settings = $8, is_active = $9, updated_at = now() \
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(&f.name)
    .bind(f.organization_type.map(OrganizationType::as_str))
    .bind(&f.npi)
    .bind(&f.tax_id)
    .bind(&f.state_license_number)
    .bind(&f.license_state)
    .bind(Json(&f.settings))
    .bind(f.is_active)
    .fetch_one(conn)
    .await?;
    row.into_wire()
}
