//! Admitting, editing, discharging and moving residents: the console's
//! commands act as its signed-in administrator; the workspace's as the
//! signed-in nurse (RN, LPN), online. The rules and the 409's "as they are
//! now" live in `tend_core::residents`.

use tauri::State;
use tend_core::device::DeviceRuntime;
use tend_core::residents::{Departure, Resident, ResidentDraft, ResidentRef, ResidentSaved};

use crate::error::AppError;

/// Every resident of a facility, whatever their status (console).
#[tauri::command]
#[specta::specta]
pub async fn admin_residents(
    state: State<'_, DeviceRuntime>,
    facility_id: u32,
) -> Result<Vec<Resident>, AppError> {
    Ok(state
        .admin()
        .with_session(|s| async move { s.residents(facility_id.into()).await })
        .await?)
}

/// Admits a resident to a facility (console).
#[tauri::command]
#[specta::specta]
pub async fn admin_admit_resident(
    state: State<'_, DeviceRuntime>,
    facility_id: u32,
    draft: ResidentDraft,
) -> Result<Resident, AppError> {
    Ok(state
        .admin()
        .with_session(|s| async move { s.admit_resident(facility_id.into(), &draft).await })
        .await?)
}

/// Saves an edit of a resident as loaded (console).
#[tauri::command]
#[specta::specta]
pub async fn admin_edit_resident(
    state: State<'_, DeviceRuntime>,
    resident: ResidentRef,
    draft: ResidentDraft,
) -> Result<ResidentSaved, AppError> {
    Ok(state
        .admin()
        .with_session(|s| async move { s.edit_resident(resident, &draft).await })
        .await?)
}

/// Discharges a resident or records their death (console).
#[tauri::command]
#[specta::specta]
pub async fn admin_discharge_resident(
    state: State<'_, DeviceRuntime>,
    resident: ResidentRef,
    departure: Departure,
    date: String,
) -> Result<ResidentSaved, AppError> {
    Ok(state
        .admin()
        .with_session(|s| async move { s.discharge_resident(resident, departure, &date).await })
        .await?)
}

/// Moves a resident to another facility of the organization (console).
#[tauri::command]
#[specta::specta]
pub async fn admin_transfer_resident(
    state: State<'_, DeviceRuntime>,
    resident: ResidentRef,
    facility_id: u32,
) -> Result<ResidentSaved, AppError> {
    Ok(state
        .admin()
        .with_session(|s| async move { s.transfer_resident(resident, facility_id.into()).await })
        .await?)
}

/// Admits a resident to this device's facility (workspace).
#[tauri::command]
#[specta::specta]
pub async fn admit_resident(
    state: State<'_, DeviceRuntime>,
    draft: ResidentDraft,
) -> Result<Resident, AppError> {
    Ok(state.admit_resident(&draft).await?)
}

/// Saves an edit of a resident as loaded (workspace).
#[tauri::command]
#[specta::specta]
pub async fn edit_resident(
    state: State<'_, DeviceRuntime>,
    resident: ResidentRef,
    draft: ResidentDraft,
) -> Result<ResidentSaved, AppError> {
    Ok(state.edit_resident(resident, &draft).await?)
}

/// Discharges a resident or records their death (workspace).
#[tauri::command]
#[specta::specta]
pub async fn discharge_resident(
    state: State<'_, DeviceRuntime>,
    resident: ResidentRef,
    departure: Departure,
    date: String,
) -> Result<ResidentSaved, AppError> {
    Ok(state.discharge_resident(resident, departure, &date).await?)
}
