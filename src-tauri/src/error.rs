//! The one error type that crosses IPC: `{code, message}`, where `code` is the
//! closed `ErrorCode` enum exported to TypeScript.

use std::collections::BTreeMap;

use serde::Serialize;
use tend_core::CoreError;
use tend_domain::{ErrorCode, ValidationError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    /// Per-field messages for a form (`VALIDATION_FAILED`, a value already
    /// taken), by field name; absent otherwise.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[specta(optional)]
    pub fields: BTreeMap<String, Vec<String>>,
}

impl From<CoreError> for AppError {
    fn from(e: CoreError) -> Self {
        Self {
            code: e.code(),
            message: e.to_string(),
            fields: e.fields(),
        }
    }
}

impl From<ValidationError> for AppError {
    fn from(e: ValidationError) -> Self {
        Self {
            code: ErrorCode::ValidationFailed,
            fields: BTreeMap::from([(e.field.to_owned(), vec![e.message.clone()])]),
            message: e.message,
        }
    }
}
