//! tend-core's background sync (`tend_core::sync`) against the real API and
//! PostgreSQL: initial and incremental sync of an enrolled device, a replayed
//! batch, the version handshake, a server restarted and a device killed
//! (`kill -9`) in the middle of a batch, a randomized soak through a
//! fault-injecting proxy, and facility isolation. Every test ends by
//! comparing the device's vault with the server's rows: nothing lost,
//! nothing twice.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::json;
use tend_core::enrollment::{self, Enrollment};
use tend_core::identity::{enrollment_request, DeviceKey, IdentityProbe, IdentitySource};
use tend_core::link::{DeviceClient, DeviceLink};
use tend_core::sync::{RecordSyncState, SyncApi, SyncEnd, SyncEngine, SyncSettings};
use tend_core::vault::{KeyFileStore, MemoryStore, SecretStore, Vault, VaultOptions};
use tend_core::Result;
use tend_domain::records::{CareNote, RecordBody, RecordDraft, VitalSigns};
use tend_domain::wire::{
    DeviceToken, SyncChange, SyncPullPage, SyncPullQuery, SyncPush, SyncPushResult,
};
use tend_domain::{DeviceType, DeviceUuid, ErrorCode, Role};
use uuid::Uuid;

use crate::fault_proxy::{FaultProxy, FaultRates};
use crate::helpers::{
    device_token_for, insert_patient, sign_in_on_device, sign_in_through_link, spawn_app, world,
    Site, TestApp, World,
};

/// The sync calls with a device token issued directly (the enrolled path,
/// challenge and signature, is [`DeviceLink`], used where enrollment is
/// under test).
struct TokenApi {
    client: DeviceClient,
    token: DeviceToken,
}

impl TokenApi {
    async fn new(app: &TestApp, base: &str, device: i64) -> Self {
        Self {
            client: DeviceClient::new(tend_core::connectivity::api_client("test").unwrap(), base),
            token: DeviceToken {
                token: device_token_for(&app.owner, device).await,
                device_id: device,
                expires_at: Utc::now() + chrono::Duration::hours(1),
                facility_id: None,
                facility_name: None,
            },
        }
    }
}

impl TokenApi {
    /// `user` signs in on this device (password login with its token): the
    /// records the device pushes in their name need that session.
    async fn sign_in(&self, app: &TestApp, user: i64) -> &Self {
        sign_in_on_device(app, &self.token.token, user).await;
        self
    }
}

impl SyncApi for TokenApi {
    async fn push(&self, body: &SyncPush) -> Result<SyncPushResult> {
        self.client.sync_push(&self.token, body).await
    }

    async fn pull(&self, query: &SyncPullQuery) -> Result<SyncPullPage> {
        self.client.sync_pull(&self.token, query).await
    }
}

/// A device's vault in `dir` (key in a key file beside it, so another
/// process can open it too) and its engine.
fn open_engine(dir: &Path) -> SyncEngine {
    let store = Arc::new(KeyFileStore::new(dir.join("keys")).unwrap());
    let (vault, _) = Vault::open(&dir.join("data"), store, VaultOptions::default()).unwrap();
    SyncEngine::new(Arc::new(Mutex::new(vault))).unwrap()
}

fn note(site: &Site, text: String) -> RecordDraft {
    RecordDraft {
        patient_id: site.patient,
        author_user_id: site.staff,
        recorded_at: Utc::now(),
        amends: None,
        correction_reason: None,
        body: RecordBody::CareNote(CareNote { text }),
    }
}

/// Ids of the records this device wrote, as its vault has them.
fn written_here(engine: &SyncEngine) -> BTreeSet<Uuid> {
    let vault = engine.vault().lock().unwrap();
    let mut stmt = vault
        .connection()
        .prepare("SELECT id FROM records WHERE written_here = 1")
        .unwrap();
    let ids = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|id| Uuid::parse_str(&id.unwrap()).unwrap())
        .collect();
    ids
}

fn vault_count(engine: &SyncEngine, sql: &str) -> i64 {
    let vault = engine.vault().lock().unwrap();
    vault.connection().query_row(sql, [], |r| r.get(0)).unwrap()
}

