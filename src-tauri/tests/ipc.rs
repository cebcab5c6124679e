//! Every command through Tauri's real IPC path (invoke handler, ACL,
//! serialization) on the mock runtime: no display needed.

use std::path::Path;
use std::time::Instant;

use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY,
};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};
use tend_core::config::{AppConfig, CliArgs, Environment};
use tend_core::device::DeviceRuntime;

fn config(data_dir: &Path, server_url: Option<&str>) -> AppConfig {
    let mut args = vec!["--data-dir".to_owned(), data_dir.display().to_string()];
    if let Some(url) = server_url {
        let file = data_dir.join("tend.toml");
        std::fs::write(&file, format!("server_url = \"{url}\"\n")).unwrap();
        args.extend(["--config".to_owned(), file.display().to_string()]);
    }
    let env = Environment {
        vars: vec![],
        default_data_dir: data_dir.join("default"),
        default_config_file: data_dir.join("absent.toml"),
    };
    AppConfig::resolve(&CliArgs::parse(args).unwrap(), &env).unwrap()
}

fn app(config: &AppConfig) -> (App<MockRuntime>, WebviewWindow<MockRuntime>) {
    let runtime = DeviceRuntime::new(config, env!("CARGO_PKG_VERSION"), Instant::now());
    let app = tend_app::build_app(mock_builder(), runtime, None)
        .build(mock_context(noop_assets()))
        .expect("mock app builds");
    let window = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("mock window builds");
    (app, window)
}

fn invoke(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().unwrap())
}

#[test]
fn app_info_reports_version_profile_and_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), None));
    let info = invoke(&window, "app_info", json!({})).unwrap();
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["profile"], "desktop");
    assert_eq!(info["data_dir"], dir.path().display().to_string());
    assert_eq!(
        info["log_dir"],
        dir.path().join("logs").display().to_string()
    );
    assert!(info["platform"].as_str().unwrap().contains('-'));
}

#[test]
fn app_status_is_not_configured_on_first_run() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), None));
    let status = invoke(&window, "app_status", json!({})).unwrap();
    assert_eq!(status["connection"], "not_configured");
    assert_eq!(status["server_url"], Value::Null);
    assert_eq!(status["pending"], 0);
}

#[test]
fn app_status_with_a_configured_server_starts_offline() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), Some("https://api.example.org")));
    let status = invoke(&window, "app_status", json!({})).unwrap();
    assert_eq!(status["connection"], "offline");
    assert_eq!(status["server_url"], "https://api.example.org");
}

#[test]
fn the_device_language_is_english_until_chosen_and_needs_no_session() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), None));
    assert_eq!(
        invoke(&window, "app_status", json!({})).unwrap()["language"],
        "en"
    );
    let status = invoke(&window, "set_device_language", json!({ "language": "es" })).unwrap();
    assert_eq!(status["language"], "es");
    assert_eq!(
        invoke(&window, "app_status", json!({})).unwrap()["language"],
        "es"
    );
    // Kept in the device's data directory: a restart shows it again.
    let (_again, window) = app(&config(dir.path(), None));
    assert_eq!(
        invoke(&window, "app_status", json!({})).unwrap()["language"],
        "es"
    );
    for bad in [
        json!({ "language": "fr" }),
        json!({ "language": null }),
        json!({}),
    ] {
        let err = invoke(&window, "set_device_language", bad.clone()).unwrap_err();
        assert!(err.as_str().unwrap().contains("language"), "{bad}: {err}");
    }
}

#[test]
fn choosing_ones_own_language_needs_a_session() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), None));
    let err = invoke(&window, "set_my_language", json!({ "language": "es" })).unwrap_err();
    assert_eq!(err["code"], "NOT_SIGNED_IN", "{err}");
    let err = invoke(&window, "set_my_language", json!({ "language": "fr" })).unwrap_err();
    assert!(err.as_str().unwrap().contains("language"), "{err}");
}

#[test]
fn check_server_url_normalizes_a_good_address() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), None));
    let ok = invoke(
        &window,
        "check_server_url",
        json!({ "url": "https://api.example.org/" }),
    )
    .unwrap();
    assert_eq!(ok["normalized"], "https://api.example.org");
    assert_eq!(ok["is_loopback"], false);
}

#[test]
fn check_server_url_refuses_plain_http_with_a_coded_error() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), None));
    let err = invoke(
        &window,
        "check_server_url",
        json!({ "url": "http://api.example.org" }),
    )
    .unwrap_err();
    assert_eq!(err["code"], "VALIDATION_FAILED");
    assert!(err["message"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .contains("https"));
}

#[test]
fn check_server_url_without_its_argument_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), None));
    let err = invoke(&window, "check_server_url", json!({})).unwrap_err();
    assert!(err.as_str().unwrap().contains("url"), "{err}");
}

#[test]
fn ui_ready_returns_the_current_status_and_can_be_called_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), None));
    let first = invoke(&window, "ui_ready", json!({})).unwrap();
    assert_eq!(first["connection"], "not_configured");
    let second = invoke(&window, "ui_ready", json!({})).unwrap();
    assert_eq!(first, second);
}

