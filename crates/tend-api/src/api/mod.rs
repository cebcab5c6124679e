//! HTTP surface: routes (each documented for OpenAPI as it is registered, so
//! the router and the document cannot drift), fallbacks, body limit, tracing.

pub mod alerts;
pub mod audit;
pub mod audit_chain;
pub mod audit_export;
pub mod auth;
pub mod badge_login;
pub mod badges;
pub mod break_glass;
pub mod device_auth;
pub mod devices;
pub mod enrollment;
pub mod facilities;
pub mod family;
pub mod health;
pub mod import;
pub mod organizations;
pub mod patients;
pub mod sync;
pub mod users;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::{middleware, Router};
use serde::Deserialize;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::{IntoParams, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::{AppState, BODY_LIMIT};

/// Every route, with its OpenAPI description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(crate::openapi::ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::openapi_json))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::sign_out_everywhere))
        .routes(routes!(badge_login::badge_login))
        .routes(routes!(
            organizations::list_organizations,
            organizations::create_organization
        ))
        .routes(routes!(
            organizations::get_organization,
            organizations::update_organization
        ))
        .merge(
            // Three CSV files of a whole organization: this route only.
            OpenApiRouter::new()
                .routes(routes!(import::import_organization))
                .layer(DefaultBodyLimit::max(import::IMPORT_BODY_LIMIT)),
        )
        .routes(routes!(
            facilities::list_facilities,
            facilities::create_facility
        ))
        .routes(routes!(
            facilities::get_facility,
            facilities::update_facility
        ))
        .routes(routes!(facilities::update_census))
        .routes(routes!(facilities::reconcile_census))
        .routes(routes!(facilities::list_facility_devices))
        .routes(routes!(facilities::facility_dashboard))
        .routes(routes!(facilities::census_history))
        .routes(routes!(devices::list_devices, devices::create_device))
        .routes(routes!(devices::get_device, devices::update_device))
        .routes(routes!(devices::deactivate_device))
        .routes(routes!(
            enrollment::list_enrollment_codes,
            enrollment::create_enrollment_code
        ))
        .routes(routes!(enrollment::revoke_enrollment_code))
        .routes(routes!(enrollment::enroll_device))
        .routes(routes!(enrollment::approve_device))
        .routes(routes!(enrollment::reject_device))
        .routes(routes!(device_auth::server_key))
        .routes(routes!(device_auth::challenge))
        .routes(routes!(device_auth::token))
        .routes(routes!(device_auth::heartbeat))
        .routes(routes!(device_auth::vault_secret))
        .routes(routes!(device_auth::rotate_vault_secret))
        .routes(routes!(device_auth::forget_previous_vault_secret))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::get_user, users::update_user))
        .routes(routes!(users::sign_out_user_everywhere))
        .routes(routes!(users::set_my_language))
        .routes(routes!(badges::list_badges, badges::assign_badge))
        .routes(routes!(badges::revoke_badge))
        .routes(routes!(badges::set_pin))
        .routes(routes!(patients::list_patients, patients::create_patient))
        .routes(routes!(patients::get_patient, patients::update_patient))
        .routes(routes!(patients::list_patient_records))
        .routes(routes!(
            break_glass::list_break_glass,
            break_glass::open_break_glass
        ))
        .routes(routes!(break_glass::break_glass_facilities))
        .routes(routes!(break_glass::review_break_glass))
        .merge(
            // A batch of 500 records is far larger than any other request.
            OpenApiRouter::new()
                .routes(routes!(sync::push))
                .layer(DefaultBodyLimit::max(crate::SYNC_BODY_LIMIT)),
        )
        .routes(routes!(sync::pull))
        .routes(routes!(audit::list_audit_events))
        .routes(routes!(audit_export::export_csv))
        .routes(routes!(audit_export::export_fhir))
        .routes(routes!(audit_chain::audit_chain_status))
        .routes(routes!(audit_chain::verify_audit_chain))
        .routes(routes!(
            family::list_visitor_codes,
            family::issue_visitor_code
        ))
        .routes(routes!(family::revoke_visitor_code))
        .routes(routes!(
            family::list_family_updates,
            family::publish_family_update
        ))
        .routes(routes!(family::list_family_messages))
        .routes(routes!(family::family_check_in))
        .routes(routes!(family::family_summary))
        .routes(routes!(family::send_family_message))
        .routes(routes!(family::end_family_session))
        .routes(routes!(alerts::device_events))
        .routes(routes!(alerts::acknowledge_alert))
}

/// Adds what every route shares and binds the state. Layers run after
/// routing (so the route template is known), outermost last: request id,
/// compression, tracing span, metrics, client address, then the body is read
/// whole before the handler and its extractors run under a deadline.
pub fn finish(router: Router<AppState>, state: AppState) -> Router {
    let settings = state.http.clone();
    router
        .fallback(|| async { ApiError::NoRoute })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            settings.clone(),
            crate::http::body_first_with_deadline,
        ))
        .layer(middleware::from_fn_with_state(
            settings.trusted_proxies.clone(),
            crate::net::client_address_layer,
        ))
        .layer(middleware::from_fn(crate::metrics::track))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    // The matched route, never the raw URI: query strings can carry names.
                    let route = req
                        .extensions()
                        .get::<MatchedPath>()
                        .map(|p| p.as_str().to_owned());
                    let request_id = req
                        .headers()
                        .get(crate::http::REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    let route = route.as_deref().unwrap_or("-");
                    // `otel.*` and `http.*` follow OpenTelemetry's conventions so an
                    // exported span reads as an HTTP server span ("GET /api/patients").
                    let span = tracing::info_span!(
                        "request",
                        request_id = %request_id,
                        http.request.method = %req.method(),
                        http.route = route,
                        otel.name = %format_args!("{} {route}", req.method()),
                        otel.kind = "server",
                        http.response.status_code = tracing::field::Empty,
                        otel.status_code = tracing::field::Empty,
                        user_id = tracing::field::Empty,
                    );
                    crate::telemetry::join_callers_trace(&span, req.headers());
                    span
                })
                .on_response(
                    |res: &axum::response::Response,
                     latency: std::time::Duration,
                     span: &tracing::Span| {
                        span.record("http.response.status_code", res.status().as_u16());
                        if res.status().is_server_error() {
                            span.record("otel.status_code", "ERROR");
                        }
                        tower_http::trace::OnResponse::on_response(
                            tower_http::trace::DefaultOnResponse::default(),
                            res,
                            latency,
                            span,
                        );
                    },
                ),
        )
        .layer(CompressionLayer::new())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(middleware::from_fn(crate::http::sanitize_request_id))
        .with_state(state)
}

/// Keyset pagination parameters shared by every list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
}
