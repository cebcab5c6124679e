//! The database key: a random 256-bit raw SQLCipher key, or — for a
//! facility that binds its kiosks to the server — a key derived from a local
//! secret and a secret the server hands to the authenticated device, so a
//! stolen SD card alone cannot be read. The server's part is held only in
//! memory; after a reboot without network the app shows "waiting for network
//! to unlock" ([`UnlockState::WaitingForNetwork`]).

use std::fmt;
use std::sync::Mutex;

use serde::Serialize;
use zeroize::Zeroizing;

use super::secret::SecretBytes;
use crate::{CoreError, Result};

/// Length of a SQLCipher raw key.
pub const KEY_LEN: usize = 32;

/// HKDF salt of the server-bound derivation; bump the suffix to change the scheme.
const SERVER_BOUND_SALT: &[u8] = b"tend/device-vault/server-bound/v1";

/// A 256-bit SQLCipher key. `Debug` is redacted; memory is zeroed on drop.
#[derive(Clone)]
pub struct DatabaseKey(Zeroizing<[u8; KEY_LEN]>);

impl DatabaseKey {
    pub fn random() -> Result<Self> {
        let secret = SecretBytes::random(KEY_LEN)?;
        Self::from_secret(&secret).ok_or_else(|| CoreError::Database("key generation".into()))
    }

    /// `None` when the stored secret is not a 32-byte key.
    pub fn from_secret(secret: &SecretBytes) -> Option<Self> {
        let bytes: [u8; KEY_LEN] = secret.expose().try_into().ok()?;
        Some(Self(Zeroizing::new(bytes)))
    }

    pub fn to_secret(&self) -> SecretBytes {
        SecretBytes::new(self.0.to_vec())
    }

    /// The raw-key literal for `PRAGMA key` / `PRAGMA rekey`: `x'<64 hex>'`
    /// (SQLCipher then skips its passphrase KDF).
    pub(crate) fn pragma_value(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(3 + 2 * KEY_LEN));
        out.push_str("x'");
        for b in self.0.iter() {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
        out.push('\'');
        out
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl fmt::Debug for DatabaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DatabaseKey(<redacted>)")
    }
}

impl PartialEq for DatabaseKey {
    fn eq(&self, other: &Self) -> bool {
        // Constant-time enough for a test helper; keys are never compared on
        // an attacker-timed path.
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

/// Derives the database key of a server-bound vault:
/// `HKDF-SHA256(salt, len(local) ‖ local ‖ server, info = "sqlcipher-key" ‖ device)`.
/// Neither part alone says anything about the key; `device` ties it to one
/// device identity so a server secret leaked for one kiosk opens no other.
pub fn derive_server_bound_key(
    local: &SecretBytes,
    server: &SecretBytes,
    device: &str,
) -> Result<DatabaseKey> {
    if local.len() < 16 || server.len() < 16 {
        return Err(CoreError::SecretStore {
            backend: "server-bound".into(),
            reason: "both key parts must be at least 128 bits".into(),
        });
    }
    let mut ikm = Zeroizing::new(Vec::with_capacity(4 + local.len() + server.len()));
    let local_len = u32::try_from(local.len()).unwrap_or(u32::MAX);
    ikm.extend_from_slice(&local_len.to_be_bytes());
    ikm.extend_from_slice(local.expose());
    ikm.extend_from_slice(server.expose());
    let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(SERVER_BOUND_SALT), &ikm);
    let mut info = b"sqlcipher-key\0".to_vec();
    info.extend_from_slice(device.as_bytes());
    let mut okm = Zeroizing::new([0u8; KEY_LEN]);
    hk.expand(&info, okm.as_mut())
        .map_err(|_| CoreError::Database("key derivation".into()))?;
    Ok(DatabaseKey(okm))
}

/// Where the database key comes from.
#[derive(Debug, Clone, Default)]
pub enum KeyMode {
    /// A random key kept in the secret store (the default).
    #[default]
    Local,
    /// Derived from a local secret (in the secret store) and the server's
    /// part, which the app passes in from its in-memory cache. `None` means
    /// the server has not answered since this process started.
    ServerBound {
        /// The device identity mixed into the derivation.
        device: String,
        server_secret: Option<SecretBytes>,
    },
}

impl KeyMode {
    pub fn is_server_bound(&self) -> bool {
        matches!(self, KeyMode::ServerBound { .. })
    }
}

/// What the lock screen shows about the vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum UnlockState {
    /// The database is open.
    Unlocked,
    /// Server-bound key and the server's part is not in memory yet: "waiting
    /// for network to unlock". The app retries when the network returns.
    WaitingForNetwork,
    /// The secret store (keyring) cannot be reached; the key is there.
    KeyStoreUnavailable,
    /// The database cannot be used (newer schema, disk error).
    Unavailable,
}

