//! Badge sources for Tend: everything between a nurse's badge and the session
//! logic that logs her in. PC/SC readers (NFC/RFID in CCID mode) are watched on a
//! background thread ([`PcscWatcher`]) that yields [`BadgeRead`] events into a
//! [`BadgeSink`]; keyboard-wedge readers are recognized in the webview and their
//! values, parsed with [`BadgeUid::parse_wedge`], reach the same badge entrance in
//! the device runtime (`tend_core::device`).
//!
//! Badge values are wrapped in [`BadgeUid`], which never prints its value; what is
//! stored (on the device and on the server) is its keyed hash, [`BadgeHash`].

pub mod debounce;
pub mod error;
pub mod event;
#[cfg(feature = "pcsc")]
pub mod pcsc;
pub mod source;
pub mod uid;
#[cfg(feature = "virtual-card")]
pub mod virtual_card;

pub use debounce::{Debouncer, DEFAULT_DEBOUNCE};
pub use error::{BadgeError, Result};
pub use event::{BadgeRead, UnsupportedReason};
#[cfg(feature = "pcsc")]
pub use pcsc::{PcscConfig, PcscWatcher};
pub use source::{badge_channel, BadgeReceiver, BadgeSink, BadgeSource};
pub use uid::{BadgeHash, BadgeKind, BadgeUid, WedgeEncoding, WedgeFormat};
