//! Record authorship: a record a device pushes is accepted only when its
//! author had a session on that device at the record's time — an online
//! badge login or a password login through the device, or an offline login
//! the device reported. Any other record is refused as `FORGED_AUTHOR`, on
//! its own (the rest of the batch applies), and the attempt is audited.

use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tend_domain::wire::{DEVICE_SCHEMA_VERSION, SYNC_PROTOCOL_VERSION};
use tend_domain::Role;
use uuid::Uuid;

use crate::helpers::{
    badge_in_on_device, device_token_for, insert_device, insert_user, sign_in_on_device, spawn_app,
    token_for, world, Resp, TestApp, PASSWORD,
};

fn note_by(patient: i64, author: i64, recorded_at: DateTime<Utc>) -> Value {
    json!({"id": Uuid::now_v7(), "seq": 1, "payload": {"type": "record", "data": {
        "patient_id": patient, "author_user_id": author, "recorded_at": recorded_at,
        "body": {"kind": "care_note", "text": "Ate all of lunch"}}}})
}

fn offline_login(user: i64, occurred_at: DateTime<Utc>) -> Value {
    json!({"id": Uuid::now_v7(), "seq": 1, "payload": {"type": "audit", "data": {
        "action": "offline_login", "user_id": user, "occurred_at": occurred_at,
        "outcome": "success", "reason": "badge_and_pin"}}})
}

async fn push(app: &TestApp, device: &str, ops: &[Value]) -> Resp {
    let r = app
        .post(
            "/api/sync/push",
            device,
            json!({"protocol_version": SYNC_PROTOCOL_VERSION, "schema_version": DEVICE_SCHEMA_VERSION,
                   "device_time": Utc::now(), "operations": ops}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    r
}

fn id(op: &Value) -> String {
    op["id"].as_str().unwrap().to_owned()
}

fn ids(r: &Resp, list: &str) -> Vec<String> {
    r.body[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// (id, code, fields) of each rejection.
fn rejections(r: &Resp) -> Vec<(String, String, Vec<String>)> {
    r.body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["id"].as_str().unwrap().to_owned(),
                x["code"].as_str().unwrap().to_owned(),
                x["fields"].as_object().unwrap().keys().cloned().collect(),
            )
        })
        .collect()
}

fn forged(op: &Value) -> (String, String, Vec<String>) {
    (
        id(op),
        "FORGED_AUTHOR".into(),
        vec!["author_user_id".into()],
    )
}

/// An audit row: actor user, actor device, resource, outcome, reason.
type AuditRow = (Option<i64>, Option<i64>, Option<i64>, String, String);

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.owner).await.unwrap()
}

/// How the sessions of `user` on `device` began.
async fn session_methods(app: &TestApp, device: i64, user: i64) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT method FROM device_sessions WHERE device_id = $1 AND user_id = $2 ORDER BY id",
    )
    .bind(device)
    .bind(user)
    .fetch_all(&app.owner)
    .await
    .unwrap()
}

