//! The enrolled device's session with its server: authenticate (challenge →
//! short-lived token, renewed before it expires), send heartbeats, and notice
//! when the server has ended the enrollment (deactivated, rejected, unknown),
//! which is the signal to wipe the device.
//!
//! The loop is written against [`DeviceApi`] so its decisions are unit-tested
//! without a server; the app runs it over the device link
//! ([`crate::link::ServerApi`] and the link's one token cache).

use std::time::Duration;

use tend_domain::wire::{Heartbeat, HeartbeatAck};
use tend_domain::ErrorCode;

use crate::enrollment::WipeNotice;
use crate::heartbeat::SyncState;
use crate::link::{DeviceApi, DeviceLink, DeviceTokens};

/// How long to wait before trying again after the server could not be
/// reached or answered with something unexpected.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(15);

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
    /// The server refuses the device because its facility or organization
    /// is closed (`FACILITY_CLOSED`, `ORGANIZATION_CLOSED`); the session
    /// keeps its data and asks again every heartbeat interval.
    Closed(ErrorCode),
}

pub use crate::error::ends_enrollment;

/// How the server ended the enrollment: its code, and the signed order that
/// came with it (checked by [`run_enrolled`] before anything is deleted).
#[derive(Debug, Clone, PartialEq)]
pub struct Ending {
    pub code: ErrorCode,
    pub order: Option<tend_domain::wire::DeviceOrder>,
}

impl Ending {
    fn from_error(e: &crate::CoreError) -> Self {
        Self {
            code: e.code(),
            order: e.device_order().cloned(),
        }
    }
}

/// Runs until the server ends the enrollment and returns how it said so. Heartbeats carry the device link's token from `tokens` (renewed once
/// when refused); `body` stamps each heartbeat; `on_event` hears every
/// outcome; `sleep` waits (tokio's timer in the app, instant in tests).
pub async fn run<A, B, E, S, F>(
    api: &A,
    tokens: &DeviceTokens,
    settings: SessionSettings,
    mut body: B,
    mut on_event: E,
    mut sleep: S,
) -> Ending
where
    A: DeviceApi,
    B: FnMut() -> Heartbeat,
    E: FnMut(SessionEvent),
    S: FnMut(Duration) -> F,
    F: std::future::Future<Output = ()>,
{
    loop {
        let heartbeat = body();
        let outcome = tokens
            .with_token(api, |token| {
                let heartbeat = &heartbeat;
                async move { api.heartbeat(&token, heartbeat).await }
            })
            .await;
        let delay = match outcome {
            Ok(ack) => {
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
                if e.device_order().is_some() || e.code() == ErrorCode::DeviceUnknown {
                    return Ending::from_error(&e);
                }
                // A token refusal carries no order: authenticate once more,
                // so the server can answer the challenge with a signed one.
                // (`DEVICE_UNKNOWN` is never signed: there is nobody to ask.)
                tokens.forget().await;
                return match api.authenticate().await {
                    Err(signed) if signed.device_order().is_some() => Ending::from_error(&signed),
                    _ => Ending::from_error(&e),
                };
            }
            Err(e) if e.code() == ErrorCode::Offline => {
                on_event(SessionEvent::Offline);
                settings.retry_interval
            }
            Err(e) if crate::error::closes_facility(e.code()) => {
                tracing::warn!(code = %e.code(), "the server refuses this device: its facility or organization is closed; nothing is deleted");
                on_event(SessionEvent::Closed(e.code()));
                crate::heartbeat::jittered(
                    settings.heartbeat_interval,
                    crate::heartbeat::random_unit(),
                )
            }
            Err(e) => {
                // A token refused even after renewal is not fixed by asking
                // again at once: back off like any other failure.
                tracing::warn!(code = %e.code(), error = %e, "heartbeat failed; trying again later");
                settings.retry_interval
            }
        };
        sleep(delay).await;
    }
}

/// What became of a session the server ended.
#[derive(Debug, Clone)]
pub enum SessionOutcome {
    /// A verified order: the device was wiped.
    Wiped(WipeNotice),
    /// The end was not signed (or did not verify): the device keeps its
    /// data and locks until the server knows it again.
    Held(HeldNotice),
}

/// Why a device is locked without having been wiped (the status bar and the
/// lock screen say it; the administrator can re-adopt the device).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HeldNotice {
    /// The server's code (`DEVICE_UNKNOWN`, `DEVICE_DEACTIVATED`, …).
    pub code: ErrorCode,
    /// Why that answer was not obeyed with a wipe.
    pub reason: crate::enrollment::orders::UnverifiedOrder,
    /// The device's hardware identity, for the administrator to re-adopt it.
    pub device_uuid: String,
    pub since: chrono::DateTime<chrono::Utc>,
}

