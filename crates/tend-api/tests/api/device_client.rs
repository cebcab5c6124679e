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
        tend_core::heartbeat::posture(Some(tend_core::vault::SecretBackend::KeyFile)),
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
    let machine = crate::helpers::machine_with_id();
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

        let machine = crate::helpers::machine_with_id();
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

    // The kiosk syncs its facility, then a note is written and not yet sent.
    let link = tend_core::link::DeviceLink::new(kiosk.enrollment.clone());
    let engine = {
        use tend_core::vault::{Vault, VaultOptions};
        let (vault, _) = Vault::open(
            kiosk.data_dir.path(),
            kiosk.store.clone(),
            VaultOptions::default(),
        )
        .unwrap();
        tend_core::sync::SyncEngine::new(std::sync::Arc::new(std::sync::Mutex::new(vault))).unwrap()
    };
    let settings = tend_core::sync::SyncSettings::default();
    engine.sync_once(&link, &settings).await.unwrap();
    crate::helpers::sign_in_through_link(&app, &link, w.a1.staff).await;
    let note = engine
        .write_record(tend_domain::records::RecordDraft {
            patient_id: w.a1.patient,
            author_user_id: w.a1.staff,
            recorded_at: chrono::Utc::now(),
            amends: None,
            correction_reason: None,
            body: tend_domain::records::RecordBody::CareNote(tend_domain::records::CareNote {
                text: "Refused breakfast; offered again at 9".into(),
            }),
        })
        .await
        .unwrap();
    drop(engine);

    // What the restored database lacks: the device and everything of it
    // (the audit log is append-only, so triggers are off as for a restore).
    let mut tx = app.owner.begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    for sql in [
        "DELETE FROM device_tokens WHERE device_id = $1",
        "DELETE FROM device_sessions WHERE device_id = $1",
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

    // The note written before the restore reaches the server, once.
    let engine = {
        use tend_core::vault::{Vault, VaultOptions};
        let (vault, _) = Vault::open(
            kiosk.data_dir.path(),
            kiosk.store.clone(),
            VaultOptions::default(),
        )
        .unwrap();
        tend_core::sync::SyncEngine::new(std::sync::Arc::new(std::sync::Mutex::new(vault))).unwrap()
    };
    let link = tend_core::link::DeviceLink::new(kiosk.enrollment.clone());
    // The note written before the restore is not lost, but the restored
    // server no longer knows the session it was written in: it refuses the
    // note as forged (the device keeps it, marked refused, for an
    // administrator to see) and it is not resent. Written after the
    // re-adoption, in a new session, a note goes up.
    engine.sync_once(&link, &settings).await.unwrap();
    engine.sync_once(&link, &settings).await.unwrap();
    let copies = |id: uuid::Uuid| {
        let app = &app;
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM clinical_records WHERE id = $1")
                .bind(id)
                .fetch_one(&app.owner)
                .await
                .unwrap()
        }
    };
    assert_eq!(copies(note.id).await, 0);
    let kept = engine
        .record(note.id)
        .await
        .unwrap()
        .expect("kept on the device");
    assert_eq!(kept.sync_state, tend_core::sync::RecordSyncState::Rejected);
    assert_eq!(kept.rejection.unwrap().code, ErrorCode::ForgedAuthor);
    crate::helpers::sign_in_through_link(&app, &link, w.a1.staff).await;
    let after = engine
        .write_record(tend_domain::records::RecordDraft {
            patient_id: w.a1.patient,
            author_user_id: w.a1.staff,
            recorded_at: chrono::Utc::now(),
            amends: None,
            correction_reason: None,
            body: tend_domain::records::RecordBody::CareNote(tend_domain::records::CareNote {
                text: "Breakfast eaten at 9".into(),
            }),
        })
        .await
        .unwrap();
    let report = engine.sync_once(&link, &settings).await.unwrap();
    assert_eq!((report.pushed, report.rejected), (1, 0));
    assert_eq!(copies(after.id).await, 1);
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

