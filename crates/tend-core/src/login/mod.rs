//! Who is signed in on this device: a badge tap (PC/SC or keyboard wedge,
//! through the device runtime's badge entrance) or the password fallback
//! becomes a user session through the API; a second tap by the same badge
//! locks (tap-out), a different user's tap on a locked screen logs the
//! previous user out first, and idle time locks the screen after a warning.
//!
//! [`machine::LoginMachine`] holds the rules and takes the time as an
//! argument, so it is unit-tested without a server or a clock; [`Login`] runs
//! it against a [`LoginApi`] (the real one is [`DeviceLogin`], over the
//! device link, with [`offline`] verification while the server cannot be
//! reached). [`state`] is what the lock screen shows; [`readers`] whether a
//! reader is there. The user's session token lives in memory only and is
//! never logged; nor are badge values or PINs.

pub mod machine;
pub mod offline;
pub mod readers;
pub mod server;
pub mod state;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;
use tend_badge::BadgeUid;
use tend_domain::wire::Secret;
use tend_domain::ValidationError;

pub use machine::{Credentials, LoginMachine, LoginSettings, TapOutcome, IDLE_WARNING};
pub use readers::{ReaderStatus, Readers};
pub use server::{DeviceLogin, LoginApi};
pub use state::{LoginFailure, SessionPhase, SessionState, SessionUser};

pub use crate::config::default_idle_lock;
use crate::Result;

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

    /// A card that cannot serve as a badge (a phone, an application card).
    pub fn unsupported_card(&self) -> SessionState {
        self.with_machine(LoginMachine::unsupported_card);
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

    /// The signed-in user `user_id` chose their language (`None`: the
    /// device's): the window hears the new session at once. `None` when
    /// they are no longer signed in.
    pub fn set_language(
        &self,
        user_id: i64,
        language: Option<tend_domain::Language>,
    ) -> Option<SessionState> {
        if self.with_machine(|m| m.set_language(user_id, language)) {
            Some(self.changed())
        } else {
            None
        }
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

    /// Changes the idle lock (the facility's policy arrived or changed) and
    /// tells the window when that changes what it shows.
    pub fn set_idle_lock(&self, idle_lock: Duration) {
        let changed = self.with_machine(|m| {
            let changed = m.idle_lock() != idle_lock;
            m.set_idle_lock(idle_lock);
            changed
        });
        if changed {
            tracing::info!(idle_lock_secs = idle_lock.as_secs(), "idle lock changed");
            self.tick();
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
mod tests;
