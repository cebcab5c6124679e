//! The error body every API failure returns.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ErrorCode;

/// `{"error": {"code", "message", "fields"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// Stable machine-readable code; branch on this, never on `message`.
    pub code: ErrorCode,
    /// A sentence for people.
    pub message: String,
    /// Per-field messages for `VALIDATION_FAILED`; empty otherwise.
    #[serde(default)]
    pub fields: BTreeMap<String, Vec<String>>,
    /// For `BADGE_PIN_WRONG`: wrong PINs still allowed before the badge locks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
    /// For `CONFLICT` on a patient update with a stale `version`: the patient
    /// as the server has it now, so the app can show both values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<Box<super::Patient>>,
    /// For `DEVICE_DEACTIVATED` / `DEVICE_REJECTED` from the device-token
    /// endpoint: the server's signed order. A device wipes itself only on a
    /// verified one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Box<super::DeviceOrder>>,
    /// For `VALIDATION_FAILED` from an import: every problem of the files,
    /// by file, line and column (nothing was written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_problems: Option<Vec<super::ImportProblem>>,
}

/// Liveness and readiness answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthStatus {
    /// `ok`, or what is not ready.
    pub status: String,
}
