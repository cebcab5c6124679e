//! The family portal's staff side, from the nurse workspace: issue a
//! visitor code for a resident's family (the code is shown once, to hand
//! over or print), revoke one, share an update (a day summary, an activity,
//! or an answer to a message) and read what family wrote. Online, as the
//! signed-in user; the server audits each and shows family only what was
//! shared. The rules (lengths, code lifetime) are the domain's.

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::Serialize;
use tend_domain::wire::{
    CreateFamilyUpdate, CreateVisitorCode, FamilyMessage, FamilyMessageList, FamilyUpdate,
    FamilyUpdateKind, FamilyUpdateList, IssuedVisitorCode, VisitorCode, VisitorCodeList,
    FAMILY_TEXT_MAX, VISITOR_CODE_DAYS,
};

use crate::api_call::send;
use crate::api_call::Caller;
use crate::{CoreError, Result};

/// A visitor code as staff see it afterwards: never the code, its last two digits.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct VisitorCodeSummary {
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub id: i64,
    pub code_hint: String,
    pub visitor_name: String,
    pub relationship: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<VisitorCode> for VisitorCodeSummary {
    fn from(c: VisitorCode) -> Self {
        Self {
            id: c.id,
            code_hint: c.code_hint,
            visitor_name: c.visitor_name,
            relationship: c.relationship,
            expires_at: c.expires_at,
            last_used_at: c.last_used_at,
            revoked_at: c.revoked_at,
        }
    }
}

/// A code just issued: shown once, large, to hand over or print.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewVisitorCode {
    /// Eight digits grouped 4-4.
    pub code: String,
    pub summary: VisitorCodeSummary,
}

/// Something shared with the family.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SharedUpdate {
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub id: i64,
    pub kind: FamilyUpdateKind,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl From<FamilyUpdate> for SharedUpdate {
    fn from(u: FamilyUpdate) -> Self {
        Self {
            id: u.id,
            kind: u.kind,
            body: u.body,
            created_at: u.created_at,
        }
    }
}

/// A message family left for the care team.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MessageFromFamily {
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub id: i64,
    pub visitor_name: String,
    pub relationship: Option<String>,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl From<FamilyMessage> for MessageFromFamily {
    fn from(m: FamilyMessage) -> Self {
        Self {
            id: m.id,
            visitor_name: m.visitor_name,
            relationship: m.relationship,
            body: m.body,
            created_at: m.created_at,
        }
    }
}

/// A resident's family side at a glance, newest first in each list.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FamilyCorner {
    pub codes: Vec<VisitorCodeSummary>,
    pub shared: Vec<SharedUpdate>,
    pub messages: Vec<MessageFromFamily>,
}

/// The request for a visitor code as typed, or the field errors.
pub fn code_request(
    visitor_name: &str,
    relationship: &str,
    expires_in_days: i32,
) -> Result<CreateVisitorCode> {
    let name = visitor_name.trim();
    if name.is_empty() {
        return Err(CoreError::invalid(
            "visitor_name",
            "enter the name of the person who will use the code",
        ));
    }
    if !VISITOR_CODE_DAYS.contains(&expires_in_days) {
        return Err(CoreError::invalid(
            "expires_in_days",
            &format!(
                "must be {} to {} days",
                VISITOR_CODE_DAYS.start(),
                VISITOR_CODE_DAYS.end()
            ),
        ));
    }
    let relationship = relationship.trim();
    Ok(CreateVisitorCode {
        visitor_name: name.to_owned(),
        relationship: (!relationship.is_empty()).then(|| relationship.to_owned()),
        expires_in_days: Some(expires_in_days),
    })
}

