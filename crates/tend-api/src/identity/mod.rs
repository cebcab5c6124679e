//! Device identity on the server: enrollment codes, rate limits, challenge
//! nonces, device tokens (and the extractor that checks them), the heartbeat
//! buffer, and the password-login throttle. Shared by every request through
//! [`IdentityState`]. Whatever must hold across API instances (nonces, rate
//! limits, lockouts) lives in PostgreSQL; the process keeps caches only.

pub mod codes;
pub mod heartbeat;
pub mod limits;
pub mod orders;
pub mod protection;
pub mod tokens;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};

use crate::error::{ApiError, Result};
use crate::AppState;
use heartbeat::HeartbeatBuffer;
use limits::{Bucket, Limits, Rate};
use tend_domain::ErrorCode;
use tokens::{DevicePrincipal, TokenCache};

/// Tunables (tests shorten them).
#[derive(Debug, Clone)]
pub struct IdentityConfig {
    /// How long a device token lives.
    pub device_token_ttl: Duration,
    /// How long a challenge nonce may be answered.
    pub nonce_ttl: Duration,
    /// How often coalesced heartbeats are written.
    pub heartbeat_flush: Duration,
    pub enroll_per_address: Rate,
    pub enroll_per_code: Rate,
    pub challenges_per_address: Rate,
    /// Badge logins through one device (guessing badge values or PINs).
    pub badge_logins_per_device: Rate,
    /// Wrong visitor codes typed at one device (family check-in).
    pub family_wrong_codes_per_device: Rate,
    /// How long a family session lives.
    pub family_session_ttl: Duration,
    /// Password logins from one client address.
    pub login_per_address: Rate,
    /// Failed password logins for one account before each further one waits
    /// (`login_backoff`, then twice that, …).
    pub login_free_failures: u32,
    /// The first wait after the free failures.
    pub login_backoff: Duration,
    /// Failed password logins for one account that lock it.
    pub login_max_failures: u32,
    /// How long a locked account stays locked.
    pub login_lockout: Duration,
    /// Password and PIN hashes (argon2) computed at once; the rest wait, so a
    /// login flood cannot take every core from heartbeats and sync.
    pub password_hash_concurrency: usize,
    /// Where the revocation listener connects: PostgreSQL itself when the
    /// pool goes through PgBouncer in transaction mode, which cannot carry
    /// LISTEN. `None`: a connection like the pool's.
    pub revocation_listener_url: Option<crate::config::DatabaseUrl>,
    /// How often the audit chains' heads are signed as checkpoints (with the
    /// same key as device orders); zero turns it off.
    pub audit_checkpoint_every: Duration,
    /// How often unacknowledged wandering alerts are checked for escalation;
    /// zero turns it off.
    pub alert_escalation_every: Duration,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            device_token_ttl: Duration::from_secs(15 * 60),
            nonce_ttl: Duration::from_secs(60),
            heartbeat_flush: Duration::from_secs(1),
            enroll_per_address: Rate {
                burst: 30.0,
                per_second: 1.0,
            },
            enroll_per_code: Rate {
                burst: 6.0,
                per_second: 0.2,
            },
            // A facility's devices behind one NAT address each ask every ~15 min.
            challenges_per_address: Rate {
                burst: 300.0,
                per_second: 20.0,
            },
            // A kiosk at shift change sees a queue of taps; a script sees far more.
            badge_logins_per_device: Rate {
                burst: 30.0,
                per_second: 0.5,
            },
            // A visitor mistypes a few times; eight digits need millions of tries.
            family_wrong_codes_per_device: Rate {
                burst: 5.0,
                per_second: 1.0 / 60.0,
            },
            family_session_ttl: Duration::from_secs(15 * 60),
            // A shift change behind one NAT address; a script sees far more.
            login_per_address: Rate {
                burst: 60.0,
                per_second: 1.0,
            },
            login_free_failures: 5,
            login_backoff: Duration::from_secs(1),
            login_max_failures: 10,
            login_lockout: Duration::from_secs(15 * 60),
            // Half the cores (at least one) for argon2.
            password_hash_concurrency: std::thread::available_parallelism()
                .map_or(1, |n| (n.get() / 2).max(1)),
            revocation_listener_url: None,
            audit_checkpoint_every: Duration::from_secs(5 * 60),
            alert_escalation_every: Duration::from_secs(15),
        }
    }
}

