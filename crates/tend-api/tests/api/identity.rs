//! Device identity end to end: enrollment codes, self-registration (with a
//! code, or pre-registered and approved), clone conflicts, challenge/token
//! authentication, heartbeats and deactivation — the device side played by
//! tend-core's real key code.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tend_core::identity::DeviceKey;
use tend_core::vault::MemoryStore;
use tend_domain::{DeviceUuid, Role};

use crate::helpers::{captured_logs, spawn_app, spawn_app_with, world, Resp, TestApp, World};

/// A simulated device: a hardware UUID and a key in a memory secret store.
struct Dev {
    uuid: DeviceUuid,
    key: DeviceKey,
}

impl Dev {
    fn new() -> Self {
        let (key, created) = DeviceKey::load_or_create(&MemoryStore::new()).unwrap();
        assert!(created);
        Self {
            uuid: DeviceUuid::from_uuid(uuid::Uuid::new_v4()).unwrap(),
            key,
        }
    }

    fn with_uuid(uuid: DeviceUuid) -> Self {
        Self {
            uuid,
            ..Self::new()
        }
    }

    fn enrollment(&self, code: Option<&str>) -> Value {
        let mut body = json!({
            "device_uuid": self.uuid.to_string(),
            "mac_address": "b8:27:eb:12:34:56",
            "device_type": "RASPBERRY_PI",
            "device_name": "Hall Kiosk",
            "public_key": self.key.public_key_base64(),
            "os": "Debian GNU/Linux 12",
            "app_version": "0.1.0",
            "identity_source": "machine_id",
        });
        if let Some(c) = code {
            body["enrollment_code"] = json!(c);
        }
        body
    }
}

async fn enroll(app: &TestApp, dev: &Dev, code: Option<&str>) -> Resp {
    app.call(
        Method::POST,
        "/api/devices/enroll",
        None,
        Some(dev.enrollment(code)),
    )
    .await
}

