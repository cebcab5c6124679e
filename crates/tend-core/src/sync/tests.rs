//! The sync engine against a small in-memory fake of the two endpoints and
//! a real encrypted vault. Loop tests run on tokio's paused clock, so waits
//! are virtual and the asserted delays are the loop's decisions.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex as StdMutex;

use chrono::NaiveDate;
use tend_domain::records::{
    CareNote, ClinicalRecord, RecordBody, VitalSigns, WanderingAlert, WanderingAlertType,
};
use tend_domain::wire::{
    OperationPayload, Patient, RejectedOperation, RemovedId, StaffMember, SyncChange, SyncedBadge,
};
use tend_domain::{FacilityType, PatientStatus, Role};
use tokio::time::Instant;

use super::testing::engine;
use super::*;

const REJECTED_PATIENT: i64 = 999;
/// A user the fake server says had no session on this device.
const FORGED_AUTHOR: i64 = 666;

enum Failure {
    /// Answer with this code, changing nothing.
    Error(ErrorCode),
    /// Apply the push, then lose the answer.
    LoseResponse,
    /// Never answer.
    Hang,
    /// Refuse the named parameter (422 with field errors).
    Refuse(&'static str),
}

#[derive(Default)]
struct FakeServer {
    inner: StdMutex<FakeInner>,
}

#[derive(Default)]
struct FakeInner {
    /// Operation ids the server applied, in order.
    applied: Vec<Uuid>,
    known: HashSet<Uuid>,
    feed: Vec<SyncChange>,
    failures: VecDeque<Failure>,
    /// The protocol the server serves (1 unless a test changes it).
    refuse_protocol: Option<u32>,
    pushes: Vec<(Instant, Vec<Uuid>)>,
    pulls: Vec<(Instant, Option<String>)>,
    /// How far the device's clock is ahead (the fake cannot see the
    /// engine's clock, so tests tell it).
    device_clock_ahead: chrono::Duration,
}

fn api_err(code: ErrorCode) -> CoreError {
    CoreError::Api {
        code,
        message: code.to_string(),
    }
}

impl FakeServer {
    fn fail(&self, failures: impl IntoIterator<Item = Failure>) {
        self.inner.lock().unwrap().failures.extend(failures);
    }

    fn applied(&self) -> Vec<Uuid> {
        self.inner.lock().unwrap().applied.clone()
    }

    fn pushes(&self) -> Vec<(Instant, Vec<Uuid>)> {
        self.inner.lock().unwrap().pushes.clone()
    }

    fn add(&self, change: SyncChange) {
        self.inner.lock().unwrap().feed.push(change);
    }

    /// The scripted failure for this call, if any (`None` = answer normally).
    async fn scripted(&self, version: u32) -> Result<bool> {
        let failure = {
            let mut inner = self.inner.lock().unwrap();
            if inner.refuse_protocol == Some(version) {
                return Err(api_err(ErrorCode::UnsupportedVersion));
            }
            inner.failures.pop_front()
        };
        match failure {
            None => Ok(false),
            Some(Failure::Error(ErrorCode::Offline)) => Err(CoreError::Offline("down".into())),
            Some(Failure::Error(code)) => Err(api_err(code)),
            Some(Failure::LoseResponse) => Ok(true),
            Some(Failure::Hang) => std::future::pending().await,
            Some(Failure::Refuse(field)) => Err(CoreError::ApiFields {
                code: ErrorCode::ValidationFailed,
                message: "refused".into(),
                fields: [(
                    field.to_owned(),
                    vec!["not a cursor this API issued".to_owned()],
                )]
                .into(),
            }),
        }
    }
}

impl SyncApi for FakeServer {
    async fn push(&self, body: &SyncPush) -> Result<SyncPushResult> {
        self.inner.lock().unwrap().pushes.push((
            Instant::now(),
            body.operations.iter().map(|o| o.id).collect(),
        ));
        let lose = self.scripted(body.protocol_version).await?;
        let server_time = Utc::now();
        let mut inner = self.inner.lock().unwrap();
        let offset = server_time - (body.device_time + inner.device_clock_ahead);
        let mut result = SyncPushResult {
            server_time,
            accepted: vec![],
            duplicates: vec![],
            rejected: vec![],
        };
        for op in &body.operations {
            let OperationPayload::Record(draft) = &op.payload else {
                result.accepted.push(op.id);
                continue;
            };
            if inner.known.contains(&op.id) {
                result.duplicates.push(op.id);
            } else if draft.author_user_id == FORGED_AUTHOR {
                result.rejected.push(RejectedOperation {
                    id: op.id,
                    code: ErrorCode::ForgedAuthor,
                    message: "the author had no session on this device at the record's time".into(),
                    fields: [(
                        "author_user_id".to_owned(),
                        vec!["not signed in on this device at the record's time".to_owned()],
                    )]
                    .into(),
                });
            } else if draft.patient_id == REJECTED_PATIENT {
                result.rejected.push(RejectedOperation {
                    id: op.id,
                    code: ErrorCode::NotFound,
                    message: "no such patient in this facility".into(),
                    fields: Default::default(),
                });
            } else {
                inner.known.insert(op.id);
                inner.applied.push(op.id);
                inner.feed.push(SyncChange::Record(ClinicalRecord {
                    id: op.id,
                    organization_id: 1,
                    facility_id: 1,
                    patient_id: draft.patient_id,
                    author_user_id: draft.author_user_id,
                    device_id: Some(7),
                    recorded_at: draft.recorded_at,
                    occurred_at: draft.recorded_at + offset,
                    received_at: server_time,
                    amends: draft.amends,
                    correction_reason: None,
                    body: draft.body.clone(),
                }));
                result.accepted.push(op.id);
            }
        }
        if lose {
            return Err(CoreError::Offline("the answer was cut off".into()));
        }
        Ok(result)
    }

