//! Device authentication state: single-use challenge nonces (in PostgreSQL,
//! shared by every instance), and an in-memory cache of valid device tokens so a heartbeat needs no database round
//! trip. Deactivation drops a device's cached tokens in the same request that
//! revokes them in the database, and other instances drop theirs when the
//! `NOTIFY` of that transaction arrives (see `listen_for_revocations`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use sqlx::PgPool;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A fresh challenge nonce for `device_uuid`, valid for `ttl`, stored in
/// PostgreSQL so any instance can take it; returns it with its expiry.
pub async fn issue_nonce(
    pool: &PgPool,
    device_uuid: Uuid,
    ttl: Duration,
) -> crate::Result<(String, DateTime<Utc>)> {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let nonce = URL_SAFE_NO_PAD.encode(bytes);
    let expires_at: DateTime<Utc> = sqlx::query_scalar("SELECT tend_challenge_issue($1, $2, $3)")
        .bind(&nonce)
        .bind(device_uuid)
        .bind(ttl.as_secs_f64())
        .fetch_one(pool)
        .await?;
    Ok((nonce, expires_at))
}

/// Consumes `nonce` on whichever instance issued it: true once, for the
/// device it was issued to, before expiry (one atomic `DELETE … RETURNING`).
pub async fn take_nonce(pool: &PgPool, nonce: &str, device_uuid: Uuid) -> crate::Result<bool> {
    if nonce.len() > 128 {
        return Ok(false);
    }
    Ok(sqlx::query_scalar("SELECT tend_challenge_take($1, $2)")
        .bind(nonce)
        .bind(device_uuid)
        .fetch_one(pool)
        .await?)
}

/// Who a valid device token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevicePrincipal {
    pub device_id: i64,
    pub organization_id: i64,
    pub facility_id: i64,
    pub encryption_required: bool,
    pub expires_at: DateTime<Utc>,
}

impl DevicePrincipal {
    /// A device sees its own facility.
    pub fn scope(&self) -> crate::context::Scope {
        crate::context::Scope::Facility {
            organization_id: self.organization_id,
            facility_id: self.facility_id,
        }
    }
}

#[derive(Debug)]
pub struct TokenCache {
    tokens: Mutex<HashMap<Vec<u8>, DevicePrincipal>>,
    /// The devices whose tokens were just revoked (here or, by NOTIFY, on
    /// another instance): an open push channel ends at once instead of at
    /// its token's expiry.
    revoked: tokio::sync::broadcast::Sender<i64>,
}

impl Default for TokenCache {
    fn default() -> Self {
        Self {
            tokens: Mutex::default(),
            revoked: tokio::sync::broadcast::channel(1024).0,
        }
    }
}

impl TokenCache {
    pub fn insert(&self, hash: Vec<u8>, principal: DevicePrincipal) {
        let mut map = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 1_000_000 {
            let now = Utc::now();
            map.retain(|_, p| p.expires_at > now);
        }
        map.insert(hash, principal);
    }

    /// The principal of an unexpired cached token.
    pub fn get(&self, hash: &[u8]) -> Option<DevicePrincipal> {
        let map = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        map.get(hash).copied().filter(|p| p.expires_at > Utc::now())
    }

    /// Forgets every cached token (after missing revocation notices).
    pub fn clear(&self) {
        let mut map = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        map.clear();
    }

    /// Forgets every token of `device_id`.
    pub fn revoke_device(&self, device_id: i64) {
        let mut map = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, p| p.device_id != device_id);
        drop(map);
        // Nobody listening (no open push channel) is fine.
        let _ = self.revoked.send(device_id);
    }

    /// Revoked device ids from now on, for a push channel to end on its own.
    pub fn revocations(&self) -> tokio::sync::broadcast::Receiver<i64> {
        self.revoked.subscribe()
    }
}

/// A new device token (`tdev_` + 43 base64url characters) and its hash.
pub fn new_device_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let token = format!("tdev_{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = crate::auth::token_hash(&token);
    (token, hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoking_a_device_forgets_its_tokens() {
        let c = TokenCache::default();
        let p = |id| DevicePrincipal {
            device_id: id,
            organization_id: 1,
            facility_id: 1,
            encryption_required: true,
            expires_at: Utc::now() + chrono::Duration::minutes(5),
        };
        c.insert(vec![1], p(1));
        c.insert(vec![2], p(2));
        c.revoke_device(1);
        assert_eq!(c.get(&[1]), None);
        assert_eq!(c.get(&[2]).map(|x| x.device_id), Some(2));
    }
}
