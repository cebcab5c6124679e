//! Liveness, readiness and the OpenAPI document.

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
    match crate::db::migrations_current(&state.pool).await {
        Ok(true) => Ok(Json(HealthStatus {
            status: "ok".to_owned(),
        })),
        Ok(false) => Err(ApiError::Unavailable("migrations pending".to_owned())),
        Err(e) => Err(ApiError::Unavailable(format!("database: {e}"))),
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
