//! The IPC surface: each command parses its input, calls tend-core and maps
//! the error. No policy, SQL or HTTP lives here.

use tauri::State;
use tend_core::app_status::{AppInfo, AppStatus};
use tend_core::enrollment::{DeviceIdentityInfo, EnrollmentState, WipeNotice};
use tend_core::server_url::{self, ServerUrlCheck};
use tend_domain::DeviceStatus;

use crate::error::AppError;
use crate::state::AppState;

/// Build and runtime facts for the About screen.
#[tauri::command]
#[specta::specta]
pub fn app_info(state: State<'_, AppState>) -> Result<AppInfo, AppError> {
    Ok(state.info.clone())
}

/// Connection and sync state for the status bar.
#[tauri::command]
#[specta::specta]
pub fn app_status(state: State<'_, AppState>) -> Result<AppStatus, AppError> {
    Ok(state.status())
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
pub fn ui_ready(state: State<'_, AppState>) -> Result<AppStatus, AppError> {
    state.mark_ui_ready();
    Ok(state.status())
}

/// This device's hardware identity, shown to the administrator at setup.
#[tauri::command]
#[specta::specta]
pub fn device_identity(state: State<'_, AppState>) -> Result<DeviceIdentityInfo, AppError> {
    Ok(state.enrollment.identity()?)
}

/// Enrolls this device with the server and the code the administrator gave;
/// `ACTIVE` at once, or `PENDING` until an administrator approves it.
#[tauri::command]
#[specta::specta]
pub async fn enroll_device(
    state: State<'_, AppState>,
    server_url: String,
    code: String,
) -> Result<EnrollmentState, AppError> {
    let enrolled = state.enrollment.enroll(&server_url, &code).await?;
    state.set_server_url(&enrolled.server_url);
    if enrolled.status == DeviceStatus::Active {
        state.start_session();
    }
    Ok(enrolled)
}

/// The device's enrollment (`null` before setup); a pending device asks the
/// server again.
#[tauri::command]
#[specta::specta]
pub async fn enrollment_status(
    state: State<'_, AppState>,
) -> Result<Option<EnrollmentState>, AppError> {
    let enrolled = state.enrollment.status().await?;
    if enrolled.as_ref().map(|e| e.status) == Some(DeviceStatus::Active) {
        state.start_session();
    }
    Ok(enrolled)
}

/// Why this device erased itself, until it enrolls again (`null` if never).
#[tauri::command]
#[specta::specta]
pub fn wipe_notice(state: State<'_, AppState>) -> Result<Option<WipeNotice>, AppError> {
    Ok(state.enrollment.wipe_notice()?)
}
