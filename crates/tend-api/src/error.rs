//! The API's error type. Every failure leaves as
//! `{"error": {"code", "message", "fields"}}` with a status that matches the
//! code; internal details go to the log, never to the client.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use tend_domain::wire::{ErrorBody, ErrorDetail};
use tend_domain::{ErrorCode, ValidationError};

/// Field name → messages.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// Seconds a 503 asks the client to wait (`Retry-After`).
pub const UNAVAILABLE_RETRY_AFTER: u64 = 2;
/// Seconds a 429 from a rate-limit bucket asks the client to wait.
pub const RATE_LIMITED_RETRY_AFTER: u64 = 5;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// One or more fields failed validation (422).
    #[error("the request has invalid fields")]
    Validation(FieldErrors),
    /// The body is not JSON, or not the JSON this endpoint takes (400).
    #[error("{0}")]
    Malformed(String),
    /// The body is not sent as `application/json` (415).
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    /// The body exceeds the size limit (413).
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// Nothing by that id in the caller's scope, including other tenants' rows (404).
    #[error("not found")]
    NotFound,
    /// No such route (404).
    #[error("no such endpoint")]
    NoRoute,
    /// Method not supported on this path (405).
    #[error("method not allowed on this endpoint")]
    MethodNotAllowed,
    /// A unique value is taken (409); `fields` says which.
    #[error("{message}")]
    Conflict {
        message: String,
        fields: FieldErrors,
    },
    /// Missing, unknown, expired or revoked credentials (401).
    #[error("authentication required")]
    Unauthorized,
    /// Wrong username or password (401).
    #[error("invalid username or password")]
    BadCredentials,
    /// A device credential was refused (401); the code tells the app what
    /// to do (enroll, wait for approval, or wipe).
    #[error("{}", refusal_message(*.0))]
    Device(ErrorCode),
    /// The device's enrollment was ended by an administrator (401
    /// `DEVICE_DEACTIVATED` / `DEVICE_REJECTED`), with the signed order the
    /// device may act on (wipe).
    #[error("{}", refusal_message(order_code(order.kind)))]
    DeviceOrdered {
        order: Box<tend_domain::wire::DeviceOrder>,
    },
    /// An enrollment was refused (403); the code names the problem.
    #[error("{}", refusal_message(*.0))]
    Enrollment(ErrorCode),
    /// The device_uuid is enrolled with another key (409).
    #[error("{}", refusal_message(ErrorCode::DeviceCloneConflict))]
    CloneConflict,
    /// A badge login was refused (401, or 403 for a locked badge or a device
    /// that may not log this user in); the code names the reason.
    #[error("{}", badge_message(*.0))]
    Badge(ErrorCode),
    /// A badge login with a wrong PIN (401); more attempts remain.
    #[error("wrong PIN; {attempts_left} more before this badge locks for 15 minutes")]
    BadgePinWrong { attempts_left: u32 },
    /// A badge login refused because the PIN is needed (401); says why.
    #[error("{}", .0.message())]
    BadgePinRequired(tend_domain::badge_login::PinReason),
    /// A family check-in with a code that is not valid at the device's
    /// facility: unknown, expired or revoked, all alike to the visitor (401).
    #[error("that visitor code did not work; check it with the staff")]
    VisitorCodeInvalid,
    /// The facility has not turned on the feature this needs (403, FORBIDDEN).
    #[error("the {0} is not turned on for this facility")]
    FeatureDisabled(&'static str),
    /// A patient update based on an old `version` (409); carries the patient
    /// as it is now.
    #[error(
        "someone else changed this patient since you loaded it; review their change and try again"
    )]
    StaleVersion(Box<tend_domain::wire::Patient>),
    /// A sync request whose protocol or schema version this server cannot
    /// serve (426); the device keeps its outbox and asks for an update.
    #[error("this app version cannot sync with the server; update the app (nothing was lost)")]
    UnsupportedVersion,
    /// Import files with problems (422 VALIDATION_FAILED); every problem is
    /// listed by file, line and column, and nothing was written.
    #[error("the files have problems; nothing was written")]
    ImportProblems(Vec<tend_domain::wire::ImportProblem>),
    /// A request parameter that is not acceptable at all (a foreign or
    /// corrupt sync cursor, an empty batch): 400 naming the field.
    #[error("the request has an invalid parameter")]
    InvalidParameter(FieldErrors),
    /// Too many attempts (429).
    #[error("too many attempts; wait a few seconds and try again")]
    RateLimited,
    /// Password login refused for a while for this account: too many failed
    /// attempts (429 RATE_LIMITED, with `Retry-After`).
    #[error("too many failed sign-ins for this account; try again in {} minute(s)", .retry_after_secs.div_ceil(60).max(1))]
    LoginThrottled { retry_after_secs: u64 },
    /// In scope, but the role may not do this (403).
    #[error("your role may not do this")]
    Forbidden,
    /// In scope, but the role may not do this, for the reason given (403 FORBIDDEN).
    #[error("{0}")]
    ForbiddenBecause(&'static str),
    /// The request body did not arrive in time (408).
    #[error("the request body did not arrive in time; send it again")]
    BodyTimeout,
    /// The database is unreachable, busy or not migrated (503, with Retry-After).
    #[error("service unavailable")]
    Unavailable(String),
    /// Anything unexpected (500); the cause is logged.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Validation(_) | Self::InvalidParameter(_) | Self::ImportProblems(_) => {
                ErrorCode::ValidationFailed
            }
            Self::StaleVersion(_) => ErrorCode::Conflict,
            Self::UnsupportedVersion => ErrorCode::UnsupportedVersion,
            Self::Malformed(_)
            | Self::UnsupportedMediaType
            | Self::MethodNotAllowed
            | Self::BodyTimeout => ErrorCode::MalformedRequest,
            Self::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            Self::NotFound | Self::NoRoute => ErrorCode::NotFound,
            Self::Conflict { .. } => ErrorCode::Conflict,
            Self::Unauthorized | Self::BadCredentials => ErrorCode::Unauthorized,
            Self::Forbidden | Self::ForbiddenBecause(_) | Self::FeatureDisabled(_) => {
                ErrorCode::Forbidden
            }
            Self::VisitorCodeInvalid => ErrorCode::VisitorCodeInvalid,
            Self::Device(code) | Self::Enrollment(code) | Self::Badge(code) => *code,
            Self::DeviceOrdered { order } => order_code(order.kind),
            Self::BadgePinWrong { .. } => ErrorCode::BadgePinWrong,
            Self::BadgePinRequired(_) => ErrorCode::BadgePinRequired,
            Self::CloneConflict => ErrorCode::DeviceCloneConflict,
            Self::RateLimited | Self::LoginThrottled { .. } => ErrorCode::RateLimited,
            Self::Unavailable(_) => ErrorCode::Unavailable,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) | Self::ImportProblems(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::InvalidParameter(_) => StatusCode::BAD_REQUEST,
            Self::StaleVersion(_) => StatusCode::CONFLICT,
            Self::UnsupportedVersion => StatusCode::UPGRADE_REQUIRED,
            Self::Malformed(_) => StatusCode::BAD_REQUEST,
            Self::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotFound | Self::NoRoute => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Unauthorized | Self::BadCredentials => StatusCode::UNAUTHORIZED,
            Self::Forbidden
            | Self::ForbiddenBecause(_)
            | Self::Enrollment(_)
            | Self::FeatureDisabled(_) => StatusCode::FORBIDDEN,
            Self::VisitorCodeInvalid => StatusCode::UNAUTHORIZED,
            Self::Device(ErrorCode::FacilityClosed | ErrorCode::OrganizationClosed) => {
                StatusCode::FORBIDDEN
            }
            Self::Device(_)
            | Self::DeviceOrdered { .. }
            | Self::BadgePinWrong { .. }
            | Self::BadgePinRequired(_) => StatusCode::UNAUTHORIZED,
            Self::Badge(ErrorCode::BadgeLocked | ErrorCode::BadgeDeviceNotAllowed) => {
                StatusCode::FORBIDDEN
            }
            Self::Badge(_) => StatusCode::UNAUTHORIZED,
            Self::CloneConflict => StatusCode::CONFLICT,
            Self::RateLimited | Self::LoginThrottled { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// One field failed.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut fields = FieldErrors::new();
        fields.entry(field.into()).or_default().push(message.into());
        Self::Validation(fields)
    }

    /// One request parameter is unacceptable (400).
    pub fn parameter(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut fields = FieldErrors::new();
        fields.entry(field.into()).or_default().push(message.into());
        Self::InvalidParameter(fields)
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self::Internal(err.into())
    }

    fn body(&self) -> ErrorBody {
        let fields = match self {
            Self::Validation(f) | Self::InvalidParameter(f) => f.clone(),
            Self::Conflict { fields, .. } => fields.clone(),
            _ => FieldErrors::new(),
        };
        ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.to_string(),
                fields,
                attempts_left: match self {
                    Self::BadgePinWrong { attempts_left } => Some(*attempts_left),
                    _ => None,
                },
                current: match self {
                    Self::StaleVersion(patient) => Some(patient.clone()),
                    _ => None,
                },
                order: match self {
                    Self::DeviceOrdered { order } => Some(order.clone()),
                    _ => None,
                },
                import_problems: match self {
                    Self::ImportProblems(problems) => Some(problems.clone()),
                    _ => None,
                },
            },
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(err: ValidationError) -> Self {
        Self::field(err.field, err.message)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => Self::NotFound,
            // Every connection busy for the whole acquire timeout: answer
            // quickly and let the client come back, rather than queue.
            sqlx::Error::PoolTimedOut => {
                crate::metrics::metrics().pool_acquire_timeouts.inc();
                Self::Unavailable("no database connection free".to_owned())
            }
            sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Self::Unavailable(format!("database connection: {err}"))
            }
            sqlx::Error::Database(db) => match db.code().as_deref() {
                Some(code) if unavailable_sqlstate(code) => {
                    Self::Unavailable(format!("database ({code}): {}", db.message()))
                }
                Some("23505") => unique_violation(db.constraint()),
                // A write whose row falls outside the caller's scope
                // (RLS WITH CHECK) looks like a missing row, not a refusal.
                Some("42501") if db.message().contains("row-level security") => Self::NotFound,
                // Foreign keys that point outside the tenant.
                Some("23503") => Self::NotFound,
                Some("23502") => Self::field(
                    db.constraint().unwrap_or("body"),
                    "a required value is missing",
                ),
                Some("23514") => Self::field(
                    check_field(db.constraint()),
                    "value is out of the allowed range",
                ),
                // Data exceptions (a NUL in text, a date PostgreSQL cannot
                // hold, a number out of range): the input is unacceptable.
                Some(code) if code.starts_with("22") => {
                    tracing::debug!(sqlstate = code, "data exception");
                    Self::field(
                        "body",
                        "a value cannot be stored (out of range, or contains a NUL character)",
                    )
                }
                _ => Self::Internal(err.into()),
            },
            _ => Self::Internal(err.into()),
        }
    }
}

