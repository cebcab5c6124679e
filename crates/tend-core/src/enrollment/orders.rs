//! Orders that end this device's enrollment. A device wipes itself only on
//! a deactivation or rejection the server signed with the key the device
//! pinned when it enrolled, naming this device and answering the challenge
//! it just sent. Anything else that says the enrollment is over — an
//! unsigned `DEVICE_UNKNOWN` from a database restored from last night's
//! backup, a forged answer from a machine posing as the server — locks the
//! device and raises an alert, and deletes nothing.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};
use tend_domain::wire::{DeviceOrder, DeviceOrderKind, ServerSigningKey};
use tend_domain::{DeviceUuid, ErrorCode};

use crate::CoreError;

/// The server's order-signing key as the device pinned it at enrollment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PinnedServerKey {
    pub key_id: String,
    /// Standard base64 of the 32-byte Ed25519 public key.
    pub public_key: String,
}

impl PinnedServerKey {
    /// The key the server published, if it is an Ed25519 key this device can use.
    pub fn from_published(key: &ServerSigningKey) -> Result<Self, CoreError> {
        if key.algorithm != "Ed25519" || verifying_key(&key.public_key).is_none() {
            return Err(CoreError::Api {
                code: ErrorCode::ConfigInvalid,
                message:
                    "the server did not publish a usable order-signing key (GET /api/server-key)"
                        .into(),
            });
        }
        Ok(Self {
            key_id: key.key_id.clone(),
            public_key: key.public_key.clone(),
        })
    }
}

fn verifying_key(base64: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = STANDARD.decode(base64).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

/// Why an ending of the enrollment was not acted on with a wipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum UnverifiedOrder {
    /// The answer carried no signed order (`DEVICE_UNKNOWN` never does).
    Unsigned,
    /// This device pinned no key when it enrolled (an older enrollment).
    NoPinnedKey,
    /// Signed by another key than the one this device pinned.
    OtherKey,
    /// The signature does not verify.
    BadSignature,
    /// The order names another device.
    OtherDevice,
    /// The order says something else than the refusal it came with.
    Mismatch,
}

impl UnverifiedOrder {
    /// A sentence for the log and the alert.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Unsigned => "the answer was not signed by the server",
            Self::NoPinnedKey => "this device has no pinned server key to check the order with",
            Self::OtherKey => "the order was signed with another key than the server's",
            Self::BadSignature => "the order's signature does not verify",
            Self::OtherDevice => "the order names another device",
            Self::Mismatch => "the order does not match the refusal it came with",
        }
    }
}

/// Checks the order that came with `code` (a code that ends the enrollment)
/// against the pinned key and this device's identity.
pub fn verify(
    code: ErrorCode,
    order: Option<&DeviceOrder>,
    pinned: Option<&PinnedServerKey>,
    device_uuid: &DeviceUuid,
) -> Result<DeviceOrderKind, UnverifiedOrder> {
    let order = order.ok_or(UnverifiedOrder::Unsigned)?;
    let pinned = pinned.ok_or(UnverifiedOrder::NoPinnedKey)?;
    if order.key_id != pinned.key_id {
        return Err(UnverifiedOrder::OtherKey);
    }
    let key = verifying_key(&pinned.public_key).ok_or(UnverifiedOrder::OtherKey)?;
    let signature = STANDARD
        .decode(order.signature.trim())
        .ok()
        .and_then(|b| Signature::from_slice(&b).ok())
        .ok_or(UnverifiedOrder::BadSignature)?;
    key.verify_strict(&order.message(), &signature)
        .map_err(|_| UnverifiedOrder::BadSignature)?;
    if order.device_uuid != *device_uuid {
        return Err(UnverifiedOrder::OtherDevice);
    }
    let expected = match order.kind {
        DeviceOrderKind::Deactivate => ErrorCode::DeviceDeactivated,
        DeviceOrderKind::Reject => ErrorCode::DeviceRejected,
    };
    if code != expected {
        return Err(UnverifiedOrder::Mismatch);
    }
    Ok(order.kind)
}

