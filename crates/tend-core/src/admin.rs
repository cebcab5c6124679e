//! The administrator's device console against the central API: sign in with
//! a username and password, list facilities and their devices, register,
//! approve, reject and deactivate devices, and issue and revoke enrollment
//! codes, and see a facility's dashboard and update its census (`dashboard`),
//! and import an organization's CSV files (`import`).
//!
//! The session's bearer token lives in memory only ([`AdminConsole`] holds
//! it): never written to disk, never logged, gone when the app quits or the
//! administrator signs out.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tend_domain::wire::{
    CreateDevice, CreateEnrollmentCode, CreatedEnrollmentCode, Device, DevicePage,
    EncryptionPosture, EnrollmentCode, EnrollmentCodePage, Facility, FacilityPage, LoginRequest,
    LoginResponse, Secret,
};
use tend_domain::{
    DeviceStatus, DeviceType, DeviceUuid, ErrorCode, FacilityType, MacAddress, Role, SyncStatus,
};

mod badge_capture;
mod dashboard;
mod import;
mod residents;

pub use badge_capture::{BadgeAssigner, BadgeCapture, CaptureOutcome, CAPTURE_TIMEOUT};

pub use dashboard::{census_update, CensusSaved, DashboardFigures, OccupancyHistory};

use crate::api_call::{send, send_for_effect};
use crate::server_url::check_server_url;
use crate::{CoreError, Result};

mod audit;
pub use audit::{
    downloads_dir, AuditChainLine, AuditChainSummary, AuditEntry, AuditExportSaved, AuditLogPage,
    AuditLogQuery,
};

/// Page size asked of the API's lists (its maximum).
const PAGE_LIMIT: usize = 200;
/// More pages than this is not a facility list a person reads in one table.
const MAX_PAGES: usize = 50;

/// A bearer token; its `Debug` never shows it.
#[derive(Clone)]
struct SessionToken(String);

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

/// Who is signed in to the console. Ids stay far below 2^53, so a
/// TypeScript number holds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AdminUser {
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub user_id: i64,
    pub username: String,
    pub full_name: String,
    pub role: Role,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub organization_id: i64,
    /// The administrator's own facility: any other one the console shows is
    /// a cross-facility view (marked on screen, audited by the API).
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub facility_id: i64,
    /// The server the console talks to.
    pub server_url: String,
    /// When the session ends and the administrator must sign in again.
    pub expires_at: DateTime<Utc>,
}

/// A facility as the console's picker shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FacilitySummary {
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub id: i64,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub organization_id: i64,
    pub name: String,
    pub facility_type: FacilityType,
    pub is_active: bool,
    /// IANA zone: the facility's days and times are shown in it.
    pub timezone: String,
}

impl From<Facility> for FacilitySummary {
    fn from(f: Facility) -> Self {
        Self {
            id: f.id,
            organization_id: f.organization_id,
            name: f.name,
            facility_type: f.facility_type,
            is_active: f.is_active,
            timezone: f.timezone,
        }
    }
}

/// One row of the devices table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DeviceSummary {
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub id: i64,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub facility_id: i64,
    pub device_name: String,
    pub device_type: DeviceType,
    pub device_uuid: String,
    pub mac_address: Option<String>,
    pub status: DeviceStatus,
    pub is_online: bool,
    pub sync_status: SyncStatus,
    pub last_seen: Option<DateTime<Utc>>,
    pub last_sync: Option<DateTime<Utc>>,
    pub app_version: Option<String>,
    pub encryption_enabled: bool,
    pub encryption_required: bool,
    pub encryption_posture: Option<EncryptionPosture>,
    pub os: Option<String>,
    /// Whether the device enrolled a key (only such a device can be approved).
    pub has_identity_key: bool,
    /// Set when another machine presented this device's hardware UUID with a
    /// different key (a cloned disk image?).
    pub clone_suspected_at: Option<DateTime<Utc>>,
}