/// The server's records from `device`: (distinct ids, rows).
async fn server_records(app: &TestApp, device: i64) -> (BTreeSet<Uuid>, i64) {
    let ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM clinical_records WHERE device_id = $1")
        .bind(device)
        .fetch_all(&app.owner)
        .await
        .unwrap();
    let rows = ids.len() as i64;
    (ids.into_iter().collect(), rows)
}

/// Nothing lost, nothing twice: the device's records are exactly the
/// server's records from this device, each once, and none is pending.
async fn assert_same_records(app: &TestApp, device: i64, engine: &SyncEngine, expected: usize) {
    let local = written_here(engine);
    let (remote, rows) = server_records(app, device).await;
    assert_eq!(local.len(), expected, "records in the vault");
    assert_eq!(rows, expected as i64, "rows on the server");
    assert_eq!(local, remote, "the same records on both sides");
    assert_eq!(
        vault_count(
            engine,
            "SELECT count(*) FROM outbox WHERE state <> 'synced'"
        ),
        0
    );
    assert_eq!(
        vault_count(
            engine,
            "SELECT count(*) FROM records WHERE sync_state <> 'synced'"
        ),
        0
    );
}

/// Another API process on the same database, which can be stopped.
async fn spawn_instance(app: &TestApp) -> (String, tokio::task::JoinHandle<()>) {
    let url: tend_api::config::DatabaseUrl = app.app_url.parse().unwrap();
    let pool = tend_api::db::connect(&url, 4).await.expect("connect");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = tend_api::app(pool, Duration::from_secs(3600));
    let server = tokio::spawn(async move {
        let _ = tend_api::serve(listener, router, std::future::pending()).await;
    });
    (format!("http://{addr}"), server)
}

