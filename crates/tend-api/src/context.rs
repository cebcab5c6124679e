//! The per-request context: who is calling (from the bearer token), one
//! database transaction carrying the caller's scope for row-level security,
//! the role rules, and audit writing.
//!
//! Authentication and scoping are a single round trip: the token lookup
//! (a SECURITY DEFINER function) and the `set_config(..., true)` calls
//! run in the same statement, inside the request's transaction. Besides the
//! scope, `tend.user_id` names the caller for rows triggers write (census history).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sqlx::{PgConnection, Postgres, QueryBuilder, Transaction};
use tend_domain::Role;

use crate::auth::token_hash;
use crate::error::{ApiError, Result};
use crate::AppState;

/// The authenticated caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub user_id: i64,
    pub role: Role,
    pub organization_id: i64,
    pub facility_id: i64,
}

/// What a principal may see: the same three shapes the RLS policies know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Platform,
    Organization(i64),
    Facility {
        organization_id: i64,
        facility_id: i64,
    },
}

impl Principal {
    pub fn scope(&self) -> Scope {
        match self.role {
            Role::PlatformAdmin => Scope::Platform,
            Role::OrgAdmin => Scope::Organization(self.organization_id),
            _ => Scope::Facility {
                organization_id: self.organization_id,
                facility_id: self.facility_id,
            },
        }
    }

    /// Whether this principal may create or change a user holding `target`.
    pub fn can_manage_role(&self, target: Role) -> bool {
        match self.role {
            Role::PlatformAdmin => true,
            Role::OrgAdmin => target != Role::PlatformAdmin,
            Role::FacilityAdmin => !matches!(target, Role::OrgAdmin | Role::PlatformAdmin),
            _ => false,
        }
    }
}

/// Name of a scope for `tend.scope`.
pub fn scope_setting(role: Role) -> &'static str {
    match role {
        Role::PlatformAdmin => "platform",
        Role::OrgAdmin => "organization",
        _ => "facility",
    }
}

/// Adds the API-level tenant filter to a query whose rows carry
/// `organization_id` and `facility_id` (`facility_column` names the latter;
/// for the facilities table itself it is `id`). Row-level security applies
/// the same rule underneath; this one keeps plans index-friendly and makes
/// the intent visible in the code.
pub fn push_scope_filter(qb: &mut QueryBuilder<'_, Postgres>, scope: Scope, facility_column: &str) {
    match scope {
        Scope::Platform => {}
        Scope::Organization(org) => {
            qb.push(" AND organization_id = ").push_bind(org);
        }
        Scope::Facility {
            organization_id,
            facility_id,
        } => {
            qb.push(" AND organization_id = ")
                .push_bind(organization_id);
            qb.push(format!(" AND {facility_column} = "))
                .push_bind(facility_id);
        }
    }
}

/// One audit event to append.
#[derive(Debug, Clone)]
pub struct Audit<'a> {
    pub action: &'a str,
    pub resource_type: &'a str,
    pub resource_id: Option<i64>,
    pub organization_id: Option<i64>,
    pub facility_id: Option<i64>,
    pub reason: Option<&'a str>,
    /// The device the action came through (badge login).
    pub device_id: Option<i64>,
}

impl<'a> Audit<'a> {
    pub fn new(action: &'a str, resource_type: &'a str) -> Self {
        Self {
            action,
            resource_type,
            resource_id: None,
            organization_id: None,
            facility_id: None,
            reason: None,
            device_id: None,
        }
    }
    pub fn resource(mut self, id: i64) -> Self {
        self.resource_id = Some(id);
        self
    }
    pub fn org(mut self, id: i64) -> Self {
        self.organization_id = Some(id);
        self
    }
    pub fn facility(mut self, organization_id: i64, facility_id: i64) -> Self {
        self.organization_id = Some(organization_id);
        self.facility_id = Some(facility_id);
        self
    }
    pub fn reason(mut self, reason: &'a str) -> Self {
        self.reason = Some(reason);
        self
    }
    pub fn device(mut self, device_id: i64) -> Self {
        self.device_id = Some(device_id);
        self
    }
}