async fn new_code(app: &TestApp, w: &World, body: Value) -> (String, i64) {
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

/// Challenge, sign with the device key, get a token.
async fn authenticate(app: &TestApp, dev: &Dev) -> Resp {
    let c = app
        .call(
            Method::POST,
            "/api/devices/auth/challenge",
            None,
            Some(json!({"device_uuid": dev.uuid.to_string()})),
        )
        .await;
    assert_eq!(c.status, StatusCode::OK, "{c:?}");
    let nonce = c.body["nonce"].as_str().unwrap();
    let signature = dev.key.sign_challenge(&dev.uuid, nonce);
    app.call(
        Method::POST,
        "/api/devices/auth/token",
        None,
        Some(json!({"device_uuid": dev.uuid.to_string(), "nonce": nonce, "signature": signature})),
    )
    .await
}

async fn token(app: &TestApp, dev: &Dev) -> (String, i64) {
    let r = authenticate(app, dev).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    (
        r.body["token"].as_str().unwrap().to_owned(),
        r.body["device_id"].as_i64().unwrap(),
    )
}

fn heartbeat_body(posture: &str) -> Value {
    json!({
        "app_version": "0.1.1",
        "encryption_posture": posture,
        "pending_outbox": 3,
        "last_sync": (chrono::Utc::now() - chrono::Duration::minutes(2)).to_rfc3339(),
        "sync_errors": false,
        "device_time": (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc3339(),
    })
}

async fn heartbeat(app: &TestApp, token: &str, id: i64, posture: &str) -> Resp {
    app.post(
        &format!("/api/devices/{id}/heartbeat"),
        token,
        heartbeat_body(posture),
    )
    .await
}

#[tokio::test]
async fn enroll_with_a_code_then_authenticate_and_heartbeat() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (code, code_id) = new_code(&app, &w, json!({"max_uses": 2})).await;
    assert_eq!(code.len(), 34, "seven groups of four: {code}");
    assert!(code.split('-').all(|g| g.len() == 4));

    // The list never shows the code.
    let list = app
        .get(
            &format!("/api/facilities/{}/enrollment-codes", w.a1.facility),
            w.token(Role::FacilityAdmin),
        )
        .await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.body.to_string().contains(&code));
    let listed = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == code_id)
        .unwrap()
        .clone();
    assert_eq!(listed["code_hint"], code.rsplit('-').next().unwrap());
    assert_eq!(listed["is_usable"], true);
    // Stored hashed only.
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM enrollment_codes WHERE code_hash::text LIKE $1")
            .bind(format!("%{}%", code.replace('-', "")))
            .fetch_one(&app.owner)
            .await
            .unwrap();
    assert_eq!(stored, 0);

    let dev = Dev::new();
    // Typed sloppily still works.
    let r = enroll(&app, &dev, Some(&code.to_lowercase().replace('-', " "))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["status"], "ACTIVE");
    assert_eq!(r.body["facility_id"], w.a1.facility);
    assert_eq!(r.body["has_identity_key"], true);
    assert_eq!(r.body["identity_source"], "machine_id");
    let id = r.body["id"].as_i64().unwrap();

    // Enrolling again with the same key changes nothing and uses no code.
    let again = enroll(&app, &dev, Some(&code)).await;
    assert_eq!(again.status, StatusCode::OK, "{again:?}");
    let uses: i32 = sqlx::query_scalar("SELECT uses FROM enrollment_codes WHERE id = $1")
        .bind(code_id)
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert_eq!(uses, 1);
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE actor_device_id = $1 AND action = 'device.enroll'",
    )
    .bind(id)
    .fetch_one(&app.owner)
    .await
    .unwrap();
    assert_eq!(audited, 1);

    let (tok, device_id) = token(&app, &dev).await;
    assert_eq!(device_id, id);
    assert!(tok.starts_with("tdev_"));
    let hb = heartbeat(&app, &tok, id, "keyring").await;
    assert_eq!(hb.status, StatusCode::OK, "{hb:?}");
    assert_eq!(hb.body["lock"], false);
    let offset = hb.body["clock_offset_ms"].as_i64().unwrap();
    assert!((25_000..35_000).contains(&offset), "{offset}");

    // Another device's id is refused; a user token is not a device token.
    let other = heartbeat(&app, &tok, w.a1.device, "keyring").await;
    assert_eq!(other.status, StatusCode::FORBIDDEN, "{other:?}");
    let user = heartbeat(&app, w.token(Role::FacilityAdmin), id, "keyring").await;
    assert_eq!(user.status, StatusCode::UNAUTHORIZED);

    // Coalesced heartbeats reach the database within a flush interval.
    let mut device = Value::Null;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        device = app
            .get(&format!("/api/devices/{id}"), w.token(Role::FacilityAdmin))
            .await
            .body;
        if device["is_online"] == true {
            break;
        }
    }
    assert_eq!(device["is_online"], true, "{device}");
    assert_eq!(device["encryption_posture"], "keyring");
    assert_eq!(device["encryption_enabled"], true);
    assert_eq!(device["app_version"], "0.1.1");
    assert_eq!(device["sync_status"], "SYNCED");
    assert!(device["last_security_audit"].is_string());
    let stored_offset = device["clock_offset_ms"].as_i64().unwrap();
    assert!((25_000..35_000).contains(&stored_offset));

    // Encryption off while required: the device is told to lock.
    let hb = heartbeat(&app, &tok, id, "none").await;
    assert_eq!(hb.body["lock"], true);
}

