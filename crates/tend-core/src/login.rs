//! Who is signed in on this device, online: a badge tap (PC/SC or keyboard
//! wedge) or the password fallback becomes a user session through the API;
//! a second tap by the same badge locks (tap-out), a different user's tap on
//! a locked screen logs the previous user out first, and idle time locks the
//! screen after a warning.
//!
//! [`LoginMachine`] holds the rules and takes the time as an argument, so it
//! is unit-tested without a server or a clock; [`Login`] runs it against a
//! [`LoginApi`] (the real one is [`DeviceLogin`]). The user's session token
//! lives in memory only and is never logged; nor are badge values or PINs.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tend_badge::{BadgeRead, BadgeUid, Debouncer, WedgeFormat, DEFAULT_DEBOUNCE};
use tend_domain::wire::{BadgeLoginRequest, LoginRequest, LoginResponse, Secret};
use tend_domain::{ErrorCode, Role, ValidationError};

use crate::config::Profile;
use crate::enrollment::Enrollment;
use crate::session::DeviceTokens;
use crate::{CoreError, Result};

/// How long before the idle lock the warning shows.
pub const IDLE_WARNING: Duration = Duration::from_secs(15);

/// The idle time after which the screen locks, by profile (a wall kiosk is
/// shared and walked away from; a desktop is one nurse's workstation).
pub fn default_idle_lock(profile: Profile) -> Duration {
    match profile {
        Profile::Kiosk => Duration::from_secs(2 * 60),
        Profile::Desktop => Duration::from_secs(10 * 60),
    }
}

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
    fn warning_after(&self) -> Duration {
        self.idle_lock
            .checked_sub(IDLE_WARNING)
            .unwrap_or(self.idle_lock / 2)
    }
}

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

/// Whether a badge reader is there to tap on (the lock screen says so).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ReaderStatus {
    /// Not known yet (the watcher is starting).
    Unknown,
    /// At least one PC/SC reader is connected.
    Connected,
    /// The PC/SC service runs but no reader is plugged in.
    NoReader,
    /// The PC/SC service is not running (or not installed).
    ServiceUnavailable,
}

/// The connected readers, from the watcher's events.
#[derive(Debug, Default)]
pub struct Readers {
    names: std::collections::BTreeSet<String>,
    service_lost: bool,
    heard: bool,
}

impl Readers {
    /// Applies a watcher event; returns the new status when it changed.
    pub fn apply(&mut self, event: &BadgeRead) -> Option<ReaderStatus> {
        let before = self.status();
        self.heard = true;
        match event {
            BadgeRead::ReaderAdded { reader } => {
                self.service_lost = false;
                self.names.insert(reader.clone());
            }
            BadgeRead::ReaderRemoved { reader } => {
                self.names.remove(reader);
            }
            BadgeRead::ServiceLost => {
                self.service_lost = true;
                self.names.clear();
            }
            BadgeRead::ServiceRestored => self.service_lost = false,
            BadgeRead::Present { reader, .. }
            | BadgeRead::Unsupported { reader, .. }
            | BadgeRead::Removed { reader } => {
                self.names.insert(reader.clone());
            }
        }
        let after = self.status();
        (after != before).then_some(after)
    }

    /// The watcher started and found the service (it reports readers as it
    /// finds them).
    pub fn started(&mut self) -> ReaderStatus {
        self.heard = true;
        self.status()
    }

    pub fn status(&self) -> ReaderStatus {
        if !self.heard {
            ReaderStatus::Unknown
        } else if self.service_lost {
            ReaderStatus::ServiceUnavailable
        } else if self.names.is_empty() {
            ReaderStatus::NoReader
        } else {
            ReaderStatus::Connected
        }
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
                .is_some_and(|s| s.token.0 == crate::offline_login::OFFLINE_SESSION_TOKEN),
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
            .filter(|s| !s.locked && s.token.0 != crate::offline_login::OFFLINE_SESSION_TOKEN)
            .map(|s| Secret::new(s.token.0.clone()))
    }
}

/// The two calls a login makes.
pub trait LoginApi: Send + Sync {
    /// Badge login with the device's token.
    fn badge_login(
        &self,
        badge: &BadgeUid,
        pin: Option<&Secret>,
    ) -> impl std::future::Future<Output = Result<LoginResponse>> + Send;
    /// The password fallback.
    fn password_login(
        &self,
        username: &str,
        password: &Secret,
    ) -> impl std::future::Future<Output = Result<LoginResponse>> + Send;
}

