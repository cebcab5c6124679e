//! Badges and badge login end to end: admins assign, list and revoke badges;
//! users set PINs; devices log users in with a tap (and the PIN when the
//! facility's policy asks), within their facility (or an organization
//! admin's organization), with lockout, rate limits and a full audit trail —
//! and no badge value or PIN is ever stored or logged.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tend_domain::Role;

use crate::helpers::{
    captured_logs, device_token_for, insert_user, spawn_app, spawn_app_with, token_for, world,
    Resp, TestApp, World,
};

/// A 7-byte NFC UID as a reader reports it (written with separators, so the
/// normalized form differs from what was sent).
const BADGE: &str = "04:a1:b2:c3:d4:e5:f6";
const BADGE_NORMALIZED: &str = "04A1B2C3D4E5F6";
const PIN: &str = "73946281";

async fn assign(app: &TestApp, admin: &str, user: i64, uid: &str) -> Resp {
    app.post(
        &format!("/api/users/{user}/badges"),
        admin,
        json!({"badge_uid": uid}),
    )
    .await
}

async fn set_pin(app: &TestApp, token: &str, user: i64, pin: &str) -> Resp {
    app.put(
        &format!("/api/users/{user}/pin"),
        token,
        json!({"pin": pin}),
    )
    .await
}

async fn badge_login(app: &TestApp, device_token: &str, uid: &str, pin: Option<&str>) -> Resp {
    let mut body = json!({"badge_uid": uid});
    if let Some(p) = pin {
        body["pin"] = json!(p);
    }
    app.call(
        Method::POST,
        "/api/auth/badge-login",
        Some(device_token),
        Some(body),
    )
    .await
}

async fn count(app: &TestApp, sql: &str, binds: &[i64]) -> i64 {
    let mut q = sqlx::query_scalar(sql);
    for b in binds {
        q = q.bind(*b);
    }
    q.fetch_one(&app.owner).await.unwrap()
}

/// A nurse of A1 with a badge and a PIN, and a device token for A1's device.
struct Nurse {
    id: i64,
    token: String,
    device: String,
}

async fn nurse(app: &TestApp, w: &World) -> Nurse {
    let (id, _) = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::Rn).await;
    let token = token_for(&app.owner, id).await;
    let r = assign(app, w.token(Role::FacilityAdmin), id, BADGE).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let r = set_pin(app, &token, id, PIN).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    Nurse {
        id,
        token,
        device: device_token_for(&app.owner, w.a1.device).await,
    }
}

async fn move_last_pin_login(app: &TestApp, user: i64, hours_ago: i64) {
    sqlx::query(
        "UPDATE users SET last_badge_pin_login_at = now() - make_interval(hours => $2::int) WHERE id = $1",
    )
    .bind(user)
    .bind(hours_ago)
    .execute(&app.owner)
    .await
    .unwrap();
}

