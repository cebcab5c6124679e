//! Following the device to another facility. An administrator moved it (the
//! server revoked its tokens; the next token names the new facility): before
//! the device serves its new facility it (a) uploads everything its outbox
//! holds for the old one — the server files it there, see `SyncPush::facility_id`
//! — (b) erases the old facility's residents, records, hand-off notes, staff,
//! badges and offline badge verifiers in one transaction, and forgets where
//! the change feed stopped, (c) saves the new facility in the enrollment, and
//! (d) pulls the new facility from scratch. Whoever was signed in is signed
//! out first: the facility they worked in is leaving this device.
//!
//! Every step can fail and be run again: until (c) the enrollment still names
//! the old facility, so the next round starts the move over; the upload is
//! idempotent, and (b) refuses while anything is still waiting to go up.

use std::sync::Arc;

use serde::Serialize;

use crate::Result;

/// Where the server places the device now (its current token's facility).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placement {
    pub facility_id: i64,
    /// For the lock screen; `None` from a server that does not say.
    pub facility_name: Option<String>,
}

/// The device's side of a move: its saved enrollment and whoever is signed
/// in. The runtime implements it over the enrollment record and the login.
pub trait Relocation: Send + Sync {
    /// The facility the saved enrollment names (`None`: not enrolled).
    fn enrolled_facility(&self) -> Result<Option<i64>>;
    /// Saves the facility the device belongs to now.
    fn save_facility(&self, placement: &Placement) -> Result<()>;
    /// Signs everyone out and ends any family visit.
    fn sign_out_everyone(&self);
}

impl<T: Relocation + ?Sized> Relocation for Arc<T> {
    fn enrolled_facility(&self) -> Result<Option<i64>> {
        (**self).enrolled_facility()
    }
    fn save_facility(&self, placement: &Placement) -> Result<()> {
        (**self).save_facility(placement)
    }
    fn sign_out_everyone(&self) {
        (**self).sign_out_everyone()
    }
}

/// A move the device has to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// The facility the enrollment (and the vault) still belong to.
    pub from: i64,
    pub to: Placement,
}

/// Whether the server's placement means the device was moved: only when
/// both sides name a facility and they differ (an older server that does
/// not say, or a device not enrolled, never moves).
pub fn detect(enrolled: Option<i64>, placement: Option<Placement>) -> Option<Move> {
    match (enrolled, placement) {
        (Some(from), Some(to)) if from != to.facility_id => Some(Move { from, to }),
        _ => None,
    }
}

/// What following a move did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MoveReport {
    pub from: i64,
    pub to: i64,
    /// Operations of the old facility the server now has.
    pub uploaded: usize,
    /// Of those, the ones it refused for good.
    pub rejected: usize,
    /// Residents of the old facility erased from the vault.
    pub residents_erased: usize,
    /// Refused operations of the old facility erased with it (each was
    /// shown as not accepted; the log counts them).
    pub refused_erased: usize,
}

#[cfg(test)]
mod tests;