/// A kiosk without an OS keyring: its secrets are in a key file inside the
/// data directory, and `machine` is its machine-id.
struct KeyFileKiosk {
    machine: tempfile::TempDir,
    data_dir: tempfile::TempDir,
    enrollment: std::sync::Arc<tend_core::enrollment::Enrollment>,
    link: tend_core::link::DeviceLink,
    state: EnrollmentState,
}

fn key_file_enrollment(
    data_dir: &std::path::Path,
    machine: &std::path::Path,
) -> std::sync::Arc<tend_core::enrollment::Enrollment> {
    use tend_core::vault::{KeyFileStore, SecretStore};
    let store: std::sync::Arc<dyn SecretStore> =
        std::sync::Arc::new(KeyFileStore::new(data_dir.join("keys")).unwrap());
    std::sync::Arc::new(
        tend_core::enrollment::Enrollment::new(data_dir, "0.1.0")
            .with(tend_core::identity::IdentityProbe::new(machine), store),
    )
}

impl KeyFileKiosk {
    /// Enrolled, with a vault on its local key (as every kiosk had before
    /// server-bound keys) holding one row.
    async fn enrolled(app: &TestApp, code: &str) -> Self {
        let machine = crate::helpers::machine_with_id();
        let data_dir = tempfile::tempdir().unwrap();
        let enrollment = key_file_enrollment(data_dir.path(), machine.path());
        let state = enrollment.enroll(&app.base, code).await.unwrap();
        let vault = enrollment.open_vault().await.unwrap();
        assert!(!vault.posture().server_bound);
        vault
            .connection()
            .execute_batch(
                "CREATE TABLE kept (note TEXT); INSERT INTO kept VALUES ('unsynced note');",
            )
            .unwrap();
        drop(vault);
        let link = tend_core::link::DeviceLink::new(enrollment.clone());
        Self {
            machine,
            data_dir,
            enrollment,
            link,
            state,
        }
    }

    async fn open(&self) -> tend_core::Result<tend_core::vault::Vault> {
        tend_core::server_bound::fetch_and_open(&self.enrollment, &self.link).await
    }
}

fn kept_note(vault: &tend_core::vault::Vault) -> String {
    vault
        .connection()
        .query_row("SELECT note FROM kept", [], |r| r.get(0))
        .unwrap()
}

