//! Resource flows: the seed's shapes, derived fields, filters and pagination.

use reqwest::StatusCode;
use serde_json::json;
use tend_domain::Role;

use crate::helpers::{insert_patient, spawn_app, world};

#[tokio::test]
async fn organization_facility_and_dashboard() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let platform = w.token(Role::PlatformAdmin);
    let org = app
        .post("/api/organizations", platform, json!({"name": "Memory Lane Care Partners", "organization_type": "MEMORY_CARE_GROUP",
            "npi": "1234567893", "license_state": "az", "settings": {"sync_thresholds": {"synced_within_minutes": 15}}}))
        .await;
    assert_eq!(org.status, StatusCode::CREATED, "{org:?}");
    let org_id = org.body["id"].as_i64().unwrap();
    assert_eq!(org.body["license_state"], "AZ");
    assert_eq!(org.body["is_active"], true);
    let f = app
        .post("/api/facilities", platform, json!({"organization_id": org_id, "name": "Memory Lane - Secure Unit",
            "facility_type": "MEMORY_CARE", "licensed_beds": 16, "current_census": 15, "timezone": "America/Phoenix",
            "features": {"behavior_tracking": true, "wandering_alerts": true, "family_portal": true}}))
        .await;
    assert_eq!(f.status, StatusCode::CREATED, "{f:?}");
    assert_eq!(f.body["occupancy_rate"], 93.8);
    assert_eq!(f.body["available_beds"], 1);
    assert_eq!(f.body["features"]["wandering_alerts"], true);
    let hh = app
        .post("/api/facilities", platform, json!({"organization_id": org_id, "name": "Home Region", "facility_type": "HOME_HEALTH", "current_census": 45}))
        .await;
    assert_eq!(hh.status, StatusCode::CREATED, "{hh:?}");
    assert!(
        hh.body["licensed_beds"].is_null()
            && hh.body["occupancy_rate"].is_null()
            && hh.body["available_beds"].is_null()
    );
    let detail = app
        .get(&format!("/api/organizations/{org_id}"), platform)
        .await;
    assert_eq!(detail.body["facility_count"], 2);
    let list = app.get("/api/organizations", platform).await;
    assert!(list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o.get("facility_count").is_none()));

    // Read-only derived fields cannot be written.
    let r = app
        .put(
            &format!("/api/facilities/{}", f.body["id"]),
            platform,
            json!({"occupancy_rate": 1.0}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Dashboard: census, devices (one online and synced, one stale, one never synced), staff.
    let fid = w.a1.facility;
    sqlx::query("UPDATE facilities SET current_census = 28, licensed_beds = 32 WHERE id = $1")
        .bind(fid)
        .execute(&app.owner)
        .await
        .unwrap();
    sqlx::query("UPDATE devices SET last_seen = now(), last_sync = now() WHERE id = $1")
        .bind(w.a1.device)
        .execute(&app.owner)
        .await
        .unwrap();
    let stale = crate::helpers::insert_device(&app.owner, w.a1.org, fid).await;
    sqlx::query("UPDATE devices SET last_seen = now() - interval '1 hour', last_sync = now() - interval '2 hours' WHERE id = $1")
        .bind(stale)
        .execute(&app.owner)
        .await
        .unwrap();
    crate::helpers::insert_device(&app.owner, w.a1.org, fid).await;
    let d = app
        .get(
            &format!("/api/facilities/{fid}/dashboard"),
            w.token(Role::FacilityAdmin),
        )
        .await;
    assert_eq!(d.status, StatusCode::OK, "{d:?}");
    assert_eq!(d.body["current_census"], 28);
    assert_eq!(d.body["occupancy_rate"], 87.5);
    assert_eq!(d.body["available_beds"], 4);
    assert_eq!(d.body["active_devices"], 3);
    assert_eq!(d.body["online_devices"], 1);
    assert_eq!(d.body["devices_with_sync_issues"], 2);
    // Staff homed in A1: one per role except the platform admin, plus the fixture CNA.
    assert_eq!(d.body["active_staff"], 9);
    assert_eq!(d.body["rn_count"], 1);
    let device = app
        .get(
            &format!("/api/devices/{}", w.a1.device),
            w.token(Role::FacilityAdmin),
        )
        .await;
    assert_eq!(device.body["is_online"], true);
    assert_eq!(device.body["sync_status"], "SYNCED");
}

#[tokio::test]
async fn devices_update_and_deactivate() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let admin = w.token(Role::OrgAdmin);
    let path = format!("/api/devices/{}", w.a1.device);
    let r = app.put(&path, admin, json!({"facility_id": w.a2.facility, "device_name": "Med Room PC", "mac_address": "b827.eb12.3456"})).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["facility_id"], w.a2.facility);
    assert_eq!(r.body["mac_address"], "b8:27:eb:12:34:56");
    let r = app
        .put(
            &path,
            w.token(Role::PlatformAdmin),
            json!({"facility_id": w.b1.facility}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    let r = app
        .post(&format!("{path}/deactivate"), admin, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["status"], "DEACTIVATED");
    assert_eq!(r.body["is_active"], false);
    let listed = app
        .get(
            &format!(
                "/api/facilities/{}/devices?status=DEACTIVATED",
                w.a2.facility
            ),
            admin,
        )
        .await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn patients_filter_and_paginate() {
    let app = spawn_app().await;
    let w = world(&app).await;
    for _ in 0..7 {
        insert_patient(&app.owner, w.a1.org, w.a1.facility, "active").await;
    }
    insert_patient(&app.owner, w.a1.org, w.a1.facility, "discharged").await;
    let rn = w.token(Role::Rn);
    // Automatic facility filter for clinical staff; status filter; pages of 3.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/patients?status=active&limit=3&cursor={c}"),
            None => "/api/patients?status=active&limit=3".to_owned(),
        };
        let page = app.get(&path, rn).await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        for p in page.body["items"].as_array().unwrap() {
            assert_eq!(p["facility_id"], w.a1.facility);
            assert_eq!(p["status"], "active");
            seen.push(p["id"].as_i64().unwrap());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8, "fixture patient + 7");
    assert!(seen.windows(2).all(|p| p[0] < p[1]));

    let named = app.post("/api/patients", rn, json!({"mrn": "N-1", "first_name": "Zelda", "last_name": "O'Hara", "date_of_birth": "1931-05-06", "room": "12B"})).await;
    assert_eq!(named.status, StatusCode::CREATED);
    let found = app.get("/api/patients?name=o%27ha", rn).await;
    assert_eq!(
        found.body["items"].as_array().unwrap().len(),
        1,
        "{found:?}"
    );
    let found = app.get("/api/patients?name=zel", rn).await;
    assert_eq!(found.body["items"].as_array().unwrap().len(), 1);
    let none = app.get("/api/patients?name=%25", rn).await;
    assert_eq!(
        none.body["items"].as_array().unwrap().len(),
        0,
        "wildcards are literal"
    );

    // Discharge sets discharged_at; readmission clears it.
    let id = named.body["id"].as_i64().unwrap();
    let r = app
        .put(
            &format!("/api/patients/{id}"),
            rn,
            json!({"status": "discharged"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert!(r.body["discharged_at"].is_string());
    let r = app
        .put(
            &format!("/api/patients/{id}"),
            rn,
            json!({"status": "active", "room": null}),
        )
        .await;
    assert!(
        r.body["discharged_at"].is_null() && r.body["room"].is_null(),
        "{r:?}"
    );
}

#[tokio::test]
async fn users_are_managed_within_bounds() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let fa = w.token(Role::FacilityAdmin);
    let r = app
        .put(
            &format!("/api/users/{}", w.a1.staff),
            fa,
            json!({"role": "LPN", "email": "lpn@example.org"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["role"], "LPN");
    // Cannot touch a higher role, cannot promote above itself.
    let r = app
        .put(
            &format!("/api/users/{}", w.user(Role::OrgAdmin)),
            fa,
            json!({"full_name": "X"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .put(
            &format!("/api/users/{}", w.a1.staff),
            fa,
            json!({"role": "ORG_ADMIN"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A clinical user may read itself but not others.
    let rn = w.token(Role::Rn);
    assert_eq!(
        app.get(&format!("/api/users/{}", w.user(Role::Rn)), rn)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&format!("/api/users/{}", w.a1.staff), rn)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // Password change works and is hashed.
    let r = app
        .put(
            &format!("/api/users/{}", w.a1.staff),
            fa,
            json!({"password": "another long password"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let phc: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(w.a1.staff)
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert!(tend_api::auth::verify_password(
        "another long password",
        &phc
    ));
    // Audit log: admins only, newest first, filterable.
    let events = app
        .get(
            &format!(
                "/api/audit-events?resource_type=user&resource_id={}",
                w.a1.staff
            ),
            fa,
        )
        .await;
    assert_eq!(events.status, StatusCode::OK);
    let items = events.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{events:?}");
    assert!(items[0]["id"].as_i64() > items[1]["id"].as_i64());
    assert_eq!(
        app.get("/api/audit-events", rn).await.status,
        StatusCode::FORBIDDEN
    );
}

/// The console's audit log: who and where in words, filtered by action
/// family, cross-facility reads marked.
#[tokio::test]
async fn audit_log_names_actor_and_facility_and_filters_by_action_family() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let oa = w.token(Role::OrgAdmin);
    let fa = w.token(Role::FacilityAdmin);
    // The org admin (home: A1) reads A2's residents: a cross-facility read.
    let r = app
        .get(&format!("/api/patients?facility_id={}", w.a2.facility), oa)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");

    let events = app
        .get(
            "/api/audit-events?cross_facility=true&action_prefix=patient.",
            oa,
        )
        .await;
    assert_eq!(events.status, StatusCode::OK, "{events:?}");
    let items = events.body["items"].as_array().unwrap();
    assert!(!items.is_empty(), "{events:?}");
    for item in items {
        assert!(item["action"].as_str().unwrap().starts_with("patient."));
        assert_eq!(item["cross_facility"], true);
    }
    let read = &items[0];
    assert_eq!(read["actor_user_id"], w.user(Role::OrgAdmin));
    assert_eq!(read["actor_name"], "Test ORG_ADMIN");
    assert_eq!(read["facility_id"], w.a2.facility);
    assert_eq!(read["facility_name"], "A2");

    // Another family matches nothing of it; LIKE wildcards are literal.
    for prefix in ["auth.", "%25", "patient_"] {
        let r = app
            .get(
                &format!("/api/audit-events?cross_facility=true&action_prefix={prefix}"),
                oa,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| !e["action"].as_str().unwrap().starts_with("patient.")),
            "{prefix}: {r:?}"
        );
    }
    // A1's facility admin does not see A2's events at all.
    let r = app
        .get(
            &format!("/api/audit-events?facility_id={}", w.a2.facility),
            fa,
        )
        .await;
    assert!(r.status.is_client_error(), "{r:?}");
}

#[tokio::test]
async fn an_org_admin_edits_their_organization_but_does_not_close_it() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let org_admin = w.token(Role::OrgAdmin);
    let path = format!("/api/organizations/{}", w.a1.org);
    let r = app
        .put(
            &path,
            org_admin,
            json!({"name": "Org A Senior Care", "npi": "1234567893", "license_state": "mn"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["name"], "Org A Senior Care");
    assert_eq!(r.body["license_state"], "MN");
    // Sending the current state is fine; changing it is the platform's call (audited refusal).
    let same = app.put(&path, org_admin, json!({"is_active": true})).await;
    assert_eq!(same.status, StatusCode::OK, "{same:?}");
    let denied_before = denied(&app, w.user(Role::OrgAdmin)).await;
    let close = app.put(&path, org_admin, json!({"is_active": false})).await;
    assert_eq!(close.status, StatusCode::FORBIDDEN, "{close:?}");
    assert_eq!(
        denied(&app, w.user(Role::OrgAdmin)).await,
        denied_before + 1
    );
    let still = app.get(&path, org_admin).await;
    assert_eq!(still.body["is_active"], true);
    // Another organization is not there; a facility admin may not edit their own.
    let other = app
        .put(
            &format!("/api/organizations/{}", w.b1.org),
            org_admin,
            json!({"name": "Mine now"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "{other:?}");
    let facility_admin = app
        .put(&path, w.token(Role::FacilityAdmin), json!({"name": "Nope"}))
        .await;
    assert_eq!(
        facility_admin.status,
        StatusCode::FORBIDDEN,
        "{facility_admin:?}"
    );
    let platform = app
        .put(
            &path,
            w.token(Role::PlatformAdmin),
            json!({"is_active": false}),
        )
        .await;
    assert_eq!(platform.status, StatusCode::OK, "{platform:?}");
    assert_eq!(platform.body["is_active"], false);
}

async fn denied(app: &crate::helpers::TestApp, actor: i64) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE actor_user_id = $1 AND action = 'access.denied'",
    )
    .bind(actor)
    .fetch_one(&app.owner)
    .await
    .unwrap()
}
