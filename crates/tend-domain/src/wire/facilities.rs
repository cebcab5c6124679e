//! Facilities: one care site of an organization, with capacity and features.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{page, JsonObject};
use crate::FacilityType;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Facility {
    pub id: i64,
    pub organization_id: i64,
    pub name: String,
    pub facility_type: FacilityType,
    pub medicaid_provider_number: Option<String>,
    pub medicare_provider_number: Option<String>,
    pub state_license_number: Option<String>,
    /// Null for settings without beds (home health).
    pub licensed_beds: Option<i32>,
    pub current_census: i32,
    /// Derived: census as a percentage of licensed beds, one decimal. Read-only.
    pub occupancy_rate: Option<f64>,
    /// Derived: licensed beds minus census. Read-only.
    pub available_beds: Option<i32>,
    pub address: Option<String>,
    /// IANA time zone name, e.g. `America/Chicago`.
    pub timezone: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub settings: JsonObject,
    /// Feature flags, e.g. `behavior_tracking`, `wandering_alerts`, `family_portal`.
    pub features: BTreeMap<String, bool>,
    /// The least protection a device of this facility may keep its vault key
    /// with; a device below it is told to lock.
    #[serde(default)]
    pub device_protection_minimum: super::DeviceProtectionMinimum,
    /// Timings and limits of the facility's devices (idle lock, badge grace,
    /// PIN length, windows); devices receive it by sync.
    #[serde(default)]
    pub policy: crate::FacilityPolicy,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

page!(
    /// A page of facilities.
    FacilityPage,
    Facility
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateFacility {
    /// Defaults to the caller's organization.
    #[serde(default)]
    pub organization_id: Option<i64>,
    pub name: String,
    pub facility_type: FacilityType,
    #[serde(default)]
    pub medicaid_provider_number: Option<String>,
    #[serde(default)]
    pub medicare_provider_number: Option<String>,
    #[serde(default)]
    pub state_license_number: Option<String>,
    #[serde(default)]
    pub licensed_beds: Option<i32>,
    #[serde(default)]
    pub current_census: Option<i32>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub settings: Option<JsonObject>,
    #[serde(default)]
    pub features: Option<BTreeMap<String, bool>>,
    /// Default `encrypted`.
    #[serde(default)]
    pub device_protection_minimum: Option<super::DeviceProtectionMinimum>,
    /// Keys left out take their defaults.
    #[serde(default)]
    pub policy: Option<crate::FacilityPolicy>,
}

/// Partial update. `organization_id` may be sent but must not change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateFacility {
    #[serde(default)]
    pub organization_id: Option<i64>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub facility_type: Option<FacilityType>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub medicaid_provider_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub medicare_provider_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub state_license_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i32>))]
    pub licensed_beds: Option<Option<i32>>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub address: Option<Option<String>>,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub settings: Option<JsonObject>,
    #[serde(default)]
    pub features: Option<BTreeMap<String, bool>>,
    #[serde(default)]
    pub device_protection_minimum: Option<super::DeviceProtectionMinimum>,
    /// The whole policy (keys left out take their defaults). Organization
    /// administrators and above change any field; a facility administrator
    /// of the facility may send the policy alone.
    #[serde(default)]
    pub policy: Option<crate::FacilityPolicy>,
    #[serde(default)]
    pub is_active: Option<bool>,
}

impl UpdateFacility {
    /// Only the policy is sent (what a facility administrator may change).
    pub fn is_policy_only(&self) -> bool {
        self.policy.is_some()
            && Self {
                policy: None,
                ..self.clone()
            } == Self::default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CensusUpdate {
    /// Between 0 and the facility's licensed beds (when it has beds).
    pub current_census: i32,
}

/// The seed's facility dashboard: capacity, device health and staffing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FacilityDashboard {
    pub facility_id: i64,
    pub current_census: i32,
    pub licensed_beds: Option<i32>,
    pub occupancy_rate: Option<f64>,
    pub available_beds: Option<i32>,
    pub active_devices: i64,
    pub online_devices: i64,
    /// Active devices whose sync status is not `SYNCED`.
    pub devices_with_sync_issues: i64,
    /// Active devices whose device_uuid another machine tried to enroll with
    /// a different key (a cloned image?): an administrator should check them.
    pub devices_suspected_clones: i64,
    pub active_staff: i64,
    pub rn_count: i64,
    /// Break-glass grants into or out of this facility that no administrator
    /// has reviewed yet.
    #[serde(default)]
    pub break_glass_unreviewed: i64,
    /// Residents on the facility's list who are active or on leave: what the
    /// census should be (the dashboard offers to reconcile them).
    #[serde(default)]
    pub active_residents: i64,
}

/// Occupancy over time: one point per day, oldest first, ending today in the
/// facility's time zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CensusHistory {
    pub facility_id: i64,
    /// How many days the series covers (`days` of the request).
    pub days: u16,
    /// The IANA time zone the days are counted in (the facility's).
    pub timezone: String,
    pub points: Vec<CensusPoint>,
}

/// One day of occupancy: the last census recorded that day, or the one
/// before it carried forward when nothing changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CensusPoint {
    pub date: NaiveDate,
    /// Null before the first census on record.
    pub current_census: Option<i32>,
    /// The licensed beds that day; null without beds (home health).
    pub licensed_beds: Option<i32>,
    /// Derived with the same rule as the facility's `occupancy_rate`; null
    /// without licensed beds or without a census.
    pub occupancy_rate: Option<f64>,
}