/// Enrolls a new device of A1 the way the app does; its sync API signs
/// challenges with the device key.
async fn enrolled_device(app: &TestApp, w: &World) -> (DeviceLink, i64, tempfile::TempDir) {
    let r = app
        .post(
            &format!("/api/facilities/{}/enrollment-codes", w.a1.facility),
            w.token(Role::FacilityAdmin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let code = r.body["code"].as_str().unwrap();
    let store: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let key = DeviceKey::load_or_create(store.as_ref()).unwrap().0;
    let identity = tend_core::identity::HardwareIdentity {
        device_uuid: DeviceUuid::from_uuid(Uuid::new_v4()).unwrap(),
        source: IdentitySource::MachineId,
        mac_address: None,
    };
    let body = enrollment_request(
        &identity,
        &key,
        Some(code),
        "Med Cart",
        DeviceType::Workstation,
        "Debian GNU/Linux 12",
        "0.1.0",
    );
    let dir = tempfile::tempdir().unwrap();
    let client = DeviceClient::new(
        tend_core::connectivity::api_client("test").unwrap(),
        &app.base,
    );
    let state = enrollment::enroll(&client, &body, dir.path())
        .await
        .unwrap();
    let enrollment =
        Enrollment::new(dir.path(), "0.1.0").with(IdentityProbe::new(dir.path()), store);
    let api = DeviceLink::new(Arc::new(enrollment));
    (api, state.device_id, dir)
}

#[tokio::test]
async fn an_enrolled_device_syncs_its_facility_then_only_what_changed() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (api, device, dir) = enrolled_device(&app, &w).await;
    let engine = open_engine(dir.path());
    let settings = SyncSettings::default();
    // The staff member signs in on the device (its lock screen's password
    // fallback, through the device link).
    sign_in_through_link(&app, &api, w.a1.staff).await;

    // Initial sync: A1's facility, patients, staff; nothing of A2 or B1.
    let report = engine.sync_once(&api, &settings).await.unwrap();
    assert!(report.pulled > 0);
    let facility = engine
        .facility()
        .await
        .unwrap()
        .expect("the facility arrived");
    assert_eq!(facility.id, w.a1.facility);
    let roster: Vec<i64> = engine
        .patients("")
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(roster, [w.a1.patient]);
    assert!(
        vault_count(
            &engine,
            &format!("SELECT count(*) FROM staff WHERE id = {}", w.a1.staff)
        ) == 1
    );
    assert_eq!(
        vault_count(
            &engine,
            &format!(
                "SELECT count(*) FROM staff WHERE id IN ({}, {})",
                w.a2.staff, w.b1.staff
            )
        ),
        0
    );
    let status = engine.status();
    assert!(status.last_sync.is_some() && status.online == Some(true));
    assert!(status.initial_sync.is_none());

    // Documentation written offline-first goes up once, comes back synced
    // with the server's time.
    for i in 0..3 {
        engine
            .write_record(note(&w.a1, format!("round {i}")))
            .await
            .unwrap();
    }
    let vitals = RecordDraft {
        body: RecordBody::VitalSigns(VitalSigns {
            pulse_bpm: Some(72),
            spo2_percent: Some(97),
            ..Default::default()
        }),
        ..note(&w.a1, String::new())
    };
    engine.write_record(vitals).await.unwrap();
    assert_eq!(engine.status().pending, 4);
    let report = engine.sync_once(&api, &settings).await.unwrap();
    assert_eq!(report.pushed, 4);
    assert_same_records(&app, device, &engine, 4).await;
    let timeline = engine.timeline(w.a1.patient, 10).await.unwrap();
    assert_eq!(timeline.len(), 4);
    assert!(timeline
        .iter()
        .all(|r| r.sync_state == RecordSyncState::Synced && r.occurred_at.is_some()));

    // Incremental: only the new patient (and nothing from B1).
    insert_patient(&app.owner, w.b1.org, w.b1.facility, "active").await;
    let newcomer = insert_patient(&app.owner, w.a1.org, w.a1.facility, "active").await;
    let report = engine.sync_once(&api, &settings).await.unwrap();
    assert_eq!((report.pushed, report.pulled), (0, 1));
    let roster: BTreeSet<i64> = engine
        .patients("")
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(roster, BTreeSet::from([w.a1.patient, newcomer]));

    // A discharge arrives as a tombstone.
    sqlx::query("UPDATE patients SET status = 'discharged', discharged_at = now() WHERE id = $1")
        .bind(newcomer)
        .execute(&app.owner)
        .await
        .unwrap();
    engine.sync_once(&api, &settings).await.unwrap();
    let roster: Vec<i64> = engine
        .patients("")
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(roster, [w.a1.patient]);

    // The heartbeat reports the sync as it is.
    let state = engine.heartbeat_state();
    assert_eq!(state.pending_outbox, 0);
    assert!(state.last_sync.is_some() && !state.sync_errors);
}

#[tokio::test]
async fn a_replayed_batch_changes_nothing_on_the_server() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let proxy = FaultProxy::start(&app.base, 7).await;
    let api = TokenApi::new(&app, &proxy.url, w.a1.device).await;
    api.sign_in(&app, w.a1.staff).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = open_engine(dir.path());
    for i in 0..20 {
        engine
            .write_record(note(&w.a1, format!("note {i}")))
            .await
            .unwrap();
    }
    // The server applies the batch; its answer never arrives.
    proxy.set_rates(FaultRates {
        drop_answer: 1.0,
        ..FaultRates::NONE
    });
    let err = engine
        .sync_once(&api, &SyncSettings::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Offline);
    assert_eq!(engine.status().pending, 20);
    assert_eq!(server_records(&app, w.a1.device).await.1, 20);

    proxy.set_rates(FaultRates::NONE);
    let report = engine
        .sync_once(&api, &SyncSettings::default())
        .await
        .unwrap();
    assert_eq!(report.pushed, 20);
    assert_same_records(&app, w.a1.device, &engine, 20).await;
}

