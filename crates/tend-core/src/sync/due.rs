//! What is due on the nurse home: the facility's PRN administrations whose
//! effectiveness follow-up has not been documented yet, read from the vault
//! (so it works offline and counts follow-ups written here but not yet synced).
//!
//! The window: follow-ups due within the facility's due-soon window (its
//! policy's `due_soon_minutes`, by default [`DUE_AHEAD`]: 2 h — what a
//! nurse can plan for now) and overdue ones for up to [`OVERDUE_KEPT`] (24 h —
//! one day of shifts; an older one is a documentation gap for the chart
//! review, not a task). Times are the server's clock, like the timeline's.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection};
use serde::Serialize;
use tend_domain::policy::POLICY_RANGES;
use tend_domain::records::{RecordBody, RecordKind};
use uuid::Uuid;

use super::store::{clock_offset, facility_policy, parse_ts, ts, RecordSyncState};
use crate::vault::migrate::db_error;
use crate::{CoreError, Result};

/// How far ahead a follow-up is listed when the facility's policy has not
/// arrived yet (the policy's default).
pub const DUE_AHEAD: Duration = Duration::minutes(POLICY_RANGES.due_soon_minutes.default as i64);
/// How long an overdue follow-up stays listed.
pub const OVERDUE_KEPT: Duration = Duration::hours(24);
/// Longest follow-up delay a PRN administration may have (tend-domain: 15–240 min).
const LONGEST_FOLLOW_UP: Duration = Duration::minutes(240);
/// Most entries one answer carries; the list is sorted, so the most urgent are kept.
pub const MAX_DUE: usize = 200;

/// A PRN dose whose effectiveness is still to be documented.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DueFollowUp {
    /// The administration record (the follow-up `amends` it).
    pub administration_id: Uuid,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub patient_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub room: Option<String>,
    pub medication: String,
    pub dose: String,
    /// When the dose was given (the server's clock once it has the record).
    pub given_at: DateTime<Utc>,
    /// When its effectiveness is due.
    pub due_at: DateTime<Utc>,
    /// `due_at` has passed.
    pub overdue: bool,
    /// Whether the administration itself has reached the server yet.
    pub sync_state: RecordSyncState,
}

/// The open follow-ups of residents in the facility (active or on leave),
/// most urgent first: due by `now` plus the facility's due-soon window,
/// overdue since at most `OVERDUE_KEPT`. `now` is this device's clock; it is corrected by the
/// measured server offset before comparing with record times.
pub fn due_follow_ups(conn: &Connection, now: DateTime<Utc>) -> Result<Vec<DueFollowUp>> {
    let now = now + clock_offset(conn)?;
    let ahead = Duration::minutes(i64::from(facility_policy(conn)?.due_soon_minutes));
    let (earliest_due, latest_due) = (now - OVERDUE_KEPT, now + ahead);
    // Given at most LONGEST_FOLLOW_UP before its due time; never after it.
    let (from, to) = (earliest_due - LONGEST_FOLLOW_UP, latest_due);
    // Walks each resident's records through `records_patient_time`; a
    // follow-up is looked for among the same resident's records (the API
    // refuses one that amends another resident's record). A refused
    // administration is not a dose; a refused follow-up is not documented.
    let mut stmt = conn
        .prepare_cached(
            "SELECT a.id, a.patient_id, p.first_name, p.last_name, p.room, a.body, a.sort_at, a.sync_state
             FROM roster_patients p
             JOIN records a ON a.patient_id = p.server_id
             WHERE p.status IN ('active', 'on_leave')
               AND a.sort_at >= ?1 AND a.sort_at <= ?2
               AND a.kind = ?3 AND a.sync_state <> 'rejected'
               AND NOT EXISTS (
                   SELECT 1 FROM records f
                   WHERE f.patient_id = a.patient_id AND f.amends = a.id
                     AND f.kind = ?4 AND f.sync_state <> 'rejected')
               -- A corrected dose is due as its correction.
               AND NOT EXISTS (
                   SELECT 1 FROM records c
                   WHERE c.amends = a.id AND c.correction_reason IS NOT NULL
                     AND c.sync_state <> 'rejected')",
        )
        .map_err(db_error)?;
    let rows = stmt
        .query_map(
            params![
                ts(from),
                ts(to),
                RecordKind::PrnAdministration.as_str(),
                RecordKind::PrnFollowUp.as_str()
            ],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, String>(5)?,
                    parse_ts(&r.get::<_, String>(6)?)?,
                    r.get::<_, String>(7)?,
                ))
            },
        )
        .map_err(db_error)?;
    let mut due = Vec::new();
    for row in rows {
        let (id, patient_id, first_name, last_name, room, body, given_at, state) =
            row.map_err(db_error)?;
        let RecordBody::PrnAdministration(dose) = serde_json::from_str(&body)
            .map_err(|e| CoreError::Database(format!("stored JSON: {e}")))?
        else {
            continue;
        };
        let due_at = dose.follow_up_due(given_at);
        if due_at < earliest_due || due_at > latest_due {
            continue;
        }
        due.push(DueFollowUp {
            administration_id: Uuid::parse_str(&id)
                .map_err(|e| CoreError::Database(format!("stored record id: {e}")))?,
            patient_id,
            first_name,
            last_name,
            room,
            medication: dose.medication,
            dose: dose.dose,
            given_at,
            due_at,
            overdue: due_at < now,
            sync_state: RecordSyncState::parse(&state),
        });
    }
    due.sort_by_key(|d| (d.due_at, d.administration_id));
    due.truncate(MAX_DUE);
    Ok(due)
}