#[tokio::test]
async fn bad_codes_say_what_is_wrong() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let dev = Dev::new();

    // Wrong (well-formed but never issued) and garbage.
    let r = enroll(&app, &dev, Some("0000-0000-0000-0000-0000-0000-0000")).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "ENROLLMENT_CODE_INVALID")
    );
    let r = enroll(&app, &dev, Some("not a code")).await;
    assert_eq!(r.code(), "ENROLLMENT_CODE_INVALID");

    // Expired.
    let (code, id) = new_code(&app, &w, json!({})).await;
    sqlx::query(
        "UPDATE enrollment_codes SET expires_at = now() - interval '1 second' WHERE id = $1",
    )
    .bind(id)
    .execute(&app.owner)
    .await
    .unwrap();
    let r = enroll(&app, &dev, Some(&code)).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "ENROLLMENT_CODE_EXPIRED")
    );
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("expired"));

    // Revoked through the API (twice is fine).
    let (code, id) = new_code(&app, &w, json!({})).await;
    for _ in 0..2 {
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
        assert_eq!(r.body["is_usable"], false);
    }
    let r = enroll(&app, &dev, Some(&code)).await;
    assert_eq!(r.code(), "ENROLLMENT_CODE_REVOKED");

    // Exhausted: one use, two devices.
    let (code, _) = new_code(&app, &w, json!({"max_uses": 1})).await;
    let r = enroll(&app, &dev, Some(&code)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let r = enroll(&app, &Dev::new(), Some(&code)).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "ENROLLMENT_CODE_EXHAUSTED")
    );

    // A code for another device type.
    let (code, _) = new_code(&app, &w, json!({"device_type": "TABLET"})).await;
    let r = enroll(&app, &Dev::new(), Some(&code)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(r.body["error"]["fields"]["device_type"].is_array());

    // No code and never pre-registered.
    let r = enroll(&app, &Dev::new(), None).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "ENROLLMENT_CODE_REQUIRED")
    );

    // Invalid inputs name the field.
    let mut body = Dev::new().enrollment(None);
    body["public_key"] = json!("AAAA");
    let r = app
        .call(Method::POST, "/api/devices/enroll", None, Some(body))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["error"]["fields"]["public_key"].is_array(), "{r:?}");

    // Bad code parameters.
    let r = app
        .post(
            &format!("/api/facilities/{}/enrollment-codes", w.a1.facility),
            w.token(Role::FacilityAdmin),
            json!({"expires_in_hours": 0, "max_uses": 100000}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["error"]["fields"]["expires_in_hours"].is_array());
    assert!(r.body["error"]["fields"]["max_uses"].is_array());
}

