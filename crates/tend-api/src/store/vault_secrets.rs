//! The server's part of server-bound device vault keys
//! (`device_vault_secrets`, reached only through its SECURITY DEFINER
//! functions; destroyed by a trigger when a device is deactivated).

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sqlx::PgPool;
use tend_domain::wire::DeviceVaultSecret;

use crate::error::{ApiError, Result};

fn fresh() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

fn wire((secret, previous): (Vec<u8>, Option<Vec<u8>>)) -> DeviceVaultSecret {
    DeviceVaultSecret {
        secret: STANDARD.encode(secret),
        previous: previous.map(|p| STANDARD.encode(p)),
    }
}

/// The device's secret, created on first use.
pub async fn get_or_create(pool: &PgPool, device_id: i64) -> Result<DeviceVaultSecret> {
    let row: (Vec<u8>, Option<Vec<u8>>) =
        sqlx::query_as("SELECT secret, previous FROM tend_vault_secret($1, $2)")
            .bind(device_id)
            .bind(fresh().as_slice())
            .fetch_one(pool)
            .await?;
    Ok(wire(row))
}

/// A new secret, keeping the current one as `previous`; refused while an
/// earlier rotation still waits for the device to re-key (two rotations
/// would lose the secret its vault is keyed with).
pub async fn rotate(pool: &PgPool, device_id: i64) -> Result<DeviceVaultSecret> {
    let current = get_or_create(pool, device_id).await?;
    if current.previous.is_some() {
        return Err(ApiError::Conflict {
            message: "a rotation is already waiting for this device to re-key its vault".into(),
            fields: Default::default(),
        });
    }
    let row: (Vec<u8>, Option<Vec<u8>>) =
        sqlx::query_as("SELECT secret, previous FROM tend_vault_secret_rotate($1, $2)")
            .bind(device_id)
            .bind(fresh().as_slice())
            .fetch_one(pool)
            .await?;
    Ok(wire(row))
}

pub async fn forget_previous(pool: &PgPool, device_id: i64) -> Result<()> {
    sqlx::query("SELECT tend_vault_secret_forget_previous($1)")
        .bind(device_id)
        .execute(pool)
        .await?;
    Ok(())
}
