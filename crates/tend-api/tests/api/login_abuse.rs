//! Password login under abuse, and the rules for ending sessions and setting
//! someone else's credentials: per-account lockout (audited) and per-address
//! limits that hold across instances, password changes and "sign out
//! everywhere" revoking tokens on every instance, and peers that may not take
//! over each other's sign-in.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tend_domain::Role;

use crate::helpers::{insert_user, spawn_app, spawn_app_with, token_for, world, TestApp, PASSWORD};

async fn login(app: &TestApp, base: &str, username: &str, password: &str) -> (StatusCode, Value) {
    let res = app
        .client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn me(app: &TestApp, base: &str, token: &str) -> StatusCode {
    app.client
        .get(format!("{base}/api/auth/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

async fn audit_rows(app: &TestApp, action: &str, resource: i64) -> Vec<(String, Option<String>)> {
    sqlx::query_as(
        "SELECT outcome, reason FROM audit_events WHERE action = $1 AND resource_id = $2 ORDER BY id",
    )
    .bind(action)
    .bind(resource)
    .fetch_all(&app.owner)
    .await
    .unwrap()
}

fn generous_addresses() -> tend_api::identity::IdentityConfig {
    tend_api::identity::IdentityConfig {
        login_per_address: tend_api::identity::limits::Rate {
            burst: 1_000_000.0,
            per_second: 1_000_000.0,
        },
        ..Default::default()
    }
}

#[tokio::test]
async fn ten_thousand_guesses_at_one_password_are_locked_out_and_audited() {
    // Backoff in milliseconds, so the flood reaches the lock within the run
    // (with the default second it takes 15 s of waiting before the lock).
    let app = spawn_app_with(tend_api::identity::IdentityConfig {
        login_backoff: std::time::Duration::from_millis(5),
        ..generous_addresses()
    })
    .await;
    let w = world(&app).await;
    let (id, username) = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::Rn).await;
    let max = tend_api::identity::IdentityConfig::default().login_max_failures as usize;
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    // 10,000 guesses, 16 at a time.
    for round in 0..625 {
        let mut batch = tokio::task::JoinSet::new();
        for k in 0..16 {
            let client = app.client.clone();
            let url = format!("{}/api/auth/login", app.base);
            let body =
                json!({"username": username, "password": format!("guess {round} {k} xxxxxxxx")});
            batch.spawn(async move {
                client
                    .post(url)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            });
        }
        for s in batch.join_all().await {
            *statuses.entry(s).or_default() += 1;
        }
    }
    let wrong = statuses.get(&401).copied().unwrap_or(0);
    let throttled = statuses.get(&429).copied().unwrap_or(0);
    assert_eq!(wrong + throttled, 10_000, "{statuses:?}");
    assert!(
        wrong <= max,
        "at most {max} passwords were checked: {statuses:?}"
    );
    // The account locked once, on the record.
    let locked = audit_rows(&app, "auth.account_locked", id).await;
    assert_eq!(locked.len(), 1, "{locked:?}");
    assert_eq!(locked[0].0, "denied");
    assert!(
        locked[0].1.as_deref().unwrap().contains("failed sign-ins"),
        "{locked:?}"
    );
    // Locked means locked: the right password waits too, and says for how long.
    let res = app
        .client
        .post(format!("{}/api/auth/login", app.base))
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 60, "{retry}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "RATE_LIMITED");
    // Another account is not affected, and an unknown name is throttled alike.
    let (other, other_name) = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::Cna).await;
    let (status, _) = login(&app, &app.base, &other_name, PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    assert!(audit_rows(&app, "auth.account_locked", other)
        .await
        .is_empty());
    // When the lock has passed, the right password works and clears the count.
    sqlx::query("UPDATE login_throttle SET locked_until = now() - interval '1 second'")
        .execute(&app.owner)
        .await
        .unwrap();
    let (status, body) = login(&app, &app.base, &username, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM login_throttle")
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert_eq!(rows, 0, "successful logins leave no throttle rows behind");
}

#[tokio::test]
async fn failed_logins_back_off_before_the_lock() {
    let app = spawn_app_with(generous_addresses()).await;
    let w = world(&app).await;
    let (_, username) = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::Rn).await;
    let free = tend_api::identity::IdentityConfig::default().login_free_failures;
    for _ in 0..free {
        let (status, _) = login(&app, &app.base, &username, "not the password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // One more failure is checked, then the next attempt must wait.
    let (status, _) = login(&app, &app.base, &username, "not the password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = login(&app, &app.base, &username, PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    // The throttle's key is a hash, never the username.
    let keys: Vec<Vec<u8>> = sqlx::query_scalar("SELECT account_key FROM login_throttle")
        .fetch_all(&app.owner)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].len(), 32);
}

#[tokio::test]
async fn a_login_limit_per_address_of_n_allows_n_across_two_instances() {
    const N: usize = 6;
    let config = || tend_api::identity::IdentityConfig {
        login_per_address: tend_api::identity::limits::Rate {
            burst: N as f64,
            per_second: 0.0001,
        },
        ..Default::default()
    };
    let app = spawn_app_with(config()).await;
    let (base_b, server_b) = app.second_instance_with(config()).await;
    let mut allowed = 0;
    for i in 0..(3 * N) {
        let base = if i % 2 == 0 {
            app.base.clone()
        } else {
            base_b.clone()
        };
        // A new name each time: only the address is shared.
        let (status, _) = login(&app, &base, &format!("nobody{i}"), "a wrong password").await;
        if status != StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            allowed += 1;
        }
    }
    assert_eq!(allowed, N);
    server_b.abort();
}

#[tokio::test]
async fn changing_a_password_ends_the_other_sessions() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (base_b, server_b) = app.second_instance().await;
    // A nurse signed in twice; instance B has seen one of the tokens.
    let (nurse, _) = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::Rn).await;
    let first = token_for(&app.owner, nurse).await;
    let second = token_for(&app.owner, nurse).await;
    assert_eq!(me(&app, &base_b, &first).await, StatusCode::OK);
    // An admin resets the nurse's password: every session of the nurse ends.
    let r = app
        .put(
            &format!("/api/users/{nurse}"),
            w.token(Role::FacilityAdmin),
            json!({"password": "a brand new password"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    for token in [&first, &second] {
        assert_eq!(me(&app, &app.base, token).await, StatusCode::UNAUTHORIZED);
        assert_eq!(me(&app, &base_b, token).await, StatusCode::UNAUTHORIZED);
    }
    let rows = audit_rows(&app, "user.sessions_revoked", nurse).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        rows[0]
            .1
            .as_deref()
            .unwrap()
            .starts_with("password changed; 2 "),
        "{rows:?}"
    );
    // An admin changing their own password keeps the session they used.
    let admin = w.user(Role::FacilityAdmin);
    let elsewhere = token_for(&app.owner, admin).await;
    let r = app
        .put(
            &format!("/api/users/{admin}"),
            w.token(Role::FacilityAdmin),
            json!({"password": "my own new password"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        me(&app, &app.base, w.token(Role::FacilityAdmin)).await,
        StatusCode::OK
    );
    assert_eq!(
        me(&app, &app.base, &elsewhere).await,
        StatusCode::UNAUTHORIZED
    );
    // Changing other fields ends nothing.
    let kept = token_for(&app.owner, nurse).await;
    let r = app
        .put(
            &format!("/api/users/{nurse}"),
            w.token(Role::FacilityAdmin),
            json!({"full_name": "Renamed Nurse"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(me(&app, &app.base, &kept).await, StatusCode::OK);
    server_b.abort();
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session_on_every_instance() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (base_b, server_b) = app.second_instance().await;
    let (nurse, _) = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::Rn).await;
    let here = token_for(&app.owner, nurse).await;
    let there = token_for(&app.owner, nurse).await;
    assert_eq!(me(&app, &base_b, &there).await, StatusCode::OK);
    let r = app
        .post("/api/auth/sign-out-everywhere", &here, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{r:?}");
    for token in [&here, &there] {
        assert_eq!(me(&app, &app.base, token).await, StatusCode::UNAUTHORIZED);
        assert_eq!(me(&app, &base_b, token).await, StatusCode::UNAUTHORIZED);
    }
    let rows = audit_rows(&app, "auth.sign_out_everywhere", nurse).await;
    assert_eq!(
        rows,
        [("success".to_owned(), Some("2 session(s) ended".to_owned()))]
    );

    // An admin acting on a user.
    let again = token_for(&app.owner, nurse).await;
    assert_eq!(me(&app, &base_b, &again).await, StatusCode::OK);
    let path = format!("/api/users/{nurse}/sign-out-everywhere");
    // Not for a nurse to do to a colleague (403, audited) …
    let colleague = w.token(Role::Rn);
    let r = app.post(&path, colleague, json!({})).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "FORBIDDEN"));
    assert_eq!(me(&app, &base_b, &again).await, StatusCode::OK);
    // … but for their facility admin.
    let r = app
        .post(&path, w.token(Role::FacilityAdmin), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{r:?}");
    assert_eq!(me(&app, &base_b, &again).await, StatusCode::UNAUTHORIZED);
    let rows = audit_rows(&app, "user.sign_out_everywhere", nurse).await;
    assert_eq!(
        rows,
        [("success".to_owned(), Some("1 session(s) ended".to_owned()))]
    );
    // A facility admin may not sign out someone above them.
    let r = app
        .post(
            &format!("/api/users/{}/sign-out-everywhere", w.user(Role::OrgAdmin)),
            w.token(Role::FacilityAdmin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
    server_b.abort();
}

#[tokio::test]
async fn only_a_higher_role_sets_an_admins_credentials() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (peer_fa, _) = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::FacilityAdmin).await;
    let (peer_oa, _) = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::OrgAdmin).await;
    let fa = w.token(Role::FacilityAdmin);
    let oa = w.token(Role::OrgAdmin);
    let denied_before: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE action = 'access.denied' AND actor_user_id = $1",
    )
    .bind(w.user(Role::FacilityAdmin))
    .fetch_one(&app.owner)
    .await
    .unwrap();

    // A facility admin and another facility admin: password, PIN, badge all refused.
    let refusals = [
        app.put(
            &format!("/api/users/{peer_fa}"),
            fa,
            json!({"password": "taking over your account"}),
        )
        .await,
        app.put(
            &format!("/api/users/{peer_fa}/pin"),
            fa,
            json!({"pin": "4821"}),
        )
        .await,
        app.post(
            &format!("/api/users/{peer_fa}/badges"),
            fa,
            json!({"badge_uid": "04:11:22:33:44:55:66"}),
        )
        .await,
    ];
    for r in &refusals {
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::FORBIDDEN, "FORBIDDEN"),
            "{r:?}"
        );
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.contains("only a higher role"), "{message}");
    }
    let denied_after: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE action = 'access.denied' AND actor_user_id = $1",
    )
    .bind(w.user(Role::FacilityAdmin))
    .fetch_one(&app.owner)
    .await
    .unwrap();
    assert_eq!(denied_after - denied_before, 3, "each refusal is audited");
    // Nothing changed: the peer still signs in with the old password.
    let peer_name: String = sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
        .bind(peer_fa)
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert_eq!(
        login(&app, &app.base, &peer_name, PASSWORD).await.0,
        StatusCode::OK
    );
    // Other fields of a peer stay manageable, as before.
    let r = app
        .put(
            &format!("/api/users/{peer_fa}"),
            fa,
            json!({"full_name": "Renamed Peer"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");

    // The same among organization admins …
    let r = app
        .put(
            &format!("/api/users/{peer_oa}"),
            oa,
            json!({"password": "taking over your account"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
    // … while the higher role may, and everyone may set their own.
    let r = app
        .put(
            &format!("/api/users/{peer_fa}/pin"),
            oa,
            json!({"pin": "4821"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let r = app
        .post(
            &format!("/api/users/{peer_fa}/badges"),
            oa,
            json!({"badge_uid": "04:11:22:33:44:55:66"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let r = app
        .put(
            &format!("/api/users/{peer_oa}"),
            w.token(Role::PlatformAdmin),
            json!({"password": "reset by the platform"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let me_id = w.user(Role::FacilityAdmin);
    let r = app
        .put(
            &format!("/api/users/{me_id}/pin"),
            fa,
            json!({"pin": "4821"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
}
