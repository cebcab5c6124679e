//! Enrollment and device authentication against the central API: enroll with
//! an administrator's code, exchange a signed challenge for a device token,
//! send heartbeats, and remember the outcome in the data directory so the app
//! comes back enrolled after a restart.
//!
//! The remembered state (`enrollment.json`, mode 0600) holds no secret — the
//! server address, the device's id, tenant and status. The private key stays
//! in the vault's secret store ([`DeviceKey`]); tokens live only in memory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tend_domain::wire::{
    BadgeLoginRequest, Device, DeviceChallenge, DeviceChallengeRequest, DeviceToken,
    DeviceTokenRequest, EnrollDevice, Heartbeat, HeartbeatAck, LoginRequest, LoginResponse,
    SyncPullPage, SyncPullQuery, SyncPush, SyncPushResult,
};
use tend_domain::{DeviceStatus, DeviceType, DeviceUuid, ErrorCode};

use crate::identity::{enrollment_request, DeviceKey, IdentityProbe, IdentitySource};
use crate::server_url::check_server_url;
use crate::vault::{select_secret_store, SecretStore, SecretStoreConfig};
use crate::{CoreError, Result};

/// The file in the data directory that remembers the enrollment.
pub const STATE_FILE: &str = "enrollment.json";

pub use crate::api_call::REQUEST_TIMEOUT;

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

/// The device endpoints of one server.
#[derive(Debug, Clone)]
pub struct DeviceClient {
    http: reqwest::Client,
    base: String,
}

impl DeviceClient {
    /// `server_url` is the checked address (no trailing slash needed).
    pub fn new(http: reqwest::Client, server_url: &str) -> Self {
        Self {
            http,
            base: server_url.trim_end_matches('/').to_owned(),
        }
    }

    pub fn server_url(&self) -> &str {
        &self.base
    }

    /// `POST /api/devices/enroll`: `ACTIVE` with a valid code, `PENDING` for
    /// a pre-registered device without one.
    #[tracing::instrument(skip_all, fields(device_uuid = %body.device_uuid))]
    pub async fn enroll(&self, body: &EnrollDevice) -> Result<Device> {
        self.post("/api/devices/enroll", None, body).await
    }

    /// Asks for a nonce, signs it and exchanges it for a device token.
    #[tracing::instrument(skip_all, fields(device_uuid = %device_uuid))]
    pub async fn authenticate(
        &self,
        device_uuid: &DeviceUuid,
        key: &DeviceKey,
    ) -> Result<DeviceToken> {
        let challenge: DeviceChallenge = self
            .post(
                "/api/devices/auth/challenge",
                None,
                &DeviceChallengeRequest {
                    device_uuid: *device_uuid,
                },
            )
            .await?;
        let request = DeviceTokenRequest {
            device_uuid: *device_uuid,
            signature: key.sign_challenge(device_uuid, &challenge.nonce),
            nonce: challenge.nonce,
        };
        self.post("/api/devices/auth/token", None, &request).await
    }

    /// `POST /api/devices/{id}/heartbeat` with a device token.
    #[tracing::instrument(skip_all, fields(device_id = token.device_id))]
    pub async fn heartbeat(&self, token: &DeviceToken, body: &Heartbeat) -> Result<HeartbeatAck> {
        let path = format!("/api/devices/{}/heartbeat", token.device_id);
        self.post(&path, Some(&token.token), body).await
    }

    /// `POST /api/auth/badge-login` with a device token: a badge tap (and
    /// the PIN when the policy asked for it) for the user's session.
    #[tracing::instrument(skip_all, fields(device_id = token.device_id))]
    pub async fn badge_login(
        &self,
        token: &DeviceToken,
        body: &BadgeLoginRequest,
    ) -> Result<LoginResponse> {
        self.post("/api/auth/badge-login", Some(&token.token), body)
            .await
    }

    /// `POST /api/auth/login`: the password fallback of the lock screen.
    #[tracing::instrument(skip_all)]
    pub async fn password_login(&self, body: &LoginRequest) -> Result<LoginResponse> {
        self.post("/api/auth/login", None, body).await
    }

    /// `POST /api/sync/push` with a device token: one batch of the outbox.
    #[tracing::instrument(skip_all, fields(device_id = token.device_id, operations = body.operations.len()))]
    pub async fn sync_push(&self, token: &DeviceToken, body: &SyncPush) -> Result<SyncPushResult> {
        self.post("/api/sync/push", Some(&token.token), body).await
    }

