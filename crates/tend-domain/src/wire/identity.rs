//! Device identity on the wire: enrollment codes, self-registration, the
//! challenge–signature exchange that yields a device token, and heartbeats.
//!
//! **Device authentication message.** A device proves it holds the private
//! key it enrolled with by signing, with Ed25519, the UTF-8 bytes of
//! [`device_auth_message`]:
//!
//! ```text
//! tend-device-auth-v1\n<device_uuid, lowercase hyphenated>\n<nonce exactly as issued>
//! ```
//!
//! The nonce comes from `POST /api/devices/auth/challenge`, is single-use and
//! expires quickly, so a captured signature cannot be replayed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{page, Secret};
use crate::{DeviceType, DeviceUuid, MacAddress};

/// Prefix of the signed message; bump the version to change the format.
pub const DEVICE_AUTH_CONTEXT: &str = "tend-device-auth-v1";

/// The exact bytes a device signs to exchange `nonce` for a device token.
pub fn device_auth_message(device_uuid: &DeviceUuid, nonce: &str) -> Vec<u8> {
    format!(
        "{DEVICE_AUTH_CONTEXT}\n{}\n{nonce}",
        device_uuid.as_uuid().hyphenated()
    )
    .into_bytes()
}

/// Domain separator of a device order (see [`device_order_message`]).
pub const DEVICE_ORDER_CONTEXT: &str = "tend-device-order-v1";

/// What a signed device order tells the device to do: both end its
/// enrollment, and only a verified order makes it wipe itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DeviceOrderKind {
    /// An administrator deactivated the device (`DEVICE_DEACTIVATED`).
    Deactivate,
    /// An administrator rejected the device's enrollment (`DEVICE_REJECTED`).
    Reject,
}

impl DeviceOrderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deactivate => "deactivate",
            Self::Reject => "reject",
        }
    }
}

/// The exact bytes the server signs (Ed25519, its signing key) for a device
/// order: `tend-device-order-v1\n<kind>\n<device_uuid>\n<nonce>\n<issued_at>`,
/// `issued_at` in RFC 3339 UTC with seconds (`2026-12-04T10:00:00Z`). The
/// nonce is the challenge the device is answering, so an order cannot be
/// replayed to another device or at another time.
pub fn device_order_message(
    kind: DeviceOrderKind,
    device_uuid: &DeviceUuid,
    nonce: &str,
    issued_at: DateTime<Utc>,
) -> Vec<u8> {
    format!(
        "{DEVICE_ORDER_CONTEXT}\n{}\n{}\n{nonce}\n{}",
        kind.as_str(),
        device_uuid.as_uuid().hyphenated(),
        issued_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
    .into_bytes()
}

/// A signed order ending a device's enrollment, carried in the `order`
/// field of a `DEVICE_DEACTIVATED` / `DEVICE_REJECTED` refusal of
/// `POST /api/devices/auth/token`. `signature` is standard base64 of the
/// Ed25519 signature over [`device_order_message`], by the key
/// `GET /api/server-key` publishes (`key_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceOrder {
    pub kind: DeviceOrderKind,
    pub device_uuid: DeviceUuid,
    pub nonce: String,
    pub issued_at: DateTime<Utc>,
    pub key_id: String,
    pub signature: String,
}

impl DeviceOrder {
    /// The bytes its signature covers.
    pub fn message(&self) -> Vec<u8> {
        device_order_message(self.kind, &self.device_uuid, &self.nonce, self.issued_at)
    }
}

/// The server's order-signing key, which a device pins when it enrolls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerSigningKey {
    /// Always `Ed25519`.
    pub algorithm: String,
    /// Names the key (the first 16 hex digits of SHA-256 of the public key).
    pub key_id: String,
    /// Standard base64 of the 32-byte Ed25519 public key.
    pub public_key: String,
}

/// Create an enrollment code for a facility (admins).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateEnrollmentCode {
    /// Hours until the code expires, 1–720 (default 24).
    #[serde(default)]
    pub expires_in_hours: Option<i64>,
    /// How many devices may enroll with it, 1–1000 (default 1).
    #[serde(default)]
    pub max_uses: Option<i32>,
    /// Only devices of this type may use the code.
    #[serde(default)]
    pub device_type: Option<DeviceType>,
}

