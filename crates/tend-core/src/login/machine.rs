//! The rules of the lock screen, without I/O: taps, PINs, the password
//! fallback, tap-out, idle lock and expiry, with the time passed in.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tend_badge::{BadgeUid, Debouncer, DEFAULT_DEBOUNCE};
use tend_domain::wire::{LoginResponse, Secret};
use tend_domain::ErrorCode;

use super::state::{LoginFailure, SessionPhase, SessionState, SessionUser};
use crate::{CoreError, Result};

/// How long before the idle lock the warning shows.
pub const IDLE_WARNING: Duration = Duration::from_secs(15);

pub use crate::config::default_idle_lock;

/// Timing of the lock screen.
#[derive(Debug, Clone, Copy)]
pub struct LoginSettings {
    /// Idle time after which an active session locks.
    pub idle_lock: Duration,
    /// Same-badge taps closer than this count once.
    pub debounce: Duration,
}

impl LoginSettings {
    pub fn new(idle_lock: Duration) -> Self {
        Self {
            idle_lock,
            debounce: DEFAULT_DEBOUNCE,
        }
    }

    /// The configured idle lock and debounce.
    pub fn from_config(config: &crate::config::AppConfig) -> Self {
        Self {
            idle_lock: config.idle_lock,
            debounce: config.badge_debounce,
        }
    }

    /// The warning starts [`IDLE_WARNING`] before the lock, or halfway
    /// through a shorter idle time (tests).
    pub(crate) fn warning_after(&self) -> Duration {
        self.idle_lock
            .checked_sub(IDLE_WARNING)
            .unwrap_or(self.idle_lock / 2)
    }
}

/// The user's bearer token; never printed.
#[derive(Clone)]
struct UserToken(String);

impl std::fmt::Debug for UserToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserToken(<redacted>)")
    }
}

#[derive(Debug)]
struct SignedIn {
    user: SessionUser,
    token: UserToken,
    expires_at: DateTime<Utc>,
    /// The badge that signed in (tap-out compares with it); `None` after a
    /// password login.
    badge: Option<BadgeUid>,
    locked: bool,
}

/// A badge the server recognized and that awaits its PIN.
#[derive(Debug)]
struct PendingPin {
    badge: BadgeUid,
    attempts_left: Option<u32>,
}

/// The credentials of one request to the server.
#[derive(Debug)]
pub enum Credentials {
    Badge {
        badge: BadgeUid,
        pin: Option<Secret>,
    },
    Password {
        username: String,
        password: Secret,
    },
}

/// What the host must do after a tap.
#[derive(Debug)]
pub enum TapOutcome {
    /// Nothing (a repeated tap within the debounce window).
    Ignored,
    /// The state changed without the server (tap-out locked the session).
    Changed,
    /// Ask the server with these credentials, then call
    /// [`LoginMachine::answer`].
    AskServer(Credentials),
}

/// The rules of the lock screen, without I/O.
#[derive(Debug)]
pub struct LoginMachine {
    settings: LoginSettings,
    signed_in: Option<SignedIn>,
    pending: Option<PendingPin>,
    verifying: bool,
    failure: Option<LoginFailure>,
    last_activity: Instant,
    debouncer: Debouncer,
}

impl LoginMachine {
    pub fn new(settings: LoginSettings, now: Instant) -> Self {
        Self {
            settings,
            signed_in: None,
            pending: None,
            verifying: false,
            failure: None,
            last_activity: now,
            debouncer: Debouncer::new(settings.debounce),
        }
    }

    /// The idle lock from now on (the facility's policy changed). Measured
    /// from the last activity as before: a session already idle longer locks
    /// at the next tick.
    pub fn set_idle_lock(&mut self, idle_lock: Duration) {
        self.settings.idle_lock = idle_lock;
    }

    /// The idle lock in force.
    pub fn idle_lock(&self) -> Duration {
        self.settings.idle_lock
    }

    /// What the UI shows at `now`.
    pub fn state(&self, now: Instant) -> SessionState {
        let phase = if self.verifying {
            SessionPhase::Verifying
        } else if let Some(pending) = &self.pending {
            SessionPhase::PinRequired {
                attempts_left: pending.attempts_left,
            }
        } else {
            match &self.signed_in {
                None => SessionPhase::SignedOut,
                Some(s) if s.locked => SessionPhase::Locked,
                Some(_) => SessionPhase::Active {
                    idle_warning: now.saturating_duration_since(self.last_activity)
                        >= self.settings.warning_after(),
                },
            }
        };
        SessionState {
            phase,
            user: self.signed_in.as_ref().map(|s| s.user.clone()),
            failure: self.failure.clone(),
            idle_lock_ms: u32::try_from(self.settings.idle_lock.as_millis()).unwrap_or(u32::MAX),
            offline: self
                .signed_in
                .as_ref()
                .is_some_and(|s| s.token.0 == crate::login::offline::OFFLINE_SESSION_TOKEN),
        }
    }

    /// A badge was presented.
    pub fn tap(&mut self, badge: BadgeUid, now: Instant) -> TapOutcome {
        if self.verifying || !self.debouncer.accept(&badge, now) {
            return TapOutcome::Ignored;
        }
        if let Some(signed_in) = &mut self.signed_in {
            if !signed_in.locked && signed_in.badge.as_ref() == Some(&badge) {
                tracing::info!(user_id = signed_in.user.id, "tap-out: session locked");
                signed_in.locked = true;
                self.failure = None;
                return TapOutcome::Changed;
            }
        }
        self.begin();
        TapOutcome::AskServer(Credentials::Badge { badge, pin: None })
    }

