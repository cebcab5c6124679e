//! tend-core's device client (`tend_core::link`, `tend_core::enrollment`) against the real API:
//! what the app does at first-run setup — enroll with a typed code, wait for
//! approval, authenticate, send a heartbeat — and the stable codes the setup
//! screen shows for each failure.

use reqwest::StatusCode;
use serde_json::json;
use tend_core::enrollment::{self, EnrollmentState};
use tend_core::identity::{enrollment_request, DeviceKey, HardwareIdentity, IdentitySource};
use tend_core::link::DeviceClient;
use tend_core::vault::MemoryStore;
use tend_domain::wire::EnrollDevice;
use tend_domain::{DeviceStatus, DeviceType, DeviceUuid, ErrorCode, Role};

use crate::helpers::{spawn_app, world, TestApp, World};

struct Device {
    identity: HardwareIdentity,
    key: DeviceKey,
    data_dir: tempfile::TempDir,
}

impl Device {
    fn new() -> Self {
        Self {
            identity: HardwareIdentity {
                device_uuid: DeviceUuid::from_uuid(uuid::Uuid::new_v4()).unwrap(),
                source: IdentitySource::MachineId,
                mac_address: None,
            },
            key: DeviceKey::load_or_create(&MemoryStore::new()).unwrap().0,
            data_dir: tempfile::tempdir().unwrap(),
        }
    }

    fn request(&self, code: Option<&str>) -> EnrollDevice {
        enrollment_request(
            &self.identity,
            &self.key,
            code,
            "Hall Kiosk",
            DeviceType::Workstation,
            "Debian GNU/Linux 12",
            "0.1.0",
        )
    }
}

fn client(app: &TestApp) -> DeviceClient {
    DeviceClient::new(
        tend_core::connectivity::api_client("test").unwrap(),
        &app.base,
    )
}

