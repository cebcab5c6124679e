//! Tend's central API: organizations, facilities, devices, users and patients
//! on PostgreSQL, isolated per facility by the API's own filters and, beneath
//! them, by row-level security driven from per-request transaction settings.

pub mod api;
pub mod audit_chain;
pub mod auth;
pub mod cli;
pub mod config;
pub mod context;
pub mod db;
pub mod error;
pub mod extract;
pub mod fhir;
pub mod http;
pub mod identity;
pub mod import;
pub mod load;
pub mod metrics;
pub mod net;
pub mod openapi;
pub mod seed;
pub mod serve;
pub mod store;
pub mod telemetry;
pub mod validate;

pub use error::{ApiError, Result};

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use sqlx::PgPool;
use tokio::net::TcpListener;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    /// How long a login token lives.
    pub token_ttl: Duration,
    /// The OpenAPI document, rendered once at startup.
    pub openapi_json: Arc<String>,
    /// Enrollment limits, nonces, device tokens, the heartbeat buffer.
    pub identity: Arc<identity::IdentityState>,
    /// `/readyz`'s last answer, reused for a moment.
    pub readiness: Arc<api::health::ReadyCache>,
    /// Trusted proxies and timeouts.
    pub http: http::HttpSettings,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("token_ttl", &self.token_ttl)
            .finish_non_exhaustive()
    }
}

/// Largest request body accepted (413 beyond).
pub const BODY_LIMIT: usize = 64 * 1024;

/// Largest sync push accepted: 500 operations of the longest records.
pub const SYNC_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Builds the full router with its state (device identity defaults).
/// Call inside a Tokio runtime: it starts the heartbeat flusher.
pub fn app(pool: PgPool, token_ttl: Duration) -> Router {
    app_with(pool, token_ttl, identity::IdentityConfig::default())
}

/// [`app`] with explicit device-identity settings.
pub fn app_with(pool: PgPool, token_ttl: Duration, config: identity::IdentityConfig) -> Router {
    app_and_identity(pool, token_ttl, config).0
}

/// The router and its device-identity state (to flush heartbeats at shutdown).
pub fn app_and_identity(
    pool: PgPool,
    token_ttl: Duration,
    config: identity::IdentityConfig,
) -> (Router, Arc<identity::IdentityState>) {
    build(pool, token_ttl, config, http::HttpSettings::default())
}

/// [`app_and_identity`] with explicit HTTP settings (trusted proxies, timeouts).
pub fn build(
    pool: PgPool,
    token_ttl: Duration,
    config: identity::IdentityConfig,
    http: http::HttpSettings,
) -> (Router, Arc<identity::IdentityState>) {
    let (router, doc) = api::router().split_for_parts();
    let openapi_json = Arc::new(doc.to_json().unwrap_or_else(|_| "{}".to_owned()));
    let flush = config.heartbeat_flush;
    let identity = Arc::new(identity::IdentityState::new(config));
    tokio::spawn(identity.heartbeats.clone().run(pool.clone(), flush));
    tokio::spawn(identity::listen_for_revocations(
        identity.clone(),
        pool.clone(),
    ));
    tokio::spawn(api::alerts::run_escalations(
        pool.clone(),
        identity.config.alert_escalation_every,
    ));
    tokio::spawn(audit_chain::run_checkpoints(
        pool.clone(),
        identity.clone(),
        identity.config.audit_checkpoint_every,
    ));
    let state = AppState {
        pool,
        token_ttl,
        openapi_json,
        identity: identity.clone(),
        readiness: Arc::default(),
        http,
    };
    (
        api::finish(router.nest("/fhir/R4", fhir::router()), state),
        identity,
    )
}

/// Serves plain HTTP on an already-bound listener until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve::run(listener, app, None, shutdown).await
}

/// Serves HTTPS with `tls` (reloadable) until `shutdown` resolves.
pub async fn serve_tls(
    listener: TcpListener,
    app: Router,
    tls: Arc<serve::TlsFiles>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve::run(listener, app, Some(tls), shutdown).await
}