/// An enrollment code as admins see it later: never the code itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollmentCode {
    pub id: i64,
    pub organization_id: i64,
    pub facility_id: i64,
    /// The code's last group, to tell codes apart.
    pub code_hint: String,
    pub device_type: Option<DeviceType>,
    pub max_uses: i32,
    pub uses: i32,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Not expired, not revoked, uses left (at the time of the answer).
    pub is_usable: bool,
}

page!(
    /// A page of enrollment codes.
    EnrollmentCodePage,
    EnrollmentCode
);

/// The answer to creating a code: the code itself, shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedEnrollmentCode {
    /// `XXXX-XXXX-…` in Crockford base32 (140 random bits); not stored, not shown again.
    pub code: String,
    pub enrollment_code: EnrollmentCode,
}

/// Self-registration of a device (`POST /api/devices/enroll`, unauthenticated).
/// The tenant always comes from the code or a pre-registration, never from here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollDevice {
    /// Absent: the device must have been pre-registered by an admin, and
    /// lands `PENDING` until approved.
    #[serde(default)]
    pub enrollment_code: Option<Secret>,
    pub device_uuid: DeviceUuid,
    #[serde(default)]
    pub mac_address: Option<MacAddress>,
    pub device_type: DeviceType,
    pub device_name: String,
    /// Ed25519 public key, standard base64 of 32 bytes.
    pub public_key: String,
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub app_version: Option<String>,
    /// Where the device_uuid came from (`dmi_product_uuid`, `machine_id`, …).
    #[serde(default)]
    pub identity_source: Option<String>,
}

/// Ask for a nonce to sign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceChallengeRequest {
    pub device_uuid: DeviceUuid,
}

/// A single-use nonce, valid until `expires_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceChallenge {
    pub nonce: String,
    pub expires_at: DateTime<Utc>,
}

/// The signed challenge: `signature` is standard base64 of the 64-byte
/// Ed25519 signature over [`device_auth_message`]`(device_uuid, nonce)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceTokenRequest {
    pub device_uuid: DeviceUuid,
    pub nonce: String,
    pub signature: String,
}

/// A short-lived device token (send as `Authorization: Bearer`).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceToken {
    pub token: String,
    pub device_id: i64,
    pub expires_at: DateTime<Utc>,
    /// The facility the token is for: the device's facility now. A device
    /// whose enrollment names another one was moved by an administrator
    /// and follows the move (`None` from a server that does not send it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility_id: Option<i64>,
    /// That facility's name, for the lock screen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility_name: Option<String>,
}

impl std::fmt::Debug for DeviceToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceToken")
            .field("token", &"<redacted>")
            .field("device_id", &self.device_id)
            .field("expires_at", &self.expires_at)
            .field("facility_id", &self.facility_id)
            .finish()
    }
}

/// Where the device keeps its vault key (its encryption posture).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EncryptionPosture {
    /// The vault key is in the OS keyring (a laptop's login keyring).
    Keyring,
    /// The vault key is derived from a local secret and a secret the server
    /// releases only to this device, authenticated and active (kiosks
    /// without a keyring): the disk alone does not open the vault.
    ServerBound,
    /// The vault key is in a 0600 file beside the vault.
    KeyFile,
    /// No encryption at rest.
    None,
}

impl EncryptionPosture {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Keyring => "keyring",
            Self::ServerBound => "server_bound",
            Self::KeyFile => "key_file",
            Self::None => "none",
        }
    }
}

/// A facility's minimum protection of its devices' vault keys. A device
/// whose heartbeat reports less is told to lock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DeviceProtectionMinimum {
    /// Any device, even one without encryption at rest.
    Any,
    /// Encrypted at rest, wherever the key lives (a key file counts).
    #[default]
    Encrypted,
    /// Nothing on the disk alone opens the vault: the key is in an OS
    /// keyring, or bound to the server.
    OffDisk,
}