impl From<Device> for DeviceSummary {
    fn from(d: Device) -> Self {
        Self {
            id: d.id,
            facility_id: d.facility_id,
            device_name: d.device_name,
            device_type: d.device_type,
            device_uuid: d.device_uuid,
            mac_address: d.mac_address,
            status: d.status,
            is_online: d.is_online,
            sync_status: d.sync_status,
            last_seen: d.last_seen,
            last_sync: d.last_sync,
            app_version: d.app_version,
            encryption_enabled: d.encryption_enabled,
            encryption_required: d.encryption_required,
            encryption_posture: d.encryption_posture,
            os: d.os,
            has_identity_key: d.has_identity_key,
            clone_suspected_at: d.clone_suspected_at,
        }
    }
}

/// An enrollment code as listed later: never the code itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EnrollmentCodeSummary {
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub id: i64,
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub facility_id: i64,
    /// The code's last group, to tell codes apart.
    pub code_hint: String,
    pub device_type: Option<DeviceType>,
    pub max_uses: i32,
    pub uses: i32,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Not expired, not revoked, uses left (when the server answered).
    pub is_usable: bool,
}

impl From<EnrollmentCode> for EnrollmentCodeSummary {
    fn from(c: EnrollmentCode) -> Self {
        Self {
            id: c.id,
            facility_id: c.facility_id,
            code_hint: c.code_hint,
            device_type: c.device_type,
            max_uses: c.max_uses,
            uses: c.uses,
            expires_at: c.expires_at,
            revoked_at: c.revoked_at,
            created_at: c.created_at,
            is_usable: c.is_usable,
        }
    }
}

/// A new enrollment code: `code` is shown this once and never again.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewEnrollmentCode {
    pub code: String,
    pub enrollment_code: EnrollmentCodeSummary,
}

impl std::fmt::Debug for NewEnrollmentCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewEnrollmentCode")
            .field("code", &"<redacted>")
            .field("enrollment_code", &self.enrollment_code)
            .finish()
    }
}

/// A device the administrator registers by hand, as typed in the form: the
/// UUID and MAC address are checked here, each failure naming its field.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RegisterDevice {
    #[cfg_attr(feature = "specta", specta(type = u32))]
    pub facility_id: i64,
    pub device_name: String,
    pub device_type: DeviceType,
    pub device_uuid: String,
    /// Empty or absent: no MAC address.
    pub mac_address: Option<String>,
}

impl RegisterDevice {
    /// The API's request, or every field error at once.
    pub fn validate(&self) -> Result<CreateDevice> {
        let mut fields: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut refuse = |field: &str, message: String| {
            fields.entry(field.to_owned()).or_default().push(message);
        };
        let device_name = self.device_name.trim();
        if device_name.is_empty() {
            refuse("device_name", "enter a name for the device".to_owned());
        }
        let device_uuid = DeviceUuid::parse(&self.device_uuid)
            .map_err(|e| refuse("device_uuid", e.message))
            .ok();
        let mac_address = match self.mac_address.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(mac) => MacAddress::parse(mac)
                .map_err(|e| refuse("mac_address", e.message))
                .ok(),
        };
        match device_uuid {
            Some(device_uuid) if fields.is_empty() => Ok(CreateDevice {
                facility_id: self.facility_id,
                device_name: device_name.to_owned(),
                device_type: self.device_type,
                device_uuid,
                mac_address,
                encryption_enabled: None,
                encryption_required: None,
                app_version: None,
            }),
            _ => Err(CoreError::ApiFields {
                code: ErrorCode::ValidationFailed,
                message: "some fields are not valid; check the marked fields".to_owned(),
                fields,
            }),
        }
    }
}

/// Options for a new enrollment code; absent values take the server's
/// defaults (24 hours, one use, any device type).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EnrollmentCodeOptions {
    pub expires_in_hours: Option<u32>,
    pub max_uses: Option<u32>,
    pub device_type: Option<DeviceType>,
}

/// A signed-in administrator's calls to one server.
#[derive(Debug)]
pub struct AdminSession {
    http: reqwest::Client,
    base: String,
    token: SessionToken,
    user: AdminUser,
}

