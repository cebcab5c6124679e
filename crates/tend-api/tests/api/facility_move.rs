//! Facility moves and closures (issue 17) with tend-core's real device code
//! against the real API: an administrator moves an enrolled device to
//! another facility of its organization — its tokens die at once at every
//! instance, what it wrote for the old facility is filed there exactly once,
//! and its vault forgets the old facility and receives the new one; a device
//! of a closed facility or organization is refused with its own code and
//! keeps everything.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tend_core::enrollment::{Enrollment, EnrollmentState};
use tend_core::identity::IdentityProbe;
use tend_core::link::{DeviceApi, DeviceLink};
use tend_core::session::SessionEvent;
use tend_core::sync::{Placement, Relocation, SyncEngine, SyncSettings};
use tend_core::vault::{MemoryStore, SecretStore, Vault, VaultOptions};
use tend_domain::records::{CareNote, RecordBody, RecordDraft};
use tend_domain::{DeviceStatus, ErrorCode, Role};

use crate::helpers::{insert_patient, spawn_app, world, TestApp, World};

/// The app's side of a move, as `tend_core::device` has it: the enrollment
/// record, and a count of sign-outs for the lock screen.
struct Host {
    enrollment: Arc<Enrollment>,
    sign_outs: Mutex<u32>,
}

impl Relocation for Host {
    fn enrolled_facility(&self) -> tend_core::Result<Option<i64>> {
        Ok(self.enrollment.saved()?.map(|s| s.facility_id))
    }
    fn save_facility(&self, placement: &Placement) -> tend_core::Result<()> {
        self.enrollment
            .moved_to(placement.facility_id, placement.facility_name.clone())
    }
    fn sign_out_everyone(&self) {
        *self.sign_outs.lock().unwrap() += 1;
    }
}

/// A kiosk of facility A1 with its vault and sync engine, enrolled through
/// `Enrollment` with a code, as the app does it.
struct Kiosk {
    _machine: tempfile::TempDir,
    data_dir: tempfile::TempDir,
    database: std::path::PathBuf,
    enrollment: Arc<Enrollment>,
    link: Arc<DeviceLink>,
    host: Arc<Host>,
    engine: SyncEngine,
    state: EnrollmentState,
}

