//! Stories of a device an administrator moves from Maple House (facility 1)
//! to Birch Court (facility 2), told against a small fake of the server that
//! knows both facilities and a real encrypted vault.

use std::sync::Mutex;

use chrono::{NaiveDate, Utc};
use tend_domain::records::{CareNote, RecordBody, RecordDraft};
use tend_domain::wire::{
    OperationPayload, Patient, RejectedOperation, SyncChange, SyncPullPage, SyncPullQuery,
    SyncPush, SyncPushResult, SyncedFacility,
};
use tend_domain::{ErrorCode, FacilityType, PatientStatus};
use uuid::Uuid;

use super::*;
use crate::sync::testing::engine;
use crate::sync::{store, SyncApi, SyncEngine, SyncSettings};
use crate::{CoreError, Result};

const MAPLE: i64 = 1;
const BIRCH: i64 = 2;
/// Residents of Maple House, and the one of Birch Court.
const ADA: i64 = 11;
const BEN: i64 = 12;
const CORA: i64 = 21;

fn resident(id: i64, facility_id: i64, first_name: &str) -> SyncChange {
    SyncChange::Patient(Patient {
        id,
        organization_id: 1,
        facility_id,
        mrn: format!("MRN-{id}"),
        first_name: first_name.into(),
        last_name: "Resident".into(),
        date_of_birth: NaiveDate::from_ymd_opt(1940, 2, 3).unwrap(),
        status: PatientStatus::Active,
        room: Some("1".into()),
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
    })
}

fn facility(id: i64, name: &str) -> SyncChange {
    SyncChange::Facility(SyncedFacility {
        id,
        organization_id: 1,
        name: name.into(),
        facility_type: FacilityType::Alf,
        timezone: "America/New_York".into(),
        settings: Default::default(),
        features: Default::default(),
        policy: Default::default(),
    })
}

/// The server: where the device is placed, what each facility's feed holds,
/// and which operation reached which facility.
struct Server {
    placed_in: Mutex<i64>,
    /// (facility the push named, operation) in arrival order.
    filed: Mutex<Vec<(Option<i64>, Uuid)>>,
    /// Pushes fail with this code while set.
    push_failure: Mutex<Option<ErrorCode>>,
    /// The cursor of every pull.
    pulls: Mutex<Vec<Option<String>>>,
}

impl Server {
    fn new() -> Self {
        Self {
            placed_in: Mutex::new(MAPLE),
            filed: Mutex::default(),
            push_failure: Mutex::default(),
            pulls: Mutex::default(),
        }
    }

    fn move_device_to(&self, facility: i64) {
        *self.placed_in.lock().unwrap() = facility;
    }

    fn residents_of(facility_id: i64) -> Vec<SyncChange> {
        match facility_id {
            MAPLE => vec![
                facility(MAPLE, "Maple House"),
                resident(ADA, MAPLE, "Ada"),
                resident(BEN, MAPLE, "Ben"),
            ],
            _ => vec![
                facility(BIRCH, "Birch Court"),
                resident(CORA, BIRCH, "Cora"),
            ],
        }
    }
}

impl SyncApi for Server {
    async fn push(&self, body: &SyncPush) -> Result<SyncPushResult> {
        if let Some(code) = *self.push_failure.lock().unwrap() {
            return Err(CoreError::Api {
                code,
                message: code.to_string(),
            });
        }
        let placed_in = *self.placed_in.lock().unwrap();
        let filed_in = body.facility_id.unwrap_or(placed_in);
        let mut result = SyncPushResult {
            server_time: Utc::now(),
            accepted: vec![],
            duplicates: vec![],
            rejected: vec![],
        };
        for op in &body.operations {
            let OperationPayload::Record(draft) = &op.payload else {
                continue;
            };
            let lives_there = Self::residents_of(filed_in)
                .iter()
                .any(|c| matches!(c, SyncChange::Patient(p) if p.id == draft.patient_id));
            if lives_there {
                self.filed.lock().unwrap().push((body.facility_id, op.id));
                result.accepted.push(op.id);
            } else {
                result.rejected.push(RejectedOperation {
                    id: op.id,
                    code: ErrorCode::NotFound,
                    message: "no such patient in this facility".into(),
                    fields: Default::default(),
                });
            }
        }
        Ok(result)
    }

