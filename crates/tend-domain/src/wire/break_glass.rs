//! Break-glass access: a clinician's time-limited, audited read access to a
//! resident of another facility of the same organization (see
//! [`crate::break_glass`] for the rules).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::page;
use crate::PatientStatus;

/// Open a resident of another facility of your organization in an emergency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenBreakGlass {
    /// The resident's facility (another facility of your organization).
    pub facility_id: i64,
    /// The resident's medical record number there, exactly.
    pub mrn: String,
    /// Why you need access now: 10 to 500 characters, audited and reviewed.
    /// (Absent reads as empty, so the 422 names `reason`.)
    #[serde(default)]
    pub reason: String,
}

/// The resident a grant opens, as much as the reader may see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BreakGlassResident {
    pub id: i64,
    pub mrn: String,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: NaiveDate,
    pub status: PatientStatus,
    pub room: Option<String>,
}

/// One break-glass grant: who opened which resident, why, until when, and
/// whether an administrator has reviewed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BreakGlassGrant {
    pub id: i64,
    pub organization_id: i64,
    /// The resident's facility.
    pub facility_id: i64,
    /// Its name when the grant was made.
    pub facility_name: String,
    pub patient_id: i64,
    /// The resident, when the reader may see them (the clinician while the
    /// grant lasts, the administrators of the resident's facility); null otherwise.
    pub patient: Option<BreakGlassResident>,
    /// The clinician who opened the resident.
    pub user_id: i64,
    /// Their name when the grant was made.
    pub user_name: String,
    /// The clinician's own facility.
    pub user_facility_id: i64,
    pub user_facility_name: String,
    pub reason: String,
    pub granted_at: DateTime<Utc>,
    /// Access ends by itself at this time.
    pub expires_at: DateTime<Utc>,
    /// Derived: the grant still opens the resident now. Read-only.
    pub active: bool,
    pub reviewed_by: Option<i64>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub review_note: Option<String>,
}

page!(
    /// A page of break-glass grants, newest first.
    BreakGlassGrantPage,
    BreakGlassGrant
);

/// Mark a grant reviewed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewBreakGlass {
    /// What the reviewer found, up to 1000 characters.
    #[serde(default)]
    pub note: Option<String>,
}

/// A facility a clinician may open a resident of: another facility of
/// their organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BreakGlassFacility {
    pub id: i64,
    pub name: String,
}

/// The facilities break-glass access may reach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BreakGlassFacilityList {
    pub items: Vec<BreakGlassFacility>,
}