/// Appends an audit event on `conn` (inside the caller's transaction).
pub async fn insert_audit(
    conn: &mut PgConnection,
    actor_user_id: Option<i64>,
    audit: &Audit<'_>,
    outcome: &str,
    cross_facility: bool,
    client_address: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_events (actor_user_id, organization_id, facility_id, action, resource_type, \
         resource_id, outcome, cross_facility, reason, client_address, actor_device_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(actor_user_id)
    .bind(audit.organization_id)
    .bind(audit.facility_id)
    .bind(audit.action)
    .bind(audit.resource_type)
    .bind(audit.resource_id)
    .bind(outcome)
    .bind(cross_facility)
    .bind(audit.reason)
    .bind(client_address)
    .bind(audit.device_id)
    .execute(conn)
    .await?;
    crate::metrics::metrics().audit_rows.inc();
    Ok(())
}

/// Starts a transaction and applies `principal`'s scope to it.
pub async fn begin_scoped(
    state: &AppState,
    principal: &Principal,
) -> Result<Transaction<'static, Postgres>> {
    let mut tx = state.pool.begin().await?;
    sqlx::query(
        "SELECT set_config('tend.scope', $1, true), set_config('tend.organization_id', $2, true), \
         set_config('tend.facility_id', $3, true), set_config('tend.user_id', $4, true)",
    )
    .bind(scope_setting(principal.role))
    .bind(principal.organization_id.to_string())
    .bind(principal.facility_id.to_string())
    .bind(principal.user_id.to_string())
    .execute(&mut *tx)
    .await?;
    Ok(tx)
}

/// An authenticated request: the caller, its scoped transaction, and where
/// it came from. Dropping it without `commit` rolls everything back.
pub struct Ctx {
    pub principal: Principal,
    pub tx: Transaction<'static, Postgres>,
    pub client_address: Option<String>,
    pub token_hash: Vec<u8>,
    /// Whether this request appended audit rows (a read must then commit too).
    pub audited: bool,
    /// `METHOD /route/{id}`, for refusal audit rows.
    pub route: String,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("principal", &self.principal)
            .finish_non_exhaustive()
    }
}

/// The client's address: what `net::client_address_layer` decided (the TCP
/// peer, or the client behind a trusted proxy), else the TCP peer.
pub fn client_address(parts: &Parts) -> Option<String> {
    if let Some(crate::net::ClientIp(ip)) = parts.extensions.get::<crate::net::ClientIp>() {
        return Some(ip.to_string());
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip().to_canonical().to_string())
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty() && t.len() <= 128)
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    user_id: i64,
    role: String,
    organization_id: i64,
    facility_id: i64,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        let route = format!(
            "{} {}",
            parts.method,
            parts
                .extensions
                .get::<MatchedPath>()
                .map(|p| p.as_str())
                .unwrap_or("-")
        );
        let hash = token_hash(token);
        let mut tx = state.pool.begin().await?;
        let row: Option<TokenRow> = sqlx::query_as(
            "SELECT t.user_id, t.role, t.organization_id, t.facility_id, \
               set_config('tend.scope', CASE t.role WHEN 'PLATFORM_ADMIN' THEN 'platform' \
                 WHEN 'ORG_ADMIN' THEN 'organization' ELSE 'facility' END, true) AS s, \
               set_config('tend.organization_id', t.organization_id::text, true) AS o, \
               set_config('tend.facility_id', t.facility_id::text, true) AS f, \
               set_config('tend.user_id', t.user_id::text, true) AS u \
             FROM tend_token_lookup($1) t",
        )
        .bind(&hash)
        .fetch_optional(&mut *tx)
        .await?;
        let row = row.ok_or(ApiError::Unauthorized)?;
        let role = Role::parse(&row.role).map_err(ApiError::internal)?;
        let principal = Principal {
            user_id: row.user_id,
            role,
            organization_id: row.organization_id,
            facility_id: row.facility_id,
        };
        tracing::Span::current().record("user_id", principal.user_id);
        Ok(Ctx {
            principal,
            tx,
            client_address: client_address(parts),
            token_hash: hash,
            audited: false,
            route,
        })
    }
}

impl Ctx {
    pub fn scope(&self) -> Scope {
        self.principal.scope()
    }

    pub fn role(&self) -> Role {
        self.principal.role
    }

    /// 403 unless `allowed` holds for the caller's role. Call only after the
    /// target is known to be in scope, so foreign ids still answer 404. The
    /// refusal itself is audited (see [`Ctx::deny`]).
    pub async fn require(self, allowed: impl Fn(Role) -> bool) -> Result<Self> {
        if allowed(self.principal.role) {
            Ok(self)
        } else {
            Err(self.deny().await)
        }
    }

