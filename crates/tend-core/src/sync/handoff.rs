//! Hand-off notes on the nurse home: the care notes colleagues wrote in the
//! facility during the last shift, read from the vault (so they show offline,
//! with notes written here but not yet synced).
//!
//! The window is the facility policy's `handoff_hours` (by default
//! [`HANDOFF_WINDOW`], 12 h: one shift and the one before it);
//! the signed-in nurse's own notes are left out — a hand-off is what others
//! left for her. Times are the server's clock, like the timeline's.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection};
use serde::Serialize;
use tend_domain::policy::POLICY_RANGES;
use tend_domain::records::{RecordBody, RecordKind};
use uuid::Uuid;

use super::store::{clock_offset, facility_policy, parse_ts, ts, RecordSyncState};
use crate::vault::migrate::db_error;
use crate::{CoreError, Result};

/// How far back hand-off notes reach when the facility's policy has not
/// arrived yet (the policy's default).
pub const HANDOFF_WINDOW: Duration = Duration::hours(POLICY_RANGES.handoff_hours.default as i64);
/// Most notes one answer carries (newest first).
pub const MAX_HANDOFF: usize = 30;

/// A care note a colleague wrote for a resident.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HandoffNote {
    pub record_id: Uuid,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub patient_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub room: Option<String>,
    pub text: String,
    /// The author's name from the synced staff list (`None` for someone no
    /// longer on it).
    pub author_name: Option<String>,
    pub written_at: DateTime<Utc>,
    pub sync_state: RecordSyncState,
}

