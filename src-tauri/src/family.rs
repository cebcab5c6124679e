//! The family kiosk's IPC surface: check in with a visitor code, read the
//! resident's shared day, leave a message, end the visit. Each command calls
//! `tend_core::family`; the family token never crosses into the webview.

use tauri::State;
use tend_core::device::DeviceRuntime;
use tend_core::family::{FamilyDay, FamilySettings, FamilyVisit};
use tend_domain::wire::Secret;

use crate::error::AppError;

/// How long the kiosk waits untouched before it returns to its welcome screen.
#[tauri::command]
#[specta::specta]
pub fn family_settings(state: State<'_, DeviceRuntime>) -> FamilySettings {
    state.family().settings()
}

/// Starts a visit with the code the family member typed.
#[tauri::command]
#[specta::specta]
pub async fn family_check_in(
    state: State<'_, DeviceRuntime>,
    visitor_code: String,
) -> Result<FamilyVisit, AppError> {
    Ok(state.family().check_in(&Secret::new(visitor_code)).await?)
}

/// What staff shared for the resident being visited.
#[tauri::command]
#[specta::specta]
pub async fn family_summary(state: State<'_, DeviceRuntime>) -> Result<FamilyDay, AppError> {
    Ok(state.family().day().await?)
}

/// A message for the care team.
#[tauri::command]
#[specta::specta]
pub async fn family_send_message(
    state: State<'_, DeviceRuntime>,
    body: String,
) -> Result<(), AppError> {
    Ok(state.family().send_message(&body).await?)
}

/// Ends the visit ("Done", or the idle reset): the token is forgotten.
#[tauri::command]
#[specta::specta]
pub async fn family_end(state: State<'_, DeviceRuntime>) -> Result<(), AppError> {
    state.family().end().await;
    Ok(())
}
