//! Whether a badge reader is there to tap on, from the reader watcher's
//! events (the lock screen says so).

use serde::Serialize;
use tend_badge::BadgeRead;

/// Whether a badge reader is there to tap on (the lock screen says so).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ReaderStatus {
    /// Not known yet (the watcher is starting).
    Unknown,
    /// At least one PC/SC reader is connected.
    Connected,
    /// The PC/SC service runs but no reader is plugged in.
    NoReader,
    /// The PC/SC service is not running (or not installed).
    ServiceUnavailable,
}

/// The connected readers, from the watcher's events.
#[derive(Debug, Default)]
pub struct Readers {
    names: std::collections::BTreeSet<String>,
    service_lost: bool,
    heard: bool,
}

impl Readers {
    /// Applies a watcher event; returns the new status when it changed.
    pub fn apply(&mut self, event: &BadgeRead) -> Option<ReaderStatus> {
        let before = self.status();
        self.heard = true;
        match event {
            BadgeRead::ReaderAdded { reader } => {
                self.service_lost = false;
                self.names.insert(reader.clone());
            }
            BadgeRead::ReaderRemoved { reader } => {
                self.names.remove(reader);
            }
            BadgeRead::ServiceLost => {
                self.service_lost = true;
                self.names.clear();
            }
            BadgeRead::ServiceRestored => self.service_lost = false,
            BadgeRead::Present { reader, .. }
            | BadgeRead::Unsupported { reader, .. }
            | BadgeRead::Removed { reader } => {
                self.names.insert(reader.clone());
            }
        }
        let after = self.status();
        (after != before).then_some(after)
    }

    /// The watcher started and found the service (it reports readers as it
    /// finds them).
    pub fn started(&mut self) -> ReaderStatus {
        self.heard = true;
        self.status()
    }

    pub fn status(&self) -> ReaderStatus {
        if !self.heard {
            ReaderStatus::Unknown
        } else if self.service_lost {
            ReaderStatus::ServiceUnavailable
        } else if self.names.is_empty() {
            ReaderStatus::NoReader
        } else {
            ReaderStatus::Connected
        }
    }
}
