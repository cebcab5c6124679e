//! Enrollment: enroll with an administrator's code ([`code`] reads it as
//! typed), ask where a pending device stands, remember the outcome in the
//! data directory ([`state`]) so the app comes back enrolled after a restart,
//! and wipe the device when the server ends its enrollment ([`wipe`]). The
//! calls themselves are [`crate::client::DeviceClient`]'s.
//!
//! The remembered state (`enrollment.json`, mode 0600) holds no secret — the
//! server address, the device's id, tenant and status. The private key stays
//! in the vault's secret store ([`DeviceKey`]); tokens live only in memory.

pub mod orders;
pub mod state;
pub mod wipe;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;
use serde::Serialize;
use tend_domain::wire::EnrollDevice;
use tend_domain::{DeviceStatus, DeviceType, DeviceUuid, EnrollmentCode, ErrorCode};

use crate::client::DeviceClient;
use crate::identity::{enrollment_request, DeviceKey, IdentityProbe, IdentitySource};
use crate::server_url::check_server_url;
use crate::vault::{select_secret_store, SecretStore, SecretStoreConfig};
use crate::{CoreError, Result};

pub use state::{clear_state, load_state, save_state, EnrollmentState, STATE_FILE};
pub use wipe::{WipeNotice, WIPE_NOTICE_FILE};

pub use crate::api_call::REQUEST_TIMEOUT;

/// Enrolls and records the outcome in `data_dir`.
pub async fn enroll(
    client: &DeviceClient,
    body: &EnrollDevice,
    data_dir: &Path,
) -> Result<EnrollmentState> {
    // Pinned before enrolling, so a device never holds an enrollment it
    // could not check a wipe order of.
    let server_key = orders::PinnedServerKey::from_published(&client.server_key().await?)?;
    let device = client.enroll(body).await?;
    let mut state = EnrollmentState::from_device(client.server_url(), &device);
    state.server_key = Some(server_key);
    save_state(data_dir, &state)?;
    tracing::info!(
        device_id = state.device_id,
        status = state.status.as_str(),
        "device enrolled"
    );
    Ok(state)
}

/// Asks the server where this device stands by authenticating: a token means
/// `ACTIVE`; `DEVICE_PENDING`, `DEVICE_REJECTED` and `DEVICE_DEACTIVATED` are
/// statuses, not failures. The new status is recorded in `data_dir`.
pub async fn refresh_status(
    client: &DeviceClient,
    mut state: EnrollmentState,
    key: &DeviceKey,
    data_dir: &Path,
) -> Result<EnrollmentState> {
    let device_uuid = DeviceUuid::parse(&state.device_uuid)?;
    let status = match client.authenticate(&device_uuid, key).await {
        Ok(_) => DeviceStatus::Active,
        Err(e) => match e.code() {
            ErrorCode::DevicePending => DeviceStatus::Pending,
            ErrorCode::DeviceRejected => DeviceStatus::Rejected,
            ErrorCode::DeviceDeactivated => DeviceStatus::Deactivated,
            _ => return Err(e),
        },
    };
    if status != state.status {
        tracing::info!(
            device_id = state.device_id,
            status = status.as_str(),
            "device status changed"
        );
    }
    state.status = status;
    state.checked_at = Utc::now();
    save_state(data_dir, &state)?;
    Ok(state)
}

/// A name for the device as the administrator first sees it: the host name.
pub fn default_device_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(200).collect())
        .unwrap_or_else(|| "Tend device".to_owned())
}

/// What the setup screen shows the administrator about this device, so they
/// can match it with what they see in the admin console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DeviceIdentityInfo {
    pub device_uuid: String,
    pub identity_source: IdentitySource,
    pub mac_address: Option<String>,
    pub os: String,
    pub device_name: String,
}

/// First-run enrollment as the app drives it: this machine's identity, its
/// key (chosen secret store, loaded once), and the record in the data dir.
pub struct Enrollment {
    data_dir: PathBuf,
    app_version: String,
    probe: IdentityProbe,
    store: Option<Arc<dyn SecretStore>>,
    /// The secret store and the key in it, loaded on first use; emptied by a
    /// wipe so the next enrollment generates a new key.
    key: tokio::sync::Mutex<Option<LoadedKey>>,
}