/// Care notes of residents in the facility (active or on leave) written in
/// the facility's hand-off window by anyone but `reader`, newest first. `now`
/// is this device's clock, corrected by the measured server offset.
pub fn handoff_notes(
    conn: &Connection,
    now: DateTime<Utc>,
    reader: Option<i64>,
) -> Result<Vec<HandoffNote>> {
    let now = now + clock_offset(conn)?;
    let window = Duration::hours(i64::from(facility_policy(conn)?.handoff_hours));
    // Walks each resident's records through `records_patient_time`. A note
    // the server refused was never part of the chart.
    let mut stmt = conn
        .prepare_cached(
            "SELECT r.id, r.patient_id, p.first_name, p.last_name, p.room, r.body, r.sort_at,
                    r.sync_state, s.full_name
             FROM roster_patients p
             JOIN records r ON r.patient_id = p.server_id
             LEFT JOIN staff s ON s.id = r.author_user_id
             WHERE p.status IN ('active', 'on_leave')
               AND r.sort_at >= ?1 AND r.sort_at <= ?2
               AND r.kind = ?3 AND r.sync_state <> 'rejected'
               AND (?4 IS NULL OR r.author_user_id <> ?4)
               -- A corrected note hands off as its correction.
               AND NOT EXISTS (SELECT 1 FROM records c WHERE c.amends = r.id
                                 AND c.correction_reason IS NOT NULL AND c.sync_state <> 'rejected')",
        )
        .map_err(db_error)?;
    let rows = stmt
        .query_map(
            params![
                ts(now - window),
                ts(now),
                RecordKind::CareNote.as_str(),
                reader
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
                    r.get::<_, Option<String>>(8)?,
                ))
            },
        )
        .map_err(db_error)?;
    let mut notes = Vec::new();
    for row in rows {
        let (id, patient_id, first_name, last_name, room, body, written_at, state, author_name) =
            row.map_err(db_error)?;
        let RecordBody::CareNote(note) = serde_json::from_str(&body)
            .map_err(|e| CoreError::Database(format!("stored JSON: {e}")))?
        else {
            continue;
        };
        notes.push(HandoffNote {
            record_id: Uuid::parse_str(&id)
                .map_err(|e| CoreError::Database(format!("stored record id: {e}")))?,
            patient_id,
            first_name,
            last_name,
            room,
            text: note.text,
            author_name,
            written_at,
            sync_state: RecordSyncState::parse(&state),
        });
    }
    notes.sort_by_key(|n| std::cmp::Reverse((n.written_at, n.record_id)));
    notes.truncate(MAX_HANDOFF);
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use tend_domain::records::{CareNote, RecordDraft};
    use tend_domain::wire::{StaffMember, SyncChange};
    use tend_domain::PatientStatus;

    use super::*;
    use crate::sync::testing::{apply, engine, facility_with, patient, pulled_by};

    fn note(text: &str) -> RecordBody {
        RecordBody::CareNote(CareNote { text: text.into() })
    }

    #[tokio::test]
    async fn colleagues_notes_of_the_last_shift_newest_first_without_the_readers_own() {
        let (engine, _dir) = engine();
        let now = Utc::now();
        let ago = |hours: i64| now - Duration::hours(hours);
        let mut changes = vec![
            patient(1, "Ada", "101", PatientStatus::Active),
            patient(2, "Grace", "102", PatientStatus::OnLeave),
            patient(3, "Edith", "103", PatientStatus::Discharged),
            SyncChange::Staff(StaffMember {
                id: 4,
                full_name: "Ruth Torres".into(),
                role: tend_domain::Role::Rn,
                employee_id: "E4".into(),
                preferred_language: None,
            }),
        ];
        let mut add = |author, patient_id, at, body| {
            changes.push(pulled_by(author, patient_id, at, None, body).1)
        };
        add(4, 1, ago(1), note("Ate all of breakfast"));
        add(9, 2, ago(3), note("Out with family until 6 pm"));
        add(4, 1, ago(13), note("Too old for this hand-off"));
        add(4, 3, ago(2), note("Discharged resident"));
        add(7, 1, ago(2), note("The reader's own note"));
        add(
            4,
            1,
            ago(1),
            RecordBody::PrnFollowUp(tend_domain::records::PrnFollowUp {
                effectiveness: tend_domain::records::PrnEffectiveness::Effective,
                note: None,
            }),
        );
        apply(&engine, changes);

        let notes = {
            let vault = engine.vault().lock().unwrap();
            handoff_notes(vault.connection(), now, Some(7)).unwrap()
        };
        let texts: Vec<&str> = notes.iter().map(|n| n.text.as_str()).collect();
        assert_eq!(
            texts,
            ["Ate all of breakfast", "Out with family until 6 pm"]
        );
        assert_eq!(notes[0].author_name.as_deref(), Some("Ruth Torres"));
        assert_eq!(notes[1].author_name, None, "not on the synced staff list");
        assert_eq!(
            (notes[1].first_name.as_str(), notes[1].room.as_deref()),
            ("Grace", Some("102"))
        );
        assert_eq!(notes[0].sync_state, RecordSyncState::Synced);

        // Without a reader (nobody signed in) every colleague's note shows.
        let all = {
            let vault = engine.vault().lock().unwrap();
            handoff_notes(vault.connection(), now, None).unwrap()
        };
        assert_eq!(all.len(), 3);
    }

    #[tokio::test]
    async fn a_corrected_note_hands_off_as_its_correction() {
        let (engine, _dir) = engine();
        apply(
            &engine,
            vec![patient(1, "Ada", "101", PatientStatus::Active)],
        );
        let draft = |amends, correction_reason: Option<&str>, text| RecordDraft {
            patient_id: 1,
            author_user_id: 4,
            recorded_at: Utc::now(),
            amends,
            correction_reason: correction_reason.map(str::to_owned),
            body: note(text),
        };
        let wrong = engine
            .write_record(draft(None, None, "Refused lunch"))
            .await
            .unwrap();
        engine
            .write_record(draft(
                Some(wrong.id),
                Some("It was breakfast"),
                "Refused breakfast",
            ))
            .await
            .unwrap();
        let notes = engine.handoff_notes(Some(7)).await.unwrap();
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert_eq!(notes[0].text, "Refused breakfast");
    }

    #[tokio::test]
    async fn the_handoff_window_follows_the_facility_policy() {
        let (engine, _dir) = engine();
        let now = Utc::now();
        let ago = |hours: i64| now - Duration::hours(hours);
        apply(
            &engine,
            vec![
                patient(1, "Ada", "101", PatientStatus::Active),
                pulled_by(4, 1, ago(2), None, note("Two hours ago")).1,
                pulled_by(4, 1, ago(20), None, note("Twenty hours ago")).1,
            ],
        );
        let texts = |engine: &crate::sync::SyncEngine| {
            let vault = engine.vault().lock().unwrap();
            handoff_notes(vault.connection(), now, None)
                .unwrap()
                .into_iter()
                .map(|n| n.text)
                .collect::<Vec<_>>()
        };
        assert_eq!(texts(&engine), ["Two hours ago"], "the default 12 h");
        apply(
            &engine,
            vec![facility_with(tend_domain::FacilityPolicy {
                handoff_hours: 24,
                ..Default::default()
            })],
        );
        assert_eq!(texts(&engine), ["Two hours ago", "Twenty hours ago"]);
        apply(
            &engine,
            vec![facility_with(tend_domain::FacilityPolicy {
                handoff_hours: 1,
                ..Default::default()
            })],
        );
        assert!(texts(&engine).is_empty());
    }

    #[tokio::test]
    async fn a_note_written_on_this_device_shows_before_it_syncs() {
        let (engine, _dir) = engine();
        apply(
            &engine,
            vec![patient(1, "Ada", "101", PatientStatus::Active)],
        );
        engine
            .write_record(RecordDraft {
                patient_id: 1,
                author_user_id: 4,
                recorded_at: Utc::now(),
                amends: None,
                correction_reason: None,
                body: note("Fell asleep early"),
            })
            .await
            .unwrap();
        let notes = engine.handoff_notes(Some(7)).await.unwrap();
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].sync_state, RecordSyncState::Pending);
        assert!(
            engine.handoff_notes(Some(4)).await.unwrap().is_empty(),
            "the author's own"
        );
    }
}
