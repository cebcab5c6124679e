//! Error vocabulary shared by every boundary: a closed set of stable codes that
//! the UI and API clients branch on, and the validation error the parsers return.

use serde::{Deserialize, Serialize};

/// A stable, machine-readable error code. It crosses IPC (app ↔ webview) and
/// HTTP (API ↔ device) unchanged; clients branch on it, never on message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ErrorCode {
    /// Input failed validation; `fields` says which and why.
    ValidationFailed,
    /// The request body was not valid JSON or had the wrong shape.
    MalformedRequest,
    /// The request body exceeded the size limit.
    PayloadTooLarge,
    /// No such resource in the caller's scope (also used for other tenants' resources).
    NotFound,
    /// The write conflicts with existing state (duplicate key, stale version).
    Conflict,
    /// No valid credentials were presented.
    Unauthorized,
    /// Credentials are valid but the action is not allowed for this role.
    Forbidden,
    /// Too many attempts; retry later.
    RateLimited,
    /// The client's protocol or schema version cannot be served; update the app.
    UnsupportedVersion,
    /// The central API cannot be reached.
    Offline,
    /// The app's configuration file or flags are invalid.
    ConfigInvalid,
    /// The local data directory or database cannot be used.
    StorageUnavailable,
    /// A dependency (database, keyring) is unavailable right now.
    Unavailable,
    /// An unexpected failure; details are in the log, not in the message.
    Internal,
}

impl ErrorCode {
    /// The code as it appears on the wire (`"NOT_FOUND"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ValidationFailed => "VALIDATION_FAILED",
            Self::MalformedRequest => "MALFORMED_REQUEST",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::NotFound => "NOT_FOUND",
            Self::Conflict => "CONFLICT",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::Forbidden => "FORBIDDEN",
            Self::RateLimited => "RATE_LIMITED",
            Self::UnsupportedVersion => "UNSUPPORTED_VERSION",
            Self::Offline => "OFFLINE",
            Self::ConfigInvalid => "CONFIG_INVALID",
            Self::StorageUnavailable => "STORAGE_UNAVAILABLE",
            Self::Unavailable => "UNAVAILABLE",
            Self::Internal => "INTERNAL",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value failed a domain rule. `field` names the input (the wire field name
/// when known), `message` says what is wrong in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: &'static str,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_their_wire_names() {
        for code in [
            ErrorCode::ValidationFailed,
            ErrorCode::NotFound,
            ErrorCode::PayloadTooLarge,
            ErrorCode::UnsupportedVersion,
            ErrorCode::StorageUnavailable,
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: ErrorCode = serde_json::from_str(&json).unwrap();
            assert_eq!(back, code);
        }
    }
}