#[tokio::test]
async fn records_by_users_signed_in_on_the_device_are_accepted() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (org, facility, patient) = (w.a1.org, w.a1.facility, w.a1.patient);
    let device = device_token_for(&app.owner, w.a1.device).await;
    let admin = w.token(Role::FacilityAdmin).to_owned();

    // Online badge login (badge and PIN) through the device.
    let badged = insert_user(&app.owner, org, facility, Role::Rn).await.0;
    badge_in_on_device(&app, &admin, &device, badged, "04:A1:B2:C3:D4:E5:F6").await;
    // Password login through the device (its token as the bearer).
    let typed = insert_user(&app.owner, org, facility, Role::Lpn).await.0;
    sign_in_on_device(&app, &device, typed).await;
    assert_eq!(session_methods(&app, w.a1.device, badged).await, ["badge"]);
    assert_eq!(
        session_methods(&app, w.a1.device, typed).await,
        ["password"]
    );

    let now = Utc::now();
    let ops = [
        note_by(patient, badged, now),
        note_by(patient, typed, now),
        // Within the clock tolerance of the session's start (five minutes).
        note_by(patient, typed, now - Duration::minutes(2)),
    ];
    let r = push(&app, &device, &ops).await;
    assert_eq!(ids(&r, "accepted"), ops.iter().map(id).collect::<Vec<_>>());
    assert!(rejections(&r).is_empty(), "{r:?}");

    // Offline: a CNA badged in here yesterday (so the device keeps her
    // offline verifier); today the server is unreachable and she logs in
    // offline. Her records travel with the reported login.
    let offline = insert_user(&app.owner, org, facility, Role::Cna).await.0;
    badge_in_on_device(&app, &admin, &device, offline, "04:11:22:33:44:55:66").await;
    sqlx::query(
        "UPDATE device_sessions SET started_at = now() - interval '1 day', \
         ends_at = now() - interval '12 hours' WHERE user_id = $1",
    )
    .bind(offline)
    .execute(&app.owner)
    .await
    .unwrap();
    let login = offline_login(offline, now - Duration::minutes(30));
    let ops = [
        login.clone(),
        note_by(patient, offline, now - Duration::minutes(20)),
    ];
    let r = push(&app, &device, &ops).await;
    assert_eq!(ids(&r, "accepted"), ops.iter().map(id).collect::<Vec<_>>());
    assert_eq!(
        session_methods(&app, w.a1.device, offline).await,
        ["badge", "offline"]
    );
    // The reported session stays: a record of it pushed later is accepted,
    // and the replayed login opens no second session.
    let later = note_by(patient, offline, Utc::now());
    let r = push(&app, &device, &[login.clone(), later.clone()]).await;
    assert_eq!(ids(&r, "accepted"), [id(&later)]);
    assert_eq!(ids(&r, "duplicates"), [id(&login)]);
    assert_eq!(
        session_methods(&app, w.a1.device, offline).await,
        ["badge", "offline"]
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_events WHERE action = 'sync.record_forged'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn records_whose_author_had_no_session_there_then_are_refused_as_forged_and_audited() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (org, facility, patient) = (w.a1.org, w.a1.facility, w.a1.patient);
    let device = device_token_for(&app.owner, w.a1.device).await;
    let other_device_id = insert_device(&app.owner, org, facility).await;
    let other_device = device_token_for(&app.owner, other_device_id).await;

    // On shift on this device: the one whose records are genuine.
    let nurse = insert_user(&app.owner, org, facility, Role::Rn).await.0;
    sign_in_on_device(&app, &device, nurse).await;
    // Never signed in on any device.
    let absent = w.a1.staff;
    // Signed in on the other device of the same facility only.
    let elsewhere = insert_user(&app.owner, org, facility, Role::Rn).await.0;
    sign_in_on_device(&app, &other_device, elsewhere).await;
    // Signed in here, but the session ended an hour ago.
    let gone = insert_user(&app.owner, org, facility, Role::Lpn).await.0;
    sign_in_on_device(&app, &device, gone).await;
    sqlx::query(
        "UPDATE device_sessions SET started_at = now() - interval '13 hours', \
         ends_at = now() - interval '1 hour' WHERE user_id = $1",
    )
    .bind(gone)
    .execute(&app.owner)
    .await
    .unwrap();
    // An offline login reported for someone whose badge this device never
    // verified online (it could hold no offline verifier for them).
    let unverified = insert_user(&app.owner, org, facility, Role::Cna).await.0;

    let now = Utc::now();
    let genuine = note_by(patient, nurse, now);
    let by_absent = note_by(patient, absent, now);
    let by_elsewhere = note_by(patient, elsewhere, now);
    // Two hours before the nurse signed in (far beyond the tolerance).
    let before_session = note_by(patient, nurse, now - Duration::hours(2));
    let after_session = note_by(patient, gone, now);
    let claimed_login = offline_login(unverified, now - Duration::minutes(1));
    let by_unverified = note_by(patient, unverified, now);
    let ops = [
        genuine.clone(),
        by_absent.clone(),
        by_elsewhere.clone(),
        before_session.clone(),
        after_session.clone(),
        claimed_login.clone(),
        by_unverified.clone(),
    ];
    let r = push(&app, &device, &ops).await;
    // Refused one by one; the rest of the batch applies (the claimed
    // offline login is kept as an audit event, but opens no session).
    assert_eq!(ids(&r, "accepted"), [id(&genuine), id(&claimed_login)]);
    let refused = [
        &by_absent,
        &by_elsewhere,
        &before_session,
        &after_session,
        &by_unverified,
    ];
    assert_eq!(
        rejections(&r),
        refused.iter().map(|op| forged(op)).collect::<Vec<_>>()
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM clinical_records").await,
        1
    );
    assert!(session_methods(&app, w.a1.device, unverified)
        .await
        .is_empty());

    // Each refusal is audited: denied, against the user it claims, through
    // this device; the reason names the operation, never the record's text.
    let audited: Vec<AuditRow> = sqlx::query_as(
        "SELECT actor_user_id, actor_device_id, resource_id, outcome, reason FROM audit_events \
         WHERE action = 'sync.record_forged' AND resource_type = 'user' ORDER BY id",
    )
    .fetch_all(&app.owner)
    .await
    .unwrap();
    let claimed: Vec<i64> = vec![absent, elsewhere, nurse, gone, unverified];
    assert_eq!(
        audited.iter().map(|a| a.2.unwrap()).collect::<Vec<_>>(),
        claimed
    );
    for ((actor, device_id, _, outcome, reason), op) in audited.iter().zip(refused) {
        assert_eq!(
            (*actor, *device_id, outcome.as_str()),
            (None, Some(w.a1.device), "denied")
        );
        assert!(reason.contains(&id(op)), "{reason}");
        assert!(!reason.contains("lunch"), "{reason}");
    }

    // The device resends the batch (the answer was lost): what was applied
    // is a duplicate, the forgeries are refused again, nothing is stored twice.
    let again = push(&app, &device, &ops).await;
    assert!(ids(&again, "accepted").is_empty(), "{again:?}");
    assert_eq!(
        ids(&again, "duplicates"),
        [id(&genuine), id(&claimed_login)]
    );
    assert_eq!(
        rejections(&again),
        refused.iter().map(|op| forged(op)).collect::<Vec<_>>()
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM clinical_records").await,
        1
    );

    // The other device's own user is accepted there, not here.
    let r = push(&app, &other_device, &[note_by(patient, elsewhere, now)]).await;
    assert_eq!(ids(&r, "accepted").len(), 1, "{r:?}");
}