#[tokio::test]
async fn pre_registered_device_waits_for_approval() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let admin = w.token(Role::FacilityAdmin);
    let approved = Dev::new();
    let rejected = Dev::new();
    for dev in [&approved, &rejected] {
        let r = app
            .post(
                "/api/devices",
                admin,
                json!({"facility_id": w.a1.facility, "device_name": "Desk", "device_type": "LAPTOP",
                       "device_uuid": dev.uuid.to_string()}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
        assert_eq!(r.body["has_identity_key"], false);
    }
    let r = enroll(&app, &approved, None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["status"], "PENDING");
    assert_eq!(r.body["facility_id"], w.a1.facility);
    let id = r.body["id"].as_i64().unwrap();

    // Pending: authenticated by key, but no token yet.
    let t = authenticate(&app, &approved).await;
    assert_eq!(
        (t.status, t.code()),
        (StatusCode::UNAUTHORIZED, "DEVICE_PENDING")
    );
    // A nurse may not approve; an admin of another organization cannot see it.
    let r = app
        .post(
            &format!("/api/devices/{id}/approve"),
            w.token(Role::Rn),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let outsider = crate::helpers::insert_user(&app.owner, w.b1.org, w.b1.facility, Role::OrgAdmin)
        .await
        .0;
    let outsider = crate::helpers::token_for(&app.owner, outsider).await;
    let r = app
        .post(&format!("/api/devices/{id}/approve"), &outsider, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .get(
            &format!("/api/facilities/{}/enrollment-codes", w.a1.facility),
            &outsider,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let r = app
        .post(&format!("/api/devices/{id}/approve"), admin, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["status"], "ACTIVE");
    token(&app, &approved).await;

    // The other one is rejected, and is told so.
    let r = enroll(&app, &rejected, None).await;
    let rid = r.body["id"].as_i64().unwrap();
    let r = app
        .post(&format!("/api/devices/{rid}/reject"), admin, json!({}))
        .await;
    assert_eq!(r.body["status"], "REJECTED", "{r:?}");
    let t = authenticate(&app, &rejected).await;
    assert_eq!(t.code(), "DEVICE_REJECTED");
    // Approving a rejected device is a conflict: it must enroll again.
    let r = app
        .post(&format!("/api/devices/{rid}/approve"), admin, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    // A pending device that then presents a valid code is activated by it.
    let late = Dev::new();
    app.post(
        "/api/devices",
        admin,
        json!({"facility_id": w.a1.facility, "device_name": "Desk 3", "device_type": "LAPTOP",
               "device_uuid": late.uuid.to_string()}),
    )
    .await;
    assert_eq!(enroll(&app, &late, None).await.body["status"], "PENDING");
    assert_eq!(enroll(&app, &late, None).await.status, StatusCode::OK);
    let (code, _) = new_code(&app, &w, json!({})).await;
    let r = enroll(&app, &late, Some(&code)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["status"], "ACTIVE");
    assert!(r.body["clone_suspected_at"].is_null());

    let audits: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE resource_id IN ($1, $2) AND action IN ('device.approve', 'device.reject')",
    )
    .bind(id)
    .bind(rid)
    .fetch_one(&app.owner)
    .await
    .unwrap();
    assert_eq!(audits, 2);
}

#[tokio::test]
async fn a_cloned_uuid_with_another_key_is_a_conflict() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (code, _) = new_code(&app, &w, json!({"max_uses": 5})).await;
    let original = Dev::new();
    let r = enroll(&app, &original, Some(&code)).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let id = r.body["id"].as_i64().unwrap();
    assert!(r.body["clone_suspected_at"].is_null());

    let clone = Dev::with_uuid(original.uuid);
    for code in [Some(code.as_str()), None] {
        let r = enroll(&app, &clone, code).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::CONFLICT, "DEVICE_CLONE_CONFLICT"),
            "{r:?}"
        );
    }
    let device = app
        .get(&format!("/api/devices/{id}"), w.token(Role::FacilityAdmin))
        .await;
    assert!(device.body["clone_suspected_at"].is_string(), "{device:?}");
    let dashboard = app
        .get(
            &format!("/api/facilities/{}/dashboard", w.a1.facility),
            w.token(Role::FacilityAdmin),
        )
        .await;
    assert_eq!(
        dashboard.body["devices_suspected_clones"], 1,
        "{dashboard:?}"
    );
    let audits: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE actor_device_id = $1 AND action = 'device.clone_conflict' AND outcome = 'denied'",
    )
    .bind(id)
    .fetch_one(&app.owner)
    .await
    .unwrap();
    assert_eq!(audits, 2);
    // The clone cannot authenticate as the original either.
    let t = authenticate(&app, &clone).await;
    assert_eq!(
        (t.status, t.code()),
        (StatusCode::UNAUTHORIZED, "UNAUTHORIZED")
    );
    token(&app, &original).await;
}

