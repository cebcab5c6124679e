//! The device's Ed25519 key pair: generated on first run, its private half
//! kept only in the vault's [`SecretStore`] (keyring or key file, never a
//! plain file of its own, never logged), and used to answer the server's
//! authentication challenges.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey, SECRET_KEY_LENGTH};
use tend_domain::wire::device_auth_message;
use tend_domain::DeviceUuid;

use crate::vault::{SecretBytes, SecretStore};
use crate::{CoreError, Result};

/// Name of the private key in the secret store.
pub const DEVICE_KEY_SECRET: &str = "device-identity-key";

/// The device's signing key. `Debug` shows only the public half.
pub struct DeviceKey {
    signing: SigningKey,
}

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceKey")
            .field("public_key", &self.public_key_base64())
            .field("private_key", &"<redacted>")
            .finish()
    }
}

impl DeviceKey {
    /// Loads the key from `store`, creating and storing one on first run.
    /// Returns the key and whether it was just created.
    pub fn load_or_create(store: &dyn SecretStore) -> Result<(Self, bool)> {
        if let Some(stored) = store.get(DEVICE_KEY_SECRET)? {
            let bytes: [u8; SECRET_KEY_LENGTH] =
                stored
                    .expose()
                    .try_into()
                    .map_err(|_| CoreError::SecretStore {
                        backend: store.backend().as_str().to_owned(),
                        reason: format!(
                            "the stored device key has {} bytes, not {SECRET_KEY_LENGTH}; \
                         the device must enroll again",
                            stored.len()
                        ),
                    })?;
            return Ok((
                Self {
                    signing: SigningKey::from_bytes(&bytes),
                },
                false,
            ));
        }
        let seed = SecretBytes::random(SECRET_KEY_LENGTH)?;
        store.set(DEVICE_KEY_SECRET, &seed)?;
        let bytes: [u8; SECRET_KEY_LENGTH] =
            seed.expose()
                .try_into()
                .map_err(|_| CoreError::SecretStore {
                    backend: "os-random".into(),
                    reason: "short random read".into(),
                })?;
        tracing::info!(backend = store.backend().as_str(), "device key created");
        Ok((
            Self {
                signing: SigningKey::from_bytes(&bytes),
            },
            true,
        ))
    }

    /// The public key as sent at enrollment (standard base64 of 32 bytes).
    pub fn public_key_base64(&self) -> String {
        STANDARD.encode(self.signing.verifying_key().as_bytes())
    }

    /// Signs arbitrary bytes (64-byte Ed25519 signature).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// Answers an authentication challenge: the base64 signature over
    /// [`device_auth_message`] for this device and `nonce`.
    pub fn sign_challenge(&self, device_uuid: &DeviceUuid, nonce: &str) -> String {
        STANDARD.encode(self.sign(&device_auth_message(device_uuid, nonce)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::MemoryStore;
    use ed25519_dalek::{Signature, Verifier, VerifyingKey};

    #[test]
    fn created_once_then_loaded() {
        let store = MemoryStore::new();
        let (a, created) = DeviceKey::load_or_create(&store).unwrap();
        assert!(created);
        let (b, created) = DeviceKey::load_or_create(&store).unwrap();
        assert!(!created);
        assert_eq!(a.public_key_base64(), b.public_key_base64());
        let (c, _) = DeviceKey::load_or_create(&MemoryStore::new()).unwrap();
        assert_ne!(a.public_key_base64(), c.public_key_base64());
    }

    #[test]
    fn debug_never_shows_the_private_key() {
        let store = MemoryStore::new();
        let (key, _) = DeviceKey::load_or_create(&store).unwrap();
        let shown = format!("{key:?}");
        assert!(shown.contains("<redacted>"));
        let secret = store.get(DEVICE_KEY_SECRET).unwrap().unwrap();
        assert!(!shown.contains(&STANDARD.encode(secret.expose())));
        assert!(!shown.contains(&format!("{:?}", secret.expose())));
    }

    #[test]
    fn challenge_signatures_verify_with_the_public_key() {
        let (key, _) = DeviceKey::load_or_create(&MemoryStore::new()).unwrap();
        let uuid = DeviceUuid::parse("4c4c4544-0042-3510-8052-b4c04f4e4d32").unwrap();
        let sig = STANDARD.decode(key.sign_challenge(&uuid, "abc")).unwrap();
        let public: [u8; 32] = STANDARD
            .decode(key.public_key_base64())
            .unwrap()
            .try_into()
            .unwrap();
        let vk = VerifyingKey::from_bytes(&public).unwrap();
        let sig = Signature::from_slice(&sig).unwrap();
        assert!(vk.verify(&device_auth_message(&uuid, "abc"), &sig).is_ok());
        assert!(vk.verify(&device_auth_message(&uuid, "abd"), &sig).is_err());
    }

    #[test]
    fn a_damaged_stored_key_is_a_clear_error() {
        let store = MemoryStore::new();
        store
            .set(DEVICE_KEY_SECRET, &SecretBytes::new(vec![1, 2, 3]))
            .unwrap();
        let err = DeviceKey::load_or_create(&store).unwrap_err();
        assert!(err.to_string().contains("enroll again"), "{err}");
    }
}
