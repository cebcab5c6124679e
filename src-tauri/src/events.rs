//! Events pushed from Rust to the webview, typed through tauri-specta, and
//! the device runtime's events sink that emits them to the window.

use serde::Serialize;
use tauri::{AppHandle, Runtime};
use tauri_specta::Event;
use tend_core::alerts::WanderingAlerts;
use tend_core::app_status::AppStatus;
use tend_core::device::DeviceEvents;
use tend_core::enrollment::WipeNotice;
use tend_core::login::{ReaderStatus, SessionState};
use tend_core::sync::SyncStatus;

/// The status bar's data changed (connection, last sync, pending count).
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event)]
pub struct AppStatusChanged(pub AppStatus);

/// The server ended this device's enrollment and the device erased its local
/// data; the UI returns to setup and says why.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event)]
pub struct DeviceWiped(pub WipeNotice);

/// The lock screen's state changed (a tap being checked, signed in, PIN
/// asked, locked, signed out, a refusal).
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event)]
pub struct SessionChanged(pub SessionState);

/// A badge reader was connected or removed, or the PC/SC service came or went.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event)]
pub struct ReaderStatusChanged(pub ReaderStatus);

/// Sync progressed or failed (status bar, sync details, initial-sync progress).
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event)]
pub struct SyncStatusChanged(pub SyncStatus);

/// The facility's wandering alerts changed, or the push channel came or went.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event)]
pub struct WanderingAlertsChanged(pub WanderingAlerts);

/// The runtime's events, emitted to the window.
pub struct WindowEvents<R: Runtime>(pub AppHandle<R>);

fn deliver(what: &str, result: tauri::Result<()>) {
    if let Err(e) = result {
        tracing::warn!(error = %e, event = what, "event not delivered");
    }
}

impl<R: Runtime> DeviceEvents for WindowEvents<R> {
    fn status_changed(&self, status: &AppStatus) {
        deliver("status", AppStatusChanged(status.clone()).emit(&self.0));
    }

    fn session_changed(&self, session: &SessionState) {
        deliver("session", SessionChanged(session.clone()).emit(&self.0));
    }

    fn reader_status_changed(&self, status: ReaderStatus) {
        deliver("reader", ReaderStatusChanged(status).emit(&self.0));
    }

    fn sync_status_changed(&self, status: &SyncStatus) {
        deliver("sync", SyncStatusChanged(status.clone()).emit(&self.0));
    }

    fn device_wiped(&self, notice: &WipeNotice) {
        deliver("wipe", DeviceWiped(notice.clone()).emit(&self.0));
    }

    fn alerts_changed(&self, alerts: &WanderingAlerts) {
        deliver(
            "alerts",
            WanderingAlertsChanged(alerts.clone()).emit(&self.0),
        );
    }
}
