//! Organizations: the top-level tenant.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{page, JsonObject};
use crate::{Ein, Npi, OrganizationType};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Organization {
    pub id: i64,
    pub name: String,
    /// Not set when the organization was created without one.
    pub organization_type: Option<OrganizationType>,
    pub npi: Option<String>,
    /// Employer Identification Number, `NN-NNNNNNN`.
    pub tax_id: Option<String>,
    pub state_license_number: Option<String>,
    /// Two-letter state code.
    pub license_state: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub settings: JsonObject,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Present on the detail view only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility_count: Option<i64>,
}

page!(
    /// A page of organizations.
    OrganizationPage,
    Organization
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateOrganization {
    pub name: String,
    /// Optional, as in the design's own examples (name and NPI only).
    #[serde(default)]
    pub organization_type: Option<OrganizationType>,
    #[serde(default)]
    pub npi: Option<Npi>,
    #[serde(default)]
    pub tax_id: Option<Ein>,
    #[serde(default)]
    pub state_license_number: Option<String>,
    #[serde(default)]
    pub license_state: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub settings: Option<JsonObject>,
}

/// Partial update: absent fields keep their value; `null` clears a nullable one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateOrganization {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub organization_type: Option<OrganizationType>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub npi: Option<Option<Npi>>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub tax_id: Option<Option<Ein>>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub state_license_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub license_state: Option<Option<String>>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub settings: Option<JsonObject>,
    #[serde(default)]
    pub is_active: Option<bool>,
}
