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

use crate::DeviceUuid;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_message_is_fixed() {
        let uuid = DeviceUuid::parse("4C4C4544-0042-3510-8052-B4C04F4E4D32").unwrap();
        assert_eq!(
            device_auth_message(&uuid, "n0nce"),
            b"tend-device-auth-v1\n4c4c4544-0042-3510-8052-b4c04f4e4d32\nn0nce".to_vec()
        );
    }
}
