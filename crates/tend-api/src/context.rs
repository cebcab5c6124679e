//! The per-request context: who is calling (from the bearer token), one
//! database transaction carrying the caller's scope for row-level security,
//! the role rules, and audit writing.
//!
//! One function sets the scope ([`scope_statement`] → the SQL function
//! `tend_set_scope`). A request whose token this instance has seen opens its
//! transaction, checks the token and sets the scope in one round trip
//! ([`authenticate`]); a first-seen token costs two (BEGIN, then the lookup
//! with the scope in the same statement). Besides the scope, `tend.user_id`
//! names the caller for rows triggers write (census history).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, Transaction};
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

    /// Whether this principal may set the password or PIN of, or assign a
    /// badge to, user `target_id` holding `target`: their own, or a user of a
    /// strictly lower role — a facility admin may not take over another
    /// facility admin's sign-in, nor an organization admin another's. A
    /// platform admin has nobody above, so it may act on anyone.
    pub fn may_set_credentials_of(&self, target_id: i64, target: Role) -> bool {
        fn rank(role: Role) -> u8 {
            match role {
                Role::PlatformAdmin => 3,
                Role::OrgAdmin => 2,
                Role::FacilityAdmin => 1,
                _ => 0,
            }
        }
        target_id == self.user_id
            || self.role == Role::PlatformAdmin
            || (self.role.is_admin() && rank(self.role) > rank(target))
    }

    /// Whether this principal may create or change a user holding `target`.
    pub fn can_manage_role(&self, target: Role) -> bool {
        self.role.may_assign(target)
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

/// The statement that sets the row-level-security scope — the only way the
/// API sets it. `tend_set_scope` (migration 0007) writes the transaction-local
/// settings the policies read; `tend.user_id` names the caller for rows
/// triggers write. Plain text on purpose: the values are integers and a fixed
/// scope name, so it can share one simple-query message (one round trip) with
/// `BEGIN` and whatever else starts the transaction.
pub fn scope_statement(scope: Scope, user_id: Option<i64>) -> String {
    let (name, organization_id, facility_id) = scope_parts(scope);
    let literal = |v: Option<i64>| v.map_or_else(|| "NULL".to_owned(), |v| v.to_string());
    format!(
        "SELECT tend_set_scope('{name}', {}, {}, {})",
        literal(organization_id),
        literal(facility_id),
        literal(user_id)
    )
}

/// The `tend.scope` name and the organization and facility a scope names.
pub(crate) fn scope_parts(scope: Scope) -> (&'static str, Option<i64>, Option<i64>) {
    match scope {
        Scope::Platform => ("platform", None, None),
        Scope::Organization(o) => ("organization", Some(o), None),
        Scope::Facility {
            organization_id,
            facility_id,
        } => ("facility", Some(organization_id), Some(facility_id)),
    }
}

/// Applies (or replaces) the scope of `conn`'s open transaction: the same
/// function as [`scope_statement`], with bound values (a prepared statement).
pub async fn set_scope(conn: &mut PgConnection, scope: Scope, user_id: Option<i64>) -> Result<()> {
    let (name, organization_id, facility_id) = scope_parts(scope);
    sqlx::query("SELECT tend_set_scope($1, $2, $3, $4)")
        .bind(name)
        .bind(organization_id)
        .bind(facility_id)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Starts a transaction with `scope` applied, in one round trip.
pub async fn begin_scoped(
    pool: &PgPool,
    scope: Scope,
    user_id: Option<i64>,
) -> Result<Transaction<'static, Postgres>> {
    begin_scoped_with(pool, "BEGIN", scope, user_id).await
}

/// [`begin_scoped`] with another opening (`begin` is a fixed statement such as
/// `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL …`).
pub async fn begin_scoped_with(
    pool: &PgPool,
    begin: &'static str,
    scope: Scope,
    user_id: Option<i64>,
) -> Result<Transaction<'static, Postgres>> {
    let statement = format!("{begin}; {}", scope_statement(scope, user_id));
    Ok(pool.begin_with(statement).await?)
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

/// SQLSTATE `tend_expect_token` raises when a token no longer belongs to the
/// principal the cache remembers.
const TOKEN_MISMATCH: &str = "TD401";

/// Checks the bearer token in PostgreSQL and opens the request's scoped
/// transaction. With the token's principal in [`PrincipalCache`] this is one
/// round trip: `SELECT tend_expect_token(…); BEGIN; SELECT tend_set_scope(…)`
/// in one simple-query message. The check runs before `BEGIN`, in the
/// message's implicit transaction, so a revoked or changed token aborts only
/// that (nothing is left open on the connection) and the request falls back to
/// the lookup — the database stays the judge on every request; the cache only
/// saves the second round trip.
async fn authenticate(
    state: &AppState,
    hash: &[u8],
) -> Result<(Principal, Transaction<'static, Postgres>)> {
    let cache = &state.identity.principals;
    if let Some(p) = cache.get(hash) {
        let statement = format!(
            "SELECT tend_expect_token('\\x{}'::bytea, {}, '{}', {}, {}); BEGIN; {}",
            hex(hash),
            p.user_id,
            p.role.as_str(),
            p.organization_id,
            p.facility_id,
            scope_statement(p.scope(), Some(p.user_id)),
        );
        match state.pool.begin_with(statement).await {
            Ok(tx) => return Ok((p, tx)),
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(TOKEN_MISMATCH) => {
                cache.forget(hash);
            }
            Err(e) => return Err(e.into()),
        }
    }
    let mut tx = state.pool.begin().await?;
    let row: Option<TokenRow> = sqlx::query_as(
        "SELECT t.user_id, t.role, t.organization_id, t.facility_id \
         FROM tend_token_lookup($1) t \
         CROSS JOIN LATERAL tend_set_scope(CASE t.role WHEN 'PLATFORM_ADMIN' THEN 'platform' \
             WHEN 'ORG_ADMIN' THEN 'organization' ELSE 'facility' END, t.organization_id, \
             CASE WHEN t.role IN ('PLATFORM_ADMIN', 'ORG_ADMIN') THEN NULL ELSE t.facility_id END, \
             t.user_id) AS s",
    )
    .bind(hash)
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
    cache.insert(hash, principal);
    Ok((principal, tx))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Who each recently seen bearer token belongs to, so the next request can
/// check the token and open its scoped transaction in one round trip. Never
/// trusted on its own (see [`authenticate`]); bounded, cleared when full.
#[derive(Debug, Default)]
pub struct PrincipalCache {
    entries: std::sync::Mutex<std::collections::HashMap<Vec<u8>, Principal>>,
}

/// Most tokens remembered by one instance.
const MAX_CACHED_PRINCIPALS: usize = 50_000;

impl PrincipalCache {
    pub fn get(&self, hash: &[u8]) -> Option<Principal> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(hash).copied()
    }

    pub fn insert(&self, hash: &[u8], principal: Principal) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_CACHED_PRINCIPALS {
            entries.clear();
        }
        entries.insert(hash.to_vec(), principal);
    }

    pub fn forget(&self, hash: &[u8]) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(hash);
    }
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
        let (principal, tx) = authenticate(state, &hash).await?;
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
    pub async fn deny(self) -> ApiError {
        self.refuse(ApiError::Forbidden).await
    }

    /// [`Ctx::deny`] with a sentence saying why (403 FORBIDDEN, audited alike).
    pub async fn deny_because(self, message: &'static str) -> ApiError {
        self.refuse(ApiError::ForbiddenBecause(message)).await
    }

    async fn refuse(mut self, answer: ApiError) -> ApiError {
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
        answer
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

    /// Records a read through break-glass access: always, as cross-facility,
    /// with the grant's stated reason.
    pub async fn audit_break_glass_read(&mut self, audit: Audit<'_>) -> Result<()> {
        let actor = Some(self.principal.user_id);
        self.audited = true;
        insert_audit(
            &mut self.tx,
            actor,
            &audit,
            "success",
            true,
            self.client_address.as_deref(),
        )
        .await
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
    fn only_a_higher_role_sets_someone_elses_credentials() {
        let fa = p(Role::FacilityAdmin);
        assert!(fa.may_set_credentials_of(1, Role::FacilityAdmin), "own");
        assert!(fa.may_set_credentials_of(9, Role::Rn));
        assert!(!fa.may_set_credentials_of(9, Role::FacilityAdmin));
        assert!(!fa.may_set_credentials_of(9, Role::OrgAdmin));
        let oa = p(Role::OrgAdmin);
        assert!(oa.may_set_credentials_of(9, Role::FacilityAdmin));
        assert!(!oa.may_set_credentials_of(9, Role::OrgAdmin));
        assert!(p(Role::PlatformAdmin).may_set_credentials_of(9, Role::PlatformAdmin));
        assert!(!p(Role::Rn).may_set_credentials_of(9, Role::Cna));
        assert!(p(Role::Rn).may_set_credentials_of(1, Role::Rn));
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
