//! The app's own device path through a deployed stack: the Rust client the
//! Tend app ships (`tend_core`: enrollment, the challenge-signed token link,
//! heartbeats, badge login, the sync engine over an encrypted vault) against
//! the API behind HAProxy's TLS, trusting the server's certificate only
//! through the system trust store the app uses (OpenSSL's, here pointed at
//! the stack's test CA with `SSL_CERT_FILE`, as `update-ca-certificates`
//! would on a device).
//!
//! `scripts/stack/test_stack.py` runs it with what an admin prepared:
//!
//! ```text
//! TEND_STACK_URL=https://localhost:PORT STACK_DEVICE_CODE=… STACK_DEVICE_BADGE=… \
//!   STACK_DEVICE_PIN=… STACK_DEVICE_STAFF_ID=… STACK_DEVICE_CODE2=… \
//!   SSL_CERT_FILE=ca.pem cargo run -p tend-api --example stack_device
//! ```
//!
//! It prints one line per check and exits non-zero at the first failure. It
//! prints no badge value, PIN, token or resident data.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use tend_core::enrollment::{self, Enrollment};
use tend_core::identity::{enrollment_request, DeviceKey, HardwareIdentity, IdentityProbe};
use tend_core::link::{DeviceClient, DeviceLink};
use tend_core::sync::{SyncEngine, SyncSettings};
use tend_core::vault::{KeyFileStore, MemoryStore, SecretStore, Vault, VaultOptions};
use tend_domain::records::{CareNote, RecordBody, RecordDraft, VitalSigns};
use tend_domain::wire::{BadgeLoginRequest, Secret};
use tend_domain::{DeviceStatus, DeviceType, DeviceUuid, ErrorCode};
use uuid::Uuid;

const APP_VERSION: &str = "0.1.0";
/// Records the device documents between its two syncs.
const RECORDS: usize = 12;

struct Config {
    url: String,
    code: String,
    second_code: String,
    badge: String,
    pin: String,
    staff_id: i64,
}

impl Config {
    fn from_env() -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
        Ok(Self {
            url: var("TEND_STACK_URL")?,
            code: var("STACK_DEVICE_CODE")?,
            second_code: var("STACK_DEVICE_CODE2")?,
            badge: var("STACK_DEVICE_BADGE")?,
            pin: var("STACK_DEVICE_PIN")?,
            staff_id: var("STACK_DEVICE_STAFF_ID")?
                .parse()
                .map_err(|_| "STACK_DEVICE_STAFF_ID is not a number".to_owned())?,
        })
    }
}

/// One device as the app runs it: its data folder, its link to the server
/// and its sync engine over an encrypted vault.
struct AppDevice {
    _dir: tempfile::TempDir,
    id: i64,
    link: DeviceLink,
    engine: SyncEngine,
}

fn check(passed: bool, what: impl std::fmt::Display) -> Result<(), String> {
    if passed {
        println!("ok   {what}");
        Ok(())
    } else {
        Err(format!("FAIL {what}"))
    }
}

fn client(url: &str) -> Result<DeviceClient, String> {
    let http = tend_core::connectivity::api_client(APP_VERSION).map_err(|e| e.to_string())?;
    Ok(DeviceClient::new(http, url))
}

/// Enrolls a new device with `code` the way the setup screen does, then
/// opens its vault and link.
async fn enroll(url: &str, code: &str, name: &str) -> Result<AppDevice, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let store: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let key = DeviceKey::load_or_create(store.as_ref())
        .map_err(|e| e.to_string())?
        .0;
    let identity = HardwareIdentity {
        device_uuid: DeviceUuid::from_uuid(Uuid::new_v4()).map_err(|e| e.to_string())?,
        source: tend_core::identity::IdentitySource::MachineId,
        mac_address: None,
    };
    let body = enrollment_request(
        &identity,
        &key,
        Some(code),
        name,
        DeviceType::Tablet,
        "Debian GNU/Linux 12",
        APP_VERSION,
    );
    let state = enrollment::enroll(&client(url)?, &body, dir.path())
        .await
        .map_err(|e| format!("enrollment failed: {e}"))?;
    check(
        state.status == DeviceStatus::Active && state.server_key.is_some(),
        format!("'{name}' enrolled ACTIVE over TLS, server key pinned"),
    )?;
    let enrollment =
        Enrollment::new(dir.path(), APP_VERSION).with(IdentityProbe::new(dir.path()), store);
    let link = DeviceLink::new(Arc::new(enrollment));
    let engine = open_engine(dir.path())?;
    Ok(AppDevice {
        id: state.device_id,
        _dir: dir,
        link,
        engine,
    })
}

fn open_engine(dir: &Path) -> Result<SyncEngine, String> {
    let store = Arc::new(KeyFileStore::new(dir.join("keys")).map_err(|e| e.to_string())?);
    let (vault, _) = Vault::open(&dir.join("data"), store, VaultOptions::default())
        .map_err(|e| format!("vault: {e}"))?;
    SyncEngine::new(Arc::new(Mutex::new(vault))).map_err(|e| e.to_string())
}

fn vault_ids(engine: &SyncEngine, sql: &str) -> BTreeSet<Uuid> {
    let vault = engine.vault().lock().expect("vault lock");
    let mut stmt = vault.connection().prepare(sql).expect("query");
    let ids = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .expect("rows")
        .filter_map(|id| Uuid::parse_str(&id.ok()?).ok())
        .collect();
    ids
}