/// The kiosk's vault key leaves the SD card: bound to the server on first
/// open, it opens again only with the server's part; a copy of the data
/// directory on another machine does not open; a deactivated device gets
/// no part at all (the server destroyed it).
#[tokio::test]
async fn a_kiosk_without_a_keyring_binds_its_vault_to_the_server() {
    use tend_core::vault::{KeyFileStore, Vault, VaultOptions};

    let app = spawn_app().await;
    let w = world(&app).await;
    let (code, _) = new_code(&app, &w, json!({})).await;
    let kiosk = KeyFileKiosk::enrolled(&app, &code).await;

    let vault = kiosk.open().await.unwrap();
    assert!(vault.posture().server_bound, "bound on first open");
    assert_eq!(kept_note(&vault), "unsynced note");
    drop(vault);
    let store = KeyFileStore::new(kiosk.data_dir.path().join("keys")).unwrap();
    assert!(Vault::is_bound_to_server(&store).unwrap());
    // The disk alone no longer opens it: the local-only key is gone.
    let alone = Vault::open(
        kiosk.data_dir.path(),
        std::sync::Arc::new(store),
        VaultOptions::default(),
    );
    assert!(alone.is_err(), "opened from the disk alone");
    // With the server's part again: the same data.
    let vault = kiosk.open().await.unwrap();
    assert_eq!(kept_note(&vault), "unsynced note");
    drop(vault);

    // The whole data directory copied to another machine (another
    // machine-id): the device key authenticates, the server hands out its
    // part, and still the key derived there does not open the vault.
    let copy = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", kiosk.data_dir.path().display()))
        .arg(copy.path())
        .status()
        .unwrap();
    assert!(status.success());
    let thief_machine = crate::helpers::machine_with_id();
    let thief = key_file_enrollment(copy.path(), thief_machine.path());
    let thief_link = tend_core::link::DeviceLink::new(thief.clone());
    let Err(e) = tend_core::server_bound::fetch_and_open(&thief, &thief_link).await else {
        panic!("a copy on another machine must not open");
    };
    assert_eq!(e.code(), ErrorCode::StorageUnavailable, "{e}");
    assert!(
        copy.path().join(tend_core::vault::DATABASE_FILE).exists(),
        "nothing shredded in the copy"
    );
    // The original still opens (nothing was shredded over a wrong key).
    assert_eq!(kept_note(&kiosk.open().await.unwrap()), "unsynced note");
    let _ = kiosk.machine.path();

    // Deactivated: no token, no part; the server's part is destroyed.
    let r = app
        .post(
            &format!("/api/devices/{}/deactivate", kiosk.state.device_id),
            w.token(Role::FacilityAdmin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM device_vault_secrets WHERE device_id = $1")
            .bind(kiosk.state.device_id)
            .fetch_one(&app.owner)
            .await
            .unwrap();
    assert_eq!(left, 0, "deactivation destroys the server's part");
    let Err(e) = kiosk.open().await else {
        panic!("a deactivated device must not open");
    };
    assert_eq!(e.code(), ErrorCode::DeviceDeactivated);
}

/// The server's part is rotated: the vault is re-keyed under the new part
/// and the server forgets the old one. A rotation the device did not finish
/// (the server has the new part, the vault still the old) is finished at
/// the next open.
#[tokio::test]
async fn the_servers_part_rotates_and_a_cut_off_rotation_finishes_at_the_next_open() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (code, _) = new_code(&app, &w, json!({})).await;
    let kiosk = KeyFileKiosk::enrolled(&app, &code).await;
    let previous = |app: &TestApp, id: i64| {
        let owner = app.owner.clone();
        async move {
            sqlx::query_scalar::<_, bool>(
                "SELECT previous IS NOT NULL FROM device_vault_secrets WHERE device_id = $1",
            )
            .bind(id)
            .fetch_one(&owner)
            .await
            .unwrap()
        }
    };

    let mut vault = kiosk.open().await.unwrap();
    tend_core::server_bound::rotate(&kiosk.enrollment, &kiosk.link, &mut vault)
        .await
        .unwrap();
    assert!(
        !previous(&app, kiosk.state.device_id).await,
        "old part forgotten"
    );
    drop(vault);
    assert_eq!(kept_note(&kiosk.open().await.unwrap()), "unsynced note");

    // Cut off: the server rotated, the device never re-keyed.
    let token = kiosk
        .link
        .with_token(|_, token| async move { Ok(token) })
        .await
        .unwrap();
    let r = app
        .client
        .post(format!(
            "{}/api/devices/{}/vault-secret/rotate",
            app.base, kiosk.state.device_id
        ))
        .bearer_auth(&token.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    // A second rotation before the device re-keyed would lose its key: refused.
    let again = app
        .client
        .post(format!(
            "{}/api/devices/{}/vault-secret/rotate",
            app.base, kiosk.state.device_id
        ))
        .bearer_auth(&token.token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(previous(&app, kiosk.state.device_id).await);
    let vault = kiosk.open().await.unwrap();
    assert_eq!(kept_note(&vault), "unsynced note");
    assert!(
        !previous(&app, kiosk.state.device_id).await,
        "finished and forgotten"
    );
    drop(vault);
    assert_eq!(kept_note(&kiosk.open().await.unwrap()), "unsynced note");

    // Another device's part is not this device's to read.
    let other = app
        .client
        .get(format!(
            "{}/api/devices/{}/vault-secret",
            app.base,
            kiosk.state.device_id + 1
        ))
        .bearer_auth(&token.token)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
    let anonymous = app
        .client
        .get(format!(
            "{}/api/devices/{}/vault-secret",
            app.base, kiosk.state.device_id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}