#[test]
fn an_unknown_command_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), None));
    assert!(invoke(&window, "read_file", json!({ "path": "/etc/shadow" })).is_err());
}

#[test]
fn device_identity_shows_the_hardware_uuid_and_its_source() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), None));
    let Ok(info) = invoke(&window, "device_identity", json!({})) else {
        // A container without DMI, Pi serial or machine-id: nothing to show.
        return;
    };
    assert_eq!(info["device_uuid"].as_str().unwrap().len(), 36);
    assert!(info["identity_source"].is_string());
    assert!(!info["os"].as_str().unwrap().is_empty());
}

#[test]
fn enrollment_status_is_null_before_setup() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), None));
    assert_eq!(
        invoke(&window, "enrollment_status", json!({})).unwrap(),
        Value::Null
    );
}

#[test]
fn enroll_device_reports_stable_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), None));
    let enroll = |url: &str, code: &str| {
        invoke(
            &window,
            "enroll_device",
            json!({"serverUrl": url, "code": code}),
        )
        .unwrap_err()["code"]
            .clone()
    };
    assert_eq!(
        enroll("http://tend.example.org", "ABCD-EFGH"),
        "VALIDATION_FAILED"
    );
    assert_eq!(
        enroll("http://127.0.0.1:9", "not a code!"),
        "ENROLLMENT_CODE_INVALID"
    );
    if std::fs::metadata("/etc/machine-id").is_ok() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        assert_eq!(enroll(&url, "abcd efgh"), "ENROLLMENT_CODE_INVALID");
        assert_eq!(
            enroll(&url, "7k2m oooo 1111 2222 3333 4444 abcd"),
            "OFFLINE"
        );
    }
    assert!(!dir.path().join("enrollment.json").exists());
}

#[test]
fn wipe_notice_is_null_until_a_wipe_then_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), None));
    assert_eq!(
        invoke(&window, "wipe_notice", json!({})).unwrap(),
        Value::Null
    );
    // What the device session leaves behind after a remote wipe.
    std::fs::write(
        dir.path().join(tend_core::enrollment::WIPE_NOTICE_FILE),
        r#"{"reason":"DEVICE_DEACTIVATED","wiped_at":"2026-11-27T02:00:00Z"}"#,
    )
    .unwrap();
    let notice = invoke(&window, "wipe_notice", json!({})).unwrap();
    assert_eq!(notice["reason"], "DEVICE_DEACTIVATED");
    assert_eq!(
        invoke(&window, "enrollment_status", json!({})).unwrap(),
        Value::Null
    );
}

#[test]
fn admin_commands_need_a_signed_in_administrator() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), Some("https://api.example.org")));
    assert_eq!(
        invoke(&window, "admin_session", json!({})).unwrap(),
        Value::Null
    );
    for (cmd, args) in [
        ("admin_facilities", json!({})),
        ("admin_devices", json!({"facilityId": 1})),
        (
            "admin_audit_log",
            json!({"query": {"facility_id": null, "actor_user_id": null, "action_prefix": null, "cross_facility_only": false, "cursor": null}}),
        ),
        ("admin_audit_chain", json!({})),
        ("admin_verify_audit_chain", json!({})),
        (
            "admin_import",
            json!({"organizationId": 1, "dryRun": true, "files": {"staff": {"name": "staff.csv", "csv": "facility\n"}}}),
        ),
        (
            "admin_export_audit_csv",
            json!({"query": {"facility_id": null, "actor_user_id": null, "action_prefix": null, "cross_facility_only": false, "cursor": null}}),
        ),
        ("admin_approve_device", json!({"deviceId": 1})),
        ("admin_reject_device", json!({"deviceId": 1})),
        ("admin_deactivate_device", json!({"deviceId": 1})),
        ("admin_enrollment_codes", json!({"facilityId": 1})),
        (
            "admin_create_enrollment_code",
            json!({"facilityId": 1, "expiresInHours": null, "maxUses": null, "deviceType": null}),
        ),
        (
            "admin_revoke_enrollment_code",
            json!({"facilityId": 1, "codeId": 2}),
        ),
    ] {
        let err = invoke(&window, cmd, args).unwrap_err();
        assert_eq!(err["code"], "UNAUTHORIZED", "{cmd}: {err}");
    }
    // Signing out without a session is harmless.
    assert_eq!(
        invoke(&window, "admin_logout", json!({})).unwrap(),
        Value::Null
    );
}

