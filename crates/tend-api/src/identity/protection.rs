//! Facilities' minimum device protection as heartbeats need it: read from
//! PostgreSQL (the source of truth, shared by every instance) and kept for
//! a few seconds, so a heartbeat costs no round trip. A change reaches every
//! device within [`TTL`] plus its heartbeat interval.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tend_domain::wire::DeviceProtectionMinimum;

use crate::error::Result;

/// How long a facility's minimum is trusted from memory.
pub const TTL: Duration = Duration::from_secs(30);

/// Facilities remembered at most (then the cache starts over).
const CAPACITY: usize = 100_000;

#[derive(Debug, Default)]
pub struct ProtectionMinimums {
    entries: Mutex<HashMap<i64, (DeviceProtectionMinimum, Instant)>>,
}

impl ProtectionMinimums {
    fn cached(&self, facility_id: i64, now: Instant) -> Option<DeviceProtectionMinimum> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&facility_id)
            .filter(|(_, at)| now.duration_since(*at) < TTL)
            .map(|(minimum, _)| *minimum)
    }

    fn remember(&self, facility_id: i64, minimum: DeviceProtectionMinimum, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(facility_id, (minimum, now));
    }

    /// The facility's minimum, from memory when recent.
    pub async fn get(&self, pool: &PgPool, facility_id: i64) -> Result<DeviceProtectionMinimum> {
        let now = Instant::now();
        if let Some(minimum) = self.cached(facility_id, now) {
            return Ok(minimum);
        }
        let minimum =
            crate::store::facilities::device_protection_minimum(pool, facility_id).await?;
        self.remember(facility_id, minimum, now);
        Ok(minimum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_minimum_is_trusted_for_the_ttl_only() {
        let cache = ProtectionMinimums::default();
        let then = Instant::now();
        cache.remember(7, DeviceProtectionMinimum::OffDisk, then);
        assert_eq!(
            cache.cached(7, then),
            Some(DeviceProtectionMinimum::OffDisk)
        );
        assert_eq!(cache.cached(8, then), None);
        assert_eq!(cache.cached(7, then + TTL), None);
    }
}
