//! What every request goes through before its handler: the body is read in
//! full (within a deadline and the route's size limit) before any extractor
//! can open a database transaction, the handler runs within a deadline, and
//! the request id is checked.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use ipnet::IpNet;

use crate::error::ApiError;

/// Per-process HTTP settings (`serve` flags).
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Peers allowed to name the client in `X-Forwarded-For`.
    pub trusted_proxies: Arc<[IpNet]>,
    /// A handler (after its body is in) gets this long before 503.
    pub request_timeout: Duration,
    /// A request body must arrive whole within this long, or 408.
    pub body_read_timeout: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            trusted_proxies: Arc::from(Vec::new()),
            request_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(10),
        }
    }
}

/// The routes whose body may be larger than [`crate::BODY_LIMIT`].
pub const SYNC_PUSH_ROUTE: &str = "/api/sync/push";
pub const IMPORT_ROUTE: &str = "/api/organizations/{id}/import";

fn body_limit(route: Option<&str>) -> usize {
    match route {
        Some(SYNC_PUSH_ROUTE) => crate::SYNC_BODY_LIMIT,
        Some(IMPORT_ROUTE) => crate::api::import::IMPORT_BODY_LIMIT,
        _ => crate::BODY_LIMIT,
    }
}

/// Middleware: reads the whole body first, then runs the handler with a deadline.
/// A slow sender holds a task, never a database connection.
pub async fn body_first_with_deadline(
    State(settings): State<HttpSettings>,
    req: Request,
    next: Next,
) -> Response {
    let limit = body_limit(req.extensions().get::<MatchedPath>().map(|p| p.as_str()));
    let (parts, body) = req.into_parts();
    let read = tokio::time::timeout(
        settings.body_read_timeout,
        Limited::new(body, limit).collect(),
    )
    .await;
    let bytes = match read {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return ApiError::PayloadTooLarge.into_response()
        }
        Ok(Err(_)) => {
            return ApiError::Malformed("the request body could not be read".to_owned())
                .into_response()
        }
        Err(_) => return ApiError::BodyTimeout.into_response(),
    };
    let req = Request::from_parts(parts, Body::from(bytes));
    match tokio::time::timeout(settings.request_timeout, next.run(req)).await {
        Ok(response) => response,
        // Dropping the handler rolls its transaction back.
        Err(_) => ApiError::Unavailable("the request took too long".to_owned()).into_response(),
    }
}

/// A request id from the client is kept only when it is short and plain
/// (it goes into every log line of the request); otherwise a new one is made.
pub async fn sanitize_request_id(mut req: Request, next: Next) -> Response {
    let acceptable = |v: &HeaderValue| {
        let b = v.as_bytes();
        !b.is_empty()
            && b.len() <= 64
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b':'))
    };
    if req
        .headers()
        .get(REQUEST_ID)
        .is_some_and(|v| !acceptable(v))
    {
        req.headers_mut().remove(REQUEST_ID);
    }
    next.run(req).await
}

/// The request id header, set on every request and response.
pub const REQUEST_ID: &str = "x-request-id";
