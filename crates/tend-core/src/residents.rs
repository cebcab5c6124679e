//! Admitting, editing, moving and discharging residents: from the
//! administrator's console, and for nurses (RN, LPN) from the workspace. The
//! form sends what was typed ([`ResidentDraft`]); this module checks what it
//! can before the network (required fields, dates), turns it into the API's
//! request, and reads a stale edit's 409 as the resident as they are now
//! ([`ResidentSaved::Conflict`]) so the screen can show both versions side by
//! side. Dates a person picks (date of birth, admission, discharge) are
//! calendar days; an admission or discharge day becomes midnight in the
//! facility's time zone, the way the import stores them.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use tend_domain::wire::{
    CreatePatient, EmergencyContact, ErrorBody, Patient, PatientPage, UpdatePatient,
};
use tend_domain::{CodeStatus, ErrorCode, FallRisk, PatientStatus};

pub use crate::api_call::Caller;
use crate::api_call::{send, send_rescuing, REQUEST_TIMEOUT};
use crate::{CoreError, Result};

/// A resident as the forms show them, with the server's `version` to send
/// back with an edit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Resident {
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub id: i64,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub facility_id: i64,
    pub mrn: String,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: NaiveDate,
    pub status: PatientStatus,
    pub room: Option<String>,
    pub admitted_at: Option<DateTime<Utc>>,
    pub discharged_at: Option<DateTime<Utc>>,
    pub allergies: Option<String>,
    pub code_status: Option<CodeStatus>,
    pub diet: Option<String>,
    pub fall_risk: Option<FallRisk>,
    pub emergency_contact: Option<EmergencyContact>,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub version: i64,
}

impl From<Patient> for Resident {
    fn from(p: Patient) -> Self {
        Self {
            id: p.id,
            facility_id: p.facility_id,
            mrn: p.mrn,
            first_name: p.first_name,
            last_name: p.last_name,
            date_of_birth: p.date_of_birth,
            status: p.status,
            room: p.room,
            admitted_at: p.admitted_at,
            discharged_at: p.discharged_at,
            allergies: p.allergies,
            code_status: p.code_status,
            diet: p.diet,
            fall_risk: p.fall_risk,
            emergency_contact: p.emergency_contact,
            version: p.version,
        }
    }
}

/// Which resident, in which facility, as last loaded (`version`): what an
/// edit, a discharge or a transfer acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ResidentRef {
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub id: i64,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub facility_id: i64,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub version: i64,
}

/// The admit / edit form as typed. Dates are `YYYY-MM-DD` (an HTML date
/// input's value); blank optional text is "not recorded".
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ResidentDraft {
    pub mrn: String,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: String,
    pub room: String,
    /// The day of admission; blank on admission means today.
    pub admission_date: String,
    pub allergies: String,
    pub code_status: Option<CodeStatus>,
    pub diet: String,
    pub fall_risk: Option<FallRisk>,
    pub contact_name: String,
    pub contact_relationship: String,
    pub contact_phone: String,
}

/// What saving the form came to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ResidentSaved {
    /// Written; the resident as the server has them now.
    Saved { resident: Resident },
    /// Someone changed the resident since the form was opened: nothing was
    /// written. `current` is the resident as they are now; send the edit
    /// again with `current.version` to overwrite.
    Conflict { current: Resident },
}

/// How a resident leaves the facility's care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Departure {
    Discharged,
    Deceased,
}

/// Field problems found before the network, in the API's shape.
#[derive(Default)]
struct Problems(BTreeMap<String, Vec<String>>);

impl Problems {
    fn add(&mut self, field: &str, message: &str) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(message.to_owned());
    }

    fn finish(self, what: &str) -> Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        Err(CoreError::ApiFields {
            code: ErrorCode::ValidationFailed,
            message: format!("{what}: check the marked fields"),
            fields: self.0,
        })
    }

    fn required(&mut self, field: &str, value: &str, what: &str) -> String {
        let value = value.trim();
        if value.is_empty() {
            self.add(field, &format!("enter the {what}"));
        }
        value.to_owned()
    }

    fn date(&mut self, field: &str, value: &str) -> Option<NaiveDate> {
        let value = value.trim();
        if value.is_empty() {
            return None;
        }
        let parsed = NaiveDate::parse_from_str(value, "%Y-%m-%d").ok();
        if parsed.is_none() {
            self.add(field, "must be a date like 2026-03-14");
        }
        parsed
    }
}