#[tokio::test]
async fn admins_assign_list_and_revoke_badges_with_audit_rows() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let admin = w.token(Role::FacilityAdmin);
    let admin_id = w.user(Role::FacilityAdmin);

    let first = assign(&app, admin, w.a1.staff, BADGE).await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    let badge_id = first.body["id"].as_i64().unwrap();
    assert_eq!(first.body["user_id"], w.a1.staff);
    assert_eq!(first.body["is_active"], true);
    assert_eq!(first.body["created_by"], admin_id);
    // The answer never carries the value or its hash.
    let shown = first.body.to_string().to_uppercase();
    assert!(!shown.contains(BADGE_NORMALIZED) && !shown.contains("HASH"));

    // The same badge again, spelled differently: already held, nothing new.
    let again = assign(&app, admin, w.a1.staff, "04A1B2C3D4E5F6").await;
    assert_eq!(again.status, StatusCode::OK, "{again:?}");
    assert_eq!(again.body["id"], badge_id);

    // Active for someone else in the organization: 409 naming the field,
    // whether the other holder is in the caller's facility or not.
    let other = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::Lpn)
        .await
        .0;
    let r = assign(&app, admin, other, BADGE).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{r:?}");
    assert!(r.body["error"]["fields"]["badge_uid"].is_array(), "{r:?}");
    let r = assign(&app, w.token(Role::OrgAdmin), w.a2.staff, BADGE).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{r:?}");
    // Another organization has its own badges (and its own key).
    let r = assign(&app, w.token(Role::PlatformAdmin), w.b1.staff, BADGE).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");

    let list = app
        .get(&format!("/api/users/{}/badges", w.a1.staff), admin)
        .await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    let ids: Vec<i64> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![w.a1.badge, badge_id]);

    // Revoke in one action; revoking twice keeps the first record.
    let path = format!("/api/users/{}/badges/{badge_id}/revoke", w.a1.staff);
    let r = app.post(&path, admin, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["is_active"], false);
    assert_eq!(r.body["revoked_by"], admin_id);
    let revoked_at = r.body["revoked_at"].clone();
    assert!(revoked_at.is_string());
    let r = app.post(&path, w.token(Role::OrgAdmin), json!({})).await;
    assert_eq!(
        (r.status, &r.body["revoked_at"], &r.body["revoked_by"]),
        (StatusCode::OK, &revoked_at, &json!(admin_id))
    );
    // The badge is someone else's to hold now.
    let r = assign(&app, admin, other, BADGE).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    // A badge of another user under this user's path is not found.
    let r = app
        .post(
            &format!("/api/users/{}/badges/{}/revoke", w.a1.staff, r.body["id"]),
            admin,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");

    // Nurses may not manage badges; a facility admin may not touch an org admin's.
    let r = app
        .get(
            &format!("/api/users/{}/badges", w.a1.staff),
            w.token(Role::Rn),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = assign(&app, admin, w.user(Role::OrgAdmin), "04112233").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Each action is on the record.
    for (action, expected) in [("badge.assign", 3), ("badge.list", 1), ("badge.revoke", 1)] {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM audit_events WHERE actor_user_id = $1 AND action = $2 AND outcome = 'success' \
             AND facility_id = $3 AND NOT cross_facility",
        )
        .bind(admin_id)
        .bind(action)
        .bind(w.a1.facility)
        .fetch_one(&app.owner)
        .await
        .unwrap();
        assert_eq!(n, expected, "{action}");
    }
    let revoke_row: (Option<i64>, bool) = sqlx::query_as(
        "SELECT resource_id, cross_facility FROM audit_events WHERE actor_user_id = $1 AND action = 'badge.revoke'",
    )
    .bind(w.user(Role::OrgAdmin))
    .fetch_one(&app.owner)
    .await
    .unwrap();
    assert_eq!(revoke_row, (Some(badge_id), false));

    // Badges follow their user to another facility of the organization.
    let r = app
        .put(
            &format!("/api/users/{}", w.a1.staff),
            w.token(Role::OrgAdmin),
            json!({"facility_id": w.a2.facility}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let facilities: Vec<i64> =
        sqlx::query_scalar("SELECT DISTINCT facility_id FROM badges WHERE user_id = $1")
            .bind(w.a1.staff)
            .fetch_all(&app.owner)
            .await
            .unwrap();
    assert_eq!(facilities, vec![w.a2.facility]);
}

#[tokio::test]
async fn badge_and_pin_then_badge_alone_within_the_grace_period() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let n = nurse(&app, &w).await;

    // No badge+PIN login yet: the PIN is asked for.
    let r = badge_login(&app, &n.device, BADGE, None).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "BADGE_PIN_REQUIRED")
    );

    let r = badge_login(&app, &n.device, BADGE, Some(PIN)).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["user"]["id"], n.id);
    assert_eq!(r.body["token_type"], "Bearer");
    let session = r.body["token"].as_str().unwrap().to_owned();
    let me = app.get("/api/auth/me", &session).await;
    assert_eq!(me.body["id"], n.id, "{me:?}");
    // Sessions end by the re-authentication due in 12 hours.
    let expires: chrono::DateTime<chrono::Utc> =
        r.body["expires_at"].as_str().unwrap().parse().unwrap();
    assert!(expires <= chrono::Utc::now() + chrono::Duration::hours(12));

    // Within the grace period, the badge alone is enough.
    let r = badge_login(&app, &n.device, BADGE, None).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");

    // Seven hours later: still badge alone, but the session ends at the 12-hour mark.
    move_last_pin_login(&app, n.id, 7).await;
    let r = badge_login(&app, &n.device, BADGE, None).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let expires: chrono::DateTime<chrono::Utc> =
        r.body["expires_at"].as_str().unwrap().parse().unwrap();
    assert!(expires <= chrono::Utc::now() + chrono::Duration::hours(5));

    // Past the grace period: the PIN again; past 12 hours: re-authentication.
    move_last_pin_login(&app, n.id, 9).await;
    let r = badge_login(&app, &n.device, BADGE, None).await;
    assert_eq!(r.code(), "BADGE_PIN_REQUIRED");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("badge-only period"),
        "{r:?}"
    );
    move_last_pin_login(&app, n.id, 13).await;
    let r = badge_login(&app, &n.device, BADGE, None).await;
    assert_eq!(r.code(), "BADGE_PIN_REQUIRED");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("re-authentication"),
        "{r:?}"
    );

    // A facility may ask for the PIN every time.
    assert_eq!(
        badge_login(&app, &n.device, BADGE, Some(PIN)).await.status,
        StatusCode::OK
    );
    sqlx::query(
        "UPDATE facilities SET policy = policy || '{\"badge_grace_hours\": 0}' WHERE id = $1",
    )
    .bind(w.a1.facility)
    .execute(&app.owner)
    .await
    .unwrap();
    let r = badge_login(&app, &n.device, BADGE, None).await;
    assert_eq!(r.code(), "BADGE_PIN_REQUIRED");

    // Each outcome is audited with the user and the device.
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT outcome, reason FROM audit_events WHERE action = 'auth.badge_login' AND actor_user_id = $1 \
         AND actor_device_id = $2 AND facility_id = $3 AND NOT cross_facility ORDER BY id",
    )
    .bind(n.id)
    .bind(w.a1.device)
    .bind(w.a1.facility)
    .fetch_all(&app.owner)
    .await
    .unwrap();
    let outcomes: Vec<&str> = rows.iter().map(|(o, _)| o.as_str()).collect();
    assert_eq!(
        outcomes,
        ["denied", "success", "success", "success", "denied", "denied", "success", "denied"]
    );
    assert_eq!(rows[1].1.as_deref(), Some("badge and PIN"));
    assert_eq!(rows[2].1.as_deref(), Some("badge"));

    // Password login stays available.
    let username: String = sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
        .bind(n.id)
        .fetch_one(&app.owner)
        .await
        .unwrap();
    let r = app
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"username": username, "password": crate::helpers::PASSWORD})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
}

