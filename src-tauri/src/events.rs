//! Events pushed from Rust to the webview, typed through tauri-specta.

use serde::Serialize;
use tend_core::app_status::AppStatus;
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