#[test]
fn admin_dashboard_commands_check_their_input_then_need_a_session() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), Some("https://api.example.org")));
    for days in [0, 366] {
        let err = invoke(
            &window,
            "admin_census_history",
            json!({"facilityId": 1, "days": days}),
        )
        .unwrap_err();
        assert_eq!(err["code"], "VALIDATION_FAILED", "{err}");
        assert!(err["fields"]["days"][0]
            .as_str()
            .unwrap()
            .contains("1 to 365"));
    }
    let err = invoke(
        &window,
        "admin_update_census",
        json!({"facilityId": 1, "currentCensus": -1}),
    )
    .unwrap_err();
    assert_eq!(err["code"], "VALIDATION_FAILED", "{err}");
    assert!(err["fields"]["current_census"][0]
        .as_str()
        .unwrap()
        .contains("negative"));
    let err = invoke(
        &window,
        "admin_update_census",
        json!({"facilityId": 1, "currentCensus": 2.5}),
    )
    .unwrap_err();
    assert!(err.as_str().unwrap().contains("currentCensus"), "{err}");
    for (cmd, args) in [
        ("admin_facility_dashboard", json!({"facilityId": 1})),
        (
            "admin_census_history",
            json!({"facilityId": 1, "days": null}),
        ),
        ("admin_census_history", json!({"facilityId": 1, "days": 90})),
        (
            "admin_update_census",
            json!({"facilityId": 1, "currentCensus": 12}),
        ),
        ("admin_reconcile_census", json!({"facilityId": 1})),
    ] {
        let err = invoke(&window, cmd, args).unwrap_err();
        assert_eq!(err["code"], "UNAUTHORIZED", "{cmd}: {err}");
    }
}

#[test]
fn admin_break_glass_commands_check_their_input_then_need_a_session() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), Some("https://api.example.org")));
    let long = "x".repeat(tend_domain::break_glass::REVIEW_NOTE_MAX + 1);
    let err = invoke(
        &window,
        "admin_review_break_glass",
        json!({"grantId": 1, "note": long}),
    )
    .unwrap_err();
    assert_eq!(err["code"], "VALIDATION_FAILED", "{err}");
    assert!(err["fields"]["note"].is_array(), "{err}");
    for (cmd, args) in [
        ("admin_break_glass_grants", json!({"reviewed": false})),
        (
            "admin_review_break_glass",
            json!({"grantId": 1, "note": "Called the nurse"}),
        ),
        (
            "admin_review_break_glass",
            json!({"grantId": 1, "note": null}),
        ),
    ] {
        let err = invoke(&window, cmd, args).unwrap_err();
        assert_eq!(err["code"], "UNAUTHORIZED", "{cmd}: {err}");
    }
}

#[test]
fn admin_login_reports_stable_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), None));
    let login = |window: &WebviewWindow<MockRuntime>, username: &str| {
        invoke(
            window,
            "admin_login",
            json!({"username": username, "password": "secret"}),
        )
        .unwrap_err()
    };
    // No server configured or enrolled yet.
    assert_eq!(login(&window, "admin")["code"], "CONFIG_INVALID");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), Some(&url)));
    assert_eq!(login(&window, "  ")["code"], "VALIDATION_FAILED");
    assert_eq!(login(&window, "admin")["code"], "OFFLINE");
    let err = invoke(&window, "admin_login", json!({"username": "admin"})).unwrap_err();
    assert!(err.as_str().unwrap().contains("password"), "{err}");
}

#[test]
fn admin_register_device_names_each_bad_field() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), Some("https://api.example.org")));
    let err = invoke(
        &window,
        "admin_register_device",
        json!({"device": {
            "facility_id": 1,
            "device_name": "Hall kiosk",
            "device_type": "RASPBERRY_PI",
            "device_uuid": "not-a-uuid",
            "mac_address": "b8:27:eb"
        }}),
    )
    .unwrap_err();
    assert_eq!(err["code"], "VALIDATION_FAILED");
    assert!(err["fields"]["device_uuid"][0]
        .as_str()
        .unwrap()
        .contains("not a UUID"));
    assert!(err["fields"]["mac_address"].is_array());
    assert!(err["fields"].get("device_name").is_none());

    // A good form still needs a session.
    let err = invoke(
        &window,
        "admin_register_device",
        json!({"device": {
            "facility_id": 1,
            "device_name": "Hall kiosk",
            "device_type": "RASPBERRY_PI",
            "device_uuid": "4c4c4544-0042-3510-8052-b4c04f4e4d32",
            "mac_address": null
        }}),
    )
    .unwrap_err();
    assert_eq!(err["code"], "UNAUTHORIZED");
    assert!(err.get("fields").is_none(), "{err}");

    // An unknown device type never reaches the core.
    let err = invoke(
        &window,
        "admin_register_device",
        json!({"device": {"facility_id": 1, "device_name": "x", "device_type": "TOASTER", "device_uuid": "x", "mac_address": null}}),
    )
    .unwrap_err();
    assert!(err.as_str().unwrap().contains("TOASTER"), "{err}");
}

