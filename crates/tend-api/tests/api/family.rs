//! The family portal: staff issue visitor codes and publish updates for
//! family; a family member checks in on a kiosk of the facility and reads
//! only what was shared, and leaves messages for the care team.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tend_domain::Role;

use crate::helpers::{
    device_token_for, insert_device, insert_patient, set_feature, spawn_app, spawn_app_with, world,
    Site, TestApp,
};

/// Issues a visitor code for `site.patient` as `staff_token`; returns (id, code).
pub async fn issue_code(app: &TestApp, site: &Site, staff_token: &str) -> (i64, String) {
    let resp = app
        .post(
            &format!("/api/patients/{}/visitor-codes", site.patient),
            staff_token,
            json!({"visitor_name": "Ana Hernández", "relationship": "daughter", "expires_in_days": 14}),
        )
        .await;
    assert_eq!(resp.status, StatusCode::CREATED, "{resp:?}");
    let code = resp.body["code"].as_str().unwrap().to_owned();
    (resp.body["visitor_code"]["id"].as_i64().unwrap(), code)
}

async fn check_in(app: &TestApp, device_token: &str, code: &str) -> crate::helpers::Resp {
    app.post(
        "/api/family/check-in",
        device_token,
        json!({"visitor_code": code}),
    )
    .await
}

/// A family session for `site.patient`, through `site.device`.
pub async fn check_in_as_family(app: &TestApp, site: &Site, staff_token: &str) -> String {
    let (_, code) = issue_code(app, site, staff_token).await;
    let device = device_token_for(&app.owner, site.device).await;
    let resp = check_in(app, &device, &code).await;
    assert_eq!(resp.status, StatusCode::OK, "{resp:?}");
    resp.body["token"].as_str().unwrap().to_owned()
}

async fn publish(app: &TestApp, site: &Site, token: &str, kind: &str, body: &str) -> Value {
    let resp = app
        .post(
            &format!("/api/patients/{}/family-updates", site.patient),
            token,
            json!({"kind": kind, "body": body}),
        )
        .await;
    assert_eq!(resp.status, StatusCode::CREATED, "{resp:?}");
    resp.body
}

async fn denied_check_ins(app: &TestApp, device: i64, reason: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE action = 'family.check_in' AND outcome = 'denied' \
         AND actor_device_id = $1 AND reason = $2",
    )
    .bind(device)
    .bind(reason)
    .fetch_one(&app.owner)
    .await
    .unwrap()
}

#[tokio::test]
async fn family_see_only_what_staff_shared() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let rn = w.token(Role::Rn);
    let site = w.a1;
    // A clinical-looking patient field, and the demographics family must not see.
    let patient = app
        .put(
            &format!("/api/patients/{}", site.patient),
            rn,
            json!({"first_name": "Margaret", "last_name": "Hughes", "mrn": "MRN-SECRET-77", "room": "12B"}),
        )
        .await;
    assert_eq!(patient.status, StatusCode::OK, "{patient:?}");
    publish(
        &app,
        &site,
        rn,
        "day_summary",
        "Margaret had a calm morning and enjoyed lunch.",
    )
    .await;
    publish(&app, &site, rn, "activity", "Joined the music circle.").await;
    publish(
        &app,
        &site,
        rn,
        "message",
        "She asked about the grandchildren!",
    )
    .await;
    // Another resident's update must not leak either.
    let other = Site {
        patient: insert_patient(&app.owner, site.org, site.facility, "active").await,
        ..site
    };
    publish(&app, &other, rn, "activity", "OTHER RESIDENT ACTIVITY").await;

    let (code_id, code) = issue_code(&app, &site, rn).await;
    assert!(
        regex_like_code(&code),
        "a code is two groups of four digits: {code}"
    );
    let device = device_token_for(&app.owner, site.device).await;
    let session = check_in(&app, &device, &code).await;
    assert_eq!(session.status, StatusCode::OK, "{session:?}");
    assert_eq!(session.body["resident"]["display_name"], "Margaret H.");
    assert_eq!(session.body["resident"]["room"], "12B");
    assert_eq!(session.body["visitor_name"], "Ana Hernández");
    let token = session.body["token"].as_str().unwrap();
    assert!(token.starts_with("tfam_"));

    let summary = app.get("/api/family/summary", token).await;
    assert_eq!(summary.status, StatusCode::OK, "{summary:?}");
    assert_eq!(
        summary.body["day_summary"]["body"],
        "Margaret had a calm morning and enjoyed lunch."
    );
    assert_eq!(
        summary.body["activities"][0]["body"],
        "Joined the music circle."
    );
    assert_eq!(summary.body["activities"].as_array().unwrap().len(), 1);
    assert_eq!(
        summary.body["messages"][0]["body"],
        "She asked about the grandchildren!"
    );
    let text = summary.body.to_string();
    for secret in [
        "MRN-SECRET-77",
        "Hughes",
        "1940-02-03",
        "date_of_birth",
        "mrn",
        "OTHER RESIDENT",
        "facility_id",
        "organization_id",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    // The check-in and the read are on the record, with the code and device.
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE actor_device_id = $1 AND outcome = 'success' \
         AND ((action = 'family.check_in' AND resource_id = $2) OR (action = 'family.summary.read' AND resource_id = $3))",
    )
    .bind(site.device)
    .bind(code_id)
    .bind(site.patient)
    .fetch_one(&app.owner)
    .await
    .unwrap();
    assert_eq!(audited, 2);
    // The code is never stored or shown again.
    let listed = app
        .get(&format!("/api/patients/{}/visitor-codes", site.patient), rn)
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    assert!(!listed.body.to_string().contains(&digits));
    assert!(!listed.body.to_string().contains(&code));
    assert_eq!(listed.body["items"][0]["code_hint"], &digits[6..]);
    assert!(listed.body["items"][0]["last_used_at"].is_string());
}

