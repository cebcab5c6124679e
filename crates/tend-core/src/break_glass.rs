//! Break-glass access from the app. The nurse workspace opens a resident of
//! another facility of the organization in an emergency and shows them,
//! fetched online with the signed-in user's token, never stored in the local
//! vault; the administrator's console lists the grants to review and marks
//! them reviewed. The rules (reason length, window) are the domain's
//! (`tend_domain::break_glass`); the server decides who may do what.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tend_domain::break_glass::{check_reason, REVIEW_NOTE_MAX};
use tend_domain::records::{ClinicalRecord, RecordBody};
use tend_domain::wire::{
    BreakGlassFacility, BreakGlassGrant, BreakGlassGrantPage, BreakGlassResident, OpenBreakGlass,
    Patient, ReviewBreakGlass,
};
use tend_domain::{ErrorCode, PatientStatus};
use uuid::Uuid;

use crate::admin::AdminSession;
use crate::api_call::send;
use crate::device::DeviceRuntime;
use crate::{CoreError, Result};

/// Most records the emergency view fetches (the API's page maximum).
pub const MAX_EMERGENCY_RECORDS: u32 = 200;

/// A facility the nurse may open a resident of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EmergencyFacility {
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub id: i64,
    pub name: String,
}

impl From<BreakGlassFacility> for EmergencyFacility {
    fn from(f: BreakGlassFacility) -> Self {
        Self {
            id: f.id,
            name: f.name,
        }
    }
}

/// The resident emergency access opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EmergencyResident {
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub id: i64,
    pub mrn: String,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: NaiveDate,
    pub status: PatientStatus,
    pub room: Option<String>,
}

impl From<BreakGlassResident> for EmergencyResident {
    fn from(p: BreakGlassResident) -> Self {
        Self {
            id: p.id,
            mrn: p.mrn,
            first_name: p.first_name,
            last_name: p.last_name,
            date_of_birth: p.date_of_birth,
            status: p.status,
            room: p.room,
        }
    }
}

impl From<Patient> for EmergencyResident {
    fn from(p: Patient) -> Self {
        Self {
            id: p.id,
            mrn: p.mrn,
            first_name: p.first_name,
            last_name: p.last_name,
            date_of_birth: p.date_of_birth,
            status: p.status,
            room: p.room,
        }
    }
}

/// Emergency access granted: the resident, where they live, and when access ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EmergencyAccess {
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub grant_id: i64,
    pub resident: EmergencyResident,
    pub facility_name: String,
    pub reason: String,
    pub granted_at: DateTime<Utc>,
    /// Access ends by itself then; the view closes.
    pub expires_at: DateTime<Utc>,
}

impl TryFrom<BreakGlassGrant> for EmergencyAccess {
    type Error = CoreError;

    fn try_from(g: BreakGlassGrant) -> Result<Self> {
        let resident = g.patient.ok_or_else(|| CoreError::Api {
            code: ErrorCode::NotFound,
            message: "the server granted access but did not show the resident".to_owned(),
        })?;
        Ok(Self {
            grant_id: g.id,
            resident: resident.into(),
            facility_name: g.facility_name,
            reason: g.reason,
            granted_at: g.granted_at,
            expires_at: g.expires_at,
        })
    }
}

/// One record of the resident's timeline, as the server has it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EmergencyRecord {
    pub id: Uuid,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub author_user_id: i64,
    pub occurred_at: DateTime<Utc>,
    pub amends: Option<Uuid>,
    pub body: RecordBody,
}

impl From<ClinicalRecord> for EmergencyRecord {
    fn from(r: ClinicalRecord) -> Self {
        Self {
            id: r.id,
            author_user_id: r.author_user_id,
            occurred_at: r.occurred_at,
            amends: r.amends,
            body: r.body,
        }
    }
}

/// The resident as the server shows them now, with their newest records.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EmergencyChart {
    pub resident: EmergencyResident,
    pub records: Vec<EmergencyRecord>,
}