#[test]
fn admin_directory_commands_need_a_signed_in_administrator() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), Some("https://api.example.org")));
    let staff = json!({"id": null, "facility_id": 1, "employee_id": "E-1", "username": "rosa",
        "full_name": "Rosa Alvarez", "email": "", "role": "RN"});
    for (cmd, args) in [
        ("admin_organizations", json!({})),
        (
            "admin_save_organization",
            json!({"organization": {"id": 3, "name": "Sunrise", "organization_type": "ALF_OPERATOR",
                "npi": "1234567893", "tax_id": "", "state_license_number": "", "license_state": "OR",
                "is_active": null}}),
        ),
        ("admin_facility_detail", json!({"facilityId": 1})),
        (
            "admin_save_facility",
            json!({"facility": {"id": null, "organization_id": null, "name": "North", "facility_type": "ALF",
                "medicaid_provider_number": "", "medicare_provider_number": "", "state_license_number": "",
                "licensed_beds": "32", "address": "", "timezone": "America/Chicago", "features": {},
                "is_active": null}}),
        ),
        (
            "admin_save_facility_policy",
            json!({"facilityId": 1, "policy": {"idle_lock_desktop_secs": "60"}}),
        ),
        ("admin_users", json!({"facilityId": 1})),
        (
            "admin_save_user",
            json!({"user": staff, "password": "a long enough password"}),
        ),
        (
            "admin_set_user_active",
            json!({"userId": 2, "active": false}),
        ),
        ("admin_user_badges", json!({"userId": 2})),
        (
            "admin_assign_badge",
            json!({"userId": 2, "badgeUid": "04:A2:5B:1C", "label": null}),
        ),
        ("admin_revoke_badge", json!({"userId": 2, "badgeId": 5})),
        ("admin_set_pin", json!({"userId": 2, "pin": "4826"})),
        (
            "admin_badge_capture_start",
            json!({"userId": 2, "label": null}),
        ),
    ] {
        let err = invoke(&window, cmd, args).unwrap_err();
        assert_eq!(err["code"], "UNAUTHORIZED", "{cmd}: {err}");
    }
}

#[test]
fn a_wedge_badge_in_the_console_with_no_capture_waiting_is_dropped_never_a_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), Some("https://api.example.org")));
    // Cancelling when nothing waits is harmless.
    assert_eq!(
        invoke(&window, "admin_badge_capture_cancel", json!({})).unwrap(),
        Value::Null
    );
    let taken = invoke(
        &window,
        "admin_badge_capture_wedge",
        json!({"value": "0012345678"}),
    )
    .unwrap();
    assert_eq!(taken, false);
    let state = invoke(&window, "session_state", json!({})).unwrap();
    assert_eq!(state["phase"], "signed_out");
    let err = invoke(
        &window,
        "admin_badge_capture_wedge",
        json!({"value": "04A25BZZ"}),
    )
    .unwrap_err();
    assert_eq!(err["code"], "VALIDATION_FAILED");
    assert!(!err.to_string().contains("5BZZ"), "{err}");
}

#[test]
fn admin_directory_forms_name_each_bad_field_before_any_call() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), Some("https://api.example.org")));
    let err = invoke(
        &window,
        "admin_save_organization",
        json!({"organization": {"id": null, "name": " ", "organization_type": "SNF_CHAIN",
            "npi": "1234567890", "tax_id": "12-345", "state_license_number": "", "license_state": "",
            "is_active": null}}),
    )
    .unwrap_err();
    assert_eq!(err["code"], "VALIDATION_FAILED");
    let fields: Vec<&String> = err["fields"].as_object().unwrap().keys().collect();
    assert_eq!(fields, ["name", "npi", "tax_id"]);

    let err = invoke(
        &window,
        "admin_save_facility",
        json!({"facility": {"id": 4, "organization_id": null, "name": "Home visits", "facility_type": "HOME_HEALTH",
            "medicaid_provider_number": "", "medicare_provider_number": "", "state_license_number": "",
            "licensed_beds": "12", "address": "", "timezone": "America/Chicago", "features": {},
            "is_active": true}}),
    )
    .unwrap_err();
    assert!(err["fields"]["licensed_beds"][0]
        .as_str()
        .unwrap()
        .contains("home health"));

    // The policy alone is checked as the full form's policy part is.
    let err = invoke(
        &window,
        "admin_save_facility_policy",
        json!({"facilityId": 4, "policy": {"idle_lock_desktop_secs": "5", "badge_grace_hours": "eight"}}),
    )
    .unwrap_err();
    assert_eq!(err["code"], "VALIDATION_FAILED");
    let fields: Vec<&String> = err["fields"].as_object().unwrap().keys().collect();
    assert_eq!(
        fields,
        ["policy.badge_grace_hours", "policy.idle_lock_desktop_secs"]
    );

    let err = invoke(
        &window,
        "admin_save_user",
        json!({"user": {"id": null, "facility_id": 1, "employee_id": "E-1", "username": "rosa",
            "full_name": "Rosa Alvarez", "email": "", "role": "RN"}, "password": null}),
    )
    .unwrap_err();
    assert!(err["fields"]["password"].is_array(), "{err}");

    let secret_badge = "04:A2:5B";
    let err = invoke(
        &window,
        "admin_assign_badge",
        json!({"userId": 2, "badgeUid": secret_badge, "label": null}),
    )
    .unwrap_err();
    assert!(err["fields"]["badge_uid"].is_array(), "{err}");
    assert!(!err.to_string().contains("A2:5B"), "{err}");
    let err = invoke(
        &window,
        "admin_set_pin",
        json!({"userId": 2, "pin": "1234"}),
    )
    .unwrap_err();
    assert!(err["fields"]["pin"][0]
        .as_str()
        .unwrap()
        .contains("consecutive"));
}