    /// `GET /api/sync/pull` with a device token: one page of the facility's change feed.
    #[tracing::instrument(skip_all, fields(device_id = token.device_id, initial = query.cursor.is_none()))]
    pub async fn sync_pull(
        &self,
        token: &DeviceToken,
        query: &SyncPullQuery,
    ) -> Result<SyncPullPage> {
        let request = self
            .http
            .get(format!("{}/api/sync/pull", self.base))
            .bearer_auth(&token.token)
            .query(query);
        crate::api_call::send(request).await
    }

    /// `POST /api/family/check-in` with a device token: a visitor code for
    /// a family session (the `tfam_` token is for the family endpoints only).
    #[tracing::instrument(skip_all, fields(device_id = token.device_id))]
    pub async fn family_check_in(
        &self,
        token: &DeviceToken,
        body: &tend_domain::wire::FamilyCheckIn,
    ) -> Result<tend_domain::wire::FamilySession> {
        self.post("/api/family/check-in", Some(&token.token), body)
            .await
    }

    /// `GET /api/family/summary` with a family session token.
    #[tracing::instrument(skip_all)]
    pub async fn family_summary(
        &self,
        family_token: &str,
    ) -> Result<tend_domain::wire::FamilySummary> {
        let request = self
            .http
            .get(format!("{}/api/family/summary", self.base))
            .bearer_auth(family_token);
        crate::api_call::send(request).await
    }

    /// `POST /api/family/messages` with a family session token.
    #[tracing::instrument(skip_all)]
    pub async fn family_send_message(
        &self,
        family_token: &str,
        body: &tend_domain::wire::SendFamilyMessage,
    ) -> Result<tend_domain::wire::FamilyMessageSent> {
        self.post("/api/family/messages", Some(family_token), body)
            .await
    }

    /// `POST /api/family/end`: the family session ends on the server too.
    #[tracing::instrument(skip_all)]
    pub async fn family_end(&self, family_token: &str) -> Result<()> {
        let request = self
            .http
            .post(format!("{}/api/family/end", self.base))
            .bearer_auth(family_token);
        crate::api_call::send_for_effect(request).await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        bearer: Option<&str>,
        body: &B,
    ) -> Result<T> {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        crate::api_call::send(request).await
    }
}

