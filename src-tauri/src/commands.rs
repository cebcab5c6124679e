//! The IPC surface: each command parses its input, calls tend-core and maps
//! the error. No policy, SQL or HTTP lives here.

use tauri::State;
use tend_core::app_status::{AppInfo, AppStatus};
use tend_core::device::DeviceRuntime;
use tend_core::enrollment::{DeviceIdentityInfo, EnrollmentState, WipeNotice};
use tend_core::server_url::{self, ServerUrlCheck};

use crate::error::AppError;

/// Build and runtime facts for the About screen.
#[tauri::command]
#[specta::specta]
pub fn app_info(state: State<'_, DeviceRuntime>) -> Result<AppInfo, AppError> {
    Ok(state.info().clone())
}

/// Connection and sync state for the status bar (and the facility's name,
/// the one fact about it a locked screen shows).
#[tauri::command]
#[specta::specta]
pub fn app_status(state: State<'_, DeviceRuntime>) -> Result<AppStatus, AppError> {
    Ok(state.status())
}

/// Sets this device's language (a display setting: no session needed, so
/// kiosks and the lock screen can change it); the status follows.
#[tauri::command]
#[specta::specta]
pub fn set_device_language(
    state: State<'_, DeviceRuntime>,
    language: tend_domain::Language,
) -> Result<AppStatus, AppError> {
    Ok(state.set_device_language(language)?)
}

/// Validates a server address typed during first-run setup.
#[tauri::command]
#[specta::specta]
pub fn check_server_url(url: String) -> Result<ServerUrlCheck, AppError> {
    Ok(server_url::check_server_url(&url)?)
}

/// Called once by the UI after its first paint: records start-up time (the
/// line scripts/bench-startup.sh reads) and returns the current status so the
/// status bar never starts stale.
#[tauri::command]
#[specta::specta]
pub fn ui_ready(state: State<'_, DeviceRuntime>) -> Result<AppStatus, AppError> {
    state.mark_ui_ready();
    Ok(state.status())
}

/// This device's hardware identity, shown to the administrator at setup.
#[tauri::command]
#[specta::specta]
pub fn device_identity(state: State<'_, DeviceRuntime>) -> Result<DeviceIdentityInfo, AppError> {
    Ok(state.identity()?)
}

/// Enrolls this device with the server and the code the administrator gave;
/// `ACTIVE` at once, or `PENDING` until an administrator approves it.
#[tauri::command]
#[specta::specta]
pub async fn enroll_device(
    state: State<'_, DeviceRuntime>,
    server_url: String,
    code: String,
) -> Result<EnrollmentState, AppError> {
    Ok(state.enroll(&server_url, &code).await?)
}

/// The device's enrollment (`null` before setup); a pending device asks the
/// server again.
#[tauri::command]
#[specta::specta]
pub async fn enrollment_status(
    state: State<'_, DeviceRuntime>,
) -> Result<Option<EnrollmentState>, AppError> {
    Ok(state.enrollment_status().await?)
}

/// Why this device erased itself, until it enrolls again (`null` if never).
#[tauri::command]
#[specta::specta]
pub fn wipe_notice(state: State<'_, DeviceRuntime>) -> Result<Option<WipeNotice>, AppError> {
    Ok(state.wipe_notice()?)
}