#[test]
fn admin_ids_must_be_positive_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), Some("https://api.example.org")));
    let err = invoke(&window, "admin_devices", json!({"facilityId": -1})).unwrap_err();
    assert!(err.as_str().unwrap().contains("facilityId"), "{err}");
    let err = invoke(&window, "admin_approve_device", json!({"deviceId": "7"})).unwrap_err();
    assert!(err.as_str().unwrap().contains("deviceId"), "{err}");
}

#[test]
fn the_lock_screen_starts_signed_out_and_lock_or_logout_without_a_session_are_harmless() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), None));
    let state = invoke(&window, "session_state", json!({})).unwrap();
    assert_eq!(state["phase"], "signed_out");
    assert_eq!(state["user"], Value::Null);
    assert_eq!(state["failure"], Value::Null);
    // Desktop profile: ten minutes.
    assert_eq!(state["idle_lock_ms"], 600_000);
    for cmd in ["lock_now", "logout", "cancel_pin"] {
        let state = invoke(&window, cmd, json!({})).unwrap();
        assert_eq!(state["phase"], "signed_out", "{cmd}");
    }
    assert_eq!(
        invoke(&window, "session_activity", json!({})).unwrap(),
        Value::Null
    );
    // No watcher under the mock runtime.
    assert_eq!(
        invoke(&window, "reader_status", json!({})).unwrap(),
        "unknown"
    );
}

#[test]
fn badge_pin_and_password_input_is_checked_before_any_server_call() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), None));
    for (cmd, args, field) in [
        ("badge_login_wedge", json!({"value": ""}), "badge"),
        ("badge_login_wedge", json!({"value": "12ab"}), "badge"),
        ("submit_pin", json!({"pin": "12"}), "pin"),
        ("submit_pin", json!({"pin": "12345678901"}), "pin"),
        ("submit_pin", json!({"pin": "12a4"}), "pin"),
        (
            "password_login",
            json!({"username": " ", "password": "pw"}),
            "username",
        ),
        (
            "password_login",
            json!({"username": "nurse", "password": ""}),
            "password",
        ),
    ] {
        let err = invoke(&window, cmd, args.clone()).unwrap_err();
        assert_eq!(err["code"], "VALIDATION_FAILED", "{cmd} {args}: {err}");
        assert!(err["fields"][field].is_array(), "{cmd} {args}: {err}");
    }
    // Missing or mistyped arguments never reach the core.
    for (cmd, args) in [
        ("badge_login_wedge", json!({})),
        ("submit_pin", json!({"pin": 1234})),
        ("password_login", json!({"username": "nurse"})),
    ] {
        assert!(invoke(&window, cmd, args).is_err(), "{cmd}");
    }
    // A well-formed tap on a device that is not set up says so.
    let state = invoke(&window, "badge_login_wedge", json!({"value": "0012345678"})).unwrap();
    assert_eq!(state["phase"], "signed_out");
    assert_eq!(state["failure"]["code"], "CONFIG_INVALID");
}

#[test]
fn workspace_commands_before_setup_answer_in_words_not_crashes() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), None));
    // No vault yet and nobody signed in: an empty sync status, and every
    // clinical command refused with a code and no data.
    let status = invoke(&window, "sync_status", json!({})).unwrap();
    assert_eq!(status["pending"], 0);
    assert_eq!(status["last_sync"], Value::Null);
    let err = invoke(&window, "sync_now", json!({})).unwrap_err();
    assert_eq!(err["code"], "UNAVAILABLE");
    assert!(err["message"].as_str().unwrap().contains("set up"));
    for (cmd, args) in clinical_calls() {
        let err = invoke(&window, cmd, args).unwrap_err();
        assert_eq!(err["code"], "NOT_SIGNED_IN", "{cmd}: {err}");
        assert!(
            err["message"].as_str().unwrap().contains("badge"),
            "{cmd}: {err}"
        );
    }
    // A body of an unknown kind never reaches the core.
    assert!(invoke(
        &window,
        "write_record",
        json!({ "patientId": 1, "amends": null, "body": { "kind": "diagnosis", "text": "x" } }),
    )
    .is_err());
}

/// One well-formed call of every clinical command (see
/// `tend_app::COMMAND_ACCESS`); `every_command_is_classified` checks this
/// list covers exactly the clinical ones.
fn clinical_calls() -> Vec<(&'static str, Value)> {
    vec![
        ("roster", json!({ "search": "" })),
        ("patient_timeline", json!({ "patientId": 41, "limit": 50 })),
        ("due_follow_ups", json!({})),
        ("handoff_notes", json!({})),
        ("facility_info", json!({})),
        (
            "write_record",
            json!({ "patientId": 41, "amends": null, "body": { "kind": "care_note", "text": "Ate well" } }),
        ),
        ("emergency_facilities", json!({})),
        (
            "open_emergency_access",
            json!({ "facilityId": 3, "mrn": "MRN-7", "reason": "Fell in the hallway, no chart here" }),
        ),
        ("emergency_chart", json!({ "patientId": 41 })),
        ("admit_resident", json!({ "draft": resident_draft() })),
        ("family_corner", json!({ "patientId": 41 })),
        (
            "issue_visitor_code",
            json!({ "patientId": 41, "visitorName": "Ana", "relationship": "", "expiresInDays": 30 }),
        ),
        (
            "revoke_visitor_code",
            json!({ "patientId": 41, "codeId": 3 }),
        ),
        (
            "share_with_family",
            json!({ "patientId": 41, "kind": "activity", "body": "Bingo at 2 pm" }),
        ),
        (
            "edit_resident",
            json!({ "resident": resident_ref(), "draft": resident_draft() }),
        ),
        (
            "discharge_resident",
            json!({ "resident": resident_ref(), "departure": "discharged", "date": "2026-12-01" }),
        ),
        (
            "acknowledge_wandering_alert",
            json!({ "id": "0190a3b4-0000-7000-8000-000000000001" }),
        ),
    ]
}

