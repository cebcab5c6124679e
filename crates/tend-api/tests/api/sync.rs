//! Background sync against the real server: idempotent pushes, per-operation
//! rejections, the version handshake, the facility change feed with its
//! tombstones and cursor rules, clock correction, and patient versions.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tend_domain::wire::{DEVICE_SCHEMA_VERSION, SYNC_PROTOCOL_VERSION};
use tend_domain::Role;
use uuid::Uuid;

use crate::helpers::{
    device_token_for, insert_patient, insert_user, sign_in_on_device, spawn_app, token_for, world,
    Resp, TestApp, World,
};

fn record(patient: i64, author: i64, body: Value) -> Value {
    record_at(patient, author, body, Utc::now(), None)
}

fn record_at(
    patient: i64,
    author: i64,
    body: Value,
    recorded_at: DateTime<Utc>,
    amends: Option<Uuid>,
) -> Value {
    json!({"id": Uuid::now_v7(), "seq": 1, "payload": {"type": "record", "data": {
        "patient_id": patient, "author_user_id": author, "recorded_at": recorded_at,
        "amends": amends, "body": body}}})
}

fn note(text: &str) -> Value {
    json!({"kind": "care_note", "text": text})
}

async fn push_at(app: &TestApp, device: &str, ops: &[Value], device_time: DateTime<Utc>) -> Resp {
    app.post(
        "/api/sync/push",
        device,
        json!({"protocol_version": SYNC_PROTOCOL_VERSION, "schema_version": DEVICE_SCHEMA_VERSION,
               "device_time": device_time, "operations": ops}),
    )
    .await
}

async fn push(app: &TestApp, device: &str, ops: &[Value]) -> Resp {
    push_at(app, device, ops, Utc::now()).await
}

pub(crate) async fn pull_page(
    app: &TestApp,
    device: &str,
    cursor: Option<&str>,
    limit: Option<u32>,
) -> Resp {
    let mut path = format!(
        "/api/sync/pull?protocol_version={SYNC_PROTOCOL_VERSION}&schema_version={DEVICE_SCHEMA_VERSION}"
    );
    if let Some(c) = cursor {
        path.push_str(&format!("&cursor={c}"));
    }
    if let Some(l) = limit {
        path.push_str(&format!("&limit={l}"));
    }
    app.get(&path, device).await
}

/// Pulls until `has_more` is false; returns every change and the last cursor.
pub(crate) async fn pull_all(
    app: &TestApp,
    device: &str,
    cursor: Option<&str>,
    limit: Option<u32>,
) -> (Vec<Value>, String) {
    let mut cursor = cursor.map(str::to_owned);
    let mut changes = Vec::new();
    loop {
        let r = pull_page(app, device, cursor.as_deref(), limit).await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        changes.extend(r.body["changes"].as_array().unwrap().iter().cloned());
        cursor = Some(r.body["cursor"].as_str().unwrap().to_owned());
        if !r.body["has_more"].as_bool().unwrap() {
            assert_eq!(r.body["remaining"], 0);
            return (changes, cursor.unwrap());
        }
    }
}

pub(crate) fn of_type<'a>(changes: &'a [Value], kind: &str) -> Vec<&'a Value> {
    changes.iter().filter(|c| c["type"] == kind).collect()
}

fn ids_of(changes: &[Value], kind: &str) -> Vec<Value> {
    of_type(changes, kind)
        .iter()
        .map(|c| c["data"]["id"].clone())
        .collect()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.owner).await.unwrap()
}

struct Setup {
    app: TestApp,
    w: World,
    device: String,
    nurse: i64,
}

async fn setup() -> Setup {
    let app = spawn_app().await;
    let w = world(&app).await;
    let device = device_token_for(&app.owner, w.a1.device).await;
    let nurse = w.user(Role::Rn);
    // The nurse signs in on the device: its records need her session there.
    sign_in_on_device(&app, &device, nurse).await;
    Setup {
        app,
        w,
        device,
        nurse,
    }
}

