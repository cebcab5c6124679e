//! Test support for the vault's read models (due follow-ups, hand-off notes):
//! an engine over a real encrypted vault, and the change feed's shapes to fill it.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use tend_domain::records::{ClinicalRecord, RecordBody};
use tend_domain::wire::{Patient, SyncChange, SyncPullPage};
use tend_domain::PatientStatus;
use uuid::Uuid;

use crate::sync::{store, SyncEngine};
use crate::vault::{MemoryStore, Vault, VaultOptions};

/// An engine over a real encrypted vault in a temporary directory.
pub(crate) fn engine() -> (SyncEngine, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (vault, _) = Vault::open(
        dir.path(),
        Arc::new(MemoryStore::new()),
        VaultOptions::default(),
    )
    .unwrap();
    (SyncEngine::new(Arc::new(Mutex::new(vault))).unwrap(), dir)
}

pub(crate) fn patient(id: i64, first_name: &str, room: &str, status: PatientStatus) -> SyncChange {
    SyncChange::Patient(Patient {
        id,
        organization_id: 1,
        facility_id: 1,
        mrn: format!("MRN-{id}"),
        first_name: first_name.into(),
        last_name: "Resident".into(),
        date_of_birth: NaiveDate::from_ymd_opt(1940, 2, 3).unwrap(),
        status,
        room: Some(room.into()),
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

/// The device's facility with `policy`, as the change feed delivers it.
pub(crate) fn facility_with(policy: tend_domain::FacilityPolicy) -> SyncChange {
    SyncChange::Facility(tend_domain::wire::SyncedFacility {
        id: 1,
        organization_id: 1,
        name: "Maple Grove".into(),
        facility_type: tend_domain::FacilityType::Alf,
        timezone: "America/Chicago".into(),
        settings: Default::default(),
        features: Default::default(),
        policy,
    })
}

/// A record another device wrote, as the change feed delivers it.
pub(crate) fn pulled(
    patient_id: i64,
    at: DateTime<Utc>,
    amends: Option<Uuid>,
    body: RecordBody,
) -> (Uuid, SyncChange) {
    pulled_by(4, patient_id, at, amends, body)
}

/// A record `author` wrote on another device.
pub(crate) fn pulled_by(
    author: i64,
    patient_id: i64,
    at: DateTime<Utc>,
    amends: Option<Uuid>,
    body: RecordBody,
) -> (Uuid, SyncChange) {
    let id = Uuid::now_v7();
    let change = SyncChange::Record(ClinicalRecord {
        id,
        organization_id: 1,
        facility_id: 1,
        patient_id,
        author_user_id: author,
        device_id: Some(9),
        recorded_at: at,
        occurred_at: at,
        received_at: at,
        amends,
        correction_reason: None,
        body,
    });
    (id, change)
}

pub(crate) fn apply(engine: &SyncEngine, changes: Vec<SyncChange>) {
    apply_at(engine, changes, Utc::now());
}

/// Applies a page the server sent at `server_time` (which sets the measured clock offset).
pub(crate) fn apply_at(engine: &SyncEngine, changes: Vec<SyncChange>, server_time: DateTime<Utc>) {
    let mut vault = engine.vault().lock().unwrap();
    store::apply_page(
        vault.connection_mut(),
        &SyncPullPage {
            server_time,
            cursor: "1".into(),
            has_more: false,
            remaining: 0,
            changes,
            badge_key: None,
        },
    )
    .unwrap();
}