fn resident_draft() -> Value {
    json!({"mrn":"MRN-9","first_name":"Ada","last_name":"Byrne","date_of_birth":"1941-02-03","room":"","admission_date":"","allergies":"","code_status":null,"diet":"","fall_risk":null,"contact_name":"","contact_relationship":"","contact_phone":""})
}

fn resident_ref() -> Value {
    json!({ "id": 41, "facility_id": 1, "version": 1 })
}

#[test]
fn admin_resident_commands_check_the_form_then_need_a_session() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&config(dir.path(), Some("https://api.example.org")));
    for (cmd, args) in [
        ("admin_residents", json!({"facilityId": 1})),
        (
            "admin_admit_resident",
            json!({"facilityId": 1, "draft": resident_draft()}),
        ),
        (
            "admin_edit_resident",
            json!({"resident": resident_ref(), "draft": resident_draft()}),
        ),
        (
            "admin_discharge_resident",
            json!({"resident": resident_ref(), "departure": "deceased", "date": "2026-12-01"}),
        ),
        (
            "admin_transfer_resident",
            json!({"resident": resident_ref(), "facilityId": 2}),
        ),
    ] {
        let err = invoke(&window, cmd, args).unwrap_err();
        assert_eq!(err["code"], "UNAUTHORIZED", "{cmd}: {err}");
    }
    // A departure the app does not know is refused before anything runs.
    let err = invoke(
        &window,
        "admin_discharge_resident",
        json!({"resident": resident_ref(), "departure": "moved_away", "date": "2026-12-01"}),
    )
    .unwrap_err();
    assert!(err.as_str().unwrap().contains("departure"), "{err}");
}

/// Every command the webview can call is classified clinical or not in
/// `tend_app::COMMAND_ACCESS`: the names come from the generated bindings,
/// so a new command without a decision fails here.
#[test]
fn every_command_is_classified() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bindings.ts");
    tend_app::export_bindings(&path).unwrap();
    let bindings = std::fs::read_to_string(&path).unwrap();
    // `__TAURI_INVOKE("name", …)` or `__TAURI_INVOKE<Type>("name")`.
    let mut exported: Vec<String> = bindings
        .split("__TAURI_INVOKE")
        .skip(1)
        .filter_map(|rest| {
            let line = rest.lines().next()?;
            let (before, after) = line.split_once("(\"")?;
            (before.is_empty() || before.starts_with('<'))
                .then(|| after.split('"').next().unwrap().to_owned())
        })
        .collect();
    exported.sort();
    assert!(exported.len() > 50, "{exported:?}");
    let mut classified: Vec<String> = tend_app::COMMAND_ACCESS
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect();
    classified.sort();
    assert_eq!(
        exported, classified,
        "classify each command in tend_app::COMMAND_ACCESS"
    );
    let mut clinical: Vec<&str> = tend_app::COMMAND_ACCESS
        .iter()
        .filter(|(_, access)| *access == tend_app::Access::Clinical)
        .map(|(name, _)| *name)
        .collect();
    clinical.sort();
    let mut tested: Vec<&str> = clinical_calls().iter().map(|(name, _)| *name).collect();
    tested.sort();
    assert_eq!(clinical, tested, "every clinical command is tested below");
}

