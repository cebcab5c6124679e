//! The OpenAPI 3.1 document. Paths come from the handlers' `#[utoipa::path]`
//! as the router is built (see `api::router`); this adds the frame.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tend central API",
        description = "Organizations, facilities, devices, users and patients, isolated per facility. \
                       Errors are always `{\"error\": {\"code\", \"message\", \"fields\"}}`; a resource in \
                       another tenant answers 404.",
    ),
    modifiers(&BearerAuth),
    components(schemas(tend_domain::wire::ErrorBody, tend_domain::ErrorCode)),
    tags(
        (name = "health", description = "Liveness, readiness, this document"),
        (name = "auth", description = "Login (password, or badge through a device), logout, current user"),
        (name = "organizations", description = "Top-level tenants"),
        (name = "facilities", description = "Care sites, census and dashboard"),
        (name = "devices", description = "Agency-owned devices"),
        (name = "enrollment", description = "Enrollment codes, device self-registration, approval"),
        (name = "device-auth", description = "Device challenge/token authentication and heartbeats"),
        (name = "users", description = "Staff accounts"),
        (name = "badges", description = "Users' badges (stored as keyed hashes) and PINs"),
        (name = "patients", description = "Residents and clients"),
        (name = "break-glass", description = "Emergency, time-limited and audited read access to a resident of another facility of the organization, and its review"),
        (name = "sync", description = "Background sync for devices: outbox push and the facility change feed"),
        (name = "audit", description = "Append-only, hash-chained audit trail: events, the chain's verification, exports for auditors (CSV, FHIR AuditEvent)"),
        (name = "family", description = "Family portal: visitor codes, updates shared with family, kiosk check-in and family sessions"),
        (name = "alerts", description = "Live wandering alerts: the devices' push channel (Server-Sent Events) and acknowledgement"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("opaque")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "device",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("tdev_ device token from /api/devices/auth/token")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "family",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("tfam_ family session from /api/family/check-in")
                    .build(),
            ),
        );
    }
}

/// The whole document (paths included), as served at `/api/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    crate::api::router().into_openapi()
}
