//! Occupancy over time: every census change leaves a history row in its own
//! transaction (with its author), and `GET /api/facilities/{id}/census-history`
//! serves one point per day with the last census carried forward, under the
//! dashboard's rules for who may read it and which reads are audited.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tend_domain::Role;

use crate::helpers::{insert_facility, spawn_app, world, TestApp};

/// History rows of a facility, oldest first: (census, beds, recorded_by).
async fn rows(app: &TestApp, facility: i64) -> Vec<(i32, Option<i32>, Option<i64>)> {
    sqlx::query_as(
        "SELECT current_census, licensed_beds, recorded_by FROM census_history \
         WHERE facility_id = $1 ORDER BY recorded_at, id",
    )
    .bind(facility)
    .fetch_all(&app.owner)
    .await
    .unwrap()
}

/// A row `days_ago` days before today, at noon UTC (the facility counts in UTC).
async fn backdate(app: &TestApp, facility: i64, census: i32, days_ago: i32, hour: i32) {
    sqlx::query(
        "INSERT INTO census_history (organization_id, facility_id, current_census, licensed_beds, recorded_at) \
         SELECT organization_id, id, $2, licensed_beds, \
                date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' \
                - make_interval(days => $3) + make_interval(hours => $4) \
         FROM facilities WHERE id = $1",
    )
    .bind(facility)
    .bind(census)
    .bind(days_ago)
    .bind(hour)
    .execute(&app.owner)
    .await
    .unwrap();
}

fn census_of(point: &Value) -> Option<i64> {
    point["current_census"].as_i64()
}