/// A small stand-in for the central API, enough for one enrolled device:
/// authentication, heartbeats, sync (one facility, one resident), badge
/// login with a PIN, and a family check-in. Requests are answered on their
/// own threads; the process ends it.
mod fake_api {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};

    use serde_json::{json, Value};

    pub const BADGE: &str = "0012345678";
    pub const PIN: &str = "4826";
    pub const NURSE: i64 = 7;
    pub const PATIENT: i64 = 41;
    pub const FACILITY: &str = "Sunrise ALF - North Campus";

    pub fn start() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || serve(stream));
            }
        });
        url
    }

    fn serve(stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let path = parts.next().unwrap_or_default().to_owned();
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        let _ = reader.read_exact(&mut body);
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let (status, answer) = answer(&method, path.split('?').next().unwrap(), &body);
        let text = answer.to_string();
        let mut stream = stream;
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
            text.len()
        );
    }

    fn error(code: &str) -> Value {
        json!({ "error": { "code": code, "message": code, "fields": {} } })
    }

    fn later() -> String {
        (chrono::Utc::now() + chrono::Duration::hours(8)).to_rfc3339()
    }

    fn answer(method: &str, path: &str, body: &Value) -> (&'static str, Value) {
        let now = chrono::Utc::now().to_rfc3339();
        match (method, path) {
            ("GET", "/readyz") => ("200 OK", json!({ "status": "ready" })),
            ("POST", "/api/devices/auth/challenge") => (
                "200 OK",
                json!({ "nonce": "bm9uY2U", "expires_at": later() }),
            ),
            ("POST", "/api/devices/auth/token") => (
                "200 OK",
                json!({ "token": "tdev_fake", "device_id": 3, "expires_at": later() }),
            ),
            // A device without a keyring binds its vault to the server's part.
            ("GET", p) if p.ends_with("/vault-secret") => (
                "200 OK",
                json!({ "secret": "dGVuZC1pcGMtdGVzdC1zZXJ2ZXItcGFydC0zMmJ5dGU=" }),
            ),
            ("POST", p) if p.ends_with("/heartbeat") => (
                "200 OK",
                json!({ "server_time": now, "clock_offset_ms": 0, "lock": false }),
            ),
            ("POST", "/api/auth/badge-login") => match body["pin"].as_str() {
                None => ("401 Unauthorized", error("BADGE_PIN_REQUIRED")),
                Some(PIN) => (
                    "200 OK",
                    json!({
                        "token": "tusr_fake",
                        "token_type": "Bearer",
                        "expires_at": later(),
                        "user": {
                            "id": NURSE, "organization_id": 1, "facility_id": 2,
                            "employee_id": "E-7", "username": "rosa", "full_name": "Rosa Alvarez",
                            "email": null, "role": "RN", "is_active": true,
                            "created_at": now, "updated_at": now
                        }
                    }),
                ),
                Some(_) => ("401 Unauthorized", error("BADGE_PIN_WRONG")),
            },
            ("GET", "/api/sync/pull") => (
                "200 OK",
                json!({
                    "server_time": now, "cursor": "c1", "has_more": false, "remaining": 0,
                    "badge_key": null,
                    "changes": [
                        { "type": "facility", "data": {
                            "id": 2, "organization_id": 1, "name": FACILITY,
                            "facility_type": "ALF", "timezone": "America/Chicago",
                            "settings": {}, "features": {}
                        } },
                        { "type": "patient", "data": {
                            "id": PATIENT, "organization_id": 1, "facility_id": 2,
                            "mrn": "MRN-41", "first_name": "Margaret", "last_name": "Hill",
                            "date_of_birth": "1938-04-02", "status": "active", "room": "12B",
                            "admitted_at": null, "discharged_at": null,
                            "created_at": now, "updated_at": now, "version": 1
                        } }
                    ]
                }),
            ),
            ("POST", "/api/sync/push") => {
                let ids: Vec<Value> = body["operations"]
                    .as_array()
                    .map(|ops| ops.iter().map(|op| op["id"].clone()).collect())
                    .unwrap_or_default();
                (
                    "200 OK",
                    json!({ "server_time": now, "accepted": ids, "duplicates": [], "rejected": [] }),
                )
            }
            ("POST", "/api/family/check-in") => (
                "200 OK",
                json!({
                    "token": "tfam_fake", "expires_at": later(), "visitor_name": "Ana",
                    "resident": { "display_name": "Margaret H.", "room": "12B" }
                }),
            ),
            ("POST", "/api/family/end") => ("204 No Content", json!(null)),
            ("PUT", "/api/users/me/language") => (
                "200 OK",
                json!({
                    "id": NURSE, "organization_id": 1, "facility_id": 2,
                    "employee_id": "E-7", "username": "rosa", "full_name": "Rosa Alvarez",
                    "email": null, "role": "RN", "is_active": true,
                    "created_at": now, "updated_at": now,
                    "preferred_language": body["language"]
                }),
            ),
            _ => ("404 Not Found", error("NOT_FOUND")),
        }
    }
}