fn regex_like_code(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 9 && b[4] == b' ' && b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit)
}

#[tokio::test]
async fn wrong_expired_and_revoked_codes_are_refused_and_audited() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let rn = w.token(Role::Rn);
    let site = w.a1;
    let device = device_token_for(&app.owner, site.device).await;

    // Typed on a keypad: separators do not matter; the wrong digits do.
    let (code_id, code) = issue_code(&app, &site, rn).await;
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    let wrong = format!("{}{}", &digits[..7], (digits.as_bytes()[7] - b'0' + 1) % 10);
    let resp = check_in(&app, &device, &wrong).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{resp:?}");
    assert_eq!(resp.code(), "VISITOR_CODE_INVALID");
    assert!(resp.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("check it with the staff"));
    assert_eq!(
        denied_check_ins(&app, site.device, "unknown visitor code").await,
        1
    );
    let resp = check_in(&app, &device, "12 34").await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.body["error"]["fields"]["visitor_code"].is_array());

    let with_dash = format!("{}-{}", &digits[..4], &digits[4..]);
    let ok = check_in(&app, &device, &with_dash).await;
    assert_eq!(ok.status, StatusCode::OK, "{ok:?}");
    let token = ok.body["token"].as_str().unwrap().to_owned();

    // Revoking the code ends its sessions and refuses new check-ins.
    let revoked = app
        .call(
            Method::POST,
            &format!(
                "/api/patients/{}/visitor-codes/{code_id}/revoke",
                site.patient
            ),
            Some(rn),
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{revoked:?}");
    assert!(revoked.body["revoked_at"].is_string());
    let after = app.get("/api/family/summary", &token).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED, "{after:?}");
    let resp = check_in(&app, &device, &code).await;
    assert_eq!(resp.code(), "VISITOR_CODE_INVALID");
    assert_eq!(
        denied_check_ins(&app, site.device, "revoked visitor code").await,
        1
    );

    // An expired code is refused the same way.
    let (expired_id, expired) = issue_code(&app, &site, rn).await;
    sqlx::query("UPDATE visitor_codes SET expires_at = now() - interval '1 minute' WHERE id = $1")
        .bind(expired_id)
        .execute(&app.owner)
        .await
        .unwrap();
    let resp = check_in(&app, &device, &expired).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_eq!(resp.code(), "VISITOR_CODE_INVALID");
    assert_eq!(
        denied_check_ins(&app, site.device, "expired visitor code").await,
        1
    );

    // A code of another resident cannot be revoked through this one.
    let other = app
        .call(
            Method::POST,
            &format!(
                "/api/patients/{}/visitor-codes/{}/revoke",
                site.patient,
                w.a1.visitor_code + 1_000_000
            ),
            Some(rn),
            None,
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sessions_end_when_they_expire_or_the_kiosk_ends_them() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let rn = w.token(Role::Rn);
    let token = check_in_as_family(&app, &w.a1, rn).await;
    let session_expiry: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT max(expires_at) FROM family_sessions")
            .fetch_one(&app.owner)
            .await
            .unwrap();
    let minutes = (session_expiry - chrono::Utc::now()).num_minutes();
    assert!(
        (14..=15).contains(&minutes),
        "a session lives 15 minutes, not {minutes}"
    );
    let end = app
        .call(Method::POST, "/api/family/end", Some(&token), None)
        .await;
    assert_eq!(end.status, StatusCode::NO_CONTENT, "{end:?}");
    assert_eq!(
        app.get("/api/family/summary", &token).await.status,
        StatusCode::UNAUTHORIZED
    );

    let token = check_in_as_family(&app, &w.a1, rn).await;
    sqlx::query("UPDATE family_sessions SET expires_at = now() - interval '1 second'")
        .execute(&app.owner)
        .await
        .unwrap();
    let expired = app.get("/api/family/summary", &token).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert_eq!(expired.code(), "UNAUTHORIZED");
}

