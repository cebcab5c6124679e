//! The enrolled device's session with its server: authenticate (challenge →
//! short-lived token, renewed before it expires), send heartbeats, and notice
//! when the server has ended the enrollment (deactivated, rejected, unknown),
//! which is the signal to wipe the device.
//!
//! The loop is written against [`DeviceApi`] so its decisions are unit-tested
//! without a server; [`ServerApi`] is the real one over [`DeviceClient`].

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tend_domain::wire::{DeviceToken, Heartbeat, HeartbeatAck};
use tend_domain::{DeviceUuid, ErrorCode};

use crate::enrollment::DeviceClient;
use crate::identity::DeviceKey;
use crate::Result;

/// How long to wait before trying again after the server could not be
/// reached or answered with something unexpected.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(15);

/// The two calls a session makes.
pub trait DeviceApi: Send + Sync {
    /// A fresh device token (challenge, signature, token).
    fn authenticate(&self) -> impl std::future::Future<Output = Result<DeviceToken>> + Send;
    /// One heartbeat with `token`.
    fn heartbeat(
        &self,
        token: &DeviceToken,
        body: &Heartbeat,
    ) -> impl std::future::Future<Output = Result<HeartbeatAck>> + Send;
}

/// The real server, for one device.
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

/// Timing of a session.
#[derive(Debug, Clone, Copy)]
pub struct SessionSettings {
    pub heartbeat_interval: Duration,
    pub retry_interval: Duration,
}

impl SessionSettings {
    pub fn new(heartbeat_interval: Duration) -> Self {
        Self {
            heartbeat_interval,
            retry_interval: RETRY_INTERVAL.min(heartbeat_interval.max(Duration::from_secs(1))),
        }
    }
}

/// What a running session reports to its host (the app pushes these on).
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    /// A heartbeat was accepted.
    Online(HeartbeatAck),
    /// The server could not be reached; the session keeps trying.
    Offline,
}

/// The API codes by which the server says this device's enrollment is over:
/// the device must wipe itself and enroll again.
pub fn ends_enrollment(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::DeviceDeactivated | ErrorCode::DeviceRejected | ErrorCode::DeviceUnknown
    )
}

/// Whether `token` should be renewed before the next heartbeat: it would
/// expire within one heartbeat interval plus half a minute of slack for a
/// slow network or a clock a little off.
pub fn needs_renewal(token: &DeviceToken, now: DateTime<Utc>, interval: Duration) -> bool {
    let margin = chrono::Duration::from_std(interval + Duration::from_secs(30))
        .unwrap_or(chrono::Duration::MAX);
    token.expires_at - now <= margin
}

/// A device token kept between calls other than heartbeats (badge login):
/// authenticates when there is none or it is about to expire, and forgets
/// one the server refused.
#[derive(Default)]
pub struct DeviceTokens {
    current: tokio::sync::Mutex<Option<DeviceToken>>,
}

impl DeviceTokens {
    /// A token valid for at least another minute.
    pub async fn get<A: DeviceApi>(&self, api: &A) -> Result<DeviceToken> {
        let mut current = self.current.lock().await;
        match current.as_ref() {
            Some(t) if !needs_renewal(t, Utc::now(), Duration::from_secs(30)) => Ok(t.clone()),
            _ => {
                let fresh = api.authenticate().await?;
                *current = Some(fresh.clone());
                Ok(fresh)
            }
        }
    }

    /// Drops the token (the server refused it: revoked, or its key rotated).
    pub async fn forget(&self) {
        *self.current.lock().await = None;
    }
}