#[tokio::test]
async fn every_census_change_is_recorded_with_its_author_and_nothing_else_is() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let fid = w.a1.facility;
    // The fixture's insert recorded the starting census.
    assert_eq!(rows(&app, fid).await, vec![(0, Some(40), None)]);

    let admin = w.token(Role::FacilityAdmin);
    let r = app
        .put(
            &format!("/api/facilities/{fid}/census"),
            admin,
            json!({"current_census": 31}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let author = Some(w.user(Role::FacilityAdmin));
    assert_eq!(rows(&app, fid).await[1], (31, Some(40), author));

    // Refused changes leave nothing behind.
    for bad in [json!({"current_census": 41}), json!({"current_census": -1})] {
        let r = app
            .put(&format!("/api/facilities/{fid}/census"), admin, bad)
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
        assert!(r.body["error"]["fields"]["current_census"].is_array());
    }
    let r = app
        .put(
            &format!("/api/facilities/{fid}/census"),
            w.token(Role::Rn),
            json!({"current_census": 5}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(rows(&app, fid).await.len(), 2);

    // A facility update records a bed change, and not an address change.
    let org_admin = w.token(Role::OrgAdmin);
    let r = app
        .put(
            &format!("/api/facilities/{fid}"),
            org_admin,
            json!({"address": "2 Elm St"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(rows(&app, fid).await.len(), 2);
    let r = app
        .put(
            &format!("/api/facilities/{fid}"),
            org_admin,
            json!({"licensed_beds": 36}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        rows(&app, fid).await[2],
        (31, Some(36), Some(w.user(Role::OrgAdmin)))
    );
    // Saving the same census again is not a change.
    let r = app
        .put(
            &format!("/api/facilities/{fid}/census"),
            admin,
            json!({"current_census": 31}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(rows(&app, fid).await.len(), 3);

    // A new facility starts its history with its first census.
    let r = app
        .post(
            "/api/facilities",
            org_admin,
            json!({"name": "Lakeside", "facility_type": "ALF", "licensed_beds": 12, "current_census": 9}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let new_id = r.body["id"].as_i64().unwrap();
    assert_eq!(
        rows(&app, new_id).await,
        vec![(9, Some(12), Some(w.user(Role::OrgAdmin)))]
    );

    // The API's role can read history but never write it.
    let app_conn = sqlx::PgPool::connect(&app.app_url).await.unwrap();
    let denied = sqlx::query(
        "INSERT INTO census_history (organization_id, facility_id, current_census) VALUES ($1, $2, 1)",
    )
    .bind(w.a1.org)
    .bind(fid)
    .execute(&app_conn)
    .await
    .unwrap_err();
    assert!(denied.to_string().contains("permission denied"), "{denied}");
    let visible: i64 = sqlx::query_scalar("SELECT count(*) FROM census_history")
        .fetch_one(&app_conn)
        .await
        .unwrap();
    assert_eq!(
        visible, 0,
        "without a scope, row-level security shows nothing"
    );
}

#[tokio::test]
async fn each_day_shows_its_last_census_carried_forward() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let fid = w.a1.facility;
    sqlx::query("UPDATE facilities SET timezone = 'UTC' WHERE id = $1")
        .bind(fid)
        .execute(&app.owner)
        .await
        .unwrap();
    // Drop the fixture's own row (census 0, just now) so the series starts
    // where the rows below say.
    sqlx::query("DELETE FROM census_history WHERE facility_id = $1")
        .bind(fid)
        .execute(&app.owner)
        .await
        .unwrap();
    backdate(&app, fid, 20, 10, 12).await;
    backdate(&app, fid, 25, 3, 9).await;
    backdate(&app, fid, 26, 3, 15).await;
    let r = app
        .put(
            &format!("/api/facilities/{fid}/census"),
            w.token(Role::FacilityAdmin),
            json!({"current_census": 30}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");

    let h = app
        .get(
            &format!("/api/facilities/{fid}/census-history?days=14"),
            w.token(Role::FacilityAdmin),
        )
        .await;
    assert_eq!(h.status, StatusCode::OK, "{h:?}");
    assert_eq!(h.body["facility_id"], fid);
    assert_eq!(h.body["days"], 14);
    assert_eq!(h.body["timezone"], "UTC");
    let points = h.body["points"].as_array().unwrap();
    assert_eq!(points.len(), 14);
    let today = Utc::now().date_naive();
    for (i, p) in points.iter().enumerate() {
        let days_ago = 13 - i as i64;
        assert_eq!(
            p["date"],
            (today - Duration::days(days_ago)).to_string(),
            "{p}"
        );
        let expected = match days_ago {
            11.. => None,
            4..=10 => Some(20),
            1..=3 => Some(26),
            _ => Some(30),
        };
        assert_eq!(census_of(p), expected, "{days_ago} days ago: {p}");
        match expected {
            None => assert!(p["occupancy_rate"].is_null() && p["licensed_beds"].is_null()),
            Some(c) => {
                assert_eq!(p["licensed_beds"], 40);
                // The shared capacity rule, not a second copy of it.
                assert_eq!(
                    p["occupancy_rate"].as_f64(),
                    tend_domain::occupancy_rate(Some(40), c as i32),
                );
            }
        }
    }
    assert_eq!(points[13]["occupancy_rate"], 75.0);

    // Without `days`: 30 days; a year at most.
    let h = app
        .get(
            &format!("/api/facilities/{fid}/census-history"),
            w.token(Role::FacilityAdmin),
        )
        .await;
    assert_eq!(h.body["points"].as_array().unwrap().len(), 30, "{h:?}");
    let h = app
        .get(
            &format!("/api/facilities/{fid}/census-history?days=365"),
            w.token(Role::FacilityAdmin),
        )
        .await;
    assert_eq!(h.body["points"].as_array().unwrap().len(), 365);
}

#[tokio::test]
async fn without_licensed_beds_the_rate_is_absent() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let home = insert_facility(&app.owner, w.a1.org, "Home Region", None).await;
    let r = app
        .put(
            &format!("/api/facilities/{home}/census"),
            w.token(Role::OrgAdmin),
            json!({"current_census": 45}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let h = app
        .get(
            &format!("/api/facilities/{home}/census-history?days=7"),
            w.token(Role::OrgAdmin),
        )
        .await;
    assert_eq!(h.status, StatusCode::OK, "{h:?}");
    let today = &h.body["points"][6];
    assert_eq!(today["current_census"], 45);
    assert!(today["licensed_beds"].is_null() && today["occupancy_rate"].is_null());
}

#[tokio::test]
async fn days_outside_one_to_a_year_are_refused_by_name() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let path = format!("/api/facilities/{}/census-history", w.a1.facility);
    for bad in ["0", "366", "-3", "ten", "1.5", ""] {
        let r = app
            .get(&format!("{path}?days={bad}"), w.token(Role::FacilityAdmin))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "days={bad}: {r:?}");
        assert_eq!(r.code(), "VALIDATION_FAILED");
        let message = r.body["error"]["fields"]["days"][0].as_str().unwrap();
        assert!(message.contains("1 to 365"), "{message}");
    }
    // A bad `days` in a foreign facility still says nothing about that facility.
    let r = app
        .get(
            &format!("/api/facilities/{}/census-history?days=7", w.b1.facility),
            w.token(Role::FacilityAdmin),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn history_is_refused_exactly_where_the_dashboard_is() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let cases = [
        (Role::FacilityAdmin, w.a1.facility),
        (Role::FacilityAdmin, w.a2.facility),
        (Role::FacilityAdmin, w.b1.facility),
        (Role::Rn, w.a1.facility),
        (Role::OrgAdmin, w.a2.facility),
        (Role::OrgAdmin, w.b1.facility),
        (Role::PlatformAdmin, w.b1.facility),
    ];
    for (role, facility) in cases {
        let dashboard = app
            .get(
                &format!("/api/facilities/{facility}/dashboard"),
                w.token(role),
            )
            .await;
        let history = app
            .get(
                &format!("/api/facilities/{facility}/census-history?days=7"),
                w.token(role),
            )
            .await;
        assert_eq!(
            history.status, dashboard.status,
            "{role:?} on facility {facility}: {history:?}"
        );
        if history.status != StatusCode::OK {
            assert!(history.body.get("points").is_none());
        }
    }
    let r = app
        .get(
            &format!("/api/facilities/{}/census-history", w.a2.facility),
            w.token(Role::FacilityAdmin),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "NOT_FOUND");
    let r = app
        .get(
            &format!("/api/facilities/{}/census-history", w.a1.facility),
            w.token(Role::Cna),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_org_admins_read_of_another_facility_is_audited() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let org_admin = w.user(Role::OrgAdmin);
    let audited = |facility: i64| {
        let owner = app.owner.clone();
        async move {
            sqlx::query_as::<_, (i64, bool)>(
                "SELECT count(*), coalesce(bool_and(cross_facility), false) FROM audit_events \
                 WHERE actor_user_id = $1 AND facility_id = $2 AND action = 'facility.census_history'",
            )
            .bind(org_admin)
            .bind(facility)
            .fetch_one(&owner)
            .await
            .unwrap()
        }
    };
    // Its own facility: an ordinary read, not audited.
    let r = app
        .get(
            &format!("/api/facilities/{}/census-history", w.a1.facility),
            w.token(Role::OrgAdmin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(audited(w.a1.facility).await, (0, false));
    // Another facility of its organization: audited as cross-facility.
    let r = app
        .get(
            &format!("/api/facilities/{}/census-history?days=90", w.a2.facility),
            w.token(Role::OrgAdmin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["points"].as_array().unwrap().len(), 90);
    assert_eq!(audited(w.a2.facility).await, (1, true));
}

/// The dashboard's census next to the resident list, and the reconcile that
/// sets one to the other: counted by the server (active and on leave, not
/// discharged), audited with both numbers, refused when the list holds more
/// residents than the licensed beds, and only for administrators.
#[tokio::test]
async fn the_census_reconciles_with_the_active_residents() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let facility = insert_facility(&app.owner, w.a1.org, "Reconcile House", Some(4)).await;
    for status in ["active", "active", "on_leave", "discharged", "deceased"] {
        crate::helpers::insert_patient(&app.owner, w.a1.org, facility, status).await;
    }
    let admin = w.token(Role::OrgAdmin);
    let dashboard = format!("/api/facilities/{facility}/dashboard");
    let r = app.get(&dashboard, admin).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["current_census"], 0);
    assert_eq!(r.body["active_residents"], 3);

    let reconcile = format!("/api/facilities/{facility}/census/reconcile");
    let r = app.post(&reconcile, w.token(Role::Rn), json!({})).await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "another facility's nurse: {r:?}"
    );
    let r = app.post(&reconcile, admin, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["current_census"], 3);
    let r = app.get(&dashboard, admin).await;
    assert_eq!(r.body["current_census"], r.body["active_residents"]);
    let reason: String = sqlx::query_scalar(
        "SELECT reason FROM audit_events WHERE action = 'facility.census.reconcile' AND resource_id = $1",
    )
    .bind(facility)
    .fetch_one(&app.owner)
    .await
    .unwrap();
    assert_eq!(reason, "census 0 set to the 3 active residents on the list");

    // Two more admissions than beds: refused, naming the census, nothing changed.
    for _ in 0..2 {
        crate::helpers::insert_patient(&app.owner, w.a1.org, facility, "active").await;
    }
    let r = app.post(&reconcile, admin, json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(
        r.body["error"]["fields"]["current_census"][0]
            .as_str()
            .unwrap()
            .contains("5 active residents exceed the 4 licensed beds"),
        "{r:?}"
    );
    let census: i32 = sqlx::query_scalar("SELECT current_census FROM facilities WHERE id = $1")
        .bind(facility)
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert_eq!(census, 3);
    // A clinician of the facility may see it but not reconcile it.
    let (nurse, _) = crate::helpers::insert_user(&app.owner, w.a1.org, facility, Role::Rn).await;
    let token = crate::helpers::token_for(&app.owner, nurse).await;
    let r = app.post(&reconcile, &token, json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
}
