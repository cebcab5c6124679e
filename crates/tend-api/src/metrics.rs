//! Process metrics in the Prometheus text format, served on their own
//! listener (`serve --metrics-listen`), never on the API's port. Labels are
//! route templates, methods, status codes and fixed words: never a raw path,
//! an id, a token, a badge value or patient data.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use sqlx::PgPool;

/// Every metric of the process.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Requests answered, by method, route template and status.
    pub http_requests: IntCounterVec,
    /// Time to the response head, by method and route template.
    pub http_duration: HistogramVec,
    /// Requests being handled now.
    pub http_in_flight: IntGauge,
    /// Database connections by state (`in_use`, `idle`).
    pub pool_connections: IntGaugeVec,
    /// The pool's size limit.
    pub pool_max: IntGauge,
    /// Requests that found no free connection in time (answered 503).
    pub pool_acquire_timeouts: IntCounter,
    /// Devices written per heartbeat flush.
    pub heartbeat_flush_devices: Histogram,
    /// Duration of heartbeat flushes.
    pub heartbeat_flush_seconds: Histogram,
    /// Sync rows, by direction (`pushed`: accepted operations; `pulled`: changes served).
    pub sync_rows: IntCounterVec,
    /// Requests refused by a rate limit (429).
    pub rate_limit_refusals: IntCounter,
    /// Failed sign-ins, by kind (`password`, `badge`, `pin`, `visitor_code`).
    pub login_failures: IntCounterVec,
    /// Audit rows appended.
    pub audit_rows: IntCounter,
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

/// Registers a metric built from constant names and help texts: a failure is
/// a programming error that every test run would show, so it panics here,
/// once, at start-up.
fn register<C: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    built: prometheus::Result<C>,
) -> C {
    let c = built.expect("metric names and labels are valid");
    registry
        .register(Box::new(c.clone()))
        .expect("metric names are unique");
    c
}

impl Metrics {
    fn new() -> Self {
        let r = Registry::new();
        let latency = vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ];
        Self {
            http_requests: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "tend_http_requests_total",
                        "HTTP requests answered, by method, route template and status.",
                    ),
                    &["method", "route", "status"],
                ),
            ),
            http_duration: register(
                &r,
                HistogramVec::new(
                    HistogramOpts::new(
                        "tend_http_request_duration_seconds",
                        "Time from request to response head, by method and route template.",
                    )
                    .buckets(latency.clone()),
                    &["method", "route"],
                ),
            ),
            http_in_flight: register(
                &r,
                IntGauge::new(
                    "tend_http_requests_in_flight",
                    "HTTP requests being handled.",
                ),
            ),
            pool_connections: register(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "tend_db_pool_connections",
                        "Database connections of the pool, by state (in_use, idle).",
                    ),
                    &["state"],
                ),
            ),
            pool_max: register(
                &r,
                IntGauge::new(
                    "tend_db_pool_max_connections",
                    "The database pool's size limit.",
                ),
            ),
            pool_acquire_timeouts: register(
                &r,
                IntCounter::new(
                    "tend_db_pool_acquire_timeouts_total",
                    "Requests that waited too long for a database connection (answered 503).",
                ),
            ),
            heartbeat_flush_devices: register(
                &r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "tend_heartbeat_flush_devices",
                        "Devices written per heartbeat flush.",
                    )
                    .buckets(vec![
                        1.0, 10.0, 100.0, 1_000.0, 5_000.0, 10_000.0, 50_000.0, 100_000.0,
                    ]),
                ),
            ),
            heartbeat_flush_seconds: register(
                &r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "tend_heartbeat_flush_duration_seconds",
                        "Duration of heartbeat flushes.",
                    )
                    .buckets(latency),
                ),
            ),
            sync_rows: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "tend_sync_rows_total",
                        "Sync rows: operations accepted from devices (pushed), changes served (pulled).",
                    ),
                    &["direction"],
                ),
            ),
            rate_limit_refusals: register(
                &r,
                IntCounter::new(
                    "tend_rate_limit_refusals_total",
                    "Requests refused by a rate limit (429).",
                ),
            ),
            login_failures: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "tend_login_failures_total",
                        "Failed sign-ins, by kind (password, badge, pin, visitor_code).",
                    ),
                    &["kind"],
                ),
            ),
            audit_rows: register(
                &r,
                IntCounter::new("tend_audit_rows_total", "Audit rows appended."),
            ),
            registry: r,
        }
    }

    /// The exposition text, with the pool gauges read now.
    pub fn render(&self, pool: &PgPool) -> String {
        let size = i64::from(pool.size());
        let idle = i64::try_from(pool.num_idle()).unwrap_or(i64::MAX);
        self.pool_connections
            .with_label_values(&["in_use"])
            .set((size - idle).max(0));
        self.pool_connections.with_label_values(&["idle"]).set(idle);
        self.pool_max
            .set(i64::from(pool.options().get_max_connections()));
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Middleware (inside routing, so the route template is known): counts and
/// times every request.
pub async fn track(req: Request, next: Next) -> Response {
    let m = metrics();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = match method.as_str() {
        "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
        _ => "other".to_owned(),
    };
    m.http_in_flight.inc();
    // Decrements even when the client goes away and the request is dropped.
    struct InFlight;
    impl Drop for InFlight {
        fn drop(&mut self) {
            metrics().http_in_flight.dec();
        }
    }
    let _in_flight = InFlight;
    let started = Instant::now();
    let response = next.run(req).await;
    m.http_duration
        .with_label_values(&[&method, &route])
        .observe(started.elapsed().as_secs_f64());
    m.http_requests
        .with_label_values(&[&method, &route, response.status().as_str()])
        .inc();
    response
}

/// `GET /metrics` for the metrics listener.
pub fn router(pool: PgPool) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let pool = pool.clone();
            async move {
                (
                    [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
                    metrics().render(&pool),
                )
                    .into_response()
            }
        }),
    )
}