#[tokio::test]
async fn tokens_expire_and_signatures_cannot_be_replayed() {
    let config = tend_api::identity::IdentityConfig {
        device_token_ttl: Duration::from_secs(1),
        ..Default::default()
    };
    let app = spawn_app_with(config).await;
    let w = world(&app).await;
    let (code, _) = new_code(&app, &w, json!({})).await;
    let dev = Dev::new();
    let id = enroll(&app, &dev, Some(&code)).await.body["id"]
        .as_i64()
        .unwrap();

    let c = app
        .call(
            Method::POST,
            "/api/devices/auth/challenge",
            None,
            Some(json!({"device_uuid": dev.uuid.to_string()})),
        )
        .await;
    let nonce = c.body["nonce"].as_str().unwrap().to_owned();
    let signature = dev.key.sign_challenge(&dev.uuid, &nonce);
    let body = json!({"device_uuid": dev.uuid.to_string(), "nonce": nonce, "signature": signature});
    let first = app
        .call(
            Method::POST,
            "/api/devices/auth/token",
            None,
            Some(body.clone()),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    let replay = app
        .call(Method::POST, "/api/devices/auth/token", None, Some(body))
        .await;
    assert_eq!(
        (replay.status, replay.code()),
        (StatusCode::UNAUTHORIZED, "UNAUTHORIZED")
    );

    // A signature by another key, or over another nonce, fails.
    let c = app
        .call(
            Method::POST,
            "/api/devices/auth/challenge",
            None,
            Some(json!({"device_uuid": dev.uuid.to_string()})),
        )
        .await;
    let nonce = c.body["nonce"].as_str().unwrap();
    let forged = Dev::new().key.sign_challenge(&dev.uuid, nonce);
    let r = app
        .call(
            Method::POST,
            "/api/devices/auth/token",
            None,
            Some(json!({"device_uuid": dev.uuid.to_string(), "nonce": nonce, "signature": forged})),
        )
        .await;
    assert_eq!(r.code(), "UNAUTHORIZED");

    // A device the server never saw.
    let t = authenticate(&app, &Dev::new()).await;
    assert_eq!(
        (t.status, t.code()),
        (StatusCode::UNAUTHORIZED, "DEVICE_UNKNOWN")
    );

    // The token dies after its lifetime; a new challenge gets a new one.
    let tok = first.body["token"].as_str().unwrap();
    assert_eq!(
        heartbeat(&app, tok, id, "key_file").await.status,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let r = heartbeat(&app, tok, id, "key_file").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "UNAUTHORIZED")
    );
    let (fresh, _) = token(&app, &dev).await;
    assert_eq!(
        heartbeat(&app, &fresh, id, "key_file").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn deactivation_revokes_tokens_within_one_request() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (code, _) = new_code(&app, &w, json!({})).await;
    let dev = Dev::new();
    let id = enroll(&app, &dev, Some(&code)).await.body["id"]
        .as_i64()
        .unwrap();
    let (a, _) = token(&app, &dev).await;
    let (b, _) = token(&app, &dev).await;
    assert_eq!(
        heartbeat(&app, &a, id, "keyring").await.status,
        StatusCode::OK
    );

    let r = app
        .post(
            &format!("/api/devices/{id}/deactivate"),
            w.token(Role::FacilityAdmin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    for tok in [&a, &b] {
        let r = heartbeat(&app, tok, id, "keyring").await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNAUTHORIZED, "DEVICE_DEACTIVATED"),
            "{r:?}"
        );
    }
    let t = authenticate(&app, &dev).await;
    assert_eq!(t.code(), "DEVICE_DEACTIVATED");
    // Re-enrolling without a code is not enough; with a new code it is.
    let r = enroll(&app, &dev, None).await;
    assert_eq!(r.code(), "ENROLLMENT_CODE_REQUIRED");
    let (code, _) = new_code(&app, &w, json!({})).await;
    let r = enroll(&app, &dev, Some(&code)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["status"], "ACTIVE");
    assert_eq!(r.body["id"], id);
    // Old tokens stay dead.
    let r = heartbeat(&app, &a, id, "keyring").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    token(&app, &dev).await;
}

#[tokio::test]
async fn enrollment_is_rate_limited() {
    let config = tend_api::identity::IdentityConfig {
        enroll_per_address: tend_api::identity::limits::Rate {
            burst: 3.0,
            per_second: 0.01,
        },
        ..Default::default()
    };
    let app = spawn_app_with(config).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = enroll(
            &app,
            &Dev::new(),
            Some("0000-0000-0000-0000-0000-0000-0000"),
        )
        .await;
        statuses.push((r.status, r.code().to_owned()));
    }
    assert_eq!(statuses[2].1, "ENROLLMENT_CODE_INVALID");
    assert_eq!(
        statuses[3],
        (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED".to_owned())
    );

    // Per code, whatever the address.
    let config = tend_api::identity::IdentityConfig {
        enroll_per_code: tend_api::identity::limits::Rate {
            burst: 2.0,
            per_second: 0.01,
        },
        ..Default::default()
    };
    let app = spawn_app_with(config).await;
    let mut last = None;
    for _ in 0..3 {
        last = Some(
            enroll(
                &app,
                &Dev::new(),
                Some("1111-0000-0000-0000-0000-0000-0000"),
            )
            .await,
        );
    }
    assert_eq!(last.unwrap().code(), "RATE_LIMITED");
}

#[tokio::test]
async fn sync_thresholds_are_organization_settings() {
    let app = spawn_app().await;
    let w = world(&app).await;
    sqlx::query("UPDATE devices SET last_sync = now() - interval '10 minutes' WHERE id = $1")
        .bind(w.a1.device)
        .execute(&app.owner)
        .await
        .unwrap();
    let status = || async {
        app.get(
            &format!("/api/devices/{}", w.a1.device),
            w.token(Role::FacilityAdmin),
        )
        .await
        .body["sync_status"]
            .clone()
    };
    assert_eq!(status().await, "SYNCED");
    sqlx::query(
        "UPDATE organizations SET settings = settings || '{\"sync_synced_within_minutes\": 5}' WHERE id = $1",
    )
    .bind(w.a1.org)
    .execute(&app.owner)
    .await
    .unwrap();
    assert_eq!(status().await, "STALE");
    sqlx::query(
        "UPDATE organizations SET settings = settings || '{\"sync_out_of_sync_after_hours\": 0}' WHERE id = $1",
    )
    .bind(w.a1.org)
    .execute(&app.owner)
    .await
    .unwrap();
    assert_eq!(
        status().await,
        "STALE",
        "out-of-range values keep the default"
    );
}

#[tokio::test]
async fn codes_tokens_and_signatures_never_reach_the_logs() {
    let logs = captured_logs();
    let app = spawn_app().await;
    let w = world(&app).await;
    let (code, _) = new_code(&app, &w, json!({"max_uses": 3})).await;
    let dev = Dev::new();
    let r = enroll(&app, &dev, Some(&code)).await;
    let id = r.body["id"].as_i64().unwrap();
    let c = app
        .call(
            Method::POST,
            "/api/devices/auth/challenge",
            None,
            Some(json!({"device_uuid": dev.uuid.to_string()})),
        )
        .await;
    let nonce = c.body["nonce"].as_str().unwrap().to_owned();
    let signature = dev.key.sign_challenge(&dev.uuid, &nonce);
    let t = app
        .call(
            Method::POST,
            "/api/devices/auth/token",
            None,
            Some(json!({"device_uuid": dev.uuid.to_string(), "nonce": nonce, "signature": signature})),
        )
        .await;
    let tok = t.body["token"].as_str().unwrap().to_owned();
    heartbeat(&app, &tok, id, "keyring").await;
    // Failures log too: a wrong code, a clone, a deactivated device.
    enroll(
        &app,
        &Dev::new(),
        Some("ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ"),
    )
    .await;
    let clone = enroll(&app, &Dev::with_uuid(dev.uuid), Some(&code)).await;
    assert_eq!(clone.status, StatusCode::CONFLICT, "{clone:?}");
    app.post(
        &format!("/api/devices/{id}/deactivate"),
        w.token(Role::FacilityAdmin),
        json!({}),
    )
    .await;
    heartbeat(&app, &tok, id, "keyring").await;

    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(text.contains("device enrolled"), "logs were captured");
    assert!(text.contains("suspected clone"));
    for secret in [
        code.as_str(),
        &code.replace('-', ""),
        "ZZZZ-ZZZZ",
        &tok,
        &tok["tdev_".len()..],
        &nonce,
        &signature,
        w.token(Role::FacilityAdmin),
    ] {
        assert!(!text.contains(secret), "a secret reached the logs");
    }
}

#[tokio::test]
async fn a_deactivated_device_is_never_reported_online() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (code, _) = new_code(&app, &w, json!({})).await;
    let dev = Dev::new();
    let id = enroll(&app, &dev, Some(&code)).await.body["id"]
        .as_i64()
        .unwrap();
    let (tok, _) = token(&app, &dev).await;
    // Accepted, still waiting in memory for the next flush…
    assert_eq!(
        heartbeat(&app, &tok, id, "keyring").await.status,
        StatusCode::OK
    );
    // …when the admin deactivates the device.
    let r = app
        .post(
            &format!("/api/devices/{id}/deactivate"),
            w.token(Role::FacilityAdmin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let device = app
        .get(&format!("/api/devices/{id}"), w.token(Role::FacilityAdmin))
        .await;
    assert_eq!(device.body["status"], "DEACTIVATED");
    assert_eq!(device.body["is_online"], false, "{device:?}");
}

#[tokio::test]
async fn deactivation_reaches_every_api_instance() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (base_b, server_b) = app.second_instance().await;
    let (code, _) = new_code(&app, &w, json!({})).await;
    let dev = Dev::new();
    let id = enroll(&app, &dev, Some(&code)).await.body["id"]
        .as_i64()
        .unwrap();
    let (tok, _) = token(&app, &dev).await;
    let beat_on_b = || async {
        let res = app
            .client
            .post(format!("{base_b}/api/devices/{id}/heartbeat"))
            .bearer_auth(&tok)
            .json(&heartbeat_body("keyring"))
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.json::<Value>().await.unwrap_or(Value::Null))
    };
    // Instance B caches the token on first use.
    assert_eq!(beat_on_b().await.0, StatusCode::OK);
    // Let B's revocation listener finish connecting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = app
        .post(
            &format!("/api/devices/{id}/deactivate"),
            w.token(Role::FacilityAdmin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // The notice is delivered at commit; allow it a moment to arrive.
    let mut last = (StatusCode::OK, Value::Null);
    for _ in 0..50 {
        last = beat_on_b().await;
        if last.0 != StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(last.0, StatusCode::UNAUTHORIZED, "{last:?}");
    assert_eq!(last.1["error"]["code"], "DEVICE_DEACTIVATED");
    server_b.abort();
}

#[tokio::test]
async fn a_challenge_issued_by_one_instance_is_answered_at_another_once() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (base_b, server_b) = app.second_instance().await;
    let (code, _) = new_code(&app, &w, json!({})).await;
    let dev = Dev::new();
    assert_eq!(
        enroll(&app, &dev, Some(&code)).await.status,
        StatusCode::CREATED
    );
    let post = |base: String, path: &'static str, body: Value| {
        let client = app.client.clone();
        async move {
            let res = client
                .post(format!("{base}{path}"))
                .json(&body)
                .send()
                .await
                .unwrap();
            (
                res.status(),
                res.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    // Issued by A …
    let (status, c) = post(
        app.base.clone(),
        "/api/devices/auth/challenge",
        json!({"device_uuid": dev.uuid.to_string()}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    let nonce = c["nonce"].as_str().unwrap().to_owned();
    let signature = dev.key.sign_challenge(&dev.uuid, &nonce);
    let answer =
        json!({"device_uuid": dev.uuid.to_string(), "nonce": nonce, "signature": signature});
    // … answered at B.
    let (status, t) = post(base_b.clone(), "/api/devices/auth/token", answer.clone()).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert!(t["token"].as_str().unwrap().starts_with("tdev_"));
    // Single use across instances: a replay fails at either.
    for base in [base_b.clone(), app.base.clone()] {
        let (status, r) = post(base, "/api/devices/auth/token", answer.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{r}");
    }
    // Bound to the device it was issued to: another device's answer spends
    // it, and the rightful device cannot use it afterwards.
    let (_, c) = post(
        base_b.clone(),
        "/api/devices/auth/challenge",
        json!({"device_uuid": dev.uuid.to_string()}),
    )
    .await;
    let nonce = c["nonce"].as_str().unwrap().to_owned();
    let other = Dev::new();
    let stolen = json!({"device_uuid": other.uuid.to_string(), "nonce": nonce,
        "signature": other.key.sign_challenge(&other.uuid, &nonce)});
    let (status, _) = post(app.base.clone(), "/api/devices/auth/token", stolen).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let rightful = json!({"device_uuid": dev.uuid.to_string(), "nonce": nonce,
        "signature": dev.key.sign_challenge(&dev.uuid, &nonce)});
    let (status, _) = post(app.base.clone(), "/api/devices/auth/token", rightful).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The nonces are gone from the shared table; nothing else is left behind.
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM device_challenges")
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert_eq!(left, 0);
    server_b.abort();
}

#[tokio::test]
async fn expired_challenges_are_refused_and_swept() {
    let config = tend_api::identity::IdentityConfig {
        nonce_ttl: Duration::from_millis(300),
        ..Default::default()
    };
    let app = spawn_app_with(config).await;
    let w = world(&app).await;
    let (code, _) = new_code(&app, &w, json!({})).await;
    let dev = Dev::new();
    assert_eq!(
        enroll(&app, &dev, Some(&code)).await.status,
        StatusCode::CREATED
    );
    let challenge = || {
        app.call(
            Method::POST,
            "/api/devices/auth/challenge",
            None,
            Some(json!({"device_uuid": dev.uuid.to_string()})),
        )
    };
    let stale = challenge().await.body["nonce"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let signature = dev.key.sign_challenge(&dev.uuid, &stale);
    let r = app
        .call(
            Method::POST,
            "/api/devices/auth/token",
            None,
            Some(json!({"device_uuid": dev.uuid.to_string(), "nonce": stale, "signature": signature})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
    // An expired, never answered challenge is swept when the next is issued.
    let _unanswered = challenge().await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let fresh = challenge().await.body["nonce"].as_str().unwrap().to_owned();
    let rows: Vec<String> = sqlx::query_scalar("SELECT nonce FROM device_challenges")
        .fetch_all(&app.owner)
        .await
        .unwrap();
    assert_eq!(rows, [fresh]);
}

#[tokio::test]
async fn an_enrollment_limit_of_n_allows_n_across_two_instances() {
    const N: usize = 5;
    let config = || tend_api::identity::IdentityConfig {
        enroll_per_address: tend_api::identity::limits::Rate {
            burst: N as f64,
            per_second: 0.0001,
        },
        ..Default::default()
    };
    let app = spawn_app_with(config()).await;
    let (base_b, server_b) = app.second_instance_with(config()).await;
    let mut allowed = 0;
    for i in 0..(3 * N) {
        let base = if i % 2 == 0 { &app.base } else { &base_b };
        let res = app
            .client
            .post(format!("{base}/api/devices/enroll"))
            .json(&Dev::new().enrollment(None))
            .send()
            .await
            .unwrap();
        let status = res.status();
        if status != StatusCode::TOO_MANY_REQUESTS {
            // Counted, then refused for want of a code.
            assert_eq!(status, StatusCode::FORBIDDEN);
            allowed += 1;
        }
    }
    assert_eq!(
        allowed, N,
        "two instances allow the configured burst once, not twice"
    );
    // The bucket's key is a hash, not the address.
    let keys: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT key FROM rate_limits WHERE bucket = 'enroll_address'")
            .fetch_all(&app.owner)
            .await
            .unwrap();
    assert_eq!(keys.len(), 1);
    assert!(!keys[0].windows(9).any(|w| w == b"127.0.0.1"));
    server_b.abort();
}

/// A facility may require that nothing on a device's disk alone opens its
/// vault (`off_disk`): a device reporting a key file is told to lock; a
/// keyring or a server-bound key is enough. The default (`encrypted`)
/// accepts a key file. An unknown value is refused naming the field.
#[tokio::test]
async fn a_facilitys_minimum_protection_locks_devices_below_it() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (code, _) = new_code(&app, &w, json!({})).await;
    let dev = Dev::new();
    let id = enroll(&app, &dev, Some(&code)).await.body["id"]
        .as_i64()
        .unwrap();
    let admin = w.token(Role::OrgAdmin);
    let facility = format!("/api/facilities/{}", w.a1.facility);

    let r = app.call(Method::GET, &facility, Some(admin), None).await;
    assert_eq!(r.body["device_protection_minimum"], "encrypted");
    let r = app
        .put(
            &facility,
            admin,
            json!({"device_protection_minimum": "strong"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    let r = app
        .put(
            &facility,
            admin,
            json!({"device_protection_minimum": "off_disk"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["device_protection_minimum"], "off_disk");

    let (tok, _) = token(&app, &dev).await;
    for (posture, lock) in [
        ("key_file", true),
        ("none", true),
        ("server_bound", false),
        ("keyring", false),
    ] {
        let r = heartbeat(&app, &tok, id, posture).await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        assert_eq!(r.body["lock"], lock, "{posture}");
    }
}
