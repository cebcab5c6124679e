//! Declares Tend's own commands to Tauri's ACL so capabilities can grant
//! exactly these and nothing else.
fn main() {
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(
        tauri_build::AppManifest::new().commands(&[
            "admin_approve_device",
            "admin_create_enrollment_code",
            "admin_deactivate_device",
            "admin_devices",
            "admin_enrollment_codes",
            "admin_facilities",
            "admin_login",
            "admin_logout",
            "admin_register_device",
            "admin_reject_device",
            "admin_revoke_enrollment_code",
            "admin_session",
            "app_info",
            "app_status",
            "badge_login_wedge",
            "cancel_pin",
            "check_server_url",
            "device_identity",
            "enroll_device",
            "enrollment_status",
            "facility_info",
            "lock_now",
            "logout",
            "password_login",
            "patient_timeline",
            "reader_status",
            "roster",
            "session_activity",
            "session_state",
            "submit_pin",
            "sync_now",
            "sync_status",
            "ui_ready",
            "wipe_notice",
            "write_record",
        ]),
    ))
    .expect("tauri build script failed");
}
