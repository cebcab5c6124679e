//! tend-core's lock screen logic (`tend_core::login`) against the real API:
//! an enrolled device turns a badge tap into a nurse's session with its own
//! device token, asks for the PIN when the policy says so, taps out, and
//! shows each refusal's code; the password fallback works too.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tend_badge::BadgeUid;
use tend_core::enrollment::{self, Enrollment};
use tend_core::identity::{enrollment_request, DeviceKey, IdentityProbe, IdentitySource};
use tend_core::link::{DeviceClient, DeviceLink};
use tend_core::login::{DeviceLogin, Login, LoginSettings, SessionPhase};
use tend_core::vault::{MemoryStore, SecretStore};
use tend_domain::{DeviceType, DeviceUuid, ErrorCode, Role};

use crate::helpers::{insert_user, spawn_app, token_for, world, TestApp, World, PASSWORD};

const BADGE: &str = "04A1B2C3D4E5F6";
const PIN: &str = "73946281";

/// Enrolls a new device of A1 the way the app does and returns its login.
async fn enrolled_login(app: &TestApp, w: &World) -> (Login<DeviceLogin>, tempfile::TempDir) {
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
        device_uuid: DeviceUuid::from_uuid(uuid::Uuid::new_v4()).unwrap(),
        source: IdentitySource::MachineId,
        mac_address: None,
    };
    let body = enrollment_request(
        &identity,
        &key,
        Some(code),
        "Hall Kiosk",
        DeviceType::Workstation,
        "Debian GNU/Linux 12",
        "0.1.0",
    );
    let data_dir = tempfile::tempdir().unwrap();
    let client = DeviceClient::new(
        tend_core::connectivity::api_client("test").unwrap(),
        &app.base,
    );
    enrollment::enroll(&client, &body, data_dir.path())
        .await
        .unwrap();
    let enrollment =
        Enrollment::new(data_dir.path(), "0.1.0").with(IdentityProbe::new(data_dir.path()), store);
    let mut settings = LoginSettings::new(Duration::from_secs(600));
    // Tap-out is tested without waiting out the debounce.
    settings.debounce = Duration::ZERO;
    let link = Arc::new(DeviceLink::new(Arc::new(enrollment)));
    let login = Login::new(DeviceLogin::new(link), settings, |_| {});
    (login, data_dir)
}

/// A nurse of A1 with the badge and the PIN; returns id and username.
async fn nurse(app: &TestApp, w: &World) -> (i64, String) {
    let (id, username) = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::Rn).await;
    let r = app
        .post(
            &format!("/api/users/{id}/badges"),
            w.token(Role::FacilityAdmin),
            json!({"badge_uid": BADGE}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let token = token_for(&app.owner, id).await;
    let r = app
        .put(&format!("/api/users/{id}/pin"), &token, json!({"pin": PIN}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    (id, username)
}

#[tokio::test]
async fn a_tap_asks_for_the_pin_then_signs_in_and_a_second_tap_locks() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (nurse_id, _) = nurse(&app, &w).await;
    let (login, _dir) = enrolled_login(&app, &w).await;
    let badge = || BadgeUid::parse(BADGE).unwrap();

    // First badge login on this device: the PIN is due.
    let s = login.tap(badge()).await;
    assert_eq!(
        s.phase,
        SessionPhase::PinRequired {
            attempts_left: None
        },
        "{s:?}"
    );
    let s = login.submit_pin("11112222").await.unwrap();
    assert_eq!(
        s.phase,
        SessionPhase::PinRequired {
            attempts_left: Some(4)
        }
    );
    assert_eq!(s.failure.unwrap().code, ErrorCode::BadgePinWrong);
    let s = login.submit_pin(PIN).await.unwrap();
    assert!(matches!(s.phase, SessionPhase::Active { .. }), "{s:?}");
    assert_eq!(s.user.as_ref().unwrap().id, nurse_id);
    // The user token works against the API.
    let token = login.user_token().unwrap();
    let me = app.get("/api/auth/me", token.expose()).await;
    assert_eq!(me.status, StatusCode::OK, "{me:?}");

    // Tap-out, then her own tap unlocks (badge alone within the grace period).
    let s = login.tap(badge()).await;
    assert_eq!(s.phase, SessionPhase::Locked);
    assert!(login.user_token().is_none());
    let s = login.tap(badge()).await;
    assert!(matches!(s.phase, SessionPhase::Active { .. }), "{s:?}");
    assert_eq!(s.user.unwrap().id, nurse_id);
}

#[tokio::test]
async fn an_unknown_badge_is_refused_and_the_password_fallback_signs_in() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (nurse_id, username) = nurse(&app, &w).await;
    let (login, _dir) = enrolled_login(&app, &w).await;

    let s = login.tap(BadgeUid::parse("04010203").unwrap()).await;
    assert_eq!(s.phase, SessionPhase::SignedOut);
    assert_eq!(s.failure.unwrap().code, ErrorCode::BadgeUnknown);

    let s = login.password(&username, "not the password").await.unwrap();
    assert_eq!(s.phase, SessionPhase::SignedOut);
    assert_eq!(s.failure.unwrap().code, ErrorCode::Unauthorized);

    let s = login.password(&username, PASSWORD).await.unwrap();
    assert!(matches!(s.phase, SessionPhase::Active { .. }), "{s:?}");
    assert_eq!(s.user.unwrap().id, nurse_id);
    let s = login.logout();
    assert_eq!(s.phase, SessionPhase::SignedOut);
    assert!(login.user_token().is_none());
}
