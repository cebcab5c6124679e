//! Live wandering alerts: the devices' push channel (Server-Sent Events fed
//! by PostgreSQL NOTIFY), resuming with Last-Event-ID, acknowledgement pushed
//! to every connection of the facility whatever instance holds it, escalation
//! won by exactly one instance, and nothing crossing facilities.

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tend_domain::wire::{DEVICE_SCHEMA_VERSION, SYNC_PROTOCOL_VERSION};
use tend_domain::Role;
use uuid::Uuid;

use crate::helpers::{
    device_token_for, insert_user, set_feature, sign_in_on_device, spawn_app_with, token_for,
    world, TestApp, World,
};

/// One open push connection, read event by event.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    async fn open(base: &str, device: &str, last: Option<i64>) -> Self {
        let mut request = reqwest::Client::new()
            .get(format!("{base}/api/devices/events"))
            .bearer_auth(device);
        if let Some(last) = last {
            request = request.header("Last-Event-ID", last.to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers();
        assert_eq!(headers["content-type"], "text/event-stream");
        assert_eq!(headers["cache-control"], "no-cache");
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// Reads until the server ends the stream (true), or a minute passes
    /// (false): a revoked device must not keep listening until its token
    /// would have expired (hours).
    async fn ends(&mut self) -> bool {
        let read = async { while let Ok(Some(_)) = self.response.chunk().await {} };
        tokio::time::timeout(std::time::Duration::from_secs(60), read)
            .await
            .is_ok()
    }

    /// The next event (comments skipped): its id and data. Fails after a
    /// minute rather than hang the suite.
    async fn next(&mut self) -> (i64, Value) {
        let read = async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    let mut id = None;
                    let mut data = String::new();
                    for line in block.lines() {
                        if let Some(v) = line.strip_prefix("id:") {
                            id = Some(v.trim().parse::<i64>().unwrap());
                        } else if let Some(v) = line.strip_prefix("data:") {
                            data.push_str(v.trim_start());
                        }
                    }
                    if let Some(id) = id {
                        assert!(block.contains("event: wandering_alert"), "{block}");
                        return (id, serde_json::from_str(&data).unwrap());
                    }
                    continue;
                }
                let chunk = self.response.chunk().await.unwrap().expect("stream ended");
                self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(60), read)
            .await
            .expect("no event within a minute")
    }
}

struct Setup {
    app: TestApp,
    w: World,
    /// A1's device (signed in by the nurse) and a second device of A1.
    writer: String,
    reader: String,
    /// The second device's id.
    reader_device: i64,
    nurse: i64,
}

async fn setup(config: tend_api::identity::IdentityConfig) -> Setup {
    let app = spawn_app_with(config).await;
    let w = world(&app).await;
    for site in [&w.a1, &w.a2, &w.b1] {
        set_feature(&app.owner, site.facility, "wandering_alerts", true).await;
    }
    sqlx::query(
        "UPDATE patients SET first_name = 'Maria', last_name = 'Secret', room = '12' WHERE id = $1",
    )
    .bind(w.a1.patient)
    .execute(&app.owner)
    .await
    .unwrap();
    let writer = device_token_for(&app.owner, w.a1.device).await;
    let second = crate::helpers::insert_device(&app.owner, w.a1.org, w.a1.facility).await;
    let reader = device_token_for(&app.owner, second).await;
    let nurse = w.user(Role::Rn);
    sign_in_on_device(&app, &writer, nurse).await;
    Setup {
        app,
        w,
        writer,
        reader,
        reader_device: second,
        nurse,
    }
}