async fn run(config: Config) -> Result<(), String> {
    // Without the CA in its trust store the app's client refuses the server:
    // no fallback to an unchecked connection.
    if std::env::var_os("SSL_CERT_FILE").is_some() {
        let untrusting =
            std::process::Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
                .arg("--probe-only")
                .env_remove("SSL_CERT_FILE")
                .env("SSL_CERT_DIR", "/nonexistent")
                .output()
                .map_err(|e| e.to_string())?;
        check(
            untrusting.status.code() == Some(3),
            "without the test CA the app's client refuses the server's certificate",
        )?;
    }

    let tablet = enroll(&config.url, &config.code, "Stack app tablet").await?;
    let server = tablet.link.server().await.map_err(|e| e.to_string())?;

    // A token each time: a challenge from one instance, its answer to the
    // next (HAProxy balances each request round robin).
    for round in 1..=3 {
        tablet.link.forget().await;
        let token = tablet
            .link
            .with_token(|_, token| async move { Ok(token) })
            .await
            .map_err(|e| format!("token round {round}: {e}"))?;
        check(
            token.device_id == tablet.id,
            format!("signed challenge → device token, round {round}"),
        )?;
    }

    for beat in 1..=6 {
        let body = tend_core::heartbeat::heartbeat(
            APP_VERSION,
            tend_core::heartbeat::posture(Some(tend_core::vault::SecretBackend::KeyFile)),
            &Default::default(),
            Utc::now(),
        );
        let ack = tablet
            .link
            .with_token(|server, token| {
                let body = body.clone();
                async move { server.client.heartbeat(&token, &body).await }
            })
            .await
            .map_err(|e| format!("heartbeat {beat}: {e}"))?;
        check(!ack.lock, format!("heartbeat {beat} acknowledged"))?;
    }
    drop(server);

    let settings = SyncSettings::default();
    let report = tablet
        .engine
        .sync_once(&tablet.link, &settings)
        .await
        .map_err(|e| format!("initial sync: {e}"))?;
    let roster = tablet
        .engine
        .patients("")
        .await
        .map_err(|e| e.to_string())?;
    check(
        report.pulled > 0 && !roster.is_empty(),
        format!(
            "initial sync pulled {} changes, {} residents (compressed, through HAProxy)",
            report.pulled,
            roster.len()
        ),
    )?;

    // Badge tap: the PIN is asked for, then the staff member is signed in.
    let tap = tablet
        .link
        .badge_login(&BadgeLoginRequest {
            badge_uid: Secret::new(config.badge.clone()),
            pin: None,
        })
        .await;
    check(
        matches!(&tap, Err(e) if e.code() == ErrorCode::BadgePinRequired),
        "a badge tap alone asks for the PIN",
    )?;
    let session = tablet
        .link
        .badge_login(&BadgeLoginRequest {
            badge_uid: Secret::new(config.badge.clone()),
            pin: Some(Secret::new(config.pin.clone())),
        })
        .await
        .map_err(|e| format!("badge login: {e}"))?;
    check(
        session.user.id == config.staff_id,
        "badge + PIN sign the staff member in on the device",
    )?;

    // Documentation by the signed-in staff member, offline first, then one
    // sync: every record once on the server.
    let patient = roster[0].id;
    for i in 0..RECORDS {
        let body = if i % 3 == 0 {
            RecordBody::VitalSigns(VitalSigns {
                pulse_bpm: Some(70 + i as u16),
                ..Default::default()
            })
        } else {
            RecordBody::CareNote(CareNote {
                text: format!("stack round {i}"),
            })
        };
        tablet
            .engine
            .write_record(RecordDraft {
                patient_id: patient,
                author_user_id: session.user.id,
                recorded_at: Utc::now(),
                amends: None,
                correction_reason: None,
                body,
            })
            .await
            .map_err(|e| format!("write record {i}: {e}"))?;
    }
    let report = tablet
        .engine
        .sync_once(&tablet.link, &settings)
        .await
        .map_err(|e| format!("sync push: {e}"))?;
    check(
        report.pushed == RECORDS && tablet.engine.status().pending == 0,
        format!("{} records pushed, none pending", report.pushed),
    )?;
    let written = vault_ids(
        &tablet.engine,
        "SELECT id FROM records WHERE written_here = 1",
    );
    check(
        written.len() == RECORDS,
        "the tablet's vault holds its records",
    )?;

    // Another device of the facility receives them, each exactly once.
    let cart = enroll(&config.url, &config.second_code, "Stack app med cart").await?;
    cart.engine
        .sync_once(&cart.link, &settings)
        .await
        .map_err(|e| format!("second device sync: {e}"))?;
    let arrived = vault_ids(&cart.engine, "SELECT id FROM records");
    check(
        written.is_subset(&arrived),
        "a second device's initial sync receives all of them",
    )?;
    let copies: i64 = {
        let vault = cart.engine.vault().lock().expect("vault lock");
        let list = written
            .iter()
            .map(|id| format!("'{id}'"))
            .collect::<Vec<_>>()
            .join(",");
        vault
            .connection()
            .query_row(
                &format!("SELECT count(*) FROM records WHERE id IN ({list})"),
                [],
                |r| r.get(0),
            )
            .map_err(|e| e.to_string())?
    };
    check(copies == RECORDS as i64, "each of them exactly once")?;
    Ok(())
}

/// `--probe-only`: one readiness call with the client as configured; exit 0
/// when the server answered, 3 when the connection failed (e.g. TLS).
async fn probe_only(url: &str) -> ExitCode {
    let http = match tend_core::connectivity::api_client(APP_VERSION) {
        Ok(http) => http,
        Err(_) => return ExitCode::from(4),
    };
    match http.get(format!("{url}/readyz")).send().await {
        Ok(_) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(3),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    if std::env::args().any(|a| a == "--probe-only") {
        let url = std::env::var("TEND_STACK_URL").unwrap_or_default();
        return probe_only(&url).await;
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("stack_device: {e}");
            return ExitCode::from(2);
        }
    };
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
