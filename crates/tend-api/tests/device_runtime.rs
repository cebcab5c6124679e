//! The device runtime headless, the same `tend_core::device::DeviceRuntime`
//! the app runs, without a window: against the real API on a fresh
//! PostgreSQL database and a badge tapped on pcscd's virtual reader. Enroll →
//! the badge tap reaches the runtime's badge entrance → PIN → signed in →
//! a record written → synced to the server → an administrator deactivates
//! the device → the runtime wipes it. A recording events sink stands where
//! the app's window would be. And the admin console's "tap a badge to
//! assign" on the same runtime: the next tap on the reader is assigned, the
//! lock screen never hears it, and the tap after that is a sign-in again.
//!
//! Needs TEND_TEST_PG_URL and pcscd with vsmartcard-vpcd
//! (`eval "$(bash scripts/services/pcscd.sh start <dir>)"` sets
//! TEND_TEST_PCSC); it holds the machine-wide vpcd lock while it runs.

#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use tend_badge::virtual_card::{VirtualCard, VpcdLock};
use tend_badge::{BadgeSource, PcscWatcher};
use tend_core::admin::CaptureOutcome;
use tend_core::app_status::{AppStatus, ConnectionState};
use tend_core::config::{AppConfig, CliArgs, Environment};
use tend_core::device::{BadgeFeed, DeviceEvents, DeviceRuntime};
use tend_core::enrollment::WipeNotice;
use tend_core::login::{ReaderStatus, SessionPhase, SessionState};
use tend_core::sync::SyncStatus;
use tend_domain::records::{CareNote, RecordBody};
use tend_domain::wire::Secret;
use tend_domain::{DeviceStatus, ErrorCode, Role};

use helpers::{insert_user, spawn_app, token_for, world, TestApp, World, PASSWORD};

const BADGE: [u8; 7] = [0x04, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6];
const BADGE_HEX: &str = "04A1B2C3D4E5F6";
const PIN: &str = "73946281";
const WAIT: Duration = Duration::from_secs(20);

/// What the runtime told, in order (the window would have shown each).
#[derive(Debug, Clone)]
enum Told {
    Status(AppStatus),
    Session(SessionState),
    Reader(ReaderStatus),
    Sync(SyncStatus),
    Wiped(WipeNotice),
    Alerts(tend_core::alerts::WanderingAlerts),
}

#[derive(Default)]
struct Recorder {
    told: Mutex<Vec<Told>>,
}

impl Recorder {
    fn push(&self, told: Told) {
        self.told.lock().unwrap().push(told);
    }