async fn new_code(app: &TestApp, w: &World, body: serde_json::Value) -> (String, i64) {
    let r = app
        .post(
            &format!("/api/facilities/{}/enrollment-codes", w.a1.facility),
            w.token(Role::FacilityAdmin),
            body,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    (
        r.body["code"].as_str().unwrap().to_owned(),
        r.body["enrollment_code"]["id"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn enrolls_with_a_typed_code_then_authenticates_and_heartbeats() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (code, _) = new_code(&app, &w, json!({})).await;
    let dev = Device::new();
    let client = client(&app);

    // Typed the way people type: lower case, spaces instead of dashes.
    let typed = code.to_lowercase().replace('-', " ");
    let state = enrollment::enroll(&client, &dev.request(Some(&typed)), dev.data_dir.path())
        .await
        .unwrap();
    assert_eq!(state.status, DeviceStatus::Active);
    assert_eq!(state.facility_id, w.a1.facility);
    // The facility's name, for the lock screen.
    let facility_name: String = sqlx::query_scalar("SELECT name FROM facilities WHERE id = $1")
        .bind(w.a1.facility)
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert_eq!(state.facility_name.as_deref(), Some(facility_name.as_str()));
    assert_eq!(state.organization_id, w.a1.org);
    assert_eq!(state.server_url, app.base);
    // Remembered across restarts.
    let saved = enrollment::load_state(dev.data_dir.path())
        .unwrap()
        .unwrap();
    assert_eq!(saved, state);

    let refreshed = enrollment::refresh_status(&client, saved, &dev.key, dev.data_dir.path())
        .await
        .unwrap();
    assert_eq!(refreshed.status, DeviceStatus::Active);

    let token = client
        .authenticate(&dev.identity.device_uuid, &dev.key)
        .await
        .unwrap();
    assert_eq!(token.device_id, state.device_id);
    let body = tend_core::heartbeat::heartbeat(
        "0.1.0",
        Some(tend_core::vault::SecretBackend::KeyFile),
        &Default::default(),
        chrono::Utc::now(),
    );
    let ack = client.heartbeat(&token, &body).await.unwrap();
    // Encrypted (key file): nothing to lock.
    assert!(!ack.lock);

    // The same code is now used up for another device.
    let other = Device::new();
    let err = client
        .enroll(&other.request(Some(&code)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::EnrollmentCodeExhausted);
    assert_eq!(enrollment::load_state(other.data_dir.path()).unwrap(), None);
}

#[tokio::test]
async fn each_bad_code_has_its_own_code() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let dev = Device::new();
    let client = client(&app);
    let enroll = |code: String| {
        let client = client.clone();
        let body = dev.request(Some(&code));
        async move { client.enroll(&body).await.unwrap_err().code() }
    };

    assert_eq!(
        enroll("0000-0000-0000-0000-0000-0000-0000".into()).await,
        ErrorCode::EnrollmentCodeInvalid
    );
    let (expired, id) = new_code(&app, &w, json!({})).await;
    sqlx::query(
        "UPDATE enrollment_codes SET expires_at = now() - interval '1 second' WHERE id = $1",
    )
    .bind(id)
    .execute(&app.owner)
    .await
    .unwrap();
    assert_eq!(enroll(expired).await, ErrorCode::EnrollmentCodeExpired);

    let (revoked, id) = new_code(&app, &w, json!({})).await;
    let r = app
        .post(
            &format!(
                "/api/facilities/{}/enrollment-codes/{id}/revoke",
                w.a1.facility
            ),
            w.token(Role::FacilityAdmin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(enroll(revoked).await, ErrorCode::EnrollmentCodeRevoked);

    // Never enrolled: the server does not know it.
    let err = client
        .authenticate(&dev.identity.device_uuid, &dev.key)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::DeviceUnknown);
}

#[tokio::test]
async fn a_pre_registered_device_waits_then_becomes_active() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let admin = w.token(Role::FacilityAdmin);
    let dev = Device::new();
    let client = client(&app);
    let r = app
        .post(
            "/api/devices",
            admin,
            json!({"facility_id": w.a1.facility, "device_name": "Desk", "device_type": "WORKSTATION",
                   "device_uuid": dev.identity.device_uuid.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");

    let state: EnrollmentState =
        enrollment::enroll(&client, &dev.request(None), dev.data_dir.path())
            .await
            .unwrap();
    assert_eq!(state.status, DeviceStatus::Pending);
    // Still pending: DEVICE_PENDING is a status, not a failure.
    let state = enrollment::refresh_status(&client, state, &dev.key, dev.data_dir.path())
        .await
        .unwrap();
    assert_eq!(state.status, DeviceStatus::Pending);

    let r = app
        .post(
            &format!("/api/devices/{}/approve", state.device_id),
            admin,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let state = enrollment::refresh_status(&client, state, &dev.key, dev.data_dir.path())
        .await
        .unwrap();
    assert_eq!(state.status, DeviceStatus::Active);
    assert_eq!(
        enrollment::load_state(dev.data_dir.path())
            .unwrap()
            .unwrap()
            .status,
        DeviceStatus::Active
    );
}

/// The app's device session end to end: enroll through `Enrollment` (the
/// object the app uses), heartbeat in the background with a short interval,
/// then an administrator deactivates the device — the very next contact ends
/// the session and the device wipes its keys, vault and enrollment record.
#[tokio::test]
async fn the_session_heartbeats_until_deactivated_then_the_device_wipes_itself() {
    use std::sync::Arc;
    use tend_core::enrollment::Enrollment;
    use tend_core::identity::IdentityProbe;
    use tend_core::link::DeviceLink;
    use tend_core::session::SessionEvent;
    use tend_core::vault::{SecretStore, Vault, VaultOptions};

    let app = spawn_app().await;
    let w = world(&app).await;
    let (code, _) = new_code(&app, &w, json!({})).await;

    // Its own machine: a machine-id below a temporary root.
    let machine = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(machine.path().join("etc")).unwrap();
    std::fs::write(
        machine.path().join("etc/machine-id"),
        format!("{}\n", uuid::Uuid::new_v4().simple()),
    )
    .unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let (vault, _) = Vault::open(data_dir.path(), store.clone(), VaultOptions::default()).unwrap();
    let database = vault.path().to_path_buf();
    drop(vault);
    let device = Arc::new(
        Enrollment::new(data_dir.path(), "0.1.0")
            .with(IdentityProbe::new(machine.path()), store.clone()),
    );

    let state = device.enroll(&app.base, &code).await.unwrap();
    assert_eq!(state.status, DeviceStatus::Active);
    let link = Arc::new(DeviceLink::new(device.clone()));

    let (beats, mut heard) = tokio::sync::mpsc::unbounded_channel();
    let session = tokio::spawn({
        let link = link.clone();
        async move {
            tend_core::session::run_enrolled(
                &link,
                std::time::Duration::from_secs(1),
                Default::default,
                move |event| {
                    let _ = beats.send(event);
                },
            )
            .await
        }
    });
    // Two accepted heartbeats: the token is reused between them. They carry
    // the posture: a key held only in memory is no encryption at rest, which
    // this facility requires, so the server tells the device to lock.
    for _ in 0..2 {
        match heard.recv().await.unwrap() {
            SessionEvent::Online(ack) => assert!(ack.lock),
            other => panic!("expected an accepted heartbeat, got {other:?}"),
        }
    }

    let r = app
        .post(
            &format!("/api/devices/{}/deactivate", state.device_id),
            w.token(Role::FacilityAdmin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");

    let notice = session.await.unwrap().unwrap();
    assert_eq!(notice.reason, ErrorCode::DeviceDeactivated);
    assert_eq!(device.saved().unwrap(), None);
    assert_eq!(device.wipe_notice().unwrap(), Some(notice));
    assert!(!database.exists());
    assert!(store.get(tend_core::vault::DB_KEY_NAME).unwrap().is_none());
    assert!(store
        .get(tend_core::identity::DEVICE_KEY_SECRET)
        .unwrap()
        .is_none());
}
