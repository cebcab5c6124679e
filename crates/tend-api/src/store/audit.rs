//! Reading audit events (writing is in `context`).

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
        let escaped = v
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        qb.push(" AND action LIKE ")
            .push_bind(format!("{escaped}%"));
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
    Ok(rows
        .into_iter()
        .map(|r| AuditEvent {
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
        })
        .collect())
}