/// The request for emergency access as typed, or the field errors the form
/// marks (the same rules the server applies).
pub fn open_request(facility_id: i64, mrn: &str, reason: &str) -> Result<OpenBreakGlass> {
    let mut fields = BTreeMap::new();
    let reason = check_reason(reason).unwrap_or_else(|e| {
        fields.insert(e.field.to_owned(), vec![e.message]);
        String::new()
    });
    let mrn = mrn.trim();
    if mrn.is_empty() {
        fields.insert(
            "mrn".to_owned(),
            vec!["enter the resident's MRN".to_owned()],
        );
    }
    if facility_id <= 0 {
        fields.insert(
            "facility_id".to_owned(),
            vec!["choose a facility".to_owned()],
        );
    }
    if !fields.is_empty() {
        return Err(CoreError::ApiFields {
            code: ErrorCode::ValidationFailed,
            message: "emergency access needs a facility, the MRN and a reason".to_owned(),
            fields,
        });
    }
    Ok(OpenBreakGlass {
        facility_id,
        mrn: mrn.to_owned(),
        reason,
    })
}

/// The review note as typed: blank is none.
pub fn review_request(note: Option<&str>) -> Result<ReviewBreakGlass> {
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > REVIEW_NOTE_MAX) {
        return Err(CoreError::ApiFields {
            code: ErrorCode::ValidationFailed,
            message: "the note is too long".to_owned(),
            fields: BTreeMap::from([(
                "note".to_owned(),
                vec![format!("must be at most {REVIEW_NOTE_MAX} characters")],
            )]),
        });
    }
    Ok(ReviewBreakGlass {
        note: note.map(str::to_owned),
    })
}

impl DeviceRuntime {
    /// The signed-in user's server client and token. Emergency access needs
    /// the server: an offline sign-in has no token.
    async fn online_as_user(&self) -> Result<(crate::client::DeviceClient, String)> {
        self.clinical()?;
        let token = self.login().user_token().ok_or_else(|| {
            CoreError::Offline(
                "emergency access needs the server; sign in again with your badge once the \
                 network is back"
                    .to_owned(),
            )
        })?;
        let server = self.link().server().await?;
        Ok((server.client.clone(), token.expose().to_owned()))
    }

    /// The other facilities of the user's organization.
    pub async fn emergency_facilities(&self) -> Result<Vec<EmergencyFacility>> {
        let (client, token) = self.online_as_user().await?;
        let list = client.break_glass_facilities(&token).await?;
        Ok(list.items.into_iter().map(Into::into).collect())
    }

    /// Opens a resident of another facility for the signed-in user, with
    /// their stated reason (audited and reviewed by the administrators).
    pub async fn open_emergency_access(
        &self,
        facility_id: i64,
        mrn: &str,
        reason: &str,
    ) -> Result<EmergencyAccess> {
        // Signed in first: a locked screen learns nothing, not even form errors.
        self.clinical()?;
        let request = open_request(facility_id, mrn, reason)?;
        let (client, token) = self.online_as_user().await?;
        let grant = client.open_break_glass(&token, &request).await?;
        tracing::info!(grant_id = grant.id, "emergency access granted");
        grant.try_into()
    }

    /// The resident and their newest records, from the server (each read is
    /// audited there); `NOT_FOUND` once access has ended.
    pub async fn emergency_chart(&self, patient_id: i64) -> Result<EmergencyChart> {
        let (client, token) = self.online_as_user().await?;
        let resident = client.patient(&token, patient_id).await?;
        let records = client
            .patient_records(&token, patient_id, MAX_EMERGENCY_RECORDS)
            .await?;
        Ok(EmergencyChart {
            resident: resident.into(),
            records: records.items.into_iter().map(Into::into).collect(),
        })
    }
}

/// A grant as the console's review list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BreakGlassReview {
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub id: i64,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub facility_id: i64,
    pub facility_name: String,
    /// "Last, First (MRN)" when the administrator may see the resident.
    pub resident: Option<String>,
    pub user_name: String,
    pub user_facility_name: String,
    pub reason: String,
    pub granted_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub active: bool,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub review_note: Option<String>,
}