    /// The PIN typed for the pending badge; `None` when no PIN was asked for.
    pub fn submit_pin(&mut self, pin: Secret) -> Option<Credentials> {
        if self.verifying {
            return None;
        }
        let badge = self.pending.as_ref()?.badge.clone();
        self.begin();
        Some(Credentials::Badge {
            badge,
            pin: Some(pin),
        })
    }

    /// The password fallback.
    pub fn password(&mut self, username: String, password: Secret) -> Option<Credentials> {
        if self.verifying {
            return None;
        }
        self.pending = None;
        self.begin();
        Some(Credentials::Password { username, password })
    }

    fn begin(&mut self) {
        self.verifying = true;
        self.failure = None;
    }

    /// The server's answer to `credentials`.
    pub fn answer(
        &mut self,
        credentials: Credentials,
        answer: Result<LoginResponse>,
        now: Instant,
    ) {
        self.verifying = false;
        let badge = match credentials {
            Credentials::Badge { badge, .. } => Some(badge),
            Credentials::Password { .. } => None,
        };
        match answer {
            Ok(session) => {
                if let Some(previous) = &self.signed_in {
                    if previous.user.id == session.user.id {
                        tracing::info!(user_id = previous.user.id, "session unlocked");
                    } else {
                        // A different user: the previous session ends
                        // before the new one starts; nothing of it is kept.
                        tracing::info!(user_id = previous.user.id, "logged out by another user");
                    }
                }
                tracing::info!(user_id = session.user.id, "signed in");
                self.pending = None;
                self.failure = None;
                self.last_activity = now;
                self.signed_in = Some(SignedIn {
                    user: SessionUser {
                        id: session.user.id,
                        full_name: session.user.full_name,
                        username: session.user.username,
                        role: session.user.role,
                        language: session.user.preferred_language,
                    },
                    token: UserToken(session.token),
                    expires_at: session.expires_at,
                    badge,
                    locked: false,
                });
            }
            Err(e) => {
                let code = e.code();
                tracing::info!(code = %code, "login refused");
                match (&e, badge) {
                    (_, Some(badge)) if code == ErrorCode::BadgePinRequired => {
                        self.pending = Some(PendingPin {
                            badge,
                            attempts_left: None,
                        });
                        // Asking for the PIN is not a failure to show.
                        return;
                    }
                    (CoreError::BadgePinWrong { attempts_left, .. }, Some(badge)) => {
                        self.pending = Some(PendingPin {
                            badge,
                            attempts_left: Some(*attempts_left),
                        });
                    }
                    _ => {
                        self.pending = None;
                        // The same badge may be tried again at once.
                        self.debouncer.reset();
                    }
                }
                self.failure = Some(LoginFailure {
                    code,
                    message: e.to_string(),
                });
            }
        }
    }

    /// The signed-in user `user_id` chose their language: the session shows
    /// it at once. False when they are no longer signed in.
    pub fn set_language(&mut self, user_id: i64, language: Option<tend_domain::Language>) -> bool {
        match &mut self.signed_in {
            Some(s) if s.user.id == user_id => {
                s.user.language = language;
                true
            }
            _ => false,
        }
    }

    /// A card that cannot serve as a badge was presented.
    pub fn unsupported_card(&mut self) {
        self.failure = Some(LoginFailure {
            code: ErrorCode::ValidationFailed,
            message: "this card cannot be used as a badge; use your staff badge".to_owned(),
        });
    }

    /// Leaves the PIN pad without signing in.
    pub fn cancel_pin(&mut self) {
        self.pending = None;
        self.failure = None;
        self.debouncer.reset();
    }

    /// Locks an active session now (the Lock button). `false` if there was none.
    pub fn lock(&mut self) -> bool {
        match &mut self.signed_in {
            Some(s) if !s.locked => {
                tracing::info!(user_id = s.user.id, "session locked");
                s.locked = true;
                self.debouncer.reset();
                true
            }
            _ => false,
        }
    }

    /// Ends the session; its token is dropped. `false` if there was none.
    pub fn logout(&mut self) -> bool {
        self.pending = None;
        self.failure = None;
        self.debouncer.reset();
        match self.signed_in.take() {
            Some(s) => {
                tracing::info!(user_id = s.user.id, "logged out");
                true
            }
            None => false,
        }
    }

    /// The user touched the screen or typed.
    pub fn activity(&mut self, now: Instant) {
        self.last_activity = now;
    }

    /// Applies the idle lock and the session's expiry at `now`.
    pub fn tick(&mut self, now: Instant, wall: DateTime<Utc>) {
        let Some(s) = &mut self.signed_in else {
            return;
        };
        if s.expires_at <= wall {
            tracing::info!(user_id = s.user.id, "session expired");
            self.signed_in = None;
            self.debouncer.reset();
            return;
        }
        if !s.locked && now.saturating_duration_since(self.last_activity) >= self.settings.idle_lock
        {
            tracing::info!(user_id = s.user.id, "idle: session locked");
            s.locked = true;
            self.debouncer.reset();
        }
    }

    /// The user of the open, unlocked session.
    pub fn signed_in_user(&self) -> Option<SessionUser> {
        self.signed_in
            .as_ref()
            .filter(|s| !s.locked)
            .map(|s| s.user.clone())
    }

    /// The signed-in user's bearer token for API calls (`None` when locked).
    pub fn user_token(&self) -> Option<Secret> {
        self.signed_in
            .as_ref()
            .filter(|s| !s.locked && s.token.0 != crate::login::offline::OFFLINE_SESSION_TOKEN)
            .map(|s| Secret::new(s.token.0.clone()))
    }
}
