//! The device runtime: one value that owns the device's life — its
//! enrollment, its link to the server (one HTTP client, one token cache), the
//! session (heartbeats and the server's orders, including the wipe), the
//! vault and its sync loop, the one badge entrance (PC/SC and keyboard wedge),
//! the connectivity watch, the lock screen's login, the family kiosk and the
//! status bar's data. The app (`src-tauri`) creates it, starts it with an
//! [`DeviceEvents`] sink that forwards to the window, and calls it from its
//! commands; a headless test starts the same runtime with a recording sink.
//!
//! Resident and clinical data leave the runtime only through
//! [`DeviceRuntime::clinical`], which requires a completely signed-in user.

mod alerts;
mod clinical;
mod family_staff;
mod language;
mod residents;
mod status;
mod tasks;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tend_badge::{BadgeReceiver, BadgeUid};
use tend_domain::DeviceStatus;

use crate::admin::AdminConsole;
use crate::app_status::{AppInfo, AppStatus};
use crate::config::AppConfig;
use crate::enrollment::{DeviceIdentityInfo, Enrollment, EnrollmentState, WipeNotice};
use crate::family::FamilyKiosk;
use crate::identity::IdentityProbe;
use crate::link::DeviceLink;
use crate::login::{DeviceLogin, Login, LoginSettings, ReaderStatus, Readers, SessionState};
use crate::sync::{SyncEngine, SyncStatus};
use crate::{CoreError, Result};

pub use clinical::ClinicalAccess;
use status::StatusBoard;

/// Where the runtime tells what changed (the app forwards each to the
/// window as the matching event; a test records them). Called from the
/// runtime's tasks: keep each call short.
pub trait DeviceEvents: Send + Sync + 'static {
    /// The status bar's data changed (connection, last sync, pending count,
    /// facility name).
    fn status_changed(&self, status: &AppStatus);
    /// The lock screen's state changed.
    fn session_changed(&self, session: &SessionState);
    /// A badge reader came or went, or the PC/SC service did.
    fn reader_status_changed(&self, status: ReaderStatus);
    /// Sync progressed or failed.
    fn sync_status_changed(&self, status: &SyncStatus);
    /// The server ended the enrollment and the device erased its data.
    fn device_wiped(&self, notice: &WipeNotice);
    /// The facility's wandering alerts changed (pushed, synced or
    /// acknowledged), or the push channel came up or went down.
    fn alerts_changed(&self, _alerts: &crate::alerts::WanderingAlerts) {}
}

/// A sink that drops every event (a runtime that is never started).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoEvents;

impl DeviceEvents for NoEvents {
    fn status_changed(&self, _: &AppStatus) {}
    fn session_changed(&self, _: &SessionState) {}
    fn reader_status_changed(&self, _: ReaderStatus) {}
    fn sync_status_changed(&self, _: &SyncStatus) {}
    fn device_wiped(&self, _: &WipeNotice) {}
}

/// Badge reads from a reader watcher (PC/SC), with the watcher kept alive
/// for as long as the runtime reads from it.
pub struct BadgeFeed {
    reads: BadgeReceiver,
    source: Box<dyn std::any::Any + Send>,
}

impl BadgeFeed {
    /// `reads` from a started `source` (dropping the source stops it).
    pub fn new(reads: BadgeReceiver, source: impl std::any::Any + Send) -> Self {
        Self {
            reads,
            source: Box::new(source),
        }
    }
}

/// The events sink and the runtime handle, once started.
struct Started {
    events: Arc<dyn DeviceEvents>,
    handle: tokio::runtime::Handle,
}

struct Inner {
    info: AppInfo,
    /// Where the device keeps its files (its language among them).
    data_dir: std::path::PathBuf,
    enrollment: Arc<Enrollment>,
    link: Arc<DeviceLink>,
    heartbeat_interval: Duration,
    admin: AdminConsole,
    login: Arc<Login<DeviceLogin>>,
    family: FamilyKiosk<Arc<DeviceLink>>,
    /// What of the facility's policy this device applies itself (the idle
    /// lock by profile, the family session) unless the environment set it.
    policy_host: PolicyHost,
    readers: Mutex<Readers>,
    status: StatusBoard,
    /// Unattended set-up (`TEND_ENROLLMENT_CODE` with a configured server),
    /// taken once.
    auto_enroll: Mutex<Option<(String, tend_domain::wire::Secret)>>,
    /// The vault and its sync loop, while an enrolled device's session runs.
    sync: Mutex<Option<Arc<SyncEngine>>>,
    /// True while a session task runs, so it is never started twice.
    session_running: AtomicBool,
    /// True once the connectivity watch runs.
    watching_connection: AtomicBool,
    started: Arc<OnceLock<Started>>,
    launched_at: Instant,
    ui_ready: std::sync::Once,
    /// Live wandering alerts (pushed; merged with synced records when read).
    alerts: Arc<crate::alerts::ActiveAlerts>,
}