/// SQLSTATEs that say the database cannot serve right now, not that the
/// request is wrong: the connection failed or was cut (class 08, which is
/// also how PgBouncer reports that it cannot reach PostgreSQL:
/// `08P01 query_wait_timeout`), PostgreSQL is shutting down or starting
/// (57P01–57P03), or has no connection slot free (53300). Worth a retry (503).
///
/// A deadlock victim (40P01) is retried too: writers of two audit chains in
/// one transaction lock the chains' heads (migration 0011) in whatever order
/// they write, so two such transactions can, rarely, wait on each other.
fn unavailable_sqlstate(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300" | "40P01")
}

/// The refusal code a signed order is sent with.
fn order_code(kind: tend_domain::wire::DeviceOrderKind) -> ErrorCode {
    match kind {
        tend_domain::wire::DeviceOrderKind::Deactivate => ErrorCode::DeviceDeactivated,
        tend_domain::wire::DeviceOrderKind::Reject => ErrorCode::DeviceRejected,
    }
}

/// Sentences for the identity refusals (the app shows them to an administrator).
fn refusal_message(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::EnrollmentCodeInvalid => {
            "this enrollment code does not exist; check it for typos or ask for a new one"
        }
        ErrorCode::EnrollmentCodeExpired => {
            "this enrollment code has expired; ask an administrator for a new one"
        }
        ErrorCode::EnrollmentCodeRevoked => {
            "this enrollment code was revoked by an administrator; ask for a new one"
        }
        ErrorCode::EnrollmentCodeExhausted => {
            "this enrollment code has been used as many times as it allows; ask for a new one"
        }
        ErrorCode::EnrollmentCodeRequired => {
            "an enrollment code is required: this device was not pre-registered by an administrator"
        }
        ErrorCode::DeviceCloneConflict => {
            "this device_uuid is already enrolled with a different key (a cloned disk image?); \
             an administrator must deactivate the old device or re-image this one"
        }
        ErrorCode::DevicePending => "this device is waiting for an administrator's approval",
        ErrorCode::DeviceRejected => "an administrator rejected this device's enrollment",
        ErrorCode::DeviceDeactivated => {
            "this device was deactivated: lock and wipe local data, then enroll again"
        }
        ErrorCode::DeviceUnknown => "this device is not enrolled; enroll it first",
        ErrorCode::FacilityClosed => {
            "this facility is closed in Tend; ask an administrator (nothing on the device was deleted)"
        }
        ErrorCode::OrganizationClosed => {
            "this organization is closed in Tend; ask an administrator (nothing on the device was deleted)"
        }
        _ => "refused",
    }
}