/// The real server, through this device's enrollment and device token.
pub struct DeviceLogin {
    enrollment: Arc<Enrollment>,
    tokens: DeviceTokens,
    /// Verifiers for badge logins while the server cannot be reached.
    pub offline: Arc<crate::offline_login::OfflineVerifiers>,
    /// The server API of the enrollment it was built for (server address
    /// and device UUID): one HTTP client, so taps reuse its connection
    /// instead of paying for a new client and handshake each time.
    server: tokio::sync::Mutex<Option<(String, Arc<crate::session::ServerApi>)>>,
}

impl DeviceLogin {
    pub fn new(enrollment: Arc<Enrollment>) -> Self {
        Self {
            enrollment,
            tokens: DeviceTokens::default(),
            offline: Arc::default(),
            server: tokio::sync::Mutex::new(None),
        }
    }

    async fn api(&self) -> Result<Arc<crate::session::ServerApi>> {
        let not_enrolled =
            || CoreError::Config("this device is not enrolled and active; set it up first".into());
        let saved = self
            .enrollment
            .saved()?
            .filter(|s| s.status == tend_domain::DeviceStatus::Active)
            .ok_or_else(not_enrolled)?;
        let enrolled_as = format!("{} {}", saved.server_url, saved.device_uuid);
        let mut server = self.server.lock().await;
        if let Some((built_for, api)) = server.as_ref() {
            if *built_for == enrolled_as {
                return Ok(api.clone());
            }
        }
        // Enrolled anew (after a wipe): the old token belongs to another device.
        self.tokens.forget().await;
        let api = Arc::new(
            self.enrollment
                .active_server_api()
                .await?
                .ok_or_else(not_enrolled)?,
        );
        *server = Some((enrolled_as, api.clone()));
        Ok(api)
    }

    async fn badge_login_online(
        &self,
        badge: &BadgeUid,
        pin: Option<&Secret>,
    ) -> Result<LoginResponse> {
        let api = self.api().await?;
        let body = BadgeLoginRequest {
            badge_uid: Secret::new(badge.expose_canonical()),
            pin: pin.map(|p| Secret::new(p.expose())),
        };
        // A token the server no longer accepts is renewed once.
        for attempt in 0..2 {
            let token = self.tokens.get(api.as_ref()).await?;
            match api.client.badge_login(&token, &body).await {
                Err(e) if e.code() == ErrorCode::Unauthorized && attempt == 0 => {
                    self.tokens.forget().await;
                }
                other => return other,
            }
        }
        unreachable!("the loop returns on its second attempt")
    }
}

impl LoginApi for DeviceLogin {
    async fn badge_login(&self, badge: &BadgeUid, pin: Option<&Secret>) -> Result<LoginResponse> {
        match self.badge_login_online(badge, pin).await {
            Ok(session) => {
                // Offline sign-in for next time; never in the way of this one.
                if let Err(e) = self.offline.remember(badge, pin, &session).await {
                    tracing::warn!(code = %e.code(), "offline verifier not kept");
                }
                Ok(session)
            }
            Err(e) if e.code() == ErrorCode::Offline => {
                tracing::info!("server unreachable: badge checked offline");
                self.offline.verify(badge, pin).await
            }
            Err(e) => {
                if matches!(e.code(), ErrorCode::BadgeRevoked | ErrorCode::BadgeUnknown) {
                    if let Err(e) = self.offline.forget(badge).await {
                        tracing::warn!(code = %e.code(), "offline verifier not removed");
                    }
                }
                Err(e)
            }
        }
    }

    async fn password_login(&self, username: &str, password: &Secret) -> Result<LoginResponse> {
        let api = self.api().await?;
        api.client
            .password_login(&LoginRequest {
                username: username.to_owned(),
                password: Secret::new(password.expose()),
            })
            .await
    }
}

/// The lock screen's logic with its server: serializes attempts, and tells
/// `on_change` every new state (the app pushes it to the window).
pub struct Login<A> {
    api: A,
    machine: Mutex<LoginMachine>,
    /// One server attempt at a time; a tap during one is ignored.
    attempt: tokio::sync::Mutex<()>,
    on_change: Box<dyn Fn(&SessionState) + Send + Sync>,
    /// The state `on_change` heard last.
    told: Mutex<Option<SessionState>>,
}