/// The secret store in use and the device key read from it.
type LoadedKey = (Arc<dyn SecretStore>, Arc<DeviceKey>);

impl Enrollment {
    /// Reads identity from `/` and keeps the key in the secret store the
    /// vault would choose for `data_dir` (keyring, else key file).
    pub fn new(data_dir: &Path, app_version: &str) -> Self {
        Self {
            data_dir: data_dir.to_path_buf(),
            app_version: app_version.to_owned(),
            probe: IdentityProbe::default(),
            store: None,
            key: tokio::sync::Mutex::new(None),
        }
    }

    /// Reads identity below `probe`'s root instead of `/` (tests, and the
    /// debug-only `TEND_DEBUG_IDENTITY_ROOT`).
    pub fn with_probe(mut self, probe: IdentityProbe) -> Self {
        self.probe = probe;
        self
    }

    /// Uses `store` for the key and `probe` for identity (tests).
    pub fn with(mut self, probe: IdentityProbe, store: Arc<dyn SecretStore>) -> Self {
        self.probe = probe;
        self.store = Some(store);
        self
    }

    pub fn identity(&self) -> Result<DeviceIdentityInfo> {
        let identity = self.probe.detect()?;
        Ok(DeviceIdentityInfo {
            device_uuid: identity.device_uuid.to_string(),
            identity_source: identity.source,
            mac_address: identity.mac_address.map(|m| m.to_string()),
            os: self.probe.os_name(),
            device_name: default_device_name(),
        })
    }

    /// The remembered enrollment, without asking the server.
    pub fn saved(&self) -> Result<Option<EnrollmentState>> {
        load_state(&self.data_dir)
    }

    /// Saves that an administrator moved the device to `facility_id`
    /// (called once the old facility's data is gone; see `sync::relocation`).
    pub fn moved_to(&self, facility_id: i64, facility_name: Option<String>) -> Result<()> {
        let Some(mut saved) = self.saved()? else {
            return Err(CoreError::Config(
                "the enrollment record is gone; nothing to move".into(),
            ));
        };
        saved.facility_id = facility_id;
        saved.facility_name = facility_name;
        saved.checked_at = chrono::Utc::now();
        save_state(&self.data_dir, &saved)
    }

    /// The device's signing key (created on first use).
    pub async fn device_key(&self) -> Result<Arc<DeviceKey>> {
        self.key().await
    }

    async fn key(&self) -> Result<Arc<DeviceKey>> {
        Ok(self.store_and_key().await?.1)
    }

    /// The secret store the device key lives in (the vault's keys go there
    /// too), loaded once.
    pub async fn secret_store(&self) -> Result<Arc<dyn SecretStore>> {
        Ok(self.store_and_key().await?.0)
    }

    /// Held across the load so two first calls cannot create two keys.
    async fn store_and_key(&self) -> Result<LoadedKey> {
        let mut cached = self.key.lock().await;
        if let Some(loaded) = cached.as_ref() {
            return Ok(loaded.clone());
        }
        let store = self.store.clone();
        let data_dir = self.data_dir.clone();
        // The keyring probe is a blocking D-Bus call (up to 3 s).
        let loaded = tokio::task::spawn_blocking(move || {
            let store = match store {
                Some(store) => store,
                None => select_secret_store(&SecretStoreConfig::for_data_dir(&data_dir))?.store,
            };
            let (key, _) = DeviceKey::load_or_create(store.as_ref())?;
            Ok::<_, CoreError>((store, Arc::new(key)))
        })
        .await
        .map_err(|e| CoreError::SecretStore {
            backend: "device-key".into(),
            reason: e.to_string(),
        })??;
        *cached = Some(loaded.clone());
        Ok(loaded)
    }

    /// The device endpoints of `server_url`, over the process's one HTTP client.
    pub(crate) fn client(&self, server_url: &str) -> Result<DeviceClient> {
        let http = crate::connectivity::shared_client(&self.app_version)?;
        Ok(DeviceClient::new(http, server_url))
    }

