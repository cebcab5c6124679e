//! State shared by the commands: the resolved configuration's public facts,
//! the live status, and the hook that starts the device session.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tend_core::admin::AdminConsole;
use tend_core::app_status::{AppInfo, AppStatus, ConnectionState};
use tend_core::config::AppConfig;
use tend_core::enrollment::Enrollment;
use tend_core::family::{DeviceFamily, FamilyKiosk};
use tend_core::identity::IdentityProbe;
use tend_core::login::{DeviceLogin, Login, LoginSettings, ReaderStatus, Readers, SessionState};
use tend_core::sync::SyncEngine;
use tend_domain::ErrorCode;

use crate::error::AppError;

/// Starts the device session (set by the window's setup hook, which owns the
/// app handle; absent under the mock runtime).
pub type SessionStarter = Box<dyn Fn() + Send + Sync>;

/// Tells the window about a new lock-screen state (set by the setup hook;
/// absent under the mock runtime).
pub type SessionListener = Box<dyn Fn(&SessionState) + Send + Sync>;

/// Tells the window about a status change made by a command rather than by a
/// background task (set by the setup hook; absent under the mock runtime).
pub type StatusListener = Box<dyn Fn(AppStatus) + Send + Sync>;

pub struct AppState {
    pub info: AppInfo,
    pub enrollment: Arc<Enrollment>,
    pub heartbeat_interval: Duration,
    /// True while a session task runs, so it is never started twice.
    pub session_running: AtomicBool,
    session_starter: OnceLock<SessionStarter>,
    status_listener: OnceLock<StatusListener>,
    /// The administrator signed in to the admin console, in memory only.
    pub admin: AdminConsole,
    /// Who is signed in on the lock screen, in memory only.
    pub login: Arc<Login<DeviceLogin>>,
    /// The family visit under way on the kiosk, in memory only.
    pub family: FamilyKiosk<DeviceFamily>,
    session_listener: Arc<OnceLock<SessionListener>>,
    readers: Mutex<Readers>,
    status: Mutex<AppStatus>,
    /// Unattended set-up (`TEND_ENROLLMENT_CODE` with a configured server),
    /// taken once at start.
    auto_enroll: Mutex<Option<(String, tend_domain::wire::Secret)>>,
    /// The vault and its sync loop, while an enrolled device's session runs.
    sync: Mutex<Option<Arc<SyncEngine>>>,
    started: Instant,
    ui_ready: std::sync::Once,
}

impl AppState {
    pub fn new(config: &AppConfig, started: Instant) -> Self {
        let mut enrollment = Enrollment::new(&config.data_dir, env!("CARGO_PKG_VERSION"));
        if let Some(root) = &config.identity_root {
            tracing::warn!("debug build: hardware identity read from TEND_DEBUG_IDENTITY_ROOT");
            enrollment = enrollment.with_probe(IdentityProbe::new(root));
        }
        let enrollment = Arc::new(enrollment);
        let session_listener: Arc<OnceLock<SessionListener>> = Arc::new(OnceLock::new());
        let listener = session_listener.clone();
        let login = Login::new(
            DeviceLogin::new(enrollment.clone()),
            LoginSettings::from_config(config),
            move |state| {
                if let Some(tell) = listener.get() {
                    tell(state);
                }
            },
        );
        let family = FamilyKiosk::new(
            DeviceFamily::new(enrollment.clone()),
            config.family_idle_reset,
        );
        Self {
            info: AppInfo::new(config, env!("CARGO_PKG_VERSION")),
            enrollment,
            login: Arc::new(login),
            family,
            session_listener,
            readers: Mutex::new(Readers::default()),
            heartbeat_interval: config.heartbeat_interval,
            session_running: AtomicBool::new(false),
            session_starter: OnceLock::new(),
            status_listener: OnceLock::new(),
            admin: AdminConsole::new(env!("CARGO_PKG_VERSION")),
            status: Mutex::new(AppStatus::initial(config)),
            sync: Mutex::new(None),
            auto_enroll: Mutex::new(
                config
                    .server_url
                    .clone()
                    .zip(config.enrollment_code.clone()),
            ),
            started,
            ui_ready: std::sync::Once::new(),
        }
    }

