//! The enrollment record in the data directory (`enrollment.json`, mode
//! 0600): no secret — the server address, the device's id, tenant and
//! status — so the app comes back enrolled after a restart.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tend_domain::wire::Device;
use tend_domain::DeviceStatus;

use crate::{CoreError, Result};

/// The file in the data directory that remembers the enrollment.
pub const STATE_FILE: &str = "enrollment.json";

/// What the device remembers about its enrollment (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EnrollmentState {
    /// The server this device enrolled with.
    pub server_url: String,
    /// The device's id on that server (ids stay far below 2^53, so a
    /// TypeScript number holds them).
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub device_id: i64,
    pub device_uuid: String,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub organization_id: i64,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub facility_id: i64,
    /// The facility's name, for the lock screen (`None` from a server that
    /// does not send it, or a record saved before it was kept).
    #[serde(default)]
    pub facility_name: Option<String>,
    pub status: DeviceStatus,
    /// When the status was last confirmed by the server.
    pub checked_at: DateTime<Utc>,
    /// The server's order-signing key, pinned at enrollment (`None` for an
    /// enrollment saved before keys were pinned: pinned at the next session).
    #[serde(default)]
    pub server_key: Option<super::orders::PinnedServerKey>,
}

impl EnrollmentState {
    /// The state the server's answer to an enrollment describes.
    pub fn from_device(server_url: &str, device: &Device) -> Self {
        Self {
            server_url: server_url.trim_end_matches('/').to_owned(),
            device_id: device.id,
            device_uuid: device.device_uuid.clone(),
            organization_id: device.organization_id,
            facility_id: device.facility_id,
            facility_name: device.facility_name.clone(),
            status: device.status,
            checked_at: Utc::now(),
            server_key: None,
        }
    }
}

fn state_path(data_dir: &Path) -> PathBuf {
    data_dir.join(STATE_FILE)
}

/// Reads the remembered enrollment; `None` before the first enrollment.
pub fn load_state(data_dir: &Path) -> Result<Option<EnrollmentState>> {
    let path = state_path(data_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CoreError::storage(&path, e)),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| CoreError::storage(&path, format!("not a valid enrollment record: {e}")))
}

/// Writes the enrollment record atomically (temp file, fsync, rename), 0600.
pub fn save_state(data_dir: &Path, state: &EnrollmentState) -> Result<()> {
    use std::io::Write;
    let path = state_path(data_dir);
    let tmp = data_dir.join(format!("{STATE_FILE}.tmp"));
    let json = serde_json::to_vec_pretty(state).map_err(|e| CoreError::storage(&path, e))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&tmp)
        .map_err(|e| CoreError::storage(&tmp, e))?;
    file.write_all(&json)
        .and_then(|()| file.sync_all())
        .map_err(|e| CoreError::storage(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| CoreError::storage(&path, e))
}

/// Forgets the enrollment (after a rejection or deactivation).
pub fn clear_state(data_dir: &Path) -> Result<()> {
    let path = state_path(data_dir);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CoreError::storage(&path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_with_private_permissions() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load_state(dir.path()).unwrap(), None);
        let state = EnrollmentState {
            server_url: "https://tend.example.org".into(),
            device_id: 7,
            device_uuid: "4c4c4544-0042-3510-8052-b4c04f4e4d32".into(),
            organization_id: 1,
            facility_id: 2,
            facility_name: Some("Sunrise ALF - North Campus".into()),
            status: DeviceStatus::Pending,
            checked_at: Utc::now(),
            server_key: None,
        };
        save_state(dir.path(), &state).unwrap();
        assert_eq!(load_state(dir.path()).unwrap(), Some(state.clone()));
        // A record saved before the facility's name was kept still loads.
        let mut older: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join(STATE_FILE)).unwrap())
                .unwrap();
        older.as_object_mut().unwrap().remove("facility_name");
        std::fs::write(dir.path().join(STATE_FILE), older.to_string()).unwrap();
        assert_eq!(
            load_state(dir.path()).unwrap(),
            Some(EnrollmentState {
                facility_name: None,
                ..state
            })
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(STATE_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        clear_state(dir.path()).unwrap();
        assert_eq!(load_state(dir.path()).unwrap(), None);
        clear_state(dir.path()).unwrap();
    }
}