    /// The app version this device reports (heartbeats, user agent).
    pub fn app_version(&self) -> &str {
        &self.app_version
    }

    /// The data directory the enrollment lives in.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// This machine's enrollment request: its identity as probed now, its
    /// key, its name and OS, and `code` when an administrator gave one.
    async fn request(&self, code: Option<&str>) -> Result<EnrollDevice> {
        let identity = self.probe.detect()?;
        let key = self.key().await?;
        let device_type = match identity.source {
            IdentitySource::RaspberryPiSerial => DeviceType::RaspberryPi,
            _ => DeviceType::Workstation,
        };
        Ok(enrollment_request(
            &identity,
            &key,
            code,
            &default_device_name(),
            device_type,
            &self.probe.os_name(),
            &self.app_version,
        ))
    }

    /// Pins the server's order-signing key for an enrollment saved before
    /// keys were pinned (trust on first use, over the TLS connection the
    /// device already trusts). Best effort: an unreachable server is asked
    /// again next session; until then no wipe order can verify.
    pub async fn pin_server_key_if_missing(&self) {
        let Ok(Some(mut saved)) = self.saved() else {
            return;
        };
        if saved.server_key.is_some() {
            return;
        }
        let pinned = match self.client(&saved.server_url) {
            Ok(client) => client
                .server_key()
                .await
                .and_then(|k| orders::PinnedServerKey::from_published(&k)),
            Err(e) => Err(e),
        };
        match pinned {
            Ok(key) => {
                tracing::info!(key_id = %key.key_id, "server order-signing key pinned");
                saved.server_key = Some(key);
                if let Err(e) = save_state(&self.data_dir, &saved) {
                    tracing::warn!(code = %e.code(), "pinned server key not saved");
                }
            }
            Err(e) => tracing::warn!(code = %e.code(), "server order-signing key not pinned yet"),
        }
    }

    /// Asks the server to take this device back after it forgot it (a
    /// database restored from an older backup): the same identity and key,
    /// no code, so it lands `PENDING` once an administrator pre-registers
    /// its UUID, and `ACTIVE` when they approve it. The vault, its outbox and
    /// the pinned server key stay as they are.
    pub async fn request_readoption(&self) -> Result<EnrollmentState> {
        let saved = self.saved()?.ok_or_else(|| {
            CoreError::Config("this device has no enrollment to be re-adopted".into())
        })?;
        let body = self.request(None).await?;
        let client = self.client(&saved.server_url)?;
        let device = match client.enroll(&body).await {
            Ok(device) => device,
            // Still pre-registered and waiting: say where it stands.
            Err(e) if e.code() == ErrorCode::DevicePending => return Ok(saved),
            Err(e) => return Err(e),
        };
        let mut state = EnrollmentState::from_device(client.server_url(), &device);
        state.server_key = saved.server_key;
        save_state(&self.data_dir, &state)?;
        tracing::info!(
            device_id = state.device_id,
            status = state.status.as_str(),
            "device re-adopted by its server"
        );
        Ok(state)
    }

    /// Enrolls this device with `server_url` (checked here again) and the
    /// code as typed; records and returns the outcome (`ACTIVE`, or
    /// `PENDING` for a pre-registered device without a code).
    pub async fn enroll(&self, server_url: &str, code: &str) -> Result<EnrollmentState> {
        let server = check_server_url(server_url)?;
        let code = if code.trim().is_empty() {
            None
        } else {
            // The same rule the server reads codes by, so a typo is caught
            // before the round trip (and before it counts against the limit).
            let code = EnrollmentCode::parse(code).map_err(|invalid| CoreError::Api {
                code: ErrorCode::EnrollmentCodeInvalid,
                message: format!("this is not an enrollment code: {}", invalid.message),
            })?;
            Some(code.display())
        };
        let body = self.request(code.as_deref()).await?;
        let state = enroll(&self.client(&server.normalized)?, &body, &self.data_dir).await?;
        wipe::clear_wipe_notice(&self.data_dir)?;
        Ok(state)
    }

