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
    /// Nobody is signed in on this device (locked screen, PIN pending, family
    /// session): clinical data is shown only after a complete badge or password login.
    NotSignedIn,
    /// Credentials are valid but the action is not allowed for this role.
    Forbidden,
    /// Too many attempts; retry later.
    RateLimited,
    /// The enrollment code does not exist (mistyped, or never issued).
    EnrollmentCodeInvalid,
    /// The enrollment code is past its expiry; ask the administrator for a new one.
    EnrollmentCodeExpired,
    /// The enrollment code was revoked by an administrator.
    EnrollmentCodeRevoked,
    /// The enrollment code has been used as many times as it allows.
    EnrollmentCodeExhausted,
    /// No enrollment code was given and no administrator pre-registered this device.
    EnrollmentCodeRequired,
    /// This device_uuid is enrolled with a different key (a cloned disk image?); an administrator must resolve it.
    DeviceCloneConflict,
    /// The device is unknown to the server (or has not enrolled a key); enroll first.
    DeviceUnknown,
    /// The device is enrolled but waits for an administrator's approval.
    DevicePending,
    /// An administrator rejected this device's enrollment.
    DeviceRejected,
    /// The device was deactivated: lock and crypto-shred the local vault (remote wipe).
    DeviceDeactivated,
    /// The device's facility is closed in Tend (`is_active` false): the
    /// device is refused, keeps its data and waits; an administrator reopens
    /// the facility or moves the device to another one.
    FacilityClosed,
    /// The device's organization is closed in Tend: as [`ErrorCode::FacilityClosed`].
    OrganizationClosed,
    /// No active badge with this value in the device's organization.
    BadgeUnknown,
    /// The badge was revoked (lost or replaced); use another badge or the password.
    BadgeRevoked,
    /// The facility's policy asks for the PIN with this badge now (no badge+PIN
    /// login within the grace period, or the periodic re-authentication is due).
    BadgePinRequired,
    /// A PIN is needed but the user has not set one; log in with the password and set it.
    BadgePinNotSet,
    /// The PIN is wrong; `attempts_left` says how many tries remain before the badge locks.
    BadgePinWrong,
    /// Too many wrong PINs: the badge is locked for a while (the password still works).
    BadgeLocked,
    /// This device may not log this user in (another facility, and not an organization admin).
    BadgeDeviceNotAllowed,
    /// The visitor code is not valid at this facility (mistyped, expired or
    /// revoked); the family member should check it with the staff.
    VisitorCodeInvalid,
    /// A pushed record names an author who had no session on the pushing
    /// device at the record's time (no online badge or password login there,
    /// no offline login it reported): refused as forged, for good.
    ForgedAuthor,
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
            Self::NotSignedIn => "NOT_SIGNED_IN",
            Self::Forbidden => "FORBIDDEN",
            Self::RateLimited => "RATE_LIMITED",
            Self::EnrollmentCodeInvalid => "ENROLLMENT_CODE_INVALID",
            Self::EnrollmentCodeExpired => "ENROLLMENT_CODE_EXPIRED",
            Self::EnrollmentCodeRevoked => "ENROLLMENT_CODE_REVOKED",
            Self::EnrollmentCodeExhausted => "ENROLLMENT_CODE_EXHAUSTED",
            Self::EnrollmentCodeRequired => "ENROLLMENT_CODE_REQUIRED",
            Self::DeviceCloneConflict => "DEVICE_CLONE_CONFLICT",
            Self::DeviceUnknown => "DEVICE_UNKNOWN",
            Self::DevicePending => "DEVICE_PENDING",
            Self::DeviceRejected => "DEVICE_REJECTED",
            Self::DeviceDeactivated => "DEVICE_DEACTIVATED",
            Self::FacilityClosed => "FACILITY_CLOSED",
            Self::OrganizationClosed => "ORGANIZATION_CLOSED",
            Self::BadgeUnknown => "BADGE_UNKNOWN",
            Self::BadgeRevoked => "BADGE_REVOKED",
            Self::BadgePinRequired => "BADGE_PIN_REQUIRED",
            Self::BadgePinNotSet => "BADGE_PIN_NOT_SET",
            Self::BadgePinWrong => "BADGE_PIN_WRONG",
            Self::BadgeLocked => "BADGE_LOCKED",
            Self::BadgeDeviceNotAllowed => "BADGE_DEVICE_NOT_ALLOWED",
            Self::VisitorCodeInvalid => "VISITOR_CODE_INVALID",
            Self::ForgedAuthor => "FORGED_AUTHOR",
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
            ErrorCode::EnrollmentCodeExhausted,
            ErrorCode::DeviceCloneConflict,
            ErrorCode::DeviceDeactivated,
            ErrorCode::FacilityClosed,
            ErrorCode::OrganizationClosed,
            ErrorCode::BadgePinRequired,
            ErrorCode::BadgeDeviceNotAllowed,
            ErrorCode::VisitorCodeInvalid,
            ErrorCode::ForgedAuthor,
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: ErrorCode = serde_json::from_str(&json).unwrap();
            assert_eq!(back, code);
        }
    }
}