impl Kiosk {
    async fn enrolled(app: &TestApp, w: &World) -> Self {
        let r = app
            .post(
                &format!("/api/facilities/{}/enrollment-codes", w.a1.facility),
                w.token(Role::FacilityAdmin),
                json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
        let code = r.body["code"].as_str().unwrap().to_owned();
        let machine = crate::helpers::machine_with_id();
        let data_dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
        let (vault, _) =
            Vault::open(data_dir.path(), store.clone(), VaultOptions::default()).unwrap();
        let database = vault.path().to_path_buf();
        let enrollment = Arc::new(
            Enrollment::new(data_dir.path(), "0.1.0")
                .with(IdentityProbe::new(machine.path()), store),
        );
        let state = enrollment.enroll(&app.base, &code).await.unwrap();
        assert_eq!(state.status, DeviceStatus::Active);
        assert_eq!(state.facility_id, w.a1.facility);
        let host = Arc::new(Host {
            enrollment: enrollment.clone(),
            sign_outs: Mutex::new(0),
        });
        let engine = SyncEngine::new(Arc::new(Mutex::new(vault)))
            .unwrap()
            .following_moves(host.clone());
        Self {
            _machine: machine,
            data_dir,
            database,
            link: Arc::new(DeviceLink::new(enrollment.clone())),
            enrollment,
            host,
            engine,
            state,
        }
    }

    /// Sync rounds until one completes (a round that meets a move halfway
    /// ends early and the next one follows it); at most three.
    async fn sync(&self) -> tend_core::sync::RoundReport {
        let mut last = None;
        for _ in 0..3 {
            match self
                .engine
                .sync_once(self.link.as_ref(), &SyncSettings::default())
                .await
            {
                Ok(report) => return report,
                Err(e) => last = Some(e),
            }
        }
        panic!("sync never completed: {last:?}");
    }

    fn count(&self, sql: &str) -> i64 {
        let vault = self.engine.vault().lock().unwrap();
        vault.connection().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    async fn token(&self) -> tend_domain::wire::DeviceToken {
        let server = self.link.server().await.unwrap();
        self.link.tokens().get(server.as_ref()).await.unwrap()
    }
}

async fn heartbeat_at(app: &TestApp, base: &str, device: i64, token: &str) -> (StatusCode, Value) {
    let res = app
        .client
        .post(format!("{base}/api/devices/{device}/heartbeat"))
        .bearer_auth(token)
        .json(
            &json!({"device_time": Utc::now(), "encryption_posture": "key_file",
                      "pending_outbox": 0, "sync_errors": false}),
        )
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn facility_name(app: &TestApp, id: i64) -> String {
    sqlx::query_scalar("SELECT name FROM facilities WHERE id = $1")
        .bind(id)
        .fetch_one(&app.owner)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_moved_device_files_its_outbox_in_the_old_facility_forgets_it_and_pulls_the_new_one() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (base_b, server_b) = app.second_instance().await;
    let (a, b) = (w.a1.facility, w.a2.facility);
    let second_a = insert_patient(&app.owner, w.a1.org, a, "active").await;
    let kiosk = Kiosk::enrolled(&app, &w).await;
    let device = kiosk.state.device_id;

    // Facility A's residents reach the vault.
    kiosk.sync().await;
    let in_a = format!("SELECT count(*) FROM roster_patients WHERE facility_id = {a}");
    assert_eq!(kiosk.count(&in_a), 2);
    // The staff member signs in on the kiosk, then writes while it is
    // offline: the note waits in the outbox.
    crate::helpers::sign_in_through_link(&app, &kiosk.link, w.a1.staff).await;
    let note = kiosk
        .engine
        .write_record(RecordDraft {
            patient_id: second_a,
            author_user_id: w.a1.staff,
            recorded_at: Utc::now(),
            amends: None,
            correction_reason: None,
            body: RecordBody::CareNote(CareNote {
                text: "Restless night; repositioned twice".into(),
            }),
        })
        .await
        .unwrap();
    assert_eq!(kiosk.engine.status().pending, 1);

    // Both instances know the device's current token.
    let old = kiosk.token().await;
    assert_eq!(old.facility_id, Some(a));
    for base in [app.base.as_str(), base_b.as_str()] {
        assert_eq!(
            heartbeat_at(&app, base, device, &old.token).await.0,
            StatusCode::OK
        );
    }
    // Let the second instance's revocation listener finish connecting.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // An organization administrator moves the device to B.
    let r = app
        .put(
            &format!("/api/devices/{device}"),
            w.token(Role::OrgAdmin),
            json!({"facility_id": b}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["facility_id"], b);

    // The old token is refused at once, here and (once the notice arrives) there.
    assert_eq!(
        heartbeat_at(&app, &app.base, device, &old.token).await.0,
        StatusCode::UNAUTHORIZED
    );
    let mut at_b = (StatusCode::OK, Value::Null);
    for _ in 0..50 {
        at_b = heartbeat_at(&app, &base_b, device, &old.token).await;
        if at_b.0 != StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(at_b.0, StatusCode::UNAUTHORIZED, "{at_b:?}");

    // The device follows.
    let mut moved = None;
    for _ in 0..3 {
        let report = kiosk.sync().await;
        moved = moved.or(report.moved);
    }
    let moved = moved.expect("the device followed the move");
    assert_eq!((moved.from, moved.to), (a, b));
    assert_eq!(*kiosk.host.sign_outs.lock().unwrap(), 1);

    // The note reached the server exactly once, filed in A with its resident.
    let filed: Vec<(i64, i64)> =
        sqlx::query_as("SELECT facility_id, patient_id FROM clinical_records WHERE id = $1")
            .bind(note.id)
            .fetch_all(&app.owner)
            .await
            .unwrap();
    assert_eq!(filed, [(a, second_a)]);
    assert_eq!(kiosk.engine.status().pending, 0);

    // Nothing of A is left in the vault; B's residents came from scratch.
    assert_eq!(kiosk.count(&in_a), 0);
    assert_eq!(
        kiosk.count(&format!(
            "SELECT count(*) FROM records WHERE patient_id IN ({}, {second_a})",
            w.a1.patient
        )),
        0
    );
    assert_eq!(kiosk.count("SELECT count(*) FROM outbox"), 0);
    assert_eq!(
        kiosk.count(&format!(
            "SELECT count(*) FROM roster_patients WHERE server_id = {}",
            w.a2.patient
        )),
        1
    );
    assert_eq!(
        kiosk.count(&format!("SELECT count(*) FROM facility WHERE id = {b}")),
        1
    );
    let saved = kiosk.enrollment.saved().unwrap().unwrap();
    assert_eq!(saved.facility_id, b);
    assert_eq!(saved.facility_name, Some(facility_name(&app, b).await));

    // The audit log shows the move in both facilities, naming both.
    let moves: Vec<(i64, String)> = sqlx::query_as(
        "SELECT facility_id, reason FROM audit_events WHERE action = 'device.move' \
         AND resource_id = $1 ORDER BY facility_id",
    )
    .bind(device)
    .fetch_all(&app.owner)
    .await
    .unwrap();
    let reason = format!("moved from facility {a} to facility {b}");
    assert_eq!(moves, [(a, reason.clone()), (b, reason)]);
    let filed_after_move: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE action = 'sync.push_after_move' \
         AND actor_device_id = $1 AND facility_id = $2",
    )
    .bind(device)
    .bind(a)
    .fetch_one(&app.owner)
    .await
    .unwrap();
    assert_eq!(filed_after_move, 1);
    assert!(kiosk.database.exists());
    let _ = kiosk.data_dir.path();
    server_b.abort();
}

#[tokio::test]
async fn a_closed_facility_or_organization_refuses_its_devices_with_its_own_code_and_nothing_is_wiped(
) {
    let app = spawn_app().await;
    let w = world(&app).await;
    let kiosk = Kiosk::enrolled(&app, &w).await;
    let device = kiosk.state.device_id;
    kiosk.sync().await;
    let old = kiosk.token().await;

    let r = app
        .put(
            &format!("/api/facilities/{}", w.a1.facility),
            w.token(Role::OrgAdmin),
            json!({"is_active": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    // Its tokens died with the closure; a new one is refused with the code.
    assert_eq!(
        heartbeat_at(&app, &app.base, device, &old.token).await.0,
        StatusCode::UNAUTHORIZED
    );
    let server = kiosk.link.server().await.unwrap();
    let e = server.authenticate().await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::FacilityClosed);
    assert!(!tend_core::session::ends_enrollment(e.code()));

    // The session says so, and keeps asking; nothing is deleted.
    let (events, mut heard) = tokio::sync::mpsc::unbounded_channel();
    let link = kiosk.link.clone();
    let session = tokio::spawn(async move {
        tend_core::session::run_enrolled(
            &link,
            Duration::from_millis(200),
            Default::default,
            move |event| {
                let _ = events.send(event);
            },
        )
        .await
    });
    assert_eq!(
        heard.recv().await.unwrap(),
        SessionEvent::Closed(ErrorCode::FacilityClosed)
    );
    assert_eq!(
        heard.recv().await.unwrap(),
        SessionEvent::Closed(ErrorCode::FacilityClosed)
    );
    assert!(!session.is_finished());
    session.abort();
    assert!(kiosk.enrollment.saved().unwrap().is_some());
    assert_eq!(kiosk.enrollment.wipe_notice().unwrap(), None);
    assert!(kiosk.database.exists());
    assert_eq!(kiosk.count("SELECT count(*) FROM roster_patients"), 1);

    // The whole organization closed (a platform decision): its own code.
    let r = app
        .put(
            &format!("/api/organizations/{}", w.a1.org),
            w.token(Role::PlatformAdmin),
            json!({"is_active": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let e = server.authenticate().await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::OrganizationClosed);

    // Reopened: the same device works again, with everything it had.
    for (path, who) in [
        (
            format!("/api/organizations/{}", w.a1.org),
            Role::PlatformAdmin,
        ),
        (
            format!("/api/facilities/{}", w.a1.facility),
            Role::PlatformAdmin,
        ),
    ] {
        let r = app
            .put(&path, w.token(who), json!({"is_active": true}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
    }
    let token = server.authenticate().await.unwrap();
    assert_eq!(token.facility_id, Some(w.a1.facility));
}

#[tokio::test]
async fn a_move_needs_an_administrator_of_both_facilities_in_one_organization() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let path = format!("/api/devices/{}", w.a1.device);
    // Another organization's facility: refused, naming the field.
    for role in [Role::OrgAdmin, Role::PlatformAdmin] {
        let r = app
            .put(&path, w.token(role), json!({"facility_id": w.b1.facility}))
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{role:?}: {r:?}"
        );
        assert_eq!(r.code(), "VALIDATION_FAILED");
        assert!(r.body["error"]["fields"]["facility_id"].is_array(), "{r:?}");
    }
    // A facility administrator's scope does not cover the other facility;
    // staff may not manage devices at all.
    for role in [Role::FacilityAdmin, Role::Rn] {
        let r = app
            .put(&path, w.token(role), json!({"facility_id": w.a2.facility}))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{role:?}: {r:?}");
        assert_eq!(r.code(), "FORBIDDEN");
    }
    let unmoved: i64 = sqlx::query_scalar("SELECT facility_id FROM devices WHERE id = $1")
        .bind(w.a1.device)
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert_eq!(unmoved, w.a1.facility);
    let moves: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE action = 'device.move'")
            .fetch_one(&app.owner)
            .await
            .unwrap();
    assert_eq!(moves, 0);

    // A push naming a facility the device did not leave is refused whole.
    let token = crate::helpers::device_token_for(&app.owner, w.a1.device).await;
    let res = app
        .client
        .post(format!("{}/api/sync/push", app.base))
        .bearer_auth(&token)
        .json(&tend_domain::wire::SyncPush {
            protocol_version: tend_domain::wire::SYNC_PROTOCOL_VERSION,
            schema_version: tend_domain::wire::DEVICE_SCHEMA_VERSION,
            device_time: Utc::now(),
            facility_id: Some(w.a2.facility),
            operations: vec![tend_domain::wire::SyncOperation {
                id: uuid::Uuid::now_v7(),
                seq: 1,
                payload: tend_domain::wire::OperationPayload::Record(RecordDraft {
                    patient_id: w.a2.patient,
                    author_user_id: w.a2.staff,
                    recorded_at: Utc::now(),
                    amends: None,
                    correction_reason: None,
                    body: RecordBody::CareNote(CareNote { text: "x".into() }),
                }),
            }],
        })
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "FORBIDDEN", "{body}");
}

/// A resident transferred to a sister facility shows in both facilities'
/// audit trails (it used to show in the destination only), and each
/// facility's administrator finds it in their own audit list.
#[tokio::test]
async fn a_transfer_is_audited_in_both_facilities() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let r = app
        .put(
            &format!("/api/patients/{}", w.a1.patient),
            w.token(Role::OrgAdmin),
            json!({"facility_id": w.a2.facility}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT facility_id, reason FROM audit_events WHERE action = 'patient.transfer' \
         AND resource_id = $1 ORDER BY facility_id",
    )
    .bind(w.a1.patient)
    .fetch_all(&app.owner)
    .await
    .unwrap();
    let reason = format!(
        "moved from facility {} to facility {}",
        w.a1.facility, w.a2.facility
    );
    let mut expected = vec![(w.a1.facility, reason.clone()), (w.a2.facility, reason)];
    expected.sort();
    assert_eq!(rows, expected);
    // The old facility's administrator sees the transfer in their own log.
    let r = app
        .get(
            "/api/audit-events?action_prefix=patient.transfer",
            w.token(Role::FacilityAdmin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{r:?}");
    assert_eq!(items[0]["facility_id"], w.a1.facility);
    // An edit that stays in the facility is no transfer.
    let r = app
        .put(
            &format!("/api/patients/{}", w.a2.patient),
            w.token(Role::OrgAdmin),
            json!({"room": "12B"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let transfers: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE action = 'patient.transfer'")
            .fetch_one(&app.owner)
            .await
            .unwrap();
    assert_eq!(transfers, 2);
}