/// Waits up to ten seconds for `check` to hold.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let until = Instant::now() + std::time::Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The locked-screen guard through the real IPC path, on a device enrolled
/// with a stand-in API and its runtime started: every clinical command
/// answers `NOT_SIGNED_IN` (and no data) before any login, while a PIN is
/// pending, while locked and during a family visit, and answers normally
/// once a badge login is complete.
#[test]
fn clinical_commands_need_a_completely_signed_in_user() {
    use tauri::Manager;

    let server = fake_api::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(tend_core::enrollment::STATE_FILE),
        json!({
            "server_url": server, "device_id": 3,
            "device_uuid": "4c4c4544-0042-3510-8052-b4c04f4e4d32",
            "organization_id": 1, "facility_id": 2, "facility_name": fake_api::FACILITY,
            "status": "ACTIVE", "checked_at": "2026-12-01T08:00:00Z"
        })
        .to_string(),
    )
    .unwrap();
    let (app, window) = app(&config(dir.path(), Some(&server)));
    let runtime = app.state::<DeviceRuntime>().inner().clone();
    let handle = tauri::async_runtime::block_on(async { tokio::runtime::Handle::current() });
    runtime.start(
        handle,
        std::sync::Arc::new(tend_core::device::NoEvents),
        None,
    );
    // The session opened the vault and the first sync brought the facility.
    eventually("the first sync", || {
        invoke(&window, "app_status", json!({})).unwrap()["facility_name"] == fake_api::FACILITY
    });
    let refused_everywhere = |when: &str| {
        for (cmd, args) in clinical_calls() {
            let err = invoke(&window, cmd, args).unwrap_err();
            assert_eq!(err["code"], "NOT_SIGNED_IN", "{when}: {cmd}: {err}");
            assert!(err.get("fields").is_none(), "{when}: {cmd}: {err}");
        }
    };

    refused_everywhere("before any login");

    let state = invoke(
        &window,
        "badge_login_wedge",
        json!({ "value": fake_api::BADGE }),
    )
    .unwrap();
    assert_eq!(state["phase"], "pin_required", "{state}");
    refused_everywhere("PIN pending");

    let state = invoke(&window, "submit_pin", json!({ "pin": fake_api::PIN })).unwrap();
    assert_eq!(state["phase"], "active", "{state}");
    let roster = invoke(&window, "roster", json!({ "search": "" })).unwrap();
    assert_eq!(roster.as_array().unwrap().len(), 1, "{roster}");
    // Her own language: the session follows, the server answered.
    assert_eq!(state["user"]["language"], Value::Null);
    let state = invoke(&window, "set_my_language", json!({ "language": "es" })).unwrap();
    assert_eq!(state["user"]["language"], "es", "{state}");
    assert_eq!(
        invoke(&window, "session_state", json!({})).unwrap()["user"]["language"],
        "es"
    );
    let facility = invoke(&window, "facility_info", json!({})).unwrap();
    assert_eq!(facility["name"], fake_api::FACILITY);
    let written = invoke(&window, "write_record", clinical_calls()[5].1.clone()).unwrap();
    assert_eq!(written["author_user_id"], fake_api::NURSE, "{written}");
    // A correction: a note of the same kind, with why; the original stays.
    let corrected = invoke(
        &window,
        "write_record",
        json!({ "patientId": fake_api::PATIENT, "amends": written["id"], "correctionReason": "  Wrong resident's breakfast  ",
                "body": { "kind": "care_note", "text": "Ate half" } }),
    )
    .unwrap();
    assert_eq!(corrected["amends"], written["id"]);
    assert_eq!(corrected["correction_reason"], "Wrong resident's breakfast");
    // Not as another kind, and not without a reason worth the name.
    for (body, reason, field) in [
        (
            json!({ "kind": "vital_signs", "pulse_bpm": 70 }),
            "Typo",
            "body.kind",
        ),
        (
            json!({ "kind": "care_note", "text": "Ate half" }),
            "x",
            "correction_reason",
        ),
    ] {
        let err = invoke(
            &window,
            "write_record",
            json!({ "patientId": fake_api::PATIENT, "amends": written["id"], "correctionReason": reason, "body": body }),
        )
        .unwrap_err();
        assert_eq!(err["code"], "VALIDATION_FAILED", "{err}");
        assert!(err["fields"][field].is_array(), "{field}: {err}");
    }
    let timeline = invoke(
        &window,
        "patient_timeline",
        json!({ "patientId": fake_api::PATIENT, "limit": 10 }),
    )
    .unwrap();
    assert_eq!(timeline.as_array().unwrap().len(), 2, "{timeline}");
    assert_eq!(
        timeline[1]["body"]["text"], "Ate well",
        "the original is unchanged"
    );
    assert!(invoke(&window, "due_follow_ups", json!({}))
        .unwrap()
        .is_array());
    assert!(invoke(&window, "handoff_notes", json!({}))
        .unwrap()
        .is_array());

    let state = invoke(&window, "lock_now", json!({})).unwrap();
    assert_eq!(state["phase"], "locked");
    refused_everywhere("locked");
    // The lock screen still gets the facility's name and the wandering
    // alerts' rooms and first names (none here), and nothing else.
    assert_eq!(
        invoke(&window, "wandering_alerts", json!({})).unwrap()["alerts"],
        json!([])
    );
    assert_eq!(
        invoke(&window, "app_status", json!({})).unwrap()["facility_name"],
        fake_api::FACILITY
    );

    // Unlocked again, then a family visit starts on this device.
    invoke(
        &window,
        "badge_login_wedge",
        json!({ "value": fake_api::BADGE }),
    )
    .unwrap();
    let state = invoke(&window, "submit_pin", json!({ "pin": fake_api::PIN })).unwrap();
    assert_eq!(state["phase"], "active", "{state}");
    invoke(&window, "roster", json!({ "search": "" })).unwrap();
    let visit = invoke(
        &window,
        "family_check_in",
        json!({ "visitorCode": "4821 0937" }),
    )
    .unwrap();
    assert_eq!(visit["resident_name"], "Margaret H.");
    refused_everywhere("family visit");
    invoke(&window, "family_end", json!({})).unwrap();
    invoke(&window, "roster", json!({ "search": "" })).unwrap();

    invoke(&window, "logout", json!({})).unwrap();
    refused_everywhere("signed out");
}