impl DeviceProtectionMinimum {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::Encrypted => "encrypted",
            Self::OffDisk => "off_disk",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "any" => Some(Self::Any),
            "encrypted" => Some(Self::Encrypted),
            "off_disk" => Some(Self::OffDisk),
            _ => None,
        }
    }

    /// Whether a device reporting `posture` meets this minimum.
    pub fn allows(self, posture: EncryptionPosture) -> bool {
        match self {
            Self::Any => true,
            Self::Encrypted => posture != EncryptionPosture::None,
            Self::OffDisk => matches!(
                posture,
                EncryptionPosture::Keyring | EncryptionPosture::ServerBound
            ),
        }
    }
}

/// The server's part of a server-bound vault key
/// (`GET /api/devices/{id}/vault-secret`, the device's own token only).
/// Never logged, never stored on the device's disk.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceVaultSecret {
    /// Standard base64 of 32 bytes.
    pub secret: String,
    /// The secret before the last rotation, until the device has re-keyed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
}

impl std::fmt::Debug for DeviceVaultSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceVaultSecret")
            .field("secret", &"<redacted>")
            .field("previous", &self.previous.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// What a device reports every minute (`POST /api/devices/{id}/heartbeat`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Heartbeat {
    #[serde(default)]
    pub app_version: Option<String>,
    pub encryption_posture: EncryptionPosture,
    /// Records waiting in the outbox.
    #[serde(default)]
    pub pending_outbox: u32,
    /// When the oldest of them was queued (device clock).
    #[serde(default)]
    pub oldest_pending_since: Option<DateTime<Utc>>,
    /// Last successful sync (device clock).
    #[serde(default)]
    pub last_sync: Option<DateTime<Utc>>,
    #[serde(default)]
    pub sync_errors: bool,
    /// The device's clock when it sent this.
    pub device_time: DateTime<Utc>,
}

/// The server's answer to a heartbeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeartbeatAck {
    pub server_time: DateTime<Utc>,
    /// device_time − server_time, in milliseconds.
    pub clock_offset_ms: i64,
    /// Lock the app: the device reports less protection than its facility's
    /// `device_protection_minimum` (or none where encryption is required).
    pub lock: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_facilitys_minimum_decides_which_postures_lock() {
        use EncryptionPosture::*;
        let allowed = |m: DeviceProtectionMinimum| {
            [Keyring, ServerBound, KeyFile, None]
                .into_iter()
                .filter(|p| m.allows(*p))
                .collect::<Vec<_>>()
        };
        assert_eq!(allowed(DeviceProtectionMinimum::Any).len(), 4);
        assert_eq!(
            allowed(DeviceProtectionMinimum::Encrypted),
            [Keyring, ServerBound, KeyFile]
        );
        assert_eq!(
            allowed(DeviceProtectionMinimum::OffDisk),
            [Keyring, ServerBound]
        );
        assert_eq!(
            DeviceProtectionMinimum::parse("off_disk"),
            Some(DeviceProtectionMinimum::OffDisk)
        );
        assert_eq!(DeviceProtectionMinimum::parse("strong"), Option::None);
    }

    #[test]
    fn auth_message_is_fixed() {
        let uuid = DeviceUuid::parse("4C4C4544-0042-3510-8052-B4C04F4E4D32").unwrap();
        assert_eq!(
            device_auth_message(&uuid, "n0nce"),
            b"tend-device-auth-v1\n4c4c4544-0042-3510-8052-b4c04f4e4d32\nn0nce".to_vec()
        );
    }

    #[test]
    fn order_message_names_the_order_the_device_the_nonce_and_the_second() {
        let uuid = DeviceUuid::parse("4C4C4544-0042-3510-8052-B4C04F4E4D32").unwrap();
        let at = DateTime::parse_from_rfc3339("2026-12-04T10:00:00.123+01:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            device_order_message(DeviceOrderKind::Deactivate, &uuid, "n0nce", at),
            b"tend-device-order-v1\ndeactivate\n4c4c4544-0042-3510-8052-b4c04f4e4d32\nn0nce\n2026-12-04T09:00:00Z"
                .to_vec()
        );
    }
}