#[tokio::test]
async fn unknown_and_revoked_badges_are_refused_at_the_next_request() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let n = nurse(&app, &w).await;
    // Before any badge exists in an organization there is no key either.
    let b1_device = device_token_for(&app.owner, w.b1.device).await;
    let r = badge_login(&app, &b1_device, BADGE, None).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "BADGE_UNKNOWN")
    );

    assert_eq!(
        badge_login(&app, &n.device, BADGE, Some(PIN)).await.status,
        StatusCode::OK
    );
    let r = badge_login(&app, &n.device, "04:99:88:77", None).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "BADGE_UNKNOWN")
    );

    let badge_id: i64 = sqlx::query_scalar("SELECT id FROM badges WHERE user_id = $1")
        .bind(n.id)
        .fetch_one(&app.owner)
        .await
        .unwrap();
    let r = app
        .post(
            &format!("/api/users/{}/badges/{badge_id}/revoke", n.id),
            w.token(Role::FacilityAdmin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    for pin in [None, Some(PIN)] {
        let r = badge_login(&app, &n.device, BADGE, pin).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNAUTHORIZED, "BADGE_REVOKED")
        );
    }
    let denied = count(
        &app,
        "SELECT count(*) FROM audit_events WHERE action = 'auth.badge_login' AND outcome = 'denied' \
         AND reason = 'revoked badge' AND resource_id = $1",
        &[badge_id],
    )
    .await;
    assert_eq!(denied, 2);
    let unknown = count(
        &app,
        "SELECT count(*) FROM audit_events WHERE action = 'auth.badge_login' AND reason = 'unknown badge' \
         AND actor_user_id IS NULL AND actor_device_id = ANY(ARRAY[$1, $2])",
        &[w.a1.device, w.b1.device],
    )
    .await;
    assert_eq!(unknown, 2);
    // An inactive account's badge opens nothing.
    let r = assign(&app, w.token(Role::FacilityAdmin), w.a1.staff, "04CAFE01").await;
    assert_eq!(r.status, StatusCode::CREATED);
    sqlx::query("UPDATE users SET is_active = false WHERE id = $1")
        .bind(w.a1.staff)
        .execute(&app.owner)
        .await
        .unwrap();
    let r = badge_login(&app, &n.device, "04CAFE01", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
}

