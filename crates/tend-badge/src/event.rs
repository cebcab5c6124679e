//! What badge sources report: a badge presented, an unusable card, a removal,
//! and the comings and goings of readers and of the PC/SC service.

use std::fmt;

use crate::BadgeUid;

/// One event from a badge source. Reader names are the names the PC/SC
/// service gives (`"ACS ACR122U PICC Interface 00 00"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadgeRead {
    /// A badge was presented and its value read.
    Present { reader: String, uid: BadgeUid },
    /// Something was presented that is not a usable badge (a phone, a card that
    /// needs an application to be selected, a card that does not answer).
    Unsupported {
        reader: String,
        reason: UnsupportedReason,
    },
    /// The card or badge left the reader.
    Removed { reader: String },
    /// A reader appeared (at start, when plugged in, or when the service returned).
    ReaderAdded { reader: String },
    /// A reader disappeared (unplugged, or the service went away).
    ReaderRemoved { reader: String },
    /// The PC/SC service is unreachable (pcscd stopped); the source keeps retrying.
    ServiceLost,
    /// The PC/SC service is reachable again.
    ServiceRestored,
}

impl BadgeRead {
    /// The badge, when one was read.
    pub fn badge(&self) -> Option<&BadgeUid> {
        match self {
            Self::Present { uid, .. } => Some(uid),
            _ => None,
        }
    }

    /// The reader the event is about, if any.
    pub fn reader(&self) -> Option<&str> {
        match self {
            Self::Present { reader, .. }
            | Self::Unsupported { reader, .. }
            | Self::Removed { reader }
            | Self::ReaderAdded { reader }
            | Self::ReaderRemoved { reader } => Some(reader),
            Self::ServiceLost | Self::ServiceRestored => None,
        }
    }
}

/// Why a presented card cannot be used as a badge. Carries status words and
/// lengths only, never card data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnsupportedReason {
    /// The reader answered `6A 81` to GET DATA (UID): typical of phones and of
    /// ISO 14443-4 cards that expect an application (AID) to be selected.
    UidNotAvailable,
    /// The reader does not know the GET DATA instruction (`6D 00`): a contact
    /// card, or a reader without the PC/SC pseudo-APDU.
    InstructionNotSupported,
    /// Any other status word.
    StatusWord(u16),
    /// The UID has a length other than 4, 7 or 10 bytes.
    UidLength(usize),
    /// A 4-byte UID starting with `08`: a random ID (ISO/IEC 14443-3), as phones
    /// emulating cards send; it changes on every tap, so it cannot identify anyone.
    RandomUid,
    /// The card is mute, unpowered or did not answer.
    NoResponse,
    /// The exchange with the card failed (protocol error, sharing violation).
    Transmission,
}

impl UnsupportedReason {
    /// A stable code for the UI (`"UID_NOT_AVAILABLE"`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::UidNotAvailable => "UID_NOT_AVAILABLE",
            Self::InstructionNotSupported => "INSTRUCTION_NOT_SUPPORTED",
            Self::StatusWord(_) => "STATUS_WORD",
            Self::UidLength(_) => "UID_LENGTH",
            Self::RandomUid => "RANDOM_UID",
            Self::NoResponse => "NO_RESPONSE",
            Self::Transmission => "TRANSMISSION",
        }
    }
}

impl fmt::Display for UnsupportedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UidNotAvailable => {
                f.write_str("the card does not give out a UID (phone or application card)")
            }
            Self::InstructionNotSupported => {
                f.write_str("the reader or card does not support GET DATA")
            }
            Self::StatusWord(sw) => write!(f, "the card answered with status {sw:04X}"),
            Self::UidLength(len) => write!(f, "the UID has {len} bytes, not 4, 7 or 10"),
            Self::RandomUid => f.write_str("the card sends a random UID (a phone?)"),
            Self::NoResponse => f.write_str("the card does not respond"),
            Self::Transmission => f.write_str("the exchange with the card failed"),
        }
    }
}

/// Interprets the response to `FF CA 00 00 00` (UID ‖ SW1 SW2).
pub fn interpret_get_uid_response(response: &[u8]) -> Result<BadgeUid, UnsupportedReason> {
    let Some((data, sw)) = response.split_last_chunk::<2>() else {
        return Err(UnsupportedReason::Transmission);
    };
    match u16::from_be_bytes(*sw) {
        0x9000 => {
            if data.len() == 4 && data[0] == 0x08 {
                return Err(UnsupportedReason::RandomUid);
            }
            BadgeUid::from_bytes(data).map_err(|_| UnsupportedReason::UidLength(data.len()))
        }
        0x6A81 => Err(UnsupportedReason::UidNotAvailable),
        0x6D00 => Err(UnsupportedReason::InstructionNotSupported),
        other => Err(UnsupportedReason::StatusWord(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interprets_uid_responses() {
        let uid =
            interpret_get_uid_response(&[0x04, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x90, 0x00])
                .unwrap();
        assert_eq!(uid, BadgeUid::parse("04A1B2C3D4E5F6").unwrap());
        assert_eq!(
            interpret_get_uid_response(&[0x6A, 0x81]),
            Err(UnsupportedReason::UidNotAvailable)
        );
        assert_eq!(
            interpret_get_uid_response(&[0x6D, 0x00]),
            Err(UnsupportedReason::InstructionNotSupported)
        );
        assert_eq!(
            interpret_get_uid_response(&[0x63, 0x00]),
            Err(UnsupportedReason::StatusWord(0x6300))
        );
        assert_eq!(
            interpret_get_uid_response(&[0x90]),
            Err(UnsupportedReason::Transmission)
        );
        assert_eq!(
            interpret_get_uid_response(&[]),
            Err(UnsupportedReason::Transmission)
        );
        assert_eq!(
            interpret_get_uid_response(&[1, 2, 3, 4, 5, 0x90, 0x00]),
            Err(UnsupportedReason::UidLength(5))
        );
        assert_eq!(
            interpret_get_uid_response(&[0x90, 0x00]),
            Err(UnsupportedReason::UidLength(0))
        );
        assert_eq!(
            interpret_get_uid_response(&[0x08, 2, 3, 4, 0x90, 0x00]),
            Err(UnsupportedReason::RandomUid)
        );
    }

    #[test]
    fn events_name_their_reader() {
        let read = BadgeRead::Removed { reader: "R".into() };
        assert_eq!(read.reader(), Some("R"));
        assert_eq!(BadgeRead::ServiceLost.reader(), None);
        let present = BadgeRead::Present {
            reader: "R".into(),
            uid: BadgeUid::parse("04A1B2C3").unwrap(),
        };
        assert!(!format!("{present:?}").contains("04A1B2C3"));
        assert_eq!(present.badge(), Some(&BadgeUid::parse("04A1B2C3").unwrap()));
        assert_eq!(read.badge(), None);
    }
}
