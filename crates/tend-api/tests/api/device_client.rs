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
    use tend_core::session::{SessionEvent, SessionOutcome};
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

    // The server's refusal carried an order signed with the key the device
    // pinned at enrollment: verified, so the device wipes itself.
    let notice = match session.await.unwrap().unwrap() {
        SessionOutcome::Wiped(notice) => notice,
        other => panic!("a signed deactivation must wipe, got {other:?}"),
    };
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

/// A kiosk enrolled through `Enrollment` with a vault beside it, as the app
/// has it: for the tests of what an end of the enrollment does.
struct Kiosk {
    _machine: tempfile::TempDir,
    data_dir: tempfile::TempDir,
    store: std::sync::Arc<dyn tend_core::vault::SecretStore>,
    enrollment: std::sync::Arc<tend_core::enrollment::Enrollment>,
    database: std::path::PathBuf,
    state: EnrollmentState,
}

impl Kiosk {
    async fn enrolled(app: &TestApp, code: &str) -> Self {
        use std::sync::Arc;
        use tend_core::enrollment::Enrollment;
        use tend_core::identity::IdentityProbe;
        use tend_core::vault::{SecretStore, Vault, VaultOptions};

        let machine = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(machine.path().join("etc")).unwrap();
        std::fs::write(
            machine.path().join("etc/machine-id"),
            format!("{}\n", uuid::Uuid::new_v4().simple()),
        )
        .unwrap();
        let data_dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
        let (vault, _) =
            Vault::open(data_dir.path(), store.clone(), VaultOptions::default()).unwrap();
        let database = vault.path().to_path_buf();
        drop(vault);
        let enrollment = Arc::new(
            Enrollment::new(data_dir.path(), "0.1.0")
                .with(IdentityProbe::new(machine.path()), store.clone()),
        );
        let state = enrollment.enroll(&app.base, code).await.unwrap();
        assert_eq!(state.status, DeviceStatus::Active);
        assert!(
            state.server_key.is_some(),
            "the server key is pinned at enrollment"
        );
        Self {
            _machine: machine,
            data_dir,
            store,
            enrollment,
            database,
            state,
        }
    }

    /// Runs the session until the server ends it.
    async fn session(&self) -> tend_core::session::SessionOutcome {
        let link = tend_core::link::DeviceLink::new(self.enrollment.clone());
        tend_core::session::run_enrolled(
            &link,
            std::time::Duration::from_millis(200),
            Default::default,
            |_| {},
        )
        .await
        .unwrap()
    }

    /// Nothing of the device is gone: enrollment record, vault, keys.
    fn assert_intact(&self) {
        assert!(
            self.enrollment.saved().unwrap().is_some(),
            "enrollment kept"
        );
        assert!(self.database.exists(), "vault kept");
        assert!(self
            .store
            .get(tend_core::vault::DB_KEY_NAME)
            .unwrap()
            .is_some());
        assert!(self
            .store
            .get(tend_core::identity::DEVICE_KEY_SECRET)
            .unwrap()
            .is_some());
        assert_eq!(self.enrollment.wipe_notice().unwrap(), None);
        let _ = self.data_dir.path();
    }
}

