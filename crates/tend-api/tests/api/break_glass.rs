//! Break-glass access (issue 19.4): a clinician opens a resident of another
//! facility of the organization with a stated reason, reads them while the
//! grant lasts, is refused after it; everything is audited, and the
//! administrators of both facilities review it.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Connection;
use tend_domain::Role;

use crate::helpers::{insert_facility, insert_user, spawn_app, token_for, TestApp, World};

const REASON: &str = "Resident found on our floor after a fall; no chart here";

async fn mrn(app: &TestApp, patient: i64) -> String {
    sqlx::query_scalar("SELECT mrn FROM patients WHERE id = $1")
        .bind(patient)
        .fetch_one(&app.owner)
        .await
        .unwrap()
}

/// A user of `role` homed in `facility` of organization A, with a token.
async fn staff(app: &TestApp, w: &World, facility: i64, role: Role) -> (i64, String) {
    let (id, _) = insert_user(&app.owner, w.a1.org, facility, role).await;
    (id, token_for(&app.owner, id).await)
}

async fn open(
    app: &TestApp,
    token: &str,
    facility: i64,
    mrn: &str,
    reason: &str,
) -> crate::helpers::Resp {
    app.post(
        "/api/break-glass",
        token,
        json!({"facility_id": facility, "mrn": mrn, "reason": reason}),
    )
    .await
}

