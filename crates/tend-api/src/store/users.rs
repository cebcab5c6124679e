//! Staff accounts. The API role cannot read `password_hash`; it only writes it.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, QueryBuilder};
use tend_domain::wire::User;
use tend_domain::{Language, Role};

use super::decode;
use crate::context::{push_scope_filter, Scope};
use crate::error::Result;

const COLUMNS: &str =
    "id, organization_id, facility_id, employee_id, username, full_name, email, role, is_active, created_at, updated_at, \
     preferred_language";

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    organization_id: i64,
    facility_id: i64,
    employee_id: String,
    username: String,
    full_name: String,
    email: Option<String>,
    role: String,
    is_active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    preferred_language: Option<String>,
}

impl Row {
    fn into_wire(self) -> Result<User> {
        Ok(User {
            id: self.id,
            organization_id: self.organization_id,
            facility_id: self.facility_id,
            employee_id: self.employee_id,
            username: self.username,
            full_name: self.full_name,
            email: self.email,
            role: decode(Role::parse, &self.role)?,
            is_active: self.is_active,
            created_at: self.created_at,
            updated_at: self.updated_at,
            preferred_language: self
                .preferred_language
                .as_deref()
                .map(|l| decode(Language::parse, l))
                .transpose()?,
        })
    }
}

#[derive(Debug, Default)]
pub struct Filter {
    pub facility_id: Option<i64>,
    pub role: Option<Role>,
    pub is_active: Option<bool>,
}

pub async fn list(
    conn: &mut PgConnection,
    scope: Scope,
    filter: &Filter,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<User>> {
    let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM users WHERE true"));
    push_scope_filter(&mut qb, scope, "facility_id");
    if let Some(f) = filter.facility_id {
        qb.push(" AND facility_id = ").push_bind(f);
    }
    if let Some(r) = filter.role {
        qb.push(" AND role = ").push_bind(r.as_str());
    }
    if let Some(a) = filter.is_active {
        qb.push(" AND is_active = ").push_bind(a);
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
) -> Result<Option<User>> {
    let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM users WHERE id = "));
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
    pub employee_id: String,
    pub username: String,
    pub full_name: String,
    pub email: Option<String>,
    pub role: Role,
    pub is_active: bool,
    pub preferred_language: Option<Language>,
}

pub async fn insert(conn: &mut PgConnection, f: &Fields, password_hash: &str) -> Result<User> {
    let row: Row = sqlx::query_as(&format!(
        "INSERT INTO users (organization_id, facility_id, employee_id, username, full_name, email, role, is_active, \
         password_hash, preferred_language) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {COLUMNS}"
    ))
    .bind(f.organization_id)
    .bind(f.facility_id)
    .bind(&f.employee_id)
    .bind(&f.username)
    .bind(&f.full_name)
    .bind(&f.email)
    .bind(f.role.as_str())
    .bind(f.is_active)
    .bind(password_hash)
    .bind(f.preferred_language.map(Language::as_str))
    .fetch_one(conn)
    .await?;
    row.into_wire()
}

/// Overwrites the profile; a new password hash when one is given. (The API
/// role may write `password_hash` but not read it, so the column appears only
/// as an assignment target.)
pub async fn update(
    conn: &mut PgConnection,
    id: i64,
    f: &Fields,
    password_hash: Option<&str>,
) -> Result<User> {
    let set_password = if password_hash.is_some() {
        ", password_hash = $9"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE users SET facility_id = $2, employee_id = $3, full_name = $4, email = $5, role = $6, is_active = $7, \
         preferred_language = $8, updated_at = now(){set_password} WHERE id = $1 RETURNING {COLUMNS}"
    );
    let mut query = sqlx::query_as::<_, Row>(&sql)
        .bind(id)
        .bind(f.facility_id)
        .bind(&f.employee_id)
        .bind(&f.full_name)
        .bind(&f.email)
        .bind(f.role.as_str())
        .bind(f.is_active)
        .bind(f.preferred_language.map(Language::as_str));
    if let Some(hash) = password_hash {
        query = query.bind(hash);
    }
    let row = query.fetch_one(conn).await?;
    row.into_wire()
}

/// Sets a user's own language (`None`: no preference) and nothing else.
pub async fn set_language(
    conn: &mut PgConnection,
    id: i64,
    language: Option<Language>,
) -> Result<User> {
    let row: Row = sqlx::query_as(&format!(
        "UPDATE users SET preferred_language = $2, updated_at = now() WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(language.map(Language::as_str))
    .fetch_one(conn)
    .await?;
    row.into_wire()
}
