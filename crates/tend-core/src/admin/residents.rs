//! The console's residents: a facility's residents, admitting, editing,
//! discharging and (organization administrators) moving one to another
//! facility, in this administrator's name. The rules are in
//! [`crate::residents`].

use reqwest::{Method, RequestBuilder};
use tend_domain::wire::Facility;

use super::AdminSession;
use crate::api_call::send;
use crate::residents::{
    self, Caller, Departure, Resident, ResidentDraft, ResidentRef, ResidentSaved,
};
use crate::Result;

impl Caller for AdminSession {
    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token.0)
    }
}

impl AdminSession {
    /// The facility's time zone, for the days the forms pick.
    async fn timezone_of(&self, facility_id: i64) -> Result<String> {
        let facility: Facility = send(self.get(&format!("/api/facilities/{facility_id}"))).await?;
        Ok(facility.timezone)
    }

    /// Every resident of a facility, whatever their status.
    pub async fn residents(&self, facility_id: i64) -> Result<Vec<Resident>> {
        residents::list(self, facility_id).await
    }

    /// Admits a resident to the facility.
    #[tracing::instrument(skip_all, fields(facility_id))]
    pub async fn admit_resident(
        &self,
        facility_id: i64,
        draft: &ResidentDraft,
    ) -> Result<Resident> {
        let timezone = self.timezone_of(facility_id).await?;
        let body = residents::admission(facility_id, draft, &timezone)?;
        Ok(residents::admit(self, &body).await?.into())
    }

    /// Saves an edit made to `resident` as loaded (its version).
    #[tracing::instrument(skip_all, fields(patient_id = resident.id))]
    pub async fn edit_resident(
        &self,
        resident: ResidentRef,
        draft: &ResidentDraft,
    ) -> Result<ResidentSaved> {
        let timezone = self.timezone_of(resident.facility_id).await?;
        let body = residents::edit(draft, resident.version, &timezone)?;
        Ok(residents::update(self, resident.id, &body).await?.into())
    }

    /// Discharges `resident` (or records their death) on `date`.
    #[tracing::instrument(skip_all, fields(patient_id = resident.id))]
    pub async fn discharge_resident(
        &self,
        resident: ResidentRef,
        how: Departure,
        date: &str,
    ) -> Result<ResidentSaved> {
        let timezone = self.timezone_of(resident.facility_id).await?;
        let body = residents::departure(how, date, resident.version, &timezone)?;
        Ok(residents::update(self, resident.id, &body).await?.into())
    }

    /// Moves `resident` to another facility of the organization (audited in
    /// both facilities by the server).
    #[tracing::instrument(skip_all, fields(patient_id = resident.id, facility_id))]
    pub async fn transfer_resident(
        &self,
        resident: ResidentRef,
        facility_id: i64,
    ) -> Result<ResidentSaved> {
        let body = residents::transfer(facility_id, resident.version);
        Ok(residents::update(self, resident.id, &body).await?.into())
    }
}