impl<A: LoginApi> Login<A> {
    /// The server (and offline) side of the login.
    pub fn api(&self) -> &A {
        &self.api
    }

    pub fn new(
        api: A,
        settings: LoginSettings,
        on_change: impl Fn(&SessionState) + Send + Sync + 'static,
    ) -> Self {
        Self {
            api,
            machine: Mutex::new(LoginMachine::new(settings, Instant::now())),
            attempt: tokio::sync::Mutex::new(()),
            on_change: Box::new(on_change),
            told: Mutex::new(None),
        }
    }

    fn with_machine<T>(&self, f: impl FnOnce(&mut LoginMachine) -> T) -> T {
        f(&mut self.machine.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn state(&self) -> SessionState {
        self.with_machine(|m| m.state(Instant::now()))
    }

    /// The user whose session is open and unlocked (who documents now);
    /// `None` when signed out or locked.
    pub fn signed_in_user(&self) -> Option<SessionUser> {
        self.with_machine(|m| m.signed_in_user())
    }

    fn changed(&self) -> SessionState {
        let state = self.state();
        *self.told.lock().unwrap_or_else(|p| p.into_inner()) = Some(state.clone());
        (self.on_change)(&state);
        state
    }

    /// A badge tap from any source.
    pub async fn tap(&self, badge: BadgeUid) -> SessionState {
        match self.with_machine(|m| m.tap(badge, Instant::now())) {
            TapOutcome::Ignored => self.state(),
            TapOutcome::Changed => self.changed(),
            TapOutcome::AskServer(credentials) => self.ask(credentials).await,
        }
    }

    /// A value typed by a keyboard-wedge reader (recognized by the window).
    pub async fn tap_wedge(&self, raw: &str, format: &WedgeFormat) -> Result<SessionState> {
        let badge = BadgeUid::parse_wedge(raw, format)?;
        Ok(self.tap(badge).await)
    }

    /// A card that cannot serve as a badge (a phone, an application card).
    pub fn unsupported_card(&self) -> SessionState {
        self.with_machine(|m| {
            m.failure = Some(LoginFailure {
                code: ErrorCode::ValidationFailed,
                message: "this card cannot be used as a badge; use your staff badge".to_owned(),
            })
        });
        self.changed()
    }

    /// The PIN for the pending badge, in the PIN's format (checked here so a
    /// typo does not cost one of the five attempts).
    pub async fn submit_pin(&self, pin: &str) -> Result<SessionState> {
        let pin = tend_domain::Pin::parse(pin)?;
        Ok(
            match self.with_machine(|m| m.submit_pin(pin.into_secret())) {
                Some(credentials) => self.ask(credentials).await,
                None => self.state(),
            },
        )
    }

    /// The password fallback.
    pub async fn password(&self, username: &str, password: &str) -> Result<SessionState> {
        let username = username.trim();
        if username.is_empty() {
            return Err(ValidationError::new("username", "enter your username").into());
        }
        if password.is_empty() {
            return Err(ValidationError::new("password", "enter your password").into());
        }
        Ok(
            match self.with_machine(|m| m.password(username.to_owned(), Secret::new(password))) {
                Some(credentials) => self.ask(credentials).await,
                None => self.state(),
            },
        )
    }

    async fn ask(&self, credentials: Credentials) -> SessionState {
        let _one_at_a_time = self.attempt.lock().await;
        // "Verifying" reaches the window before the server answers.
        self.changed();
        let answer = match &credentials {
            Credentials::Badge { badge, pin } => self.api.badge_login(badge, pin.as_ref()).await,
            Credentials::Password { username, password } => {
                self.api.password_login(username, password).await
            }
        };
        self.with_machine(|m| m.answer(credentials, answer, Instant::now()));
        self.changed()
    }

    pub fn cancel_pin(&self) -> SessionState {
        self.with_machine(LoginMachine::cancel_pin);
        self.changed()
    }

    pub fn lock(&self) -> SessionState {
        self.with_machine(LoginMachine::lock);
        self.changed()
    }

    /// The server says this device breaks the encryption policy: an active
    /// session locks (its user's tap unlocks it, and the next heartbeat asks
    /// again while the device is still out of policy). Tells the window only
    /// when something changed.
    pub fn lock_by_policy(&self) -> Option<SessionState> {
        if self.with_machine(LoginMachine::lock) {
            tracing::warn!(
                "session locked: the server's encryption policy asks this device to lock"
            );
            Some(self.changed())
        } else {
            None
        }
    }

    pub fn logout(&self) -> SessionState {
        self.with_machine(LoginMachine::logout);
        self.changed()
    }

    pub fn activity(&self) {
        self.with_machine(|m| m.activity(Instant::now()));
    }

    /// Applies idle lock and expiry; tells `on_change` only when the state
    /// differs from the last one told (the warning coming or going counts).
    pub fn tick(&self) {
        let now = self.with_machine(|m| {
            m.tick(Instant::now(), Utc::now());
            m.state(Instant::now())
        });
        let mut told = self.told.lock().unwrap_or_else(|p| p.into_inner());
        if told.as_ref() != Some(&now) {
            *told = Some(now.clone());
            drop(told);
            (self.on_change)(&now);
        }
    }

    /// Applies the idle lock and expiry twice a second, for as long as the
    /// app runs (the warning and the lock show within half a second).
    pub async fn watch_idle(&self) {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            self.tick();
        }
    }

    /// The signed-in user's bearer token for API calls (`None` when locked).
    pub fn user_token(&self) -> Option<Secret> {
        self.with_machine(|m| m.user_token())
    }
}

#[cfg(test)]
mod tests {
    use tend_domain::wire::User;

