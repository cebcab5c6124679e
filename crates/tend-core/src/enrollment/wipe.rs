//! The remote wipe: when the server ends the enrollment the device
//! crypto-shreds its vault and key, forgets the enrollment and keeps a notice
//! (`wiped.json`, no secrets) for the setup screen until it enrolls again.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tend_domain::ErrorCode;

use super::{clear_state, Enrollment};
use crate::{CoreError, Result};

/// The file that remembers why the device was wiped (no secrets).
pub const WIPE_NOTICE_FILE: &str = "wiped.json";

/// Why and when the device erased itself; shown on the setup screen until
/// the device enrolls again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WipeNotice {
    /// The server's code: `DEVICE_DEACTIVATED`, `DEVICE_REJECTED` or `DEVICE_UNKNOWN`.
    pub reason: ErrorCode,
    pub wiped_at: DateTime<Utc>,
}

pub(super) fn load_wipe_notice(data_dir: &Path) -> Result<Option<WipeNotice>> {
    let path = data_dir.join(WIPE_NOTICE_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(serde_json::from_str(&text).ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CoreError::storage(&path, e)),
    }
}

fn save_wipe_notice(data_dir: &Path, notice: &WipeNotice) -> Result<()> {
    let path = data_dir.join(WIPE_NOTICE_FILE);
    let json = serde_json::to_vec(notice).map_err(|e| CoreError::storage(&path, e))?;
    std::fs::write(&path, json).map_err(|e| CoreError::storage(&path, e))
}

pub(super) fn clear_wipe_notice(data_dir: &Path) -> Result<()> {
    let path = data_dir.join(WIPE_NOTICE_FILE);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CoreError::storage(&path, e)),
    }
}

impl Enrollment {
    /// Why this device was last wiped, until it enrolls again.
    pub fn wipe_notice(&self) -> Result<Option<WipeNotice>> {
        load_wipe_notice(&self.data_dir)
    }

    /// Remote wipe after the server ended this device's enrollment
    /// (`reason`): crypto-shreds the vault (its keys first, then its files),
    /// destroys the device key, forgets the enrollment and records a notice
    /// for the setup screen. Every step is tried; the first failure is
    /// returned after all have run.
    pub async fn wipe(&self, reason: ErrorCode) -> Result<WipeNotice> {
        let mut first_error: Option<CoreError> = None;
        let store = match self.store_and_key().await {
            Ok((store, _)) => Some(store),
            Err(e) => {
                first_error.get_or_insert(e);
                None
            }
        };
        if let Some(store) = &store {
            let data_dir = self.data_dir.clone();
            let store = store.clone();
            let shredded = tokio::task::spawn_blocking(move || {
                let vault = crate::vault::Vault::wipe_dir(&data_dir, store.as_ref());
                let key = store.delete(crate::identity::key::DEVICE_KEY_SECRET);
                vault.map(drop).and(key)
            })
            .await
            .unwrap_or_else(|e| {
                Err(CoreError::SecretStore {
                    backend: "device-key".into(),
                    reason: e.to_string(),
                })
            });
            if let Err(e) = shredded {
                first_error.get_or_insert(e);
            }
        }
        *self.key.lock().await = None;
        if let Err(e) = clear_state(&self.data_dir) {
            first_error.get_or_insert(e);
        }
        let notice = WipeNotice {
            reason,
            wiped_at: Utc::now(),
        };
        if let Err(e) = save_wipe_notice(&self.data_dir, &notice) {
            first_error.get_or_insert(e);
        }
        // The reason code only: no key, token or identifier.
        tracing::warn!(
            reason = %reason,
            complete = first_error.is_none(),
            "device wiped: the server ended its enrollment"
        );
        match first_error {
            None => Ok(notice),
            Some(e) => Err(e),
        }
    }
}