#[tokio::test]
async fn a_refused_protocol_version_keeps_the_outbox_until_the_app_is_updated() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let api = TokenApi::new(&app, &app.base, w.a1.device).await;
    api.sign_in(&app, w.a1.staff).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = open_engine(dir.path());
    engine
        .write_record(note(&w.a1, "kept".into()))
        .await
        .unwrap();
    let future_build = SyncSettings {
        protocol_version: 99,
        ..SyncSettings::default()
    };
    let err = engine.sync_once(&api, &future_build).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnsupportedVersion);
    let status = engine.status();
    assert!(status.update_needed);
    assert_eq!(status.pending, 1);
    assert_eq!(
        status.last_error.unwrap().code,
        ErrorCode::UnsupportedVersion
    );
    assert_eq!(server_records(&app, w.a1.device).await.1, 0);
    let old_schema = SyncSettings {
        schema_version: 1,
        ..SyncSettings::default()
    };
    let err = engine.sync_once(&api, &old_schema).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnsupportedVersion);
    assert_eq!(engine.status().pending, 1);

    engine
        .sync_once(&api, &SyncSettings::default())
        .await
        .unwrap();
    assert!(!engine.status().update_needed);
    assert_same_records(&app, w.a1.device, &engine, 1).await;
}

#[tokio::test]
async fn a_server_restarted_in_the_middle_of_a_batch_loses_and_doubles_nothing() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (first, first_server) = spawn_instance(&app).await;
    let proxy = FaultProxy::start(&first, 11).await;
    let api = Arc::new(TokenApi::new(&app, &proxy.url, w.a1.device).await);
    api.sign_in(&app, w.a1.staff).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(open_engine(dir.path()));
    for i in 0..300 {
        engine
            .write_record(note(&w.a1, format!("note {i}")))
            .await
            .unwrap();
    }
    // The batch reaches the server, which goes down before answering.
    proxy.stall();
    let round = {
        let (engine, api) = (engine.clone(), api.clone());
        tokio::spawn(async move {
            engine
                .sync_once(api.as_ref(), &SyncSettings::default())
                .await
        })
    };
    while server_records(&app, w.a1.device).await.1 < 300 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first_server.abort();
    proxy.cut_all();
    let err = round.await.unwrap().unwrap_err();
    assert_eq!(err.code(), ErrorCode::Offline);
    assert_eq!(engine.status().pending, 300);
    assert_eq!(engine.status().online, Some(false));

    let (second, _second_server) = spawn_instance(&app).await;
    proxy.set_upstream(&second);
    proxy.release();
    engine
        .write_record(note(&w.a1, "after the restart".into()))
        .await
        .unwrap();
    let report = engine
        .sync_once(api.as_ref(), &SyncSettings::default())
        .await
        .unwrap();
    assert_eq!(report.pushed, 301);
    assert_same_records(&app, w.a1.device, &engine, 301).await;
}

#[tokio::test]
async fn a_resident_opened_online_and_offline_shows_as_two_reads_in_the_servers_audit_log() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (first, first_server) = spawn_instance(&app).await;
    let proxy = FaultProxy::start(&first, 5).await;
    let api = TokenApi::new(&app, &proxy.url, w.a1.device).await;
    api.sign_in(&app, w.a1.staff).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = open_engine(dir.path());
    let settings = SyncSettings::default();
    engine.sync_once(&api, &settings).await.unwrap();

    // Online: the nurse opens the resident; the next round uploads the read.
    let online_at = Utc::now() - chrono::Duration::minutes(10);
    let timeline = engine
        .open_timeline(w.a1.patient, 20, w.a1.staff, online_at)
        .await
        .unwrap();
    assert!(timeline.is_empty());
    assert_eq!(engine.sync_once(&api, &settings).await.unwrap().pushed, 1);

    // The server goes away; she opens the resident again, offline.
    first_server.abort();
    proxy.cut_all();
    let offline_at = Utc::now();
    engine
        .open_timeline(w.a1.patient, 20, w.a1.staff, offline_at)
        .await
        .unwrap();
    let err = engine.sync_once(&api, &settings).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Offline);
    assert_eq!(
        vault_count(
            &engine,
            "SELECT count(*) FROM outbox WHERE state = 'pending'"
        ),
        1,
        "the offline read waits in the outbox"
    );

    // Back online: the read goes up, and the server answers "who looked at
    // this resident's record, when, from which device".
    let (second, _second_server) = spawn_instance(&app).await;
    proxy.set_upstream(&second);
    assert_eq!(engine.sync_once(&api, &settings).await.unwrap().pushed, 1);
    let reads: Vec<(Option<i64>, Option<i64>, chrono::DateTime<Utc>)> = sqlx::query_as(
        "SELECT actor_user_id, actor_device_id, at FROM audit_events
         WHERE action = 'patient.read' AND resource_type = 'patient' AND resource_id = $1 ORDER BY at",
    )
    .bind(w.a1.patient)
    .fetch_all(&app.owner)
    .await
    .unwrap();
    assert_eq!(reads.len(), 2, "{reads:?}");
    for (read, when) in reads.iter().zip([online_at, offline_at]) {
        assert_eq!((read.0, read.1), (Some(w.a1.staff), Some(w.a1.device)));
        assert!(
            (read.2 - when).num_seconds().abs() <= 2,
            "{read:?} vs {when}"
        );
    }
}