    use super::*;

    fn badge(n: u8) -> BadgeUid {
        BadgeUid::from_bytes(&[0x04, n, 0x10, 0x20]).unwrap()
    }

    fn session(user_id: i64) -> Result<LoginResponse> {
        Ok(LoginResponse {
            token: format!("token-{user_id}"),
            token_type: "Bearer".into(),
            expires_at: Utc::now() + chrono::Duration::hours(8),
            user: User {
                id: user_id,
                organization_id: 1,
                facility_id: 1,
                employee_id: format!("E{user_id}"),
                username: format!("nurse{user_id}"),
                full_name: format!("Nurse {user_id}"),
                email: None,
                role: Role::Rn,
                is_active: true,
                created_at: Utc::now(),
                updated_at: Utc::now(),
            },
        })
    }

    fn refused(code: ErrorCode) -> Result<LoginResponse> {
        Err(CoreError::Api {
            code,
            message: code.to_string(),
        })
    }

    fn machine(start: Instant) -> LoginMachine {
        LoginMachine::new(LoginSettings::new(Duration::from_secs(120)), start)
    }

    fn ask(outcome: TapOutcome) -> Credentials {
        match outcome {
            TapOutcome::AskServer(c) => c,
            other => panic!("expected a server call, got {other:?}"),
        }
    }

    fn signed_in_as(m: &mut LoginMachine, n: u8, user_id: i64, now: Instant) {
        let c = ask(m.tap(badge(n), now));
        assert_eq!(m.state(now).phase, SessionPhase::Verifying);
        m.answer(c, session(user_id), now);
    }

    #[test]
    fn an_offline_session_says_so_and_has_no_token_for_the_api() {
        let start = Instant::now();
        let mut m = machine(start);
        signed_in_as(&mut m, 1, 7, start);
        assert!(!m.state(start).offline);
        assert!(m.user_token().is_some());
        m.logout();
        let c = ask(m.tap(badge(2), start));
        let mut offline = session(8).unwrap();
        offline.token = crate::offline_login::OFFLINE_SESSION_TOKEN.to_owned();
        m.answer(c, Ok(offline), start);
        let state = m.state(start);
        assert_eq!(
            state.phase,
            SessionPhase::Active {
                idle_warning: false
            }
        );
        assert!(state.offline);
        assert_eq!(m.user_token(), None, "nothing to send to the server");
        assert_eq!(
            m.signed_in_user().map(|u| u.id),
            Some(8),
            "documenting works offline"
        );
    }

    #[test]
    fn only_an_unlocked_session_has_a_documenting_user() {
        let start = Instant::now();
        let mut m = machine(start);
        assert_eq!(m.signed_in_user(), None);
        signed_in_as(&mut m, 1, 7, start);
        assert_eq!(m.signed_in_user().map(|u| u.id), Some(7));
        assert!(m.lock());
        assert_eq!(
            m.signed_in_user(),
            None,
            "a locked screen documents for nobody"
        );
    }