impl AdminSession {
    /// `POST /api/auth/login`. Accounts that may not manage devices are
    /// refused here (and their token revoked) rather than on every call.
    #[tracing::instrument(skip_all)]
    pub async fn login(
        http: reqwest::Client,
        server_url: &str,
        username: &str,
        password: &Secret,
    ) -> Result<Self> {
        let base = server_url.trim_end_matches('/').to_owned();
        let answer: LoginResponse = send(http.post(format!("{base}/api/auth/login")).json(
            &LoginRequest {
                username: username.trim().to_owned(),
                password: password.clone(),
            },
        ))
        .await?;
        let session = Self {
            user: AdminUser {
                user_id: answer.user.id,
                username: answer.user.username,
                full_name: answer.user.full_name,
                role: answer.user.role,
                organization_id: answer.user.organization_id,
                facility_id: answer.user.facility_id,
                server_url: base.clone(),
                expires_at: answer.expires_at,
            },
            token: SessionToken(answer.token),
            http,
            base,
        };
        if !session.user.role.is_admin() {
            if let Err(e) = session.logout().await {
                tracing::debug!(code = %e.code(), "refused session not revoked");
            }
            return Err(CoreError::Api {
                code: ErrorCode::Forbidden,
                message: "this account cannot manage devices; sign in as a facility, \
                          organization or platform administrator"
                    .to_owned(),
            });
        }
        tracing::info!(user_id = session.user.user_id, "administrator signed in");
        Ok(session)
    }

    pub fn user(&self) -> &AdminUser {
        &self.user
    }

    pub(crate) fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token.0)
    }

    pub(crate) fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token.0)
    }

    pub(crate) fn put(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .put(format!("{}{path}", self.base))
            .bearer_auth(&self.token.0)
    }

    /// Every item of a paged list (`items` + `next_cursor`).
    pub(crate) async fn all_pages<P, T>(
        &self,
        path: &str,
        split: impl Fn(P) -> (Vec<T>, Option<String>),
    ) -> Result<Vec<T>>
    where
        P: DeserializeOwned,
    {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![("limit", PAGE_LIMIT.to_string())];
            if let Some(c) = cursor.take() {
                query.push(("cursor", c));
            }
            let (page, next) = split(send(self.get(path).query(&query)).await?);
            items.extend(page);
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(items)
    }

    /// The facilities this administrator may manage.
    pub async fn facilities(&self) -> Result<Vec<FacilitySummary>> {
        self.all_pages("/api/facilities", |p: FacilityPage| {
            (
                p.items.into_iter().map(FacilitySummary::from).collect(),
                p.next_cursor,
            )
        })
        .await
    }

    /// A facility's devices, with online state, sync status and posture.
    pub async fn devices(&self, facility_id: i64) -> Result<Vec<DeviceSummary>> {
        self.all_pages(
            &format!("/api/facilities/{facility_id}/devices"),
            |p: DevicePage| {
                (
                    p.items.into_iter().map(DeviceSummary::from).collect(),
                    p.next_cursor,
                )
            },
        )
        .await
    }

    /// Pre-registers hardware (`POST /api/devices`); it may then enroll
    /// without a code and waits for approval.
    #[tracing::instrument(skip_all, fields(facility_id = device.facility_id))]
    pub async fn register_device(&self, device: &RegisterDevice) -> Result<DeviceSummary> {
        let request = device.validate()?;
        let created: Device = send(self.post("/api/devices").json(&request)).await?;
        Ok(created.into())
    }

    async fn device_action(&self, id: i64, action: &str) -> Result<DeviceSummary> {
        let device: Device = send(self.post(&format!("/api/devices/{id}/{action}"))).await?;
        tracing::info!(device_id = id, action, "device status changed");
        Ok(device.into())
    }

    /// A `PENDING` device becomes `ACTIVE`.
    pub async fn approve_device(&self, id: i64) -> Result<DeviceSummary> {
        self.device_action(id, "approve").await
    }

    /// A `PENDING` device is refused.
    pub async fn reject_device(&self, id: i64) -> Result<DeviceSummary> {
        self.device_action(id, "reject").await
    }

    /// Revokes the device's tokens; at its next contact it locks and erases
    /// its local data.
    pub async fn deactivate_device(&self, id: i64) -> Result<DeviceSummary> {
        self.device_action(id, "deactivate").await
    }

    /// A facility's enrollment codes (without the codes themselves).
    pub async fn enrollment_codes(&self, facility_id: i64) -> Result<Vec<EnrollmentCodeSummary>> {
        self.all_pages(
            &format!("/api/facilities/{facility_id}/enrollment-codes"),
            |p: EnrollmentCodePage| {
                (
                    p.items
                        .into_iter()
                        .map(EnrollmentCodeSummary::from)
                        .collect(),
                    p.next_cursor,
                )
            },
        )
        .await
    }

    /// A new code for the facility; the answer is the only time it is seen.
    #[tracing::instrument(skip_all, fields(facility_id))]
    pub async fn create_enrollment_code(
        &self,
        facility_id: i64,
        options: &EnrollmentCodeOptions,
    ) -> Result<NewEnrollmentCode> {
        let body = CreateEnrollmentCode {
            expires_in_hours: options.expires_in_hours.map(i64::from),
            max_uses: options
                .max_uses
                .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
            device_type: options.device_type,
        };
        let created: CreatedEnrollmentCode = send(
            self.post(&format!("/api/facilities/{facility_id}/enrollment-codes"))
                .json(&body),
        )
        .await?;
        Ok(NewEnrollmentCode {
            code: created.code,
            enrollment_code: created.enrollment_code.into(),
        })
    }

    /// Revokes a code; revoking twice is harmless.
    pub async fn revoke_enrollment_code(
        &self,
        facility_id: i64,
        code_id: i64,
    ) -> Result<EnrollmentCodeSummary> {
        let code: EnrollmentCode = send(self.post(&format!(
            "/api/facilities/{facility_id}/enrollment-codes/{code_id}/revoke"
        )))
        .await?;
        Ok(code.into())
    }

    /// Revokes the session's token on the server.
    pub async fn logout(&self) -> Result<()> {
        send_for_effect(self.post("/api/auth/logout")).await
    }
}

