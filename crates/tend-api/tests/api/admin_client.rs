//! tend-core's administrator console (`tend_core::admin`) against the real
//! API: sign in, list facilities and devices, register, approve, reject and
//! deactivate devices, issue and revoke enrollment codes — and the stable
//! codes the admin screen shows for each failure.

use tend_core::admin::{AdminConsole, EnrollmentCodeOptions, RegisterDevice};
use tend_core::identity::{enrollment_request, DeviceKey, HardwareIdentity, IdentitySource};
use tend_core::link::DeviceClient;
use tend_core::vault::MemoryStore;
use tend_domain::wire::{EnrollDevice, Secret};
use tend_domain::{DeviceStatus, DeviceType, DeviceUuid, ErrorCode, Role};

use crate::helpers::{insert_user, spawn_app, world, TestApp, World, PASSWORD};

fn device_client(app: &TestApp) -> DeviceClient {
    DeviceClient::new(
        tend_core::connectivity::api_client("test").unwrap(),
        &app.base,
    )
}

fn enroll_request(uuid: &DeviceUuid, key: &DeviceKey, code: Option<&str>) -> EnrollDevice {
    enrollment_request(
        &HardwareIdentity {
            device_uuid: *uuid,
            source: IdentitySource::MachineId,
            mac_address: None,
        },
        key,
        code,
        "Hall Kiosk",
        DeviceType::Workstation,
        "Debian GNU/Linux 12",
        "0.1.0",
    )
}

fn new_key() -> DeviceKey {
    DeviceKey::load_or_create(&MemoryStore::new()).unwrap().0
}

/// A console signed in as a new user of facility A1 with `role`.
async fn console_as(app: &TestApp, w: &World, role: Role) -> (AdminConsole, String) {
    let (_, username) = insert_user(&app.owner, w.a1.org, w.a1.facility, role).await;
    let console = AdminConsole::new("test");
    (console, username)
}

