//! The device's link to its server: the endpoints an enrolled device calls
//! ([`DeviceClient`], over the process's one HTTP client), the one cache of
//! its device token ([`DeviceTokens`]), and the one rule for calls that need
//! it — with a valid token, renewed once when the server refuses it
//! ([`DeviceTokens::with_token`]). Sync, badge login, the family kiosk and
//! the heartbeats all go through [`DeviceLink`].
//!
//! Tokens live in memory only and are never logged.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tend_domain::wire::{
    BadgeLoginRequest, DeviceToken, FamilyCheckIn, FamilySession, FamilySummary, Heartbeat,
    HeartbeatAck, LoginRequest, LoginResponse, SendFamilyMessage, SyncPullPage, SyncPullQuery,
    SyncPush, SyncPushResult,
};
use tend_domain::{DeviceStatus, DeviceUuid, ErrorCode};

pub use crate::client::DeviceClient;
use crate::enrollment::Enrollment;
use crate::identity::DeviceKey;
use crate::{CoreError, Result};

/// The calls that authenticate the device and keep it present: what the
/// token cache and the session loop need (a fake in their unit tests).
pub trait DeviceApi: Send + Sync {
    /// A fresh device token (challenge, signature, token).
    fn authenticate(&self) -> impl Future<Output = Result<DeviceToken>> + Send;
    /// One heartbeat with `token`.
    fn heartbeat(
        &self,
        token: &DeviceToken,
        body: &Heartbeat,
    ) -> impl Future<Output = Result<HeartbeatAck>> + Send;
}

/// The real server, for one enrolled device: its address, identity and key.
pub struct ServerApi {
    pub client: DeviceClient,
    pub device_uuid: DeviceUuid,
    pub key: Arc<DeviceKey>,
}

impl DeviceApi for ServerApi {
    async fn authenticate(&self) -> Result<DeviceToken> {
        self.client.authenticate(&self.device_uuid, &self.key).await
    }

    async fn heartbeat(&self, token: &DeviceToken, body: &Heartbeat) -> Result<HeartbeatAck> {
        self.client.heartbeat(token, body).await
    }
}

/// Whether `token` should be renewed before a call: it would expire within
/// `within` plus half a minute of slack for a slow network or a clock a
/// little off.
pub fn needs_renewal(token: &DeviceToken, now: DateTime<Utc>, within: Duration) -> bool {
    let margin = chrono::Duration::from_std(within + Duration::from_secs(30))
        .unwrap_or(chrono::Duration::MAX);
    token.expires_at - now <= margin
}

/// The device token: authenticates when there is none or it is about to
/// expire, and forgets one the server refused. One per device link, shared
/// by every caller.
pub struct DeviceTokens {
    current: tokio::sync::Mutex<Option<DeviceToken>>,
    renew_within: Duration,
}

impl Default for DeviceTokens {
    fn default() -> Self {
        Self::renewing_within(Duration::from_secs(30))
    }
}

impl std::fmt::Debug for DeviceTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceTokens(<redacted>)")
    }
}

impl DeviceTokens {
    /// A cache that renews a token expiring within `within` (plus slack):
    /// the heartbeat interval, so a heartbeat never carries a token that
    /// runs out before the next one.
    pub fn renewing_within(within: Duration) -> Self {
        Self {
            current: tokio::sync::Mutex::new(None),
            renew_within: within,
        }
    }

    /// A token valid for at least `renew_within` plus slack.
    pub async fn get<A: DeviceApi>(&self, api: &A) -> Result<DeviceToken> {
        let mut current = self.current.lock().await;
        match current.as_ref() {
            Some(t) if !needs_renewal(t, Utc::now(), self.renew_within) => Ok(t.clone()),
            _ => {
                let fresh = api.authenticate().await?;
                *current = Some(fresh.clone());
                Ok(fresh)
            }
        }
    }

    /// Drops the token (the server refused it: revoked, or its key rotated;
    /// or the device enrolled anew).
    pub async fn forget(&self) {
        *self.current.lock().await = None;
    }

    /// Drops `refused` unless another caller already renewed it.
    async fn forget_refused(&self, refused: &DeviceToken) {
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|t| t.token == refused.token) {
            *current = None;
        }
    }

    /// Runs `call` with a valid token; when the server refuses the token
    /// (`UNAUTHORIZED`), it is renewed once and `call` runs again. A second
    /// refusal is returned (and that token forgotten too).
    pub async fn with_token<A, T, F, Fut>(&self, api: &A, call: F) -> Result<T>
    where
        A: DeviceApi,
        F: Fn(DeviceToken) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let token = self.get(api).await?;
        match call(token.clone()).await {
            Err(e) if e.code() == ErrorCode::Unauthorized => {
                tracing::info!("device token refused; authenticating again");
                self.forget_refused(&token).await;
                let token = self.get(api).await?;
                let again = call(token.clone()).await;
                if matches!(&again, Err(e) if e.code() == ErrorCode::Unauthorized) {
                    self.forget_refused(&token).await;
                }
                again
            }
            other => other,
        }
    }
}

