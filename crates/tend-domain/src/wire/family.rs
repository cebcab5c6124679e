//! The family portal on the wire: staff issue visitor codes and publish
//! updates meant for family; a family member checks in on a kiosk with a code
//! and reads only those updates (never clinical records) and leaves messages
//! for the care team.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Secret;

/// Shortest and longest life of a visitor code, in days.
pub const VISITOR_CODE_DAYS: std::ops::RangeInclusive<i32> = 1..=90;
/// Digits in a visitor code (shown and typed as two groups of four).
pub const VISITOR_CODE_DIGITS: usize = 8;
/// How long a visitor code lives when the request does not say.
pub const VISITOR_CODE_DEFAULT_DAYS: i32 = 30;
/// Longest family update or message, in characters.
pub const FAMILY_TEXT_MAX: usize = 2000;
/// How far back the family summary reaches, in days.
pub const FAMILY_SUMMARY_DAYS: i64 = 7;

/// Issue a visitor code for a resident (staff of the resident's facility).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateVisitorCode {
    /// Who will use the code ("Ana Hernández"), at most 100 characters.
    pub visitor_name: String,
    /// "daughter", "friend"; at most 60 characters.
    #[serde(default)]
    pub relationship: Option<String>,
    /// 1–90, default 30.
    #[serde(default)]
    pub expires_in_days: Option<i32>,
}

/// A visitor code as staff see it: never the code itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitorCode {
    pub id: i64,
    pub organization_id: i64,
    pub facility_id: i64,
    pub patient_id: i64,
    /// The code's last two digits, to tell codes apart.
    pub code_hint: String,
    pub visitor_name: String,
    pub relationship: Option<String>,
    pub expires_at: DateTime<Utc>,
    /// The last check-in with this code.
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<i64>,
}

/// The answer to issuing a visitor code: the code, shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssuedVisitorCode {
    /// Eight digits grouped 4-4 (`4821 0937`); spaces do not matter when typed.
    pub code: String,
    pub visitor_code: VisitorCode,
}

/// A resident's visitor codes, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitorCodeList {
    pub items: Vec<VisitorCode>,
}

/// What a family update is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum FamilyUpdateKind {
    /// How the resident's day went, in plain words.
    DaySummary,
    /// Something the resident took part in.
    Activity,
    /// A note from the care team to the family.
    Message,
}

impl FamilyUpdateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DaySummary => "day_summary",
            Self::Activity => "activity",
            Self::Message => "message",
        }
    }

    pub fn parse(s: &str) -> Result<Self, crate::ValidationError> {
        match s {
            "day_summary" => Ok(Self::DaySummary),
            "activity" => Ok(Self::Activity),
            "message" => Ok(Self::Message),
            _ => Err(crate::ValidationError::new(
                "kind",
                "must be day_summary, activity or message",
            )),
        }
    }
}

/// Publish an update for a resident's family (staff).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateFamilyUpdate {
    pub kind: FamilyUpdateKind,
    /// Plain words, 1–2000 characters: everything in it is shown to family.
    pub body: String,
}

/// An update as staff see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FamilyUpdate {
    pub id: i64,
    pub organization_id: i64,
    pub facility_id: i64,
    pub patient_id: i64,
    pub kind: FamilyUpdateKind,
    pub body: String,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
}

/// A resident's family updates, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FamilyUpdateList {
    pub items: Vec<FamilyUpdate>,
}

/// A family member checks in on a kiosk (device token) with a visitor code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FamilyCheckIn {
    /// The eight digits; spaces and dashes do not matter.
    pub visitor_code: Secret,
}

/// Who the family member is visiting: a display name and the room, nothing more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FamilyResident {
    /// First name and last initial ("Margaret H.").
    pub display_name: String,
    pub room: Option<String>,
}

/// The answer to a check-in: a family session for one resident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FamilySession {
    /// `tfam_…`: valid only for the family endpoints, for 15 minutes.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub visitor_name: String,
    pub resident: FamilyResident,
}

/// One shared item as family see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FamilyItem {
    pub id: i64,
    pub body: String,
    pub posted_at: DateTime<Utc>,
}

/// What a family member sees: only what staff shared, the last 7 days, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FamilySummary {
    pub resident: FamilyResident,
    pub visitor_name: String,
    /// Today's day summary (the latest, in the facility's time zone), if any.
    pub day_summary: Option<FamilyItem>,
    pub activities: Vec<FamilyItem>,
    /// Messages from the care team.
    pub messages: Vec<FamilyItem>,
}

/// A message from family to the care team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SendFamilyMessage {
    /// 1–2000 characters.
    pub body: String,
}

/// A message from family, as staff read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FamilyMessage {
    pub id: i64,
    pub organization_id: i64,
    pub facility_id: i64,
    pub patient_id: i64,
    pub visitor_code_id: i64,
    pub visitor_name: String,
    pub relationship: Option<String>,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// The answer to a family member's message (what they may see of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FamilyMessageSent {
    pub id: i64,
    pub created_at: DateTime<Utc>,
}

/// A resident's messages from family, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FamilyMessageList {
    pub items: Vec<FamilyMessage>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_kinds_round_trip_and_unknown_kinds_are_refused() {
        for kind in [
            FamilyUpdateKind::DaySummary,
            FamilyUpdateKind::Activity,
            FamilyUpdateKind::Message,
        ] {
            assert_eq!(FamilyUpdateKind::parse(kind.as_str()), Ok(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert!(FamilyUpdateKind::parse("vital_signs").is_err());
        assert!(
            serde_json::from_str::<CreateFamilyUpdate>(r#"{"kind":"vital_signs","body":"x"}"#)
                .is_err()
        );
    }

    #[test]
    fn check_in_hides_the_code_from_debug() {
        let c: FamilyCheckIn = serde_json::from_str(r#"{"visitor_code":"4821 0937"}"#).unwrap();
        assert!(!format!("{c:?}").contains("4821"));
    }
}