    #[test]
    fn a_recognized_tap_signs_in_and_the_same_badge_taps_out() {
        let t0 = Instant::now();
        let mut m = machine(t0);
        assert_eq!(m.state(t0).phase, SessionPhase::SignedOut);
        signed_in_as(&mut m, 1, 7, t0);
        let s = m.state(t0);
        assert_eq!(
            s.phase,
            SessionPhase::Active {
                idle_warning: false
            }
        );
        assert_eq!(s.user.unwrap().id, 7);
        assert!(m.user_token().is_some());
        // A bounce of the same tap is ignored …
        assert!(matches!(
            m.tap(badge(1), t0 + Duration::from_secs(1)),
            TapOutcome::Ignored
        ));
        // … a real second tap locks without asking the server.
        let t1 = t0 + Duration::from_secs(5);
        assert!(matches!(m.tap(badge(1), t1), TapOutcome::Changed));
        assert_eq!(m.state(t1).phase, SessionPhase::Locked);
        assert_eq!(m.state(t1).user.unwrap().id, 7);
        assert!(m.user_token().is_none());
        // Her own tap unlocks (verified by the server again).
        let t2 = t1 + Duration::from_secs(5);
        let c = ask(m.tap(badge(1), t2));
        m.answer(c, session(7), t2);
        assert!(matches!(m.state(t2).phase, SessionPhase::Active { .. }));
    }

    #[test]
    fn another_users_tap_on_a_locked_screen_replaces_the_previous_user() {
        let t0 = Instant::now();
        let mut m = machine(t0);
        signed_in_as(&mut m, 1, 7, t0);
        assert!(m.lock());
        signed_in_as(&mut m, 2, 8, t0);
        let s = m.state(t0);
        assert!(matches!(s.phase, SessionPhase::Active { .. }));
        assert_eq!(s.user.unwrap().id, 8);
        assert_eq!(m.user_token().unwrap().expose(), "token-8");
    }

    #[test]
    fn an_unknown_badge_keeps_a_locked_session_locked_and_says_why() {
        let t0 = Instant::now();
        let mut m = machine(t0);
        signed_in_as(&mut m, 1, 7, t0);
        m.lock();
        let c = ask(m.tap(badge(9), t0));
        m.answer(c, refused(ErrorCode::BadgeUnknown), t0);
        let s = m.state(t0);
        assert_eq!(s.phase, SessionPhase::Locked);
        assert_eq!(s.user.unwrap().id, 7);
        assert_eq!(s.failure.unwrap().code, ErrorCode::BadgeUnknown);
        // The same unknown badge may be tried again at once (no debounce).
        assert!(matches!(m.tap(badge(9), t0), TapOutcome::AskServer(_)));
    }

    #[test]
    fn pin_required_then_wrong_pin_then_right_pin() {
        let t0 = Instant::now();
        let mut m = machine(t0);
        let c = ask(m.tap(badge(1), t0));
        m.answer(c, refused(ErrorCode::BadgePinRequired), t0);
        let s = m.state(t0);
        assert_eq!(
            s.phase,
            SessionPhase::PinRequired {
                attempts_left: None
            }
        );
        assert!(s.failure.is_none(), "asking for a PIN is not a failure");

        let c = m.submit_pin(Secret::new("0000")).unwrap();
        assert!(matches!(&c, Credentials::Badge { pin: Some(_), .. }));
        m.answer(
            c,
            Err(CoreError::BadgePinWrong {
                message: "wrong PIN".into(),
                attempts_left: 4,
            }),
            t0,
        );
        let s = m.state(t0);
        assert_eq!(
            s.phase,
            SessionPhase::PinRequired {
                attempts_left: Some(4)
            }
        );
        assert_eq!(s.failure.unwrap().code, ErrorCode::BadgePinWrong);

        let c = m.submit_pin(Secret::new("1234")).unwrap();
        m.answer(c, session(7), t0);
        assert!(matches!(m.state(t0).phase, SessionPhase::Active { .. }));
    }

