//! Device authentication state kept in memory: single-use challenge nonces,
//! and a cache of valid device tokens so a heartbeat needs no database round
//! trip. Deactivation drops a device's cached tokens in the same request that
//! revokes them in the database, and other instances drop theirs when the
//! `NOTIFY` of that transaction arrives (see `listen_for_revocations`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Most outstanding nonces kept (oldest expired ones are pruned first).
const MAX_NONCES: usize = 200_000;

#[derive(Debug, Default)]
pub struct Nonces {
    issued: Mutex<HashMap<String, (Uuid, Instant)>>,
}

impl Nonces {
    /// A fresh nonce for `device_uuid`, valid for `ttl`.
    pub fn issue(&self, device_uuid: Uuid, ttl: Duration) -> String {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        let nonce = URL_SAFE_NO_PAD.encode(bytes);
        let now = Instant::now();
        let mut map = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_NONCES {
            map.retain(|_, (_, exp)| *exp > now);
        }
        if map.len() < MAX_NONCES {
            map.insert(nonce.clone(), (device_uuid, now + ttl));
        }
        nonce
    }

    /// Consumes `nonce`: true once, for the device it was issued to, before expiry.
    pub fn take(&self, nonce: &str, device_uuid: Uuid) -> bool {
        let mut map = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        match map.remove(nonce) {
            Some((uuid, exp)) => uuid == device_uuid && exp > Instant::now(),
            None => false,
        }
    }
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

#[derive(Debug, Default)]
pub struct TokenCache {
    tokens: Mutex<HashMap<Vec<u8>, DevicePrincipal>>,
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
    fn nonces_are_single_use_and_bound_to_the_device() {
        let n = Nonces::default();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let x = n.issue(a, Duration::from_secs(60));
        assert!(!n.take(&x, b), "another device");
        let y = n.issue(a, Duration::from_secs(60));
        assert!(n.take(&y, a));
        assert!(!n.take(&y, a), "replayed");
        let z = n.issue(a, Duration::ZERO);
        assert!(!n.take(&z, a), "expired");
    }

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