/// The console as the app holds it: at most one signed-in administrator,
/// in memory only.
pub struct AdminConsole {
    app_version: String,
    session: tokio::sync::RwLock<Option<Arc<AdminSession>>>,
    /// "Tap a badge to assign", armed with this session; ends with it.
    capture: BadgeCapture,
}

fn not_signed_in() -> CoreError {
    CoreError::Api {
        code: ErrorCode::Unauthorized,
        message: "sign in as an administrator first".to_owned(),
    }
}

impl AdminConsole {
    pub fn new(app_version: &str) -> Self {
        Self {
            app_version: app_version.to_owned(),
            session: tokio::sync::RwLock::new(None),
            capture: BadgeCapture::default(),
        }
    }

    /// Signs in to `server_url` (the app's configured or enrolled server),
    /// replacing any earlier session.
    pub async fn sign_in(
        &self,
        server_url: Option<&str>,
        username: &str,
        password: &Secret,
    ) -> Result<AdminUser> {
        let Some(server_url) = server_url else {
            return Err(CoreError::Config(
                "this device has no server yet; set it up first (or start Tend with \
                 --server-url) before signing in as an administrator"
                    .to_owned(),
            ));
        };
        let server = check_server_url(server_url)?;
        if username.trim().is_empty() || password.expose().is_empty() {
            return Err(CoreError::Api {
                code: ErrorCode::ValidationFailed,
                message: "enter your username and password".to_owned(),
            });
        }
        let http = crate::connectivity::shared_client(&self.app_version)?;
        let session = AdminSession::login(http, &server.normalized, username, password).await?;
        let user = session.user().clone();
        if let Some(old) = self.session.write().await.replace(Arc::new(session)) {
            self.capture.session_ended();
            let _ = old.logout().await;
        }
        Ok(user)
    }

    /// Ends the session here and on the server (when it can be reached).
    pub async fn sign_out(&self) {
        if let Some(session) = self.session.write().await.take() {
            self.capture.session_ended();
            if let Err(e) = session.logout().await {
                tracing::debug!(code = %e.code(), "session not revoked on the server");
            }
        }
    }

    /// Who is signed in, if anyone.
    pub async fn user(&self) -> Option<AdminUser> {
        self.session.read().await.as_ref().map(|s| s.user().clone())
    }

    /// The current session; an expired one (the server says 401) is
    /// forgotten so the console asks to sign in again.
    pub async fn session(&self) -> Result<Arc<AdminSession>> {
        self.session.read().await.clone().ok_or_else(not_signed_in)
    }