fn optional(value: &str) -> Option<String> {
    Some(value.trim())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Midnight of `day` in the facility's time zone (UTC when the zone is not
/// one this app knows; the server refuses such zones since schema 16).
pub fn start_of_day(day: NaiveDate, timezone: &str) -> DateTime<Utc> {
    let midnight = day.and_time(NaiveTime::MIN);
    match timezone.parse::<chrono_tz::Tz>() {
        // Where midnight falls in a DST gap, the first instant of the day.
        Ok(tz) => tz
            .from_local_datetime(&midnight)
            .earliest()
            .or_else(|| {
                tz.from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                    .earliest()
            })
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_else(|| midnight.and_utc()),
        Err(_) => midnight.and_utc(),
    }
}

/// The parts of a draft both admission and edit send.
struct Checked {
    mrn: String,
    first_name: String,
    last_name: String,
    date_of_birth: Option<NaiveDate>,
    admitted_at: Option<DateTime<Utc>>,
    emergency_contact: Option<EmergencyContact>,
}

fn check(draft: &ResidentDraft, timezone: &str) -> Result<Checked> {
    let mut p = Problems::default();
    let mrn = p.required("mrn", &draft.mrn, "medical record number (MRN)");
    let first_name = p.required("first_name", &draft.first_name, "first name");
    let last_name = p.required("last_name", &draft.last_name, "last name");
    let date_of_birth = p.date("date_of_birth", &draft.date_of_birth);
    if draft.date_of_birth.trim().is_empty() {
        p.add("date_of_birth", "enter the date of birth");
    }
    let admitted_at = p
        .date("admitted_at", &draft.admission_date)
        .map(|d| start_of_day(d, timezone));
    let (name, relationship, phone) = (
        optional(&draft.contact_name),
        optional(&draft.contact_relationship),
        optional(&draft.contact_phone),
    );
    let emergency_contact = match (name, phone) {
        (Some(name), Some(phone)) => Some(EmergencyContact {
            name,
            relationship,
            phone,
        }),
        (None, None) if relationship.is_none() => None,
        (name, phone) => {
            if name.is_none() {
                p.add("emergency_contact.name", "enter the contact's name");
            }
            if phone.is_none() {
                p.add(
                    "emergency_contact.phone",
                    "enter the contact's telephone number",
                );
            }
            None
        }
    };
    p.finish("the resident cannot be saved")?;
    Ok(Checked {
        mrn,
        first_name,
        last_name,
        date_of_birth,
        admitted_at,
        emergency_contact,
    })
}

/// The admission as the API takes it.
pub fn admission(facility_id: i64, draft: &ResidentDraft, timezone: &str) -> Result<CreatePatient> {
    let c = check(draft, timezone)?;
    Ok(CreatePatient {
        facility_id: Some(facility_id),
        mrn: c.mrn,
        first_name: c.first_name,
        last_name: c.last_name,
        // `check` refused a missing date of birth.
        date_of_birth: c.date_of_birth.unwrap_or_default(),
        status: None,
        room: optional(&draft.room),
        admitted_at: c.admitted_at,
        allergies: optional(&draft.allergies),
        code_status: draft.code_status,
        diet: optional(&draft.diet),
        fall_risk: draft.fall_risk,
        emergency_contact: c.emergency_contact,
    })
}

/// The edit as the API takes it: every field of the form, blanks clearing
/// what was recorded, applied only if the resident is still at `version`.
pub fn edit(draft: &ResidentDraft, version: i64, timezone: &str) -> Result<UpdatePatient> {
    let c = check(draft, timezone)?;
    Ok(UpdatePatient {
        mrn: Some(c.mrn),
        first_name: Some(c.first_name),
        last_name: Some(c.last_name),
        date_of_birth: c.date_of_birth,
        room: Some(optional(&draft.room)),
        admitted_at: Some(c.admitted_at),
        allergies: Some(optional(&draft.allergies)),
        code_status: Some(draft.code_status),
        diet: Some(optional(&draft.diet)),
        fall_risk: Some(draft.fall_risk),
        emergency_contact: Some(c.emergency_contact),
        version: Some(version),
        ..UpdatePatient::default()
    })
}

/// A discharge (or death) on `date`, applied only if the resident is still
/// at `version`.
pub fn departure(
    how: Departure,
    date: &str,
    version: i64,
    timezone: &str,
) -> Result<UpdatePatient> {
    let mut p = Problems::default();
    let day = p.date("discharged_at", date);
    if date.trim().is_empty() {
        p.add("discharged_at", "enter the date");
    }
    if day.is_some_and(|d| d > Utc::now().date_naive() + chrono::Duration::days(1)) {
        p.add("discharged_at", "must not be in the future");
    }
    p.finish("the resident cannot be discharged")?;
    Ok(UpdatePatient {
        status: Some(match how {
            Departure::Discharged => PatientStatus::Discharged,
            Departure::Deceased => PatientStatus::Deceased,
        }),
        discharged_at: Some(day.map(|d| start_of_day(d, timezone))),
        version: Some(version),
        ..UpdatePatient::default()
    })
}

/// A move to another facility of the organization.
pub fn transfer(facility_id: i64, version: i64) -> UpdatePatient {
    UpdatePatient {
        facility_id: Some(facility_id),
        version: Some(version),
        ..UpdatePatient::default()
    }
}

/// Admits a resident.
pub async fn admit(api: &impl Caller, body: &CreatePatient) -> Result<Patient> {
    let patient: Patient = send(api.request(Method::POST, "/api/patients").json(body)).await?;
    tracing::info!(patient_id = patient.id, "resident admitted");
    Ok(patient)
}

/// A 2xx answer to an update (the resident), or the resident as they are
/// now, read from a stale update's 409.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum UpdateAnswer {
    Saved(Patient),
    #[serde(skip_deserializing)]
    Stale(Patient),
}