/// Sentences for badge login refusals (shown to the person at the device).
fn badge_message(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::BadgeUnknown => "this badge is not assigned to anyone; use your password",
        ErrorCode::BadgeRevoked => "this badge was revoked; use another badge or your password",
        ErrorCode::BadgePinNotSet => {
            "a PIN is needed with your badge but none is set; log in with your password and set one"
        }
        ErrorCode::BadgeLocked => {
            "this badge is locked for 15 minutes after too many wrong PINs; use your password"
        }
        ErrorCode::BadgeDeviceNotAllowed => {
            "this device belongs to another facility and may not log you in"
        }
        _ => "badge login refused",
    }
}

/// Unique constraints → the field a client can fix, in one place.
fn unique_violation(constraint: Option<&str>) -> ApiError {
    let (field, message) = match constraint.unwrap_or("") {
        "devices_device_uuid_key" => (
            "device_uuid",
            "a device with this UUID is already registered",
        ),
        "users_organization_id_employee_id_key" => (
            "employee_id",
            "this employee id is already used in the organization",
        ),
        "users_username_key" => ("username", "this username is taken"),
        "patients_facility_id_mrn_key" => ("mrn", "this MRN is already used in the facility"),
        "organizations_npi_key" => ("npi", "an organization with this NPI exists"),
        "badges_active_hash_key" => (
            "badge_uid",
            "this badge is already assigned to someone else in the organization; revoke it there first",
        ),
        _ => ("", "a record with these values already exists"),
    };
    let mut fields = FieldErrors::new();
    if !field.is_empty() {
        fields.insert(field.to_owned(), vec![message.to_owned()]);
    }
    ApiError::Conflict {
        message: message.to_owned(),
        fields,
    }
}

