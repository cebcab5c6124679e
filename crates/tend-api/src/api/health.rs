//! Liveness, readiness and the OpenAPI document.

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::Json;
use tend_domain::wire::{ErrorBody, HealthStatus};

use crate::error::{ApiError, Result};
use crate::AppState;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "Process is up", body = HealthStatus)))]
pub async fn healthz() -> Json<HealthStatus> {
    Json(HealthStatus {
        status: "ok".to_owned(),
    })
}

/// The database answers and every embedded migration is applied.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "Ready", body = HealthStatus),
        (status = 503, description = "Database unreachable or migrations pending", body = ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<HealthStatus>> {
    match state.readiness.check(&state.pool).await {
        Ok(()) => Ok(Json(HealthStatus {
            status: "ok".to_owned(),
        })),
        Err(why) => Err(ApiError::Unavailable(why)),
    }
}

/// How long a readiness answer is reused: every device probes `/readyz`
/// every 15 s, and a load balancer more often; one query per second is enough.
pub const READY_CACHE: Duration = Duration::from_secs(1);

/// The last readiness answer and when it was found.
#[derive(Debug, Default)]
pub struct ReadyCache {
    last: tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>,
}

impl ReadyCache {
    /// Ready, or why not; asks the database at most once per [`READY_CACHE`]
    /// (concurrent probes wait for the one asking).
    pub async fn check(&self, pool: &sqlx::PgPool) -> Result<(), String> {
        let mut last = self.last.lock().await;
        if let Some((at, answer)) = last.as_ref() {
            if at.elapsed() < READY_CACHE {
                return answer.clone();
            }
        }
        let answer = match crate::db::migrations_current(pool).await {
            Ok(true) => Ok(()),
            Ok(false) => Err("migrations pending".to_owned()),
            Err(e) => Err(format!("database: {e}")),
        };
        *last = Some((Instant::now(), answer.clone()));
        answer
    }
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "health",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
pub async fn openapi_json(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "application/json")],
        state.openapi_json.as_str().to_owned(),
    )
}