#[tokio::test]
async fn only_devices_of_the_users_facility_or_an_org_admins_organization_may_log_in() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let n = nurse(&app, &w).await;
    let a2_device = device_token_for(&app.owner, w.a2.device).await;
    let b1_device = device_token_for(&app.owner, w.b1.device).await;

    // A nurse of A1 at a device of A2 (same organization): refused, on the record.
    let r = badge_login(&app, &a2_device, BADGE, Some(PIN)).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "BADGE_DEVICE_NOT_ALLOWED")
    );
    let refused = count(
        &app,
        "SELECT count(*) FROM audit_events WHERE action = 'auth.badge_login' AND outcome = 'denied' \
         AND actor_user_id = $1 AND actor_device_id = $2 AND facility_id = $3 AND cross_facility",
        &[n.id, w.a2.device, w.a2.facility],
    )
    .await;
    assert_eq!(refused, 1);
    // Another organization does not know the badge at all.
    let r = badge_login(&app, &b1_device, BADGE, Some(PIN)).await;
    assert_eq!(r.code(), "BADGE_UNKNOWN");

    // An organization admin (homed in A1) may log in at A2, audited as cross-facility.
    let org_admin = w.user(Role::OrgAdmin);
    let r = assign(&app, w.token(Role::OrgAdmin), org_admin, "04:0A:DB:11").await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let r = set_pin(&app, w.token(Role::OrgAdmin), org_admin, "2580").await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let r = badge_login(&app, &a2_device, "040adb11", Some("2580")).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["user"]["id"], org_admin);
    let cross = count(
        &app,
        "SELECT count(*) FROM audit_events WHERE action = 'auth.badge_login' AND outcome = 'success' \
         AND actor_user_id = $1 AND actor_device_id = $2 AND facility_id = $3 AND cross_facility",
        &[org_admin, w.a2.device, w.a2.facility],
    )
    .await;
    assert_eq!(cross, 1);
    // But not in another organization.
    let r = badge_login(&app, &b1_device, "040adb11", Some("2580")).await;
    assert_eq!(r.code(), "BADGE_UNKNOWN");

    // A deactivated device logs no one in, from its very next request.
    let r = app
        .post(
            &format!("/api/devices/{}/deactivate", w.a1.device),
            w.token(Role::FacilityAdmin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let r = badge_login(&app, &n.device, BADGE, Some(PIN)).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "DEVICE_DEACTIVATED")
    );
    // A user's token is not a device token.
    let r = badge_login(&app, &n.token, BADGE, Some(PIN)).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "UNAUTHORIZED")
    );
}