/// The server database is restored from a backup older than the device's
/// enrollment: the server no longer knows the device. Before, one
/// `DEVICE_UNKNOWN` wiped it with its unsynced notes; now the device locks,
/// keeps everything, and an administrator re-adopts it.
#[tokio::test]
async fn a_server_that_forgot_the_device_locks_it_and_an_admin_re_adopts_it() {
    use tend_core::enrollment::orders::UnverifiedOrder;
    use tend_core::session::SessionOutcome;

    let app = spawn_app().await;
    let w = world(&app).await;
    let (code, _) = new_code(&app, &w, json!({})).await;
    let kiosk = Kiosk::enrolled(&app, &code).await;
    let device_uuid = kiosk.state.device_uuid.clone();

    // What the restored database lacks: the device and everything of it
    // (the audit log is append-only, so triggers are off as for a restore).
    let mut tx = app.owner.begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    for sql in [
        "DELETE FROM device_tokens WHERE device_id = $1",
        "DELETE FROM audit_events WHERE actor_device_id = $1",
        "DELETE FROM devices WHERE id = $1",
    ] {
        sqlx::query(sql)
            .bind(kiosk.state.device_id)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();

    let held = match kiosk.session().await {
        SessionOutcome::Held(held) => held,
        other => panic!("an unsigned DEVICE_UNKNOWN must not wipe, got {other:?}"),
    };
    assert_eq!(held.code, ErrorCode::DeviceUnknown);
    assert_eq!(held.reason, UnverifiedOrder::Unsigned);
    assert_eq!(held.device_uuid, device_uuid);
    kiosk.assert_intact();

    // Asking to be re-adopted before an administrator said yes changes nothing.
    let e = kiosk.enrollment.request_readoption().await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::EnrollmentCodeRequired);
    kiosk.assert_intact();

    // The administrator pre-registers the UUID the lock screen shows …
    let admin = w.token(Role::FacilityAdmin);
    let r = app
        .post(
            "/api/devices",
            admin,
            json!({"facility_id": w.a1.facility, "device_name": "Hall kiosk (re-adopted)",
                   "device_type": "WORKSTATION", "device_uuid": device_uuid}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let state = kiosk.enrollment.request_readoption().await.unwrap();
    assert_eq!(state.status, DeviceStatus::Pending);
    // … and approves it: the device is active again with its vault and key.
    let r = app
        .post(
            &format!("/api/devices/{}/approve", state.device_id),
            admin,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let state = kiosk.enrollment.request_readoption().await.unwrap();
    assert_eq!(state.status, DeviceStatus::Active);
    assert_eq!(
        state.server_key, kiosk.state.server_key,
        "the pinned key is kept"
    );
    kiosk.assert_intact();
    let key = kiosk.enrollment.device_key().await.unwrap();
    let uuid = DeviceUuid::parse(&device_uuid).unwrap();
    client(&app).authenticate(&uuid, &key).await.unwrap();
}

/// A machine posing as the server (DNS, a captive portal) answers the
/// device's challenge with a deactivation: unsigned, or signed with a key
/// that is not the one the device pinned. Neither wipes anything.
#[tokio::test]
async fn a_forged_deactivation_locks_the_device_and_deletes_nothing() {
    use axum::routing::post;
    use axum::Json;
    use base64::Engine;
    use ed25519_dalek::{Signer, SigningKey};
    use tend_core::enrollment::orders::UnverifiedOrder;
    use tend_core::session::SessionOutcome;
    use tend_domain::wire::{DeviceOrder, DeviceOrderKind, DeviceTokenRequest};

    let app = spawn_app().await;
    let w = world(&app).await;
    for signed in [false, true] {
        let (code, _) = new_code(&app, &w, json!({})).await;
        let kiosk = Kiosk::enrolled(&app, &code).await;
        let impostor = SigningKey::from_bytes(&[9u8; 32]);
        let key_id = kiosk.state.server_key.as_ref().unwrap().key_id.clone();
        let fake = axum::Router::new()
            .route(
                "/api/devices/auth/challenge",
                post(|| async {
                    Json(json!({"nonce": "fake-nonce", "expires_at": chrono::Utc::now()}))
                }),
            )
            .route(
                "/api/devices/auth/token",
                post(move |Json(req): Json<DeviceTokenRequest>| async move {
                    let mut error = json!({"code": "DEVICE_DEACTIVATED",
                        "message": "this device was deactivated"});
                    if signed {
                        let mut order = DeviceOrder {
                            kind: DeviceOrderKind::Deactivate,
                            device_uuid: req.device_uuid,
                            nonce: req.nonce,
                            issued_at: chrono::Utc::now(),
                            // It even claims the real server's key id.
                            key_id: key_id.clone(),
                            signature: String::new(),
                        };
                        order.signature = base64::engine::general_purpose::STANDARD
                            .encode(impostor.sign(&order.message()).to_bytes());
                        error["order"] = serde_json::to_value(order).unwrap();
                    }
                    (
                        axum::http::StatusCode::UNAUTHORIZED,
                        Json(json!({"error": error})),
                    )
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake_url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move { axum::serve(listener, fake).await });
        // The device now reaches the impostor where its server should be.
        let mut state = kiosk.state.clone();
        state.server_url = fake_url;
        enrollment::save_state(kiosk.data_dir.path(), &state).unwrap();

        let held = match kiosk.session().await {
            SessionOutcome::Held(held) => held,
            other => panic!("a forged deactivation must not wipe, got {other:?}"),
        };
        assert_eq!(held.code, ErrorCode::DeviceDeactivated);
        let expected = if signed {
            UnverifiedOrder::BadSignature
        } else {
            UnverifiedOrder::Unsigned
        };
        assert_eq!(held.reason, expected);
        kiosk.assert_intact();
        server.abort();
    }
}

/// The order in the refusal verifies against the key `GET /api/server-key`
/// publishes — the same key at every instance — names the device, and is
/// bound to the challenge it answers.
#[tokio::test]
async fn deactivation_and_rejection_are_signed_orders_bound_to_the_challenge() {
    use tend_core::enrollment::orders::{self, PinnedServerKey};
    use tend_domain::wire::{DeviceOrderKind, ServerSigningKey};

    let app = spawn_app().await;
    let w = world(&app).await;
    let admin = w.token(Role::FacilityAdmin);
    let published: ServerSigningKey = serde_json::from_value(
        app.call(reqwest::Method::GET, "/api/server-key", None, None)
            .await
            .body,
    )
    .unwrap();
    assert_eq!(published.algorithm, "Ed25519");
    let (base_b, server_b) = app.second_instance().await;
    let at_b: ServerSigningKey = app
        .client
        .get(format!("{base_b}/api/server-key"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(at_b, published, "every instance signs with the same key");
    let pinned = PinnedServerKey::from_published(&published).unwrap();
    let client = client(&app);

    // Deactivated.
    let (code, _) = new_code(&app, &w, json!({})).await;
    let dev = Device::new();
    let state = enrollment::enroll(&client, &dev.request(Some(&code)), dev.data_dir.path())
        .await
        .unwrap();
    assert_eq!(state.server_key.as_ref(), Some(&pinned));
    let r = app
        .post(
            &format!("/api/devices/{}/deactivate", state.device_id),
            admin,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let e = client
        .authenticate(&dev.identity.device_uuid, &dev.key)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::DeviceDeactivated);
    let order = e.device_order().expect("a signed order").clone();
    assert_eq!(
        orders::verify(
            e.code(),
            Some(&order),
            Some(&pinned),
            &dev.identity.device_uuid
        ),
        Ok(DeviceOrderKind::Deactivate)
    );
    // Not an order for any other device.
    let other = Device::new();
    assert_eq!(
        orders::verify(
            e.code(),
            Some(&order),
            Some(&pinned),
            &other.identity.device_uuid
        ),
        Err(orders::UnverifiedOrder::OtherDevice)
    );

    // Rejected (pre-registered, then refused by the administrator).
    let dev = Device::new();
    let r = app
        .post(
            "/api/devices",
            admin,
            json!({"facility_id": w.a1.facility, "device_name": "Desk", "device_type": "WORKSTATION",
                   "device_uuid": dev.identity.device_uuid.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let state = enrollment::enroll(&client, &dev.request(None), dev.data_dir.path())
        .await
        .unwrap();
    let r = app
        .post(
            &format!("/api/devices/{}/reject", state.device_id),
            admin,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let e = client
        .authenticate(&dev.identity.device_uuid, &dev.key)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::DeviceRejected);
    assert_eq!(
        orders::verify(
            e.code(),
            e.device_order(),
            Some(&pinned),
            &dev.identity.device_uuid
        ),
        Ok(DeviceOrderKind::Reject)
    );
    server_b.abort();
}
