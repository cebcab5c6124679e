//! Live wandering alerts: the events the API pushes to a facility's devices
//! (Server-Sent Events on `GET /api/devices/events`) and the acknowledgement.
//! An alert carries only what a lock screen may show: the resident's room and
//! first name, never another identifier or clinical detail.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::records::WanderingAlertType;

/// How long an alert stays active without acknowledgement before it is
/// escalated, when the facility's settings name no
/// `wandering_escalation_minutes`.
pub const DEFAULT_WANDERING_ESCALATION_MINUTES: i64 = 5;

/// An alert as a lock screen may show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LiveAlert {
    /// The `wandering_alert` record's id.
    pub id: Uuid,
    pub room: Option<String>,
    /// The resident's first name only.
    pub first_name: String,
    pub alert: WanderingAlertType,
    pub location: String,
    /// When it happened (the device's clock, corrected).
    pub occurred_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// Who acknowledged (a staff member's name).
    pub acknowledged_by: Option<String>,
    pub escalated_at: Option<DateTime<Utc>>,
    /// A later `found` closed it (a `found` is closed from the start).
    pub resolved_at: Option<DateTime<Utc>>,
}

impl LiveAlert {
    /// Active: nobody acknowledged it and nothing closed it.
    pub fn is_active(&self) -> bool {
        self.acknowledged_at.is_none()
            && self.resolved_at.is_none()
            && self.alert != WanderingAlertType::Found
    }
}

/// What happened to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AlertEventKind {
    Raised,
    Acknowledged,
    /// Nobody acknowledged in time: devices show it more prominently.
    Escalated,
    /// A later `found` closed it.
    Resolved,
}

/// One pushed event (the `data:` of an SSE event named `wandering_alert`;
/// its SSE `id:` is `seq`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertEvent {
    /// Position in the facility's alert events; resume after it with `Last-Event-ID`.
    pub seq: i64,
    pub event: AlertEventKind,
    pub at: DateTime<Utc>,
    /// The alert after the event.
    pub alert: LiveAlert,
}
