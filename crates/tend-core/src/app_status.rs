//! What the app reports about itself to its own UI: build and runtime facts
//! (`AppInfo`) and the connection/sync state shown in the status bar.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tend_domain::ErrorCode;

use crate::config::{AppConfig, Profile, WedgeSettings};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AppInfo {
    pub version: String,
    pub profile: Profile,
    /// `linux-x86_64`, `macos-aarch64`, …
    pub platform: String,
    pub data_dir: String,
    pub log_dir: String,
    pub webkit_dmabuf_workaround: bool,
    /// The keyboard-wedge reader's format, for the lock screen's recognizer.
    pub wedge: WedgeSettings,
}

impl AppInfo {
    pub fn new(config: &AppConfig, version: &str) -> Self {
        Self {
            version: version.to_owned(),
            profile: config.profile,
            platform: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
            data_dir: config.data_dir.display().to_string(),
            log_dir: config.log_dir.display().to_string(),
            webkit_dmabuf_workaround: config.webkit_dmabuf_workaround,
            wedge: config.wedge.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum ConnectionState {
    /// No server address configured yet (first run).
    NotConfigured,
    Online,
    Offline,
}

/// The status bar's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AppStatus {
    pub connection: ConnectionState,
    pub server_url: Option<String>,
    /// RFC 3339 time of the last successful sync.
    pub last_sync: Option<String>,
    /// Records waiting to be uploaded.
    pub pending: u32,
    /// The device's facility as last synced, the one fact about it the lock
    /// screen shows; `None` before the first sync.
    pub facility_name: Option<String>,
    /// The facility's IANA time zone as last synced: every date and time on
    /// screen is the facility's, whatever the device's own clock zone.
    pub facility_timezone: Option<String>,
    /// The server said this device's enrollment is over without a signed
    /// order: locked, nothing deleted, waiting to be re-adopted.
    pub held: Option<crate::session::HeldNotice>,
    /// The vault's state when it is not simply open: a kiosk whose key is
    /// bound to the server waits for the network after a reboot
    /// (`waiting_for_network`). `None` before the first attempt.
    pub vault: Option<crate::vault::UnlockState>,
    /// The server refuses this device because its facility or organization
    /// is closed in Tend: nothing deleted, the device asks again.
    pub closed: Option<ClosedNotice>,
    /// The device's language (a display setting; English until chosen). A
    /// signed-in person's own language, in the session, wins over it.
    pub language: tend_domain::Language,
}

/// Why the server refuses this device for now: its facility or its
/// organization is closed in Tend (`FACILITY_CLOSED`, `ORGANIZATION_CLOSED`).
/// Not an end of the enrollment: nothing is deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ClosedNotice {
    pub code: ErrorCode,
    /// What the status bar and the lock screen say.
    pub message: String,
    pub since: DateTime<Utc>,
}

impl ClosedNotice {
    /// The notice for a refusal `code`; `None` for any other code.
    pub fn for_code(code: ErrorCode, since: DateTime<Utc>) -> Option<Self> {
        let message = match code {
            ErrorCode::FacilityClosed => "This facility is closed in Tend; ask an administrator",
            ErrorCode::OrganizationClosed => {
                "This organization is closed in Tend; ask an administrator"
            }
            _ => return None,
        };
        Some(Self {
            code,
            message: message.to_owned(),
            since,
        })
    }
}

impl AppStatus {
    /// The state before any network contact: not configured, or offline
    /// until the first successful request proves otherwise.
    pub fn initial(config: &AppConfig) -> Self {
        Self {
            connection: if config.server_url.is_some() {
                ConnectionState::Offline
            } else {
                ConnectionState::NotConfigured
            },
            server_url: config.server_url.clone(),
            last_sync: None,
            pending: 0,
            facility_name: None,
            facility_timezone: None,
            held: None,
            vault: None,
            closed: None,
            language: crate::language::device_language(&config.data_dir),
        }
    }
}