#[tokio::test]
async fn the_family_portal_must_be_on_for_the_facility() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let rn = w.token(Role::Rn);
    let site = w.a1;
    let token = check_in_as_family(&app, &site, rn).await;
    let device = device_token_for(&app.owner, site.device).await;
    let (_, code) = issue_code(&app, &site, rn).await;
    set_feature(&app.owner, site.facility, "family_portal", false).await;

    for (method, path, body) in [
        (
            Method::POST,
            format!("/api/patients/{}/visitor-codes", site.patient),
            Some(json!({"visitor_name": "Ana"})),
        ),
        (
            Method::GET,
            format!("/api/patients/{}/visitor-codes", site.patient),
            None,
        ),
        (
            Method::POST,
            format!("/api/patients/{}/family-updates", site.patient),
            Some(json!({"kind": "activity", "body": "Bingo"})),
        ),
        (
            Method::GET,
            format!("/api/patients/{}/family-messages", site.patient),
            None,
        ),
    ] {
        let resp = app.call(method, &path, Some(rn), body).await;
        assert_eq!(resp.status, StatusCode::FORBIDDEN, "{path}: {resp:?}");
        assert_eq!(resp.code(), "FORBIDDEN");
        assert!(
            resp.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("family portal is not turned on"),
            "{resp:?}"
        );
    }
    let resp = check_in(&app, &device, &code).await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN, "{resp:?}");
    assert!(resp.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("family portal"));
    // A session opened before the feature went off is over too.
    assert_eq!(
        app.get("/api/family/summary", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
    let refusals: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE outcome = 'denied' AND reason = 'family portal is off at this facility'",
    )
    .fetch_one(&app.owner)
    .await
    .unwrap();
    assert_eq!(refusals, 5);
}

#[tokio::test]
async fn a_code_works_only_on_devices_of_its_own_facility() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (_, code) = issue_code(&app, &w.a1, w.token(Role::Rn)).await;
    // Same organization, other facility; and another organization.
    for site in [w.a2, w.b1] {
        let device = device_token_for(&app.owner, site.device).await;
        let resp = check_in(&app, &device, &code).await;
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{resp:?}");
        assert_eq!(resp.code(), "VISITOR_CODE_INVALID");
    }
    // Not without a device token, nor with a user token.
    let resp = app
        .call(
            Method::POST,
            "/api/family/check-in",
            None,
            Some(json!({"visitor_code": code})),
        )
        .await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    let resp = check_in(&app, w.token(Role::FacilityAdmin), &code).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    // A deactivated device of the right facility is refused too.
    let device = device_token_for(&app.owner, w.a1.device).await;
    sqlx::query("UPDATE devices SET status = 'DEACTIVATED', is_active = false WHERE id = $1")
        .bind(w.a1.device)
        .execute(&app.owner)
        .await
        .unwrap();
    let resp = check_in(&app, &device, &code).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_eq!(resp.code(), "DEVICE_DEACTIVATED");
}

#[tokio::test]
async fn wrong_codes_are_limited_per_device() {
    let app = spawn_app_with(tend_api::identity::IdentityConfig {
        family_wrong_codes_per_device: tend_api::identity::limits::Rate {
            burst: 3.0,
            per_second: 0.0001,
        },
        ..Default::default()
    })
    .await;
    let w = world(&app).await;
    let (_, code) = issue_code(&app, &w.a1, w.token(Role::Rn)).await;
    let device = device_token_for(&app.owner, w.a1.device).await;
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    let wrong = if digits == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    // A right code does not use up the allowance.
    assert_eq!(check_in(&app, &device, &code).await.status, StatusCode::OK);
    for _ in 0..3 {
        assert_eq!(
            check_in(&app, &device, wrong).await.code(),
            "VISITOR_CODE_INVALID"
        );
    }
    let limited = check_in(&app, &device, &code).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS, "{limited:?}");
    assert_eq!(limited.code(), "RATE_LIMITED");
    // Another kiosk of the facility is not affected.
    let other_device = insert_device(&app.owner, w.a1.org, w.a1.facility).await;
    let other = device_token_for(&app.owner, other_device).await;
    assert_eq!(check_in(&app, &other, &code).await.status, StatusCode::OK);
}