#[derive(Debug)]
pub struct IdentityState {
    pub config: IdentityConfig,
    /// Rate limits (shared through PostgreSQL).
    pub limits: Limits,
    pub tokens: TokenCache,
    /// Who recent user tokens belong to (saves a round trip; never trusted alone).
    pub principals: crate::context::PrincipalCache,
    pub heartbeats: Arc<HeartbeatBuffer>,
    /// Bounds concurrent argon2 work (see `password_hash_concurrency`).
    pub password_work: tokio::sync::Semaphore,
    /// The key device orders (deactivation, rejection) are signed with.
    pub orders: orders::OrderSigner,
    /// Facilities' minimum device protection (heartbeat lock decisions).
    pub protection: protection::ProtectionMinimums,
    /// This instance's fan-out of live wandering alerts.
    pub alerts: crate::api::alerts::AlertHub,
}

impl IdentityState {
    pub fn new(config: IdentityConfig) -> Self {
        Self {
            limits: Limits::new([
                (Bucket::EnrollAddress, config.enroll_per_address),
                (Bucket::EnrollCode, config.enroll_per_code),
                (Bucket::ChallengeAddress, config.challenges_per_address),
                (Bucket::BadgeLoginDevice, config.badge_logins_per_device),
                (
                    Bucket::VisitorCodeDevice,
                    config.family_wrong_codes_per_device,
                ),
                (Bucket::LoginAddress, config.login_per_address),
            ]),
            tokens: TokenCache::default(),
            principals: crate::context::PrincipalCache::default(),
            heartbeats: Arc::new(HeartbeatBuffer::default()),
            password_work: tokio::sync::Semaphore::new(config.password_hash_concurrency.max(1)),
            orders: orders::OrderSigner::default(),
            protection: protection::ProtectionMinimums::default(),
            alerts: crate::api::alerts::AlertHub::default(),
            config,
        }
    }

    /// Revokes every token of `device_id` inside the caller's transaction
    /// (the revocation `NOTIFY` tells the other API instances at commit) and
    /// drops them from this instance's cache. Call
    /// [`Revocation::committed`] after the commit: a request racing this one
    /// may have cached a token meanwhile. Deactivation and a move to another
    /// facility both end a device's tokens this way.
    pub async fn revoke_device<'a>(
        &'a self,
        conn: &mut sqlx::PgConnection,
        device_id: i64,
    ) -> Result<Revocation<'a>> {
        crate::store::enrollment::revoke_tokens(conn, device_id).await?;
        self.tokens.revoke_device(device_id);
        self.heartbeats.forget(device_id);
        Ok(Revocation {
            identity: self,
            device_id,
        })
    }

    /// Runs argon2 work (`f`) on the blocking pool once a permit is free;
    /// waits at most a few seconds (then 429: the server is busy hashing).
    pub async fn hash_work<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let permit = tokio::time::timeout(Duration::from_secs(5), self.password_work.acquire())
            .await
            .map_err(|_| ApiError::RateLimited)?
            .map_err(ApiError::internal)?;
        let out = tokio::task::spawn_blocking(f)
            .await
            .map_err(ApiError::internal)?;
        drop(permit);
        Ok(out)
    }
}

/// A device's tokens revoked in a transaction not yet committed.
#[must_use = "call committed() after the transaction commits"]
pub struct Revocation<'a> {
    identity: &'a IdentityState,
    device_id: i64,
}

impl Revocation<'_> {
    /// The revoking transaction committed: no request after this one (nor
    /// one that raced it into the cache) authenticates with those tokens.
    pub fn committed(self) {
        self.identity.tokens.revoke_device(self.device_id);
    }
}

/// The channel on which a deactivation tells every API instance to drop the
/// device's cached tokens (sent inside the deactivating transaction, so it
/// is delivered at commit).
pub const REVOCATION_CHANNEL: &str = "tend_device_revoked";

