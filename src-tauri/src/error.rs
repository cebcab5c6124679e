//! The one error type that crosses IPC: `{code, message}`, where `code` is the
//! closed `ErrorCode` enum exported to TypeScript.

use serde::Serialize;
use tend_core::CoreError;
use tend_domain::{ErrorCode, ValidationError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
}

impl From<CoreError> for AppError {
    fn from(e: CoreError) -> Self {
        Self {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

impl From<ValidationError> for AppError {
    fn from(e: ValidationError) -> Self {
        Self {
            code: ErrorCode::ValidationFailed,
            message: e.message,
        }
    }
}