    pub fn status(&self) -> AppStatus {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Records the server's reachability; returns the new status when it
    /// changed, for the status event. Coming back online wakes the sync loop.
    pub fn set_connection(&self, connection: ConnectionState) -> Option<AppStatus> {
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        // A wiped device has no server; a probe still in flight must not
        // bring the old one back.
        if status.connection == connection || status.server_url.is_none() {
            return None;
        }
        let back_online =
            connection == ConnectionState::Online && status.connection == ConnectionState::Offline;
        status.connection = connection;
        let changed = status.clone();
        drop(status);
        // Back online: what was written offline goes up now, not at the end
        // of the sync loop's back-off (up to a minute).
        if back_online {
            if let Some(engine) = self.sync_engine_if_running() {
                engine.sync_now();
            }
        }
        Some(changed)
    }

    /// Copies sync's last sync time and pending count into the status bar's
    /// data; the new status when it changed.
    pub fn set_sync_summary(&self, sync: &tend_core::sync::SyncStatus) -> Option<AppStatus> {
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        let last_sync = sync.last_sync.map(|t| t.to_rfc3339());
        if status.last_sync == last_sync && status.pending == sync.pending {
            return None;
        }
        status.last_sync = last_sync;
        status.pending = sync.pending;
        Some(status.clone())
    }

    /// Records the server this device enrolled with (shown in the status bar).
    /// The window hears of it at once, also while the device waits for
    /// approval (no session runs yet to report the connection).
    pub fn set_server_url(&self, server_url: &str) {
        let status = {
            let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
            status.server_url = Some(server_url.to_owned());
            // It just answered the enrollment.
            status.connection = ConnectionState::Online;
            status.clone()
        };
        if let Some(tell) = self.status_listener.get() {
            tell(status);
        }
    }

    pub fn set_status_listener(&self, listener: StatusListener) {
        let _ = self.status_listener.set(listener);
    }

    /// The device was wiped: back to first-run setup. Returns the new status.
    pub fn forget_server(&self) -> AppStatus {
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        status.server_url = None;
        status.connection = ConnectionState::NotConfigured;
        status.clone()
    }

    pub fn set_session_listener(&self, listener: SessionListener) {
        let _ = self.session_listener.set(listener);
    }

    pub fn reader_status(&self) -> ReaderStatus {
        self.readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .status()
    }

    /// Applies a badge watcher event to the reader status; the new status
    /// when it changed.
    pub fn update_readers(&self, event: &tend_badge::BadgeRead) -> Option<ReaderStatus> {
        self.readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .apply(event)
    }

    /// The watcher started: readers are reported from now on.
    pub fn readers_started(&self) -> ReaderStatus {
        self.readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .started()
    }

    pub fn set_session_starter(&self, starter: SessionStarter) {
        let _ = self.session_starter.set(starter);
    }

    /// Starts the device session unless one runs already (or there is no
    /// window to host it, as under the mock runtime).
    pub fn start_session(&self) {
        if let Some(start) = self.session_starter.get() {
            if !self.session_running.swap(true, Ordering::SeqCst) {
                start();
            }
        }
    }

    /// Enrolls a device that was never set up with the code from the
    /// environment (once). A failure is logged by its code and leaves the
    /// device at first-run setup.
    pub async fn enroll_unattended(&self) {
        let Some((server_url, code)) = self
            .auto_enroll
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            return;
        };
        if !matches!(self.enrollment.saved(), Ok(None)) {
            return;
        }
        match self.enrollment.enroll(&server_url, code.expose()).await {
            Ok(enrolled) => {
                tracing::info!(status = enrolled.status.as_str(), "enrolled unattended");
                self.set_server_url(&enrolled.server_url);
            }
            Err(e) => {
                tracing::warn!(code = %e.code(), "unattended enrollment failed; first-run setup shows");
            }
        }
    }

    /// The vault's sync engine, or a readable refusal before the device is
    /// set up and approved.
    pub fn sync_engine(&self) -> Result<Arc<SyncEngine>, AppError> {
        self.sync_engine_if_running().ok_or_else(|| AppError {
            code: ErrorCode::Unavailable,
            message: "this device's records open once it is set up and approved".into(),
            fields: Default::default(),
        })
    }

    pub fn sync_engine_if_running(&self) -> Option<Arc<SyncEngine>> {
        self.sync.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Installs (or, with `None`, drops) the sync engine.
    pub fn set_sync_engine(&self, engine: Option<Arc<SyncEngine>>) {
        *self.sync.lock().unwrap_or_else(|p| p.into_inner()) = engine;
    }

    pub fn mark_ui_ready(&self) {
        self.ui_ready.call_once(|| {
            let epoch_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or_default();
            // Read by scripts/bench-startup.sh; contains no user data.
            tracing::info!(
                elapsed_ms = self.started.elapsed().as_millis() as u64,
                epoch_ms = epoch_ms as u64,
                "ui ready"
            );
        });
    }
}
