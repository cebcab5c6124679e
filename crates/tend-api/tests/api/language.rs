//! Each person's own language (issue 18.7): an administrator sets it with the
//! account, anyone sets their own, only `en`/`es` (or none) are stored, and
//! devices receive it with the facility's staff.

use reqwest::StatusCode;
use serde_json::json;
use tend_domain::wire::{DEVICE_SCHEMA_VERSION, SYNC_PROTOCOL_VERSION};
use tend_domain::Role;

use crate::helpers::{device_token_for, spawn_app, unique, world, PASSWORD};

#[tokio::test]
async fn an_administrator_sets_a_language_with_the_account_and_changes_or_clears_it() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let admin = w.token(Role::FacilityAdmin);
    let r = app
        .post(
            "/api/users",
            admin,
            json!({"facility_id": w.a1.facility, "employee_id": unique("E"),
                   "username": unique("lang"), "full_name": "Rosa Díaz", "role": "CNA",
                   "password": PASSWORD, "preferred_language": "es"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["preferred_language"], "es");
    let id = r.body["id"].as_i64().unwrap();
    let read = app.get(&format!("/api/users/{id}"), admin).await;
    assert_eq!(read.body["preferred_language"], "es", "{read:?}");

    // Absent: unchanged.
    let r = app
        .put(
            &format!("/api/users/{id}"),
            admin,
            json!({"full_name": "Rosa M. Díaz"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["preferred_language"], "es");
    let r = app
        .put(
            &format!("/api/users/{id}"),
            admin,
            json!({"preferred_language": "en"}),
        )
        .await;
    assert_eq!(r.body["preferred_language"], "en", "{r:?}");
    // Null: no preference.
    let r = app
        .put(
            &format!("/api/users/{id}"),
            admin,
            json!({"preferred_language": null}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert!(r.body["preferred_language"].is_null(), "{r:?}");
    // A user created without one has none.
    let r = app.get(&format!("/api/users/{}", w.a1.staff), admin).await;
    assert!(r.body["preferred_language"].is_null(), "{r:?}");
}

#[tokio::test]
async fn an_unknown_language_is_refused_on_its_field_and_nothing_is_written() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let admin = w.token(Role::FacilityAdmin);
    let username = unique("fr");
    let r = app
        .post(
            "/api/users",
            admin,
            json!({"facility_id": w.a1.facility, "employee_id": unique("E"),
                   "username": username, "full_name": "Jean Dupont", "role": "CNA",
                   "password": PASSWORD, "preferred_language": "fr"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(
        r.body["error"]["fields"]["preferred_language"].is_array(),
        "{r:?}"
    );
    let created: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE username = $1")
        .bind(&username)
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert_eq!(created, 0);

    let staff = w.a1.staff;
    let r = app
        .put(
            &format!("/api/users/{staff}"),
            admin,
            json!({"preferred_language": "fr"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(
        r.body["error"]["fields"]["preferred_language"].is_array(),
        "{r:?}"
    );
    let cna = w.token(Role::Cna);
    let r = app
        .put("/api/users/me/language", cna, json!({"language": "fr"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(r.body["error"]["fields"]["language"].is_array(), "{r:?}");
    let stored: Option<String> =
        sqlx::query_scalar("SELECT preferred_language FROM users WHERE id = $1")
            .bind(w.user(Role::Cna))
            .fetch_one(&app.owner)
            .await
            .unwrap();
    assert_eq!(stored, None);
    // The database refuses one that slipped past the API.
    let r = sqlx::query("UPDATE users SET preferred_language = 'fr' WHERE id = $1")
        .bind(staff)
        .execute(&app.owner)
        .await;
    assert!(r.is_err(), "the CHECK constraint keeps 'fr' out");
}

#[tokio::test]
async fn a_cna_sets_their_own_language_but_not_anyone_elses() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let cna = w.token(Role::Cna);
    let me = w.user(Role::Cna);
    let r = app
        .put("/api/users/me/language", cna, json!({"language": "es"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["id"], me);
    assert_eq!(r.body["preferred_language"], "es");
    let r = app.get("/api/auth/me", cna).await;
    assert_eq!(r.body["preferred_language"], "es", "{r:?}");
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE actor_user_id = $1 AND action = 'user.language'",
    )
    .bind(me)
    .fetch_one(&app.owner)
    .await
    .unwrap();
    assert_eq!(audited, 1);

    // Someone else's: the admin route, which a CNA may not use.
    let other = w.a1.staff;
    let r = app
        .put(
            &format!("/api/users/{other}"),
            cna,
            json!({"preferred_language": "es"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
    // The self-service body names no user.
    let r = app
        .put(
            "/api/users/me/language",
            cna,
            json!({"language": "es", "user_id": other}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    let stored: Option<String> =
        sqlx::query_scalar("SELECT preferred_language FROM users WHERE id = $1")
            .bind(other)
            .fetch_one(&app.owner)
            .await
            .unwrap();
    assert_eq!(stored, None);

    // Null drops the preference; without a token nothing happens.
    let r = app
        .put("/api/users/me/language", cna, json!({"language": null}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert!(r.body["preferred_language"].is_null());
    let r = app
        .call(
            reqwest::Method::PUT,
            "/api/users/me/language",
            None,
            Some(json!({"language": "es"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
}

#[tokio::test]
async fn devices_receive_each_staff_members_language_and_its_changes() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let device = device_token_for(&app.owner, w.a1.device).await;
    let pull = |cursor: Option<String>| {
        let mut path = format!(
            "/api/sync/pull?protocol_version={SYNC_PROTOCOL_VERSION}&schema_version={DEVICE_SCHEMA_VERSION}"
        );
        if let Some(c) = cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        path
    };
    let cna = w.user(Role::Cna);
    let staff_language = |body: &serde_json::Value| {
        body["changes"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|c| c["type"] == "staff" && c["data"]["id"] == cna)
            .map(|c| c["data"]["preferred_language"].clone())
    };
    let r = app.get(&pull(None), &device).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(staff_language(&r.body), Some(serde_json::Value::Null));
    let cursor = r.body["cursor"].as_str().unwrap().to_owned();

    let r = app
        .put(
            "/api/users/me/language",
            w.token(Role::Cna),
            json!({"language": "es"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let r = app.get(&pull(Some(cursor)), &device).await;
    assert_eq!(staff_language(&r.body), Some(json!("es")), "{r:?}");
}
