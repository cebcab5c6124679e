//! The admin console's IPC surface: sign in against the app's server, then
//! manage a facility's devices and enrollment codes. Each command calls
//! `tend_core::admin`; the session token never crosses into the webview.

use tauri::State;
use tend_core::admin::{
    AdminUser, AuditChainSummary, AuditExportSaved, AuditLogPage, AuditLogQuery, CensusSaved,
    DashboardFigures, DeviceSummary, EnrollmentCodeOptions, EnrollmentCodeSummary, FacilitySummary,
    NewEnrollmentCode, OccupancyHistory, RegisterDevice,
};
use tend_core::device::DeviceRuntime;
use tend_domain::wire::{ImportReport, ImportRequest, Secret};
use tend_domain::{DeviceType, HistoryDays};

use crate::error::AppError;

/// Signs in with an administrator's username and password at the server
/// this app is configured or enrolled with.
#[tauri::command]
#[specta::specta]
pub async fn admin_login(
    state: State<'_, DeviceRuntime>,
    username: String,
    password: String,
) -> Result<AdminUser, AppError> {
    let server_url = state.status().server_url;
    Ok(state
        .admin()
        .sign_in(server_url.as_deref(), &username, &Secret::new(password))
        .await?)
}

/// Ends the administrator's session (here and on the server).
#[tauri::command]
#[specta::specta]
pub async fn admin_logout(state: State<'_, DeviceRuntime>) -> Result<(), AppError> {
    state.admin().sign_out().await;
    Ok(())
}

/// Who is signed in to the console (`null`: nobody).
#[tauri::command]
#[specta::specta]
pub async fn admin_session(state: State<'_, DeviceRuntime>) -> Result<Option<AdminUser>, AppError> {
    Ok(state.admin().user().await)
}

/// One page of the audit log; reading another facility's is itself audited.
#[tauri::command]
#[specta::specta]
pub async fn admin_audit_log(
    state: State<'_, DeviceRuntime>,
    query: AuditLogQuery,
) -> Result<AuditLogPage, AppError> {
    Ok(state
        .admin()
        .with_session(|s| async move { s.audit_log(&query).await })
        .await?)
}

/// The audit chain's latest verification per chain the administrator may see.
#[tauri::command]
#[specta::specta]
pub async fn admin_audit_chain(
    state: State<'_, DeviceRuntime>,
) -> Result<AuditChainSummary, AppError> {
    Ok(state
        .admin()
        .with_session(|s| async move { s.audit_chain().await })
        .await?)
}

/// Verifies the audit chain now (organization and platform administrators).
#[tauri::command]
#[specta::specta]
pub async fn admin_verify_audit_chain(
    state: State<'_, DeviceRuntime>,
) -> Result<AuditChainSummary, AppError> {
    Ok(state
        .admin()
        .with_session(|s| async move { s.verify_audit_chain().await })
        .await?)
}

/// Saves the audit log, with the page's filters, as a CSV file in the
/// user's Downloads folder (the server records the export).
#[tauri::command]
#[specta::specta]
pub async fn admin_export_audit_csv(
    state: State<'_, DeviceRuntime>,
    query: AuditLogQuery,
) -> Result<AuditExportSaved, AppError> {
    let dir = tend_core::admin::downloads_dir();
    Ok(state
        .admin()
        .with_session(|s| async move { s.export_audit_csv(&query, &dir, chrono::Utc::now()).await })
        .await?)
}

/// Checks (`dry_run`) or imports CSV files of facilities, staff and
/// residents into an organization (organization and platform administrators).
/// Problems in the files come back in the report, by file, line and column.
#[tauri::command]
#[specta::specta]
pub async fn admin_import(
    state: State<'_, DeviceRuntime>,
    organization_id: u32,
    files: ImportRequest,
    dry_run: bool,
) -> Result<ImportReport, AppError> {
    Ok(state
        .admin()
        .with_session(|s| async move {
            s.import_csv(i64::from(organization_id), &files, dry_run)
                .await
        })
        .await?)
}

/// The facilities the administrator may manage.
#[tauri::command]
#[specta::specta]
pub async fn admin_facilities(
    state: State<'_, DeviceRuntime>,
) -> Result<Vec<FacilitySummary>, AppError> {
    Ok(state
        .admin()
        .with_session(|s| async move { s.facilities().await })
        .await?)
}

/// A facility's devices with online state, sync status and posture.
#[tauri::command]
#[specta::specta]
pub async fn admin_devices(
    state: State<'_, DeviceRuntime>,
    facility_id: u32,
) -> Result<Vec<DeviceSummary>, AppError> {
    Ok(state
        .admin()
        .with_session(|s| async move { s.devices(facility_id.into()).await })
        .await?)
}

