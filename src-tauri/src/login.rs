//! The lock screen's IPC surface: badge taps from a keyboard-wedge reader,
//! the PIN, the password fallback, lock and log out. Each command calls
//! the device runtime; the user's session token never crosses into the
//! webview, which only sees [`SessionState`]. PC/SC taps reach the same badge
//! entrance without a command and the window hears them as `SessionChanged`,
//! like every other change.

use tauri::State;
use tend_core::device::DeviceRuntime;
use tend_core::login::{ReaderStatus, SessionState};

use crate::error::AppError;

/// What the lock screen shows now.
#[tauri::command]
#[specta::specta]
pub fn session_state(state: State<'_, DeviceRuntime>) -> Result<SessionState, AppError> {
    Ok(state.session_state())
}

/// Whether a badge reader is connected.
#[tauri::command]
#[specta::specta]
pub fn reader_status(state: State<'_, DeviceRuntime>) -> Result<ReaderStatus, AppError> {
    Ok(state.reader_status())
}

/// A value a keyboard-wedge reader typed on the lock screen (prefix and
/// suffix already stripped by the window), checked against the configured
/// format; the same badge entrance as the PC/SC readers.
#[tauri::command]
#[specta::specta]
pub async fn badge_login_wedge(
    state: State<'_, DeviceRuntime>,
    value: String,
) -> Result<SessionState, AppError> {
    Ok(state.badge_wedge(&value).await?)
}

/// The PIN the policy asked for.
#[tauri::command]
#[specta::specta]
pub async fn submit_pin(
    state: State<'_, DeviceRuntime>,
    pin: String,
) -> Result<SessionState, AppError> {
    Ok(state.login().submit_pin(&pin).await?)
}

/// Leaves the PIN pad.
#[tauri::command]
#[specta::specta]
pub fn cancel_pin(state: State<'_, DeviceRuntime>) -> Result<SessionState, AppError> {
    Ok(state.login().cancel_pin())
}

/// "Use password instead".
#[tauri::command]
#[specta::specta]
pub async fn password_login(
    state: State<'_, DeviceRuntime>,
    username: String,
    password: String,
) -> Result<SessionState, AppError> {
    Ok(state.login().password(&username, &password).await?)
}

/// The signed-in person's own language (`null`: the device's): the session
/// follows at once; `OFFLINE` when it could be saved on this device only.
#[tauri::command]
#[specta::specta]
pub async fn set_my_language(
    state: State<'_, DeviceRuntime>,
    language: Option<tend_domain::Language>,
) -> Result<SessionState, AppError> {
    Ok(state.set_my_language(language).await?)
}

/// Locks the screen now; the session is kept for its user.
#[tauri::command]
#[specta::specta]
pub fn lock_now(state: State<'_, DeviceRuntime>) -> Result<SessionState, AppError> {
    Ok(state.login().lock())
}

/// Ends the session.
#[tauri::command]
#[specta::specta]
pub fn logout(state: State<'_, DeviceRuntime>) -> Result<SessionState, AppError> {
    Ok(state.login().logout())
}

/// The user touched or typed (the window reports it, throttled); postpones
/// the idle lock.
#[tauri::command]
#[specta::specta]
pub fn session_activity(state: State<'_, DeviceRuntime>) -> Result<(), AppError> {
    state.login().activity();
    Ok(())
}
