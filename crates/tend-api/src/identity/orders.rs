//! The server's order-signing key and the orders it signs. A device pins
//! the public half when it enrolls (`GET /api/server-key`) and wipes itself
//! only on a deactivation or rejection signed with it, bound to the
//! challenge it is answering; an unsigned `DEVICE_UNKNOWN` (say, from a
//! database restored from an older backup) only locks it.
//!
//! The key lives in PostgreSQL (`server_signing_key`, one row) so every
//! instance signs with the same key: the first instance that needs it
//! stores the key it generated, the others read that one.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{SubsecRound, Utc};
use ed25519_dalek::{Signer, SigningKey};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tend_domain::wire::{DeviceOrder, DeviceOrderKind, ServerSigningKey};
use tend_domain::DeviceUuid;

use crate::error::{ApiError, Result};

/// The key, loaded from the database on first use.
#[derive(Default)]
pub struct OrderSigner {
    key: tokio::sync::OnceCell<LoadedKey>,
}

struct LoadedKey {
    signing: SigningKey,
    public: ServerSigningKey,
}

impl std::fmt::Debug for OrderSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderSigner").finish_non_exhaustive()
    }
}

/// `key_id`: the first 16 hex digits of SHA-256 of the public key.
pub fn key_id(public_key: &[u8; 32]) -> String {
    Sha256::digest(public_key)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl OrderSigner {
    async fn loaded(&self, pool: &PgPool) -> Result<&LoadedKey> {
        self.key
            .get_or_try_init(|| async {
                let mut seed = [0u8; 32];
                OsRng.fill_bytes(&mut seed);
                let offered = SigningKey::from_bytes(&seed);
                let public = offered.verifying_key().to_bytes();
                let (stored_id, stored_seed, stored_public): (String, Vec<u8>, String) =
                    sqlx::query_as("SELECT key_id, secret_seed, public_key FROM tend_signing_key_ensure($1, $2, $3)")
                        .bind(key_id(&public))
                        .bind(seed.as_slice())
                        .bind(STANDARD.encode(public))
                        .fetch_one(pool)
                        .await?;
                                let seed: [u8; 32] = stored_seed
                    .as_slice()
                    .try_into()
                    .map_err(|_| ApiError::internal(anyhow::anyhow!("stored signing key is not 32 bytes")))?;
                let signing = SigningKey::from_bytes(&seed);
                if STANDARD.encode(signing.verifying_key().to_bytes()) != stored_public {
                    return Err(ApiError::internal(anyhow::anyhow!(
                        "stored signing key does not match its public key"
                    )));
                }
                Ok(LoadedKey {
                    signing,
                    public: ServerSigningKey {
                        algorithm: "Ed25519".to_owned(),
                        key_id: stored_id,
                        public_key: stored_public,
                    },
                })
            })
            .await
    }

    /// The public key devices pin.
    pub async fn public_key(&self, pool: &PgPool) -> Result<ServerSigningKey> {
        Ok(self.loaded(pool).await?.public.clone())
    }

    /// Signs `message` with the server's key (audit checkpoints); returns the
    /// key's id and the 64-byte signature.
    pub async fn sign(&self, pool: &PgPool, message: &[u8]) -> Result<(String, [u8; 64])> {
        let key = self.loaded(pool).await?;
        Ok((
            key.public.key_id.clone(),
            key.signing.sign(message).to_bytes(),
        ))
    }

    /// Signs `kind` for `device_uuid`, bound to the challenge `nonce` the
    /// device is answering.
    pub async fn order(
        &self,
        pool: &PgPool,
        kind: DeviceOrderKind,
        device_uuid: DeviceUuid,
        nonce: &str,
    ) -> Result<DeviceOrder> {
        let key = self.loaded(pool).await?;
        let issued_at = Utc::now().trunc_subsecs(0);
        let message = tend_domain::wire::device_order_message(kind, &device_uuid, nonce, issued_at);
        let signature = key.signing.sign(&message);
        Ok(DeviceOrder {
            kind,
            device_uuid,
            nonce: nonce.to_owned(),
            issued_at,
            key_id: key.public.key_id.clone(),
            signature: STANDARD.encode(signature.to_bytes()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_id_is_sixteen_hex_digits_of_the_public_keys_hash() {
        let id = key_id(&[7u8; 32]);
        assert_eq!(id.len(), 16);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(id, key_id(&[8u8; 32]));
    }
}
