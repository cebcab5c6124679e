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
            "family_check_in",
            "family_end",
            "family_send_message",
            "family_settings",
            "family_summary",
            "lock_now",
            "logout",
            "password_login",
            "reader_status",
            "session_activity",
            "session_state",
            "submit_pin",
            "ui_ready",
            "wipe_notice",
        ]),
    ))
    .expect("tauri build script failed");
}