/// An order is only good for the challenge it answers: one bound to another
/// nonce (replayed from an earlier answer) is dropped, leaving the refusal
/// unsigned.
pub(crate) fn bound_to_nonce(error: CoreError, nonce: &str) -> CoreError {
    match error {
        CoreError::DeviceOrdered {
            code,
            message,
            order,
        } if order.nonce != nonce => {
            tracing::warn!(code = %code, "a device order for another challenge was ignored");
            CoreError::Api { code, message }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use ed25519_dalek::{Signer, SigningKey};

    use super::*;

    struct Server {
        key: SigningKey,
    }

    impl Server {
        fn new(seed: u8) -> Self {
            Self {
                key: SigningKey::from_bytes(&[seed; 32]),
            }
        }

        fn pinned(&self) -> PinnedServerKey {
            PinnedServerKey::from_published(&ServerSigningKey {
                algorithm: "Ed25519".into(),
                key_id: "k1".into(),
                public_key: STANDARD.encode(self.key.verifying_key().to_bytes()),
            })
            .unwrap()
        }

        fn order(&self, kind: DeviceOrderKind, device: &DeviceUuid, nonce: &str) -> DeviceOrder {
            let issued_at = Utc::now();
            let mut order = DeviceOrder {
                kind,
                device_uuid: *device,
                nonce: nonce.into(),
                issued_at,
                key_id: "k1".into(),
                signature: String::new(),
            };
            order.signature = STANDARD.encode(self.key.sign(&order.message()).to_bytes());
            order
        }
    }

    fn device() -> DeviceUuid {
        DeviceUuid::parse("4c4c4544-0042-3510-8052-b4c04f4e4d32").unwrap()
    }

    #[test]
    fn a_deactivation_signed_by_the_pinned_key_for_this_device_is_obeyed() {
        let server = Server::new(1);
        let order = server.order(DeviceOrderKind::Deactivate, &device(), "n1");
        assert_eq!(
            verify(
                ErrorCode::DeviceDeactivated,
                Some(&order),
                Some(&server.pinned()),
                &device()
            ),
            Ok(DeviceOrderKind::Deactivate)
        );
    }

    #[test]
    fn an_unknown_device_answer_is_never_an_order() {
        let server = Server::new(1);
        assert_eq!(
            verify(
                ErrorCode::DeviceUnknown,
                None,
                Some(&server.pinned()),
                &device()
            ),
            Err(UnverifiedOrder::Unsigned)
        );
    }

    #[test]
    fn an_order_from_an_impostor_server_is_not_obeyed() {
        let real = Server::new(1);
        let impostor = Server::new(2);
        let forged = impostor.order(DeviceOrderKind::Deactivate, &device(), "n1");
        assert_eq!(
            verify(
                ErrorCode::DeviceDeactivated,
                Some(&forged),
                Some(&real.pinned()),
                &device()
            ),
            Err(UnverifiedOrder::BadSignature)
        );
    }

    #[test]
    fn an_altered_order_is_not_obeyed() {
        let server = Server::new(1);
        let mut order = server.order(DeviceOrderKind::Reject, &device(), "n1");
        order.kind = DeviceOrderKind::Deactivate;
        assert_eq!(
            verify(
                ErrorCode::DeviceDeactivated,
                Some(&order),
                Some(&server.pinned()),
                &device()
            ),
            Err(UnverifiedOrder::BadSignature)
        );
    }

    #[test]
    fn an_order_for_another_device_is_not_obeyed() {
        let server = Server::new(1);
        let other = DeviceUuid::parse("00000000-0000-4000-8000-000000000001").unwrap();
        let order = server.order(DeviceOrderKind::Deactivate, &other, "n1");
        assert_eq!(
            verify(
                ErrorCode::DeviceDeactivated,
                Some(&order),
                Some(&server.pinned()),
                &device()
            ),
            Err(UnverifiedOrder::OtherDevice)
        );
    }

    #[test]
    fn without_a_pinned_key_nothing_is_obeyed() {
        let server = Server::new(1);
        let order = server.order(DeviceOrderKind::Deactivate, &device(), "n1");
        assert_eq!(
            verify(ErrorCode::DeviceDeactivated, Some(&order), None, &device()),
            Err(UnverifiedOrder::NoPinnedKey)
        );
    }

    #[test]
    fn a_replayed_order_loses_its_signature() {
        let server = Server::new(1);
        let order = server.order(DeviceOrderKind::Deactivate, &device(), "old-nonce");
        let refusal = CoreError::DeviceOrdered {
            code: ErrorCode::DeviceDeactivated,
            message: "deactivated".into(),
            order: Box::new(order),
        };
        let now = bound_to_nonce(refusal, "this-nonce");
        assert!(now.device_order().is_none());
        assert_eq!(now.code(), ErrorCode::DeviceDeactivated);
    }
}