    async fn pull(&self, query: &SyncPullQuery) -> Result<SyncPullPage> {
        self.inner
            .lock()
            .unwrap()
            .pulls
            .push((Instant::now(), query.cursor.clone()));
        let lose = self.scripted(query.protocol_version).await?;
        if lose {
            return Err(CoreError::Offline("the answer was cut off".into()));
        }
        let inner = self.inner.lock().unwrap();
        let from: usize = query
            .cursor
            .as_deref()
            .map(|c| c.parse().unwrap())
            .unwrap_or(0);
        let limit = query.limit.unwrap_or(5000) as usize;
        let to = (from + limit).min(inner.feed.len());
        Ok(SyncPullPage {
            server_time: Utc::now(),
            cursor: to.to_string(),
            has_more: to < inner.feed.len(),
            remaining: (inner.feed.len() - to) as u64,
            changes: inner.feed[from..to].to_vec(),
            badge_key: None,
        })
    }
}

fn note(patient_id: i64, text: &str) -> RecordDraft {
    RecordDraft {
        patient_id,
        author_user_id: 4,
        recorded_at: Utc::now(),
        amends: None,
        correction_reason: None,
        body: RecordBody::CareNote(CareNote { text: text.into() }),
    }
}

fn settings() -> SyncSettings {
    SyncSettings::default()
}

fn count(engine: &SyncEngine, sql: &str) -> i64 {
    let vault = engine.vault().lock().unwrap();
    vault.connection().query_row(sql, [], |r| r.get(0)).unwrap()
}

fn patient(id: i64, mrn: &str, last_name: &str) -> Patient {
    Patient {
        id,
        organization_id: 1,
        facility_id: 1,
        mrn: mrn.into(),
        first_name: "Ada".into(),
        last_name: last_name.into(),
        date_of_birth: NaiveDate::from_ymd_opt(1940, 2, 3).unwrap(),
        status: PatientStatus::Active,
        room: Some("12B".into()),
        admitted_at: None,
        discharged_at: None,
        allergies: None,
        code_status: None,
        diet: None,
        fall_risk: None,
        emergency_contact: None,
        created_at: Utc::now(),
        updated_at: Utc::now(),
        version: 1,
    }
}

fn page(cursor: &str, changes: Vec<SyncChange>) -> SyncPullPage {
    SyncPullPage {
        server_time: Utc::now(),
        cursor: cursor.into(),
        has_more: false,
        remaining: 0,
        changes,
        badge_key: None,
    }
}

#[tokio::test]
async fn a_record_is_validated_and_written_to_outbox_and_timeline_together() {
    let (engine, _dir) = engine();
    let implausible = RecordDraft {
        body: RecordBody::VitalSigns(VitalSigns {
            temperature_c: Some(98.6),
            pulse_bpm: Some(72),
            ..Default::default()
        }),
        ..note(3, "")
    };
    let err = engine.write_record(implausible).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationFailed);
    assert!(err.fields().contains_key("body.temperature_c"), "{err:?}");
    assert_eq!(count(&engine, "SELECT count(*) FROM outbox"), 0);
    assert_eq!(count(&engine, "SELECT count(*) FROM records"), 0);