/// Listens for revocations from any API instance. A lost connection may have
/// dropped notices, so the whole cache is cleared then (tokens are looked up
/// again, one round trip each).
pub async fn listen_for_revocations(state: Arc<IdentityState>, pool: sqlx::PgPool) {
    loop {
        let connected = match &state.config.revocation_listener_url {
            Some(url) => sqlx::postgres::PgListener::connect(url.expose()).await,
            None => sqlx::postgres::PgListener::connect_with(&pool).await,
        };
        let mut listener = match connected {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "revocation listener cannot connect; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // One connection per instance carries both channels: revocations and
        // live wandering alerts (see `api::alerts`).
        let channels = [REVOCATION_CHANNEL, crate::api::alerts::ALERT_CHANNEL];
        if let Err(e) = listener.listen_all(channels).await {
            tracing::warn!(error = %e, "revocation listener cannot LISTEN; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        // Anything revoked while we were not listening is unknown: start clean
        // (and every push connection resumes from the events table).
        state.tokens.clear();
        state.alerts.restart();
        loop {
            match listener.try_recv().await {
                Ok(Some(notice)) if notice.channel() == crate::api::alerts::ALERT_CHANNEL => {
                    state.alerts.receive(notice.payload());
                }
                Ok(Some(notice)) => {
                    if let Ok(id) = notice.payload().parse::<i64>() {
                        state.tokens.revoke_device(id);
                        state.heartbeats.forget(id);
                    }
                }
                Ok(None) => {
                    state.tokens.clear();
                    state.alerts.restart();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "revocation listener failed; reconnecting");
                    state.tokens.clear();
                    state.alerts.restart();
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A device of a closed facility or organization is refused (403), not
/// ended: it keeps its enrollment and its data, and the app says why.
pub fn refusal_for_closure(facility_active: bool, organization_active: bool) -> Option<ApiError> {
    if !organization_active {
        Some(ApiError::Device(ErrorCode::OrganizationClosed))
    } else if !facility_active {
        Some(ApiError::Device(ErrorCode::FacilityClosed))
    } else {
        None
    }
}

/// A device's standing as the API tells it: 401 with a code the app acts on.
pub fn refusal_for_status(status: &str) -> ApiError {
    match status {
        "PENDING" => ApiError::Device(ErrorCode::DevicePending),
        "REJECTED" => ApiError::Device(ErrorCode::DeviceRejected),
        "DEACTIVATED" => ApiError::Device(ErrorCode::DeviceDeactivated),
        _ => ApiError::Device(ErrorCode::DeviceUnknown),
    }
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    device_id: i64,
    organization_id: i64,
    facility_id: i64,
    status: String,
    is_active: bool,
    encryption_required: bool,
    expires_at: DateTime<Utc>,
    revoked: bool,
    facility_active: bool,
    organization_active: bool,
}

/// A request authenticated with a device token.
#[derive(Debug, Clone, Copy)]
pub struct DeviceAuth(pub DevicePrincipal);

impl DeviceAuth {
    /// The device, when `id` in the path is its own (a device acts on
    /// itself only): 403 otherwise.
    pub fn own(self, id: i64) -> crate::error::Result<DevicePrincipal> {
        if id == self.0.device_id {
            Ok(self.0)
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

impl FromRequestParts<AppState> for DeviceAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .filter(|t| t.starts_with("tdev_") && t.len() <= 128)
            .ok_or(ApiError::Unauthorized)?;
        let hash = crate::auth::token_hash(token);
        if let Some(p) = state.identity.tokens.get(&hash) {
            return Ok(DeviceAuth(p));
        }
        let row: Option<TokenRow> = sqlx::query_as("SELECT * FROM tend_device_token_lookup($1)")
            .bind(&hash)
            .fetch_optional(&state.pool)
            .await?;
        let row = row.ok_or(ApiError::Unauthorized)?;
        if row.status != "ACTIVE" || !row.is_active {
            return Err(refusal_for_status(&row.status));
        }
        if row.revoked || row.expires_at <= Utc::now() {
            return Err(ApiError::Unauthorized);
        }
        if let Some(refusal) = refusal_for_closure(row.facility_active, row.organization_active) {
            return Err(refusal);
        }
        let principal = DevicePrincipal {
            device_id: row.device_id,
            organization_id: row.organization_id,
            facility_id: row.facility_id,
            encryption_required: row.encryption_required,
            expires_at: row.expires_at,
        };
        state.identity.tokens.insert(hash, principal);
        Ok(DeviceAuth(principal))
    }
}

/// The device a request comes through, when it carries a device token
/// (`tdev_…`) as its bearer: a password login on a device names the device so
/// the session counts as one on that device. Any other bearer (or none) is
/// no device; a device token that is not valid is refused like anywhere else.
pub struct MaybeDevice(pub Option<DevicePrincipal>);

impl FromRequestParts<AppState> for MaybeDevice {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let device_bearer = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .is_some_and(|(scheme, t)| {
                scheme.eq_ignore_ascii_case("bearer") && t.trim().starts_with("tdev_")
            });
        if !device_bearer {
            return Ok(MaybeDevice(None));
        }
        let DeviceAuth(device) = DeviceAuth::from_request_parts(parts, state).await?;
        Ok(MaybeDevice(Some(device)))
    }
}

/// The caller's IP address, when the server knows it.
#[derive(Debug, Clone)]
pub struct ClientAddress(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        Ok(ClientAddress(crate::context::client_address(parts)))
    }
}
