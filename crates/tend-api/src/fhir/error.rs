//! FHIR's errors: every refusal is an `OperationOutcome` (the same statuses
//! as the rest of the API, FHIR's issue codes, the offending parameter in
//! `expression`).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::error::ApiError;

pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

#[derive(Debug, thiserror::Error)]
pub enum FhirError {
    /// Anything the rest of the API would refuse (auth, scope, storage).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// A search parameter or operation argument that cannot be used (400).
    #[error("{message}")]
    Invalid { parameter: String, message: String },
    /// A resource type Tend does not serve (404).
    #[error("this server does not serve {0} resources")]
    UnknownType(String),
    /// An interaction Tend does not support on this type (405).
    #[error("{0}")]
    NotSupported(String),
    /// The client accepts only a format Tend does not produce (406).
    #[error("this server answers in application/fhir+json only")]
    NotAcceptable,
    /// A `$export` without `Prefer: respond-async`, or asking for what bulk
    /// data export does not provide (400).
    #[error("{0}")]
    Export(String),
    /// The export job is gone or expired (404).
    #[error("no such export (it may have expired or been cancelled)")]
    ExportGone,
}

/// Storage errors take the API's mapping (503 when the database is away, …).
impl From<sqlx::Error> for FhirError {
    fn from(e: sqlx::Error) -> Self {
        Self::Api(e.into())
    }
}

impl FhirError {
    pub fn invalid(parameter: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            parameter: parameter.to_owned(),
            message: message.into(),
        }
    }

    pub fn not_found() -> Self {
        Self::Api(ApiError::NotFound)
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::Api(e) => e.status(),
            Self::Invalid { .. } | Self::Export(_) => StatusCode::BAD_REQUEST,
            Self::UnknownType(_) | Self::ExportGone => StatusCode::NOT_FOUND,
            Self::NotSupported(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
        }
    }

    /// FHIR's issue type for the status.
    fn issue_code(&self) -> &'static str {
        match self.status().as_u16() {
            401 => "login",
            403 => "forbidden",
            404 => "not-found",
            405 | 406 => "not-supported",
            408 => "timeout",
            409 => "conflict",
            413 => "too-costly",
            429 => "throttled",
            503 => "transient",
            s if s >= 500 => "exception",
            _ => "invalid",
        }
    }

    /// The issues: one per field a validation named, else one.
    fn issues(&self) -> Vec<Value> {
        let code = self.issue_code();
        let text = self.to_string();
        match self {
            Self::Invalid { parameter, message } if !parameter.is_empty() => vec![json!({
                "severity": "error",
                "code": code,
                "details": { "text": format!("{parameter}: {message}") },
                "expression": [parameter],
            })],
            Self::Api(ApiError::Validation(fields) | ApiError::InvalidParameter(fields))
                if !fields.is_empty() =>
            {
                fields
                    .iter()
                    .flat_map(|(field, messages)| {
                        messages.iter().map(move |m| {
                            json!({
                                "severity": "error",
                                "code": code,
                                "details": { "text": format!("{field}: {m}") },
                                "expression": [field],
                            })
                        })
                    })
                    .collect()
            }
            _ => vec![json!({ "severity": "error", "code": code, "details": { "text": text } })],
        }
    }
}

/// A FHIR JSON response.
pub fn fhir_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    response
}

impl IntoResponse for FhirError {
    fn into_response(self) -> Response {
        let outcome = json!({ "resourceType": "OperationOutcome", "issue": self.issues() });
        let status = self.status();
        match self {
            // The API's own rendering logs, counts and sets Retry-After; keep
            // its headers and replace the body.
            Self::Api(e) => {
                let original = e.into_response();
                let mut response = fhir_response(status, &outcome);
                for name in [header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
                    if let Some(v) = original.headers().get(&name) {
                        response.headers_mut().insert(name, v.clone());
                    }
                }
                response
            }
            _ => fhir_response(status, &outcome),
        }
    }
}

pub type FhirResult<T> = Result<T, FhirError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_validation_names_each_field() {
        let e = FhirError::from(ApiError::field("reason", "too short"));
        let issues = e.issues();
        assert_eq!(issues[0]["expression"][0], "reason");
        assert_eq!(issues[0]["code"], "invalid");
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[test]
    fn statuses_map_to_issue_codes() {
        assert_eq!(
            FhirError::from(ApiError::Unauthorized).issue_code(),
            "login"
        );
        assert_eq!(
            FhirError::from(ApiError::Forbidden).issue_code(),
            "forbidden"
        );
        assert_eq!(FhirError::not_found().issue_code(), "not-found");
        assert_eq!(
            FhirError::UnknownType("Claim".into()).issue_code(),
            "not-found"
        );
        assert_eq!(FhirError::NotAcceptable.issue_code(), "not-supported");
        let invalid = FhirError::invalid("_count", "bad");
        assert_eq!(invalid.issues()[0]["expression"][0], "_count");
    }
}
