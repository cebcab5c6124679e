//! Patients (residents, clients) of one facility.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::page;
use crate::{CodeStatus, FallRisk, PatientStatus};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Patient {
    pub id: i64,
    pub organization_id: i64,
    pub facility_id: i64,
    /// Medical record number, unique within the facility.
    pub mrn: String,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: NaiveDate,
    pub status: PatientStatus,
    pub room: Option<String>,
    pub admitted_at: Option<DateTime<Utc>>,
    pub discharged_at: Option<DateTime<Utc>>,
    /// Known allergies as the admission paperwork lists them ("NKDA" when
    /// none); unset until someone records them.
    pub allergies: Option<String>,
    pub code_status: Option<CodeStatus>,
    /// Diet order, e.g. "Mechanical soft, thin liquids".
    pub diet: Option<String>,
    pub fall_risk: Option<FallRisk>,
    pub emergency_contact: Option<EmergencyContact>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Starts at 1 and grows with every change: send it back as
    /// `UpdatePatient::version` so a stale edit is refused instead of lost.
    pub version: i64,
}

/// Whom to call about a resident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmergencyContact {
    pub name: String,
    /// E.g. "Daughter", "Health care proxy".
    #[serde(default)]
    pub relationship: Option<String>,
    /// A telephone number as dialled: digits with optional `+`, spaces,
    /// dots, dashes and parentheses (7–15 digits).
    pub phone: String,
}

page!(
    /// A page of patients.
    PatientPage,
    Patient
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatePatient {
    /// Defaults to the caller's facility.
    #[serde(default)]
    pub facility_id: Option<i64>,
    pub mrn: String,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: NaiveDate,
    #[serde(default)]
    pub status: Option<PatientStatus>,
    #[serde(default)]
    pub room: Option<String>,
    #[serde(default)]
    pub admitted_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub allergies: Option<String>,
    #[serde(default)]
    pub code_status: Option<CodeStatus>,
    #[serde(default)]
    pub diet: Option<String>,
    #[serde(default)]
    pub fall_risk: Option<FallRisk>,
    #[serde(default)]
    pub emergency_contact: Option<EmergencyContact>,
}

/// Partial update; `null` clears `room`, `admitted_at`, `discharged_at` and
/// the care fields (`allergies` … `emergency_contact`).
/// With `version`, the update applies only if nobody changed the patient
/// since (otherwise 409 `CONFLICT` carrying the patient as it is now).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdatePatient {
    #[serde(default)]
    pub facility_id: Option<i64>,
    #[serde(default)]
    pub mrn: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub date_of_birth: Option<NaiveDate>,
    #[serde(default)]
    pub status: Option<PatientStatus>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub room: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<DateTime<Utc>>))]
    pub admitted_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<DateTime<Utc>>))]
    pub discharged_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub allergies: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<CodeStatus>))]
    pub code_status: Option<Option<CodeStatus>>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub diet: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<FallRisk>))]
    pub fall_risk: Option<Option<FallRisk>>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<EmergencyContact>))]
    pub emergency_contact: Option<Option<EmergencyContact>>,
    /// The `version` the client last saw.
    #[serde(default)]
    pub version: Option<i64>,
}

page!(
    /// A page of a patient's clinical records, newest first.
    ClinicalRecordPage,
    crate::records::ClinicalRecord
);
