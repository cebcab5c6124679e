//! The audit chain's verifications (admins): the latest run per chain in
//! the caller's scope, for the console's "last verified" line, and a run on
//! request for an organization admin (their organization's chain) or a
//! platform admin (every chain). A run reads each event of the chain once, in pages (its
//! speed: docs/benchmarks.md); `tend-api audit verify` does the same from the
//! command line.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, QueryBuilder};
use tend_domain::wire::{AuditChainStatus, AuditChainVerification, ErrorBody};

use crate::audit_chain;
use crate::context::{admin, begin_scoped_with, org_admin_or_above, Audit, Ctx, Scope};
use crate::error::{ApiError, Result};
use crate::AppState;

#[derive(sqlx::FromRow)]
struct Row {
    organization_id: Option<i64>,
    finished_at: DateTime<Utc>,
    intact: bool,
    events_checked: i64,
    checkpoints_checked: i64,
    last_event_id: Option<i64>,
    last_seq: Option<i64>,
    broken_seq: Option<i64>,
    broken_event_id: Option<i64>,
    problem: Option<String>,
    run_by_user_id: Option<i64>,
}

/// The latest run of each chain `scope` may see (row-level security hides
/// the rest too).
async fn latest(conn: &mut PgConnection, scope: Scope) -> Result<AuditChainStatus> {
    let mut qb = QueryBuilder::new(
        "SELECT DISTINCT ON (chain_key) organization_id, finished_at, intact, events_checked, \
         checkpoints_checked, last_event_id, last_seq, broken_seq, broken_event_id, problem, \
         run_by_user_id FROM audit_verifications WHERE true",
    );
    match scope {
        Scope::Platform => {}
        Scope::Organization(org) => {
            qb.push(" AND organization_id = ").push_bind(org);
        }
        Scope::Facility {
            organization_id, ..
        } => {
            qb.push(" AND organization_id = ")
                .push_bind(organization_id);
        }
    }
    qb.push(" ORDER BY chain_key, id DESC");
    let rows: Vec<Row> = qb.build_query_as().fetch_all(conn).await?;
    Ok(AuditChainStatus {
        items: rows
            .into_iter()
            .map(|r| AuditChainVerification {
                organization_id: r.organization_id,
                verified_at: r.finished_at,
                intact: r.intact,
                events_checked: r.events_checked,
                checkpoints_checked: r.checkpoints_checked,
                last_event_id: r.last_event_id,
                last_seq: r.last_seq,
                broken_seq: r.broken_seq,
                broken_event_id: r.broken_event_id,
                problem: r.problem,
                run_by_user_id: r.run_by_user_id,
            })
            .collect(),
    })
}

/// When each audit chain in your scope was last verified, and its verdict (admins).
#[utoipa::path(get, path = "/api/audit-chain", tag = "audit",
    responses(
        (status = 200, description = "The latest verification of each chain in your scope", body = AuditChainStatus),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn audit_chain_status(ctx: Ctx) -> Result<Json<AuditChainStatus>> {
    let mut ctx = ctx.require(admin).await?;
    let scope = ctx.scope();
    let status = latest(&mut ctx.tx, scope).await?;
    ctx.audit_org_read(Audit::new("audit_chain.read", "audit_chain"))
        .await?;
    ctx.finish_read().await?;
    Ok(Json(status))
}

/// Verifies the audit chain now: an organization admin's organization, or
/// every chain for a platform admin. Records and returns the result.
#[utoipa::path(post, path = "/api/audit-chain/verify", tag = "audit",
    responses(
        (status = 200, description = "The verification just run, per chain (intact or the first broken event)", body = AuditChainStatus),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Organization or platform admins only", body = ErrorBody),
        (status = 503, description = "The database is busy; try again", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn verify_audit_chain(
    State(state): State<AppState>,
    ctx: Ctx,
) -> Result<Json<AuditChainStatus>> {
    let mut ctx = ctx.require(org_admin_or_above).await?;
    let scope = ctx.scope();
    let user_id = ctx.principal.user_id;
    let key = state.identity.orders.public_key(&state.pool).await?;
    let key = audit_chain::TrustedKey::parse(&key.public_key)
        .map_err(|m| ApiError::internal(anyhow::anyhow!("server key: {m}")))?;
    // One snapshot for events, checkpoints and heads.
    let mut snapshot = begin_scoped_with(
        &state.pool,
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        scope,
        Some(user_id),
    )
    .await?;
    let chains = match scope {
        Scope::Organization(org) => vec![org],
        Scope::Platform => audit_chain::chains(&mut snapshot).await?,
        Scope::Facility { .. } => return Err(ApiError::Forbidden),
    };
    let mut reports = Vec::with_capacity(chains.len());
    for chain in chains {
        reports.push(audit_chain::verify_chain(&mut snapshot, chain, Some(&key)).await?);
    }
    drop(snapshot);
    for report in &reports {
        audit_chain::record(&mut ctx.tx, report, Some(user_id)).await?;
    }
    let broken = reports.iter().filter(|r| !r.intact()).count();
    let reason = format!("{} chains, {broken} broken", reports.len());
    let audit = match scope {
        Scope::Organization(org) => Audit::new("audit_chain.verify", "audit_chain").org(org),
        _ => Audit::new("audit_chain.verify", "audit_chain"),
    };
    ctx.audit_write(audit.reason(&reason)).await?;
    let status = latest(&mut ctx.tx, scope).await?;
    ctx.commit().await?;
    if broken > 0 {
        tracing::warn!(
            user_id,
            broken,
            "audit chain verification found a broken chain"
        );
    }
    Ok(Json(status))
}