#[tokio::test]
async fn a_password_login_binds_to_the_device_only_when_the_device_may_serve_the_user() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let device = device_token_for(&app.owner, w.a1.device).await;
    let login = |bearer: Option<String>, username: String| {
        let app = &app;
        async move {
            app.call(
                Method::POST,
                "/api/auth/login",
                bearer.as_deref(),
                Some(json!({"username": username, "password": PASSWORD})),
            )
            .await
        }
    };
    let username = |user: i64| {
        let app = &app;
        async move {
            sqlx::query_scalar::<_, String>("SELECT username FROM users WHERE id = $1")
                .bind(user)
                .fetch_one(&app.owner)
                .await
                .unwrap()
        }
    };

    // A device token that is not valid is refused like anywhere else.
    let r = login(Some("tdev_not_a_token".into()), username(w.a1.staff).await).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
    assert_eq!(r.code(), "UNAUTHORIZED");
    // A user's own bearer is not a device: the login works, binds nothing.
    let own = token_for(&app.owner, w.a1.staff).await;
    let r = login(Some(own), username(w.a1.staff).await).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    // A nurse of another facility signs in on this device: her login
    // works (it is hers), but it is no session on this device.
    let a2_nurse = insert_user(&app.owner, w.a1.org, w.a2.facility, Role::Rn)
        .await
        .0;
    let r = login(Some(device.clone()), username(a2_nurse).await).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(count(&app, "SELECT count(*) FROM device_sessions").await, 0);
    let r = push(
        &app,
        &device,
        &[note_by(w.a1.patient, a2_nurse, Utc::now())],
    )
    .await;
    assert_eq!(r.body["rejected"][0]["code"], "NOT_FOUND", "{r:?}");
    // The facility's own staff member: a session, and the login's audit
    // row names the device.
    let r = login(Some(device.clone()), username(w.a1.staff).await).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        session_methods(&app, w.a1.device, w.a1.staff).await,
        ["password"]
    );
    let audited = count(
        &app,
        &format!(
            "SELECT count(*) FROM audit_events WHERE action = 'auth.login' AND outcome = 'success' \
             AND actor_user_id = {} AND actor_device_id = {}",
            w.a1.staff, w.a1.device
        ),
    )
    .await;
    assert_eq!(audited, 1);
}
