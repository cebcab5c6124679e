//! Kiosk vault keys off the SD card. A device without an OS keyring keeps
//! its secrets in a 0600 file beside the vault, so the card alone would
//! open it. Such a device binds its vault to the server instead: the key is
//! derived from a local secret, this machine's hardware identity (probed
//! live, never read from the card) and a secret the server releases only to
//! the device itself, authenticated and active
//! (`GET /api/devices/{id}/vault-secret`). A copy of the data directory on
//! another machine derives another key; a deactivated device gets no secret
//! (the server destroyed it at deactivation); a kiosk rebooted while the
//! server is unreachable waits, locked, and says so.
//!
//! Laptops with a keyring keep their local key ([`binds_to_server`]).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use tend_domain::wire::DeviceVaultSecret;
use tend_domain::ErrorCode;

use crate::enrollment::Enrollment;
use crate::link::DeviceLink;
use crate::vault::{KeyMode, SecretBackend, SecretBytes, Vault, VaultOptions};
use crate::{CoreError, Result};

/// How often the server's part is replaced.
pub const ROTATION_INTERVAL: chrono::Duration = chrono::Duration::days(30);

/// The file (no secret in it) that remembers when the server's part was
/// last rotated.
pub const ROTATED_FILE: &str = "vault-secret-rotated";

/// Whether a device whose secrets live in `backend` binds its vault to the
/// server: yes when they would otherwise lie on the disk beside the vault.
pub fn binds_to_server(backend: SecretBackend) -> bool {
    backend == SecretBackend::KeyFile
}

/// The server's part as it arrived: the current secret, and the one before a
/// rotation until the device re-keyed.
pub struct ServerPart {
    pub current: SecretBytes,
    pub previous: Option<SecretBytes>,
}

fn decode(field: &str, value: &str) -> Result<SecretBytes> {
    let bytes = STANDARD
        .decode(value)
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| CoreError::Api {
            code: ErrorCode::Internal,
            message: format!("the server's vault secret ({field}) is not 32 bytes of base64"),
        })?;
    Ok(SecretBytes::new(bytes))
}

impl ServerPart {
    fn from_wire(wire: &DeviceVaultSecret) -> Result<Self> {
        Ok(Self {
            current: decode("secret", &wire.secret)?,
            previous: wire
                .previous
                .as_deref()
                .map(|p| decode("previous", p))
                .transpose()?,
        })
    }
}

/// Asks the server for this device's part (device token, renewed once).
pub async fn fetch(link: &DeviceLink) -> Result<ServerPart> {
    let wire = link
        .with_token(|server, token| async move { server.client.vault_secret(&token).await })
        .await?;
    ServerPart::from_wire(&wire)
}

/// The identity mixed into the key: this machine's hardware UUID, probed
/// now (a data directory copied to another machine derives another key).
fn machine_identity(enrollment: &Enrollment) -> Result<String> {
    Ok(enrollment.identity()?.device_uuid)
}

fn options(device: &str, secret: &SecretBytes) -> VaultOptions {
    VaultOptions {
        key_mode: KeyMode::ServerBound {
            device: device.to_owned(),
            server_secret: Some(secret.clone()),
        },
        ..VaultOptions::default()
    }
}

/// What opening the vault with the server's part did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// It was bound already and opened with the current part.
    Bound,
    /// A vault still on its local key was bound to the server now.
    BoundNow,
    /// It opened with the part before a rotation and was re-keyed under
    /// the current one.
    Rekeyed,
}

/// Opens the device's vault with `part` (see the module docs), binding it
/// on first use and finishing a rotation the device did not re-key for.
/// A key that does not fit is never a reason to delete anything: the vault
/// is refused, untouched.
pub async fn open(enrollment: &Enrollment, part: ServerPart) -> Result<(Vault, Opened)> {
    let store = enrollment.secret_store().await?;
    let device = machine_identity(enrollment)?;
    let data_dir = enrollment.data_dir().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let opened = Vault::open(&data_dir, store.clone(), options(&device, &part.current));
        match opened {
            Ok((mut vault, _)) => {
                if vault.posture().server_bound {
                    return Ok((vault, Opened::Bound));
                }
                vault.bind_to_server(&device, &part.current)?;
                Ok((vault, Opened::BoundNow))
            }
            Err(CoreError::VaultKeyRejected { path }) => {
                let Some(previous) = &part.previous else {
                    return Err(CoreError::VaultKeyRejected { path });
                };
                let (mut vault, _) = Vault::open(&data_dir, store, options(&device, previous))?;
                vault.rebind_to_server(&device, &part.current)?;
                Ok((vault, Opened::Rekeyed))
            }
            Err(e) => Err(e),
        }
    })
    .await
    .map_err(|e| CoreError::Database(format!("opening the vault stopped: {e}")))?
}