/// The update as typed, or the field error.
pub fn update_request(kind: FamilyUpdateKind, body: &str) -> Result<CreateFamilyUpdate> {
    let body = body.trim();
    if body.is_empty() {
        return Err(CoreError::invalid("body", "write what to share"));
    }
    if body.chars().count() > FAMILY_TEXT_MAX {
        return Err(CoreError::invalid(
            "body",
            &format!("must be at most {FAMILY_TEXT_MAX} characters"),
        ));
    }
    Ok(CreateFamilyUpdate {
        kind,
        body: body.to_owned(),
    })
}

/// The resident's codes, what was shared and family's messages.
pub async fn corner(api: &impl Caller, patient_id: i64) -> Result<FamilyCorner> {
    let base = format!("/api/patients/{patient_id}");
    let codes: VisitorCodeList =
        send(api.request(Method::GET, &format!("{base}/visitor-codes"))).await?;
    let shared: FamilyUpdateList =
        send(api.request(Method::GET, &format!("{base}/family-updates"))).await?;
    let messages: FamilyMessageList =
        send(api.request(Method::GET, &format!("{base}/family-messages"))).await?;
    Ok(FamilyCorner {
        codes: codes.items.into_iter().map(Into::into).collect(),
        shared: shared.items.into_iter().map(Into::into).collect(),
        messages: messages.items.into_iter().map(Into::into).collect(),
    })
}

pub async fn issue_code(
    api: &impl Caller,
    patient_id: i64,
    request: &CreateVisitorCode,
) -> Result<NewVisitorCode> {
    let issued: IssuedVisitorCode = send(
        api.request(
            Method::POST,
            &format!("/api/patients/{patient_id}/visitor-codes"),
        )
        .json(request),
    )
    .await?;
    tracing::info!(
        patient_id,
        code_id = issued.visitor_code.id,
        "visitor code issued"
    );
    Ok(NewVisitorCode {
        code: issued.code,
        summary: issued.visitor_code.into(),
    })
}

pub async fn revoke_code(
    api: &impl Caller,
    patient_id: i64,
    code_id: i64,
) -> Result<VisitorCodeSummary> {
    let code: VisitorCode = send(api.request(
        Method::POST,
        &format!("/api/patients/{patient_id}/visitor-codes/{code_id}/revoke"),
    ))
    .await?;
    tracing::info!(patient_id, code_id, "visitor code revoked");
    Ok(code.into())
}

pub async fn share(
    api: &impl Caller,
    patient_id: i64,
    request: &CreateFamilyUpdate,
) -> Result<SharedUpdate> {
    let update: FamilyUpdate = send(
        api.request(
            Method::POST,
            &format!("/api/patients/{patient_id}/family-updates"),
        )
        .json(request),
    )
    .await?;
    tracing::info!(patient_id, update_id = update.id, "shared with family");
    Ok(update.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_needs_a_name_and_a_lifetime_the_domain_allows() {
        let ok = code_request(" Ana Hernández ", " daughter ", 30).unwrap();
        assert_eq!(ok.visitor_name, "Ana Hernández");
        assert_eq!(ok.relationship.as_deref(), Some("daughter"));
        assert_eq!(
            code_request("Ana", "", 7).unwrap().relationship,
            None,
            "blank relationship is none"
        );
        let err = code_request("  ", "", 30).unwrap_err();
        assert_eq!(err.fields().keys().collect::<Vec<_>>(), ["visitor_name"]);
        let err = code_request("Ana", "", 91).unwrap_err();
        assert_eq!(err.fields().keys().collect::<Vec<_>>(), ["expires_in_days"]);
    }

    #[test]
    fn an_update_is_trimmed_and_bounded() {
        let ok = update_request(FamilyUpdateKind::Activity, "  Bingo at 2 pm ").unwrap();
        assert_eq!(ok.body, "Bingo at 2 pm");
        assert!(update_request(FamilyUpdateKind::Message, " ").is_err());
        let long = "x".repeat(FAMILY_TEXT_MAX + 1);
        let err = update_request(FamilyUpdateKind::DaySummary, &long).unwrap_err();
        assert!(err.fields()["body"][0].contains("2000"));
    }
}