/// Pushes one wandering_alert record through sync, as a device does.
async fn raise(
    app: &TestApp,
    device: &str,
    patient: i64,
    author: i64,
    alert: &str,
    amends: Option<Uuid>,
) -> Uuid {
    let id = Uuid::now_v7();
    let r = app
        .post(
            "/api/sync/push",
            device,
            json!({"protocol_version": SYNC_PROTOCOL_VERSION, "schema_version": DEVICE_SCHEMA_VERSION,
                   "device_time": Utc::now(), "operations": [
                {"id": id, "seq": 1, "payload": {"type": "record", "data": {
                    "patient_id": patient, "author_user_id": author, "recorded_at": Utc::now(),
                    "amends": amends, "body": {"kind": "wandering_alert", "alert": alert, "location": "east exit"}}}}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        r.body["accepted"].as_array().map(Vec::len),
        Some(1),
        "{r:?}"
    );
    id
}

fn quiet() -> tend_api::identity::IdentityConfig {
    tend_api::identity::IdentityConfig {
        alert_escalation_every: std::time::Duration::ZERO,
        ..Default::default()
    }
}

#[tokio::test]
async fn an_alert_synced_by_one_device_is_pushed_to_another_with_room_and_first_name_only() {
    let s = setup(quiet()).await;
    let mut events = Events::open(&s.app.base, &s.reader, None).await;
    let id = raise(
        &s.app,
        &s.writer,
        s.w.a1.patient,
        s.nurse,
        "exit_door",
        None,
    )
    .await;
    let (seq, event) = events.next().await;
    assert_eq!(event["seq"], seq);
    assert_eq!(event["event"], "raised");
    let alert = &event["alert"];
    assert_eq!(alert["id"], id.to_string());
    assert_eq!(alert["room"], "12");
    assert_eq!(alert["first_name"], "Maria");
    assert_eq!(alert["alert"], "exit_door");
    assert_eq!(alert["location"], "east exit");
    assert_eq!(alert["acknowledged_by"], Value::Null);
    let text = event.to_string();
    assert!(
        !text.contains("Secret") && !text.contains("patient_id") && !text.contains("mrn"),
        "{text}"
    );

    // A fresh connection is told of the alert still open.
    let mut fresh = Events::open(&s.app.base, &s.reader, None).await;
    assert_eq!(fresh.next().await.0, seq);
}

#[tokio::test]
async fn a_connection_resumed_with_last_event_id_gets_what_it_missed_in_order() {
    let s = setup(quiet()).await;
    let mut events = Events::open(&s.app.base, &s.reader, None).await;
    raise(
        &s.app,
        &s.writer,
        s.w.a1.patient,
        s.nurse,
        "exit_door",
        None,
    )
    .await;
    let (first, _) = events.next().await;
    drop(events);
    let second = raise(&s.app, &s.writer, s.w.a1.patient, s.nurse, "missing", None).await;
    let found = raise(
        &s.app,
        &s.writer,
        s.w.a1.patient,
        s.nurse,
        "found",
        Some(second),
    )
    .await;
    let mut resumed = Events::open(&s.app.base, &s.reader, Some(first)).await;
    let (a, e1) = resumed.next().await;
    let (b, e2) = resumed.next().await;
    let (c, e3) = resumed.next().await;
    let (d, e4) = resumed.next().await;
    assert!(first < a && a < b && b < c && c < d);
    assert_eq!(
        (e1["event"].as_str(), e1["alert"]["id"].as_str()),
        (Some("raised"), Some(second.to_string().as_str()))
    );
    assert_eq!(
        (e2["event"].as_str(), e2["alert"]["id"].as_str()),
        (Some("raised"), Some(found.to_string().as_str()))
    );
    // The found closes both earlier alerts of the resident.
    assert_eq!(e3["event"], "resolved");
    assert_eq!(e4["event"], "resolved");
    assert!(e4["alert"]["resolved_at"].is_string());

    // Nonsense positions are refused.
    let r = reqwest::Client::new()
        .get(format!("{}/api/devices/events", s.app.base))
        .bearer_auth(&s.reader)
        .header("Last-Event-ID", "soon")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = reqwest::Client::new()
        .get(format!("{}/api/devices/events", s.app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_acknowledgement_reaches_connections_on_every_instance_and_a_second_keeps_the_first() {
    let s = setup(quiet()).await;
    let (other, _server) = s.app.second_instance_with(quiet()).await;
    let mut here = Events::open(&s.app.base, &s.reader, None).await;
    let mut there = Events::open(&other, &s.writer, None).await;
    let id = raise(
        &s.app,
        &s.writer,
        s.w.a1.patient,
        s.nurse,
        "exit_door",
        None,
    )
    .await;
    assert_eq!(here.next().await.1["event"], "raised");
    assert_eq!(there.next().await.1["event"], "raised");

    let path = format!("/api/wandering-alerts/{id}/acknowledge");
    let nurse_name: String = sqlx::query_scalar("SELECT full_name FROM users WHERE id = $1")
        .bind(s.nurse)
        .fetch_one(&s.app.owner)
        .await
        .unwrap();
    let r = s.app.post(&path, s.w.token(Role::Rn), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["acknowledged_by"], nurse_name.as_str());
    for events in [&mut here, &mut there] {
        let (_, e) = events.next().await;
        assert_eq!(e["event"], "acknowledged");
        assert_eq!(e["alert"]["acknowledged_by"], nurse_name.as_str());
    }
    // A second acknowledgement, by someone else: 200, the first acknowledger kept.
    let r = s.app.post(&path, s.w.token(Role::Cna), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["acknowledged_by"], nurse_name.as_str());
    let audits: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE action = 'wandering_alert.acknowledge'",
    )
    .fetch_one(&s.app.owner)
    .await
    .unwrap();
    assert_eq!(audits, 1);

    // Not clinical staff: 403. Another facility's clinician: 403 or 404, never 200.
    let r = s
        .app
        .post(&path, s.w.token(Role::FacilityAdmin), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
    let (b_nurse, _) = insert_user(&s.app.owner, s.w.b1.org, s.w.b1.facility, Role::Rn).await;
    let r = s
        .app
        .post(&path, &token_for(&s.app.owner, b_nurse).await, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
    let (a2_nurse, _) = insert_user(&s.app.owner, s.w.a2.org, s.w.a2.facility, Role::Rn).await;
    let r = s
        .app
        .post(&path, &token_for(&s.app.owner, a2_nurse).await, json!({}))
        .await;
    assert!(
        matches!(r.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{r:?}"
    );
    let r = s
        .app
        .post(
            &format!("/api/wandering-alerts/{}/acknowledge", Uuid::now_v7()),
            s.w.token(Role::Rn),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
    let r = s
        .app
        .post(
            "/api/wandering-alerts/12/acknowledge",
            s.w.token(Role::Rn),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
}

#[tokio::test]
async fn a_deactivated_device_stops_listening_at_once_on_every_instance() {
    let s = setup(quiet()).await;
    let (other, _server) = s.app.second_instance_with(quiet()).await;
    let mut here = Events::open(&s.app.base, &s.reader, None).await;
    let mut there = Events::open(&other, &s.reader, None).await;
    let mut colleague = Events::open(&other, &s.writer, None).await;
    let reader_id = s.reader_device;

    let r = s
        .app
        .post(
            &format!("/api/devices/{reader_id}/deactivate"),
            s.w.token(Role::FacilityAdmin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    // Ended on the instance that deactivated it and, by NOTIFY, on the other.
    assert!(
        here.ends().await,
        "the deactivated device still listens here"
    );
    assert!(
        there.ends().await,
        "the deactivated device still listens on the other instance"
    );
    // A colleague's device on the same instance keeps its channel.
    raise(
        &s.app,
        &s.writer,
        s.w.a1.patient,
        s.nurse,
        "exit_door",
        None,
    )
    .await;
    assert_eq!(colleague.next().await.1["event"], "raised");
    // And the deactivated device cannot open it again.
    let again = reqwest::Client::new()
        .get(format!("{}/api/devices/events", s.app.base))
        .bearer_auth(&s.reader)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn another_facilitys_device_is_never_sent_the_alert() {
    let s = setup(quiet()).await;
    let b_device = device_token_for(&s.app.owner, s.w.b1.device).await;
    let a2_device = device_token_for(&s.app.owner, s.w.a2.device).await;
    let mut b = Events::open(&s.app.base, &b_device, None).await;
    let mut a2 = Events::open(&s.app.base, &a2_device, Some(0)).await;
    raise(
        &s.app,
        &s.writer,
        s.w.a1.patient,
        s.nurse,
        "exit_door",
        None,
    )
    .await;
    // Each facility's own alert is the first thing its device hears.
    let b_nurse = s.w.b1.staff;
    sign_in_on_device(&s.app, &b_device, b_nurse).await;
    let b_alert = raise(&s.app, &b_device, s.w.b1.patient, b_nurse, "missing", None).await;
    assert_eq!(b.next().await.1["alert"]["id"], b_alert.to_string());
    let a2_nurse = s.w.a2.staff;
    sign_in_on_device(&s.app, &a2_device, a2_nurse).await;
    let a2_alert = raise(
        &s.app,
        &a2_device,
        s.w.a2.patient,
        a2_nurse,
        "missing",
        None,
    )
    .await;
    assert_eq!(a2.next().await.1["alert"]["id"], a2_alert.to_string());
}

#[tokio::test]
async fn an_unacknowledged_alert_is_escalated_once_by_concurrent_instances() {
    let s = setup(quiet()).await;
    sqlx::query("UPDATE facilities SET settings = settings || '{\"wandering_escalation_minutes\": 0}' WHERE id = $1")
        .bind(s.w.a1.facility)
        .execute(&s.app.owner)
        .await
        .unwrap();
    let mut events = Events::open(&s.app.base, &s.reader, None).await;
    raise(
        &s.app,
        &s.writer,
        s.w.a1.patient,
        s.nurse,
        "exit_door",
        None,
    )
    .await;
    let acknowledged = raise(&s.app, &s.writer, s.w.a1.patient, s.nurse, "missing", None).await;
    let r = s
        .app
        .post(
            &format!("/api/wandering-alerts/{acknowledged}/acknowledge"),
            s.w.token(Role::Rn),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    for _ in 0..3 {
        events.next().await;
    }
    let url: tend_api::config::DatabaseUrl = s.app.app_url.parse().unwrap();
    let other = tend_api::db::connect(&url, 2).await.unwrap();
    let (a, b, c) = tokio::join!(
        tend_api::api::alerts::escalate_due(&s.app.app_pool),
        tend_api::api::alerts::escalate_due(&other),
        tend_api::api::alerts::escalate_due(&other),
    );
    assert_eq!(a.unwrap() + b.unwrap() + c.unwrap(), 1);
    let (_, e) = events.next().await;
    assert_eq!(e["event"], "escalated");
    assert!(e["alert"]["escalated_at"].is_string());
    assert_eq!(
        tend_api::api::alerts::escalate_due(&other).await.unwrap(),
        0
    );
    let audits: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE action = 'wandering_alert.escalate'",
    )
    .fetch_one(&s.app.owner)
    .await
    .unwrap();
    assert_eq!(audits, 1);
}

#[tokio::test]
async fn the_periodic_task_escalates_by_itself() {
    let s = setup(tend_api::identity::IdentityConfig {
        alert_escalation_every: std::time::Duration::from_millis(100),
        ..Default::default()
    })
    .await;
    sqlx::query("UPDATE facilities SET settings = settings || '{\"wandering_escalation_minutes\": 0}' WHERE id = $1")
        .bind(s.w.a1.facility)
        .execute(&s.app.owner)
        .await
        .unwrap();
    let mut events = Events::open(&s.app.base, &s.reader, None).await;
    raise(
        &s.app,
        &s.writer,
        s.w.a1.patient,
        s.nurse,
        "exit_door",
        None,
    )
    .await;
    assert_eq!(events.next().await.1["event"], "raised");
    assert_eq!(events.next().await.1["event"], "escalated");
}