/// Pre-registers hardware by UUID; field errors name the form's fields.
#[tauri::command]
#[specta::specta]
pub async fn admin_register_device(
    state: State<'_, DeviceRuntime>,
    device: RegisterDevice,
) -> Result<DeviceSummary, AppError> {
    // Typing mistakes are reported even when the session has ended.
    device.validate()?;
    Ok(state
        .admin()
        .with_session(|s| async move { s.register_device(&device).await })
        .await?)
}

/// Approves a device waiting for approval.
#[tauri::command]
#[specta::specta]
pub async fn admin_approve_device(
    state: State<'_, DeviceRuntime>,
    device_id: u32,
) -> Result<DeviceSummary, AppError> {
    Ok(state
        .admin()
        .with_session(|s| async move { s.approve_device(device_id.into()).await })
        .await?)
}

/// Rejects a device waiting for approval.
#[tauri::command]
#[specta::specta]
pub async fn admin_reject_device(
    state: State<'_, DeviceRuntime>,
    device_id: u32,
) -> Result<DeviceSummary, AppError> {
    Ok(state
        .admin()
        .with_session(|s| async move { s.reject_device(device_id.into()).await })
        .await?)
}

/// Deactivates a device: at its next contact it locks and erases its data.
#[tauri::command]
#[specta::specta]
pub async fn admin_deactivate_device(
    state: State<'_, DeviceRuntime>,
    device_id: u32,
) -> Result<DeviceSummary, AppError> {
    Ok(state
        .admin()
        .with_session(|s| async move { s.deactivate_device(device_id.into()).await })
        .await?)
}

/// A facility's enrollment codes, without the codes themselves.
#[tauri::command]
#[specta::specta]
pub async fn admin_enrollment_codes(
    state: State<'_, DeviceRuntime>,
    facility_id: u32,
) -> Result<Vec<EnrollmentCodeSummary>, AppError> {
    Ok(state
        .admin()
        .with_session(|s| async move { s.enrollment_codes(facility_id.into()).await })
        .await?)
}

/// Issues an enrollment code; the answer is the only time it is shown.
#[tauri::command]
#[specta::specta]
pub async fn admin_create_enrollment_code(
    state: State<'_, DeviceRuntime>,
    facility_id: u32,
    expires_in_hours: Option<u32>,
    max_uses: Option<u32>,
    device_type: Option<DeviceType>,
) -> Result<NewEnrollmentCode, AppError> {
    let options = EnrollmentCodeOptions {
        expires_in_hours,
        max_uses,
        device_type,
    };
    Ok(state
        .admin()
        .with_session(
            |s| async move { s.create_enrollment_code(facility_id.into(), &options).await },
        )
        .await?)
}

/// Revokes an enrollment code so no further device can use it.
#[tauri::command]
#[specta::specta]
pub async fn admin_revoke_enrollment_code(
    state: State<'_, DeviceRuntime>,
    facility_id: u32,
    code_id: u32,
) -> Result<EnrollmentCodeSummary, AppError> {
    Ok(state
        .admin()
        .with_session(|s| async move {
            s.revoke_enrollment_code(facility_id.into(), code_id.into())
                .await
        })
        .await?)
}

/// A facility's dashboard: census and capacity, device health, staffing.
#[tauri::command]
#[specta::specta]
pub async fn admin_facility_dashboard(
    state: State<'_, DeviceRuntime>,
    facility_id: u32,
) -> Result<DashboardFigures, AppError> {
    Ok(state
        .admin()
        .with_session(|s| async move { s.dashboard(facility_id.into()).await })
        .await?)
}

/// Occupancy over the last `days` days (1–365, default 30), one point a day.
#[tauri::command]
#[specta::specta]
pub async fn admin_census_history(
    state: State<'_, DeviceRuntime>,
    facility_id: u32,
    days: Option<u32>,
) -> Result<OccupancyHistory, AppError> {
    let days = days.map_or(Ok(HistoryDays::DEFAULT), |d| HistoryDays::new(d.into()))?;
    Ok(state
        .admin()
        .with_session(|s| async move { s.census_history(facility_id.into(), days).await })
        .await?)
}

/// Sets the census to the facility's active residents (counted by the server).
#[tauri::command]
#[specta::specta]
pub async fn admin_reconcile_census(
    state: State<'_, DeviceRuntime>,
    facility_id: u32,
) -> Result<CensusSaved, AppError> {
    Ok(state
        .admin()
        .with_session(|s| async move { s.reconcile_census(facility_id.into()).await })
        .await?)
}

/// Sets the facility's census; a refusal names `current_census`.
#[tauri::command]
#[specta::specta]
pub async fn admin_update_census(
    state: State<'_, DeviceRuntime>,
    facility_id: u32,
    current_census: i32,
) -> Result<CensusSaved, AppError> {
    // A negative census is refused even when the session has ended.
    tend_core::admin::census_update(current_census.into())?;
    Ok(state
        .admin()
        .with_session(|s| async move {
            s.update_census(facility_id.into(), current_census.into())
                .await
        })
        .await?)
}