/// How this device applies its facility's policy.
#[derive(Debug, Clone, Copy)]
struct PolicyHost {
    kiosk: bool,
    idle_lock_from_env: bool,
    family_idle_from_env: bool,
}

/// The device's life; cheap to clone (all clones are the same device).
#[derive(Clone)]
pub struct DeviceRuntime {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for DeviceRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceRuntime").finish_non_exhaustive()
    }
}

impl DeviceRuntime {
    /// The runtime for `config`, not started: commands work, nothing runs
    /// in the background until [`DeviceRuntime::start`]. `launched_at` is
    /// when the process started (for the start-up figure).
    pub fn new(config: &AppConfig, app_version: &str, launched_at: Instant) -> Self {
        let mut enrollment = Enrollment::new(&config.data_dir, app_version);
        if let Some(root) = &config.identity_root {
            tracing::warn!("debug build: hardware identity read from TEND_DEBUG_IDENTITY_ROOT");
            enrollment = enrollment.with_probe(IdentityProbe::new(root));
        }
        Self::with_enrollment(config, enrollment, launched_at)
    }

    /// The runtime over a prepared `enrollment` (its secret store and
    /// identity probe chosen by the caller, as in tests).
    pub fn with_enrollment(
        config: &AppConfig,
        enrollment: Enrollment,
        launched_at: Instant,
    ) -> Self {
        let app_version = enrollment.app_version().to_owned();
        let enrollment = Arc::new(enrollment);
        let link = Arc::new(DeviceLink::renewing_within(
            enrollment.clone(),
            config.heartbeat_interval,
        ));
        let started: Arc<OnceLock<Started>> = Arc::new(OnceLock::new());
        let device_login = DeviceLogin::new(link.clone());
        let on_change = tasks::session_listener(started.clone(), device_login.offline.clone());
        let login = Login::new(device_login, LoginSettings::from_config(config), on_change);
        Self {
            inner: Arc::new(Inner {
                info: AppInfo::new(config, &app_version),
                data_dir: config.data_dir.clone(),
                family: FamilyKiosk::new(link.clone(), config.family_idle_reset),
                policy_host: PolicyHost {
                    kiosk: config.profile == crate::config::Profile::Kiosk,
                    idle_lock_from_env: config.idle_lock_from_env,
                    family_idle_from_env: config.family_idle_from_env,
                },
                enrollment,
                link,
                heartbeat_interval: config.heartbeat_interval,
                admin: AdminConsole::new(&app_version),
                login: Arc::new(login),
                readers: Mutex::new(Readers::default()),
                status: StatusBoard::new(AppStatus::initial(config)),
                auto_enroll: Mutex::new(
                    config
                        .server_url
                        .clone()
                        .zip(config.enrollment_code.clone()),
                ),
                sync: Mutex::new(None),
                session_running: AtomicBool::new(false),
                watching_connection: AtomicBool::new(false),
                started,
                launched_at,
                ui_ready: std::sync::Once::new(),
                alerts: Arc::default(),
            }),
        }
    }

    /// Starts the device's background life on `handle`: the badge entrance
    /// reading `badges` (if a reader watcher runs), the idle lock, the
    /// connectivity watch, and — for an enrolled, active device — the
    /// session and sync. Every change is told to `events`. A second call
    /// changes nothing.
    pub fn start(
        &self,
        handle: tokio::runtime::Handle,
        events: Arc<dyn DeviceEvents>,
        badges: Option<BadgeFeed>,
    ) {
        if self.inner.started.set(Started { events, handle }).is_err() {
            tracing::warn!("the device runtime was started twice; the second start is ignored");
            return;
        }
        let login = self.inner.login.clone();
        self.spawn(async move { login.watch_idle().await });
        match badges {
            Some(feed) => {
                let status = self.lock_readers().started();
                self.tell(|e| e.reader_status_changed(status));
                let runtime = self.clone();
                self.spawn(tasks::badge_entrance(runtime, feed));
            }
            None => tracing::warn!("no PC/SC badge watcher; badges only by keyboard wedge"),
        }
        self.watch_connection();
        // An enrolled device resumes its session at start-up.
        if let Ok(Some(enrolled)) = self.inner.enrollment.saved() {
            if enrolled.status == DeviceStatus::Active {
                self.start_session();
            }
        }
    }