    #[test]
    fn a_locked_badge_leaves_the_pin_pad_with_its_message() {
        let t0 = Instant::now();
        let mut m = machine(t0);
        let c = ask(m.tap(badge(1), t0));
        m.answer(c, refused(ErrorCode::BadgePinRequired), t0);
        let c = m.submit_pin(Secret::new("0000")).unwrap();
        m.answer(c, refused(ErrorCode::BadgeLocked), t0);
        let s = m.state(t0);
        assert_eq!(s.phase, SessionPhase::SignedOut);
        assert_eq!(s.failure.unwrap().code, ErrorCode::BadgeLocked);
        assert!(m.submit_pin(Secret::new("1234")).is_none());
    }

    #[test]
    fn idle_warns_then_locks_and_activity_postpones_both() {
        let t0 = Instant::now();
        let mut m = machine(t0);
        signed_in_as(&mut m, 1, 7, t0);
        let wall = Utc::now();
        let at = |secs| t0 + Duration::from_secs(secs);
        m.tick(at(100), wall);
        assert_eq!(
            m.state(at(100)).phase,
            SessionPhase::Active {
                idle_warning: false
            }
        );
        assert_eq!(
            m.state(at(105)).phase,
            SessionPhase::Active { idle_warning: true }
        );
        m.activity(at(110));
        m.tick(at(200), wall);
        assert!(matches!(
            m.state(at(200)).phase,
            SessionPhase::Active { .. }
        ));
        m.tick(at(230), wall);
        assert_eq!(m.state(at(230)).phase, SessionPhase::Locked);
    }

    #[test]
    fn an_expired_session_signs_out() {
        let t0 = Instant::now();
        let mut m = machine(t0);
        signed_in_as(&mut m, 1, 7, t0);
        m.tick(t0, Utc::now() + chrono::Duration::hours(9));
        assert_eq!(m.state(t0).phase, SessionPhase::SignedOut);
        assert!(m.user_token().is_none());
    }

    #[test]
    fn password_login_signs_in_and_logout_forgets_the_user() {
        let t0 = Instant::now();
        let mut m = machine(t0);
        let c = m
            .password("nurse7".into(), Secret::new("correct horse"))
            .unwrap();
        m.answer(c, session(7), t0);
        assert!(matches!(m.state(t0).phase, SessionPhase::Active { .. }));
        // A password session has no badge to tap out with; a tap asks the server.
        assert!(matches!(m.tap(badge(1), t0), TapOutcome::AskServer(_)));
        m.answer(
            Credentials::Badge {
                badge: badge(1),
                pin: None,
            },
            refused(ErrorCode::BadgeUnknown),
            t0,
        );
        assert!(m.logout());
        let s = m.state(t0);
        assert_eq!(s.phase, SessionPhase::SignedOut);
        assert!(s.user.is_none() && s.failure.is_none());
        assert!(!m.logout());
        assert!(!m.lock());
    }

    #[test]
    fn taps_during_a_check_are_ignored() {
        let t0 = Instant::now();
        let mut m = machine(t0);
        let _ = ask(m.tap(badge(1), t0));
        assert!(matches!(m.tap(badge(2), t0), TapOutcome::Ignored));
        assert!(m.password("x".into(), Secret::new("y")).is_none());
    }

    #[test]
    fn short_idle_times_still_warn_before_locking() {
        let s = LoginSettings::new(Duration::from_secs(4));
        assert_eq!(s.warning_after(), Duration::from_secs(2));
        let s = LoginSettings::new(Duration::from_secs(120));
        assert_eq!(s.warning_after(), Duration::from_secs(105));
        assert_eq!(default_idle_lock(Profile::Kiosk), Duration::from_secs(120));
        assert_eq!(
            default_idle_lock(Profile::Desktop),
            Duration::from_secs(600)
        );
    }

    #[test]
    fn reader_status_follows_plug_and_service_events() {
        let mut r = Readers::default();
        assert_eq!(r.status(), ReaderStatus::Unknown);
        assert_eq!(r.started(), ReaderStatus::NoReader);
        let added = BadgeRead::ReaderAdded {
            reader: "ACS ACR122U".into(),
        };
        assert_eq!(r.apply(&added), Some(ReaderStatus::Connected));
        assert_eq!(r.apply(&added), None);
        assert_eq!(
            r.apply(&BadgeRead::ServiceLost),
            Some(ReaderStatus::ServiceUnavailable)
        );
        assert_eq!(
            r.apply(&BadgeRead::ServiceRestored),
            Some(ReaderStatus::NoReader)
        );
        r.apply(&added);
        assert_eq!(
            r.apply(&BadgeRead::ReaderRemoved {
                reader: "ACS ACR122U".into()
            }),
            Some(ReaderStatus::NoReader)
        );
    }