    /// Records a refused action (outcome `denied`) and answers 403. Handlers
    /// refuse before they write, so this row is all the transaction commits.
    pub async fn deny(mut self) -> ApiError {
        let p = self.principal;
        let route = std::mem::take(&mut self.route);
        let audit = Audit::new("access.denied", "route")
            .facility(p.organization_id, p.facility_id)
            .reason(&route);
        let written = insert_audit(
            &mut self.tx,
            Some(p.user_id),
            &audit,
            "denied",
            false,
            self.client_address.as_deref(),
        )
        .await;
        if let Err(e) = written {
            return e;
        }
        if let Err(e) = self.tx.commit().await {
            return e.into();
        }
        tracing::info!(user_id = p.user_id, route = %route, "refused");
        ApiError::Forbidden
    }

    fn cross_facility(&self, facility_id: Option<i64>) -> bool {
        facility_id != Some(self.principal.facility_id)
    }

    /// Records a write. Every write is audited, whoever makes it.
    pub async fn audit_write(&mut self, audit: Audit<'_>) -> Result<()> {
        let cross = self.cross_facility(audit.facility_id);
        let actor = Some(self.principal.user_id);
        self.audited = true;
        insert_audit(
            &mut self.tx,
            actor,
            &audit,
            "success",
            cross,
            self.client_address.as_deref(),
        )
        .await
    }

    /// Records a read when policy asks for it: an ORG_ADMIN outside its own
    /// facility (including organization-wide lists), and every read of a
    /// PLATFORM_ADMIN.
    pub async fn audit_read(&mut self, audit: Audit<'_>) -> Result<()> {
        let cross = self.cross_facility(audit.facility_id);
        let needed = match self.principal.role {
            Role::PlatformAdmin => true,
            Role::OrgAdmin => cross,
            _ => false,
        };
        if needed {
            let actor = Some(self.principal.user_id);
            self.audited = true;
            insert_audit(
                &mut self.tx,
                actor,
                &audit,
                "success",
                cross,
                self.client_address.as_deref(),
            )
            .await?;
        }
        Ok(())
    }

    /// Records a read of organization-level data (not inside a facility):
    /// only a PLATFORM_ADMIN's is audited.
    pub async fn audit_org_read(&mut self, audit: Audit<'_>) -> Result<()> {
        if self.principal.role == Role::PlatformAdmin {
            let actor = Some(self.principal.user_id);
            self.audited = true;
            let cross = self.cross_facility(audit.facility_id);
            insert_audit(
                &mut self.tx,
                actor,
                &audit,
                "success",
                cross,
                self.client_address.as_deref(),
            )
            .await?;
        }
        Ok(())
    }

    /// Ends a read: commits when audit rows were added, otherwise lets the
    /// transaction roll back on drop (sqlx queues the ROLLBACK without a
    /// round trip on this request's path; transaction-local settings go with it).
    pub async fn finish_read(self) -> Result<()> {
        if self.audited {
            self.tx.commit().await?;
        }
        Ok(())
    }

    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// Role predicates used by handlers.
pub fn any_role(_: Role) -> bool {
    true
}

pub fn admin(role: Role) -> bool {
    role.is_admin()
}

pub fn org_admin_or_above(role: Role) -> bool {
    matches!(role, Role::OrgAdmin | Role::PlatformAdmin)
}

pub fn platform_admin(role: Role) -> bool {
    role == Role::PlatformAdmin
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(role: Role) -> Principal {
        Principal {
            user_id: 1,
            role,
            organization_id: 2,
            facility_id: 3,
        }
    }

    #[test]
    fn scopes_follow_roles() {
        assert_eq!(
            p(Role::Rn).scope(),
            Scope::Facility {
                organization_id: 2,
                facility_id: 3
            }
        );
        assert_eq!(
            p(Role::FacilityAdmin).scope(),
            Scope::Facility {
                organization_id: 2,
                facility_id: 3
            }
        );
        assert_eq!(p(Role::OrgAdmin).scope(), Scope::Organization(2));
        assert_eq!(p(Role::PlatformAdmin).scope(), Scope::Platform);
    }

    #[test]
    fn role_management_is_monotone() {
        assert!(p(Role::FacilityAdmin).can_manage_role(Role::Rn));
        assert!(!p(Role::FacilityAdmin).can_manage_role(Role::OrgAdmin));
        assert!(p(Role::OrgAdmin).can_manage_role(Role::OrgAdmin));
        assert!(!p(Role::OrgAdmin).can_manage_role(Role::PlatformAdmin));
        assert!(!p(Role::Rn).can_manage_role(Role::Rn));
    }
}