/// Runs until the server ends the enrollment and returns the code that said
/// so. `body` stamps each heartbeat; `on_event` hears every outcome; `sleep`
/// waits (tokio's timer in the app, instant in tests).
pub async fn run<A, B, E, S, F>(
    api: &A,
    settings: SessionSettings,
    mut body: B,
    mut on_event: E,
    mut sleep: S,
) -> ErrorCode
where
    A: DeviceApi,
    B: FnMut() -> Heartbeat,
    E: FnMut(SessionEvent),
    S: FnMut(Duration) -> F,
    F: std::future::Future<Output = ()>,
{
    let mut token: Option<DeviceToken> = None;
    // A token refused twice in a row is not a revoked token but a problem
    // that retrying at once will not fix; back off instead of spinning.
    let mut refused_in_a_row = 0u32;
    loop {
        let outcome = beat(api, &mut token, &mut body, settings.heartbeat_interval).await;
        let delay = match outcome {
            Ok(ack) => {
                refused_in_a_row = 0;
                if ack.lock {
                    tracing::warn!("the server asks this device to lock (encryption policy)");
                }
                on_event(SessionEvent::Online(ack));
                crate::heartbeat::jittered(
                    settings.heartbeat_interval,
                    crate::heartbeat::random_unit(),
                )
            }
            Err(e) if ends_enrollment(e.code()) => {
                tracing::warn!(code = %e.code(), "the server ended this device's enrollment");
                return e.code();
            }
            Err(e) if e.code() == ErrorCode::Unauthorized => {
                // Revoked or expired early: the next round authenticates
                // again, which tells a deactivated device so at once.
                token = None;
                refused_in_a_row += 1;
                tracing::info!("device token refused; authenticating again");
                if refused_in_a_row == 1 {
                    continue;
                }
                settings.retry_interval
            }
            Err(e) if e.code() == ErrorCode::Offline => {
                on_event(SessionEvent::Offline);
                settings.retry_interval
            }
            Err(e) => {
                tracing::warn!(code = %e.code(), error = %e, "heartbeat failed; trying again later");
                settings.retry_interval
            }
        };
        sleep(delay).await;
    }
}

