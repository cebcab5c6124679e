//! The family kiosk's IPC surface: check in with a visitor code, read the
//! resident's shared day, leave a message, end the visit. Each command calls
//! `tend_core::family`; the family token never crosses into the webview.
//! And the staff side, for the signed-in user (`tend_core::family_staff`):
//! visitor codes, sharing updates, reading and answering family's messages.

use tauri::State;
use tend_core::device::DeviceRuntime;
use tend_core::family::{FamilyDay, FamilySettings, FamilyVisit};
use tend_core::family_staff::{FamilyCorner, NewVisitorCode, SharedUpdate, VisitorCodeSummary};
use tend_domain::wire::{FamilyUpdateKind, Secret};

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

/// A resident's visitor codes, what was shared with family and family's
/// messages (staff, online).
#[tauri::command]
#[specta::specta]
pub async fn family_corner(
    state: State<'_, DeviceRuntime>,
    patient_id: u32,
) -> Result<FamilyCorner, AppError> {
    Ok(state.family_corner(patient_id.into()).await?)
}

/// Issues a visitor code for a resident's family; the code is in this answer only.
#[tauri::command]
#[specta::specta]
pub async fn issue_visitor_code(
    state: State<'_, DeviceRuntime>,
    patient_id: u32,
    visitor_name: String,
    relationship: String,
    expires_in_days: i32,
) -> Result<NewVisitorCode, AppError> {
    Ok(state
        .issue_visitor_code(
            patient_id.into(),
            &visitor_name,
            &relationship,
            expires_in_days,
        )
        .await?)
}

/// Revokes a resident's visitor code.
#[tauri::command]
#[specta::specta]
pub async fn revoke_visitor_code(
    state: State<'_, DeviceRuntime>,
    patient_id: u32,
    code_id: u32,
) -> Result<VisitorCodeSummary, AppError> {
    Ok(state
        .revoke_visitor_code(patient_id.into(), code_id.into())
        .await?)
}

/// Shares an update, or an answer to a message, with a resident's family.
#[tauri::command]
#[specta::specta]
pub async fn share_with_family(
    state: State<'_, DeviceRuntime>,
    patient_id: u32,
    kind: FamilyUpdateKind,
    body: String,
) -> Result<SharedUpdate, AppError> {
    Ok(state
        .share_with_family(patient_id.into(), kind, &body)
        .await?)
}