    /// Runs `call` with the current session and forgets the session when the
    /// server no longer accepts it.
    pub async fn with_session<T, F, Fut>(&self, call: F) -> Result<T>
    where
        F: FnOnce(Arc<AdminSession>) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let session = self.session().await?;
        let result = call(session.clone()).await;
        if matches!(&result, Err(e) if e.code() == ErrorCode::Unauthorized) {
            let mut current = self.session.write().await;
            if current.as_ref().is_some_and(|s| Arc::ptr_eq(s, &session)) {
                *current = None;
                self.capture.session_ended();
            }
        }
        result
    }

    /// The switch the device's badge entrance asks before the lock screen.
    pub fn badge_capture(&self) -> &BadgeCapture {
        &self.capture
    }

    /// "Tap a badge to assign": waits for the device's next badge read (up
    /// to [`CAPTURE_TIMEOUT`]) and assigns it to `user_id` with this session.
    pub async fn capture_badge(&self, user_id: i64, label: Option<&str>) -> Result<CaptureOutcome> {
        self.session().await?;
        self.capture
            .capture(self, user_id, label, CAPTURE_TIMEOUT)
            .await
    }
}

impl BadgeAssigner for AdminConsole {
    async fn assign(
        &self,
        user_id: i64,
        badge: &tend_badge::BadgeUid,
        label: Option<&str>,
    ) -> Result<crate::admin_directory::BadgeSummary> {
        let badge_uid = Secret::new(badge.expose_canonical());
        self.with_session(|s| async move { s.assign_badge(user_id, &badge_uid, label).await })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(uuid: &str, mac: Option<&str>) -> RegisterDevice {
        RegisterDevice {
            facility_id: 1,
            device_name: "Hall kiosk".to_owned(),
            device_type: DeviceType::RaspberryPi,
            device_uuid: uuid.to_owned(),
            mac_address: mac.map(str::to_owned),
        }
    }

    #[test]
    fn a_good_form_becomes_the_api_request() {
        let request = form(
            " 4c4c4544-0042-3510-8052-b4c04f4e4d32 ",
            Some("B8:27:EB:12:34:56"),
        )
        .validate()
        .unwrap();
        assert_eq!(
            request.device_uuid.to_string(),
            "4c4c4544-0042-3510-8052-b4c04f4e4d32"
        );
        assert!(request.mac_address.is_some());
        let request = form("4c4c4544-0042-3510-8052-b4c04f4e4d32", Some("  "))
            .validate()
            .unwrap();
        assert_eq!(request.mac_address, None);
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let mut bad = form("not-a-uuid", Some("zz:zz"));
        bad.device_name = "  ".to_owned();
        let err = bad.validate().unwrap_err();
        assert_eq!(err.code(), ErrorCode::ValidationFailed);
        let fields = err.fields();
        assert_eq!(
            fields.keys().collect::<Vec<_>>(),
            ["device_name", "device_uuid", "mac_address"]
        );
        assert!(fields["device_uuid"][0].contains("not a UUID"));
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let token = SessionToken("tend_secret_token".to_owned());
        assert!(!format!("{token:?}").contains("tend_secret"));
        let code = NewEnrollmentCode {
            code: "ABCD-EFGH".to_owned(),
            enrollment_code: EnrollmentCodeSummary {
                id: 1,
                facility_id: 1,
                code_hint: "EFGH".to_owned(),
                device_type: None,
                max_uses: 1,
                uses: 0,
                expires_at: Utc::now(),
                revoked_at: None,
                created_at: Utc::now(),
                is_usable: true,
            },
        };
        assert!(!format!("{code:?}").contains("ABCD"));
    }

    #[tokio::test]
    async fn the_console_asks_for_a_sign_in_first() {
        let console = AdminConsole::new("test");
        let err = console
            .with_session(|s| async move { s.facilities().await })
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Unauthorized);
        let err = console
            .sign_in(None, "admin", &Secret::new("pw"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::ConfigInvalid);
        let err = console
            .sign_in(Some("http://127.0.0.1:9"), " ", &Secret::new("pw"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::ValidationFailed);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let err = console
            .sign_in(Some(&url), "admin", &Secret::new("pw"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Offline);
        assert_eq!(console.user().await, None);
        console.sign_out().await;
    }
}