    #[tokio::test]
    async fn bad_input_is_refused_before_the_server_is_asked() {
        struct NoServer;
        impl LoginApi for NoServer {
            async fn badge_login(&self, _: &BadgeUid, _: Option<&Secret>) -> Result<LoginResponse> {
                panic!("the server must not be asked")
            }
            async fn password_login(&self, _: &str, _: &Secret) -> Result<LoginResponse> {
                panic!("the server must not be asked")
            }
        }
        let login = Login::new(
            NoServer,
            LoginSettings::new(Duration::from_secs(60)),
            |_| {},
        );
        for pin in ["", "123", "123456789", "12a4", "１２３４"] {
            let e = login.submit_pin(pin).await.unwrap_err();
            assert_eq!(e.code(), ErrorCode::ValidationFailed);
        }
        // A well-formed PIN without a pending badge changes nothing.
        assert_eq!(
            login.submit_pin("4711").await.unwrap().phase,
            SessionPhase::SignedOut
        );
        for raw in ["", "12", "12ab34"] {
            let e = login
                .tap_wedge(raw, &WedgeFormat::default())
                .await
                .unwrap_err();
            assert_eq!(e.code(), ErrorCode::ValidationFailed);
        }
        assert!(login.password(" ", "pw").await.is_err());
        assert!(login.password("nurse", "").await.is_err());
        let s = login.unsupported_card();
        assert_eq!(s.failure.unwrap().code, ErrorCode::ValidationFailed);
    }

    /// A server that signs every badge and password in as user 7.
    struct OneUser;
    impl LoginApi for OneUser {
        async fn badge_login(&self, _: &BadgeUid, _: Option<&Secret>) -> Result<LoginResponse> {
            session(7)
        }
        async fn password_login(&self, _: &str, _: &Secret) -> Result<LoginResponse> {
            session(7)
        }
    }

    #[tokio::test]
    async fn tick_tells_the_idle_warning_and_the_lock_once_each() {
        let heard = Arc::new(Mutex::new(Vec::<SessionPhase>::new()));
        let log = heard.clone();
        let mut settings = LoginSettings::new(Duration::ZERO);
        settings.debounce = Duration::ZERO;
        let login = Login::new(OneUser, settings, move |s| {
            log.lock().unwrap().push(s.phase.clone())
        });
        login.tap(badge(1)).await;
        // Idle time zero: the first tick locks; later ticks stay quiet.
        login.tick();
        login.tick();
        let phases = heard.lock().unwrap().clone();
        assert_eq!(
            phases,
            [
                SessionPhase::Verifying,
                SessionPhase::Active { idle_warning: true },
                SessionPhase::Locked
            ]
        );
    }

    #[tokio::test]
    async fn the_encryption_policy_locks_an_active_session_once() {
        let heard = Arc::new(Mutex::new(Vec::<SessionPhase>::new()));
        let log = heard.clone();
        let login = Login::new(
            OneUser,
            LoginSettings::new(Duration::from_secs(600)),
            move |s| log.lock().unwrap().push(s.phase.clone()),
        );
        // Nobody signed in: nothing to lock, nothing told.
        assert_eq!(login.lock_by_policy(), None);
        login.tap(badge(1)).await;
        let locked = login.lock_by_policy().expect("an active session locks");
        assert_eq!(locked.phase, SessionPhase::Locked);
        assert_eq!(locked.user.map(|u| u.id), Some(7));
        // The next heartbeat asks again: already locked, the window hears nothing new.
        assert_eq!(login.lock_by_policy(), None);
        assert_eq!(
            heard.lock().unwrap().clone(),
            [
                SessionPhase::Verifying,
                SessionPhase::Active {
                    idle_warning: false
                },
                SessionPhase::Locked
            ]
        );
    }

    #[test]
    fn the_state_never_shows_the_token_or_badge() {
        let t0 = Instant::now();
        let mut m = machine(t0);
        signed_in_as(&mut m, 1, 7, t0);
        let json = serde_json::to_string(&m.state(t0)).unwrap();
        assert!(!json.contains("token-7"));
        assert!(!json.contains("04011020"));
        assert!(json.contains("\"phase\":\"active\""));
        assert!(!format!("{m:?}").contains("token-7"));
    }
}