    async fn pull(&self, query: &SyncPullQuery) -> Result<SyncPullPage> {
        self.pulls.lock().unwrap().push(query.cursor.clone());
        let placed_in = *self.placed_in.lock().unwrap();
        let changes = match query.cursor.as_deref() {
            Some(c) if c.starts_with(&format!("{placed_in}:")) => vec![],
            _ => Self::residents_of(placed_in),
        };
        Ok(SyncPullPage {
            server_time: Utc::now(),
            cursor: format!("{placed_in}:end"),
            has_more: false,
            remaining: 0,
            changes,
            badge_key: None,
        })
    }

    async fn placement(&self) -> Result<Option<Placement>> {
        let facility_id = *self.placed_in.lock().unwrap();
        Ok(Some(Placement {
            facility_id,
            facility_name: Some(
                if facility_id == MAPLE {
                    "Maple House"
                } else {
                    "Birch Court"
                }
                .into(),
            ),
        }))
    }
}

/// The device's enrollment record and its lock screen.
struct Device {
    enrolled_in: Mutex<Option<i64>>,
    saved: Mutex<Vec<Placement>>,
    sign_outs: Mutex<u32>,
}

impl Device {
    fn enrolled_in(facility: i64) -> Arc<Self> {
        Arc::new(Self {
            enrolled_in: Mutex::new(Some(facility)),
            saved: Mutex::default(),
            sign_outs: Mutex::default(),
        })
    }
}

