//! Badges and PINs on the wire: admins assign and revoke users' badges, users
//! set a PIN, and devices log users in with a badge tap (and the PIN when the
//! facility's policy asks for it). A badge value crosses the wire only in
//! requests, as read by a reader; answers and storage carry no badge value.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{page, Secret};

/// Assign a badge to a user (admins).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssignBadge {
    /// The badge's NFC UID in hexadecimal as the reader reports it: 4, 7 or
    /// 10 bytes, `:`/`-`/space separators allowed (`04:A2:5B:1C:…`).
    pub badge_uid: Secret,
    /// A note to tell a user's badges apart ("spare badge"), at most 100 characters.
    #[serde(default)]
    pub label: Option<String>,
}

/// A badge as admins see it: never the badge value, nor its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Badge {
    pub id: i64,
    pub organization_id: i64,
    pub facility_id: i64,
    pub user_id: i64,
    pub label: Option<String>,
    /// False once revoked.
    pub is_active: bool,
    /// Set while the badge is locked after too many wrong PINs.
    pub locked_until: Option<DateTime<Utc>>,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<i64>,
    /// The last successful login with this badge.
    pub last_used_at: Option<DateTime<Utc>>,
}

page!(
    /// A page of a user's badges, oldest first.
    BadgePage,
    Badge
);

/// Set or replace a user's PIN (the user themself, or an admin).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetPin {
    /// 4 to 8 digits, not all the same digit and not a run such as 1234.
    pub pin: Secret,
}

/// The answer to setting a PIN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PinSet {
    pub user_id: i64,
    pub pin_set_at: DateTime<Utc>,
}

/// A badge tap on a device (device token). Answers a user session like
/// `/api/auth/login`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BadgeLoginRequest {
    /// The badge's NFC UID in hexadecimal as the reader reports it.
    pub badge_uid: Secret,
    /// The user's PIN, when the policy asked for it (`BADGE_PIN_REQUIRED`).
    #[serde(default)]
    pub pin: Option<Secret>,
}
