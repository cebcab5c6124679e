//! Break-glass access over IPC: the nurse workspace's emergency access to a
//! resident of another facility (online only, nothing stored on the device)
//! and the console's review list. The core (`tend_core::break_glass`) checks
//! the session and the form; the server decides and audits.

use tauri::State;
use tend_core::break_glass::{
    BreakGlassReview, EmergencyAccess, EmergencyChart, EmergencyFacility,
};
use tend_core::device::DeviceRuntime;

use crate::error::AppError;

/// The other facilities of the signed-in user's organization.
#[tauri::command]
#[specta::specta]
pub async fn emergency_facilities(
    state: State<'_, DeviceRuntime>,
) -> Result<Vec<EmergencyFacility>, AppError> {
    Ok(state.emergency_facilities().await?)
}

/// Opens a resident of another facility with a stated reason (audited).
#[tauri::command]
#[specta::specta]
pub async fn open_emergency_access(
    state: State<'_, DeviceRuntime>,
    facility_id: u32,
    mrn: String,
    reason: String,
) -> Result<EmergencyAccess, AppError> {
    Ok(state
        .open_emergency_access(facility_id.into(), &mrn, &reason)
        .await?)
}

/// The resident emergency access opened, with their newest records, from
/// the server; `NOT_FOUND` once access has ended.
#[tauri::command]
#[specta::specta]
pub async fn emergency_chart(
    state: State<'_, DeviceRuntime>,
    patient_id: u32,
) -> Result<EmergencyChart, AppError> {
    Ok(state.emergency_chart(patient_id.into()).await?)
}

/// Break-glass grants into or out of the administrator's facilities.
#[tauri::command]
#[specta::specta]
pub async fn admin_break_glass_grants(
    state: State<'_, DeviceRuntime>,
    reviewed: bool,
) -> Result<Vec<BreakGlassReview>, AppError> {
    Ok(state
        .admin()
        .with_session(|s| async move { s.break_glass_grants(reviewed).await })
        .await?)
}

/// Marks a grant reviewed, with an optional note.
#[tauri::command]
#[specta::specta]
pub async fn admin_review_break_glass(
    state: State<'_, DeviceRuntime>,
    grant_id: u32,
    note: Option<String>,
) -> Result<BreakGlassReview, AppError> {
    // A note that is too long is refused even when the session has ended.
    tend_core::break_glass::review_request(note.as_deref())?;
    Ok(state
        .admin()
        .with_session(|s| {
            let note = note.clone();
            async move { s.review_break_glass(grant_id.into(), note.as_deref()).await }
        })
        .await?)
}