    /// Runs `task` on the started runtime; dropped (with a log line) before
    /// [`DeviceRuntime::start`].
    fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        match self.inner.started.get() {
            Some(started) => {
                started.handle.spawn(task);
            }
            None => tracing::debug!("device runtime not started; background task not run"),
        }
    }

    /// Tells the events sink (nothing before start).
    fn tell(&self, f: impl FnOnce(&dyn DeviceEvents)) {
        if let Some(started) = self.inner.started.get() {
            f(started.events.as_ref());
        }
    }

    pub fn info(&self) -> &AppInfo {
        &self.inner.info
    }

    pub fn status(&self) -> AppStatus {
        self.inner.status.get()
    }

    /// The administrator console (its own API session, no device token).
    pub fn admin(&self) -> &AdminConsole {
        &self.inner.admin
    }

    /// The lock screen.
    pub fn login(&self) -> &Login<DeviceLogin> {
        &self.inner.login
    }

    /// The family kiosk.
    pub fn family(&self) -> &FamilyKiosk<Arc<DeviceLink>> {
        &self.inner.family
    }

    /// The device's link to its server.
    pub fn link(&self) -> &Arc<DeviceLink> {
        &self.inner.link
    }

    pub fn session_state(&self) -> SessionState {
        self.inner.login.state()
    }

    fn lock_readers(&self) -> std::sync::MutexGuard<'_, Readers> {
        self.inner.readers.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn reader_status(&self) -> ReaderStatus {
        self.lock_readers().status()
    }

    /// The badge entrance: every tap, from a PC/SC reader or a keyboard
    /// wedge, signs in, unlocks or taps out here — unless the admin console
    /// waits for a badge to assign, which then takes this one tap.
    pub async fn badge_presented(&self, badge: BadgeUid) -> SessionState {
        // Read by scripts/bench-badge-login.sh; no badge data.
        tracing::info!(epoch_ms = epoch_ms(), "badge presented");
        match self.inner.admin.badge_capture().offer(badge) {
            Ok(()) => self.inner.login.state(),
            Err(badge) => self.inner.login.tap(badge).await,
        }
    }

    /// A value a keyboard-wedge reader typed in the admin console while it
    /// waits for a badge to assign; true when the waiting capture took it.
    /// Never a sign-in: with no capture waiting the value is dropped.
    pub fn badge_capture_wedge(&self, raw: &str) -> Result<bool> {
        let badge = BadgeUid::parse_wedge(raw, &self.inner.info.wedge.format())?;
        Ok(self.inner.admin.badge_capture().offer(badge).is_ok())
    }

    /// A value a keyboard-wedge reader typed (prefix and suffix stripped by
    /// the window), checked against the configured format, then the badge
    /// entrance.
    pub async fn badge_wedge(&self, raw: &str) -> Result<SessionState> {
        let badge = BadgeUid::parse_wedge(raw, &self.inner.info.wedge.format())?;
        Ok(self.badge_presented(badge).await)
    }

    /// This device's hardware identity, shown to the administrator at setup.
    pub fn identity(&self) -> Result<DeviceIdentityInfo> {
        self.inner.enrollment.identity()
    }

    /// Why this device erased itself, until it enrolls again.
    pub fn wipe_notice(&self) -> Result<Option<WipeNotice>> {
        self.inner.enrollment.wipe_notice()
    }

    /// The remembered enrollment, without asking the server.
    pub fn enrollment_saved(&self) -> Result<Option<EnrollmentState>> {
        self.inner.enrollment.saved()
    }

    /// Enrolls this device; an `ACTIVE` device starts its session at once.
    pub async fn enroll(&self, server_url: &str, code: &str) -> Result<EnrollmentState> {
        let enrolled = self.inner.enrollment.enroll(server_url, code).await?;
        self.enrolled_with(&enrolled);
        Ok(enrolled)
    }

    /// The device's enrollment (`None` before setup); a pending device asks
    /// the server again and starts its session once approved.
    pub async fn enrollment_status(&self) -> Result<Option<EnrollmentState>> {
        let enrolled = self.inner.enrollment.status().await?;
        if enrolled.as_ref().map(|e| e.status) == Some(DeviceStatus::Active) {
            self.start_session();
        }
        Ok(enrolled)
    }

    /// Enrolls a device that was never set up with the code from the
    /// environment (once), giving up after `timeout`. A failure is logged
    /// by its code and leaves the device at first-run setup.
    pub async fn enroll_unattended(&self, timeout: Duration) {
        let taken = self
            .inner
            .auto_enroll
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let Some((server_url, code)) = taken else {
            return;
        };
        if !matches!(self.inner.enrollment.saved(), Ok(None)) {
            return;
        }
        let enroll = self.inner.enrollment.enroll(&server_url, code.expose());
        match tokio::time::timeout(timeout, enroll).await {
            Ok(Ok(enrolled)) => {
                tracing::info!(status = enrolled.status.as_str(), "enrolled unattended");
                self.enrolled_with(&enrolled);
            }
            Ok(Err(e)) => {
                tracing::warn!(code = %e.code(), "unattended enrollment failed; first-run setup shows");
            }
            Err(_) => tracing::warn!("unattended enrollment timed out; first-run setup shows"),
        }
    }

    /// The device enrolled with a server: the status bar shows it (also
    /// while the device waits for approval), and an active device starts.
    fn enrolled_with(&self, enrolled: &EnrollmentState) {
        let status = self.inner.status.set_server_url(&enrolled.server_url);
        self.tell(|e| e.status_changed(&status));
        self.watch_connection();
        if enrolled.status == DeviceStatus::Active {
            self.start_session();
        }
    }

    /// Starts the device session unless one runs already (or the runtime
    /// was not started).
    pub fn start_session(&self) {
        if self.inner.started.get().is_none() {
            return;
        }
        if !self.inner.session_running.swap(true, Ordering::SeqCst) {
            let runtime = self.clone();
            self.spawn(tasks::run_session(runtime));
        }
    }

    /// Keeps the status bar's online/offline state true once the device
    /// has a server (started once).
    fn watch_connection(&self) {
        if self.inner.started.get().is_none() || self.status().server_url.is_none() {
            return;
        }
        if !self.inner.watching_connection.swap(true, Ordering::SeqCst) {
            let runtime = self.clone();
            self.spawn(tasks::watch_connection(runtime));
        }
    }

    /// Resident and clinical data: the sync engine and the user it is for,
    /// only while a user is completely signed in (see [`clinical`]).
    pub fn clinical(&self) -> Result<ClinicalAccess> {
        clinical::check(self)
    }

    /// Where sync stands (counts only; no clinical data).
    pub fn sync_status(&self) -> SyncStatus {
        self.sync_engine_if_running()
            .map(|engine| engine.status())
            .unwrap_or_default()
    }

    /// Syncs now instead of at the next tick.
    pub fn sync_now(&self) -> Result<()> {
        self.sync_engine()?.sync_now();
        Ok(())
    }

    /// The vault's sync engine, or a readable refusal before the device is
    /// set up and approved.
    fn sync_engine(&self) -> Result<Arc<SyncEngine>> {
        self.sync_engine_if_running().ok_or_else(|| CoreError::Api {
            code: tend_domain::ErrorCode::Unavailable,
            message: "this device's records open once it is set up and approved".into(),
        })
    }

    fn sync_engine_if_running(&self) -> Option<Arc<SyncEngine>> {
        self.inner
            .sync
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_sync_engine(&self, engine: Option<Arc<SyncEngine>>) {
        *self.inner.sync.lock().unwrap_or_else(|p| p.into_inner()) = engine;
    }

    /// Records start-up time once (the line scripts/bench-startup.sh reads).
    pub fn mark_ui_ready(&self) {
        self.inner.ui_ready.call_once(|| {
            // Read by scripts/bench-startup.sh; contains no user data.
            tracing::info!(
                elapsed_ms = self.inner.launched_at.elapsed().as_millis() as u64,
                epoch_ms = epoch_ms(),
                "ui ready"
            );
        });
    }
}

fn epoch_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}
