//! State shared by the commands: the resolved configuration's public facts
//! and the live status.

use std::sync::Mutex;
use std::time::Instant;

use tend_core::admin::AdminConsole;
use tend_core::app_status::{AppInfo, AppStatus, ConnectionState};
use tend_core::config::AppConfig;
use tend_core::enrollment::Enrollment;

pub struct AppState {
    pub info: AppInfo,
    pub enrollment: Enrollment,
    /// The administrator signed in to the admin console, in memory only.
    pub admin: AdminConsole,
    status: Mutex<AppStatus>,
    started: Instant,
    ui_ready: std::sync::Once,
}

impl AppState {
    pub fn new(config: &AppConfig, started: Instant) -> Self {
        Self {
            info: AppInfo::new(config, env!("CARGO_PKG_VERSION")),
            enrollment: Enrollment::new(&config.data_dir, env!("CARGO_PKG_VERSION")),
            admin: AdminConsole::new(env!("CARGO_PKG_VERSION")),
            status: Mutex::new(AppStatus::initial(config)),
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
    /// changed, for the status event.
    pub fn set_connection(&self, connection: ConnectionState) -> Option<AppStatus> {
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        if status.connection == connection {
            return None;
        }
        status.connection = connection;
        Some(status.clone())
    }

    /// Records the server this device enrolled with (shown in the status
    /// bar; `#/` now leads to the lock screen instead of setup).
    pub fn set_server_url(&self, server_url: &str) {
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        status.server_url = Some(server_url.to_owned());
        // It just answered the enrollment.
        status.connection = ConnectionState::Online;
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