#[cfg(test)]
mod tests {
    use tend_domain::records::{
        CareNote, MedicationRoute, PrnAdministration, PrnEffectiveness, PrnFollowUp, RecordDraft,
    };
    use tend_domain::wire::{RemovedId, SyncChange, SyncPushResult};
    use tend_domain::PatientStatus;

    use super::*;
    use crate::sync::store;
    use crate::sync::testing::{apply, apply_at, engine, facility_with, patient, pulled};

    fn prn(medication: &str, follow_up_minutes: u16) -> RecordBody {
        RecordBody::PrnAdministration(PrnAdministration {
            medication: medication.into(),
            dose: "500 mg".into(),
            route: MedicationRoute::Oral,
            reason: "pain".into(),
            follow_up_minutes,
        })
    }

    fn follow_up() -> RecordBody {
        RecordBody::PrnFollowUp(PrnFollowUp {
            effectiveness: PrnEffectiveness::Effective,
            note: None,
        })
    }

    fn draft(
        patient_id: i64,
        at: DateTime<Utc>,
        amends: Option<Uuid>,
        body: RecordBody,
    ) -> RecordDraft {
        RecordDraft {
            patient_id,
            author_user_id: 4,
            recorded_at: at,
            amends,
            correction_reason: None,
            body,
        }
    }

    fn names(due: &[DueFollowUp]) -> Vec<&str> {
        due.iter().map(|d| d.medication.as_str()).collect()
    }

    #[tokio::test]
    async fn open_follow_ups_of_the_facility_are_listed_most_urgent_first_within_the_window() {
        let (engine, _dir) = engine();
        let now = Utc::now();
        let ago = |minutes: i64| now - Duration::minutes(minutes);
        let mut changes = vec![
            patient(1, "Ada", "101", PatientStatus::Active),
            patient(2, "Grace", "102", PatientStatus::OnLeave),
            patient(3, "Edith", "103", PatientStatus::Discharged),
        ];
        // Due in 30 min, overdue by 30 min, overdue by 23 h, overdue by 25 h (dropped),
        // due in 3 h (not yet listed), a discharged resident's (dropped), a care note.
        let mut add = |patient_id, at, amends, body| {
            let (id, change) = pulled(patient_id, at, amends, body);
            changes.push(change);
            id
        };
        add(1, ago(30), None, prn("Soon", 60));
        add(2, ago(90), None, prn("Overdue", 60));
        add(1, ago(23 * 60 + 60), None, prn("Day-old", 60));
        add(1, ago(25 * 60 + 60), None, prn("Too old", 60));
        add(1, now + Duration::minutes(60), None, prn("Later", 120));
        add(3, ago(30), None, prn("Discharged", 60));
        add(
            1,
            ago(10),
            None,
            RecordBody::CareNote(CareNote { text: "ate".into() }),
        );
        // Followed up by another device: not due any more.
        let followed = add(2, ago(40), None, prn("Followed up", 60));
        add(2, ago(5), Some(followed), follow_up());
        apply(&engine, changes);

        let due = {
            let vault = engine.vault().lock().unwrap();
            due_follow_ups(vault.connection(), now).unwrap()
        };
        assert_eq!(names(&due), ["Day-old", "Overdue", "Soon"]);
        assert!(due[0].overdue && due[1].overdue && !due[2].overdue);
        assert_eq!(
            (due[1].first_name.as_str(), due[1].room.as_deref()),
            ("Grace", Some("102"))
        );
        assert_eq!(due[2].due_at, due[2].given_at + Duration::minutes(60));
        assert_eq!(due[2].sync_state, RecordSyncState::Synced);
        assert_eq!(due[2].dose, "500 mg");
    }

