//! Reading audit events: the console's list and an auditor's export (writing
//! is in `context`; the hash chain in `audit_chain`).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, QueryBuilder};
use tend_domain::wire::AuditEvent;

use crate::context::{push_scope_filter, Scope};
use crate::error::Result;

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    at: DateTime<Utc>,
    actor_user_id: Option<i64>,
    actor_device_id: Option<i64>,
    organization_id: Option<i64>,
    facility_id: Option<i64>,
    action: String,
    resource_type: String,
    resource_id: Option<i64>,
    outcome: String,
    cross_facility: bool,
    reason: Option<String>,
    client_address: Option<String>,
    actor_name: Option<String>,
    facility_name: Option<String>,
}

#[derive(Debug, Default)]
pub struct Filter {
    pub facility_id: Option<i64>,
    pub actor_user_id: Option<i64>,
    pub action: Option<String>,
    /// `auth.` matches every sign-in event; LIKE wildcards are taken literally.
    pub action_prefix: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<i64>,
    pub cross_facility: Option<bool>,
    pub since: Option<DateTime<Utc>>,
}

/// `v` with LIKE's wildcards and escape taken literally.
fn like_literal(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Newest first; `before` is the last id of the previous page.
pub async fn list(
    conn: &mut PgConnection,
    scope: Scope,
    f: &Filter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEvent>> {
    let mut qb = QueryBuilder::new(
        "SELECT id, at, actor_user_id, actor_device_id, organization_id, facility_id, action, resource_type, \
         resource_id, outcome, cross_facility, reason, client_address, \
         (SELECT u.full_name FROM users u WHERE u.id = audit_events.actor_user_id) AS actor_name, \
         (SELECT f.name FROM facilities f WHERE f.id = audit_events.facility_id) AS facility_name \
         FROM audit_events WHERE true",
    );
    push_scope_filter(&mut qb, scope, "facility_id");
    if let Some(v) = f.facility_id {
        qb.push(" AND facility_id = ").push_bind(v);
    }
    if let Some(v) = f.actor_user_id {
        qb.push(" AND actor_user_id = ").push_bind(v);
    }
    if let Some(v) = &f.action {
        qb.push(" AND action = ").push_bind(v.clone());
    }
    if let Some(v) = &f.action_prefix {
        qb.push(" AND action LIKE ")
            .push_bind(format!("{}%", like_literal(v)));
    }
    if let Some(v) = &f.resource_type {
        qb.push(" AND resource_type = ").push_bind(v.clone());
    }
    if let Some(v) = f.resource_id {
        qb.push(" AND resource_id = ").push_bind(v);
    }
    if let Some(v) = f.cross_facility {
        qb.push(" AND cross_facility = ").push_bind(v);
    }
    if let Some(v) = f.since {
        qb.push(" AND at >= ").push_bind(v);
    }
    if let Some(b) = before {
        qb.push(" AND id < ").push_bind(b);
    }
    qb.push(" ORDER BY id DESC LIMIT ").push_bind(limit + 1);
    let rows: Vec<Row> = qb.build_query_as().fetch_all(conn).await?;
    Ok(rows.into_iter().map(AuditEvent::from).collect())
}

impl From<Row> for AuditEvent {
    fn from(r: Row) -> Self {
        AuditEvent {
            id: r.id,
            at: r.at,
            actor_user_id: r.actor_user_id,
            actor_device_id: r.actor_device_id,
            organization_id: r.organization_id,
            facility_id: r.facility_id,
            action: r.action,
            resource_type: r.resource_type,
            resource_id: r.resource_id,
            outcome: r.outcome,
            cross_facility: r.cross_facility,
            reason: r.reason,
            client_address: r.client_address,
            actor_name: r.actor_name,
            facility_name: r.facility_name,
        }
    }
}

/// What an auditor's export selects. Every filter narrows; none is required.
#[derive(Debug, Default)]
pub struct ExportFilter {
    pub facility_id: Option<i64>,
    /// Events about this resident: `resource_type = 'patient'` (views,
    /// changes, documentation, records read).
    pub patient_id: Option<i64>,
    /// Events by this person, or about their account.
    pub user_id: Option<i64>,
    /// Every action starting with this (LIKE wildcards taken literally).
    pub action_prefix: Option<String>,
    pub cross_facility: Option<bool>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Keyset: only events after this id.
    pub after_id: Option<i64>,
}

/// An exported event: the wire row plus its place in its audit chain.
#[derive(Debug, Clone)]
pub struct ExportRow {
    pub event: AuditEvent,
    /// Optional although NOT NULL in the schema: an export of a tampered
    /// table still answers (`audit verify` names the damage).
    pub chain_seq: Option<i64>,
    pub hash: Option<Vec<u8>>,
}

#[derive(sqlx::FromRow)]
struct ExportDbRow {
    #[sqlx(flatten)]
    row: Row,
    chain_seq: Option<i64>,
    hash: Option<Vec<u8>>,
}

/// Oldest first, at most `limit + 1` rows (the extra one says "more").
pub async fn export(
    conn: &mut PgConnection,
    scope: Scope,
    f: &ExportFilter,
    limit: i64,
) -> Result<Vec<ExportRow>> {
    let mut qb = QueryBuilder::new(
        "SELECT id, at, actor_user_id, actor_device_id, organization_id, facility_id, action, resource_type, \
         resource_id, outcome, cross_facility, reason, client_address, chain_seq, hash, \
         (SELECT u.full_name FROM users u WHERE u.id = audit_events.actor_user_id) AS actor_name, \
         (SELECT f.name FROM facilities f WHERE f.id = audit_events.facility_id) AS facility_name \
         FROM audit_events WHERE true",
    );
    push_scope_filter(&mut qb, scope, "facility_id");
    if let Some(v) = f.facility_id {
        qb.push(" AND facility_id = ").push_bind(v);
    }
    if let Some(v) = f.patient_id {
        qb.push(" AND resource_type = 'patient' AND resource_id = ")
            .push_bind(v);
    }
    if let Some(v) = f.user_id {
        qb.push(" AND (actor_user_id = ")
            .push_bind(v)
            .push(" OR (resource_type = 'user' AND resource_id = ")
            .push_bind(v)
            .push("))");
    }
    if let Some(v) = f.since {
        qb.push(" AND at >= ").push_bind(v);
    }
    if let Some(v) = &f.action_prefix {
        qb.push(" AND action LIKE ")
            .push_bind(format!("{}%", like_literal(v)));
    }
    if let Some(v) = f.cross_facility {
        qb.push(" AND cross_facility = ").push_bind(v);
    }
    if let Some(v) = f.until {
        qb.push(" AND at < ").push_bind(v);
    }
    if let Some(v) = f.after_id {
        qb.push(" AND id > ").push_bind(v);
    }
    qb.push(" ORDER BY id LIMIT ").push_bind(limit + 1);
    let rows: Vec<ExportDbRow> = qb.build_query_as().fetch_all(conn).await?;
    Ok(rows
        .into_iter()
        .map(|r| ExportRow {
            event: r.row.into(),
            chain_seq: r.chain_seq,
            hash: r.hash,
        })
        .collect())
}

/// The organization and facility of resident `patient_id`, if the caller's
/// scope (row-level security) shows it.
pub async fn patient_place(conn: &mut PgConnection, patient_id: i64) -> Result<Option<(i64, i64)>> {
    Ok(
        sqlx::query_as("SELECT organization_id, facility_id FROM patients WHERE id = $1")
            .bind(patient_id)
            .fetch_optional(conn)
            .await?,
    )
}

/// Whether user `user_id` is in the caller's scope.
pub async fn user_visible(conn: &mut PgConnection, user_id: i64) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)")
            .bind(user_id)
            .fetch_one(conn)
            .await?,
    )
}