impl UnlockState {
    /// The state to show after `Vault::open` failed with `error`.
    pub fn from_error(error: &CoreError) -> Self {
        match error {
            CoreError::WaitingForNetwork => UnlockState::WaitingForNetwork,
            CoreError::SecretStore { .. } => UnlockState::KeyStoreUnavailable,
            _ => UnlockState::Unavailable,
        }
    }
}

/// The server's part of a server-bound key, held only in memory: never in
/// the secret store, never on disk. A kernel-keyring implementation (so a
/// crashed app restarts without the network) can implement the same trait.
pub trait ServerSecretCache: Send + Sync + fmt::Debug {
    fn get(&self) -> Option<SecretBytes>;
    fn put(&self, secret: SecretBytes);
    fn clear(&self);
}

/// Process memory: lost when the app exits or the device reboots.
#[derive(Debug, Default)]
pub struct MemoryServerSecretCache {
    secret: Mutex<Option<SecretBytes>>,
}

impl MemoryServerSecretCache {
    pub fn new() -> Self {
        Self::default()
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<SecretBytes>> {
        self.secret.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ServerSecretCache for MemoryServerSecretCache {
    fn get(&self) -> Option<SecretBytes> {
        self.slot().clone()
    }
    fn put(&self, secret: SecretBytes) {
        *self.slot() = Some(secret);
    }
    fn clear(&self) {
        *self.slot() = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(byte: u8) -> SecretBytes {
        SecretBytes::new(vec![byte; 32])
    }

    #[test]
    fn pragma_value_is_a_raw_key_literal() {
        let key = DatabaseKey::from_secret(&SecretBytes::new((0u8..32).collect())).unwrap();
        let value = key.pragma_value();
        assert_eq!(value.len(), 67);
        assert!(value.starts_with("x'000102") && value.ends_with("1f'"));
        assert_eq!(format!("{key:?}"), "DatabaseKey(<redacted>)");
    }

    #[test]
    fn stored_secret_of_wrong_length_is_not_a_key() {
        assert!(DatabaseKey::from_secret(&SecretBytes::new(vec![1; 31])).is_none());
        assert!(DatabaseKey::from_secret(&SecretBytes::new(vec![1; 33])).is_none());
    }

    #[test]
    fn server_bound_key_depends_on_every_part() {
        let base = derive_server_bound_key(&secret(1), &secret(2), "dev-a").unwrap();
        assert_eq!(
            base,
            derive_server_bound_key(&secret(1), &secret(2), "dev-a").unwrap()
        );
        assert!(base != derive_server_bound_key(&secret(9), &secret(2), "dev-a").unwrap());
        assert!(base != derive_server_bound_key(&secret(1), &secret(9), "dev-a").unwrap());
        assert!(base != derive_server_bound_key(&secret(1), &secret(2), "dev-b").unwrap());
        // The length prefix keeps (ab, c) and (a, bc) apart.
        let split_a = derive_server_bound_key(
            &SecretBytes::new(vec![7; 16]),
            &SecretBytes::new(vec![7; 20]),
            "d",
        )
        .unwrap();
        let split_b = derive_server_bound_key(
            &SecretBytes::new(vec![7; 20]),
            &SecretBytes::new(vec![7; 16]),
            "d",
        )
        .unwrap();
        assert!(split_a != split_b);
    }

    #[test]
    fn short_parts_are_refused() {
        let short = SecretBytes::new(vec![1; 8]);
        assert!(derive_server_bound_key(&short, &secret(2), "d").is_err());
        assert!(derive_server_bound_key(&secret(1), &short, "d").is_err());
    }

    #[test]
    fn memory_cache_holds_and_forgets() {
        let cache = MemoryServerSecretCache::new();
        assert!(cache.get().is_none());
        cache.put(secret(3));
        assert_eq!(cache.get().unwrap(), secret(3));
        cache.clear();
        assert!(cache.get().is_none());
    }

    #[test]
    fn lock_screen_state_from_errors() {
        assert_eq!(
            UnlockState::from_error(&CoreError::WaitingForNetwork),
            UnlockState::WaitingForNetwork
        );
        assert_eq!(
            serde_json::to_string(&UnlockState::WaitingForNetwork).unwrap(),
            "\"waiting_for_network\""
        );
        assert_eq!(
            UnlockState::from_error(&CoreError::SchemaTooNew { found: 9, known: 2 }),
            UnlockState::Unavailable
        );
    }
}