    /// Waits until something told so far satisfies `check`.
    async fn until<T>(&self, what: &str, check: impl Fn(&Told) -> Option<T>) -> T {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(found) = self.told.lock().unwrap().iter().find_map(&check) {
                return found;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl DeviceEvents for Recorder {
    fn status_changed(&self, status: &AppStatus) {
        self.push(Told::Status(status.clone()));
    }
    fn session_changed(&self, session: &SessionState) {
        self.push(Told::Session(session.clone()));
    }
    fn reader_status_changed(&self, status: ReaderStatus) {
        self.push(Told::Reader(status));
    }
    fn sync_status_changed(&self, status: &SyncStatus) {
        self.push(Told::Sync(status.clone()));
    }
    fn device_wiped(&self, notice: &WipeNotice) {
        self.push(Told::Wiped(notice.clone()));
    }
    fn alerts_changed(&self, alerts: &tend_core::alerts::WanderingAlerts) {
        self.push(Told::Alerts(alerts.clone()));
    }
}

/// The app's configuration for a device of its own: its data directory, a
/// machine-id below a temporary root, the test server, a 1 s heartbeat.
/// A fresh enrollment code for A1, as its facility administrator makes one.
async fn enrollment_code(app: &TestApp, w: &World) -> String {
    let r = app
        .post(
            &format!("/api/facilities/{}/enrollment-codes", w.a1.facility),
            w.token(Role::FacilityAdmin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    r.body["code"].as_str().unwrap().to_owned()
}

/// A machine of its own: a fresh /etc/machine-id below a temporary root.
fn machine() -> tempfile::TempDir {
    let machine = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(machine.path().join("etc")).unwrap();
    std::fs::write(
        machine.path().join("etc/machine-id"),
        format!("{}\n", uuid::Uuid::new_v4().simple()),
    )
    .unwrap();
    machine
}

fn config(data_dir: &std::path::Path, machine: &std::path::Path, server: &str) -> AppConfig {
    let file = data_dir.join("tend.toml");
    std::fs::write(&file, format!("server_url = \"{server}\"\n")).unwrap();
    let args = vec![
        "--data-dir".to_owned(),
        data_dir.display().to_string(),
        "--config".to_owned(),
        file.display().to_string(),
    ];
    let env = Environment {
        vars: vec![
            ("TEND_HEARTBEAT_INTERVAL_SECS".into(), "1".into()),
            ("TEND_BADGE_DEBOUNCE_MS".into(), "0".into()),
        ],
        default_data_dir: data_dir.join("default"),
        default_config_file: data_dir.join("absent.toml"),
    };
    let mut config = AppConfig::resolve(&CliArgs::parse(args).unwrap(), &env).unwrap();
    config.identity_root = Some(machine.to_path_buf());
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enroll_badge_tap_document_sync_then_deactivation_wipes_the_device() {
    assert_eq!(
        std::env::var("TEND_TEST_PCSC").as_deref(),
        Ok("1"),
        "TEND_TEST_PCSC is not set: this test taps a badge on pcscd's virtual reader. \
         Run `eval \"$(bash scripts/services/pcscd.sh start /tmp/tend-pcscd)\"` first."
    );
    let _vpcd = VpcdLock::acquire(Duration::from_secs(120)).expect("the vpcd lock");

    let app = spawn_app().await;
    let w = world(&app).await;
    // A nurse of A1 with the badge and a PIN.
    let (nurse, _) = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::Rn).await;
    let r = app
        .post(
            &format!("/api/users/{nurse}/badges"),
            w.token(Role::FacilityAdmin),
            json!({"badge_uid": BADGE_HEX}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let r = app
        .put(
            &format!("/api/users/{nurse}/pin"),
            &token_for(&app.owner, nurse).await,
            json!({"pin": PIN}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let code = enrollment_code(&app, &w).await;

    let data_dir = tempfile::tempdir().unwrap();
    let machine = machine();
    let runtime = DeviceRuntime::new(
        &config(data_dir.path(), machine.path(), &app.base),
        "0.1.0",
        Instant::now(),
    );

    // Enroll, as the setup screen does; nothing clinical before a login.
    let enrolled = runtime.enroll(&app.base, &code).await.unwrap();
    assert_eq!(enrolled.status, DeviceStatus::Active);
    assert_eq!(
        runtime.clinical().unwrap_err().code(),
        ErrorCode::NotSignedIn
    );

    // Start it as the app does, with the PC/SC watcher as its badge feed.
    let (sink, reads) = tend_badge::badge_channel();
    let mut watcher = PcscWatcher::default();
    watcher.start(sink).expect("the PC/SC watcher starts");
    let told = Arc::new(Recorder::default());
    runtime.start(
        tokio::runtime::Handle::current(),
        told.clone(),
        Some(BadgeFeed::new(reads, watcher)),
    );
    told.until("a connected reader", |t| {
        matches!(t, Told::Reader(ReaderStatus::Connected)).then_some(())
    })
    .await;
    // The first sync brings the facility: its name reaches the status bar.
    let facility_name = told
        .until("the facility's name", |t| match t {
            Told::Status(s) => s.facility_name.clone(),
            _ => None,
        })
        .await;
    assert_eq!(Some(facility_name), enrolled.facility_name);

    // The badge on the virtual reader: the policy asks for the PIN first.
    let card = VirtualCard::with_uid(&BADGE)
        .insert()
        .expect("card inserted");
    told.until("the PIN pad", |t| match t {
        Told::Session(s) if matches!(s.phase, SessionPhase::PinRequired { .. }) => Some(()),
        _ => None,
    })
    .await;
    card.remove().unwrap();
    assert_eq!(
        runtime.clinical().unwrap_err().code(),
        ErrorCode::NotSignedIn,
        "nothing clinical while the PIN is pending"
    );
    let signed_in = runtime.login().submit_pin(PIN).await.unwrap();
    assert!(
        matches!(signed_in.phase, SessionPhase::Active { .. }),
        "{signed_in:?}"
    );
    assert_eq!(signed_in.user.as_ref().unwrap().id, nurse);

    // Document as her; sync takes it to the server.
    let clinical = runtime.clinical().unwrap();
    assert_eq!(clinical.user.id, nurse);
    let record = clinical
        .write_record(
            w.a1.patient,
            None,
            None,
            RecordBody::CareNote(CareNote {
                text: "Ate well, walked to the garden".into(),
            }),
        )
        .await
        .unwrap();
    // She corrects it at once: a second record that amends the first, with why.
    let correction = clinical
        .write_record(
            w.a1.patient,
            Some(record.id),
            Some("Walked to the lounge, not the garden"),
            RecordBody::CareNote(CareNote {
                text: "Ate well, walked to the lounge".into(),
            }),
        )
        .await
        .unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let stored: Vec<(uuid::Uuid, i64, Option<String>, serde_json::Value)> = sqlx::query_as(
            "SELECT id, author_user_id, correction_reason, body FROM clinical_records \
             WHERE id = ANY($1) ORDER BY occurred_at, id",
        )
        .bind(vec![record.id, correction.id])
        .fetch_all(&app.owner)
        .await
        .unwrap();
        if stored.len() == 2 {
            assert!(stored.iter().all(|(_, author, _, _)| *author == nurse));
            let original = stored.iter().find(|s| s.0 == record.id).unwrap();
            let corrected = stored.iter().find(|s| s.0 == correction.id).unwrap();
            assert_eq!(original.2, None);
            assert_eq!(
                original.3["text"], "Ate well, walked to the garden",
                "the original is unchanged"
            );
            assert_eq!(
                corrected.2.as_deref(),
                Some("Walked to the lounge, not the garden")
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the record never reached the server"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    told.until("nothing pending", |t| match t {
        Told::Sync(s) if s.pending == 0 && s.last_sync.is_some() => Some(()),
        _ => None,
    })
    .await;

    // The facility administrator shortens the idle lock: the next sync
    // brings the policy and the open session runs under it, no restart.
    assert_eq!(runtime.session_state().idle_lock_ms, 600_000);
    let r = app
        .put(
            &format!("/api/facilities/{}", w.a1.facility),
            w.token(Role::FacilityAdmin),
            json!({"policy": {"idle_lock_desktop_secs": 60}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    runtime.sync_now().unwrap();
    let session = told
        .until("the policy's idle lock", |t| match t {
            Told::Session(s) if s.idle_lock_ms == 60_000 => Some(s.clone()),
            _ => None,
        })
        .await;
    assert!(
        matches!(session.phase, SessionPhase::Active { .. }),
        "still signed in: {session:?}"
    );
    assert_eq!(session.user.map(|u| u.id), Some(nurse));

    // An administrator deactivates the device: the next heartbeat hears it
    // and the runtime wipes the device.
    let r = app
        .post(
            &format!("/api/devices/{}/deactivate", enrolled.device_id),
            w.token(Role::FacilityAdmin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let notice = told
        .until("the wipe", |t| match t {
            Told::Wiped(n) => Some(n.clone()),
            _ => None,
        })
        .await;
    assert_eq!(notice.reason, ErrorCode::DeviceDeactivated);
    assert_eq!(runtime.enrollment_saved().unwrap(), None);
    assert_eq!(runtime.wipe_notice().unwrap(), Some(notice));
    let status = runtime.status();
    assert_eq!(status.connection, ConnectionState::NotConfigured);
    assert_eq!(status.facility_name, None);
    assert_eq!(runtime.session_state().phase, SessionPhase::SignedOut);
    assert_eq!(
        runtime.clinical().unwrap_err().code(),
        ErrorCode::NotSignedIn
    );
    // The vault is gone from the data directory.
    let left: Vec<String> = std::fs::read_dir(data_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("vault") || name.ends_with(".db"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_waiting_for_a_badge_takes_the_next_tap_instead_of_the_lock_screen() {
    assert_eq!(
        std::env::var("TEND_TEST_PCSC").as_deref(),
        Ok("1"),
        "TEND_TEST_PCSC is not set: this test taps a badge on pcscd's virtual reader. \
         Run `eval \"$(bash scripts/services/pcscd.sh start /tmp/tend-pcscd)\"` first."
    );
    let _vpcd = VpcdLock::acquire(Duration::from_secs(120)).expect("the vpcd lock");

    let app = spawn_app().await;
    let w = world(&app).await;
    let (nurse, _) = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::Rn).await;
    let (_, admin) = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::FacilityAdmin).await;

    let data_dir = tempfile::tempdir().unwrap();
    let machine = tempfile::tempdir().unwrap();
    let runtime = DeviceRuntime::new(
        &config(data_dir.path(), machine.path(), &app.base),
        "0.1.0",
        Instant::now(),
    );
    let (sink, reads) = tend_badge::badge_channel();
    let mut watcher = PcscWatcher::default();
    watcher.start(sink).expect("the PC/SC watcher starts");
    let told = Arc::new(Recorder::default());
    runtime.start(
        tokio::runtime::Handle::current(),
        told.clone(),
        Some(BadgeFeed::new(reads, watcher)),
    );
    told.until("a connected reader", |t| {
        matches!(t, Told::Reader(ReaderStatus::Connected)).then_some(())
    })
    .await;
    runtime
        .admin()
        .sign_in(Some(&app.base), &admin, &Secret::new(PASSWORD))
        .await
        .expect("the administrator signs in");
    // What the lock screen shows once it hears a tap (the device is not
    // enrolled, so "reading" and then a refusal); idle ticks repeat
    // "signed out".
    let heard_a_tap = || {
        told.told.lock().unwrap().iter().any(|t| {
            matches!(t, Told::Session(s) if s.phase != SessionPhase::SignedOut || s.failure.is_some())
        })
    };

    // "Tap a badge to assign" for the nurse; the badge on the reader.
    let console = runtime.clone();
    let waiting =
        tokio::spawn(async move { console.admin().capture_badge(nurse, Some("desk")).await });
    let deadline = Instant::now() + WAIT;
    while !runtime.admin().badge_capture().is_armed() {
        assert!(Instant::now() < deadline, "the capture never armed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let card = VirtualCard::with_uid(&BADGE)
        .insert()
        .expect("card inserted");
    let outcome = tokio::time::timeout(WAIT, waiting)
        .await
        .expect("the tap was captured")
        .unwrap()
        .unwrap();
    card.remove().unwrap();
    let CaptureOutcome::Assigned { badge } = outcome else {
        panic!("expected an assignment, got {outcome:?}");
    };
    assert_eq!(badge.user_id, nurse);
    assert_eq!(badge.label.as_deref(), Some("desk"));
    let r = app
        .get(
            &format!("/api/users/{nurse}/badges"),
            w.token(Role::FacilityAdmin),
        )
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1, "{r:?}");
    assert_eq!(r.body["items"][0]["is_active"], true);
    // The lock screen never heard that tap.
    assert!(!heard_a_tap(), "the tap reached the lock screen");
    assert_eq!(runtime.session_state().phase, SessionPhase::SignedOut);
    assert!(!runtime.admin().badge_capture().is_armed());

    // The console signing out ends a wait.
    let console = runtime.clone();
    let waiting = tokio::spawn(async move { console.admin().capture_badge(nurse, None).await });
    while !runtime.admin().badge_capture().is_armed() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    runtime.admin().sign_out().await;
    assert_eq!(
        waiting.await.unwrap().unwrap(),
        CaptureOutcome::SessionEnded
    );

    // The next tap is the lock screen's again.
    let card = VirtualCard::with_uid(&BADGE)
        .insert()
        .expect("card inserted");
    let deadline = Instant::now() + WAIT;
    while !heard_a_tap() {
        assert!(
            Instant::now() < deadline,
            "the lock screen never heard the tap"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    card.remove().unwrap();
}

/// A wandering alert another device writes (through sync) reaches this
/// runtime over the push channel with the resident's room and first name,
/// and an acknowledgement made elsewhere follows it. No badge reader needed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wandering_alert_written_on_another_device_reaches_the_runtime_live() {
    let app = spawn_app().await;
    let w = world(&app).await;
    helpers::set_feature(&app.owner, w.a1.facility, "wandering_alerts", true).await;
    sqlx::query("UPDATE patients SET first_name = 'Maria', room = '12' WHERE id = $1")
        .bind(w.a1.patient)
        .execute(&app.owner)
        .await
        .unwrap();
    let code = enrollment_code(&app, &w).await;
    let data_dir = tempfile::tempdir().unwrap();
    let machine = machine();
    let runtime = DeviceRuntime::new(
        &config(data_dir.path(), machine.path(), &app.base),
        "0.1.0",
        Instant::now(),
    );
    runtime.enroll(&app.base, &code).await.unwrap();
    let told = Arc::new(Recorder::default());
    runtime.start(tokio::runtime::Handle::current(), told.clone(), None);
    told.until("the push channel up", |t| match t {
        Told::Alerts(a) if a.live => Some(()),
        _ => None,
    })
    .await;

    // Another device of the facility: the nurse signs in there and raises an alert.
    let other = helpers::device_token_for(&app.owner, w.a1.device).await;
    let nurse = w.user(Role::Rn);
    helpers::sign_in_on_device(&app, &other, nurse).await;
    let id = uuid::Uuid::now_v7();
    let r = app
        .post(
            "/api/sync/push",
            &other,
            json!({"protocol_version": tend_domain::wire::SYNC_PROTOCOL_VERSION,
                   "schema_version": tend_domain::wire::DEVICE_SCHEMA_VERSION,
                   "device_time": chrono::Utc::now(), "operations": [
                {"id": id, "seq": 1, "payload": {"type": "record", "data": {
                    "patient_id": w.a1.patient, "author_user_id": nurse, "recorded_at": chrono::Utc::now(),
                    "amends": null, "body": {"kind": "wandering_alert", "alert": "exit_door", "location": "east exit"}}}}]}),
        )
        .await;
    assert_eq!(
        r.body["accepted"].as_array().map(Vec::len),
        Some(1),
        "{r:?}"
    );
    let alert = told
        .until("the alert pushed", |t| match t {
            Told::Alerts(a) => a.alerts.iter().find(|a| a.id == id).cloned(),
            _ => None,
        })
        .await;
    assert_eq!(
        (alert.room.as_deref(), alert.first_name.as_str()),
        (Some("12"), "Maria")
    );
    assert!(alert.is_active());
    let listed = runtime.wandering_alerts().await.unwrap();
    assert!(listed.alerts.iter().any(|a| a.id == id && a.is_active()));

    // Acknowledged on another device: the runtime hears who did.
    let r = app
        .post(
            &format!("/api/wandering-alerts/{id}/acknowledge"),
            w.token(Role::Rn),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let by = told
        .until("the acknowledgement pushed", |t| match t {
            Told::Alerts(a) => a
                .alerts
                .iter()
                .find(|a| a.id == id)
                .and_then(|a| a.acknowledged_by.clone()),
            _ => None,
        })
        .await;
    assert_eq!(Some(by.as_str()), r.body["acknowledged_by"].as_str());
    // Acknowledging here needs someone signed in.
    assert_eq!(
        runtime
            .acknowledge_wandering_alert(id)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::NotSignedIn
    );
}

/// The two language choices on a running device (issue 18.7), no reader
/// needed: the device's own, with nobody signed in, kept across a restart;
/// then a CNA whose account says Spanish signs in, sees Spanish, chooses
/// English, and the server keeps it for her account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_and_the_signed_in_person_each_choose_a_language() {
    use tend_domain::Language;

    let app = spawn_app().await;
    let w = world(&app).await;
    let (aide, username) = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::Cna).await;
    let r = app
        .put(
            &format!("/api/users/{aide}"),
            w.token(Role::FacilityAdmin),
            json!({"preferred_language": "es"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let code = enrollment_code(&app, &w).await;

    let data_dir = tempfile::tempdir().unwrap();
    let machine = machine();
    let config = config(data_dir.path(), machine.path(), &app.base);
    let runtime = DeviceRuntime::new(&config, "0.1.0", Instant::now());
    let told = Arc::new(Recorder::default());
    runtime.start(tokio::runtime::Handle::current(), told.clone(), None);

    // The device's language: English until chosen; no session needed.
    assert_eq!(runtime.status().language, Language::En);
    let status = runtime.set_device_language(Language::Es).unwrap();
    assert_eq!(status.language, Language::Es);
    told.until("the status in Spanish", |t| match t {
        Told::Status(s) if s.language == Language::Es => Some(()),
        _ => None,
    })
    .await;
    let restarted = DeviceRuntime::new(&config, "0.1.0", Instant::now());
    assert_eq!(restarted.status().language, Language::Es, "kept on disk");
    assert_eq!(
        runtime
            .set_my_language(Some(Language::En))
            .await
            .unwrap_err()
            .code(),
        ErrorCode::NotSignedIn,
        "nobody's own language without a session"
    );

    // Her account's language comes with the login answer.
    let enrolled = runtime.enroll(&app.base, &code).await.unwrap();
    assert_eq!(enrolled.status, DeviceStatus::Active);
    let session = runtime.login().password(&username, PASSWORD).await.unwrap();
    assert!(
        matches!(session.phase, SessionPhase::Active { .. }),
        "{session:?}"
    );
    assert_eq!(session.user.unwrap().language, Some(Language::Es));

    // She chooses English: the session (and the window) at once, the server too.
    let session = runtime.set_my_language(Some(Language::En)).await.unwrap();
    assert_eq!(session.user.unwrap().language, Some(Language::En));
    told.until("her session in English", |t| match t {
        Told::Session(s) if s.user.as_ref().and_then(|u| u.language) == Some(Language::En) => {
            Some(())
        }
        _ => None,
    })
    .await;
    let stored: Option<String> =
        sqlx::query_scalar("SELECT preferred_language FROM users WHERE id = $1")
            .bind(aide)
            .fetch_one(&app.owner)
            .await
            .unwrap();
    assert_eq!(stored.as_deref(), Some("en"));
    // No preference: the device's language shows again.
    let session = runtime.set_my_language(None).await.unwrap();
    assert_eq!(session.user.unwrap().language, None);
    let stored: Option<String> =
        sqlx::query_scalar("SELECT preferred_language FROM users WHERE id = $1")
            .bind(aide)
            .fetch_one(&app.owner)
            .await
            .unwrap();
    assert_eq!(stored, None);
    assert_eq!(runtime.status().language, Language::Es);
}
