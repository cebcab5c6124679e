//! The login's server side: the two calls a login makes ([`LoginApi`]) and
//! the real one over the device link, falling back to the offline verifiers
//! when the server cannot be reached ([`DeviceLogin`]).

use std::sync::Arc;

use tend_badge::BadgeUid;
use tend_domain::wire::{BadgeLoginRequest, LoginRequest, LoginResponse, Secret};
use tend_domain::ErrorCode;

use super::offline::OfflineVerifiers;
use crate::link::DeviceLink;
use crate::Result;

/// The two calls a login makes.
pub trait LoginApi: Send + Sync {
    /// Badge login with the device's token.
    fn badge_login(
        &self,
        badge: &BadgeUid,
        pin: Option<&Secret>,
    ) -> impl std::future::Future<Output = Result<LoginResponse>> + Send;
    /// The password fallback.
    fn password_login(
        &self,
        username: &str,
        password: &Secret,
    ) -> impl std::future::Future<Output = Result<LoginResponse>> + Send;
}

/// The real server, through the device link (the device's one token), and
/// the offline verifiers while the server cannot be reached.
pub struct DeviceLogin {
    link: Arc<DeviceLink>,
    /// Verifiers for badge logins while the server cannot be reached.
    pub offline: Arc<OfflineVerifiers>,
}

impl DeviceLogin {
    pub fn new(link: Arc<DeviceLink>) -> Self {
        Self {
            link,
            offline: Arc::default(),
        }
    }

    async fn badge_login_online(
        &self,
        badge: &BadgeUid,
        pin: Option<&Secret>,
    ) -> Result<LoginResponse> {
        let body = BadgeLoginRequest {
            badge_uid: Secret::new(badge.expose_canonical()),
            pin: pin.map(|p| Secret::new(p.expose())),
        };
        self.link.badge_login(&body).await
    }
}

impl LoginApi for DeviceLogin {
    async fn badge_login(&self, badge: &BadgeUid, pin: Option<&Secret>) -> Result<LoginResponse> {
        match self.badge_login_online(badge, pin).await {
            Ok(session) => {
                // Offline sign-in for next time; never in the way of this one.
                if let Err(e) = self.offline.remember(badge, pin, &session).await {
                    tracing::warn!(code = %e.code(), "offline verifier not kept");
                }
                Ok(session)
            }
            Err(e) if e.code() == ErrorCode::Offline => {
                tracing::info!("server unreachable: badge checked offline");
                self.offline.verify(badge, pin).await
            }
            Err(e) => {
                if matches!(e.code(), ErrorCode::BadgeRevoked | ErrorCode::BadgeUnknown) {
                    if let Err(e) = self.offline.forget(badge).await {
                        tracing::warn!(code = %e.code(), "offline verifier not removed");
                    }
                }
                Err(e)
            }
        }
    }

    async fn password_login(&self, username: &str, password: &Secret) -> Result<LoginResponse> {
        self.link
            .password_login(&LoginRequest {
                username: username.to_owned(),
                password: Secret::new(password.expose()),
            })
            .await
    }
}
