//! The console's facility dashboard: the seed's figures at a glance, occupancy
//! over time for the chart, and the census update, each as the admin screen
//! shows it (ids and counts as TypeScript numbers).

use std::collections::BTreeMap;

use serde::Serialize;
use tend_domain::wire::{CensusHistory, CensusPoint, CensusUpdate, Facility, FacilityDashboard};
use tend_domain::{ErrorCode, HistoryDays};

use super::AdminSession;
use crate::api_call::send;
use crate::{CoreError, Result};

/// The most residents a census may count (the API's own ceiling without beds).
const MAX_CENSUS: i64 = 1_000_000;

/// The dashboard's figures. Counts stay far below 2^32.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DashboardFigures {
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub facility_id: i64,
    pub current_census: i32,
    /// Null for settings without beds (home health).
    pub licensed_beds: Option<i32>,
    pub occupancy_rate: Option<f64>,
    pub available_beds: Option<i32>,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub active_devices: i64,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub online_devices: i64,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub devices_with_sync_issues: i64,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub devices_suspected_clones: i64,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub active_staff: i64,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub rn_count: i64,
    /// Break-glass grants into or out of the facility awaiting review (the badge).
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub break_glass_unreviewed: i64,
    /// Residents active or on leave: what the census should say.
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub active_residents: i64,
}

impl From<FacilityDashboard> for DashboardFigures {
    fn from(d: FacilityDashboard) -> Self {
        Self {
            facility_id: d.facility_id,
            current_census: d.current_census,
            licensed_beds: d.licensed_beds,
            occupancy_rate: d.occupancy_rate,
            available_beds: d.available_beds,
            active_devices: d.active_devices,
            online_devices: d.online_devices,
            devices_with_sync_issues: d.devices_with_sync_issues,
            devices_suspected_clones: d.devices_suspected_clones,
            active_staff: d.active_staff,
            rn_count: d.rn_count,
            break_glass_unreviewed: d.break_glass_unreviewed,
            active_residents: d.active_residents,
        }
    }
}

/// Occupancy over time: one point per day, oldest first, ending today.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OccupancyHistory {
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub facility_id: i64,
    pub days: u16,
    /// The time zone the days are counted in (the facility's).
    pub timezone: String,
    pub points: Vec<CensusPoint>,
}

impl From<CensusHistory> for OccupancyHistory {
    fn from(h: CensusHistory) -> Self {
        Self {
            facility_id: h.facility_id,
            days: h.days,
            timezone: h.timezone,
            points: h.points,
        }
    }
}

/// The facility's capacity after a census update.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CensusSaved {
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub facility_id: i64,
    pub current_census: i32,
    pub licensed_beds: Option<i32>,
    pub occupancy_rate: Option<f64>,
    pub available_beds: Option<i32>,
}

impl From<Facility> for CensusSaved {
    fn from(f: Facility) -> Self {
        Self {
            facility_id: f.id,
            current_census: f.current_census,
            licensed_beds: f.licensed_beds,
            occupancy_rate: f.occupancy_rate,
            available_beds: f.available_beds,
        }
    }
}

/// The API's request for a census as typed, or the field error the form
/// marks (the bound by licensed beds is the server's to check: it knows them).
pub fn census_update(current_census: i64) -> Result<CensusUpdate> {
    let refuse = |message: &str| CoreError::ApiFields {
        code: ErrorCode::ValidationFailed,
        message: "the census is not valid; check the marked field".to_owned(),
        fields: BTreeMap::from([("current_census".to_owned(), vec![message.to_owned()])]),
    };
    if current_census < 0 {
        return Err(refuse("must not be negative"));
    }
    if current_census > MAX_CENSUS {
        return Err(refuse("is implausibly large"));
    }
    let current_census =
        i32::try_from(current_census).map_err(|_| refuse("is implausibly large"))?;
    Ok(CensusUpdate { current_census })
}

impl AdminSession {
    /// `GET /api/facilities/{id}/dashboard`.
    pub async fn dashboard(&self, facility_id: i64) -> Result<DashboardFigures> {
        let d: FacilityDashboard =
            send(self.get(&format!("/api/facilities/{facility_id}/dashboard"))).await?;
        Ok(d.into())
    }

    /// `GET /api/facilities/{id}/census-history?days=N`.
    pub async fn census_history(
        &self,
        facility_id: i64,
        days: HistoryDays,
    ) -> Result<OccupancyHistory> {
        let h: CensusHistory = send(
            self.get(&format!("/api/facilities/{facility_id}/census-history"))
                .query(&[("days", days.get())]),
        )
        .await?;
        Ok(h.into())
    }

    /// `PUT /api/facilities/{id}/census`: checked here first, then by the
    /// server against the licensed beds (its refusal names `current_census`).
    #[tracing::instrument(skip_all, fields(facility_id))]
    pub async fn update_census(
        &self,
        facility_id: i64,
        current_census: i64,
    ) -> Result<CensusSaved> {
        let body = census_update(current_census)?;
        let facility: Facility = send(
            self.http
                .put(format!("{}/api/facilities/{facility_id}/census", self.base))
                .bearer_auth(&self.token.0)
                .json(&body),
        )
        .await?;
        tracing::info!(facility_id, "census updated");
        Ok(facility.into())
    }

    /// `POST /api/facilities/{id}/census/reconcile`: the census becomes the
    /// number of active residents, counted by the server.
    #[tracing::instrument(skip_all, fields(facility_id))]
    pub async fn reconcile_census(&self, facility_id: i64) -> Result<CensusSaved> {
        let facility: Facility = send(
            self.http
                .post(format!(
                    "{}/api/facilities/{facility_id}/census/reconcile",
                    self.base
                ))
                .bearer_auth(&self.token.0),
        )
        .await?;
        tracing::info!(facility_id, "census reconciled with the resident list");
        Ok(facility.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_census_is_a_whole_number_from_zero() {
        assert_eq!(census_update(0).unwrap().current_census, 0);
        assert_eq!(census_update(28).unwrap().current_census, 28);
        for (bad, says) in [
            (-1, "negative"),
            (MAX_CENSUS + 1, "implausibly"),
            (i64::MAX, "implausibly"),
        ] {
            let err = census_update(bad).unwrap_err();
            assert_eq!(err.code(), ErrorCode::ValidationFailed);
            assert!(err.fields()["current_census"][0].contains(says), "{bad}");
        }
    }
}