fn check_field(constraint: Option<&str>) -> String {
    let c = constraint.unwrap_or("");
    for field in [
        "current_census",
        "licensed_beds",
        "username",
        "npi",
        "tax_id",
        "license_state",
    ] {
        if c.contains(field) {
            return field.to_owned();
        }
    }
    "body".to_owned()
}

/// What may be logged about an internal error: for database errors the code,
/// message and constraint, never PostgreSQL's `DETAIL`, which can quote row
/// values (patient names included).
fn loggable(err: &anyhow::Error) -> String {
    match err.downcast_ref::<sqlx::Error>() {
        Some(sqlx::Error::Database(db)) => format!(
            "database error {}: {} (constraint {})",
            db.code().as_deref().unwrap_or("?"),
            db.message(),
            db.constraint().unwrap_or("-")
        ),
        _ => format!("{err:#}"),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let m = crate::metrics::metrics();
        match &self {
            Self::Internal(err) => tracing::error!(error = %loggable(err), "internal error"),
            Self::Unavailable(why) => tracing::warn!(reason = %why, "unavailable"),
            Self::RateLimited => m.rate_limit_refusals.inc(),
            Self::BadCredentials => m.login_failures.with_label_values(&["password"]).inc(),
            Self::Badge(_) => m.login_failures.with_label_values(&["badge"]).inc(),
            Self::BadgePinWrong { .. } => m.login_failures.with_label_values(&["pin"]).inc(),
            Self::VisitorCodeInvalid => m.login_failures.with_label_values(&["visitor_code"]).inc(),
            _ => {}
        }
        let mut response = (self.status(), Json(self.body())).into_response();
        let retry_after = match self {
            Self::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER),
            Self::RateLimited => Some(RATE_LIMITED_RETRY_AFTER),
            Self::LoginThrottled { retry_after_secs } => Some(retry_after_secs.max(1)),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_codes_agree() {
        let cases = [
            (ApiError::field("npi", "bad"), 422, "VALIDATION_FAILED"),
            (ApiError::Malformed("x".into()), 400, "MALFORMED_REQUEST"),
            (ApiError::PayloadTooLarge, 413, "PAYLOAD_TOO_LARGE"),
            (ApiError::NotFound, 404, "NOT_FOUND"),
            (
                unique_violation(Some("devices_device_uuid_key")),
                409,
                "CONFLICT",
            ),
            (ApiError::Unauthorized, 401, "UNAUTHORIZED"),
            (ApiError::Forbidden, 403, "FORBIDDEN"),
            (
                ApiError::Device(ErrorCode::DeviceDeactivated),
                401,
                "DEVICE_DEACTIVATED",
            ),
            (
                ApiError::Enrollment(ErrorCode::EnrollmentCodeExpired),
                403,
                "ENROLLMENT_CODE_EXPIRED",
            ),
            (ApiError::CloneConflict, 409, "DEVICE_CLONE_CONFLICT"),
            (
                ApiError::Device(ErrorCode::FacilityClosed),
                403,
                "FACILITY_CLOSED",
            ),
            (
                ApiError::Device(ErrorCode::OrganizationClosed),
                403,
                "ORGANIZATION_CLOSED",
            ),
            (ApiError::RateLimited, 429, "RATE_LIMITED"),
            (
                ApiError::LoginThrottled {
                    retry_after_secs: 90,
                },
                429,
                "RATE_LIMITED",
            ),
            (ApiError::ForbiddenBecause("no"), 403, "FORBIDDEN"),
            (ApiError::VisitorCodeInvalid, 401, "VISITOR_CODE_INVALID"),
            (ApiError::FeatureDisabled("family portal"), 403, "FORBIDDEN"),
            (ApiError::UnsupportedVersion, 426, "UNSUPPORTED_VERSION"),
            (ApiError::parameter("cursor", "x"), 400, "VALIDATION_FAILED"),
            (
                ApiError::Badge(ErrorCode::BadgeUnknown),
                401,
                "BADGE_UNKNOWN",
            ),
            (ApiError::Badge(ErrorCode::BadgeLocked), 403, "BADGE_LOCKED"),
            (
                ApiError::Badge(ErrorCode::BadgeDeviceNotAllowed),
                403,
                "BADGE_DEVICE_NOT_ALLOWED",
            ),
            (
                ApiError::BadgePinWrong { attempts_left: 2 },
                401,
                "BADGE_PIN_WRONG",
            ),
            (
                ApiError::BadgePinRequired(tend_domain::badge_login::PinReason::ReauthDue),
                401,
                "BADGE_PIN_REQUIRED",
            ),
            (
                ApiError::internal(anyhow::anyhow!("secret detail")),
                500,
                "INTERNAL",
            ),
            (ApiError::Unavailable("x".into()), 503, "UNAVAILABLE"),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status().as_u16(), status);
            let body = serde_json::to_value(err.body()).unwrap();
            assert_eq!(body["error"]["code"], code);
            assert!(body["error"]["fields"].is_object());
            assert!(!body.to_string().contains("secret detail"));
        }
    }

    #[test]
    fn a_database_that_cannot_serve_now_is_unavailable_not_internal() {
        for code in [
            "08000", "08006", "08P01", "57P01", "57P02", "57P03", "53300",
        ] {
            assert!(unavailable_sqlstate(code), "{code}");
        }
        // The request's own fault, or a bug: not a reason to retry.
        for code in [
            "23505", "42501", "22001", "57014", "40001", "XX000", "TD401",
        ] {
            assert!(!unavailable_sqlstate(code), "{code}");
        }
    }
}