/// Sends an edit, a departure or a transfer; a stale one comes back as the
/// resident as they are now.
pub async fn update(api: &impl Caller, id: i64, body: &UpdatePatient) -> Result<UpdateAnswer> {
    let request = api
        .request(Method::PUT, &format!("/api/patients/{id}"))
        .json(body);
    let answer = send_rescuing(request, REQUEST_TIMEOUT, |status, bytes| {
        if status != reqwest::StatusCode::CONFLICT {
            return None;
        }
        let body: ErrorBody = serde_json::from_slice(bytes).ok()?;
        Some(UpdateAnswer::Stale(*body.error.current?))
    })
    .await?;
    match &answer {
        UpdateAnswer::Saved(_) => tracing::info!(patient_id = id, "resident updated"),
        UpdateAnswer::Stale(_) => {
            tracing::info!(patient_id = id, "resident update refused: changed since")
        }
    }
    Ok(answer)
}

impl From<UpdateAnswer> for ResidentSaved {
    fn from(answer: UpdateAnswer) -> Self {
        match answer {
            UpdateAnswer::Saved(p) => ResidentSaved::Saved { resident: p.into() },
            UpdateAnswer::Stale(p) => ResidentSaved::Conflict { current: p.into() },
        }
    }
}

/// Every resident of a facility (all statuses), as the console lists them.
pub async fn list(api: &impl Caller, facility_id: i64) -> Result<Vec<Resident>> {
    const MAX_PAGES: usize = 100;
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut query = vec![
            ("facility_id", facility_id.to_string()),
            ("limit", "200".to_owned()),
        ];
        if let Some(c) = cursor.take() {
            query.push(("cursor", c));
        }
        let page: PatientPage =
            send(api.request(Method::GET, "/api/patients").query(&query)).await?;
        out.extend(page.items.into_iter().map(Resident::from));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
