//! Errors of the device core. Each variant maps to one stable [`ErrorCode`]
//! so the webview can branch on it; the message is written for a person.

use tend_domain::{ErrorCode, ValidationError};

pub type Result<T, E = CoreError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A command-line flag, environment variable or config file is invalid.
    #[error("{0}")]
    Config(String),
    /// The data directory (or a file in it) cannot be created or written.
    #[error("cannot use {path}: {reason}")]
    Storage { path: String, reason: String },
    /// An input failed a domain rule.
    #[error(transparent)]
    Validation(#[from] ValidationError),
}

impl CoreError {
    pub fn code(&self) -> ErrorCode {
        match self {
            CoreError::Config(_) => ErrorCode::ConfigInvalid,
            CoreError::Storage { .. } => ErrorCode::StorageUnavailable,
            CoreError::Validation(_) => ErrorCode::ValidationFailed,
        }
    }

    pub(crate) fn storage(path: &std::path::Path, reason: impl std::fmt::Display) -> Self {
        CoreError::Storage {
            path: path.display().to_string(),
            reason: reason.to_string(),
        }
    }
}