    let first = engine.write_record(note(3, "Slept well")).await.unwrap();
    let second = engine.write_record(note(3, "Ate lunch")).await.unwrap();
    assert_eq!(first.id.get_version_num(), 7);
    assert_eq!(first.sync_state, RecordSyncState::Pending);
    assert_eq!(count(&engine, "SELECT min(seq) FROM outbox"), 1);
    assert_eq!(count(&engine, "SELECT max(seq) FROM outbox"), 2);
    let timeline = engine.timeline(3, 10).await.unwrap();
    assert_eq!(
        timeline.iter().map(|r| r.id).collect::<Vec<_>>(),
        [second.id, first.id]
    );
    assert!(timeline
        .iter()
        .all(|r| r.written_here && r.occurred_at.is_none()));
    let status = engine.status();
    assert_eq!(status.pending, 2);
    assert!(status.oldest_pending_since.is_some());
    assert_eq!(engine.heartbeat_state().pending_outbox, 2);
    assert!(engine.timeline(4, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_round_pushes_then_pulls_and_own_records_come_back_synced_with_server_time() {
    let (engine, _dir) = engine();
    let server = FakeServer::default();
    server.add(SyncChange::Patient(patient(3, "MRN-3", "Lovelace")));
    let mut written = Vec::new();
    for i in 0..3 {
        written.push(
            engine
                .write_record(note(3, &format!("note {i}")))
                .await
                .unwrap()
                .id,
        );
    }
    let report = engine.sync_once(&server, &settings()).await.unwrap();
    assert_eq!(report.pushed, 3);
    assert_eq!(report.pulled, 4);
    assert_eq!(server.applied(), written);
    let timeline = engine.timeline(3, 10).await.unwrap();
    assert_eq!(timeline.len(), 3);
    assert!(timeline
        .iter()
        .all(|r| r.sync_state == RecordSyncState::Synced && r.occurred_at.is_some()));
    let status = engine.status();
    assert_eq!((status.pending, status.online), (0, Some(true)));
    assert!(status.last_sync.is_some() && status.last_error.is_none());
    assert_eq!(
        count(
            &engine,
            "SELECT count(*) FROM outbox WHERE state = 'synced'"
        ),
        3
    );
    // The next round sends nothing and resumes the feed where it stopped.
    let report = engine.sync_once(&server, &settings()).await.unwrap();
    assert_eq!((report.pushed, report.pulled), (0, 0));
    assert_eq!(server.pushes().len(), 1);
}

#[tokio::test]
async fn a_lost_answer_is_resent_and_the_server_calls_it_a_duplicate() {
    let (engine, _dir) = engine();
    let server = FakeServer::default();
    for i in 0..3 {
        engine
            .write_record(note(3, &format!("note {i}")))
            .await
            .unwrap();
    }
    server.fail([Failure::LoseResponse]);
    let err = engine.sync_once(&server, &settings()).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Offline);
    let status = engine.status();
    assert_eq!(status.pending, 3);
    assert_eq!(status.online, Some(false));
    assert_eq!(status.last_error.as_ref().unwrap().code, ErrorCode::Offline);
    assert_eq!(server.applied().len(), 3);

    let report = engine.sync_once(&server, &settings()).await.unwrap();
    assert_eq!(report.pushed, 3);
    let pushes = server.pushes();
    assert_eq!(pushes.len(), 2);
    assert_eq!(pushes[0].1, pushes[1].1, "the same batch was sent again");
    assert_eq!(server.applied().len(), 3, "and applied once");
    assert_eq!(engine.status().pending, 0);
    assert!(engine.status().last_error.is_none());
}

#[tokio::test]
async fn a_rejected_operation_is_kept_with_its_reason_and_never_blocks_the_rest() {
    let (engine, _dir) = engine();
    let server = FakeServer::default();
    let bad = engine
        .write_record(note(REJECTED_PATIENT, "wrong patient"))
        .await
        .unwrap();
    for i in 0..4 {
        engine
            .write_record(note(3, &format!("note {i}")))
            .await
            .unwrap();
    }
    let small_batches = SyncSettings {
        batch_size: 2,
        ..settings()
    };
    let report = engine.sync_once(&server, &small_batches).await.unwrap();
    assert_eq!((report.pushed, report.rejected), (4, 1));
    assert_eq!(server.pushes().len(), 3);
    let record = engine.record(bad.id).await.unwrap().unwrap();
    assert_eq!(record.sync_state, RecordSyncState::Rejected);
    let rejection = record.rejection.unwrap();
    assert_eq!(rejection.code, ErrorCode::NotFound);
    assert!(rejection.message.contains("no such patient"));
    let status = engine.status();
    assert_eq!((status.pending, status.rejected), (0, 1));
    // Written after the rejection: goes up, the rejected one is not resent.
    engine.write_record(note(3, "later")).await.unwrap();
    engine.sync_once(&server, &small_batches).await.unwrap();
    let pushes = server.pushes();
    assert_eq!(pushes.len(), 4);
    assert!(!pushes[3].1.contains(&bad.id));
    assert_eq!(server.applied().len(), 5);
}

#[tokio::test]
async fn a_record_refused_as_forged_is_kept_with_its_code_and_never_resent() {
    let (engine, _dir) = engine();
    let server = FakeServer::default();
    let forged = engine
        .write_record(RecordDraft {
            author_user_id: FORGED_AUTHOR,
            ..note(3, "claims someone who was not signed in")
        })
        .await
        .unwrap();
    let genuine = engine.write_record(note(3, "genuine")).await.unwrap();
    let report = engine.sync_once(&server, &settings()).await.unwrap();
    assert_eq!((report.pushed, report.rejected), (1, 1));
    assert_eq!(server.applied(), [genuine.id]);
    let record = engine.record(forged.id).await.unwrap().unwrap();
    assert_eq!(record.sync_state, RecordSyncState::Rejected);
    let rejection = record.rejection.unwrap();
    assert_eq!(rejection.code, ErrorCode::ForgedAuthor);
    assert!(rejection.message.contains("no session on this device"));
    assert!(
        rejection.message.contains("author_user_id"),
        "{}",
        rejection.message
    );
    let status = engine.status();
    assert_eq!((status.pending, status.rejected), (0, 1));
    // Later rounds push what is written later, never the refused record.
    engine.write_record(note(3, "later")).await.unwrap();
    engine.sync_once(&server, &settings()).await.unwrap();
    engine.sync_once(&server, &settings()).await.unwrap();
    let pushes = server.pushes();
    assert_eq!(pushes.len(), 2, "an empty outbox pushes nothing");
    assert!(!pushes[1].1.contains(&forged.id));
    assert_eq!(server.applied().len(), 2);
    assert_eq!(engine.status().rejected, 1);
}

#[test]
fn retry_delays_grow_to_the_cap_with_jitter_and_never_vanish() {
    let base = Duration::from_secs(1);
    let cap = Duration::from_secs(60);
    assert_eq!(retry_delay(1, base, cap, 0.0), Duration::from_millis(500));
    assert_eq!(retry_delay(1, base, cap, 1.0), Duration::from_secs(1));
    assert_eq!(retry_delay(3, base, cap, 1.0), Duration::from_secs(4));
    assert_eq!(retry_delay(7, base, cap, 1.0), cap);
    assert_eq!(
        retry_delay(u32::MAX, base, cap, 0.0),
        Duration::from_secs(30)
    );
    assert_eq!(
        retry_delay(2, base, cap, f64::NAN),
        Duration::from_millis(1500)
    );
    for failures in 1..100 {
        for unit in [0.0, 0.3, 0.999] {
            let d = retry_delay(failures, base, cap, unit);
            assert!(d >= Duration::from_millis(500) && d <= cap);
            // Never shorter than the previous failure's longest wait (below the cap).
            if failures > 1 && failures < 7 {
                assert!(d >= retry_delay(failures - 1, base, cap, 1.0));
            }
        }
    }
}

/// Waits (on the paused clock) until the status satisfies `done`.
async fn until(engine: &SyncEngine, done: impl Fn(&SyncStatus) -> bool) {
    let mut rx = engine.subscribe();
    rx.wait_for(|s| done(s)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn failures_back_off_longer_and_longer_and_the_loop_never_gives_up() {
    let (engine, _dir) = engine();
    let server = FakeServer::default();
    engine.write_record(note(3, "waiting")).await.unwrap();
    server.fail((0..9).map(|i| {
        if i % 3 == 2 {
            Failure::Error(ErrorCode::Unavailable)
        } else {
            Failure::Error(ErrorCode::Offline)
        }
    }));
    let defaults = settings();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let (end, ()) = tokio::join!(
        engine.run(&server, &defaults, async {
            let _ = stopped.await;
        }),
        async {
            until(&engine, |s| s.pending == 0 && !s.syncing).await;
            stop.send(()).unwrap();
        }
    );
    assert_eq!(end, SyncEnd::Shutdown);
    let pushes = server.pushes();
    assert_eq!(pushes.len(), 10, "nine failures, then success");
    assert_eq!(server.applied().len(), 1);
    let gaps: Vec<Duration> = pushes.windows(2).map(|w| w[1].0 - w[0].0).collect();
    for (i, gap) in gaps.iter().enumerate() {
        let longest = retry_delay(
            i as u32 + 1,
            Duration::from_secs(1),
            Duration::from_secs(60),
            1.0,
        );
        assert!(
            *gap >= longest / 2 && *gap <= longest + Duration::from_millis(10),
            "wait {i}: {gap:?} (at most {longest:?})"
        );
    }
    assert!(
        gaps[8] >= Duration::from_secs(30),
        "capped, not reset: {gaps:?}"
    );
    assert!(started.elapsed() >= Duration::from_secs(100));
    assert!(engine.status().last_error.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_local_write_is_synced_after_the_debounce_not_the_interval() {
    let (engine, _dir) = engine();
    let server = FakeServer::default();
    let defaults = settings();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (end, ()) = tokio::join!(
        engine.run(&server, &defaults, async {
            let _ = stopped.await;
        }),
        async {
            until(&engine, |s| s.last_sync.is_some() && !s.syncing).await;
            tokio::time::sleep(Duration::from_secs(5)).await;
            let written = Instant::now();
            engine.write_record(note(3, "a")).await.unwrap();
            engine.write_record(note(3, "b")).await.unwrap();
            until(&engine, |s| s.pending == 0 && !s.syncing).await;
            let waited = Instant::now() - written;
            assert!(waited >= Duration::from_millis(500), "{waited:?}");
            assert!(waited < Duration::from_secs(25), "{waited:?}");
            stop.send(()).unwrap();
        }
    );
    assert_eq!(end, SyncEnd::Shutdown);
    // Both writes went up together.
    let pushes = server.pushes();
    assert_eq!(pushes.len(), 1);
    assert_eq!(pushes[0].1.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_wandering_alert_goes_up_at_once_without_the_debounce() {
    let (engine, _dir) = engine();
    let server = FakeServer::default();
    let defaults = settings();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (end, ()) = tokio::join!(
        engine.run(&server, &defaults, async {
            let _ = stopped.await;
        }),
        async {
            until(&engine, |s| s.last_sync.is_some() && !s.syncing).await;
            tokio::time::sleep(Duration::from_secs(5)).await;
            let written = Instant::now();
            let mut alert = note(3, "unused");
            alert.body = RecordBody::WanderingAlert(WanderingAlert {
                alert: WanderingAlertType::ExitDoor,
                location: "east exit".into(),
                note: None,
            });
            engine.write_record(alert).await.unwrap();
            until(&engine, |s| s.pending == 0 && !s.syncing).await;
            let waited = Instant::now() - written;
            // Paused time: only the loop's own timers move the clock.
            assert!(waited < defaults.debounce, "{waited:?}");
            stop.send(()).unwrap();
        }
    );
    assert_eq!(end, SyncEnd::Shutdown);
    assert_eq!(server.pushes().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn sync_now_cuts_a_back_off_short() {
    let (engine, _dir) = engine();
    let server = FakeServer::default();
    engine.write_record(note(3, "a")).await.unwrap();
    server.fail((0..6).map(|_| Failure::Error(ErrorCode::Offline)));
    let defaults = settings();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (end, ()) = tokio::join!(
        engine.run(&server, &defaults, async {
            let _ = stopped.await;
        }),
        async {
            until(&engine, |s| s.last_error.is_some() && !s.syncing).await;
            // Several failures in, the back-off is long; the network returns.
            tokio::time::sleep(Duration::from_secs(40)).await;
            server.inner.lock().unwrap().failures.clear();
            let back = Instant::now();
            engine.sync_now();
            until(&engine, |s| s.pending == 0 && !s.syncing).await;
            assert!(Instant::now() - back < Duration::from_secs(1));
            stop.send(()).unwrap();
        }
    );
    assert_eq!(end, SyncEnd::Shutdown);
}

#[tokio::test(start_paused = true)]
async fn an_unsupported_version_keeps_the_outbox_asks_for_an_update_and_retries_slowly() {
    let (engine, _dir) = engine();
    let server = FakeServer::default();
    server.inner.lock().unwrap().refuse_protocol = Some(2);
    engine.write_record(note(3, "kept")).await.unwrap();
    let other_protocol = SyncSettings {
        protocol_version: 2,
        ..settings()
    };
    let err = engine
        .sync_once(&server, &other_protocol)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnsupportedVersion);
    let status = engine.status();
    assert!(status.update_needed);
    assert_eq!(status.pending, 1);
    assert!(engine.heartbeat_state().sync_errors);
    assert!(status.last_error.unwrap().message.contains("update"));

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (end, ()) = tokio::join!(
        engine.run(&server, &other_protocol, async {
            let _ = stopped.await;
        }),
        async {
            while server.pushes().len() < 3 {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            stop.send(()).unwrap();
        }
    );
    assert_eq!(end, SyncEnd::Shutdown);
    let pushes = server.pushes();
    assert!(pushes[2].0 - pushes[1].0 >= other_protocol.update_retry);
    assert_eq!(engine.status().pending, 1, "the outbox is intact");
    // The app updated: this build's protocol goes through.
    engine.sync_once(&server, &settings()).await.unwrap();
    let status = engine.status();
    assert!(!status.update_needed && status.pending == 0);
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_the_loop_while_idle_and_in_the_middle_of_a_call() {
    let (engine, _dir) = engine();
    let server = FakeServer::default();
    let defaults = settings();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (end, ()) = tokio::join!(
        engine.run(&server, &defaults, async {
            let _ = stopped.await;
        }),
        async {
            until(&engine, |s| s.last_sync.is_some() && !s.syncing).await;
            stop.send(()).unwrap();
        }
    );
    assert_eq!(end, SyncEnd::Shutdown);

    engine.write_record(note(3, "a")).await.unwrap();
    server.fail([Failure::Hang]);
    let defaults = settings();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (end, ()) = tokio::join!(
        engine.run(&server, &defaults, async {
            let _ = stopped.await;
        }),
        async {
            while server.pushes().is_empty() {
                tokio::task::yield_now().await;
            }
            stop.send(()).unwrap();
        }
    );
    assert_eq!(end, SyncEnd::Shutdown);
    assert_eq!(engine.status().pending, 1);
}

#[tokio::test(start_paused = true)]
async fn the_end_of_the_enrollment_ends_the_loop() {
    let (engine, _dir) = engine();
    let server = FakeServer::default();
    server.fail([
        Failure::Error(ErrorCode::Offline),
        Failure::Error(ErrorCode::DeviceDeactivated),
    ]);
    let end = engine
        .run(&server, &settings(), std::future::pending())
        .await;
    assert_eq!(end, SyncEnd::EnrollmentEnded(ErrorCode::DeviceDeactivated));
}

#[tokio::test]
async fn an_initial_sync_reports_progress_page_by_page() {
    let (engine, _dir) = engine();
    let server = FakeServer::default();
    for i in 1..=10 {
        server.add(SyncChange::Patient(patient(i, &format!("MRN-{i}"), "Doe")));
    }
    let mut rx = engine.subscribe();
    let seen = tokio::spawn(async move {
        let mut seen = Vec::new();
        while rx.changed().await.is_ok() {
            if let Some(p) = rx.borrow_and_update().initial_sync {
                seen.push(p);
            }
        }
        seen
    });
    let paged = SyncSettings {
        page_limit: Some(4),
        ..settings()
    };
    let report = engine.sync_once(&server, &paged).await.unwrap();
    assert_eq!((report.pulled, report.pages), (10, 3));
    assert_eq!(engine.patients("").await.unwrap().len(), 10);
    assert!(engine.status().initial_sync.is_none());
    drop(engine);
    // A watcher may miss intermediate values, never see them go backwards.
    let seen = seen.await.unwrap();
    assert_eq!(
        seen.last().map(|p| (p.received, p.percent)),
        Some((10, 100))
    );
    assert!(seen
        .windows(2)
        .all(|w| w[0].received <= w[1].received && w[0].percent <= w[1].percent));
    assert_eq!(
        progress(4, 6, true),
        InitialSyncProgress {
            received: 4,
            remaining: 6,
            percent: 40
        }
    );
    // An estimate of zero remaining with more to come is not "done".
    assert_eq!(progress(10, 0, true).percent, 99);
    assert_eq!(progress(0, 0, false).percent, 100);
}

#[tokio::test]
async fn a_page_is_applied_whole_or_not_at_all() {
    let (engine, _dir) = engine();
    let broken = page(
        "5",
        vec![
            SyncChange::Patient(patient(1, "MRN-1", "Lovelace")),
            // An MRN the vault refuses: the whole page rolls back.
            SyncChange::Patient(patient(2, "", "Hopper")),
        ],
    );
    {
        let mut vault = engine.vault().lock().unwrap();
        assert!(store::apply_page(vault.connection_mut(), &broken).is_err());
    }
    assert_eq!(count(&engine, "SELECT count(*) FROM roster_patients"), 0);
    assert_eq!(count(&engine, "SELECT count(*) FROM sync_cursors"), 0);
}

#[tokio::test]
async fn pages_upsert_the_facility_roster_staff_and_badges_and_tombstones_remove_them() {
    let (engine, _dir) = engine();
    let facility = SyncedFacility {
        id: 1,
        organization_id: 1,
        name: "Maple Grove".into(),
        facility_type: FacilityType::MemoryCare,
        timezone: "America/Chicago".into(),
        settings: Default::default(),
        features: [("behavior_tracking".to_owned(), true)].into(),
        policy: tend_domain::FacilityPolicy {
            handoff_hours: 8,
            idle_lock_kiosk_secs: 60,
            ..Default::default()
        },
    };
    let first = SyncPullPage {
        badge_key: Some("c2VjcmV0LWtleQ==".into()),
        ..page(
            "1",
            vec![
                SyncChange::Facility(facility.clone()),
                SyncChange::Patient(patient(1, "MRN-1", "Lovelace")),
                SyncChange::Patient(patient(2, "MRN-2", "Hopper")),
                SyncChange::Staff(StaffMember {
                    id: 10,
                    full_name: "Nora Nurse".into(),
                    role: Role::Rn,
                    employee_id: "E10".into(),
                    preferred_language: None,
                }),
                SyncChange::Badge(SyncedBadge {
                    id: 20,
                    user_id: 10,
                    badge_hash: "AB".repeat(32),
                }),
            ],
        )
    };
    {
        let mut vault = engine.vault().lock().unwrap();
        let conn = vault.connection_mut();
        store::apply_page(conn, &first).unwrap();
        conn.execute(
            "INSERT INTO badge_verifiers (badge_hash, user_id, organization_id, facility_id,
                 username, full_name, employee_id, role, pin_hash, pin_verified_at, expires_at,
                 updated_at)
             VALUES (?1, 10, 1, 1, 'nora', 'Nora Nurse', 'E10', 'RN', 'h', '2026-01-01',
                 '2030-01-01', '2026-01-01')",
            ["ab".repeat(32)],
        )
        .unwrap();
    }
    assert_eq!(engine.facility().await.unwrap(), Some(facility));
    let found = engine.patients("hop").await.unwrap();
    assert_eq!(found.iter().map(|p| p.id).collect::<Vec<_>>(), [2]);
    assert_eq!(engine.patients("12b").await.unwrap().len(), 2);
    assert_eq!(engine.patients("%").await.unwrap().len(), 0);
    assert_eq!(
        count(
            &engine,
            "SELECT count(*) FROM device_credentials WHERE name = 'badge_key'"
        ),
        1
    );

    // Patient 2's MRN moves to patient 3 in the same page as their removal.
    let second = page(
        "2",
        vec![
            SyncChange::Patient(patient(3, "MRN-2", "Turing")),
            SyncChange::PatientRemoved(RemovedId { id: 2 }),
            SyncChange::BadgeRevoked(RemovedId { id: 20 }),
            SyncChange::StaffRemoved(RemovedId { id: 10 }),
        ],
    );
    {
        let mut vault = engine.vault().lock().unwrap();
        store::apply_page(vault.connection_mut(), &second).unwrap();
    }
    let ids: Vec<i64> = engine
        .patients("")
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids, [1, 3]);
    assert_eq!(count(&engine, "SELECT count(*) FROM badges"), 0);
    assert_eq!(count(&engine, "SELECT count(*) FROM badge_verifiers"), 0);
    assert_eq!(count(&engine, "SELECT count(*) FROM staff"), 0);
    let vault = engine.vault().lock().unwrap();
    assert_eq!(
        store::stored_state(vault.connection())
            .unwrap()
            .cursor
            .as_deref(),
        Some("2")
    );
}

#[tokio::test]
async fn timelines_order_by_server_time_not_a_wrong_device_clock() {
    let (engine, _dir) = engine();
    let server = FakeServer::default();
    // This device's clock is three hours fast.
    let fast = RecordDraft {
        recorded_at: Utc::now() + chrono::Duration::hours(3),
        ..note(3, "written here")
    };
    server.inner.lock().unwrap().device_clock_ahead = chrono::Duration::hours(3);
    let mine = engine.write_record(fast).await.unwrap();
    engine.sync_once(&server, &settings()).await.unwrap();
    // Another device documents a minute later by the server's clock.
    let later = Utc::now() + chrono::Duration::minutes(1);
    server.add(SyncChange::Record(ClinicalRecord {
        id: Uuid::now_v7(),
        organization_id: 1,
        facility_id: 1,
        patient_id: 3,
        author_user_id: 5,
        device_id: Some(8),
        recorded_at: later,
        occurred_at: later,
        received_at: later,
        amends: None,
        correction_reason: None,
        body: RecordBody::CareNote(CareNote {
            text: "from another device".into(),
        }),
    }));
    engine.sync_once(&server, &settings()).await.unwrap();
    let timeline = engine.timeline(3, 10).await.unwrap();
    assert_eq!(timeline.len(), 2);
    assert_ne!(timeline[0].id, mine.id, "the later record comes first");
    let own = &timeline[1];
    assert!(own.occurred_at.unwrap() < own.recorded_at - chrono::Duration::hours(2));
}

#[tokio::test]
async fn uploaded_operations_are_pruned_after_a_week_and_sequence_numbers_never_reused() {
    let (engine, _dir) = engine();
    let server = FakeServer::default();
    engine.write_record(note(3, "old")).await.unwrap();
    engine.sync_once(&server, &settings()).await.unwrap();
    {
        let vault = engine.vault().lock().unwrap();
        vault
            .connection()
            .execute(
                "UPDATE outbox SET synced_at = '2020-01-01T00:00:00.000000Z'",
                [],
            )
            .unwrap();
    }
    engine.sync_once(&server, &settings()).await.unwrap();
    assert_eq!(count(&engine, "SELECT count(*) FROM outbox"), 0);
    // The record stays in the timeline.
    assert_eq!(engine.timeline(3, 10).await.unwrap().len(), 1);
    engine.write_record(note(3, "new")).await.unwrap();
    assert_eq!(count(&engine, "SELECT max(seq) FROM outbox"), 2);
}

#[tokio::test]
async fn a_position_the_server_refuses_starts_the_feed_over_instead_of_failing_forever() {
    let (engine, _dir) = engine();
    let server = FakeServer::default();
    server.add(SyncChange::Patient(patient(1, "MRN-1", "Lovelace")));
    engine.sync_once(&server, &settings()).await.unwrap();
    {
        // A cursor from before the server's database was restored.
        let vault = engine.vault().lock().unwrap();
        vault
            .connection()
            .execute("UPDATE sync_cursors SET cursor = '0'", [])
            .unwrap();
    }
    server.fail([Failure::Refuse("cursor")]);
    let report = engine.sync_once(&server, &settings()).await.unwrap();
    assert_eq!(report.pulled, 1);
    let pulls = server.inner.lock().unwrap().pulls.clone();
    assert_eq!(pulls.last().unwrap().1, None, "started over");
    assert_eq!(engine.patients("").await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_roster_walks_the_hall_in_room_order() {
    let (engine, _dir) = engine();
    let rooms = [
        (1, Some("102A"), "Baker"),
        (2, Some("9"), "Young"),
        (3, Some("101"), "Zeller"),
        (4, None, "Abbot"),
        (5, Some("102"), "Moore"),
        (6, Some("101"), "Adams"),
    ];
    let changes = rooms
        .iter()
        .map(|(id, room, last_name)| {
            SyncChange::Patient(Patient {
                room: room.map(str::to_owned),
                ..patient(*id, &format!("MRN-{id}"), last_name)
            })
        })
        .collect();
    {
        let mut vault = engine.vault().lock().unwrap();
        store::apply_page(vault.connection_mut(), &page("1", changes)).unwrap();
    }
    let order: Vec<i64> = engine
        .patients("")
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    // 9, 101 (Adams, Zeller), 102, 102A, then the resident without a room.
    assert_eq!(order, [2, 6, 3, 5, 1, 4]);
    let found: Vec<i64> = engine
        .patients("10")
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(found, [6, 3, 5, 1], "a search keeps the room order");
}

/// The audit events in the outbox, as (user, resident) pairs in order.
fn queued_reads(engine: &SyncEngine) -> Vec<(i64, i64)> {
    let vault = engine.vault().lock().unwrap();
    let mut stmt = vault
        .connection()
        .prepare("SELECT payload FROM outbox WHERE kind = 'audit' ORDER BY seq")
        .unwrap();
    let payloads: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    payloads
        .iter()
        .map(
            |p| match serde_json::from_str::<OperationPayload>(p).unwrap() {
                OperationPayload::Audit(e) => {
                    assert_eq!(
                        e.action,
                        tend_domain::wire::DeviceAuditAction::ResidentViewed
                    );
                    (e.user_id.unwrap(), e.patient_id.unwrap())
                }
                other => panic!("not an audit event: {other:?}"),
            },
        )
        .collect()
}

#[tokio::test]
async fn opening_a_residents_record_queues_one_read_per_look_for_the_audit_log() {
    let (engine, _dir) = engine();
    let server = FakeServer::default();
    server.add(SyncChange::Patient(patient(3, "MRN-3", "Lovelace")));
    server.add(SyncChange::Patient(patient(5, "MRN-5", "Hopper")));
    engine.sync_once(&server, &settings()).await.unwrap();
    let nurse = 4;
    let aide = 8;
    let t0 = Utc::now();

    // Offline or not, the look is written to the outbox with the page.
    engine.open_timeline(3, 20, nurse, t0).await.unwrap();
    assert_eq!(queued_reads(&engine), [(nurse, 3)]);
    assert_eq!(
        count(
            &engine,
            "SELECT count(*) FROM outbox WHERE state = 'pending'"
        ),
        1,
        "the read waits to be uploaded"
    );
    assert_eq!(
        engine.status().pending,
        0,
        "and is nobody's change waiting to sync"
    );

    // Reloading the page a few seconds later is the same look.
    engine
        .open_timeline(3, 50, nurse, t0 + chrono::Duration::seconds(20))
        .await
        .unwrap();
    assert_eq!(queued_reads(&engine).len(), 1);

    // Another resident, another person, or the same one a while later: new looks.
    engine
        .open_timeline(5, 20, nurse, t0 + chrono::Duration::seconds(30))
        .await
        .unwrap();
    engine
        .open_timeline(3, 20, aide, t0 + chrono::Duration::seconds(40))
        .await
        .unwrap();
    engine
        .open_timeline(
            3,
            20,
            nurse,
            t0 + READ_AUDIT_WINDOW + chrono::Duration::seconds(1),
        )
        .await
        .unwrap();
    assert_eq!(
        queued_reads(&engine),
        [(nurse, 3), (nurse, 5), (aide, 3), (nurse, 3)]
    );

    // A resident this device does not hold is nobody's record: nothing queued.
    assert!(engine
        .open_timeline(77, 20, nurse, t0)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(queued_reads(&engine).len(), 4);

    // The next round uploads them like any other operation.
    let report = engine.sync_once(&server, &settings()).await.unwrap();
    assert_eq!(report.pushed, 4);
    assert_eq!(
        count(
            &engine,
            "SELECT count(*) FROM outbox WHERE state = 'pending'"
        ),
        0
    );
}