async fn beat<A: DeviceApi>(
    api: &A,
    token: &mut Option<DeviceToken>,
    body: &mut impl FnMut() -> Heartbeat,
    interval: Duration,
) -> Result<HeartbeatAck> {
    let current = match token.take() {
        Some(t) if !needs_renewal(&t, Utc::now(), interval) => t,
        _ => api.authenticate().await?,
    };
    let result = api.heartbeat(&current, &body()).await;
    if !matches!(&result, Err(e) if e.code() == ErrorCode::Unauthorized) {
        *token = Some(current);
    }
    result
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use super::*;
    use crate::CoreError;

    /// Answers from scripts; records what was called.
    #[derive(Default)]
    struct FakeApi {
        tokens: Mutex<VecDeque<Result<DeviceToken>>>,
        heartbeats: Mutex<VecDeque<Result<HeartbeatAck>>>,
        calls: Mutex<Vec<String>>,
    }

    fn token(name: &str, expires_in: chrono::Duration) -> Result<DeviceToken> {
        Ok(DeviceToken {
            token: name.to_owned(),
            device_id: 7,
            expires_at: Utc::now() + expires_in,
        })
    }

    fn api_err(code: ErrorCode) -> CoreError {
        CoreError::Api {
            code,
            message: code.to_string(),
        }
    }

    fn ack() -> Result<HeartbeatAck> {
        Ok(HeartbeatAck {
            server_time: Utc::now(),
            clock_offset_ms: 0,
            lock: false,
        })
    }

    impl DeviceApi for FakeApi {
        async fn authenticate(&self) -> Result<DeviceToken> {
            self.calls.lock().unwrap().push("authenticate".into());
            self.tokens
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or_else(|| Err(api_err(ErrorCode::DeviceDeactivated)))
        }

        async fn heartbeat(&self, token: &DeviceToken, _body: &Heartbeat) -> Result<HeartbeatAck> {
            self.calls
                .lock()
                .unwrap()
                .push(format!("heartbeat:{}", token.token));
            self.heartbeats
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or_else(|| Err(api_err(ErrorCode::DeviceDeactivated)))
        }
    }

    fn body() -> Heartbeat {
        crate::heartbeat::heartbeat("0.1.0", None, &Default::default(), Utc::now())
    }

    async fn run_fake(api: &FakeApi) -> (ErrorCode, Vec<SessionEvent>, Vec<Duration>) {
        let mut events = Vec::new();
        let slept = Mutex::new(Vec::new());
        let code = run(
            api,
            SessionSettings {
                heartbeat_interval: Duration::from_secs(60),
                retry_interval: Duration::from_secs(15),
            },
            body,
            |e| events.push(e),
            |d| {
                slept.lock().unwrap().push(d);
                std::future::ready(())
            },
        )
        .await;
        (code, events, slept.into_inner().unwrap())
    }

    fn calls(api: &FakeApi) -> Vec<String> {
        api.calls.lock().unwrap().clone()
    }

    #[tokio::test]
    async fn keeps_one_token_while_it_is_valid_and_stops_when_deactivated() {
        let api = FakeApi::default();
        api.tokens
            .lock()
            .unwrap()
            .push_back(token("a", chrono::Duration::hours(1)));
        api.heartbeats
            .lock()
            .unwrap()
            .extend([ack(), ack(), ack(), ack()]);
        let (code, events, slept) = run_fake(&api).await;
        // The fifth heartbeat (after the script ran out) hears that the
        // device was deactivated.
        assert_eq!(
            calls(&api),
            [
                "authenticate",
                "heartbeat:a",
                "heartbeat:a",
                "heartbeat:a",
                "heartbeat:a",
                "heartbeat:a"
            ]
        );
        assert_eq!(code, ErrorCode::DeviceDeactivated);
        assert_eq!(events.len(), 4);
        assert!(slept
            .iter()
            .all(|d| *d >= Duration::from_secs(54) && *d <= Duration::from_secs(66)));
    }

    #[tokio::test]
    async fn renews_a_token_that_expires_within_the_interval() {
        let api = FakeApi::default();
        api.tokens.lock().unwrap().extend([
            token("short", chrono::Duration::seconds(80)),
            token("long", chrono::Duration::hours(1)),
        ]);
        api.heartbeats.lock().unwrap().extend([ack(), ack()]);
        let (code, _, _) = run_fake(&api).await;
        assert_eq!(
            calls(&api),
            [
                "authenticate",
                "heartbeat:short",
                "authenticate",
                "heartbeat:long",
                "heartbeat:long"
            ]
        );
        assert_eq!(code, ErrorCode::DeviceDeactivated);
    }

    #[tokio::test]
    async fn a_revoked_token_leads_to_a_new_authentication_at_once() {
        let api = FakeApi::default();
        api.tokens.lock().unwrap().extend([
            token("a", chrono::Duration::hours(1)),
            Err(api_err(ErrorCode::DeviceRejected)),
        ]);
        api.heartbeats
            .lock()
            .unwrap()
            .extend([ack(), Err(api_err(ErrorCode::Unauthorized))]);
        let (code, events, slept) = run_fake(&api).await;
        assert_eq!(
            calls(&api),
            ["authenticate", "heartbeat:a", "heartbeat:a", "authenticate"]
        );
        assert_eq!(code, ErrorCode::DeviceRejected);
        assert_eq!(events.len(), 1);
        // Only the wait after the accepted heartbeat; the retry was immediate.
        assert_eq!(slept.len(), 1);
    }

    #[tokio::test]
    async fn offline_is_retried_and_reported_not_a_reason_to_wipe() {
        let api = FakeApi::default();
        api.tokens.lock().unwrap().extend([
            Err(CoreError::Offline("down".into())),
            Err(api_err(ErrorCode::Unavailable)),
            token("a", chrono::Duration::hours(1)),
            Err(api_err(ErrorCode::DeviceUnknown)),
        ]);
        api.heartbeats
            .lock()
            .unwrap()
            .extend([ack(), Err(api_err(ErrorCode::Unauthorized))]);
        let (code, events, slept) = run_fake(&api).await;
        assert_eq!(code, ErrorCode::DeviceUnknown);
        assert_eq!(events[0], SessionEvent::Offline);
        assert!(matches!(events[1], SessionEvent::Online(_)));
        assert_eq!(slept[0], Duration::from_secs(15));
        assert_eq!(slept[1], Duration::from_secs(15));
    }

    #[tokio::test]
    async fn repeated_refusals_back_off_instead_of_spinning() {
        let api = FakeApi::default();
        api.tokens.lock().unwrap().extend([
            Err(api_err(ErrorCode::Unauthorized)),
            Err(api_err(ErrorCode::Unauthorized)),
            Err(api_err(ErrorCode::DeviceDeactivated)),
        ]);
        let (code, _, slept) = run_fake(&api).await;
        assert_eq!(code, ErrorCode::DeviceDeactivated);
        assert_eq!(slept, [Duration::from_secs(15)]);
    }

    #[test]
    fn only_the_end_of_enrollment_means_wipe() {
        for code in [
            ErrorCode::DeviceDeactivated,
            ErrorCode::DeviceRejected,
            ErrorCode::DeviceUnknown,
        ] {
            assert!(ends_enrollment(code));
        }
        for code in [
            ErrorCode::Unauthorized,
            ErrorCode::Offline,
            ErrorCode::DevicePending,
            ErrorCode::Internal,
            ErrorCode::RateLimited,
        ] {
            assert!(!ends_enrollment(code));
        }
    }

    #[test]
    fn settings_retry_no_slower_than_the_heartbeat() {
        let s = SessionSettings::new(Duration::from_secs(2));
        assert_eq!(s.retry_interval, Duration::from_secs(2));
        let s = SessionSettings::new(Duration::from_secs(60));
        assert_eq!(s.retry_interval, RETRY_INTERVAL);
    }
}