    /// Where this device stands: `None` before enrollment; a `PENDING`
    /// device asks the server again (by authenticating).
    pub async fn status(&self) -> Result<Option<EnrollmentState>> {
        let Some(state) = self.saved()? else {
            return Ok(None);
        };
        if state.status != DeviceStatus::Pending {
            return Ok(Some(state));
        }
        let key = self.key().await?;
        let client = self.client(&state.server_url)?;
        refresh_status(&client, state, &key, &self.data_dir)
            .await
            .map(Some)
    }

    /// Opens (or creates) the device's encrypted vault with the same secret
    /// store as the device key (the keyring, else the 0600 key file).
    pub async fn open_vault(&self) -> Result<crate::vault::Vault> {
        let (store, _) = self.store_and_key().await?;
        let data_dir = self.data_dir.clone();
        tokio::task::spawn_blocking(move || {
            let (vault, report) =
                crate::vault::Vault::open(&data_dir, store, crate::vault::VaultOptions::default())?;
            if let Some(recovery) = &report.recovered {
                tracing::warn!(reason = ?recovery.reason, "vault was unreadable and started over");
            }
            Ok(vault)
        })
        .await
        .map_err(|e| CoreError::Database(format!("opening the vault stopped: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn enrollment_checks_its_inputs_before_the_network() {
        let dir = tempfile::tempdir().unwrap();
        let tree = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tree.path().join("etc")).unwrap();
        std::fs::write(
            tree.path().join("etc/machine-id"),
            "0123456789abcdef0123456789abcdef\n",
        )
        .unwrap();
        let e = Enrollment::new(dir.path(), "0.1.0").with(
            IdentityProbe::new(tree.path()),
            Arc::new(crate::vault::MemoryStore::new()),
        );
        let info = e.identity().unwrap();
        assert_eq!(info.identity_source, IdentitySource::MachineId);
        assert_eq!(e.status().await.unwrap(), None);
        let err = e
            .enroll("http://tend.example.org", "ABCD")
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::ValidationFailed);
        let err = e.enroll("http://127.0.0.1:9", "no way!").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::EnrollmentCodeInvalid);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        // A short code is refused here, before the round trip.
        let err = e.enroll(&url, "abcd efgh").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::EnrollmentCodeInvalid);
        let err = e
            .enroll(&url, "7k2m oooo 1111 2222 3333 4444 abcd")
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Offline);
        assert_eq!(e.saved().unwrap(), None);
    }

    #[tokio::test]
    async fn a_wipe_shreds_the_vault_key_and_the_device_key_and_forgets_the_enrollment() {
        use crate::vault::{SecretStore, Vault, VaultOptions};
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn SecretStore> = Arc::new(crate::vault::MemoryStore::new());
        let (vault, _) = Vault::open(dir.path(), store.clone(), VaultOptions::default()).unwrap();
        let db = vault.path().to_path_buf();
        drop(vault);
        let e = Enrollment::new(dir.path(), "0.1.0").with(
            IdentityProbe::new(dir.path().join("no-root")),
            store.clone(),
        );
        let old_key = e.key().await.unwrap().public_key_base64();
        save_state(
            dir.path(),
            &EnrollmentState {
                server_url: "https://tend.example.org".into(),
                device_id: 7,
                device_uuid: "4c4c4544-0042-3510-8052-b4c04f4e4d32".into(),
                organization_id: 1,
                facility_id: 2,
                facility_name: None,
                status: DeviceStatus::Active,
                checked_at: Utc::now(),
                server_key: None,
            },
        )
        .unwrap();
        assert_eq!(e.wipe_notice().unwrap(), None);

        let notice = e.wipe(ErrorCode::DeviceDeactivated).await.unwrap();

        assert_eq!(notice.reason, ErrorCode::DeviceDeactivated);
        assert!(store.get(crate::vault::DB_KEY_NAME).unwrap().is_none());
        assert!(store
            .get(crate::identity::DEVICE_KEY_SECRET)
            .unwrap()
            .is_none());
        assert!(!db.exists());
        assert_eq!(e.saved().unwrap(), None);
        assert_eq!(e.wipe_notice().unwrap(), Some(notice));
        // The next enrollment gets a new key, not the shredded one.
        assert_ne!(e.key().await.unwrap().public_key_base64(), old_key);
    }
}