/// Enrolls and records the outcome in `data_dir`.
pub async fn enroll(
    client: &DeviceClient,
    body: &EnrollDevice,
    data_dir: &Path,
) -> Result<EnrollmentState> {
    let device = client.enroll(body).await?;
    let state = EnrollmentState::from_device(client.server_url(), &device);
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
        Err(CoreError::Api { code, message }) => match code {
            ErrorCode::DevicePending => DeviceStatus::Pending,
            ErrorCode::DeviceRejected => DeviceStatus::Rejected,
            ErrorCode::DeviceDeactivated => DeviceStatus::Deactivated,
            _ => return Err(CoreError::Api { code, message }),
        },
        Err(e) => return Err(e),
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

/// Normalizes a typed enrollment code the way people type them: any case,
/// spaces or dashes anywhere; Crockford's look-alikes (`O`→`0`, `I`/`L`→`1`)
/// are read as digits. Regrouped in fours with dashes. `None` when a
/// character is not Crockford base32 or nothing is left.
pub fn normalize_code(input: &str) -> Option<String> {
    let mut symbols = String::new();
    for c in input.chars() {
        let c = match c.to_ascii_uppercase() {
            ' ' | '-' | '\t' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c @ ('0'..='9' | 'A'..='H' | 'J' | 'K' | 'M' | 'N' | 'P'..='T' | 'V'..='Z') => c,
            _ => return None,
        };
        symbols.push(c);
    }
    if symbols.is_empty() {
        return None;
    }
    let groups: Vec<String> = symbols
        .as_bytes()
        .chunks(4)
        .map(|g| String::from_utf8_lossy(g).into_owned())
        .collect();
    Some(groups.join("-"))
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

    async fn key(&self) -> Result<Arc<DeviceKey>> {
        Ok(self.store_and_key().await?.1)
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

    fn client(&self, server_url: &str) -> Result<DeviceClient> {
        let http = crate::connectivity::api_client(&self.app_version)
            .map_err(|e| CoreError::Config(format!("no HTTP client: {e}")))?;
        Ok(DeviceClient::new(http, server_url))
    }

    /// Enrolls this device with `server_url` (checked here again) and the
    /// code as typed; records and returns the outcome (`ACTIVE`, or
    /// `PENDING` for a pre-registered device without a code).
    pub async fn enroll(&self, server_url: &str, code: &str) -> Result<EnrollmentState> {
        let server = check_server_url(server_url)?;
        let code = if code.trim().is_empty() {
            None
        } else {
            Some(normalize_code(code).ok_or_else(|| {
                CoreError::Api {
                    code: ErrorCode::EnrollmentCodeInvalid,
                    message: "this is not an enrollment code: codes use only digits and the \
                          letters A–Z without U, in groups of four"
                        .to_owned(),
                }
            })?)
        };
        let identity = self.probe.detect()?;
        let key = self.key().await?;
        let device_type = match identity.source {
            IdentitySource::RaspberryPiSerial => DeviceType::RaspberryPi,
            _ => DeviceType::Workstation,
        };
        let body = enrollment_request(
            &identity,
            &key,
            code.as_deref(),
            &default_device_name(),
            device_type,
            &self.probe.os_name(),
            &self.app_version,
        );
        let state = enroll(&self.client(&server.normalized)?, &body, &self.data_dir).await?;
        clear_wipe_notice(&self.data_dir)?;
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

    /// The enrolled device's calls to its server, with its key. `None`
    /// when the device is not enrolled `ACTIVE`.
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

    pub async fn active_server_api(&self) -> Result<Option<crate::session::ServerApi>> {
        match self.saved()?.filter(|s| s.status == DeviceStatus::Active) {
            Some(state) => Ok(Some(self.server_api(&state).await?)),
            None => Ok(None),
        }
    }

    async fn server_api(&self, state: &EnrollmentState) -> Result<crate::session::ServerApi> {
        Ok(crate::session::ServerApi {
            client: self.client(&state.server_url)?,
            device_uuid: DeviceUuid::parse(&state.device_uuid)?,
            key: self.key().await?,
        })
    }

    /// Runs the enrolled device's session (authentication and heartbeats)
    /// until the server ends the enrollment, then wipes the device. Returns
    /// at once with an error when the device is not enrolled `ACTIVE`.
    pub async fn run_session(
        &self,
        heartbeat_interval: std::time::Duration,
        on_event: impl FnMut(crate::session::SessionEvent),
    ) -> Result<WipeNotice> {
        self.run_session_reporting(heartbeat_interval, Default::default, on_event)
            .await
    }

    /// [`Enrollment::run_session`] whose heartbeats report `sync_state()`
    /// (the sync engine's outbox and last sync, see
    /// [`crate::sync::SyncEngine::heartbeat_state`]), so the server's
    /// `sync_status` for this device is true.
    pub async fn run_session_reporting(
        &self,
        heartbeat_interval: std::time::Duration,
        sync_state: impl Fn() -> crate::heartbeat::SyncState,
        on_event: impl FnMut(crate::session::SessionEvent),
    ) -> Result<WipeNotice> {
        let state = self
            .saved()?
            .filter(|s| s.status == DeviceStatus::Active)
            .ok_or_else(|| {
                CoreError::Config("the device is not enrolled and active; set it up first".into())
            })?;
        let (store, _) = self.store_and_key().await?;
        let api = self.server_api(&state).await?;
        // The vault's key store when there is a vault; before one exists the
        // device holds no data, and its keys would go where the device key is.
        let backend =
            crate::vault::secret::read_backend_marker(&self.data_dir).or(Some(store.backend()));
        let app_version = self.app_version.clone();
        tracing::info!(device_id = state.device_id, "device session started");
        let reason = crate::session::run(
            &api,
            crate::session::SessionSettings::new(heartbeat_interval),
            || crate::heartbeat::heartbeat(&app_version, backend, &sync_state(), Utc::now()),
            on_event,
            tokio::time::sleep,
        )
        .await;
        self.wipe(reason).await
    }
}

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

fn load_wipe_notice(data_dir: &Path) -> Result<Option<WipeNotice>> {
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

fn clear_wipe_notice(data_dir: &Path) -> Result<()> {
    let path = data_dir.join(WIPE_NOTICE_FILE);
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
    fn codes_are_normalized_as_typed() {
        assert_eq!(
            normalize_code(" abcd efgh-jk").as_deref(),
            Some("ABCD-EFGH-JK")
        );
        assert_eq!(normalize_code("o1il").as_deref(), Some("0111"));
        assert_eq!(normalize_code("ABCU"), None);
        assert_eq!(normalize_code(" - "), None);
        assert_eq!(normalize_code("AB!C"), None);
    }

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
        let err = e.enroll(&url, "abcd efgh").await.unwrap_err();
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
        // A session cannot start on a wiped device.
        let err = e
            .run_session(std::time::Duration::from_secs(1), |_| {})
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::ConfigInvalid);
    }

    #[tokio::test]
    async fn an_unreachable_server_is_offline() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let client = DeviceClient::new(crate::connectivity::api_client("test").unwrap(), &url);
        let (key, _) = DeviceKey::load_or_create(&crate::vault::MemoryStore::new()).unwrap();
        let uuid = DeviceUuid::parse("4c4c4544-0042-3510-8052-b4c04f4e4d32").unwrap();
        let err = client.authenticate(&uuid, &key).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::Offline);
    }
}
