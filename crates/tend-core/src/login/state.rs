//! What the lock screen shows: the phase, whose session it is and the last
//! failure. Never a token or a badge value.

use serde::Serialize;
use tend_domain::{ErrorCode, Language, Role};

/// The signed-in user as the lock screen and home screen show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SessionUser {
    /// The user's id (far below 2^53, so a TypeScript number holds it).
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub id: i64,
    pub full_name: String,
    pub username: String,
    pub role: Role,
    /// Their own language, which the screens follow while they are signed
    /// in: from the server's login answer, or offline from the device's copy
    /// of the facility's staff. Null: none (the device's language).
    pub language: Option<Language>,
}

/// Why the last attempt failed, for the lock screen (`BADGE_UNKNOWN`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LoginFailure {
    pub code: ErrorCode,
    pub message: String,
}

/// Where the lock screen stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum SessionPhase {
    /// Nobody is signed in: "Tap your badge".
    SignedOut,
    /// A badge (or password) is being checked with the server.
    Verifying,
    /// The badge was recognized and the policy asks for the PIN.
    /// `attempts_left` is known after a wrong PIN.
    PinRequired { attempts_left: Option<u32> },
    /// A user is signed in. `idle_warning`: the screen locks soon.
    Active { idle_warning: bool },
    /// The user's session is kept for them; their own tap unlocks it.
    Locked,
}

/// What the UI shows: the phase, whose session it is, and the last failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SessionState {
    #[serde(flatten)]
    pub phase: SessionPhase,
    /// The signed-in (or locked-out) user.
    pub user: Option<SessionUser>,
    pub failure: Option<LoginFailure>,
    /// Idle milliseconds after which an active session locks.
    pub idle_lock_ms: u32,
    /// The session was opened offline (verified on this device while the
    /// server could not be reached): the UI keeps an "offline" banner up.
    pub offline: bool,
}
