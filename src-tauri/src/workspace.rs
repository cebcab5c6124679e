//! The nurse workspace's IPC surface: the facility's residents and their
//! documentation from the device's vault, writing new records (offline-first:
//! the vault first, the server when the sync loop gets there), and the sync
//! status for the status bar. The author of a record is always the signed-in
//! user on the lock screen, never a value from the webview.

use chrono::Utc;
use tauri::State;
use tend_core::sync::{DueFollowUp, HandoffNote, LocalRecord, RosterPatient, SyncStatus};
use tend_domain::records::{RecordBody, RecordDraft};
use tend_domain::wire::SyncedFacility;
use tend_domain::ErrorCode;
use uuid::Uuid;

use crate::error::AppError;
use crate::state::AppState;

/// Most timeline entries one call returns.
const MAX_TIMELINE: u32 = 500;

/// The facility's residents, filtered by name, room or MRN, sorted by room.
#[tauri::command]
#[specta::specta]
pub async fn roster(
    state: State<'_, AppState>,
    search: String,
) -> Result<Vec<RosterPatient>, AppError> {
    Ok(state.sync_engine()?.patients(&search).await?)
}

/// A resident's documentation, newest first.
#[tauri::command]
#[specta::specta]
pub async fn patient_timeline(
    state: State<'_, AppState>,
    patient_id: u32,
    limit: u32,
) -> Result<Vec<LocalRecord>, AppError> {
    let engine = state.sync_engine()?;
    Ok(engine
        .timeline(patient_id.into(), limit.clamp(1, MAX_TIMELINE))
        .await?)
}

/// Writes a record for a resident as the signed-in user, now.
#[tauri::command]
#[specta::specta]
pub async fn write_record(
    state: State<'_, AppState>,
    patient_id: u32,
    amends: Option<Uuid>,
    body: RecordBody,
) -> Result<LocalRecord, AppError> {
    let engine = state.sync_engine()?;
    let author = state.login.signed_in_user().ok_or_else(|| AppError {
        code: ErrorCode::Unauthorized,
        message: "sign in with your badge before documenting".into(),
        fields: Default::default(),
    })?;
    let draft = RecordDraft {
        patient_id: patient_id.into(),
        author_user_id: author.id,
        recorded_at: Utc::now(),
        amends,
        body,
    };
    Ok(engine.write_record(draft).await?)
}

/// PRN doses of the facility whose effectiveness follow-up is due within 2 h
/// or overdue (up to a day), most urgent first: the nurse home's "Due soon".
#[tauri::command]
#[specta::specta]
pub async fn due_follow_ups(state: State<'_, AppState>) -> Result<Vec<DueFollowUp>, AppError> {
    Ok(state.sync_engine()?.due_follow_ups().await?)
}

/// Care notes colleagues wrote in the facility during the last 12 h, newest
/// first, without the signed-in user's own: the nurse home's hand-off notes.
#[tauri::command]
#[specta::specta]
pub async fn handoff_notes(state: State<'_, AppState>) -> Result<Vec<HandoffNote>, AppError> {
    let reader = state.login.signed_in_user().map(|user| user.id);
    Ok(state.sync_engine()?.handoff_notes(reader).await?)
}

/// The device's facility as last synced (name, features); null before the
/// first sync.
#[tauri::command]
#[specta::specta]
pub async fn facility_info(state: State<'_, AppState>) -> Result<Option<SyncedFacility>, AppError> {
    match state.sync_engine_if_running() {
        Some(engine) => Ok(engine.facility().await?),
        None => Ok(None),
    }
}

/// Where sync stands (the status bar and the sync details panel).
#[tauri::command]
#[specta::specta]
pub fn sync_status(state: State<'_, AppState>) -> Result<SyncStatus, AppError> {
    Ok(state
        .sync_engine_if_running()
        .map(|engine| engine.status())
        .unwrap_or_default())
}

/// Syncs now instead of at the next tick.
#[tauri::command]
#[specta::specta]
pub fn sync_now(state: State<'_, AppState>) -> Result<(), AppError> {
    state.sync_engine()?.sync_now();
    Ok(())
}