    #[tokio::test]
    async fn the_due_soon_window_follows_the_facility_policy_as_it_arrives() {
        let (engine, _dir) = engine();
        let now = Utc::now();
        let (_, in_three_hours) = pulled(1, now + Duration::minutes(60), None, prn("Later", 120));
        let (_, in_one_hour) = pulled(1, now, None, prn("Soon", 60));
        apply(
            &engine,
            vec![
                patient(1, "Ada", "101", PatientStatus::Active),
                in_three_hours,
                in_one_hour,
            ],
        );
        let listed = |engine: &crate::sync::SyncEngine| {
            let vault = engine.vault().lock().unwrap();
            names(&due_follow_ups(vault.connection(), now).unwrap())
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        // Before any policy: the default 2 h.
        assert_eq!(listed(&engine), ["Soon"]);
        apply(
            &engine,
            vec![facility_with(tend_domain::FacilityPolicy {
                due_soon_minutes: 240,
                ..Default::default()
            })],
        );
        assert_eq!(listed(&engine), ["Soon", "Later"]);
        apply(
            &engine,
            vec![facility_with(tend_domain::FacilityPolicy {
                due_soon_minutes: 30,
                ..Default::default()
            })],
        );
        assert!(listed(&engine).is_empty());
    }

    #[tokio::test]
    async fn a_dose_written_offline_is_due_until_its_follow_up_is_written_even_before_sync() {
        let (engine, _dir) = engine();
        apply(
            &engine,
            vec![patient(1, "Ada", "101", PatientStatus::Active)],
        );
        let given = engine
            .write_record(draft(1, Utc::now(), None, prn("Acetaminophen", 30)))
            .await
            .unwrap();
        let due = engine.due_follow_ups().await.unwrap();
        assert_eq!(names(&due), ["Acetaminophen"]);
        assert_eq!(due[0].administration_id, given.id);
        assert_eq!(due[0].sync_state, RecordSyncState::Pending);
        assert!(!due[0].overdue);

        // A follow-up the server refused does not count as documented…
        let refused = engine
            .write_record(draft(1, Utc::now(), Some(given.id), follow_up()))
            .await
            .unwrap();
        {
            let mut vault = engine.vault().lock().unwrap();
            store::apply_push_result(
                vault.connection_mut(),
                &[refused.id],
                Utc::now(),
                &SyncPushResult {
                    server_time: Utc::now(),
                    accepted: vec![],
                    duplicates: vec![],
                    rejected: vec![tend_domain::wire::RejectedOperation {
                        id: refused.id,
                        code: tend_domain::ErrorCode::NotFound,
                        message: "no such record".into(),
                        fields: Default::default(),
                    }],
                },
            )
            .unwrap();
        }
        assert_eq!(
            names(&engine.due_follow_ups().await.unwrap()),
            ["Acetaminophen"]
        );
        // …one waiting to sync does.
        engine
            .write_record(draft(1, Utc::now(), Some(given.id), follow_up()))
            .await
            .unwrap();
        assert!(engine.due_follow_ups().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_resident_removed_from_the_facility_takes_their_follow_ups_along() {
        let (engine, _dir) = engine();
        let (_, dose) = pulled(1, Utc::now(), None, prn("Ibuprofen", 60));
        apply(
            &engine,
            vec![patient(1, "Ada", "101", PatientStatus::Active), dose],
        );
        assert_eq!(engine.due_follow_ups().await.unwrap().len(), 1);
        apply(
            &engine,
            vec![SyncChange::PatientRemoved(RemovedId { id: 1 })],
        );
        assert!(engine.due_follow_ups().await.unwrap().is_empty());
        // An empty vault (before the first sync) has nothing due.
        let (fresh, _fresh_dir) = self::engine();
        assert!(fresh.due_follow_ups().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn due_times_follow_the_servers_clock_when_this_device_runs_late() {
        let (engine, _dir) = engine();
        // This device's clock is 90 min behind the server's (measured from the page).
        let device_now = Utc::now();
        let server_now = device_now + Duration::minutes(90);
        // Given 20 min ago by the server's clock, due in 40 min: not overdue,
        // though by the device's own clock it was given 70 min from now.
        let (_, dose) = pulled(
            1,
            server_now - Duration::minutes(20),
            None,
            prn("Lorazepam", 60),
        );
        apply_at(
            &engine,
            vec![patient(1, "Ada", "101", PatientStatus::Active), dose],
            server_now,
        );
        let due = {
            let vault = engine.vault().lock().unwrap();
            due_follow_ups(vault.connection(), device_now).unwrap()
        };
        assert_eq!(names(&due), ["Lorazepam"]);
        assert!(!due[0].overdue);
        let later = {
            let vault = engine.vault().lock().unwrap();
            due_follow_ups(vault.connection(), device_now + Duration::minutes(45)).unwrap()
        };
        assert!(later[0].overdue);
    }
}