/// Ends every grant of `patient` a minute ago, as time passing would.
async fn expire(app: &TestApp, patient: i64) {
    sqlx::query(
        "UPDATE break_glass_grants SET granted_at = now() - interval '2 hours', \
         expires_at = now() - interval '1 minute' WHERE patient_id = $1",
    )
    .bind(patient)
    .execute(&app.owner)
    .await
    .unwrap();
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

async fn grants(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM break_glass_grants")
        .fetch_one(&app.owner)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_grant_with_a_reason_opens_the_resident_until_it_ends() {
    let app = spawn_app().await;
    let w = crate::helpers::world(&app).await;
    let nurse = w.token(Role::Rn);
    let resident = w.a2.patient;
    let patient_path = format!("/api/patients/{resident}");
    let records_path = format!("/api/patients/{resident}/records");

    // Without a grant the resident of A2 does not exist for a nurse of A1.
    assert_eq!(
        app.get(&patient_path, nurse).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&records_path, nurse).await.status,
        StatusCode::NOT_FOUND
    );

    let granted = open(
        &app,
        nurse,
        w.a2.facility,
        &mrn(&app, resident).await,
        REASON,
    )
    .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{granted:?}");
    let g = &granted.body;
    assert_eq!(g["patient"]["id"], resident);
    assert_eq!(g["patient_id"], resident);
    assert_eq!(g["facility_id"], w.a2.facility);
    assert_eq!(g["user_facility_id"], w.a1.facility);
    assert_eq!(g["reason"], REASON);
    assert_eq!(g["active"], true);
    assert!(g["reviewed_at"].is_null());
    let window = time(&g["expires_at"]) - time(&g["granted_at"]);
    assert_eq!(window.num_minutes(), 60, "the default window");

    // Readable during the window, each read audited with the reason.
    let read = app.get(&patient_path, nurse).await;
    assert_eq!(read.status, StatusCode::OK, "{read:?}");
    assert_eq!(read.body["id"], resident);
    let records = app.get(&records_path, nurse).await;
    assert_eq!(records.status, StatusCode::OK, "{records:?}");
    let audited: Vec<(String, bool, Option<String>, Option<i64>)> = sqlx::query_as(
        "SELECT action, cross_facility, reason, facility_id FROM audit_events \
         WHERE actor_user_id = $1 AND resource_id = $2 AND resource_type = 'patient' ORDER BY id",
    )
    .bind(w.user(Role::Rn))
    .bind(resident)
    .fetch_all(&app.owner)
    .await
    .unwrap();
    assert_eq!(
        audited,
        vec![
            (
                "patient.read".to_owned(),
                true,
                Some(REASON.to_owned()),
                Some(w.a2.facility)
            ),
            (
                "patient.records.read".to_owned(),
                true,
                Some(REASON.to_owned()),
                Some(w.a2.facility)
            ),
        ]
    );
    // The grant itself is on the record of both facilities.
    let grant_rows: Vec<(Option<i64>, bool, Option<String>)> = sqlx::query_as(
        "SELECT facility_id, cross_facility, reason FROM audit_events \
         WHERE action = 'break_glass.grant' AND resource_id = $1 ORDER BY facility_id",
    )
    .bind(g["id"].as_i64().unwrap())
    .fetch_all(&app.owner)
    .await
    .unwrap();
    let mut expected = vec![
        (Some(w.a1.facility), false, Some(REASON.to_owned())),
        (Some(w.a2.facility), true, Some(REASON.to_owned())),
    ];
    expected.sort();
    assert_eq!(grant_rows, expected);

    // Read only: no update, and the resident stays out of the nurse's lists.
    let update = app.put(&patient_path, nurse, json!({"room": "Hall"})).await;
    assert_eq!(update.status, StatusCode::NOT_FOUND, "{update:?}");
    let list = app.get("/api/patients?limit=200", nurse).await;
    assert!(
        list.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["id"] != resident),
        "{list:?}"
    );
    // The nurse sees the grant among their own active ones.
    let mine = app.get("/api/break-glass", nurse).await;
    assert_eq!(mine.status, StatusCode::OK, "{mine:?}");
    assert_eq!(mine.body["items"][0]["id"], g["id"]);

    // It ends by itself.
    expire(&app, resident).await;
    assert_eq!(
        app.get(&patient_path, nurse).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&records_path, nurse).await.status,
        StatusCode::NOT_FOUND
    );
    let mine = app.get("/api/break-glass", nurse).await;
    assert_eq!(mine.body["items"], json!([]), "{mine:?}");
    // Another nurse never had it.
    let (_, other_nurse) = staff(&app, &w, w.a1.facility, Role::Lpn).await;
    assert_eq!(
        app.get(&patient_path, &other_nurse).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_window_is_the_resident_facilitys_setting() {
    let app = spawn_app().await;
    let w = crate::helpers::world(&app).await;
    let org_admin = w.token(Role::OrgAdmin);
    let bad = app
        .put(
            &format!("/api/facilities/{}", w.a2.facility),
            org_admin,
            json!({"settings": {"break_glass_minutes": 241}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
    assert!(
        bad.body["error"]["fields"]["settings"].is_array(),
        "{bad:?}"
    );
    let set = app
        .put(
            &format!("/api/facilities/{}", w.a2.facility),
            org_admin,
            json!({"settings": {"break_glass_minutes": 15}}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{set:?}");
    let g = open(
        &app,
        w.token(Role::Cna),
        w.a2.facility,
        &mrn(&app, w.a2.patient).await,
        REASON,
    )
    .await;
    assert_eq!(g.status, StatusCode::CREATED, "{g:?}");
    let window = time(&g.body["expires_at"]) - time(&g.body["granted_at"]);
    assert_eq!(window.num_minutes(), 15);
}

#[tokio::test]
async fn no_break_glass_into_another_organization_or_without_a_reason() {
    let app = spawn_app().await;
    let w = crate::helpers::world(&app).await;
    let nurse = w.token(Role::Rn);
    // Another organization's resident, by its real MRN: 404 like a missing one.
    let foreign = open(
        &app,
        nurse,
        w.b1.facility,
        &mrn(&app, w.b1.patient).await,
        REASON,
    )
    .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{foreign:?}");
    let missing = open(&app, nurse, w.a2.facility, "NO-SUCH-MRN", REASON).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{missing:?}");
    assert_eq!(foreign.body, missing.body);
    let nowhere = open(&app, nurse, 999_999_999, "X", REASON).await;
    assert_eq!(nowhere.body, missing.body);
    assert_eq!(
        app.get(&format!("/api/patients/{}", w.b1.patient), nurse)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // A reason is required, and says something.
    let a2_mrn = mrn(&app, w.a2.patient).await;
    let short = open(&app, nurse, w.a2.facility, &a2_mrn, "urgent").await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY, "{short:?}");
    assert!(
        short.body["error"]["fields"]["reason"].is_array(),
        "{short:?}"
    );
    let absent = app
        .post(
            "/api/break-glass",
            nurse,
            json!({"facility_id": w.a2.facility, "mrn": a2_mrn}),
        )
        .await;
    assert_eq!(
        absent.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{absent:?}"
    );
    assert!(
        absent.body["error"]["fields"]["reason"].is_array(),
        "{absent:?}"
    );
    // The nurse's own facility is not an emergency.
    let own = open(
        &app,
        nurse,
        w.a1.facility,
        &mrn(&app, w.a1.patient).await,
        REASON,
    )
    .await;
    assert_eq!(own.status, StatusCode::UNPROCESSABLE_ENTITY, "{own:?}");
    assert!(own.body["error"]["fields"]["facility_id"].is_array());
    // Administrators do not break the glass; they review.
    for role in [Role::FacilityAdmin, Role::OrgAdmin, Role::PlatformAdmin] {
        let r = open(&app, w.token(role), w.a2.facility, &a2_mrn, REASON).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{role}: {r:?}");
    }
    assert_eq!(grants(&app).await, 0, "nothing was granted");
}

#[tokio::test]
async fn clinicians_see_the_other_facilities_of_their_organization_only() {
    let app = spawn_app().await;
    let w = crate::helpers::world(&app).await;
    let list = app
        .get("/api/break-glass/facilities", w.token(Role::Rn))
        .await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    let ids: Vec<i64> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![w.a2.facility]);
    let admin = app
        .get("/api/break-glass/facilities", w.token(Role::FacilityAdmin))
        .await;
    assert_eq!(admin.status, StatusCode::FORBIDDEN, "{admin:?}");
}

#[tokio::test]
async fn the_administrators_of_both_facilities_review_it_once() {
    let app = spawn_app().await;
    let w = crate::helpers::world(&app).await;
    let nurse = w.token(Role::Rn);
    let a1_admin = w.token(Role::FacilityAdmin);
    let (a2_admin_id, a2_admin) = staff(&app, &w, w.a2.facility, Role::FacilityAdmin).await;
    let a3 = insert_facility(&app.owner, w.a1.org, "A3", Some(20)).await;
    let (_, a3_admin) = staff(&app, &w, a3, Role::FacilityAdmin).await;
    let g = open(
        &app,
        nurse,
        w.a2.facility,
        &mrn(&app, w.a2.patient).await,
        REASON,
    )
    .await;
    assert_eq!(g.status, StatusCode::CREATED, "{g:?}");
    let id = g.body["id"].as_i64().unwrap();

    // The queue: both facilities' administrators and the organization's.
    let queue = |token: String| {
        let app = &app;
        async move { app.get("/api/break-glass?reviewed=false", &token).await }
    };
    for (who, token) in [
        ("A1 admin", a1_admin.to_owned()),
        ("A2 admin", a2_admin.clone()),
        ("org admin", w.token(Role::OrgAdmin).to_owned()),
    ] {
        let q = queue(token).await;
        assert_eq!(q.status, StatusCode::OK, "{who}: {q:?}");
        assert_eq!(q.body["items"][0]["id"], id, "{who}: {q:?}");
        assert_eq!(q.body["items"][0]["reason"], REASON);
        assert_eq!(q.body["items"][0]["user_name"], "Test RN");
    }
    let a2_view = queue(a2_admin.clone()).await;
    assert_eq!(
        a2_view.body["items"][0]["patient"]["id"], w.a2.patient,
        "the resident's admin sees the resident"
    );
    let a1_view = queue(a1_admin.to_owned()).await;
    assert!(
        a1_view.body["items"][0]["patient"].is_null(),
        "the nurse's admin does not: {a1_view:?}"
    );
    let a3_view = queue(a3_admin.clone()).await;
    assert_eq!(
        a3_view.body["items"],
        json!([]),
        "an unrelated facility's admin sees nothing"
    );
    let filtered = app
        .get(
            &format!("/api/break-glass?facility_id={}", w.a2.facility),
            a1_admin,
        )
        .await;
    assert_eq!(
        filtered.status,
        StatusCode::NOT_FOUND,
        "A2 is outside the A1 admin's scope"
    );
    // The dashboard badge of both facilities.
    for (facility, token) in [
        (w.a1.facility, a1_admin),
        (w.a2.facility, a2_admin.as_str()),
    ] {
        let d = app
            .get(&format!("/api/facilities/{facility}/dashboard"), token)
            .await;
        assert_eq!(d.body["break_glass_unreviewed"], 1, "{d:?}");
    }
    // The audit filter finds the grant in each facility's trail.
    for token in [a1_admin, a2_admin.as_str()] {
        let a = app
            .get("/api/audit-events?action_prefix=break_glass.", token)
            .await;
        assert_eq!(a.status, StatusCode::OK, "{a:?}");
        assert!(
            a.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == "break_glass.grant"
                    && e["resource_id"] == id
                    && e["reason"] == REASON),
            "{a:?}"
        );
    }

    // Reviewing: not the nurse, not an unrelated admin.
    let path = format!("/api/break-glass/{id}/review");
    let by_nurse = app.post(&path, nurse, json!({})).await;
    assert_eq!(by_nurse.status, StatusCode::FORBIDDEN, "{by_nurse:?}");
    let by_a3 = app.post(&path, &a3_admin, json!({})).await;
    assert_eq!(by_a3.status, StatusCode::NOT_FOUND, "{by_a3:?}");
    let by_b = app
        .post(
            &path,
            w.token(Role::PlatformAdmin),
            json!({"note": "x".repeat(1001)}),
        )
        .await;
    assert_eq!(by_b.status, StatusCode::UNPROCESSABLE_ENTITY, "{by_b:?}");
    let reviewed = app
        .post(
            &path,
            &a2_admin,
            json!({"note": "Called the nurse: justified."}),
        )
        .await;
    assert_eq!(reviewed.status, StatusCode::OK, "{reviewed:?}");
    assert_eq!(reviewed.body["reviewed_by"], a2_admin_id);
    assert_eq!(reviewed.body["review_note"], "Called the nurse: justified.");
    assert!(!reviewed.body["reviewed_at"].is_null());
    let again = app.post(&path, a1_admin, json!({})).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{again:?}");
    let review_rows: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE action = 'break_glass.review' AND resource_id = $1 \
         AND actor_user_id = $2 AND facility_id = $3",
    )
    .bind(id)
    .bind(a2_admin_id)
    .bind(w.a2.facility)
    .fetch_one(&app.owner)
    .await
    .unwrap();
    assert_eq!(review_rows, 1);
    // Out of the queue and off the badge.
    assert_eq!(queue(a1_admin.to_owned()).await.body["items"], json!([]));
    let done = app.get("/api/break-glass?reviewed=true", a1_admin).await;
    assert_eq!(done.body["items"][0]["id"], id);
    let d = app
        .get(
            &format!("/api/facilities/{}/dashboard", w.a2.facility),
            &a2_admin,
        )
        .await;
    assert_eq!(d.body["break_glass_unreviewed"], 0, "{d:?}");
    // Another organization's administrator never sees it.
    let (_, b_admin) = {
        let (id, _) = insert_user(&app.owner, w.b1.org, w.b1.facility, Role::OrgAdmin).await;
        (id, token_for(&app.owner, id).await)
    };
    assert_eq!(queue(b_admin.clone()).await.body["items"], json!([]));
    assert_eq!(
        app.post(&path, &b_admin, json!({})).await.status,
        StatusCode::NOT_FOUND
    );
}

/// The grant table's own isolation: only the review columns are writable by
/// the API's role, and a grant cannot be inserted past the opening function.
#[tokio::test]
async fn the_api_role_cannot_forge_or_extend_a_grant() {
    let app = spawn_app().await;
    let w = crate::helpers::world(&app).await;
    let g = open(
        &app,
        w.token(Role::Rn),
        w.a2.facility,
        &mrn(&app, w.a2.patient).await,
        REASON,
    )
    .await;
    assert_eq!(g.status, StatusCode::CREATED, "{g:?}");
    let mut conn = sqlx::PgConnection::connect(&app.app_url).await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("SELECT tend_set_scope('platform', NULL, NULL, NULL)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let extend =
        sqlx::query("UPDATE break_glass_grants SET expires_at = expires_at + interval '1 day'")
            .execute(&mut *tx)
            .await;
    assert!(extend.is_err(), "expires_at is not writable");
    drop(tx);
    let mut tx = conn.begin().await.unwrap();
    let forge = sqlx::query(
        "INSERT INTO break_glass_grants (organization_id, facility_id, patient_id, user_id, user_facility_id, \
         user_name, facility_name, user_facility_name, reason, expires_at) \
         SELECT organization_id, facility_id, patient_id, user_id, user_facility_id, user_name, facility_name, \
         user_facility_name, reason, expires_at FROM break_glass_grants",
    )
    .execute(&mut *tx)
    .await;
    assert!(
        forge.is_err(),
        "grants are inserted only by tend_break_glass_open"
    );
    drop(tx);
}

/// tend-core's console calls (`AdminSession::break_glass_grants`,
/// `review_break_glass`) against the real API, and the dashboard figure.
#[tokio::test]
async fn the_console_reviews_through_tend_core() {
    use tend_core::admin::AdminConsole;
    use tend_domain::wire::Secret;

    let app = spawn_app().await;
    let w = crate::helpers::world(&app).await;
    let g = open(
        &app,
        w.token(Role::Rn),
        w.a2.facility,
        &mrn(&app, w.a2.patient).await,
        REASON,
    )
    .await;
    assert_eq!(g.status, StatusCode::CREATED, "{g:?}");
    let (_, username) = insert_user(&app.owner, w.a1.org, w.a2.facility, Role::FacilityAdmin).await;
    let console = AdminConsole::new("test");
    console
        .sign_in(
            Some(&app.base),
            &username,
            &Secret::new(crate::helpers::PASSWORD),
        )
        .await
        .unwrap();
    let session = console.session().await.unwrap();
    assert_eq!(
        session
            .dashboard(w.a2.facility)
            .await
            .unwrap()
            .break_glass_unreviewed,
        1
    );
    let queue = session.break_glass_grants(false).await.unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].reason, REASON);
    assert_eq!(queue[0].user_name, "Test RN");
    assert!(
        queue[0]
            .resident
            .as_deref()
            .is_some_and(|r| r.starts_with("Lovelace")),
        "{queue:?}"
    );
    let reviewed = session
        .review_break_glass(queue[0].id, Some("  Justified  "))
        .await
        .unwrap();
    assert_eq!(reviewed.review_note.as_deref(), Some("Justified"));
    let again = session
        .review_break_glass(queue[0].id, None)
        .await
        .unwrap_err();
    assert_eq!(again.code(), tend_domain::ErrorCode::Conflict);
    assert!(session.break_glass_grants(false).await.unwrap().is_empty());
    assert_eq!(session.break_glass_grants(true).await.unwrap().len(), 1);
}
