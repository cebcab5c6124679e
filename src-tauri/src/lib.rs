//! The Tend app's Tauri adapter: the commands, the events sink that emits the
//! device runtime's changes to the window, and the window. The device's life
//! is `tend_core::device::DeviceRuntime`. `build_app` is generic over the
//! runtime so the same command wiring runs in the real window and under
//! `tauri::test::mock_builder()`.

pub mod admin;
pub mod admin_directory;
pub mod break_glass;
pub mod commands;
pub mod error;
pub mod events;
pub mod family;
pub mod login;
pub mod residents;
pub mod update;
pub mod window;
pub mod workspace;

use std::sync::Arc;

use tauri::{Runtime, Wry};
use tauri_specta::{collect_commands, collect_events};
use tend_core::device::{BadgeFeed, DeviceRuntime};

/// The typed IPC surface: every command and event the webview may use.
pub fn specta_builder<R: Runtime>() -> tauri_specta::Builder<R> {
    tauri_specta::Builder::<R>::new()
        .commands(collect_commands![
            admin::admin_approve_device,
            admin::admin_audit_chain,
            admin::admin_audit_log,
            admin::admin_export_audit_csv,
            admin::admin_verify_audit_chain,
            admin::admin_census_history,
            admin::admin_create_enrollment_code,
            admin::admin_deactivate_device,
            admin::admin_devices,
            admin::admin_enrollment_codes,
            admin::admin_facilities,
            admin::admin_facility_dashboard,
            admin::admin_import,
            admin::admin_login,
            admin::admin_logout,
            admin::admin_register_device,
            admin::admin_reject_device,
            admin::admin_revoke_enrollment_code,
            admin::admin_session,
            admin::admin_update_census,
            admin::admin_reconcile_census,
            admin_directory::admin_assign_badge,
            admin_directory::admin_badge_capture_cancel,
            admin_directory::admin_badge_capture_start,
            admin_directory::admin_badge_capture_wedge,
            admin_directory::admin_facility_detail,
            admin_directory::admin_organizations,
            admin_directory::admin_revoke_badge,
            admin_directory::admin_save_facility,
            admin_directory::admin_save_facility_policy,
            admin_directory::admin_save_organization,
            admin_directory::admin_save_user,
            admin_directory::admin_set_pin,
            admin_directory::admin_set_user_active,
            admin_directory::admin_user_badges,
            admin_directory::admin_users,
            break_glass::admin_break_glass_grants,
            break_glass::admin_review_break_glass,
            break_glass::emergency_chart,
            break_glass::emergency_facilities,
            break_glass::open_emergency_access,
            commands::app_info,
            commands::app_status,
            commands::set_device_language,
            commands::check_server_url,
            commands::device_identity,
            commands::enroll_device,
            commands::enrollment_status,
            commands::ui_ready,
            commands::wipe_notice,
            family::family_check_in,
            family::family_end,
            family::family_send_message,
            family::family_settings,
            family::family_summary,
            family::family_corner,
            family::issue_visitor_code,
            family::revoke_visitor_code,
            family::share_with_family,
            login::badge_login_wedge,
            login::cancel_pin,
            login::lock_now,
            login::set_my_language,
            login::logout,
            login::password_login,
            login::reader_status,
            login::session_activity,
            login::session_state,
            login::submit_pin,
            residents::admin_admit_resident,
            residents::admin_discharge_resident,
            residents::admin_edit_resident,
            residents::admin_residents,
            residents::admin_transfer_resident,
            residents::admit_resident,
            residents::discharge_resident,
            residents::edit_resident,
            update::restart_to_update,
            workspace::due_follow_ups,
            workspace::handoff_notes,
            workspace::facility_info,
            workspace::patient_timeline,
            workspace::roster,
            workspace::sync_now,
            workspace::sync_status,
            workspace::write_record,
            workspace::wandering_alerts,
            workspace::acknowledge_wandering_alert,
        ])
        .events(collect_events![
            events::AppStatusChanged,
            events::DeviceWiped,
            events::ReaderStatusChanged,
            events::SessionChanged,
            events::SyncStatusChanged,
            events::WanderingAlertsChanged,
            update::UpdateInstalled
        ])
        // The rules the UI checks as people type, from where Rust enforces
        // them (`export const DOMAIN_RULES` in the bindings; the drift check
        // covers it like every type).
        .typ::<tend_domain::rules::DomainRules>()
        .constant(DOMAIN_RULES, tend_domain::rules::DomainRules::current())
}