#[tokio::test]
async fn five_wrong_pins_lock_the_badge_for_fifteen_minutes() {
    // Dozens of taps through one device: beyond the default per-device burst.
    let app = spawn_app_with(tend_api::identity::IdentityConfig {
        badge_logins_per_device: tend_api::identity::limits::Rate {
            burst: 1000.0,
            per_second: 100.0,
        },
        ..Default::default()
    })
    .await;
    let w = world(&app).await;
    let n = nurse(&app, &w).await;
    let mut left = Vec::new();
    for _ in 0..4 {
        let r = badge_login(&app, &n.device, BADGE, Some("1357")).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNAUTHORIZED, "BADGE_PIN_WRONG")
        );
        left.push(r.body["error"]["attempts_left"].as_u64().unwrap());
    }
    assert_eq!(left, [4, 3, 2, 1]);
    let r = badge_login(&app, &n.device, BADGE, Some("1357")).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "BADGE_LOCKED")
    );
    // Locked: even the right PIN is refused, and so is the badge alone.
    let r = badge_login(&app, &n.device, BADGE, Some(PIN)).await;
    assert_eq!(r.code(), "BADGE_LOCKED");
    let badge_id: i64 = sqlx::query_scalar("SELECT id FROM badges WHERE user_id = $1")
        .bind(n.id)
        .fetch_one(&app.owner)
        .await
        .unwrap();
    let locked_events = count(
        &app,
        "SELECT count(*) FROM audit_events WHERE action = 'badge.locked' AND resource_id = $1 AND actor_user_id = $2",
        &[badge_id, n.id],
    )
    .await;
    assert_eq!(locked_events, 1);
    let lock: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT locked_until FROM badges WHERE id = $1")
            .bind(badge_id)
            .fetch_one(&app.owner)
            .await
            .unwrap();
    let minutes = (lock.unwrap() - chrono::Utc::now()).num_minutes();
    assert!((14..=15).contains(&minutes), "{minutes}");
    // Admins see the lock.
    let list = app
        .get(
            &format!("/api/users/{}/badges", n.id),
            w.token(Role::FacilityAdmin),
        )
        .await;
    assert!(
        list.body["items"][0]["locked_until"].is_string(),
        "{list:?}"
    );

    // When the window has passed, the right PIN works and the count starts over.
    sqlx::query("UPDATE badges SET locked_until = now() - interval '1 second' WHERE id = $1")
        .bind(badge_id)
        .execute(&app.owner)
        .await
        .unwrap();
    let r = badge_login(&app, &n.device, BADGE, Some(PIN)).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let r = badge_login(&app, &n.device, BADGE, Some("1357")).await;
    assert_eq!(r.body["error"]["attempts_left"], 4, "{r:?}");

    // Lock again; an admin resetting the PIN unlocks the badge at once.
    for _ in 0..5 {
        badge_login(&app, &n.device, BADGE, Some("1357")).await;
    }
    assert_eq!(
        badge_login(&app, &n.device, BADGE, Some(PIN)).await.code(),
        "BADGE_LOCKED"
    );
    let r = set_pin(&app, w.token(Role::FacilityAdmin), n.id, "8642").await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let r = badge_login(&app, &n.device, BADGE, None).await;
    assert_eq!(
        r.code(),
        "BADGE_PIN_REQUIRED",
        "a new PIN restarts the policy"
    );
    let r = badge_login(&app, &n.device, BADGE, Some("8642")).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");

    // Wrong PINs racing at the last attempt lock the badge once.
    sqlx::query("UPDATE badges SET failed_pin_attempts = 4 WHERE id = $1")
        .bind(badge_id)
        .execute(&app.owner)
        .await
        .unwrap();
    let mut racing = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let request = app
            .client
            .post(format!("{}/api/auth/badge-login", app.base))
            .bearer_auth(&n.device)
            .json(&json!({"badge_uid": BADGE, "pin": "1357"}));
        racing.spawn(async move {
            let res = request.send().await.unwrap();
            let body: serde_json::Value = res.json().await.unwrap();
            body["error"]["code"].as_str().unwrap().to_owned()
        });
    }
    let codes = racing.join_all().await;
    assert!(codes.iter().all(|c| c == "BADGE_LOCKED"), "{codes:?}");
    let locked_events = count(
        &app,
        "SELECT count(*) FROM audit_events WHERE action = 'badge.locked' AND resource_id = $1",
        &[badge_id],
    )
    .await;
    assert_eq!(locked_events, 3, "one lock per lockout");

    // A user without a PIN is told so rather than asked for one.
    let r = assign(&app, w.token(Role::FacilityAdmin), w.a1.staff, "04BEEF02").await;
    assert_eq!(r.status, StatusCode::CREATED);
    for pin in [None, Some("2468")] {
        let r = badge_login(&app, &n.device, "04BEEF02", pin).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNAUTHORIZED, "BADGE_PIN_NOT_SET")
        );
    }
}