const HELPER_ENV: &str = "TEND_SYNC_DEVICE_HELPER";

/// The device process of the kill tests. Does nothing unless started by
/// [`spawn_device`]. Prints `WROTE <id>` after each committed record and
/// `PUSHED` when the server has answered a push (before the vault is told).
#[test]
fn device_process_helper() {
    let Ok(mode) = std::env::var(HELPER_ENV) else {
        return;
    };
    let dir = std::path::PathBuf::from(std::env::var("TEND_SYNC_DIR").unwrap());
    let base = std::env::var("TEND_SYNC_API").unwrap();
    let token = DeviceToken {
        token: std::env::var("TEND_SYNC_TOKEN").unwrap(),
        device_id: std::env::var("TEND_SYNC_DEVICE").unwrap().parse().unwrap(),
        expires_at: Utc::now() + chrono::Duration::hours(1),
        facility_id: None,
        facility_name: None,
    };
    let patient: i64 = std::env::var("TEND_SYNC_PATIENT").unwrap().parse().unwrap();
    let author: i64 = std::env::var("TEND_SYNC_AUTHOR").unwrap().parse().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        let engine = open_engine(&dir);
        let api = HangAfterPush {
            inner: TokenApi {
                client: DeviceClient::new(
                    tend_core::connectivity::api_client("test").unwrap(),
                    &base,
                ),
                token,
            },
            hang: mode == "hang_after_push",
        };
        let write = |i: usize| RecordDraft {
            patient_id: patient,
            author_user_id: author,
            recorded_at: Utc::now(),
            amends: None,
            correction_reason: None,
            body: RecordBody::CareNote(CareNote {
                text: format!("written by the device process, {i}"),
            }),
        };
        let settings = SyncSettings {
            interval: Duration::from_millis(20),
            debounce: Duration::from_millis(5),
            retry_base: Duration::from_millis(10),
            retry_cap: Duration::from_millis(100),
            batch_size: 50,
            ..SyncSettings::default()
        };
        let writer = async {
            for i in 0.. {
                let record = engine.write_record(write(i)).await.unwrap();
                println!("WROTE {}", record.id);
                if mode == "hang_after_push" && i == 120 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            std::future::pending::<()>().await;
        };
        tokio::join!(writer, engine.run(&api, &settings, std::future::pending()));
    });
}

/// Hangs forever once the server has answered a push, when asked to: the
/// process is killed between the server's answer and the vault's update.
struct HangAfterPush {
    inner: TokenApi,
    hang: bool,
}

impl SyncApi for HangAfterPush {
    async fn push(&self, body: &SyncPush) -> Result<SyncPushResult> {
        let result = self.inner.push(body).await?;
        if self.hang {
            println!("PUSHED");
            std::future::pending::<()>().await;
        }
        Ok(result)
    }

    async fn pull(&self, query: &SyncPullQuery) -> Result<SyncPullPage> {
        self.inner.pull(query).await
    }
}

/// Starts the device process; returns it and a channel of its output lines.
fn spawn_device(
    mode: &str,
    dir: &Path,
    base: &str,
    token: &str,
    site: &Site,
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "device_sync::device_process_helper",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HELPER_ENV, mode)
        .env("TEND_SYNC_DIR", dir)
        .env("TEND_SYNC_API", base)
        .env("TEND_SYNC_TOKEN", token)
        .env("TEND_SYNC_DEVICE", site.device.to_string())
        .env("TEND_SYNC_PATIENT", site.patient.to_string())
        .env("TEND_SYNC_AUTHOR", site.staff.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (child, rx)
}

