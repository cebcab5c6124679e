//! Events pushed from Rust to the webview, typed through tauri-specta.

use serde::Serialize;
use tend_core::app_status::AppStatus;

/// The status bar's data changed (connection, last sync, pending count).
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event)]
pub struct AppStatusChanged(pub AppStatus);
