//! The console's audit log: the API's append-only events, one page at a
//! time, filtered by facility, person, kind of action and cross-facility
//! access; the audit chain's last verification (and a new one, for those who
//! may); and the same filters exported as a CSV file for an auditor.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tend_domain::wire::{AuditChainStatus, AuditChainVerification, AuditEvent, AuditEventPage};
use tend_domain::Role;

use super::AdminSession;
use crate::api_call::{fetch_with_headers, send};
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
        if let Some(id) = self.actor_user_id {
            query.push(("actor_user_id", id.to_string()));
        }
        query.extend(self.shared_filters()?);
        if let Some(cursor) = &self.cursor {
            query.push(("cursor", cursor.clone()));
        }
        Ok(query)
    }

    /// The export's query: the same filters, the person as `user_id` (what
    /// they did, and what was done to their account), every page at once.
    fn to_export_query(&self) -> Result<Vec<(&'static str, String)>> {
        let mut query = self.shared_filters()?;
        if let Some(id) = self.actor_user_id {
            query.push(("user_id", id.to_string()));
        }
        Ok(query)
    }

    fn shared_filters(&self) -> Result<Vec<(&'static str, String)>> {
        let mut query = Vec::new();
        if let Some(id) = self.facility_id {
            query.push(("facility_id", id.to_string()));
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

/// The latest verification of one audit chain, as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AuditChainLine {
    /// The organization whose chain this is; `None`: the platform's.
    #[cfg_attr(feature = "specta", specta(type = Option<u32>))]
    pub organization_id: Option<i64>,
    pub verified_at: DateTime<Utc>,
    pub intact: bool,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub events_checked: i64,
    /// The last event found intact.
    #[cfg_attr(feature = "specta", specta(type = Option<u32>))]
    pub last_event_id: Option<i64>,
    /// The first broken event (none when it was deleted) and its place.
    #[cfg_attr(feature = "specta", specta(type = Option<u32>))]
    pub broken_event_id: Option<i64>,
    #[cfg_attr(feature = "specta", specta(type = Option<u32>))]
    pub broken_seq: Option<i64>,
    pub problem: Option<String>,
    /// Run from the console (otherwise by `tend-api audit verify`).
    pub from_console: bool,
}

impl From<AuditChainVerification> for AuditChainLine {
    fn from(v: AuditChainVerification) -> Self {
        Self {
            organization_id: v.organization_id,
            verified_at: v.verified_at,
            intact: v.intact,
            events_checked: v.events_checked,
            last_event_id: v.last_event_id,
            broken_event_id: v.broken_event_id,
            broken_seq: v.broken_seq,
            problem: v.problem,
            from_console: v.run_by_user_id.is_some(),
        }
    }
}

/// The audit chains the administrator may see, each with its latest
/// verification (a chain never verified is absent), and whether they may
/// start a verification (the API's rule: organization and platform admins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AuditChainSummary {
    pub chains: Vec<AuditChainLine>,
    pub can_verify: bool,
}

/// Where an export was saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AuditExportSaved {
    pub path: String,
    /// The server's limit cut the export: narrow the filters for the rest.
    pub truncated: bool,
}

impl AdminSession {
    fn chain_summary(&self, status: AuditChainStatus) -> AuditChainSummary {
        AuditChainSummary {
            chains: status.items.into_iter().map(AuditChainLine::from).collect(),
            can_verify: matches!(self.user().role, Role::OrgAdmin | Role::PlatformAdmin),
        }
    }

    /// `GET /api/audit-chain`: the latest verification of each chain in scope.
    #[tracing::instrument(skip_all)]
    pub async fn audit_chain(&self) -> Result<AuditChainSummary> {
        let status: AuditChainStatus = send(self.get("/api/audit-chain")).await?;
        Ok(self.chain_summary(status))
    }