/// Waits (off the runtime) for a line starting with `prefix`; collects the
/// ids of `WROTE` lines on the way.
async fn wait_for_line(
    rx: std::sync::mpsc::Receiver<String>,
    prefix: &'static str,
    wrote: Arc<Mutex<BTreeSet<Uuid>>>,
) -> std::sync::mpsc::Receiver<String> {
    tokio::task::spawn_blocking(move || loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the device process is alive and writing");
        if let Some(id) = line.strip_prefix("WROTE ") {
            wrote.lock().unwrap().insert(Uuid::parse_str(id).unwrap());
        }
        if line.starts_with(prefix) {
            return rx;
        }
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_device_killed_between_the_servers_answer_and_its_vault_update_resends_once() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let token = device_token_for(&app.owner, w.a1.device).await;
    sign_in_on_device(&app, &token, w.a1.staff).await;
    let dir = tempfile::tempdir().unwrap();
    let wrote = Arc::new(Mutex::new(BTreeSet::new()));
    let (mut child, rx) = spawn_device("hang_after_push", dir.path(), &app.base, &token, &w.a1);
    let _rx = wait_for_line(rx, "PUSHED", wrote.clone()).await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let on_server = server_records(&app, w.a1.device).await.1;
    assert!(on_server > 0);

    // Restarted: the vault still holds the batch as pending; resending it
    // is answered as duplicates.
    let engine = open_engine(dir.path());
    let pending_before = engine.status().pending as i64;
    assert!(
        pending_before >= on_server,
        "{pending_before} pending, {on_server} on the server"
    );
    let api = TokenApi::new(&app, &app.base, w.a1.device).await;
    engine
        .sync_once(&api, &SyncSettings::default())
        .await
        .unwrap();
    let expected = written_here(&engine).len();
    assert!(wrote
        .lock()
        .unwrap()
        .iter()
        .all(|id| written_here(&engine).contains(id)));
    assert_same_records(&app, w.a1.device, &engine, expected).await;
}

#[tokio::test]
async fn a_device_killed_again_and_again_while_writing_and_syncing_loses_and_doubles_nothing() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let token = device_token_for(&app.owner, w.a1.device).await;
    sign_in_on_device(&app, &token, w.a1.staff).await;
    let dir = tempfile::tempdir().unwrap();
    let wrote = Arc::new(Mutex::new(BTreeSet::new()));
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..6 {
        let (mut child, mut rx) = spawn_device("run", dir.path(), &app.base, &token, &w.a1);
        // A random number of records (10–80) into the run, then SIGKILL.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        for _ in 0..(10 + seed % 70) {
            rx = wait_for_line(rx, "WROTE", wrote.clone()).await;
        }
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let engine = open_engine(dir.path());
    let api = TokenApi::new(&app, &app.base, w.a1.device).await;
    engine
        .sync_once(&api, &SyncSettings::default())
        .await
        .unwrap();
    let local = written_here(&engine);
    let reported = wrote.lock().unwrap().clone();
    assert!(reported.is_subset(&local), "every committed write survived");
    assert_same_records(&app, w.a1.device, &engine, local.len()).await;
}

