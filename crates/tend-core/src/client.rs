//! Every endpoint of the central API the device calls, over one HTTP client:
//! enrollment, the device's challenge and token, heartbeats, badge and
//! password login, sync, and the family kiosk. Bearer tokens are passed in;
//! which token and when to renew it is the device link's business
//! ([`crate::link`]).

use serde::de::DeserializeOwned;
use serde::Serialize;
use tend_domain::wire::{
    BadgeLoginRequest, BreakGlassFacilityList, BreakGlassGrant, ClinicalRecordPage, Device,
    DeviceChallenge, DeviceChallengeRequest, DeviceToken, DeviceTokenRequest, EnrollDevice,
    FamilyCheckIn, FamilySession, FamilySummary, Heartbeat, HeartbeatAck, LoginRequest,
    LoginResponse, OpenBreakGlass, Patient, SendFamilyMessage, SyncPullPage, SyncPullQuery,
    SyncPush, SyncPushResult,
};
use tend_domain::DeviceUuid;

use crate::identity::DeviceKey;
use crate::Result;

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
        self.post("/api/devices/auth/token", None, &request)
            .await
            .map_err(|e| crate::enrollment::orders::bound_to_nonce(e, &request.nonce))
    }

    /// `GET /api/server-key`: the key the server signs device orders with
    /// (pinned at enrollment).
    #[tracing::instrument(skip_all)]
    pub async fn server_key(&self) -> Result<tend_domain::wire::ServerSigningKey> {
        crate::api_call::send(self.http.get(format!("{}/api/server-key", self.base))).await
    }

    /// `POST /api/devices/{id}/heartbeat` with a device token.
    #[tracing::instrument(skip_all, fields(device_id = token.device_id))]
    pub async fn heartbeat(&self, token: &DeviceToken, body: &Heartbeat) -> Result<HeartbeatAck> {
        let path = format!("/api/devices/{}/heartbeat", token.device_id);
        self.post(&path, Some(&token.token), body).await
    }

    /// `GET /api/devices/{id}/vault-secret`: the server's part of this
    /// device's server-bound vault key.
    #[tracing::instrument(skip_all, fields(device_id = token.device_id))]
    pub async fn vault_secret(
        &self,
        token: &DeviceToken,
    ) -> Result<tend_domain::wire::DeviceVaultSecret> {
        let request = self
            .http
            .get(format!(
                "{}/api/devices/{}/vault-secret",
                self.base, token.device_id
            ))
            .bearer_auth(&token.token);
        crate::api_call::send(request).await
    }

    /// `POST /api/devices/{id}/vault-secret/rotate`: a new server part.
    #[tracing::instrument(skip_all, fields(device_id = token.device_id))]
    pub async fn rotate_vault_secret(
        &self,
        token: &DeviceToken,
    ) -> Result<tend_domain::wire::DeviceVaultSecret> {
        let path = format!("/api/devices/{}/vault-secret/rotate", token.device_id);
        self.post(&path, Some(&token.token), &serde_json::json!({}))
            .await
    }

    /// `DELETE /api/devices/{id}/vault-secret/previous`: re-keyed, the old
    /// server part may go.
    #[tracing::instrument(skip_all, fields(device_id = token.device_id))]
    pub async fn forget_previous_vault_secret(&self, token: &DeviceToken) -> Result<()> {
        let request = self
            .http
            .delete(format!(
                "{}/api/devices/{}/vault-secret/previous",
                self.base, token.device_id
            ))
            .bearer_auth(&token.token);
        crate::api_call::send_for_effect(request).await
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

    /// `POST /api/auth/login`: the password fallback of the lock screen. On
    /// a device, its token rides along so the session is bound to it.
    #[tracing::instrument(skip_all)]
    pub async fn password_login(
        &self,
        device: Option<&DeviceToken>,
        body: &LoginRequest,
    ) -> Result<LoginResponse> {
        self.post("/api/auth/login", device.map(|t| t.token.as_str()), body)
            .await
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
        body: &FamilyCheckIn,
    ) -> Result<FamilySession> {
        self.post("/api/family/check-in", Some(&token.token), body)
            .await
    }

    /// `GET /api/family/summary` with a family session token.
    #[tracing::instrument(skip_all)]
    pub async fn family_summary(&self, family_token: &str) -> Result<FamilySummary> {
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
        body: &SendFamilyMessage,
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

    /// `GET /api/break-glass/facilities` as the signed-in user: the other
    /// facilities of their organization.
    #[tracing::instrument(skip_all)]
    pub async fn break_glass_facilities(&self, user_token: &str) -> Result<BreakGlassFacilityList> {
        self.get("/api/break-glass/facilities", user_token).await
    }

    /// `POST /api/break-glass` as the signed-in user: emergency access to a
    /// resident of another facility.
    #[tracing::instrument(skip_all, fields(facility_id = body.facility_id))]
    pub async fn open_break_glass(
        &self,
        user_token: &str,
        body: &OpenBreakGlass,
    ) -> Result<BreakGlassGrant> {
        self.post("/api/break-glass", Some(user_token), body).await
    }

    /// `GET /api/patients/{id}` as the signed-in user.
    #[tracing::instrument(skip_all, fields(patient_id = id))]
    pub async fn patient(&self, user_token: &str, id: i64) -> Result<Patient> {
        self.get(&format!("/api/patients/{id}"), user_token).await
    }

    /// `GET /api/patients/{id}/records?limit=N` as the signed-in user: the
    /// newest records first.
    #[tracing::instrument(skip_all, fields(patient_id = id))]
    pub async fn patient_records(
        &self,
        user_token: &str,
        id: i64,
        limit: u32,
    ) -> Result<ClinicalRecordPage> {
        let request = self
            .http
            .get(format!("{}/api/patients/{id}/records", self.base))
            .query(&[("limit", limit)])
            .bearer_auth(user_token);
        crate::api_call::send(request).await
    }

    /// `GET /api/devices/events` with a device token: the open event stream
    /// (no overall timeout: it stays open; the server ends it when the token
    /// expires), resuming after `last_event_id`.
    #[tracing::instrument(skip_all, fields(device_id = token.device_id))]
    pub async fn alert_events(
        &self,
        token: &DeviceToken,
        last_event_id: Option<i64>,
    ) -> Result<reqwest::Response> {
        let mut request = self
            .http
            .get(format!("{}/api/devices/events", self.base))
            .bearer_auth(&token.token)
            .header(reqwest::header::ACCEPT, "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        let response = request
            .send()
            .await
            .map_err(|_| crate::CoreError::Offline("the server is unreachable".to_owned()))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let body = response.bytes().await.unwrap_or_default();
        Err(crate::api_call::api_error(status, &body))
    }

    /// A request to `path` on this server (the caller adds its credentials).
    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, bearer: &str) -> Result<T> {
        let request = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(bearer);
        crate::api_call::send(request).await
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