#[tokio::test]
async fn pins_follow_the_rules_and_are_set_by_the_user_or_an_admin() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let rn = w.user(Role::Rn);
    let rn_token = w.token(Role::Rn);
    for (pin, why) in [
        ("123", "digits"),
        ("123456789", "digits"),
        ("12a4", "digits"),
        ("1111", "repeat"),
        ("3456", "run"),
    ] {
        let r = set_pin(&app, rn_token, rn, pin).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{pin}: {r:?}");
        let messages = r.body["error"]["fields"]["pin"].to_string();
        assert!(messages.contains(why), "{pin}: {messages}");
        assert!(!messages.contains(pin), "the PIN is echoed: {messages}");
    }
    let r = app
        .put(
            &format!("/api/users/{rn}/pin"),
            rn_token,
            json!({"pin": 4821}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(r.body["error"]["fields"]["pin"].is_array(), "{r:?}");
    let r = app
        .put(&format!("/api/users/{rn}/pin"), rn_token, json!({}))
        .await;
    assert!(r.body["error"]["fields"]["pin"].is_array(), "{r:?}");

    // Themself: yes. Another user of the facility: only as an admin who may manage them.
    let r = set_pin(&app, rn_token, rn, "4821").await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["user_id"], rn);
    assert!(r.body["pin_set_at"].is_string());
    let r = set_pin(&app, rn_token, w.a1.staff, "4821").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = set_pin(&app, w.token(Role::FacilityAdmin), w.a1.staff, "4821").await;
    assert_eq!(r.status, StatusCode::OK);
    let r = set_pin(
        &app,
        w.token(Role::FacilityAdmin),
        w.user(Role::OrgAdmin),
        "4821",
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = set_pin(&app, w.token(Role::FacilityAdmin), w.b1.staff, "4821").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Stored as argon2id, like passwords, and never readable by the API role.
    let hash: String = sqlx::query_scalar("SELECT pin_hash FROM users WHERE id = $1")
        .bind(rn)
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&app.app_url)
        .await
        .unwrap();
    let err = sqlx::query("SELECT pin_hash FROM users LIMIT 1")
        .execute(&mut conn)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    let audits = count(
        &app,
        "SELECT count(*) FROM audit_events WHERE action = 'user.pin_set' AND outcome = 'success'",
        &[],
    )
    .await;
    assert_eq!(audits, 2);
}