/// The enrolled device's link to its server: the server API of its current
/// enrollment (rebuilt after a new enrollment) and its one token cache.
pub struct DeviceLink {
    enrollment: Arc<Enrollment>,
    tokens: DeviceTokens,
    /// The server API of the enrollment it was built for (server address
    /// and device UUID): one client, so calls reuse its connection.
    server: tokio::sync::Mutex<Option<(String, Arc<ServerApi>)>>,
}

impl std::fmt::Debug for DeviceLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceLink").finish_non_exhaustive()
    }
}

fn not_enrolled() -> CoreError {
    CoreError::Config("this device is not enrolled and active; set it up first".into())
}

impl DeviceLink {
    /// A link whose token is renewed a minute before it expires.
    pub fn new(enrollment: Arc<Enrollment>) -> Self {
        Self::renewing_within(enrollment, Duration::from_secs(30))
    }

    /// A link whose token is renewed `within` (the heartbeat interval) plus
    /// half a minute before it expires.
    pub fn renewing_within(enrollment: Arc<Enrollment>, within: Duration) -> Self {
        Self {
            enrollment,
            tokens: DeviceTokens::renewing_within(within),
            server: tokio::sync::Mutex::new(None),
        }
    }

    pub fn enrollment(&self) -> &Arc<Enrollment> {
        &self.enrollment
    }

    /// The server API of the device's `ACTIVE` enrollment; `CONFIG_INVALID`
    /// before the device is set up and approved.
    pub async fn server(&self) -> Result<Arc<ServerApi>> {
        let saved = self
            .enrollment
            .saved()?
            .filter(|s| s.status == DeviceStatus::Active)
            .ok_or_else(not_enrolled)?;
        let enrolled_as = format!("{} {}", saved.server_url, saved.device_uuid);
        let mut server = self.server.lock().await;
        if let Some((built_for, api)) = server.as_ref() {
            if *built_for == enrolled_as {
                return Ok(api.clone());
            }
        }
        // Enrolled anew (after a wipe): the old token belongs to another device.
        self.tokens.forget().await;
        let api = Arc::new(ServerApi {
            client: self.enrollment.client(&saved.server_url)?,
            device_uuid: DeviceUuid::parse(&saved.device_uuid)?,
            key: self.enrollment.device_key().await?,
        });
        *server = Some((enrolled_as, api.clone()));
        Ok(api)
    }

    /// The device's token cache (the session loop's heartbeats use it).
    pub fn tokens(&self) -> &DeviceTokens {
        &self.tokens
    }

    /// Forgets the server and its token (the device was wiped).
    pub async fn forget(&self) {
        *self.server.lock().await = None;
        self.tokens.forget().await;
    }

    /// Runs `call` against the server with a valid device token, renewed
    /// once when refused (see [`DeviceTokens::with_token`]).
    pub async fn with_token<T, F, Fut>(&self, call: F) -> Result<T>
    where
        F: Fn(Arc<ServerApi>, DeviceToken) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let server = self.server().await?;
        self.tokens
            .with_token(server.as_ref(), |token| call(server.clone(), token))
            .await
    }

    /// `POST /api/auth/badge-login` with the device's token.
    pub async fn badge_login(&self, body: &BadgeLoginRequest) -> Result<LoginResponse> {
        self.with_token(
            |server, token| async move { server.client.badge_login(&token, body).await },
        )
        .await
    }

    /// `POST /api/auth/login`: the password fallback, with the device's
    /// token as the bearer so the session counts as one on this device (the
    /// server accepts records written in it only then). Not retried with a
    /// renewed token: a wrong password is `UNAUTHORIZED` too.
    pub async fn password_login(&self, body: &LoginRequest) -> Result<LoginResponse> {
        let server = self.server().await?;
        let token = self.tokens.get(server.as_ref()).await?;
        server.client.password_login(Some(&token), body).await
    }
}

impl crate::sync::SyncApi for DeviceLink {
    async fn push(&self, body: &SyncPush) -> Result<SyncPushResult> {
        self.with_token(|server, token| async move { server.client.sync_push(&token, body).await })
            .await
    }

    async fn pull(&self, query: &SyncPullQuery) -> Result<SyncPullPage> {
        let enrolled = self.enrollment.saved()?.map(|s| s.facility_id);
        self.with_token(|server, token| async move {
            // A token renewed during this round may already name the
            // facility an administrator moved the device to: its feed must
            // not land beside the old facility's data. The next round
            // follows the move first (see `sync::relocation`).
            if let (Some(now), Some(enrolled)) = (token.facility_id, enrolled) {
                if now != enrolled {
                    return Err(CoreError::Api {
                        code: ErrorCode::Conflict,
                        message: "this device was just moved to another facility; \
                                  it follows the move at the next sync"
                            .into(),
                    });
                }
            }
            server.client.sync_pull(&token, query).await
        })
        .await
    }