/// The name of the rules' constant in the generated TypeScript.
pub const DOMAIN_RULES: &str = "DOMAIN_RULES";

/// Exports the TypeScript bindings (used by the `export-bindings` binary and
/// the drift check in CI).
pub fn export_bindings(path: &std::path::Path) -> Result<(), String> {
    specta_builder::<Wry>()
        .export(
            specta_typescript::Typescript::default()
                .header("// Generated by `cargo run -p tend-app --bin export-bindings`. Do not edit.\n/* eslint-disable */"),
            path,
        )
        .map_err(|e| e.to_string())
}

/// Whether a command hands resident or clinical data across IPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Resident or clinical data: the command goes through
    /// `DeviceRuntime::clinical` and answers `NOT_SIGNED_IN` unless a user
    /// is completely signed in.
    Clinical,
    /// Nothing clinical (status, lock screen, setup, family kiosk with its
    /// own session, admin console with the administrator's own session).
    Open,
}

/// Every command of [`specta_builder`], classified. A test compares this
/// table with the generated bindings, so a new command cannot be added
/// without deciding whether it is clinical (and an IPC test then checks each
/// clinical one is refused on a locked screen).
pub const COMMAND_ACCESS: &[(&str, Access)] = &[
    ("admin_approve_device", Access::Open),
    ("admin_audit_chain", Access::Open),
    ("admin_audit_log", Access::Open),
    ("admin_export_audit_csv", Access::Open),
    ("admin_verify_audit_chain", Access::Open),
    ("admin_census_history", Access::Open),
    ("admin_create_enrollment_code", Access::Open),
    ("admin_deactivate_device", Access::Open),
    ("admin_devices", Access::Open),
    ("admin_enrollment_codes", Access::Open),
    ("admin_facilities", Access::Open),
    ("admin_facility_dashboard", Access::Open),
    ("admin_import", Access::Open),
    ("admin_login", Access::Open),
    ("admin_logout", Access::Open),
    ("admin_register_device", Access::Open),
    ("admin_reject_device", Access::Open),
    ("admin_revoke_enrollment_code", Access::Open),
    ("admin_session", Access::Open),
    ("admin_update_census", Access::Open),
    ("admin_reconcile_census", Access::Open),
    ("admin_assign_badge", Access::Open),
    ("admin_badge_capture_cancel", Access::Open),
    ("admin_badge_capture_start", Access::Open),
    ("admin_badge_capture_wedge", Access::Open),
    ("admin_facility_detail", Access::Open),
    ("admin_organizations", Access::Open),
    ("admin_revoke_badge", Access::Open),
    ("admin_save_facility", Access::Open),
    ("admin_save_facility_policy", Access::Open),
    ("admin_save_organization", Access::Open),
    ("admin_save_user", Access::Open),
    ("admin_set_pin", Access::Open),
    ("admin_set_user_active", Access::Open),
    ("admin_user_badges", Access::Open),
    ("admin_users", Access::Open),
    ("admin_break_glass_grants", Access::Open),
    ("admin_review_break_glass", Access::Open),
    // Emergency access reads a resident (from the server): signed-in users only.
    ("emergency_chart", Access::Clinical),
    ("emergency_facilities", Access::Clinical),
    ("open_emergency_access", Access::Clinical),
    ("app_info", Access::Open),
    ("app_status", Access::Open),
    // A display setting of the device; nothing clinical.
    ("set_device_language", Access::Open),
    ("check_server_url", Access::Open),
    ("device_identity", Access::Open),
    ("enroll_device", Access::Open),
    ("enrollment_status", Access::Open),
    ("ui_ready", Access::Open),
    ("wipe_notice", Access::Open),
    ("family_check_in", Access::Open),
    ("family_end", Access::Open),
    ("family_send_message", Access::Open),
    ("family_settings", Access::Open),
    ("family_summary", Access::Open),
    // The family portal's staff side: a signed-in user, about a resident.
    ("family_corner", Access::Clinical),
    ("issue_visitor_code", Access::Clinical),
    ("revoke_visitor_code", Access::Clinical),
    ("share_with_family", Access::Clinical),
    ("badge_login_wedge", Access::Open),
    ("cancel_pin", Access::Open),
    ("lock_now", Access::Open),
    // The signed-in person's own account setting; nothing clinical.
    ("set_my_language", Access::Open),
    ("logout", Access::Open),
    ("password_login", Access::Open),
    ("reader_status", Access::Open),
    ("session_activity", Access::Open),
    ("session_state", Access::Open),
    ("submit_pin", Access::Open),
    // The console's residents: its administrator's session, like every admin_ command.
    ("admin_admit_resident", Access::Open),
    ("admin_discharge_resident", Access::Open),
    ("admin_edit_resident", Access::Open),
    ("admin_residents", Access::Open),
    ("admin_transfer_resident", Access::Open),
    // The workspace's residents: the signed-in nurse only.
    ("admit_resident", Access::Clinical),
    ("discharge_resident", Access::Clinical),
    ("edit_resident", Access::Clinical),
    ("restart_to_update", Access::Open),
    ("due_follow_ups", Access::Clinical),
    ("handoff_notes", Access::Clinical),
    ("facility_info", Access::Clinical),
    ("patient_timeline", Access::Clinical),
    ("roster", Access::Clinical),
    ("sync_now", Access::Open),
    ("sync_status", Access::Open),
    ("write_record", Access::Clinical),
    // Room and first name only, for the lock screen (like the facility name).
    ("wandering_alerts", Access::Open),
    ("acknowledge_wandering_alert", Access::Clinical),
];