#[tokio::test]
async fn badge_login_validates_fields_and_is_rate_limited_per_device() {
    let config = tend_api::identity::IdentityConfig {
        badge_logins_per_device: tend_api::identity::limits::Rate {
            burst: 4.0,
            per_second: 0.01,
        },
        ..Default::default()
    };
    let app = spawn_app_with(config).await;
    let w = world(&app).await;
    let device = device_token_for(&app.owner, w.a1.device).await;
    let field_errors = |r: &Resp, field: &str| {
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
        assert_eq!(r.code(), "VALIDATION_FAILED");
        assert!(
            r.body["error"]["fields"][field].is_array(),
            "{field}: {r:?}"
        );
    };
    field_errors(
        &badge_login(&app, &device, "04A1B2", None).await,
        "badge_uid",
    );
    field_errors(
        &badge_login(&app, &device, "not hex!", None).await,
        "badge_uid",
    );
    field_errors(
        &badge_login(&app, &device, BADGE, Some("12ab")).await,
        "pin",
    );
    let r = app
        .call(
            Method::POST,
            "/api/auth/badge-login",
            Some(&device),
            Some(json!({"pin": "4821"})),
        )
        .await;
    field_errors(&r, "badge_uid");
    let r = app
        .call(
            Method::POST,
            "/api/auth/badge-login",
            Some(&device),
            Some(json!({"badge_uid": BADGE, "employee_id": "E1"})),
        )
        .await;
    field_errors(&r, "employee_id");
    // Assigning validates too.
    let r = app
        .post(
            &format!("/api/users/{}/badges", w.a1.staff),
            w.token(Role::FacilityAdmin),
            json!({"badge_uid": "04:A1", "label": " "}),
        )
        .await;
    field_errors(&r, "badge_uid");
    let r = app
        .post(
            &format!("/api/users/{}/badges", w.a1.staff),
            w.token(Role::FacilityAdmin),
            json!({"badge_uid": BADGE, "label": "x".repeat(101)}),
        )
        .await;
    field_errors(&r, "label");

    // Four attempts per device in the burst: three went to the values the
    // handler refused above (bodies of the wrong shape never reach it); then
    // 429, while another device has its own budget.
    assert_eq!(
        badge_login(&app, &device, BADGE, None).await.code(),
        "BADGE_UNKNOWN"
    );
    let r = badge_login(&app, &device, BADGE, None).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED")
    );
    let other = device_token_for(&app.owner, w.a2.device).await;
    assert_eq!(
        badge_login(&app, &other, BADGE, None).await.code(),
        "BADGE_UNKNOWN"
    );
}

/// Every row of every table in the public schema, as text.
async fn dump_database(app: &TestApp) -> String {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    )
    .fetch_all(&app.owner)
    .await
    .unwrap();
    assert!(tables.contains(&"badges".to_owned()));
    let mut out = String::new();
    for table in tables {
        let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT t::text FROM {table} t"))
            .fetch_all(&app.owner)
            .await
            .unwrap();
        out.push_str(&rows.join("\n"));
        out.push('\n');
    }
    out
}

#[tokio::test]
async fn no_badge_value_or_pin_is_stored_or_logged() {
    let logs = captured_logs();
    let app = spawn_app().await;
    let w = world(&app).await;
    let n = nurse(&app, &w).await;
    assert_eq!(
        badge_login(&app, &n.device, BADGE, None).await.code(),
        "BADGE_PIN_REQUIRED"
    );
    assert_eq!(
        badge_login(&app, &n.device, BADGE, Some("1357"))
            .await
            .code(),
        "BADGE_PIN_WRONG"
    );
    assert_eq!(
        badge_login(&app, &n.device, BADGE, Some(PIN)).await.status,
        StatusCode::OK
    );
    let r = badge_login(&app, &n.device, BADGE, None).await;
    let session = r.body["token"].as_str().unwrap().to_owned();
    let unknown = "04:51:62:73:84:95:A6";
    assert_eq!(
        badge_login(&app, &n.device, unknown, None).await.code(),
        "BADGE_UNKNOWN"
    );
    let r = badge_login(&app, &n.device, "04:51:62", Some(PIN)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!r.body.to_string().contains("045162"), "{r:?}");

    let stored = dump_database(&app).await.to_uppercase();
    assert!(
        stored.contains("AUTH.BADGE_LOGIN"),
        "the dump has the audit rows"
    );
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).to_uppercase();
    assert!(logged.contains("BADGE LOGIN"), "logs were captured");
    let stored_hash: Vec<u8> =
        sqlx::query_scalar("SELECT badge_hash FROM badges WHERE user_id = $1")
            .bind(n.id)
            .fetch_one(&app.owner)
            .await
            .unwrap();
    assert_eq!(stored_hash.len(), 32);
    for (name, text) in [("database", &stored), ("logs", &logged)] {
        for secret in [
            BADGE_NORMALIZED.to_owned(),
            BADGE.to_uppercase(),
            "04:51:62:73".to_owned(),
            "045162738495A6".to_owned(),
            PIN.to_owned(),
            session.to_uppercase(),
        ] {
            assert!(
                !text.contains(&secret),
                "{name} contains a badge value, PIN or token"
            );
        }
    }
}