    async fn placement(&self) -> Result<Option<crate::sync::Placement>> {
        let server = self.server().await?;
        let token = self.tokens.get(server.as_ref()).await?;
        Ok(token.facility_id.map(|facility_id| crate::sync::Placement {
            facility_id,
            facility_name: token.facility_name.clone(),
        }))
    }
}

impl crate::family::FamilyApi for DeviceLink {
    async fn check_in(&self, body: &FamilyCheckIn) -> Result<FamilySession> {
        self.with_token(
            |server, token| async move { server.client.family_check_in(&token, body).await },
        )
        .await
    }

    async fn summary(&self, family_token: &str) -> Result<FamilySummary> {
        self.server()
            .await?
            .client
            .family_summary(family_token)
            .await
    }

    async fn send_message(&self, family_token: &str, body: &SendFamilyMessage) -> Result<()> {
        self.server()
            .await?
            .client
            .family_send_message(family_token, body)
            .await
            .map(drop)
    }

    async fn end(&self, family_token: &str) -> Result<()> {
        self.server().await?.client.family_end(family_token).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Hands out numbered tokens; counts authentications.
    #[derive(Default)]
    struct Counter {
        issued: Mutex<u32>,
    }

    impl DeviceApi for Counter {
        async fn authenticate(&self) -> Result<DeviceToken> {
            let mut issued = self.issued.lock().unwrap();
            *issued += 1;
            Ok(DeviceToken {
                token: format!("t{issued}"),
                device_id: 7,
                expires_at: Utc::now() + chrono::Duration::hours(1),
                facility_id: None,
                facility_name: None,
            })
        }

        async fn heartbeat(&self, _: &DeviceToken, _: &Heartbeat) -> Result<HeartbeatAck> {
            unreachable!("not used here")
        }
    }

    fn refused<T>() -> Result<T> {
        Err(CoreError::Api {
            code: ErrorCode::Unauthorized,
            message: "authentication required".into(),
        })
    }

    #[tokio::test]
    async fn one_token_serves_many_calls_and_a_refusal_renews_it_once() {
        let api = Counter::default();
        let tokens = DeviceTokens::default();
        let seen = Mutex::new(Vec::new());
        for _ in 0..3 {
            let got = tokens
                .with_token(&api, |t| {
                    seen.lock().unwrap().push(t.token.clone());
                    async { Ok(()) }
                })
                .await;
            assert!(got.is_ok());
        }
        assert_eq!(*api.issued.lock().unwrap(), 1);
        // Refused once: renewed, and the call runs again with the new token.
        let got = tokens
            .with_token(&api, |t| {
                seen.lock().unwrap().push(t.token.clone());
                let first = t.token == "t1";
                async move {
                    if first {
                        refused()
                    } else {
                        Ok(())
                    }
                }
            })
            .await;
        assert!(got.is_ok());
        assert_eq!(*seen.lock().unwrap(), ["t1", "t1", "t1", "t1", "t2"]);
        // Refused twice: the refusal is the answer; no third attempt.
        let calls = Mutex::new(0);
        let got: Result<()> = tokens
            .with_token(&api, |_| {
                *calls.lock().unwrap() += 1;
                async { refused() }
            })
            .await;
        assert_eq!(got.unwrap_err().code(), ErrorCode::Unauthorized);
        assert_eq!(*calls.lock().unwrap(), 2);
        assert_eq!(*api.issued.lock().unwrap(), 3);
    }

    #[tokio::test]
    async fn other_failures_are_not_retried() {
        let api = Counter::default();
        let tokens = DeviceTokens::default();
        let calls = Mutex::new(0);
        let got: Result<()> = tokens
            .with_token(&api, |_| {
                *calls.lock().unwrap() += 1;
                async { Err(CoreError::Offline("down".into())) }
            })
            .await;
        assert_eq!(got.unwrap_err().code(), ErrorCode::Offline);
        assert_eq!(*calls.lock().unwrap(), 1);
    }

    #[test]
    fn a_token_is_renewed_before_it_runs_out() {
        let now = Utc::now();
        let token = |secs| DeviceToken {
            token: "t".into(),
            device_id: 1,
            expires_at: now + chrono::Duration::seconds(secs),
            facility_id: None,
            facility_name: None,
        };
        assert!(needs_renewal(&token(80), now, Duration::from_secs(60)));
        assert!(!needs_renewal(&token(100), now, Duration::from_secs(60)));
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