impl From<BreakGlassGrant> for BreakGlassReview {
    fn from(g: BreakGlassGrant) -> Self {
        Self {
            id: g.id,
            facility_id: g.facility_id,
            facility_name: g.facility_name,
            resident: g
                .patient
                .map(|p| format!("{}, {} ({})", p.last_name, p.first_name, p.mrn)),
            user_name: g.user_name,
            user_facility_name: g.user_facility_name,
            reason: g.reason,
            granted_at: g.granted_at,
            expires_at: g.expires_at,
            active: g.active,
            reviewed_at: g.reviewed_at,
            review_note: g.review_note,
        }
    }
}

impl AdminSession {
    /// `GET /api/break-glass?reviewed=…`: the grants into or out of the
    /// administrator's facilities, newest first.
    pub async fn break_glass_grants(&self, reviewed: bool) -> Result<Vec<BreakGlassReview>> {
        let path = if reviewed {
            "/api/break-glass?reviewed=true"
        } else {
            "/api/break-glass?reviewed=false"
        };
        self.all_pages(path, |p: BreakGlassGrantPage| {
            (
                p.items.into_iter().map(BreakGlassReview::from).collect(),
                p.next_cursor,
            )
        })
        .await
    }

    /// `POST /api/break-glass/{id}/review` with an optional note.
    #[tracing::instrument(skip_all, fields(grant_id = id))]
    pub async fn review_break_glass(
        &self,
        id: i64,
        note: Option<&str>,
    ) -> Result<BreakGlassReview> {
        let body = review_request(note)?;
        let grant: BreakGlassGrant = send(
            self.post(&format!("/api/break-glass/{id}/review"))
                .json(&body),
        )
        .await?;
        tracing::info!(grant_id = id, "break-glass grant reviewed");
        Ok(grant.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_is_checked_with_the_servers_rules() {
        let ok = open_request(3, "  MRN-7 ", "  fell in the hallway, no chart ").unwrap();
        assert_eq!(ok.mrn, "MRN-7");
        assert_eq!(ok.reason, "fell in the hallway, no chart");
        let err = open_request(0, " ", "short").unwrap_err();
        assert_eq!(err.code(), ErrorCode::ValidationFailed);
        let fields = err.fields();
        for field in ["facility_id", "mrn", "reason"] {
            assert!(fields.contains_key(field), "{field}: {fields:?}");
        }
    }

    #[test]
    fn a_blank_note_is_no_note_and_a_long_one_is_refused() {
        assert_eq!(review_request(Some("  ")).unwrap().note, None);
        assert_eq!(
            review_request(Some(" ok ")).unwrap().note.as_deref(),
            Some("ok")
        );
        let long = "x".repeat(REVIEW_NOTE_MAX + 1);
        assert!(review_request(Some(&long))
            .unwrap_err()
            .fields()
            .contains_key("note"));
    }

    #[test]
    fn the_review_list_names_the_resident_only_when_the_server_shows_them() {
        let grant = |patient| BreakGlassGrant {
            id: 1,
            organization_id: 2,
            facility_id: 3,
            facility_name: "A2".into(),
            patient_id: 9,
            patient,
            user_id: 4,
            user_name: "Test RN".into(),
            user_facility_id: 5,
            user_facility_name: "A1".into(),
            reason: "fell in the hallway".into(),
            granted_at: Utc::now(),
            expires_at: Utc::now(),
            active: true,
            reviewed_by: None,
            reviewed_at: None,
            review_note: None,
        };
        assert_eq!(BreakGlassReview::from(grant(None)).resident, None);
        let shown = BreakGlassReview::from(grant(Some(BreakGlassResident {
            id: 9,
            mrn: "MRN-7".into(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            date_of_birth: NaiveDate::from_ymd_opt(1940, 2, 3).unwrap(),
            status: PatientStatus::Active,
            room: None,
        })));
        assert_eq!(shown.resident.as_deref(), Some("Lovelace, Ada (MRN-7)"));
        assert!(EmergencyAccess::try_from(grant(None)).is_err());
    }
}
