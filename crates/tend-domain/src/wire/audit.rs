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

/// The latest verification of one audit chain (an organization's, or the
/// platform's): whether every event still matches its hash, its place in the
/// chain and the server's signed checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditChainVerification {
    /// The organization whose chain this is; `None` is the platform's chain
    /// (events outside any organization).
    pub organization_id: Option<i64>,
    /// When the run finished.
    pub verified_at: DateTime<Utc>,
    pub intact: bool,
    pub events_checked: i64,
    pub checkpoints_checked: i64,
    /// The last event found intact: the run's reach.
    pub last_event_id: Option<i64>,
    pub last_seq: Option<i64>,
    /// The first broken event's place in the chain, when not intact.
    pub broken_seq: Option<i64>,
    /// The first broken event, when it is still there (a deleted one has no id).
    pub broken_event_id: Option<i64>,
    /// What is wrong, in words.
    pub problem: Option<String>,
    /// Who asked for the run in the console; `None` for `tend-api audit verify`.
    pub run_by_user_id: Option<i64>,
}

/// The latest verification of each audit chain in the caller's scope; a chain
/// never verified is absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditChainStatus {
    pub items: Vec<AuditChainVerification>,
}
