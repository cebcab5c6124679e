//! Device status rules from the seed, made exact: `is_online` (heartbeat within
//! five minutes) and `sync_status`, both computed from server time.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// A device is online when its last heartbeat is at most this old.
pub const ONLINE_WINDOW: Duration = Duration::minutes(5);

/// True if the last heartbeat is within [`ONLINE_WINDOW`] of `now`. A heartbeat
/// from the future (clock skew) counts as online only up to the same window.
pub fn is_online(last_seen: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    match last_seen {
        Some(seen) => {
            let age = now.signed_duration_since(seen);
            age <= ONLINE_WINDOW && age >= -ONLINE_WINDOW
        }
        None => false,
    }
}

/// The seed's sync states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SyncStatus {
    Synced,
    Stale,
    OutOfSync,
    NeverSynced,
}

impl SyncStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Synced => "SYNCED",
            Self::Stale => "STALE",
            Self::OutOfSync => "OUT_OF_SYNC",
            Self::NeverSynced => "NEVER_SYNCED",
        }
    }
}

/// Organization-configurable thresholds; defaults are 15 minutes and 24 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncThresholds {
    /// A sync this recent (with nothing pending longer) counts as `SYNCED`.
    pub synced_within: Duration,
    /// A last sync older than this is `OUT_OF_SYNC`.
    pub out_of_sync_after: Duration,
}

impl Default for SyncThresholds {
    fn default() -> Self {
        Self {
            synced_within: Duration::minutes(15),
            out_of_sync_after: Duration::hours(24),
        }
    }
}

/// What the server knows about a device's sync, all in server time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SyncInputs {
    pub last_sync: Option<DateTime<Utc>>,
    /// Age of the oldest record still waiting in the device's outbox, if any.
    pub oldest_pending_since: Option<DateTime<Utc>>,
    /// The device reported sync errors in its last heartbeat.
    pub sync_errors: bool,
}

/// `NEVER_SYNCED` without a sync; `OUT_OF_SYNC` when the last sync is older than
/// the out-of-sync threshold or the device reports errors; `SYNCED` when the
/// last sync is recent and nothing has waited longer than the same window;
/// `STALE` otherwise.
pub fn sync_status(
    inputs: SyncInputs,
    now: DateTime<Utc>,
    thresholds: SyncThresholds,
) -> SyncStatus {
    let Some(last_sync) = inputs.last_sync else {
        return SyncStatus::NeverSynced;
    };
    let age = now.signed_duration_since(last_sync);
    if inputs.sync_errors || age > thresholds.out_of_sync_after {
        return SyncStatus::OutOfSync;
    }
    let pending_too_long = inputs
        .oldest_pending_since
        .is_some_and(|since| now.signed_duration_since(since) > thresholds.synced_within);
    if age <= thresholds.synced_within && !pending_too_long {
        SyncStatus::Synced
    } else {
        SyncStatus::Stale
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-26T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn online_window_edges() {
        let now = t0();
        assert!(is_online(Some(now - Duration::minutes(5)), now));
        assert!(!is_online(
            Some(now - Duration::minutes(5) - Duration::seconds(1)),
            now
        ));
        assert!(!is_online(None, now));
        assert!(!is_online(Some(now + Duration::hours(3)), now));
    }

    #[test]
    fn sync_rules() {
        let now = t0();
        let th = SyncThresholds::default();
        let at = |mins: i64| Some(now - Duration::minutes(mins));
        assert_eq!(
            sync_status(SyncInputs::default(), now, th),
            SyncStatus::NeverSynced
        );
        let s = |last, pending, errors| {
            sync_status(
                SyncInputs {
                    last_sync: last,
                    oldest_pending_since: pending,
                    sync_errors: errors,
                },
                now,
                th,
            )
        };
        assert_eq!(s(at(1), None, false), SyncStatus::Synced);
        assert_eq!(s(at(15), at(14), false), SyncStatus::Synced);
        assert_eq!(s(at(1), at(16), false), SyncStatus::Stale);
        assert_eq!(s(at(16), None, false), SyncStatus::Stale);
        assert_eq!(s(at(24 * 60), None, false), SyncStatus::Stale);
        assert_eq!(s(at(24 * 60 + 1), None, false), SyncStatus::OutOfSync);
        assert_eq!(s(at(1), None, true), SyncStatus::OutOfSync);
    }

    proptest! {
        #[test]
        fn status_is_total_and_consistent(last in proptest::option::of(-100_000i64..100_000), pending in proptest::option::of(-100_000i64..100_000), errors in any::<bool>()) {
            let now = t0();
            let inputs = SyncInputs {
                last_sync: last.map(|m| now - Duration::minutes(m)),
                oldest_pending_since: pending.map(|m| now - Duration::minutes(m)),
                sync_errors: errors,
            };
            let status = sync_status(inputs, now, SyncThresholds::default());
            if last.is_none() { prop_assert_eq!(status, SyncStatus::NeverSynced); }
            if last.is_some() && errors { prop_assert_eq!(status, SyncStatus::OutOfSync); }
            if status == SyncStatus::Synced { prop_assert!(last.unwrap() <= 15); }
        }
    }
}
