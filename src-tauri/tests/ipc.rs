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
use tend_app::state::AppState;
use tend_core::config::{AppConfig, CliArgs, Environment};

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
    let app = tend_app::build_app(mock_builder(), AppState::new(config, Instant::now()), None)
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
        assert_eq!(enroll(&url, "abcd efgh"), "OFFLINE");
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
    ] {
        let err = invoke(&window, cmd, args).unwrap_err();
        assert_eq!(err["code"], "UNAUTHORIZED", "{cmd}: {err}");
    }
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
    // No vault yet: no facility, an empty sync status, and documentation refused with a code.
    assert_eq!(
        invoke(&window, "facility_info", json!({})).unwrap(),
        Value::Null
    );
    let status = invoke(&window, "sync_status", json!({})).unwrap();
    assert_eq!(status["pending"], 0);
    assert_eq!(status["last_sync"], Value::Null);
    let err = invoke(&window, "roster", json!({ "search": "" })).unwrap_err();
    assert_eq!(err["code"], "UNAVAILABLE");
    assert!(err["message"].as_str().unwrap().contains("set up"));
    let err = invoke(&window, "due_follow_ups", json!({})).unwrap_err();
    assert_eq!(err["code"], "UNAVAILABLE");
    let err = invoke(&window, "handoff_notes", json!({})).unwrap_err();
    assert_eq!(err["code"], "UNAVAILABLE");
    let err = invoke(
        &window,
        "write_record",
        json!({ "patientId": 1, "amends": null, "body": { "kind": "care_note", "text": "Ate well" } }),
    )
    .unwrap_err();
    assert_eq!(err["code"], "UNAVAILABLE");
    // A body of an unknown kind never reaches the core.
    assert!(invoke(
        &window,
        "write_record",
        json!({ "patientId": 1, "amends": null, "body": { "kind": "diagnosis", "text": "x" } }),
    )
    .is_err());
}
