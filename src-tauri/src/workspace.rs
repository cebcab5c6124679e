//! The nurse workspace's IPC surface: the facility's residents and their
//! documentation from the device's vault, writing new records (offline-first:
//! the vault first, the server when the sync loop gets there), and the sync
//! status for the status bar. Every command that returns resident or clinical
//! data goes through `DeviceRuntime::clinical`, which answers `NOT_SIGNED_IN`
//! unless a user is completely signed in; the author of a record is always
//! that user, never a value from the webview.

use tauri::State;
use tend_core::device::DeviceRuntime;
use tend_core::sync::{DueFollowUp, HandoffNote, LocalRecord, RosterPatient, SyncStatus};
use tend_domain::records::RecordBody;
use tend_domain::wire::SyncedFacility;
use uuid::Uuid;

use crate::error::AppError;

/// The facility's residents, filtered by name, room or MRN, sorted by room.
#[tauri::command]
#[specta::specta]
pub async fn roster(
    state: State<'_, DeviceRuntime>,
    search: String,
) -> Result<Vec<RosterPatient>, AppError> {
    Ok(state.clinical()?.roster(&search).await?)
}

/// A resident's documentation, newest first.
#[tauri::command]
#[specta::specta]
pub async fn patient_timeline(
    state: State<'_, DeviceRuntime>,
    patient_id: u32,
    limit: u32,
) -> Result<Vec<LocalRecord>, AppError> {
    Ok(state.clinical()?.timeline(patient_id.into(), limit).await?)
}

/// Writes a record for a resident as the signed-in user, now; with a
/// `correction_reason`, a correction of the record it `amends`.
#[tauri::command]
#[specta::specta]
pub async fn write_record(
    state: State<'_, DeviceRuntime>,
    patient_id: u32,
    amends: Option<Uuid>,
    correction_reason: Option<String>,
    body: RecordBody,
) -> Result<LocalRecord, AppError> {
    let clinical = state.clinical()?;
    Ok(clinical
        .write_record(
            patient_id.into(),
            amends,
            correction_reason.as_deref(),
            body,
        )
        .await?)
}

/// PRN doses of the facility whose effectiveness follow-up is due within 2 h
/// or overdue (up to a day), most urgent first: the nurse home's "Due soon".
#[tauri::command]
#[specta::specta]
pub async fn due_follow_ups(state: State<'_, DeviceRuntime>) -> Result<Vec<DueFollowUp>, AppError> {
    Ok(state.clinical()?.due_follow_ups().await?)
}

/// Care notes colleagues wrote in the facility during the last 12 h, newest
/// first, without the signed-in user's own: the nurse home's hand-off notes.
#[tauri::command]
#[specta::specta]
pub async fn handoff_notes(state: State<'_, DeviceRuntime>) -> Result<Vec<HandoffNote>, AppError> {
    Ok(state.clinical()?.handoff_notes().await?)
}

/// The device's facility as last synced (name, features); null before the
/// first sync. Clinical: a locked screen reads the name from `app_status`.
#[tauri::command]
#[specta::specta]
pub async fn facility_info(
    state: State<'_, DeviceRuntime>,
) -> Result<Option<SyncedFacility>, AppError> {
    Ok(state.clinical()?.facility().await?)
}

/// Where sync stands (the status bar and the sync details panel): counts, no
/// resident data.
#[tauri::command]
#[specta::specta]
pub fn sync_status(state: State<'_, DeviceRuntime>) -> Result<SyncStatus, AppError> {
    Ok(state.sync_status())
}

/// Syncs now instead of at the next tick.
#[tauri::command]
#[specta::specta]
pub fn sync_now(state: State<'_, DeviceRuntime>) -> Result<(), AppError> {
    Ok(state.sync_now()?)
}

/// The facility's open wandering alerts (pushed live, or synced when the
/// push channel is down). Open on purpose: the lock screen shows them to
/// everyone, and they carry only a room and a first name.
#[tauri::command]
#[specta::specta]
pub async fn wandering_alerts(
    state: State<'_, DeviceRuntime>,
) -> Result<tend_core::alerts::WanderingAlerts, AppError> {
    Ok(state.wandering_alerts().await?)
}

/// Acknowledges a wandering alert as the signed-in clinician (online).
#[tauri::command]
#[specta::specta]
pub async fn acknowledge_wandering_alert(
    state: State<'_, DeviceRuntime>,
    id: Uuid,
) -> Result<tend_domain::wire::LiveAlert, AppError> {
    Ok(state.acknowledge_wandering_alert(id).await?)
}