/// Fetches the server's part and opens the vault with it; once the device
/// has re-keyed after a rotation, the server may forget the old part.
/// `CoreError::WaitingForNetwork` when the server cannot be reached.
pub async fn fetch_and_open(enrollment: &Enrollment, link: &DeviceLink) -> Result<Vault> {
    let part = match fetch(link).await {
        Ok(part) => part,
        Err(e) if e.code() == ErrorCode::Offline || e.code() == ErrorCode::Unavailable => {
            tracing::info!("the vault waits for the server's part of its key");
            return Err(CoreError::WaitingForNetwork);
        }
        Err(e) => return Err(e),
    };
    let had_previous = part.previous.is_some();
    let (vault, opened) = open(enrollment, part).await?;
    tracing::info!(opened = ?opened, "server-bound vault opened");
    if had_previous {
        forget_previous(link).await;
    }
    Ok(vault)
}

async fn forget_previous(link: &DeviceLink) {
    let forgotten = link
        .with_token(|server, token| async move {
            server.client.forget_previous_vault_secret(&token).await
        })
        .await;
    if let Err(e) = forgotten {
        tracing::warn!(code = %e.code(), "the server still keeps the old vault secret; asked again next start");
    }
}

/// When the server's part was last rotated (or first bound), if known.
pub fn last_rotation(data_dir: &std::path::Path) -> Option<DateTime<Utc>> {
    let text = std::fs::read_to_string(data_dir.join(ROTATED_FILE)).ok()?;
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn record_rotation(data_dir: &std::path::Path, at: DateTime<Utc>) {
    let path = data_dir.join(ROTATED_FILE);
    if let Err(e) = std::fs::write(&path, at.to_rfc3339()) {
        tracing::warn!(error = %e, "rotation time not recorded");
    }
}

/// Whether the server's part is due for rotation at `now`.
pub fn rotation_due(last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last.is_none_or(|at| now - at >= ROTATION_INTERVAL)
}

/// Replaces the server's part of an open, bound vault: the server makes a
/// new one (keeping the old until told), the vault is re-keyed under it,
/// then the server forgets the old one. A cut-off rotation is finished by
/// the next [`open`] (it tries the previous part).
pub async fn rotate(enrollment: &Enrollment, link: &DeviceLink, vault: &mut Vault) -> Result<()> {
    let wire = link
        .with_token(|server, token| async move { server.client.rotate_vault_secret(&token).await })
        .await?;
    let part = ServerPart::from_wire(&wire)?;
    let device = machine_identity(enrollment)?;
    vault.rebind_to_server(&device, &part.current)?;
    forget_previous(link).await;
    record_rotation(enrollment.data_dir(), Utc::now());
    tracing::info!("vault secret rotated");
    Ok(())
}

/// After an open: the first binding starts the rotation clock; a part older
/// than [`ROTATION_INTERVAL`] is rotated now (a failure is logged and tried
/// again next start; the vault stays open either way).
pub async fn rotate_if_due(enrollment: &Enrollment, link: &DeviceLink, vault: &mut Vault) {
    let data_dir = enrollment.data_dir();
    let last = last_rotation(data_dir);
    if last.is_none() {
        record_rotation(data_dir, Utc::now());
        return;
    }
    if rotation_due(last, Utc::now()) {
        if let Err(e) = rotate(enrollment, link, vault).await {
            tracing::warn!(code = %e.code(), "vault secret not rotated; trying again next start");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_device_whose_key_would_lie_on_the_disk_binds_to_the_server() {
        assert!(binds_to_server(SecretBackend::KeyFile));
        assert!(!binds_to_server(SecretBackend::Keyring));
        assert!(!binds_to_server(SecretBackend::Memory));
    }

    #[test]
    fn the_servers_part_is_rotated_every_thirty_days() {
        let now = Utc::now();
        assert!(rotation_due(None, now));
        assert!(!rotation_due(Some(now - chrono::Duration::days(29)), now));
        assert!(rotation_due(Some(now - chrono::Duration::days(30)), now));
    }

    #[test]
    fn a_malformed_secret_from_the_server_is_refused_in_words() {
        let wire = DeviceVaultSecret {
            secret: STANDARD.encode([1u8; 16]),
            previous: None,
        };
        let e = ServerPart::from_wire(&wire).err().unwrap();
        assert!(e.to_string().contains("not 32 bytes"), "{e}");
    }
}
