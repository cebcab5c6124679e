//! The console's audit log: the API's append-only events, one page at a
//! time, filtered by facility, person, kind of action and cross-facility
//! access.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tend_domain::wire::{AuditEvent, AuditEventPage};

use super::AdminSession;
use crate::api_call::send;
use crate::{CoreError, Result};

/// Rows per page: a screenful the administrator reads before asking for more.
const AUDIT_PAGE_SIZE: u32 = 50;
/// Longest action family the console sends (`device.enrollment.` is 19).
const MAX_ACTION_PREFIX: usize = 64;

/// What the audit log shows. Empty filters show everything in scope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AuditLogQuery {
    /// One facility; `None` is every facility the administrator may see.
    pub facility_id: Option<u32>,
    /// One person's actions.
    pub actor_user_id: Option<u32>,
    /// A family of actions, e.g. `auth.` or `patient.`.
    pub action_prefix: Option<String>,
    /// Only access outside the actor's own facility.
    pub cross_facility_only: bool,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl AuditLogQuery {
    fn to_query(&self) -> Result<Vec<(&'static str, String)>> {
        let mut query = vec![("limit", AUDIT_PAGE_SIZE.to_string())];
        if let Some(id) = self.facility_id {
            query.push(("facility_id", id.to_string()));
        }
        if let Some(id) = self.actor_user_id {
            query.push(("actor_user_id", id.to_string()));
        }
        if let Some(prefix) = self.action_prefix.as_deref().map(str::trim) {
            let valid = !prefix.is_empty()
                && prefix.len() <= MAX_ACTION_PREFIX
                && prefix
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_');
            if !valid {
                return Err(CoreError::invalid(
                    "action_prefix",
                    "choose a kind of action from the list",
                ));
            }
            query.push(("action_prefix", prefix.to_owned()));
        }
        if self.cross_facility_only {
            query.push(("cross_facility", "true".to_owned()));
        }
        if let Some(cursor) = &self.cursor {
            query.push(("cursor", cursor.clone()));
        }
        Ok(query)
    }
}

/// One row of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AuditEntry {
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub id: i64,
    pub at: DateTime<Utc>,
    #[cfg_attr(feature = "specta", specta(type = Option<u32>))]
    pub actor_user_id: Option<i64>,
    pub actor_name: Option<String>,
    #[cfg_attr(feature = "specta", specta(type = Option<u32>))]
    pub actor_device_id: Option<i64>,
    #[cfg_attr(feature = "specta", specta(type = Option<u32>))]
    pub facility_id: Option<i64>,
    pub facility_name: Option<String>,
    pub action: String,
    pub resource_type: String,
    #[cfg_attr(feature = "specta", specta(type = Option<u32>))]
    pub resource_id: Option<i64>,
    /// The API refused the action.
    pub denied: bool,
    pub cross_facility: bool,
    pub reason: Option<String>,
}

impl From<AuditEvent> for AuditEntry {
    fn from(e: AuditEvent) -> Self {
        Self {
            id: e.id,
            at: e.at,
            actor_user_id: e.actor_user_id,
            actor_name: e.actor_name,
            actor_device_id: e.actor_device_id,
            facility_id: e.facility_id,
            facility_name: e.facility_name,
            denied: e.outcome == "denied",
            action: e.action,
            resource_type: e.resource_type,
            resource_id: e.resource_id,
            cross_facility: e.cross_facility,
            reason: e.reason,
        }
    }
}

/// A page of the audit log, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AuditLogPage {
    pub items: Vec<AuditEntry>,
    /// Present when older events exist.
    pub next_cursor: Option<String>,
}

impl AdminSession {
    /// `GET /api/audit-events`: one page. Reading another facility's log is
    /// itself audited by the API.
    #[tracing::instrument(skip_all, fields(facility_id = query.facility_id))]
    pub async fn audit_log(&self, query: &AuditLogQuery) -> Result<AuditLogPage> {
        let params = query.to_query()?;
        let page: AuditEventPage = send(self.get("/api/audit-events").query(&params)).await?;
        Ok(AuditLogPage {
            items: page.items.into_iter().map(AuditEntry::from).collect(),
            next_cursor: page.next_cursor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_the_api_query_and_bad_prefixes_name_the_field() {
        let query = AuditLogQuery {
            facility_id: Some(7),
            actor_user_id: Some(3),
            action_prefix: Some(" patient. ".into()),
            cross_facility_only: true,
            cursor: Some("abc".into()),
        };
        let params = query.to_query().unwrap();
        assert!(params.contains(&("facility_id", "7".into())));
        assert!(params.contains(&("actor_user_id", "3".into())));
        assert!(params.contains(&("action_prefix", "patient.".into())));
        assert!(params.contains(&("cross_facility", "true".into())));
        assert!(params.contains(&("cursor", "abc".into())));
        let everything = AuditLogQuery::default().to_query().unwrap();
        assert_eq!(everything, vec![("limit", AUDIT_PAGE_SIZE.to_string())]);
        for bad in ["", "%", "Patient.", "a b"] {
            let err = AuditLogQuery {
                action_prefix: Some(bad.into()),
                ..Default::default()
            }
            .to_query()
            .unwrap_err();
            assert_eq!(
                err.code(),
                tend_domain::ErrorCode::ValidationFailed,
                "{bad}"
            );
        }
    }
}
