//! Staff accounts. Every user belongs to one facility.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{page, Secret};
use crate::{Language, Role};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: i64,
    pub organization_id: i64,
    pub facility_id: i64,
    /// Unique within the organization; badges link to it.
    pub employee_id: String,
    pub username: String,
    pub full_name: String,
    pub email: Option<String>,
    pub role: Role,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The language the person wants Tend shown in, on every device they sign
    /// in to; absent or null: no preference (the device's language applies).
    #[serde(default)]
    pub preferred_language: Option<Language>,
}

page!(
    /// A page of users.
    UserPage,
    User
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateUser {
    pub facility_id: i64,
    pub employee_id: String,
    pub username: String,
    pub full_name: String,
    #[serde(default)]
    pub email: Option<String>,
    pub role: Role,
    /// At least 12 characters.
    pub password: Secret,
    /// Absent or null: no preference.
    #[serde(default)]
    pub preferred_language: Option<Language>,
}

/// Partial update. The organization never changes; the facility may, within it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateUser {
    #[serde(default)]
    pub facility_id: Option<i64>,
    #[serde(default)]
    pub employee_id: Option<String>,
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub email: Option<Option<String>>,
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub is_active: Option<bool>,
    #[serde(default)]
    pub password: Option<Secret>,
    /// Absent: unchanged; null: no preference any more.
    #[serde(
        default,
        deserialize_with = "super::double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Language>))]
    pub preferred_language: Option<Option<Language>>,
}

/// The signed-in user's own language (`PUT /api/users/me/language`): any
/// role may set it; `null` drops the preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetLanguage {
    pub language: Option<Language>,
}