fn list_ids(body: &Value, key: &str) -> Vec<String> {
    body[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Records, device audit events and applied operation ids stored.
async fn stored(app: &TestApp) -> (i64, i64, i64) {
    (
        count(app, "SELECT count(*) FROM clinical_records").await,
        count(
            app,
            "SELECT count(*) FROM audit_events WHERE action LIKE 'device.%'",
        )
        .await,
        count(app, "SELECT count(*) FROM sync_operations").await,
    )
}

#[tokio::test]
async fn a_replayed_batch_changes_nothing_and_says_so() {
    let Setup {
        app,
        w,
        device,
        nurse,
    } = setup().await;
    let ops = vec![
        record(w.a1.patient, nurse, note("Slept through the night")),
        record(
            w.a1.patient,
            nurse,
            json!({"kind": "vital_signs", "pulse_bpm": 72, "systolic_mmhg": 120, "diastolic_mmhg": 80}),
        ),
        json!({"id": Uuid::now_v7(), "seq": 3, "payload": {"type": "audit", "data": {
            "action": "offline_login", "user_id": nurse, "occurred_at": Utc::now(),
            "outcome": "success", "reason": "badge_and_pin"}}}),
    ];
    let ids: Vec<String> = ops
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();
    let first = push(&app, &device, &ops).await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    assert_eq!(list_ids(&first.body, "accepted"), ids);
    assert!(first.body["duplicates"].as_array().unwrap().is_empty());
    assert!(first.body["rejected"].as_array().unwrap().is_empty());
    assert_eq!(stored(&app).await, (2, 1, 3));
    let audit: (Option<i64>, Option<i64>, String, String) = sqlx::query_as(
        "SELECT actor_user_id, actor_device_id, resource_type, outcome FROM audit_events WHERE action = 'device.offline_login'",
    )
    .fetch_one(&app.owner)
    .await
    .unwrap();
    assert_eq!(
        audit,
        (
            Some(nurse),
            Some(w.a1.device),
            "session".into(),
            "success".into()
        )
    );

    // The response was lost; the device sends the same batch again.
    let again = push(&app, &device, &ops).await;
    assert_eq!(again.status, StatusCode::OK, "{again:?}");
    assert!(again.body["accepted"].as_array().unwrap().is_empty());
    assert_eq!(list_ids(&again.body, "duplicates"), ids);
    assert_eq!(stored(&app).await, (2, 1, 3));

    // The same id twice in one batch is applied once.
    let op = record(w.a1.patient, nurse, note("Twice"));
    let r = push(&app, &device, &[op.clone(), op.clone()]).await;
    assert_eq!(r.body["accepted"].as_array().unwrap().len(), 1, "{r:?}");
    assert_eq!(r.body["duplicates"].as_array().unwrap().len(), 1, "{r:?}");
    assert_eq!(stored(&app).await.0, 3);
}

#[tokio::test]
async fn a_mixed_batch_applies_the_valid_operations_and_rejects_the_rest() {
    let Setup {
        app,
        w,
        device,
        nurse,
    } = setup().await;
    let prn = record(
        w.a1.patient,
        nurse,
        json!({"kind": "prn_administration", "medication": "Acetaminophen", "dose": "500 mg",
               "route": "oral", "reason": "knee pain"}),
    );
    let prn_id: Uuid = prn["id"].as_str().unwrap().parse().unwrap();
    let follow_up = record_at(
        w.a1.patient,
        nurse,
        json!({"kind": "prn_follow_up", "effectiveness": "effective"}),
        Utc::now(),
        Some(prn_id),
    );
    let good = record(w.a1.patient, nurse, note("Walked to lunch"));
    let bad_vitals = record(
        w.a1.patient,
        nurse,
        json!({"kind": "vital_signs", "pulse_bpm": 300, "temperature_c": 98.6}),
    );
    let other_facility = record(w.a2.patient, nurse, note("Wrong facility"));
    let feature_off = record(
        w.a1.patient,
        nurse,
        json!({"kind": "wandering_alert", "alert": "exit_door", "location": "east exit"}),
    );
    let mut v4 = record(w.a1.patient, nurse, note("Random id"));
    v4["id"] = json!(Uuid::new_v4());
    let foreign_author = record(w.a1.patient, w.a2.staff, note("Author of another facility"));
    let amends_unknown = record_at(
        w.a1.patient,
        nurse,
        note("Fix"),
        Utc::now(),
        Some(Uuid::now_v7()),
    );
    let ops = vec![
        prn.clone(),
        follow_up.clone(),
        good.clone(),
        bad_vitals.clone(),
        other_facility.clone(),
        feature_off.clone(),
        v4.clone(),
        foreign_author.clone(),
        amends_unknown.clone(),
    ];
    let r = push(&app, &device, &ops).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let id = |op: &Value| op["id"].as_str().unwrap().to_owned();
    assert_eq!(
        list_ids(&r.body, "accepted"),
        vec![id(&prn), id(&follow_up), id(&good)]
    );
    let rejected: Vec<(String, String, Vec<String>)> = r.body["rejected"]
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
        .collect();
    assert_eq!(
        rejected,
        vec![
            (
                id(&bad_vitals),
                "VALIDATION_FAILED".into(),
                vec!["body.pulse_bpm".into(), "body.temperature_c".into()]
            ),
            (
                id(&other_facility),
                "NOT_FOUND".into(),
                vec!["patient_id".into()]
            ),
            (
                id(&feature_off),
                "FORBIDDEN".into(),
                vec!["body.kind".into()]
            ),
            (id(&v4), "VALIDATION_FAILED".into(), vec!["id".into()]),
            (
                id(&foreign_author),
                "NOT_FOUND".into(),
                vec!["author_user_id".into()]
            ),
            (
                id(&amends_unknown),
                "NOT_FOUND".into(),
                vec!["amends".into()]
            ),
        ]
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM clinical_records").await,
        3
    );
    // Rejections are not remembered as applied: they are judged again if resent.
    assert_eq!(count(&app, "SELECT count(*) FROM sync_operations").await, 3);
    let again = push(&app, &device, std::slice::from_ref(&feature_off)).await;
    assert_eq!(again.body["rejected"][0]["code"], "FORBIDDEN", "{again:?}");

    // An organization admin of another facility may document here (audited).
    let org_admin = w.user(Role::OrgAdmin);
    sqlx::query("UPDATE users SET facility_id = $1 WHERE id = $2")
        .bind(w.a2.facility)
        .bind(org_admin)
        .execute(&app.owner)
        .await
        .unwrap();
    sign_in_on_device(&app, &device, org_admin).await;
    let r = push(
        &app,
        &device,
        &[record(w.a1.patient, org_admin, note("Visiting admin"))],
    )
    .await;
    assert_eq!(r.body["accepted"].as_array().unwrap().len(), 1, "{r:?}");
    let audited = count(
        &app,
        &format!("SELECT count(*) FROM audit_events WHERE action = 'record.create' AND cross_facility AND actor_user_id = {org_admin}"),
    )
    .await;
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn unsupported_versions_get_426_and_nothing_is_applied() {
    let Setup {
        app,
        w,
        device,
        nurse,
    } = setup().await;
    let ops = vec![record(w.a1.patient, nurse, note("From an old app"))];
    for (protocol, schema) in [
        (SYNC_PROTOCOL_VERSION + 1, DEVICE_SCHEMA_VERSION),
        (SYNC_PROTOCOL_VERSION, DEVICE_SCHEMA_VERSION + 1),
        (SYNC_PROTOCOL_VERSION, 1),
    ] {
        let r = app
            .post(
                "/api/sync/push",
                &device,
                json!({"protocol_version": protocol, "schema_version": schema,
                       "device_time": Utc::now(), "operations": ops}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UPGRADE_REQUIRED, "{r:?}");
        assert_eq!(r.code(), "UNSUPPORTED_VERSION");
        let r = app
            .get(
                &format!("/api/sync/pull?protocol_version={protocol}&schema_version={schema}"),
                &device,
            )
            .await;
        assert_eq!(r.status, StatusCode::UPGRADE_REQUIRED, "{r:?}");
    }
    assert_eq!(
        count(&app, "SELECT count(*) FROM clinical_records").await,
        0
    );
    assert_eq!(count(&app, "SELECT count(*) FROM sync_operations").await, 0);

    // Empty and oversized batches are refused whole, naming `operations`.
    let r = push(&app, &device, &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert_eq!(r.code(), "VALIDATION_FAILED");
    assert!(r.body["error"]["fields"]["operations"].is_array());
    let many: Vec<Value> = (0..501)
        .map(|_| record(w.a1.patient, nurse, note("x")))
        .collect();
    let r = push(&app, &device, &many).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert!(r.body["error"]["fields"]["operations"].is_array());
    // A user token is not a device token.
    let user = w.token(Role::Rn).to_owned();
    let r = push(&app, &user, &ops).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
    assert_eq!(
        count(&app, "SELECT count(*) FROM clinical_records").await,
        0
    );
}

#[tokio::test]
async fn initial_then_incremental_pulls_deliver_each_change_once() {
    let Setup {
        app,
        w,
        device,
        nurse,
    } = setup().await;
    let r = push(
        &app,
        &device,
        &[record(w.a1.patient, nurse, note("Before the first pull"))],
    )
    .await;
    assert_eq!(r.body["accepted"].as_array().unwrap().len(), 1);
    // A small page size forces several pages.
    let (changes, cursor) = pull_all(&app, &device, None, Some(2)).await;
    assert_eq!(ids_of(&changes, "facility"), vec![json!(w.a1.facility)]);
    assert_eq!(ids_of(&changes, "patient"), vec![json!(w.a1.patient)]);
    let staff: HashSet<i64> = of_type(&changes, "staff")
        .iter()
        .map(|c| c["data"]["id"].as_i64().unwrap())
        .collect();
    assert!(
        staff.contains(&w.a1.staff) && staff.contains(&nurse),
        "{staff:?}"
    );
    assert_eq!(ids_of(&changes, "badge"), vec![json!(w.a1.badge)]);
    assert_eq!(of_type(&changes, "record").len(), 1);
    assert_eq!(of_type(&changes, "patient")[0]["data"]["version"], 1);
    let page = pull_page(&app, &device, None, None).await;
    assert!(
        page.body["badge_key"].is_null(),
        "no badge assigned through the API yet"
    );

    // Nothing new: an empty page, and the cursor stays usable.
    let r = pull_page(&app, &device, Some(&cursor), None).await;
    assert!(r.body["changes"].as_array().unwrap().is_empty(), "{r:?}");
    assert_eq!(r.body["has_more"], false);

    // One change after the first pull arrives once.
    let rn = w.token(Role::Rn).to_owned();
    let u = app
        .put(
            &format!("/api/patients/{}", w.a1.patient),
            &rn,
            json!({"room": "14A"}),
        )
        .await;
    assert_eq!(u.status, StatusCode::OK, "{u:?}");
    let (changes, cursor) = pull_all(&app, &device, Some(&cursor), None).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["type"], "patient");
    assert_eq!(changes[0]["data"]["room"], "14A");
    assert_eq!(changes[0]["data"]["version"], 2);
    let (changes, _) = pull_all(&app, &device, Some(&cursor), None).await;
    assert!(changes.is_empty(), "{changes:?}");

    // A badge login's counters do not move the feed.
    sqlx::query("UPDATE badges SET last_used_at = now(), failed_pin_attempts = 1 WHERE id = $1")
        .bind(w.a1.badge)
        .execute(&app.owner)
        .await
        .unwrap();
    let (changes, _) = pull_all(&app, &device, Some(&cursor), None).await;
    assert!(changes.is_empty(), "{changes:?}");
}

#[tokio::test]
async fn removals_arrive_as_tombstones() {
    let Setup { app, w, device, .. } = setup().await;
    let (_, cursor) = pull_all(&app, &device, None, None).await;
    let admin = w.token(Role::FacilityAdmin).to_owned();
    let r = app
        .put(
            &format!("/api/patients/{}", w.a1.patient),
            &admin,
            json!({"status": "discharged"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let (changes, cursor) = pull_all(&app, &device, Some(&cursor), None).await;
    assert_eq!(
        changes,
        vec![json!({"type": "patient_removed", "data": {"id": w.a1.patient}})]
    );

    sqlx::query("UPDATE badges SET revoked_at = now() WHERE id = $1")
        .bind(w.a1.badge)
        .execute(&app.owner)
        .await
        .unwrap();
    let (changes, cursor) = pull_all(&app, &device, Some(&cursor), None).await;
    assert_eq!(
        changes,
        vec![json!({"type": "badge_revoked", "data": {"id": w.a1.badge}})]
    );

    // A staff member moves to another facility: gone from this feed (with
    // the badge that follows them), present in the other one.
    let (mover, _) = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::Lpn).await;
    let badge = crate::helpers::insert_badge(&app.owner, w.a1.org, w.a1.facility, mover).await;
    let (changes, cursor) = pull_all(&app, &device, Some(&cursor), None).await;
    assert_eq!(ids_of(&changes, "staff"), vec![json!(mover)]);
    assert_eq!(ids_of(&changes, "badge"), vec![json!(badge)]);
    sqlx::query("UPDATE users SET facility_id = $1 WHERE id = $2")
        .bind(w.a2.facility)
        .bind(mover)
        .execute(&app.owner)
        .await
        .unwrap();
    let (changes, cursor) = pull_all(&app, &device, Some(&cursor), None).await;
    assert_eq!(
        changes,
        vec![
            json!({"type": "staff_removed", "data": {"id": mover}}),
            json!({"type": "badge_revoked", "data": {"id": badge}}),
        ]
    );
    let a2_device = device_token_for(&app.owner, w.a2.device).await;
    let (a2_changes, _) = pull_all(&app, &a2_device, None, None).await;
    assert!(ids_of(&a2_changes, "staff").contains(&json!(mover)));
    assert!(ids_of(&a2_changes, "badge").contains(&json!(badge)));

    // A deactivated user: staff_removed, and their badges revoked.
    let (leaver, _) = insert_user(&app.owner, w.a1.org, w.a1.facility, Role::Cna).await;
    let leaver_badge =
        crate::helpers::insert_badge(&app.owner, w.a1.org, w.a1.facility, leaver).await;
    let (_, cursor) = pull_all(&app, &device, Some(&cursor), None).await;
    sqlx::query("UPDATE users SET is_active = false WHERE id = $1")
        .bind(leaver)
        .execute(&app.owner)
        .await
        .unwrap();
    let (changes, _) = pull_all(&app, &device, Some(&cursor), None).await;
    let kinds: HashSet<(String, i64)> = changes
        .iter()
        .map(|c| {
            (
                c["type"].as_str().unwrap().to_owned(),
                c["data"]["id"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        HashSet::from([
            ("staff_removed".into(), leaver),
            ("badge_revoked".into(), leaver_badge)
        ])
    );
}

/// Every organization and facility id in a JSON value.
fn tenant_ids(v: &Value, out: &mut Vec<(String, i64)>) {
    match v {
        Value::Object(map) => {
            for (k, val) in map {
                match (k.as_str(), val.as_i64()) {
                    ("organization_id" | "facility_id", Some(id)) => out.push((k.clone(), id)),
                    _ => tenant_ids(val, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| tenant_ids(i, out)),
        _ => {}
    }
}

#[tokio::test]
async fn a_device_never_receives_another_facilitys_rows() {
    let Setup {
        app,
        w,
        device,
        nurse,
    } = setup().await;
    // Documentation everywhere.
    let b_device = device_token_for(&app.owner, w.b1.device).await;
    let a2_device = device_token_for(&app.owner, w.a2.device).await;
    let b_nurse = insert_user(&app.owner, w.b1.org, w.b1.facility, Role::Rn)
        .await
        .0;
    let a2_nurse = insert_user(&app.owner, w.a1.org, w.a2.facility, Role::Rn)
        .await
        .0;
    for (dev, patient, author) in [
        (&device, w.a1.patient, nurse),
        (&b_device, w.b1.patient, b_nurse),
        (&a2_device, w.a2.patient, a2_nurse),
    ] {
        if author != nurse {
            sign_in_on_device(&app, dev, author).await;
        }
        let r = push(&app, dev, &[record(patient, author, note("Shift note"))]).await;
        assert_eq!(r.body["accepted"].as_array().unwrap().len(), 1, "{r:?}");
    }
    let (changes, cursor) = pull_all(&app, &device, None, None).await;
    let mut ids = Vec::new();
    tenant_ids(&json!(changes), &mut ids);
    assert!(!ids.is_empty());
    for (key, id) in &ids {
        let expected = if key == "facility_id" {
            w.a1.facility
        } else {
            w.a1.org
        };
        assert_eq!(
            *id, expected,
            "{key} {id} reached a device of facility {}",
            w.a1.facility
        );
    }
    let staff: Vec<Value> = ids_of(&changes, "staff");
    assert!(!staff.contains(&json!(w.a2.staff)) && !staff.contains(&json!(b_nurse)));

    // A cursor copied from a device of another facility: 400, audited.
    let (_, b_cursor) = pull_all(&app, &b_device, None, None).await;
    let r = pull_page(&app, &device, Some(&b_cursor), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert_eq!(r.code(), "VALIDATION_FAILED");
    assert!(r.body["error"]["fields"]["cursor"].is_array());
    assert!(r.body.get("changes").is_none());
    let denied = count(
        &app,
        &format!("SELECT count(*) FROM audit_events WHERE action = 'sync.pull' AND outcome = 'denied' AND actor_device_id = {}", w.a1.device),
    )
    .await;
    assert_eq!(denied, 1);

    // Forged cursors: garbage, another facility's id, a position ahead of the feed.
    use base64::Engine;
    let forge = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    for bad in [
        "not-a-cursor".to_owned(),
        forge(format!("v1.{}.0", w.b1.facility)),
        forge(format!("v1.{}.999999999", w.a1.facility)),
    ] {
        let r = pull_page(&app, &device, Some(&bad), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {r:?}");
        assert!(r.body["error"]["fields"]["cursor"].is_array());
    }
    // A forged earlier position of its own facility only replays its own feed.
    let (changes, _) = pull_all(
        &app,
        &device,
        Some(&forge(format!("v1.{}.0", w.a1.facility))),
        None,
    )
    .await;
    let mut ids = Vec::new();
    tenant_ids(&json!(changes), &mut ids);
    assert!(ids.iter().all(|(k, id)| *id
        == if k == "facility_id" {
            w.a1.facility
        } else {
            w.a1.org
        }));
    // Changes elsewhere after this device's cursor do not reach it.
    sqlx::query("UPDATE patients SET room = 'B2' WHERE id = $1")
        .bind(w.b1.patient)
        .execute(&app.owner)
        .await
        .unwrap();
    let (changes, _) = pull_all(&app, &device, Some(&cursor), None).await;
    assert!(changes.is_empty(), "{changes:?}");
}

/// Two writers of one facility: the one that takes its position second
/// cannot commit before the first, so a reader in between skips nothing.
#[tokio::test]
async fn a_cursor_never_skips_a_change_committed_later() {
    let Setup { app, w, device, .. } = setup().await;
    let (_, cursor) = pull_all(&app, &device, None, None).await;

    let mut first = app.owner.begin().await.unwrap();
    let first_patient: i64 = sqlx::query_scalar(
        "INSERT INTO patients (organization_id, facility_id, mrn, first_name, last_name, date_of_birth) \
         VALUES ($1, $2, 'C-1', 'First', 'Writer', '1940-01-01') RETURNING id",
    )
    .bind(w.a1.org)
    .bind(w.a1.facility)
    .fetch_one(&mut *first)
    .await
    .unwrap();
    // The second writer starts while the first is open, and must wait for it.
    let pool = app.owner.clone();
    let (org, facility) = (w.a1.org, w.a1.facility);
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let (inserted_tx, inserted_rx) = tokio::sync::oneshot::channel::<i64>();
    let second = tokio::spawn(async move {
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("SELECT set_config('application_name', 'second_writer', true)")
            .execute(&mut *tx)
            .await
            .unwrap();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO patients (organization_id, facility_id, mrn, first_name, last_name, date_of_birth) \
             VALUES ($1, $2, 'C-2', 'Second', 'Writer', '1940-01-01') RETURNING id",
        )
        .bind(org)
        .bind(facility)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        inserted_tx.send(id).unwrap();
        release_rx.await.unwrap();
        tx.commit().await.unwrap();
    });
    // Wait until the second writer is blocked on the facility's feed lock.
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'second_writer' AND wait_event_type = 'Lock'",
        )
        .fetch_one(&app.owner)
        .await
        .unwrap();
        if waiting == 1 {
            break;
        }
        tokio::task::yield_now().await;
    }
    let (changes, mid_cursor) = pull_all(&app, &device, Some(&cursor), None).await;
    assert!(changes.is_empty(), "nothing is committed yet: {changes:?}");
    first.commit().await.unwrap();
    let second_patient = inserted_rx.await.unwrap();
    // The second writer holds its position but has not committed.
    let (changes, mid_cursor) = pull_all(&app, &device, Some(&mid_cursor), None).await;
    assert_eq!(ids_of(&changes, "patient"), vec![json!(first_patient)]);
    release_tx.send(()).unwrap();
    second.await.unwrap();
    let (changes, _) = pull_all(&app, &device, Some(&mid_cursor), None).await;
    assert_eq!(ids_of(&changes, "patient"), vec![json!(second_patient)]);
}

#[tokio::test]
async fn a_device_clock_hours_off_changes_no_ordering() {
    let Setup {
        app,
        w,
        device,
        nurse,
    } = setup().await;
    // The nurse's shift began an hour ago (her session on the device).
    sqlx::query("UPDATE device_sessions SET started_at = started_at - interval '1 hour'")
        .execute(&app.owner)
        .await
        .unwrap();
    let now = Utc::now();
    // The device's clock runs three hours ahead; the note was written ten
    // minutes before the upload, by that clock.
    let device_now = now + Duration::hours(3);
    let op = record_at(
        w.a1.patient,
        nurse,
        note("Ahead"),
        device_now - Duration::minutes(10),
        None,
    );
    let r = push_at(&app, &device, &[op], device_now).await;
    assert_eq!(r.body["accepted"].as_array().unwrap().len(), 1, "{r:?}");
    // A second device with a correct clock writes five minutes ago.
    let op = record_at(
        w.a1.patient,
        nurse,
        note("Correct"),
        now - Duration::minutes(5),
        None,
    );
    let r = push(&app, &device, &[op]).await;
    assert_eq!(r.body["accepted"].as_array().unwrap().len(), 1, "{r:?}");

    let rn = w.token(Role::Rn).to_owned();
    let page = app
        .get(&format!("/api/patients/{}/records", w.a1.patient), &rn)
        .await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    let items = page.body["items"].as_array().unwrap();
    let texts: Vec<&str> = items
        .iter()
        .map(|i| i["body"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["Correct", "Ahead"],
        "newest first, on the server's clock"
    );
    let ahead = &items[1];
    let occurred: DateTime<Utc> = ahead["occurred_at"].as_str().unwrap().parse().unwrap();
    let recorded: DateTime<Utc> = ahead["recorded_at"].as_str().unwrap().parse().unwrap();
    // Stored as sent (PostgreSQL keeps microseconds).
    let sent = device_now - Duration::minutes(10);
    assert!(
        (recorded - sent).num_microseconds() == Some(0),
        "{recorded} vs {sent}"
    );
    let expected = now - Duration::minutes(10);
    assert!(
        (occurred - expected).num_seconds().abs() < 60,
        "occurred_at {occurred} should be about {expected}"
    );
    assert!(occurred <= Utc::now());
    assert_eq!(ahead["device_id"], w.a1.device);

    // Pages walk the timeline; other tenants' patients are not found.
    let first = app
        .get(
            &format!("/api/patients/{}/records?limit=1", w.a1.patient),
            &rn,
        )
        .await;
    let next = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = app
        .get(
            &format!(
                "/api/patients/{}/records?limit=1&cursor={next}",
                w.a1.patient
            ),
            &rn,
        )
        .await;
    assert_eq!(second.body["items"][0]["body"]["text"], "Ahead");
    assert!(second.body["next_cursor"].is_null());
    let foreign = app
        .get(&format!("/api/patients/{}/records", w.b1.patient), &rn)
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let bad = app
        .get(
            &format!("/api/patients/{}/records?cursor=zzz", w.a1.patient),
            &rn,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_stale_patient_update_gets_409_with_the_current_patient() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let patient = insert_patient(&app.owner, w.a1.org, w.a1.facility, "active").await;
    let rn = token_for(&app.owner, w.user(Role::Rn)).await;
    let path = format!("/api/patients/{patient}");
    let loaded = app.get(&path, &rn).await;
    assert_eq!(loaded.body["version"], 1);
    let first = app
        .put(&path, &rn, json!({"room": "3A", "version": 1}))
        .await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    assert_eq!(first.body["version"], 2);
    // A second nurse, who also loaded version 1.
    let stale = app
        .put(&path, &rn, json!({"room": "9Z", "version": 1}))
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{stale:?}");
    assert_eq!(stale.code(), "CONFLICT");
    assert_eq!(stale.body["error"]["current"]["room"], "3A");
    assert_eq!(stale.body["error"]["current"]["version"], 2);
    let now = app.get(&path, &rn).await;
    assert_eq!(now.body["room"], "3A");
    assert_eq!(now.body["version"], 2);
    // Without a version, the update applies (and still counts).
    let blind = app.put(&path, &rn, json!({"room": "4B"})).await;
    assert_eq!(blind.body["version"], 3);
    // Other errors carry no `current`.
    let other = app
        .call(Method::PUT, &path, Some(&rn), Some(json!({"mrn": ""})))
        .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(other.body["error"].get("current").is_none());
}

#[tokio::test]
async fn the_load_generator_fills_a_facility_the_feed_serves_in_full() {
    let app = spawn_app().await;
    let loaded = tend_api::load::seed_sync_load(
        &app.owner,
        tend_api::load::SyncLoad {
            patients: 12,
            staff: 20,
            records: 3000,
        },
    )
    .await
    .unwrap();
    let device = device_token_for(&app.owner, loaded.device_id).await;
    let (changes, _) = pull_all(&app, &device, None, Some(1000)).await;
    assert_eq!(of_type(&changes, "facility").len(), 1);
    assert_eq!(of_type(&changes, "patient").len(), 12);
    assert_eq!(of_type(&changes, "staff").len(), 20);
    assert_eq!(of_type(&changes, "badge").len(), 20);
    assert_eq!(of_type(&changes, "record").len(), 3000);
    let ids: HashSet<&str> = of_type(&changes, "record")
        .iter()
        .map(|c| c["data"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3000);
    assert!(ids
        .iter()
        .all(|id| id.parse::<Uuid>().unwrap().get_version_num() == 7));
    let page = pull_page(&app, &device, None, Some(10)).await;
    assert!(page.body["badge_key"].is_string());
    let remaining = page.body["remaining"].as_u64().unwrap();
    assert!((3000..=3100).contains(&remaining), "{remaining}");

    // Records outside the window, or of patients no longer in care, stay home.
    sqlx::query(
        "UPDATE facilities SET policy = '{\"documentation_window_days\": 7}' WHERE id = $1",
    )
    .bind(loaded.facility_id)
    .execute(&app.owner)
    .await
    .unwrap();
    let (changes, _) = pull_all(&app, &device, None, None).await;
    let records = of_type(&changes, "record").len();
    assert!(
        (600..=800).contains(&records),
        "about 7 of 30 days: {records}"
    );
}

fn resident_viewed(user: Option<i64>, patient: Option<i64>, at: DateTime<Utc>) -> Value {
    let mut data = json!({"action": "resident_viewed", "occurred_at": at, "outcome": "success"});
    if let Some(u) = user {
        data["user_id"] = json!(u);
    }
    if let Some(p) = patient {
        data["patient_id"] = json!(p);
    }
    json!({"id": Uuid::now_v7(), "seq": 1, "payload": {"type": "audit", "data": data}})
}

#[tokio::test]
async fn residents_opened_on_a_device_are_reads_in_the_audit_log_with_user_and_device() {
    let Setup {
        app,
        w,
        device,
        nurse,
    } = setup().await;
    // One look made while the device was offline an hour ago, one just now.
    let offline_at = Utc::now() - Duration::hours(1);
    let ops = [
        resident_viewed(Some(nurse), Some(w.a1.patient), offline_at),
        resident_viewed(Some(nurse), Some(w.a1.patient), Utc::now()),
    ];
    let r = push(&app, &device, &ops).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["accepted"].as_array().unwrap().len(), 2, "{r:?}");

    // "Who looked at this resident's record, when, from which device?"
    let admin = w.token(Role::FacilityAdmin);
    let log = app
        .get(
            &format!(
                "/api/audit-events?resource_type=patient&resource_id={}&action=patient.read",
                w.a1.patient
            ),
            admin,
        )
        .await;
    assert_eq!(log.status, StatusCode::OK, "{log:?}");
    let reads: Vec<&Value> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor_device_id"] == json!(w.a1.device))
        .collect();
    assert_eq!(reads.len(), 2, "{log:?}");
    for e in &reads {
        assert_eq!(e["actor_user_id"], json!(nurse));
        assert_eq!(e["resource_id"], json!(w.a1.patient));
        assert_eq!(e["facility_id"], json!(w.a1.facility));
        assert_eq!(e["cross_facility"], json!(false));
    }
    let times: Vec<DateTime<Utc>> = reads
        .iter()
        .map(|e| e["at"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        times
            .iter()
            .any(|t| (*t - offline_at).num_seconds().abs() < 5),
        "the offline look keeps its time: {times:?}"
    );

    // A look at a resident of another facility, or one that names nobody, is refused.
    let before = count(
        &app,
        "SELECT count(*) FROM audit_events WHERE action = 'patient.read'",
    )
    .await;
    let bad = [
        resident_viewed(Some(nurse), Some(w.b1.patient), Utc::now()),
        resident_viewed(Some(nurse), None, Utc::now()),
        resident_viewed(None, Some(w.a1.patient), Utc::now()),
    ];
    let r = push(&app, &device, &bad).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let rejected = r.body["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 3, "{r:?}");
    assert_eq!(rejected[0]["code"], "NOT_FOUND");
    assert!(rejected[0]["fields"]["patient_id"].is_array(), "{r:?}");
    assert_eq!(rejected[1]["code"], "VALIDATION_FAILED");
    assert!(rejected[1]["fields"]["patient_id"].is_array(), "{r:?}");
    assert_eq!(rejected[2]["code"], "VALIDATION_FAILED");
    assert!(rejected[2]["fields"]["user_id"].is_array(), "{r:?}");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_events WHERE action = 'patient.read'"
        )
        .await,
        before,
        "nothing half-written"
    );
}

fn correction(patient: i64, author: i64, amends: Uuid, reason: &str, body: Value) -> Value {
    json!({"id": Uuid::now_v7(), "seq": 1, "payload": {"type": "record", "data": {
        "patient_id": patient, "author_user_id": author, "recorded_at": Utc::now(),
        "amends": amends, "correction_reason": reason, "body": body}}})
}

/// A correction is a new record of the same kind that amends the original,
/// with why; the original is never changed, and both reach every device.
#[tokio::test]
async fn corrections_amend_a_record_of_the_same_kind_with_a_reason() {
    let Setup {
        app,
        w,
        device,
        nurse,
    } = setup().await;
    let p = w.a1.patient;
    let vitals = record(p, nurse, json!({"kind": "vital_signs", "pulse_bpm": 160}));
    let original: Uuid = vitals["id"].as_str().unwrap().parse().unwrap();
    // The original and its correction may travel in the same batch.
    let fixed = correction(
        p,
        nurse,
        original,
        "Pulse was 60, typed 160",
        json!({"kind": "vital_signs", "pulse_bpm": 60}),
    );
    let r = push(&app, &device, &[vitals.clone(), fixed.clone()]).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(list_ids(&r.body, "accepted").len(), 2, "{:?}", r.body);

    // Refused: another kind, a reason of one letter, a reason without a record.
    let wrong_kind = correction(p, nurse, original, "Wrong field", note("pulse 60"));
    let short = correction(
        p,
        nurse,
        original,
        "x",
        json!({"kind": "vital_signs", "pulse_bpm": 61}),
    );
    let mut orphan = record(p, nurse, note("no record named"));
    orphan["payload"]["data"]["correction_reason"] = json!("Typo in the note");
    let r = push(&app, &device, &[wrong_kind, short, orphan]).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let rejected = r.body["rejected"].as_array().unwrap();
    let fields: Vec<Vec<String>> = rejected
        .iter()
        .map(|x| x["fields"].as_object().unwrap().keys().cloned().collect())
        .collect();
    assert_eq!(
        fields,
        [vec!["body.kind"], vec!["correction_reason"], vec!["amends"]],
        "{rejected:?}"
    );

    // The server holds both, the original as it was; the feed carries the reason.
    let records = app
        .get(&format!("/api/patients/{p}/records"), w.token(Role::Rn))
        .await;
    let items = records.body["items"].as_array().unwrap();
    let by_id = |id: &Value| items.iter().find(|r| r["id"] == *id).unwrap().clone();
    assert_eq!(by_id(&vitals["id"])["body"]["pulse_bpm"], 160);
    assert_eq!(by_id(&vitals["id"])["correction_reason"], Value::Null);
    assert_eq!(by_id(&fixed["id"])["amends"], vitals["id"]);
    assert_eq!(
        by_id(&fixed["id"])["correction_reason"],
        "Pulse was 60, typed 160"
    );
    let other = device_token_for(&app.owner, w.a1.device).await;
    let (changes, _) = pull_all(&app, &other, None, None).await;
    let pulled = of_type(&changes, "record");
    let fixed_pulled = pulled
        .iter()
        .find(|c| c["data"]["id"] == fixed["id"])
        .expect("the correction is in the feed");
    assert_eq!(
        fixed_pulled["data"]["correction_reason"],
        "Pulse was 60, typed 160"
    );
}

/// A note written offline is judged by the state when it was written: its
/// author deactivated, or its resident moved away, since then does not undo
/// it; written after, it is refused.
#[tokio::test]
async fn offline_notes_are_judged_by_the_state_when_they_were_written() {
    let Setup {
        app,
        w,
        device,
        nurse,
    } = setup().await;
    let p = w.a1.patient;
    let written = Utc::now();
    let before_anything = record_at(p, nurse, note("Settled after lunch"), written, None);
    let moved = insert_patient(&app.owner, w.a1.org, w.a1.facility, "active").await;
    let before_the_move = record_at(moved, nurse, note("Packed for the move"), written, None);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;

    // Meanwhile the resident moves to the sister facility and the nurse's
    // account is closed.
    let r = app
        .put(
            &format!("/api/patients/{moved}"),
            w.token(Role::OrgAdmin),
            json!({"facility_id": w.a2.facility}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    sqlx::query("UPDATE users SET is_active = false WHERE id = $1")
        .bind(nurse)
        .execute(&app.owner)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;

    let after_the_move = record_at(moved, nurse, note("Written too late"), Utc::now(), None);
    let after_closing = record_at(p, nurse, note("Written after closing"), Utc::now(), None);
    let r = push(
        &app,
        &device,
        &[
            before_anything.clone(),
            before_the_move.clone(),
            after_the_move.clone(),
            after_closing.clone(),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let accepted = list_ids(&r.body, "accepted");
    assert!(
        accepted.contains(&before_anything["id"].as_str().unwrap().to_owned()),
        "{:?}",
        r.body
    );
    assert!(
        accepted.contains(&before_the_move["id"].as_str().unwrap().to_owned()),
        "{:?}",
        r.body
    );
    let rejected = r.body["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2, "{:?}", r.body);
    assert_eq!(rejected[0]["id"], after_the_move["id"]);
    assert!(
        rejected[0]["fields"]["patient_id"].is_array(),
        "{rejected:?}"
    );
    assert_eq!(rejected[1]["id"], after_closing["id"]);
    assert!(
        rejected[1]["fields"]["author_user_id"].is_array(),
        "{rejected:?}"
    );

    // The note written before the move stays filed where it was written.
    let facility: i64 =
        sqlx::query_scalar("SELECT facility_id FROM clinical_records WHERE id = $1")
            .bind(
                before_the_move["id"]
                    .as_str()
                    .unwrap()
                    .parse::<Uuid>()
                    .unwrap(),
            )
            .fetch_one(&app.owner)
            .await
            .unwrap();
    assert_eq!(facility, w.a1.facility);
}
