//! The crate's error type. Messages never contain a badge value.

use tend_domain::{ErrorCode, ValidationError};

/// Everything that can go wrong in a badge source.
#[derive(Debug, thiserror::Error)]
pub enum BadgeError {
    /// A badge value failed validation (wrong length, not hex, missing prefix…).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The source has not been started, or has been stopped.
    #[error("the badge source is not running")]
    NotRunning,
    /// `start` was called on a source that is already running.
    #[error("the badge source is already running")]
    AlreadyRunning,
    /// The reader thread could not be spawned.
    #[error("could not start the badge reader thread: {0}")]
    Thread(#[from] std::io::Error),
}

impl BadgeError {
    /// The stable code this error crosses IPC with.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Invalid(_) => ErrorCode::ValidationFailed,
            Self::NotRunning => ErrorCode::Unavailable,
            Self::AlreadyRunning => ErrorCode::Conflict,
            Self::Thread(_) => ErrorCode::Internal,
        }
    }
}

/// Result with [`BadgeError`].
pub type Result<T, E = BadgeError> = std::result::Result<T, E>;
