//! Login, logout, me; tokens random, hashed, revocable, expiring.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tend_domain::Role;

use crate::helpers::{insert_facility, insert_org, insert_user, spawn_app, PASSWORD};

#[tokio::test]
async fn login_me_logout() {
    let app = spawn_app().await;
    let org = insert_org(&app.owner, "Org", false).await;
    let facility = insert_facility(&app.owner, org, "F", Some(10)).await;
    let (id, username) = insert_user(&app.owner, org, facility, Role::Rn).await;

    let bad = app
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"username": username, "password": "wrong password!!"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bad.code(), "UNAUTHORIZED");
    let unknown = app
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"username": "nobody", "password": PASSWORD})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        unknown.body, bad.body,
        "unknown user and wrong password look the same"
    );

    let ok = app
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"username": username.to_uppercase(), "password": PASSWORD})),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{ok:?}");
    assert_eq!(ok.body["token_type"], "Bearer");
    assert_eq!(ok.body["user"]["id"], id);
    assert!(ok.body["user"].get("password_hash").is_none());
    let token = ok.body["token"].as_str().unwrap().to_owned();

    // Stored hashed: the token itself appears nowhere in the database.
    let stored: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT token_hash FROM auth_tokens WHERE user_id = $1")
            .bind(id)
            .fetch_all(&app.owner)
            .await
            .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0], tend_api::auth::token_hash(&token));
    assert!(!stored[0]
        .windows(token.len())
        .any(|w| w == token.as_bytes()));
    let phc: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert!(phc.starts_with("$argon2id$"));

    let me = app.get("/api/auth/me", &token).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["username"], username);

    // Login and the refused attempt are audited.
    let actions: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, outcome FROM audit_events WHERE actor_user_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&app.owner)
    .await
    .unwrap();
    assert_eq!(
        actions,
        vec![
            ("auth.login".into(), "denied".into()),
            ("auth.login".into(), "success".into())
        ]
    );

    let out = app
        .call(Method::POST, "/api/auth/logout", Some(&token), None)
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let after = app.get("/api/auth/me", &token).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(after.code(), "UNAUTHORIZED");
}

#[tokio::test]
async fn expired_garbage_and_inactive_tokens_are_refused() {
    let app = spawn_app().await;
    let org = insert_org(&app.owner, "Org", false).await;
    let facility = insert_facility(&app.owner, org, "F", Some(10)).await;
    let (id, _) = insert_user(&app.owner, org, facility, Role::Rn).await;
    let token = crate::helpers::token_for(&app.owner, id).await;
    assert_eq!(app.get("/api/auth/me", &token).await.status, StatusCode::OK);

    sqlx::query(
        "UPDATE auth_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1",
    )
    .bind(id)
    .execute(&app.owner)
    .await
    .unwrap();
    assert_eq!(
        app.get("/api/auth/me", &token).await.status,
        StatusCode::UNAUTHORIZED
    );

    let token = crate::helpers::token_for(&app.owner, id).await;
    sqlx::query("UPDATE users SET is_active = false WHERE id = $1")
        .bind(id)
        .execute(&app.owner)
        .await
        .unwrap();
    assert_eq!(
        app.get("/api/auth/me", &token).await.status,
        StatusCode::UNAUTHORIZED
    );

    assert_eq!(
        app.get("/api/patients", "garbage").await.status,
        StatusCode::UNAUTHORIZED
    );
    let none = app.call(Method::GET, "/api/patients", None, None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.code(), "UNAUTHORIZED");
}