#[tokio::test]
async fn an_administrator_manages_a_facilitys_devices_and_codes() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (console, username) = console_as(&app, &w, Role::FacilityAdmin).await;
    let user = console
        .sign_in(Some(&app.base), &username, &Secret::new(PASSWORD))
        .await
        .unwrap();
    assert_eq!(user.role, Role::FacilityAdmin);
    assert_eq!(user.server_url, app.base);
    assert_eq!(console.user().await, Some(user));

    let facilities = console
        .with_session(|s| async move { s.facilities().await })
        .await
        .unwrap();
    assert!(facilities.iter().any(|f| f.id == w.a1.facility));
    let session = console.session().await.unwrap();

    // The facility's devices, pending ones included.
    let devices = session.devices(w.a1.facility).await.unwrap();
    let pending = devices
        .iter()
        .find(|d| d.id == w.a1.pending_device)
        .unwrap();
    assert_eq!(pending.status, DeviceStatus::Pending);
    assert!(pending.has_identity_key);
    assert!(!pending.is_online);
    assert_eq!(pending.clone_suspected_at, None);

    // A code, shown once; a device enrolls with it; the list never shows it.
    let created = session
        .create_enrollment_code(
            w.a1.facility,
            &EnrollmentCodeOptions {
                expires_in_hours: Some(2),
                max_uses: Some(3),
                device_type: None,
            },
        )
        .await
        .unwrap();
    assert!(created.code.len() >= 28, "{}", created.code);
    assert_eq!(created.enrollment_code.max_uses, 3);
    assert!(created.enrollment_code.is_usable);
    let uuid = DeviceUuid::from_uuid(uuid::Uuid::new_v4()).unwrap();
    let key = new_key();
    let enrolled = device_client(&app)
        .enroll(&enroll_request(&uuid, &key, Some(&created.code)))
        .await
        .unwrap();
    assert_eq!(enrolled.status, DeviceStatus::Active);
    let codes = session.enrollment_codes(w.a1.facility).await.unwrap();
    let listed = codes
        .iter()
        .find(|c| c.id == created.enrollment_code.id)
        .unwrap();
    assert_eq!(listed.uses, 1);
    assert!(created.code.ends_with(&listed.code_hint));

    // Another machine with the same hardware UUID: flagged as a clone.
    let clone = device_client(&app)
        .enroll(&enroll_request(&uuid, &new_key(), Some(&created.code)))
        .await
        .unwrap_err();
    assert_eq!(clone.code(), ErrorCode::DeviceCloneConflict);
    let devices = session.devices(w.a1.facility).await.unwrap();
    let flagged = devices.iter().find(|d| d.id == enrolled.id).unwrap();
    assert!(flagged.clone_suspected_at.is_some());

    // Pre-register by hand; the device enrolls without a code, waits, is approved.
    let hand_uuid = DeviceUuid::from_uuid(uuid::Uuid::new_v4()).unwrap();
    let registered = session
        .register_device(&RegisterDevice {
            facility_id: w.a1.facility,
            device_name: "Med cart tablet".to_owned(),
            device_type: DeviceType::Tablet,
            device_uuid: hand_uuid.to_string(),
            mac_address: Some("b8-27-eb-12-34-56".to_owned()),
        })
        .await
        .unwrap();
    assert_eq!(registered.status, DeviceStatus::Active);
    assert_eq!(registered.mac_address.as_deref(), Some("b8:27:eb:12:34:56"));
    let waiting = device_client(&app)
        .enroll(&enroll_request(&hand_uuid, &new_key(), None))
        .await
        .unwrap();
    assert_eq!(waiting.status, DeviceStatus::Pending);
    let approved = session.approve_device(registered.id).await.unwrap();
    assert_eq!(approved.status, DeviceStatus::Active);

    // The same hardware again: the API names the taken field.
    let taken = session
        .register_device(&RegisterDevice {
            facility_id: w.a1.facility,
            device_name: "Duplicate".to_owned(),
            device_type: DeviceType::Tablet,
            device_uuid: hand_uuid.to_string(),
            mac_address: None,
        })
        .await
        .unwrap_err();
    assert_eq!(taken.code(), ErrorCode::Conflict);
    assert!(taken.fields().contains_key("device_uuid"), "{taken:?}");

    // Reject a pending one; approving it afterwards is a conflict.
    let rejected = session.reject_device(w.a1.pending_device2).await.unwrap();
    assert_eq!(rejected.status, DeviceStatus::Rejected);
    let err = session
        .approve_device(w.a1.pending_device2)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict);

    // Deactivate: the device can no longer authenticate.
    let deactivated = session.deactivate_device(enrolled.id).await.unwrap();
    assert_eq!(deactivated.status, DeviceStatus::Deactivated);
    let refused = device_client(&app)
        .authenticate(&uuid, &key)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::DeviceDeactivated);

    // Revoke the code: listed as revoked and unusable; revoking twice is fine.
    let revoked = session
        .revoke_enrollment_code(w.a1.facility, created.enrollment_code.id)
        .await
        .unwrap();
    assert!(revoked.revoked_at.is_some());
    assert!(!revoked.is_usable);
    session
        .revoke_enrollment_code(w.a1.facility, created.enrollment_code.id)
        .await
        .unwrap();

    // Another organization's facility is not there.
    let err = session.devices(w.b1.facility).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);

    // Signing out revokes the token on the server too.
    drop(session);
    console.sign_out().await;
    assert_eq!(console.user().await, None);
    let err = console.session().await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unauthorized);
}

#[tokio::test]
async fn sign_in_failures_have_stable_codes() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (console, username) = console_as(&app, &w, Role::OrgAdmin).await;

    let err = console
        .sign_in(Some(&app.base), &username, &Secret::new("wrong password"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unauthorized);
    assert_eq!(console.user().await, None);

    // A nurse's account may sign in to the API, but not to this console.
    let (_, nurse) = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::Rn).await;
    let err = console
        .sign_in(Some(&app.base), &nurse, &Secret::new(PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Forbidden);
    let live: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM auth_tokens t JOIN users u ON u.id = t.user_id \
         WHERE u.username = $1 AND t.revoked_at IS NULL",
    )
    .bind(&nurse)
    .fetch_one(&app.owner)
    .await
    .unwrap();
    assert_eq!(live, 0, "the refused session's token is revoked");

    // A session the server no longer accepts is forgotten.
    console
        .sign_in(Some(&app.base), &username, &Secret::new(PASSWORD))
        .await
        .unwrap();
    sqlx::query("DELETE FROM auth_tokens")
        .execute(&app.owner)
        .await
        .unwrap();
    let err = console
        .with_session(|s| async move { s.facilities().await })
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unauthorized);
    assert_eq!(console.user().await, None);
}