impl Relocation for Device {
    fn enrolled_facility(&self) -> Result<Option<i64>> {
        Ok(*self.enrolled_in.lock().unwrap())
    }
    fn save_facility(&self, placement: &Placement) -> Result<()> {
        *self.enrolled_in.lock().unwrap() = Some(placement.facility_id);
        self.saved.lock().unwrap().push(placement.clone());
        Ok(())
    }
    fn sign_out_everyone(&self) {
        *self.sign_outs.lock().unwrap() += 1;
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

fn count(engine: &SyncEngine, sql: &str) -> i64 {
    let vault = engine.vault().lock().unwrap();
    vault.connection().query_row(sql, [], |r| r.get(0)).unwrap()
}

/// A device of Maple House that synced its residents.
async fn maple_device() -> (SyncEngine, Arc<Device>, Server, tempfile::TempDir) {
    let (engine, dir) = engine();
    let device = Device::enrolled_in(MAPLE);
    let engine = engine.following_moves(device.clone());
    let server = Server::new();
    engine
        .sync_once(&server, &SyncSettings::default())
        .await
        .unwrap();
    assert_eq!(count(&engine, "SELECT count(*) FROM roster_patients"), 2);
    (engine, device, server, dir)
}

#[tokio::test]
async fn a_moved_device_files_its_last_notes_in_the_old_facility_then_forgets_it_and_pulls_the_new_one(
) {
    let (engine, device, server, _dir) = maple_device().await;
    // Written offline, after the administrator's move but before the device heard of it.
    let note = engine.write_record(note(ADA, "Ate well")).await.unwrap();
    server.move_device_to(BIRCH);

    let report = engine
        .sync_once(&server, &SyncSettings::default())
        .await
        .unwrap();

    // The note reached the server once, named for Maple House, where Ada lives.
    assert_eq!(*server.filed.lock().unwrap(), [(Some(MAPLE), note.id)]);
    let moved = report.moved.expect("the device followed the move");
    assert_eq!((moved.from, moved.to, moved.uploaded), (MAPLE, BIRCH, 1));
    assert_eq!(moved.residents_erased, 2);
    // Whoever was signed in was signed out; the enrollment names Birch Court.
    assert_eq!(*device.sign_outs.lock().unwrap(), 1);
    assert_eq!(
        device.saved.lock().unwrap().as_slice(),
        [Placement {
            facility_id: BIRCH,
            facility_name: Some("Birch Court".into())
        }]
    );
    // Nothing of Maple House is left; Birch Court came from the start of its feed.
    assert_eq!(
        count(
            &engine,
            "SELECT count(*) FROM roster_patients WHERE facility_id = 1"
        ),
        0
    );
    assert_eq!(count(&engine, "SELECT count(*) FROM records"), 0);
    assert_eq!(count(&engine, "SELECT count(*) FROM outbox"), 0);
    assert_eq!(
        count(
            &engine,
            "SELECT count(*) FROM roster_patients WHERE facility_id = 2"
        ),
        1
    );
    assert_eq!(
        engine.facility().await.unwrap().unwrap().name,
        "Birch Court"
    );
    assert_eq!(server.pulls.lock().unwrap().last().unwrap(), &None);

    // The next round is an ordinary one.
    let again = engine
        .sync_once(&server, &SyncSettings::default())
        .await
        .unwrap();
    assert_eq!(again.moved, None);
    assert_eq!(*device.sign_outs.lock().unwrap(), 1);
}

#[tokio::test]
async fn when_the_upload_fails_nothing_is_erased_and_the_next_round_starts_the_move_over() {
    let (engine, device, server, _dir) = maple_device().await;
    let note = engine.write_record(note(BEN, "Fall risk")).await.unwrap();
    server.move_device_to(BIRCH);
    *server.push_failure.lock().unwrap() = Some(ErrorCode::Unavailable);

    let err = engine
        .sync_once(&server, &SyncSettings::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unavailable);
    // Still a Maple House device, with its residents and the waiting note.
    assert_eq!(*device.enrolled_in.lock().unwrap(), Some(MAPLE));
    assert_eq!(count(&engine, "SELECT count(*) FROM roster_patients"), 2);
    assert_eq!(
        count(
            &engine,
            "SELECT count(*) FROM outbox WHERE state = 'pending'"
        ),
        1
    );

    *server.push_failure.lock().unwrap() = None;
    let report = engine
        .sync_once(&server, &SyncSettings::default())
        .await
        .unwrap();
    assert_eq!(report.moved.map(|m| m.uploaded), Some(1));
    assert_eq!(*server.filed.lock().unwrap(), [(Some(MAPLE), note.id)]);
    assert_eq!(*device.enrolled_in.lock().unwrap(), Some(BIRCH));
}

#[tokio::test]
async fn every_push_names_the_facility_its_notes_were_written_for() {
    // A move can happen between the start of a round and its upload (the
    // device's token is renewed in between): the server then still knows
    // where the notes belong.
    let (engine, _device, server, _dir) = maple_device().await;
    let note = engine.write_record(note(ADA, "Walked")).await.unwrap();
    engine
        .sync_once(&server, &SyncSettings::default())
        .await
        .unwrap();
    assert_eq!(*server.filed.lock().unwrap(), [(Some(MAPLE), note.id)]);
}

#[tokio::test]
async fn notes_the_server_refused_are_erased_with_the_old_facility_and_counted() {
    let (engine, _device, server, _dir) = maple_device().await;
    // A note for someone who is no resident of Maple House: refused for good.
    engine
        .write_record(note(CORA, "Wrong chart"))
        .await
        .unwrap();
    server.move_device_to(BIRCH);

    let moved = engine
        .sync_once(&server, &SyncSettings::default())
        .await
        .unwrap()
        .moved
        .unwrap();
    assert_eq!(
        (moved.uploaded, moved.rejected, moved.refused_erased),
        (0, 1, 1)
    );
    assert_eq!(count(&engine, "SELECT count(*) FROM outbox"), 0);
}

#[tokio::test]
async fn a_device_that_stayed_or_a_server_that_does_not_say_changes_nothing() {
    assert_eq!(detect(Some(MAPLE), None), None);
    assert_eq!(
        detect(
            None,
            Some(Placement {
                facility_id: BIRCH,
                facility_name: None
            })
        ),
        None
    );
    assert_eq!(
        detect(
            Some(MAPLE),
            Some(Placement {
                facility_id: MAPLE,
                facility_name: None
            })
        ),
        None
    );
    let (engine, device, server, _dir) = maple_device().await;
    let report = engine
        .sync_once(&server, &SyncSettings::default())
        .await
        .unwrap();
    assert_eq!(report.moved, None);
    assert_eq!(*device.sign_outs.lock().unwrap(), 0);
    assert_eq!(count(&engine, "SELECT count(*) FROM roster_patients"), 2);
}

#[test]
fn the_old_facility_is_never_erased_while_a_note_still_waits() {
    let (engine, _dir) = engine();
    let mut vault = engine.vault().lock().unwrap();
    store::write_record(vault.connection_mut(), &note(ADA, "Late entry")).unwrap();
    let err = store::erase_facility(vault.connection_mut()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict);
    let kept: i64 = vault
        .connection()
        .query_row("SELECT count(*) FROM records", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, 1);
}
