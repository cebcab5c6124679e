//! Admitting, editing and discharging residents from the nurse workspace:
//! online, as the signed-in nurse (RN, LPN; the server checks the role too),
//! and the answer goes straight into the device's roster so the resident
//! view shows it before the next sync brings the same row.

use tend_domain::wire::{Patient, RemovedId, SyncChange, UpdatePatient};
use tend_domain::{ErrorCode, PatientStatus};

use super::DeviceRuntime;
use crate::api_call::BearerApi;
use crate::device::ClinicalAccess;
use crate::residents::{
    self, Departure, Resident, ResidentDraft, ResidentRef, ResidentSaved, UpdateAnswer,
};
use crate::{CoreError, Result};

/// What an admission or edit from this device needs: the user may manage
/// residents, is signed in online, and the facility is known.
struct Manager {
    access: ClinicalAccess,
    api: BearerApi,
    facility_id: i64,
    timezone: String,
}

impl DeviceRuntime {
    /// The signed-in user, online: their clinical access and their calls to
    /// the server. `what` says in the refusal what needs the server.
    pub(super) async fn online_user(&self, what: &str) -> Result<(ClinicalAccess, BearerApi)> {
        let access = self.clinical()?;
        let token = self.login().user_token().ok_or_else(|| {
            CoreError::Offline(format!(
                "{what} needs the server; sign in again with your badge once the network is back"
            ))
        })?;
        let server = self.link().server().await?;
        let api = BearerApi::new(server.client.clone(), token.expose().to_owned());
        Ok((access, api))
    }

    async fn resident_manager(&self) -> Result<Manager> {
        let access = self.clinical()?;
        if !access.user.role.may_manage_residents() {
            return Err(CoreError::Api {
                code: ErrorCode::Forbidden,
                message: "only nurses (RN, LPN) and administrators admit, edit or discharge \
                          residents"
                    .to_owned(),
            });
        }
        let (access, api) = self
            .online_user("admitting, editing and discharging residents")
            .await?;
        let facility = access.facility().await?.ok_or_else(|| {
            CoreError::Offline("this device has not synced its facility yet".to_owned())
        })?;
        Ok(Manager {
            access,
            api,
            facility_id: facility.id,
            timezone: facility.timezone,
        })
    }

    /// Admits a resident to this device's facility.
    pub async fn admit_resident(&self, draft: &ResidentDraft) -> Result<Resident> {
        let m = self.resident_manager().await?;
        let body = residents::admission(m.facility_id, draft, &m.timezone)?;
        let patient = residents::admit(&m.api, &body).await?;
        show_in_roster(&m.access, &patient).await;
        Ok(patient.into())
    }

    /// Saves an edit of a resident as loaded (its version).
    pub async fn edit_resident(
        &self,
        resident: ResidentRef,
        draft: &ResidentDraft,
    ) -> Result<ResidentSaved> {
        let m = self.resident_manager().await?;
        let body = residents::edit(draft, resident.version, &m.timezone)?;
        m.update(resident.id, &body).await
    }

    /// Discharges a resident (or records their death) on `date`; they leave
    /// this device's roster at once.
    pub async fn discharge_resident(
        &self,
        resident: ResidentRef,
        how: Departure,
        date: &str,
    ) -> Result<ResidentSaved> {
        let m = self.resident_manager().await?;
        let body = residents::departure(how, date, resident.version, &m.timezone)?;
        m.update(resident.id, &body).await
    }
}

impl Manager {
    /// Sends an update; a saved one goes straight into the roster.
    async fn update(&self, id: i64, body: &UpdatePatient) -> Result<ResidentSaved> {
        let answer = residents::update(&self.api, id, body).await?;
        if let UpdateAnswer::Saved(patient) = &answer {
            show_in_roster(&self.access, patient).await;
        }
        Ok(answer.into())
    }
}

/// Puts the server's answer into the roster (or takes a resident no longer
/// in care out of it). A failure here is not the user's: the next sync
/// brings the same row.
async fn show_in_roster(access: &ClinicalAccess, patient: &Patient) {
    let change = match patient.status {
        PatientStatus::Discharged | PatientStatus::Deceased => {
            SyncChange::PatientRemoved(RemovedId { id: patient.id })
        }
        PatientStatus::Active | PatientStatus::OnLeave => SyncChange::Patient(patient.clone()),
    };
    if let Err(e) = access.engine.apply_resident(change).await {
        tracing::warn!(code = %e.code(), "resident saved; the roster catches up at the next sync");
    }
}