#[tokio::test]
async fn a_soak_of_hundreds_of_network_faults_loses_and_doubles_nothing() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let seed = std::env::var("TEND_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| Utc::now().timestamp_nanos_opt().unwrap_or(1) as u64);
    let proxy = FaultProxy::start(&app.base, seed).await;
    let api = TokenApi::new(&app, &proxy.url, w.a1.device).await;
    api.sign_in(&app, w.a1.staff).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = open_engine(dir.path());
    let settings = SyncSettings {
        interval: Duration::from_millis(30),
        debounce: Duration::from_millis(10),
        retry_base: Duration::from_millis(5),
        retry_cap: Duration::from_millis(80),
        batch_size: 40,
        page_limit: Some(60),
        ..SyncSettings::default()
    };
    proxy.set_rates(FaultRates {
        refuse: 0.08,
        drop_answer: 0.08,
        truncate_answer: 0.08,
        delay: 0.15,
        max_delay: Duration::from_millis(60),
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut written = 0usize;
    let (end, ()) = tokio::join!(
        engine.run(&api, &settings, async {
            let _ = stopped.await;
        }),
        async {
            // Nurses keep documenting while the network misbehaves.
            while proxy.counts().total() < 240 || written < 400 {
                engine
                    .write_record(note(&w.a1, format!("soak {written}")))
                    .await
                    .unwrap();
                written += 1;
                tokio::time::sleep(Duration::from_millis(3)).await;
                assert!(written < 50_000, "faults: {:?}", proxy.counts());
            }
            // The network heals; everything drains.
            proxy.set_rates(FaultRates::NONE);
            let mut status = engine.subscribe();
            engine.sync_now();
            tokio::time::timeout(
                Duration::from_secs(120),
                status.wait_for(|s| s.pending == 0 && s.last_error.is_none() && !s.syncing),
            )
            .await
            .expect("the outbox drains once the network is back")
            .unwrap();
            stop.send(()).unwrap();
        }
    );
    assert_eq!(end, SyncEnd::Shutdown);
    let counts = proxy.counts();
    eprintln!("soak seed {seed}: {written} records, faults {counts:?}");
    assert!(counts.total() >= 200, "{counts:?}");
    assert!(counts.dropped_answers > 0 && counts.truncated_answers > 0 && counts.refused > 0);
    assert_same_records(&app, w.a1.device, &engine, written).await;
    // Pulled copies of its own records are the same rows, not extra ones.
    assert_eq!(
        vault_count(&engine, "SELECT count(*) FROM records"),
        written as i64
    );
}

#[tokio::test]
async fn a_device_never_receives_another_facilitys_data_even_with_a_forged_cursor() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let api_a = TokenApi::new(&app, &app.base, w.a1.device).await;
    api_a.sign_in(&app, w.a1.staff).await;
    let dir_a = tempfile::tempdir().unwrap();
    let engine_a = open_engine(dir_a.path());
    engine_a
        .write_record(note(&w.a1, "A1 only".into()))
        .await
        .unwrap();
    engine_a
        .sync_once(&api_a, &SyncSettings::default())
        .await
        .unwrap();
    let cursor_a: String = {
        let vault = engine_a.vault().lock().unwrap();
        vault
            .connection()
            .query_row("SELECT cursor FROM sync_cursors", [], |r| r.get(0))
            .unwrap()
    };

    for site in [&w.a2, &w.b1] {
        let api = TokenApi::new(&app, &app.base, site.device).await;
        let dir = tempfile::tempdir().unwrap();
        let engine = open_engine(dir.path());
        engine
            .sync_once(&api, &SyncSettings::default())
            .await
            .unwrap();
        assert_eq!(engine.facility().await.unwrap().unwrap().id, site.facility);
        let roster: Vec<i64> = engine
            .patients("")
            .await
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(roster, [site.patient]);
        assert_eq!(vault_count(&engine, "SELECT count(*) FROM records"), 0);
        assert_eq!(
            vault_count(
                &engine,
                &format!("SELECT count(*) FROM staff WHERE id = {}", w.a1.staff)
            ),
            0
        );
        // Another facility's cursor, or one made up, never opens its feed.
        for forged in [cursor_a.clone(), "0".into(), "AAAAAAAAAAAAAAAA".into()] {
            match api
                .pull(&SyncPullQuery {
                    protocol_version: tend_domain::wire::SYNC_PROTOCOL_VERSION,
                    schema_version: tend_domain::wire::DEVICE_SCHEMA_VERSION,
                    cursor: Some(forged),
                    limit: None,
                })
                .await
            {
                Ok(page) => {
                    for change in &page.changes {
                        let foreign = match change {
                            SyncChange::Facility(f) => f.id != site.facility,
                            SyncChange::Patient(p) => p.facility_id != site.facility,
                            SyncChange::Record(r) => r.facility_id != site.facility,
                            SyncChange::Staff(s) => s.id == w.a1.staff,
                            _ => false,
                        };
                        assert!(!foreign, "{change:?}");
                    }
                }
                Err(e) => assert!(
                    matches!(
                        e.code(),
                        ErrorCode::ValidationFailed | ErrorCode::MalformedRequest
                    ),
                    "{e:?}"
                ),
            }
        }
    }
}