#[tokio::test]
async fn concurrent_wrong_codes_are_not_all_tried() {
    let app = spawn_app_with(tend_api::identity::IdentityConfig {
        family_wrong_codes_per_device: tend_api::identity::limits::Rate {
            burst: 3.0,
            per_second: 0.0001,
        },
        ..Default::default()
    })
    .await;
    let w = world(&app).await;
    let (_, code) = issue_code(&app, &w.a1, w.token(Role::Rn)).await;
    let device = device_token_for(&app.owner, w.a1.device).await;
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    let wrong = if digits == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    let mut guesses = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let client = app.client.clone();
        let url = format!("{}/api/family/check-in", app.base);
        let device = device.clone();
        guesses.spawn(async move {
            client
                .post(url)
                .bearer_auth(device)
                .json(&json!({"visitor_code": wrong}))
                .send()
                .await
                .unwrap()
                .status()
        });
    }
    let statuses = guesses.join_all().await;
    let tried = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((tried, limited), (3, 9), "{statuses:?}");
    let refusals: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE action = 'family.check_in' AND outcome = 'denied'",
    )
    .fetch_one(&app.owner)
    .await
    .unwrap();
    assert_eq!(refusals, 3, "only three codes were looked up");
}

#[tokio::test]
async fn messages_go_both_ways() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let cna = w.token(Role::Cna);
    let token = check_in_as_family(&app, &w.a1, cna).await;
    publish(
        &app,
        &w.a1,
        cna,
        "message",
        "Your mother won at bingo today.",
    )
    .await;
    let summary = app.get("/api/family/summary", &token).await;
    assert_eq!(
        summary.body["messages"][0]["body"],
        "Your mother won at bingo today."
    );

    let sent = app
        .post(
            "/api/family/messages",
            &token,
            json!({"body": "Please tell her I will visit on Sunday."}),
        )
        .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{sent:?}");
    for (body, field) in [
        (json!({"body": "  "}), "body"),
        (json!({"body": "x".repeat(2001)}), "body"),
        (json!({"text": "hi"}), "text"),
    ] {
        let resp = app.post("/api/family/messages", &token, body).await;
        assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY, "{resp:?}");
        assert!(resp.body["error"]["fields"][field].is_array(), "{resp:?}");
    }
    let inbox = app
        .get(
            &format!("/api/patients/{}/family-messages", w.a1.patient),
            cna,
        )
        .await;
    assert_eq!(inbox.status, StatusCode::OK, "{inbox:?}");
    let items = inbox.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["body"], "Please tell her I will visit on Sunday.");
    assert_eq!(items[0]["visitor_name"], "Ana Hernández");
    assert_eq!(items[0]["relationship"], "daughter");
    // Another facility's staff cannot read them.
    let foreign = app
        .get(
            &format!("/api/patients/{}/family-messages", w.a1.patient),
            &crate::helpers::token_for(
                &app.owner,
                crate::helpers::insert_user(&app.owner, w.a2.org, w.a2.facility, Role::Rn)
                    .await
                    .0,
            )
            .await,
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn staff_input_is_validated() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let rn = w.token(Role::Rn);
    let codes = format!("/api/patients/{}/visitor-codes", w.a1.patient);
    let updates = format!("/api/patients/{}/family-updates", w.a1.patient);
    for (path, body, field) in [
        (&codes, json!({"visitor_name": ""}), "visitor_name"),
        (
            &codes,
            json!({"visitor_name": "Ana", "expires_in_days": 0}),
            "expires_in_days",
        ),
        (
            &codes,
            json!({"visitor_name": "Ana", "expires_in_days": 91}),
            "expires_in_days",
        ),
        (
            &codes,
            json!({"visitor_name": "Ana", "relationship": "x".repeat(61)}),
            "relationship",
        ),
        (
            &updates,
            json!({"kind": "vital_signs", "body": "BP 120/80"}),
            "kind",
        ),
        (&updates, json!({"kind": "activity", "body": ""}), "body"),
        (
            &updates,
            json!({"kind": "activity", "body": "x".repeat(2001)}),
            "body",
        ),
    ] {
        let resp = app.post(path, rn, body.clone()).await;
        assert_eq!(
            resp.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {resp:?}"
        );
        assert!(
            resp.body["error"]["fields"][field].is_array(),
            "{body}: {resp:?}"
        );
    }
    let ninety = app
        .post(
            &codes,
            rn,
            json!({"visitor_name": "Ana", "expires_in_days": 90}),
        )
        .await;
    assert_eq!(ninety.status, StatusCode::CREATED);
    let listed = app.get(&updates, rn).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 0);
}
