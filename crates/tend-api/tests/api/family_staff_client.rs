//! The family portal's staff side through tend-core (`tend_core::family_staff`,
//! as the nurse workspace calls it) against the real API, with the kiosk's
//! side through the API: a code issued, one update shared and exactly that
//! reaching the family, a family message answered and the answer on the
//! kiosk, a revoked code opening nothing.

use reqwest::StatusCode;
use serde_json::json;
use tend_core::api_call::BearerApi;
use tend_core::client::DeviceClient;
use tend_core::family_staff::{self, code_request, update_request};
use tend_domain::wire::FamilyUpdateKind;
use tend_domain::{ErrorCode, Role};

use crate::helpers::{device_token_for, spawn_app, world};

#[tokio::test]
async fn staff_issue_a_code_share_an_update_and_answer_a_message() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let nurse = BearerApi::new(
        DeviceClient::new(reqwest::Client::new(), &app.base),
        w.token(Role::Rn).to_owned(),
    );
    let patient = w.a1.patient;

    let issued = family_staff::issue_code(
        &nurse,
        patient,
        &code_request("Ana Hernández", "daughter", 14).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        issued.code.len(),
        9,
        "8 digits grouped 4-4: {}",
        issued.code
    );
    assert!(issued.code.ends_with(&issued.summary.code_hint));

    // The family checks in on a kiosk of the facility: nothing shared yet.
    let kiosk = device_token_for(&app.owner, w.a1.device).await;
    let session = app
        .post(
            "/api/family/check-in",
            &kiosk,
            json!({"visitor_code": issued.code}),
        )
        .await;
    assert_eq!(session.status, StatusCode::OK, "{session:?}");
    let family = session.body["token"].as_str().unwrap().to_owned();
    let day = app.get("/api/family/summary", &family).await;
    assert_eq!(
        day.body["activities"].as_array().unwrap().len(),
        0,
        "{day:?}"
    );
    assert_eq!(day.body["messages"].as_array().unwrap().len(), 0);

    // One update shared: the kiosk shows exactly it.
    let shared = family_staff::share(
        &nurse,
        patient,
        &update_request(
            FamilyUpdateKind::Activity,
            "Painted a birdhouse in the craft room",
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let day = app.get("/api/family/summary", &family).await;
    let activities = day.body["activities"].as_array().unwrap();
    assert_eq!(activities.len(), 1, "{day:?}");
    assert_eq!(
        activities[0]["body"],
        "Painted a birdhouse in the craft room"
    );
    assert_eq!(activities[0]["id"], shared.id);
    assert_eq!(day.body["day_summary"], serde_json::Value::Null);

    // The family writes; the nurse reads it and answers.
    let sent = app
        .post(
            "/api/family/messages",
            &family,
            json!({"body": "Does she need warmer socks?"}),
        )
        .await;
    assert!(sent.status.is_success(), "{sent:?}");
    let corner = family_staff::corner(&nurse, patient).await.unwrap();
    assert_eq!(corner.messages.len(), 1);
    assert_eq!(corner.messages[0].body, "Does she need warmer socks?");
    assert_eq!(corner.messages[0].visitor_name, "Ana Hernández");
    assert_eq!(corner.shared.len(), 1);
    // Newest first; the code itself is never listed, only its last digits.
    assert_eq!(corner.codes[0].id, issued.summary.id);
    assert_eq!(corner.codes[0].code_hint, issued.summary.code_hint);
    family_staff::share(
        &nurse,
        patient,
        &update_request(FamilyUpdateKind::Message, "Yes please, size M. Thank you!").unwrap(),
    )
    .await
    .unwrap();
    let day = app.get("/api/family/summary", &family).await;
    let messages = day.body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{day:?}");
    assert_eq!(messages[0]["body"], "Yes please, size M. Thank you!");

    // Everything staff did is on the record.
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE actor_user_id = $1 AND action IN \
         ('visitor_code.create', 'family_update.create')",
    )
    .bind(w.user(Role::Rn))
    .fetch_one(&app.owner)
    .await
    .unwrap();
    assert_eq!(audited, 3, "one code and two updates");

    // Revoked: the code opens nothing any more.
    let revoked = family_staff::revoke_code(&nurse, patient, issued.summary.id)
        .await
        .unwrap();
    assert!(revoked.revoked_at.is_some());
    let again = app
        .post(
            "/api/family/check-in",
            &kiosk,
            json!({"visitor_code": issued.code}),
        )
        .await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "{again:?}");

    // Another organization's resident is not there.
    let err = family_staff::corner(&nurse, w.b1.patient)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
}
