//! A facility's policy: validated field by field, changed only by its
//! administrators, audited with the keys that changed, delivered by sync, and
//! applied by the API where it decides (PIN length, badge grace).

use reqwest::StatusCode;
use serde_json::{json, Value};
use tend_domain::policy::POLICY_RANGES;
use tend_domain::wire::{DEVICE_SCHEMA_VERSION, SYNC_PROTOCOL_VERSION};
use tend_domain::{FacilityPolicy, Role};

use crate::helpers::{device_token_for, spawn_app, world, TestApp};

async fn pull_facility(
    app: &TestApp,
    device: &str,
    cursor: Option<&str>,
) -> (Option<Value>, String) {
    let mut path = format!(
        "/api/sync/pull?protocol_version={SYNC_PROTOCOL_VERSION}&schema_version={DEVICE_SCHEMA_VERSION}"
    );
    if let Some(c) = cursor {
        path.push_str(&format!("&cursor={c}"));
    }
    let r = app.get(&path, device).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let facility = r.body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "facility")
        .map(|c| c["data"].clone());
    (facility, r.body["cursor"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_new_facility_has_todays_defaults_and_each_bad_number_is_named() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let org_admin = w.token(Role::OrgAdmin);
    let path = format!("/api/facilities/{}", w.a1.facility);
    let r = app.get(&path, org_admin).await;
    assert_eq!(
        serde_json::from_value::<FacilityPolicy>(r.body["policy"].clone()).unwrap(),
        FacilityPolicy::default()
    );

    // One number out of range at a time: the 422 names exactly that field.
    for (field, _, range) in FacilityPolicy::default().fields() {
        for bad in [range.min.checked_sub(1), Some(range.max + 1)]
            .into_iter()
            .flatten()
        {
            let r = app
                .put(&path, org_admin, json!({"policy": {field: bad}}))
                .await;
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{field}={bad}: {r:?}"
            );
            let fields = r.body["error"]["fields"].as_object().unwrap();
            assert_eq!(
                fields.keys().collect::<Vec<_>>(),
                [&format!("policy.{field}")],
                "{r:?}"
            );
            assert!(
                fields[&format!("policy.{field}")][0]
                    .as_str()
                    .unwrap()
                    .contains(&format!("from {} to {}", range.min, range.max)),
                "{r:?}"
            );
        }
    }
    let r = app
        .put(
            &path,
            org_admin,
            json!({"policy": {"pin_min_digits": 7, "pin_max_digits": 6}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(
        r.body["error"]["fields"]["policy.pin_max_digits"].is_array(),
        "{r:?}"
    );
    // An unknown key or a negative number is not quietly dropped.
    for body in [
        json!({"policy": {"idle_lock": 60}}),
        json!({"policy": {"idle_lock_kiosk_secs": -60}}),
    ] {
        let r = app.put(&path, org_admin, body).await;
        assert!(r.status.is_client_error(), "{r:?}");
    }
    // Nothing was stored by the refused requests.
    let r = app.get(&path, org_admin).await;
    assert_eq!(
        r.body["policy"]["idle_lock_kiosk_secs"],
        POLICY_RANGES.idle_lock_kiosk_secs.default
    );

    // A create validates the same way.
    let r = app
        .post(
            "/api/facilities",
            org_admin,
            json!({"name": "Maple", "facility_type": "ALF", "policy": {"family_session_secs": 5}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(
        r.body["error"]["fields"]["policy.family_session_secs"].is_array(),
        "{r:?}"
    );
    let r = app
        .post(
            "/api/facilities",
            org_admin,
            json!({"name": "Maple", "facility_type": "ALF", "policy": {"family_session_secs": 300}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["policy"]["family_session_secs"], 300);
    assert_eq!(r.body["policy"]["idle_lock_desktop_secs"], 600);
}

#[tokio::test]
async fn only_the_facilitys_administrators_change_its_policy_and_each_change_is_audited() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let path = format!("/api/facilities/{}", w.a1.facility);
    let policy = json!({"policy": {"idle_lock_kiosk_secs": 60, "handoff_hours": 8}});

    // Clinical staff may not; the refusal is on the record.
    for role in [Role::Rn, Role::Cna] {
        let r = app.put(&path, w.token(role), policy.clone()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{role:?}: {r:?}");
    }
    // A facility administrator changes their own facility's policy, and
    // nothing else of it; another facility is not there for them.
    let facility_admin = w.token(Role::FacilityAdmin);
    let r = app
        .put(
            &path,
            facility_admin,
            json!({"name": "Renamed", "policy": {"idle_lock_kiosk_secs": 60}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
    let r = app
        .put(
            &format!("/api/facilities/{}", w.a2.facility),
            facility_admin,
            policy.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
    let r = app.put(&path, facility_admin, policy.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["policy"]["idle_lock_kiosk_secs"], 60);
    assert_eq!(r.body["policy"]["handoff_hours"], 8);
    assert_eq!(r.body["name"], "A1", "the rest of the facility is kept");

    let audited: Vec<(i64, Option<String>)> = sqlx::query_as(
        "SELECT actor_user_id, reason FROM audit_events \
         WHERE action = 'facility.update' AND resource_id = $1 AND outcome = 'success' ORDER BY id",
    )
    .bind(w.a1.facility)
    .fetch_all(&app.owner)
    .await
    .unwrap();
    assert_eq!(
        audited,
        [(
            w.user(Role::FacilityAdmin),
            Some("policy changed: idle_lock_kiosk_secs, handoff_hours".to_owned())
        )]
    );
    let denied: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE action = 'access.denied' AND actor_user_id = ANY($1)",
    )
    .bind(vec![
        w.user(Role::Rn),
        w.user(Role::Cna),
        w.user(Role::FacilityAdmin),
    ])
    .fetch_one(&app.owner)
    .await
    .unwrap();
    assert_eq!(denied, 3);

    // An organization administrator changes it too; an update that leaves
    // the policy alone says nothing about it.
    let org_admin = w.token(Role::OrgAdmin);
    let r = app
        .put(&path, org_admin, json!({"policy": {"idle_lock_kiosk_secs": 60, "handoff_hours": 8, "badge_grace_hours": 0}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let r = app.put(&path, org_admin, json!({"name": "A1 North"})).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["policy"]["badge_grace_hours"], 0, "kept");
    let reasons: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT reason FROM audit_events WHERE action = 'facility.update' AND resource_id = $1 \
         AND actor_user_id = $2 ORDER BY id",
    )
    .bind(w.a1.facility)
    .bind(w.user(Role::OrgAdmin))
    .fetch_all(&app.owner)
    .await
    .unwrap();
    assert_eq!(
        reasons,
        [Some("policy changed: badge_grace_hours".to_owned()), None]
    );
}

#[tokio::test]
async fn devices_receive_the_policy_by_sync_and_again_when_it_changes() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let device = device_token_for(&app.owner, w.a1.device).await;
    let (facility, cursor) = pull_facility(&app, &device, None).await;
    let facility = facility.expect("an initial sync carries the facility");
    assert_eq!(
        serde_json::from_value::<FacilityPolicy>(facility["policy"].clone()).unwrap(),
        FacilityPolicy::default()
    );
    // Nothing changed: the facility is not sent again.
    let (again, cursor) = pull_facility(&app, &device, Some(&cursor)).await;
    assert!(again.is_none());

    let r = app
        .put(
            &format!("/api/facilities/{}", w.a1.facility),
            w.token(Role::FacilityAdmin),
            json!({"policy": {"idle_lock_kiosk_secs": 60, "idle_lock_desktop_secs": 60}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let (changed, _) = pull_facility(&app, &device, Some(&cursor)).await;
    let changed = changed.expect("a policy change moves the facility forward in the feed");
    assert_eq!(changed["policy"]["idle_lock_kiosk_secs"], 60);
    assert_eq!(changed["policy"]["idle_lock_desktop_secs"], 60);
    assert_eq!(changed["policy"]["family_session_secs"], 60);

    // Another facility's device does not hear of it.
    let b_device = device_token_for(&app.owner, w.b1.device).await;
    let (b, _) = pull_facility(&app, &b_device, None).await;
    assert_eq!(b.unwrap()["policy"]["idle_lock_kiosk_secs"], 120);
}

#[tokio::test]
async fn a_new_pin_follows_the_length_of_the_users_facility() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let admin = w.token(Role::FacilityAdmin);
    let pin_path = format!("/api/users/{}/pin", w.a1.staff);
    let r = app.put(&pin_path, admin, json!({"pin": "2580"})).await;
    assert_eq!(r.status, StatusCode::OK, "four digits by default: {r:?}");

    let r = app
        .put(
            &format!("/api/facilities/{}", w.a1.facility),
            admin,
            json!({"policy": {"pin_min_digits": 6, "pin_max_digits": 6}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let r = app.put(&pin_path, admin, json!({"pin": "2580"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert_eq!(
        r.body["error"]["fields"]["pin"][0], "this facility's PINs are 6 digits",
        "{r:?}"
    );
    let r = app.put(&pin_path, admin, json!({"pin": "258036"})).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    // The rule is the user's facility's: B1's staff still choose 4 to 8 digits.
    let r = app
        .put(
            &format!("/api/users/{}/pin", w.b1.staff),
            &crate::helpers::token_for(
                &app.owner,
                crate::helpers::insert_user(
                    &app.owner,
                    w.b1.org,
                    w.b1.facility,
                    Role::FacilityAdmin,
                )
                .await
                .0,
            )
            .await,
            json!({"pin": "2580"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
}