fn many_taps() -> tend_api::identity::IdentityConfig {
    tend_api::identity::IdentityConfig {
        badge_logins_per_device: tend_api::identity::limits::Rate {
            burst: 1000.0,
            per_second: 100.0,
        },
        ..Default::default()
    }
}

#[tokio::test]
async fn concurrent_wrong_pins_never_exceed_the_lockout() {
    let app = spawn_app_with(many_taps()).await;
    let w = world(&app).await;
    let n = nurse(&app, &w).await;
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let client = app.client.clone();
        let url = format!("{}/api/auth/badge-login", app.base);
        let device = n.device.clone();
        attempts.spawn(async move {
            let res = client
                .post(url)
                .bearer_auth(device)
                .json(&json!({"badge_uid": BADGE, "pin": "1357"}))
                .send()
                .await
                .unwrap();
            let body: serde_json::Value = res.json().await.unwrap();
            body["error"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        });
    }
    let codes: Vec<String> = attempts.join_all().await;
    let wrong = codes.iter().filter(|c| *c == "BADGE_PIN_WRONG").count();
    let locked = codes.iter().filter(|c| *c == "BADGE_LOCKED").count();
    assert_eq!((wrong, locked), (4, 8), "{codes:?}");
    // Exactly five PINs were tried: four counted wrong, the fifth locked.
    let tried = count(
        &app,
        "SELECT count(*) FROM audit_events WHERE action = 'auth.badge_login' AND reason = 'wrong PIN' AND actor_user_id = $1",
        &[n.id],
    )
    .await;
    assert_eq!(tried, 5);
    let locks = count(
        &app,
        "SELECT count(*) FROM audit_events WHERE action = 'badge.locked' AND actor_user_id = $1",
        &[n.id],
    )
    .await;
    assert_eq!(locks, 1);
    assert_eq!(
        badge_login(&app, &n.device, BADGE, Some(PIN)).await.code(),
        "BADGE_LOCKED"
    );
}

#[tokio::test]
async fn a_pin_attempt_racing_a_lockout_is_refused() {
    let app = spawn_app_with(many_taps()).await;
    let w = world(&app).await;
    let n = nurse(&app, &w).await;
    let badge_id: i64 = sqlx::query_scalar("SELECT id FROM badges WHERE user_id = $1")
        .bind(n.id)
        .fetch_one(&app.owner)
        .await
        .unwrap();
    // Another attempt holds the badge row while the right PIN arrives …
    let mut holder = app.owner.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM badges WHERE id = $1 FOR UPDATE")
        .bind(badge_id)
        .execute(&mut *holder)
        .await
        .unwrap();
    let client = app.client.clone();
    let url = format!("{}/api/auth/badge-login", app.base);
    let device = n.device.clone();
    let racing = tokio::spawn(async move {
        let res = client
            .post(url)
            .bearer_auth(device)
            .json(&json!({"badge_uid": BADGE, "pin": PIN}))
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.json::<serde_json::Value>().await.unwrap())
    });
    // … and is waiting on it …
    let db: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&app.owner)
        .await
        .unwrap();
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
        )
        .bind(&db)
        .fetch_one(&app.owner)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // … when that other attempt locks the badge.
    sqlx::query("UPDATE badges SET failed_pin_attempts = 0, locked_until = now() + interval '15 minutes' WHERE id = $1")
        .bind(badge_id)
        .execute(&mut *holder)
        .await
        .unwrap();
    holder.commit().await.unwrap();
    let (status, body) = racing.await.unwrap();
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("BADGE_LOCKED")),
        "the lock taken meanwhile holds: {body}"
    );
}