/// Wires the device runtime, commands and events into a builder of any
/// runtime. The main window is opened in the same setup hook (Tauri keeps
/// only one) and the runtime started with the window as its events sink,
/// unless `window` is `None`, as in the mock-runtime tests (which start the
/// runtime themselves when they need its background work).
pub fn build_app<R: Runtime>(
    builder: tauri::Builder<R>,
    runtime: DeviceRuntime,
    window: Option<tend_core::config::Profile>,
) -> tauri::Builder<R> {
    let specta = specta_builder::<R>();
    builder
        .manage(runtime.clone())
        .invoke_handler(specta.invoke_handler())
        .setup(move |app| {
            specta.mount_events(app);
            if let Some(profile) = window {
                let handle = tauri::async_runtime::block_on(async {
                    // Before the window asks where the device stands.
                    runtime
                        .enroll_unattended(std::time::Duration::from_secs(15))
                        .await;
                    tokio::runtime::Handle::current()
                });
                window::create_main_window(app, profile)?;
                let events = Arc::new(events::WindowEvents(app.handle().clone()));
                runtime.start(handle, events, pcsc_badges());
            }
            Ok(())
        })
}

/// The PC/SC reader watcher's badge reads; `None` when the PC/SC service
/// cannot be used (badges then come only from a keyboard wedge).
fn pcsc_badges() -> Option<BadgeFeed> {
    use tend_badge::BadgeSource;
    let (sink, reads) = tend_badge::badge_channel();
    let mut watcher = tend_badge::PcscWatcher::default();
    match watcher.start(sink) {
        Ok(()) => Some(BadgeFeed::new(reads, watcher)),
        Err(e) => {
            tracing::warn!(error = %e, "no PC/SC badge watcher");
            None
        }
    }
}
