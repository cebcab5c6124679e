//! Audit events: append-only records of who did what where.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::page;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<i64>,
    pub actor_device_id: Option<i64>,
    pub organization_id: Option<i64>,
    pub facility_id: Option<i64>,
    /// e.g. `patient.read`, `facility.census.update`, `auth.login`.
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<i64>,
    /// `success` or `denied`.
    pub outcome: String,
    /// The actor worked in a facility other than its own.
    pub cross_facility: bool,
    pub reason: Option<String>,
    pub client_address: Option<String>,
    /// The acting user's name, when the reader may see that user.
    #[serde(default)]
    pub actor_name: Option<String>,
    /// The facility's name, when the reader may see that facility.
    #[serde(default)]
    pub facility_name: Option<String>,
}

page!(
    /// A page of audit events, newest first.
    AuditEventPage,
    AuditEvent
);