    /// `POST /api/audit-chain/verify`: verifies now (audited by the API).
    #[tracing::instrument(skip_all)]
    pub async fn verify_audit_chain(&self) -> Result<AuditChainSummary> {
        let status: AuditChainStatus = send(self.post("/api/audit-chain/verify")).await?;
        Ok(self.chain_summary(status))
    }

    /// `GET /api/audit-events/export/csv` with the log's filters, saved as a
    /// new file in `dir` (readable by this user only: it names people).
    #[tracing::instrument(skip_all, fields(facility_id = query.facility_id))]
    pub async fn export_audit_csv(
        &self,
        query: &AuditLogQuery,
        dir: &Path,
        now: DateTime<Utc>,
    ) -> Result<AuditExportSaved> {
        let params = query.to_export_query()?;
        let (headers, body) =
            fetch_with_headers(self.get("/api/audit-events/export/csv").query(&params)).await?;
        let truncated = headers.contains_key("x-tend-next-after-id");
        let name = format!(
            "tend-audit-{}-{}.csv",
            query
                .facility_id
                .map_or_else(|| "all".to_owned(), |f| format!("facility-{f}")),
            now.format("%Y%m%d-%H%M%S")
        );
        let path = dir.join(name);
        write_new(&path, &body).map_err(|e| CoreError::Storage {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(AuditExportSaved {
            path: path.display().to_string(),
            truncated,
        })
    }

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

/// Where a download goes: `XDG_DOWNLOAD_DIR` when set (absolute), else
/// `~/Downloads` when it exists, else the home folder.
pub fn downloads_dir() -> std::path::PathBuf {
    downloads_dir_from(
        std::env::var_os("XDG_DOWNLOAD_DIR").map(Into::into),
        std::env::var_os("HOME").map(Into::into),
    )
}

fn downloads_dir_from(
    xdg: Option<std::path::PathBuf>,
    home: Option<std::path::PathBuf>,
) -> std::path::PathBuf {
    if let Some(dir) = xdg.filter(|d| d.is_absolute()) {
        return dir;
    }
    let home = home.unwrap_or_else(std::env::temp_dir);
    let downloads = home.join("Downloads");
    if downloads.is_dir() {
        downloads
    } else {
        home
    }
}

/// Writes `bytes` to a file that must not exist yet, mode 0600 on Unix.
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_export_takes_the_logs_filters_without_paging() {
        let query = AuditLogQuery {
            facility_id: Some(7),
            actor_user_id: Some(3),
            action_prefix: Some("auth.".into()),
            cross_facility_only: true,
            cursor: Some("abc".into()),
        };
        let params = query.to_export_query().unwrap();
        assert_eq!(
            params,
            vec![
                ("facility_id", "7".to_owned()),
                ("action_prefix", "auth.".to_owned()),
                ("cross_facility", "true".to_owned()),
                ("user_id", "3".to_owned()),
            ]
        );
        assert!(AuditLogQuery::default()
            .to_export_query()
            .unwrap()
            .is_empty());
    }

    #[test]
    fn downloads_go_to_the_xdg_folder_or_downloads_or_home() {
        let home = tempfile::tempdir().unwrap();
        let h = Some(home.path().to_path_buf());
        assert_eq!(downloads_dir_from(None, h.clone()), home.path());
        std::fs::create_dir(home.path().join("Downloads")).unwrap();
        assert_eq!(
            downloads_dir_from(None, h.clone()),
            home.path().join("Downloads")
        );
        assert_eq!(
            downloads_dir_from(Some("/srv/dl".into()), h.clone()),
            std::path::PathBuf::from("/srv/dl")
        );
        assert_eq!(
            downloads_dir_from(Some("relative".into()), h),
            home.path().join("Downloads")
        );
    }

    #[test]
    fn an_export_never_overwrites_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.csv");
        write_new(&path, b"id\r\n").unwrap();
        assert!(write_new(&path, b"other").is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"id\r\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

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
