//! Errors of the device core. Each variant maps to one stable [`ErrorCode`]
//! so the webview can branch on it; the message is written for a person.

use std::collections::BTreeMap;

use tend_domain::{ErrorCode, ValidationError};

pub type Result<T, E = CoreError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A command-line flag, environment variable or config file is invalid.
    #[error("{0}")]
    Config(String),
    /// Input written on the device failed domain rules (a record with an
    /// implausible vital sign); `fields` names each problem.
    #[error("{message}")]
    Invalid {
        message: String,
        fields: BTreeMap<String, Vec<String>>,
    },
    /// The data directory (or a file in it) cannot be created or written.
    #[error("cannot use {path}: {reason}")]
    Storage { path: String, reason: String },
    /// An input failed a domain rule.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// Another Tend process already uses this data directory.
    #[error("Tend is already running for {data_dir}{}; close it first or use another --data-dir", pid.map(|p| format!(" (process {p})")).unwrap_or_default())]
    AlreadyRunning { data_dir: String, pid: Option<u32> },
    /// The device database does not open with the key from the secret store
    /// (another key, a damaged file, or not a database at all).
    #[error("the device database {path} does not open with its key (wrong key or damaged file)")]
    VaultKeyRejected { path: String },
    /// The device database exists but its key is not in the secret store.
    #[error("the key of the device database {path} is not in the {backend} secret store")]
    VaultKeyMissing { path: String, backend: String },
    /// The device database was written by a newer Tend; it is never downgraded.
    #[error("the device database has schema version {found}, newer than this app knows ({known}); update Tend")]
    SchemaTooNew { found: u32, known: u32 },
    /// A schema migration failed; its transaction was rolled back, so the
    /// database stays at the previous version.
    #[error("device database migration {version} ({name}) failed: {reason}")]
    Migration {
        version: u32,
        name: String,
        reason: String,
    },
    /// SQLite/SQLCipher reported an error on the device database.
    #[error("device database error: {0}")]
    Database(String),
    /// The secret store holding the database key cannot be used.
    #[error("the {backend} secret store is unavailable: {reason}")]
    SecretStore { backend: String, reason: String },
    /// The `encryption_required` policy forbids what was asked.
    #[error("{0}; the encryption_required policy forbids storing data unencrypted")]
    EncryptionRequired(String),
    /// The database key is bound to the server and the server's part is not
    /// in memory (after a reboot, before the network is back).
    #[error("the device database is locked until the server can be reached (waiting for network to unlock)")]
    WaitingForNetwork,
    /// The central API cannot be reached (refused, timed out, cut off).
    #[error("{0}")]
    Offline(String),
    /// The central API refused the request; `code` is the API's own code
    /// (`ENROLLMENT_CODE_EXPIRED`, `DEVICE_PENDING`, …), passed on unchanged.
    #[error("{message}")]
    Api { code: ErrorCode, message: String },
    /// Like [`CoreError::Api`], naming the fields the API refused (a 422,
    /// or a 409 for a value that is taken), so a form can mark each one.
    #[error("{message}")]
    ApiFields {
        code: ErrorCode,
        message: String,
        fields: BTreeMap<String, Vec<String>>,
    },
    /// The server ended this device's enrollment (`DEVICE_DEACTIVATED`,
    /// `DEVICE_REJECTED`) with a signed order; the device wipes itself only
    /// once the order verifies against the key it pinned (see
    /// [`crate::enrollment::orders`]).
    #[error("{message}")]
    DeviceOrdered {
        code: ErrorCode,
        message: String,
        order: Box<tend_domain::wire::DeviceOrder>,
    },
    /// The API refused a badge login's PIN (`BADGE_PIN_WRONG`) and said how
    /// many wrong PINs remain before the badge locks.
    #[error("{message}")]
    BadgePinWrong { message: String, attempts_left: u32 },
    /// Resident or clinical data was asked for without a completely
    /// signed-in user (locked, PIN pending, a family visit, nobody); the
    /// message says what to do.
    #[error("{0}")]
    NotSignedIn(String),
}

impl CoreError {
    pub fn code(&self) -> ErrorCode {
        match self {
            CoreError::Config(_) => ErrorCode::ConfigInvalid,
            CoreError::Storage { .. } | CoreError::AlreadyRunning { .. } => {
                ErrorCode::StorageUnavailable
            }
            CoreError::Validation(_) | CoreError::Invalid { .. } => ErrorCode::ValidationFailed,
            CoreError::VaultKeyRejected { .. }
            | CoreError::VaultKeyMissing { .. }
            | CoreError::Migration { .. }
            | CoreError::Database(_)
            | CoreError::EncryptionRequired(_) => ErrorCode::StorageUnavailable,
            CoreError::SchemaTooNew { .. } => ErrorCode::UnsupportedVersion,
            CoreError::SecretStore { .. } => ErrorCode::Unavailable,
            CoreError::WaitingForNetwork | CoreError::Offline(_) => ErrorCode::Offline,
            CoreError::Api { code, .. }
            | CoreError::ApiFields { code, .. }
            | CoreError::DeviceOrdered { code, .. } => *code,
            CoreError::BadgePinWrong { .. } => ErrorCode::BadgePinWrong,
            CoreError::NotSignedIn(_) => ErrorCode::NotSignedIn,
        }
    }

    /// Per-field messages, by field name (empty when the error is not about
    /// particular fields).
    pub fn fields(&self) -> BTreeMap<String, Vec<String>> {
        match self {
            CoreError::ApiFields { fields, .. } | CoreError::Invalid { fields, .. } => {
                fields.clone()
            }
            CoreError::Validation(e) => {
                BTreeMap::from([(e.field.to_owned(), vec![e.message.clone()])])
            }
            _ => BTreeMap::new(),
        }
    }

    /// One field's problem, worded for the person who typed it.
    pub(crate) fn invalid(field: &str, message: &str) -> Self {
        CoreError::Invalid {
            message: format!("{field}: {message}"),
            fields: BTreeMap::from([(field.to_owned(), vec![message.to_owned()])]),
        }
    }

    /// The signed order that came with this refusal, if any.
    pub fn device_order(&self) -> Option<&tend_domain::wire::DeviceOrder> {
        match self {
            CoreError::DeviceOrdered { order, .. } => Some(order),
            _ => None,
        }
    }

    pub(crate) fn storage(path: &std::path::Path, reason: impl std::fmt::Display) -> Self {
        CoreError::Storage {
            path: path.display().to_string(),
            reason: reason.to_string(),
        }
    }
}

/// The API codes by which the server refuses the device because its facility
/// or organization is closed in Tend: not an end of the enrollment (nothing
/// is wiped); the device waits and says so.
pub fn closes_facility(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::FacilityClosed | ErrorCode::OrganizationClosed
    )
}

/// The API codes by which the server says this device's enrollment is over:
/// the device must wipe itself and enroll again.
pub fn ends_enrollment(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::DeviceDeactivated | ErrorCode::DeviceRejected | ErrorCode::DeviceUnknown
    )
}
