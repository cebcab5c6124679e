//! The admin console's directory over IPC: organizations, facilities, staff
//! accounts, badges and PINs. Each command checks the form (so typing
//! mistakes show even after the session ended), then calls
//! `tend_core::admin_directory` with the signed-in session. Badge numbers,
//! passwords and PINs become `Secret`s at once and are never logged.

use std::collections::BTreeMap;

use tauri::State;
use tend_core::admin::CaptureOutcome;
use tend_core::admin_directory::{
    check_badge_uid, check_pin, policy_only_update, BadgeSummary, FacilityDetail, FacilityForm,
    OrganizationDetail, OrganizationForm, PinChanged, StaffForm, StaffMember,
};
use tend_core::device::DeviceRuntime;
use tend_domain::wire::Secret;

use crate::error::AppError;

/// The organizations the administrator can see.
#[tauri::command]
#[specta::specta]
pub async fn admin_organizations(
    state: State<'_, DeviceRuntime>,
) -> Result<Vec<OrganizationDetail>, AppError> {
    Ok(state
        .admin()
        .with_session(|s| async move { s.organizations().await })
        .await?)
}

/// Creates (no `id`) or updates an organization; field errors name the form's fields.
#[tauri::command]
#[specta::specta]
pub async fn admin_save_organization(
    state: State<'_, DeviceRuntime>,
    organization: OrganizationForm,
) -> Result<OrganizationDetail, AppError> {
    organization.validate()?;
    Ok(state
        .admin()
        .with_session(|s| async move { s.save_organization(&organization).await })
        .await?)
}

/// One facility with every editable field.
#[tauri::command]
#[specta::specta]
pub async fn admin_facility_detail(
    state: State<'_, DeviceRuntime>,
    facility_id: u32,
) -> Result<FacilityDetail, AppError> {
    Ok(state
        .admin()
        .with_session(|s| async move { s.facility(facility_id.into()).await })
        .await?)
}

/// Creates (no `id`) or updates a facility; field errors name the form's fields.
#[tauri::command]
#[specta::specta]
pub async fn admin_save_facility(
    state: State<'_, DeviceRuntime>,
    facility: FacilityForm,
) -> Result<FacilityDetail, AppError> {
    facility.validate()?;
    Ok(state
        .admin()
        .with_session(|s| async move { s.save_facility(&facility).await })
        .await?)
}

/// Saves only a facility's policy (its numbers as typed, by wire name): what
/// the facility's own administrator may change; field errors name
/// `policy.<field>` as the full form's do.
#[tauri::command]
#[specta::specta]
pub async fn admin_save_facility_policy(
    state: State<'_, DeviceRuntime>,
    facility_id: u32,
    policy: BTreeMap<String, String>,
) -> Result<FacilityDetail, AppError> {
    policy_only_update(&policy)?;
    Ok(state
        .admin()
        .with_session(|s| async move { s.save_facility_policy(facility_id.into(), &policy).await })
        .await?)
}

/// A facility's staff accounts, deactivated ones included.
#[tauri::command]
#[specta::specta]
pub async fn admin_users(
    state: State<'_, DeviceRuntime>,
    facility_id: u32,
) -> Result<Vec<StaffMember>, AppError> {
    Ok(state
        .admin()
        .with_session(|s| async move { s.staff(facility_id.into()).await })
        .await?)
}

/// Creates (no `id`, `password` required) or updates a staff account; a
/// password on an update replaces the old one.
#[tauri::command]
#[specta::specta]
pub async fn admin_save_user(
    state: State<'_, DeviceRuntime>,
    user: StaffForm,
    password: Option<String>,
) -> Result<StaffMember, AppError> {
    let password = password.filter(|p| !p.is_empty()).map(Secret::new);
    user.validate(password.as_ref())?;
    Ok(state
        .admin()
        .with_session(|s| async move { s.save_staff(&user, password.as_ref()).await })
        .await?)
}

/// Deactivates (no more sign-ins) or reactivates a staff account.
#[tauri::command]
#[specta::specta]
pub async fn admin_set_user_active(
    state: State<'_, DeviceRuntime>,
    user_id: u32,
    active: bool,
) -> Result<StaffMember, AppError> {
    Ok(state
        .admin()
        .with_session(|s| async move { s.set_staff_active(user_id.into(), active).await })
        .await?)
}

/// A user's badges, revoked ones included (never the badge numbers).
#[tauri::command]
#[specta::specta]
pub async fn admin_user_badges(
    state: State<'_, DeviceRuntime>,
    user_id: u32,
) -> Result<Vec<BadgeSummary>, AppError> {
    Ok(state
        .admin()
        .with_session(|s| async move { s.badges(user_id.into()).await })
        .await?)
}

/// Assigns a badge by its number as typed.
#[tauri::command]
#[specta::specta]
pub async fn admin_assign_badge(
    state: State<'_, DeviceRuntime>,
    user_id: u32,
    badge_uid: String,
    label: Option<String>,
) -> Result<BadgeSummary, AppError> {
    let badge_uid = Secret::new(badge_uid);
    check_badge_uid(&badge_uid)?;
    Ok(state
        .admin()
        .with_session(|s| async move {
            s.assign_badge(user_id.into(), &badge_uid, label.as_deref())
                .await
        })
        .await?)
}

/// "Tap a badge to assign": the device's next badge read (PC/SC reader or
/// keyboard wedge) is assigned to the user instead of signing anyone in.
/// Answers when the capture ends: assigned, cancelled, timed out, session ended.
#[tauri::command]
#[specta::specta]
pub async fn admin_badge_capture_start(
    state: State<'_, DeviceRuntime>,
    user_id: u32,
    label: Option<String>,
) -> Result<CaptureOutcome, AppError> {
    Ok(state
        .admin()
        .capture_badge(user_id.into(), label.as_deref())
        .await?)
}

/// Stops waiting for a badge tap (the waiting start answers `cancelled`).
#[tauri::command]
#[specta::specta]
pub fn admin_badge_capture_cancel(state: State<'_, DeviceRuntime>) -> Result<(), AppError> {
    state.admin().badge_capture().cancel();
    Ok(())
}

/// A value a keyboard-wedge reader typed in the console while it waits for a
/// badge; true when the capture took it (never a sign-in, never shown).
#[tauri::command]
#[specta::specta]
pub fn admin_badge_capture_wedge(
    state: State<'_, DeviceRuntime>,
    value: String,
) -> Result<bool, AppError> {
    Ok(state.badge_capture_wedge(&value)?)
}

/// Revokes a badge: it stops working at the next badge login.
#[tauri::command]
#[specta::specta]
pub async fn admin_revoke_badge(
    state: State<'_, DeviceRuntime>,
    user_id: u32,
    badge_id: u32,
) -> Result<BadgeSummary, AppError> {
    Ok(state
        .admin()
        .with_session(|s| async move { s.revoke_badge(user_id.into(), badge_id.into()).await })
        .await?)
}

/// Sets or replaces a user's PIN.
#[tauri::command]
#[specta::specta]
pub async fn admin_set_pin(
    state: State<'_, DeviceRuntime>,
    user_id: u32,
    pin: String,
) -> Result<PinChanged, AppError> {
    let pin = Secret::new(pin);
    check_pin(&pin)?;
    Ok(state
        .admin()
        .with_session(|s| async move { s.set_pin(user_id.into(), &pin).await })
        .await?)
}