/// Decides what an ending of the enrollment does to the device: only an
/// order verified against the pinned key wipes it.
pub async fn conclude(link: &DeviceLink, ending: Ending) -> crate::Result<SessionOutcome> {
    let enrollment = link.enrollment();
    let saved = enrollment.saved()?.ok_or_else(|| {
        crate::CoreError::Config("the enrollment record is gone; nothing to conclude".into())
    })?;
    let device_uuid = tend_domain::DeviceUuid::parse(&saved.device_uuid)?;
    match crate::enrollment::orders::verify(
        ending.code,
        ending.order.as_ref(),
        saved.server_key.as_ref(),
        &device_uuid,
    ) {
        Ok(kind) => {
            tracing::warn!(
                order = kind.as_str(),
                "a signed order ended this enrollment; wiping"
            );
            Ok(SessionOutcome::Wiped(enrollment.wipe(ending.code).await?))
        }
        Err(reason) => {
            tracing::error!(
                code = %ending.code,
                reason = reason.describe(),
                "the server says this enrollment is over, unsigned: locked, nothing deleted"
            );
            Ok(SessionOutcome::Held(HeldNotice {
                code: ending.code,
                reason,
                device_uuid: saved.device_uuid,
                since: chrono::Utc::now(),
            }))
        }
    }
}

/// Runs the enrolled device's session over its link (authentication and
/// heartbeats reporting `sync_state()`, the sync engine's outbox and last
/// sync) until the server ends the enrollment, then acts on how it ended
/// ([`conclude`]). Returns at once with `CONFIG_INVALID` when the device is
/// not enrolled `ACTIVE`.
pub async fn run_enrolled(
    link: &DeviceLink,
    heartbeat_interval: Duration,
    sync_state: impl Fn() -> SyncState,
    on_event: impl FnMut(SessionEvent),
) -> crate::Result<SessionOutcome> {
    let enrollment = link.enrollment();
    let server = link.server().await?;
    let store = enrollment.secret_store().await?;
    // The vault's key store when there is a vault; before one exists the
    // device holds no data, and its keys would go where the device key is.
    let backend =
        crate::vault::secret::read_backend_marker(enrollment.data_dir()).or(Some(store.backend()));
    let app_version = enrollment.app_version().to_owned();
    // A key file holding only the local half of a server-bound key is not
    // a key on the disk: the vault needs the server to open.
    let posture = match crate::heartbeat::posture(backend) {
        tend_domain::wire::EncryptionPosture::KeyFile
            if crate::vault::Vault::is_bound_to_server(store.as_ref()).unwrap_or(false) =>
        {
            tend_domain::wire::EncryptionPosture::ServerBound
        }
        other => other,
    };
    enrollment.pin_server_key_if_missing().await;
    tracing::info!("device session started");
    let ending = run(
        server.as_ref(),
        link.tokens(),
        SessionSettings::new(heartbeat_interval),
        || crate::heartbeat::heartbeat(&app_version, posture, &sync_state(), chrono::Utc::now()),
        on_event,
        tokio::time::sleep,
    )
    .await;
    conclude(link, ending).await
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use chrono::Utc;
    use tend_domain::wire::DeviceToken;

    use super::*;
    use crate::{CoreError, Result};

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
            facility_id: None,
            facility_name: None,
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
        crate::heartbeat::heartbeat(
            "0.1.0",
            tend_domain::wire::EncryptionPosture::None,
            &Default::default(),
            Utc::now(),
        )
    }

    async fn run_fake(api: &FakeApi) -> (ErrorCode, Vec<SessionEvent>, Vec<Duration>) {
        let mut events = Vec::new();
        let slept = Mutex::new(Vec::new());
        let code = run(
            api,
            &DeviceTokens::renewing_within(Duration::from_secs(60)),
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
        (code.code, events, slept.into_inner().unwrap())
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
                "heartbeat:a",
                // The refusal was unsigned: the server is asked for an order.
                "authenticate"
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
                "heartbeat:long",
                "authenticate"
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
            // The rejection was unsigned: asked once more for an order.
            [
                "authenticate",
                "heartbeat:a",
                "heartbeat:a",
                "authenticate",
                "authenticate"
            ]
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
    async fn a_closed_facility_is_reported_and_asked_again_never_a_reason_to_wipe() {
        let api = FakeApi::default();
        api.tokens.lock().unwrap().extend([
            Err(api_err(ErrorCode::FacilityClosed)),
            Err(api_err(ErrorCode::OrganizationClosed)),
            token("a", chrono::Duration::hours(1)),
        ]);
        api.heartbeats.lock().unwrap().extend([ack()]);
        let (code, events, slept) = run_fake(&api).await;
        assert_eq!(events[0], SessionEvent::Closed(ErrorCode::FacilityClosed));
        assert_eq!(
            events[1],
            SessionEvent::Closed(ErrorCode::OrganizationClosed)
        );
        assert!(matches!(events[2], SessionEvent::Online(_)), "reopened");
        // Asked again at the heartbeat's pace, not the quick retry's.
        assert!(slept[..2]
            .iter()
            .all(|d| *d >= Duration::from_secs(54) && *d <= Duration::from_secs(66)));
        // Only the scripted deactivation at the end ended the session.
        assert_eq!(code, ErrorCode::DeviceDeactivated);
        assert!(!ends_enrollment(ErrorCode::FacilityClosed));
        assert!(!ends_enrollment(ErrorCode::OrganizationClosed));
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
        assert_eq!(slept, [Duration::from_secs(15), Duration::from_secs(15)]);
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
