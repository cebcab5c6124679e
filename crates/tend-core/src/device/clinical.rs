//! The one door to resident and clinical data: only a user who is
//! completely signed in — badge (and PIN when asked) or password accepted,
//! the screen not locked, no family visit under way on this device — gets the
//! sync engine, and documents as themselves. Everything else answers
//! `NOT_SIGNED_IN` and no data. The lock screen may show the facility's name
//! (`AppStatus::facility_name`) and the reader's state, nothing more.

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use tend_domain::records::{check_correction_reason, RecordBody, RecordDraft};
use tend_domain::wire::SyncedFacility;
use uuid::Uuid;

use super::DeviceRuntime;
use crate::login::{SessionPhase, SessionUser};
use crate::sync::{DueFollowUp, HandoffNote, LocalRecord, RosterPatient, SyncEngine};
use crate::{CoreError, Result};

/// Most timeline entries one call returns.
pub const MAX_TIMELINE: u32 = 500;

/// Access to the vault's clinical data for the signed-in user.
#[derive(Debug, Clone)]
pub struct ClinicalAccess {
    pub engine: Arc<SyncEngine>,
    /// Who reads and documents now.
    pub user: SessionUser,
}

/// Why nobody may read clinical data now, in words for the screen.
fn refusal(phase: &SessionPhase) -> &'static str {
    match phase {
        SessionPhase::Locked => "the screen is locked; tap your badge to unlock it",
        SessionPhase::PinRequired { .. } => "enter your PIN to finish signing in",
        SessionPhase::Verifying => "your badge is still being checked",
        SessionPhase::SignedOut | SessionPhase::Active { .. } => {
            "sign in with your badge to see residents' information"
        }
    }
}

pub(super) fn check(runtime: &DeviceRuntime) -> Result<ClinicalAccess> {
    let state = runtime.inner.login.state();
    let user = match (&state.phase, state.user) {
        (SessionPhase::Active { .. }, Some(user)) => user,
        (phase, _) => return Err(CoreError::NotSignedIn(refusal(phase).to_owned())),
    };
    if runtime.inner.family.in_visit(Instant::now()) {
        return Err(CoreError::NotSignedIn(
            "a family visit is under way on this device; residents' information is not shown"
                .to_owned(),
        ));
    }
    Ok(ClinicalAccess {
        engine: runtime.sync_engine()?,
        user,
    })
}

impl ClinicalAccess {
    /// The facility's residents, filtered by name, room or MRN, sorted by room.
    pub async fn roster(&self, search: &str) -> Result<Vec<RosterPatient>> {
        self.engine.patients(search).await
    }

    /// A resident's documentation, newest first (at most [`MAX_TIMELINE`]);
    /// the user's look at it is queued for the audit log.
    pub async fn timeline(&self, patient_id: i64, limit: u32) -> Result<Vec<LocalRecord>> {
        self.engine
            .open_timeline(
                patient_id,
                limit.clamp(1, MAX_TIMELINE),
                self.user.id,
                Utc::now(),
            )
            .await
    }

    /// Writes a record for a resident as the signed-in user, now. With a
    /// `correction_reason`, it corrects the record it `amends` (same kind);
    /// the original stays as it was.
    pub async fn write_record(
        &self,
        patient_id: i64,
        amends: Option<Uuid>,
        correction_reason: Option<&str>,
        body: RecordBody,
    ) -> Result<LocalRecord> {
        let correction_reason = correction_reason
            .map(|r| {
                check_correction_reason(r).map_err(|e| CoreError::invalid(e.field, &e.message))
            })
            .transpose()?;
        self.engine
            .write_record(RecordDraft {
                patient_id,
                author_user_id: self.user.id,
                recorded_at: Utc::now(),
                amends,
                correction_reason,
                body,
            })
            .await
    }

    /// PRN follow-ups due soon or overdue, most urgent first.
    pub async fn due_follow_ups(&self) -> Result<Vec<DueFollowUp>> {
        self.engine.due_follow_ups().await
    }

    /// Colleagues' care notes of the last shift, without the user's own.
    pub async fn handoff_notes(&self) -> Result<Vec<HandoffNote>> {
        self.engine.handoff_notes(Some(self.user.id)).await
    }

    /// The device's facility as last synced (`None` before the first sync).
    pub async fn facility(&self) -> Result<Option<SyncedFacility>> {
        self.engine.facility().await
    }
}
