//! The device's heartbeat: what it reports (`tend_domain::wire::Heartbeat`)
//! and when — every 60 s with ±10 % jitter so a facility's devices do not
//! arrive in lockstep, plus immediately after start and after reconnecting
//! (the caller sends at once in those cases and uses [`next_delay`] after).

use std::time::Duration;

use chrono::{DateTime, Utc};
use tend_domain::wire::{EncryptionPosture, Heartbeat};

use crate::vault::SecretBackend;

/// The nominal interval.
pub const INTERVAL: Duration = crate::config::DEFAULT_HEARTBEAT_INTERVAL;
/// Jitter, as a fraction of the interval either way.
pub const JITTER: f64 = 0.10;

/// The wait before the next heartbeat, for `unit` uniform in [0, 1):
/// 54 s at 0, 66 s just below 1. Out-of-range inputs are clamped.
pub fn next_delay(unit: f64) -> Duration {
    jittered(INTERVAL, unit)
}

/// `interval` ±10 % for `unit` uniform in [0, 1) (the configured interval;
/// end-to-end tests use a second or two).
pub fn jittered(interval: Duration, unit: f64) -> Duration {
    let unit = if unit.is_finite() {
        unit.clamp(0.0, 1.0)
    } else {
        0.5
    };
    interval.mul_f64(1.0 - JITTER + 2.0 * JITTER * unit)
}

/// A uniform number in [0, 1) from the OS (0.5 if randomness is unavailable).
pub fn random_unit() -> f64 {
    let mut bytes = [0u8; 8];
    match getrandom::fill(&mut bytes) {
        Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

/// The encryption posture reported for where the vault key lives; `None`
/// means the vault is not encrypted (or its key is only in memory).
pub fn posture(backend: Option<SecretBackend>) -> EncryptionPosture {
    match backend {
        Some(SecretBackend::Keyring) => EncryptionPosture::Keyring,
        Some(SecretBackend::KeyFile) => EncryptionPosture::KeyFile,
        Some(SecretBackend::Memory) | None => EncryptionPosture::None,
    }
}

/// What the device knows about its own sync at heartbeat time.
#[derive(Debug, Clone, Default)]
pub struct SyncState {
    pub pending_outbox: u32,
    pub oldest_pending_since: Option<DateTime<Utc>>,
    pub last_sync: Option<DateTime<Utc>>,
    pub sync_errors: bool,
}

/// The heartbeat body, stamped with the device's clock `now`.
pub fn heartbeat(
    app_version: &str,
    encryption_posture: EncryptionPosture,
    sync: &SyncState,
    now: DateTime<Utc>,
) -> Heartbeat {
    Heartbeat {
        app_version: Some(app_version.to_owned()),
        encryption_posture,
        pending_outbox: sync.pending_outbox,
        oldest_pending_since: sync.oldest_pending_since,
        last_sync: sync.last_sync,
        sync_errors: sync.sync_errors,
        device_time: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_within_ten_percent() {
        assert_eq!(next_delay(0.0), Duration::from_secs(54));
        assert_eq!(next_delay(0.5), Duration::from_secs(60));
        assert!(next_delay(0.999_999) <= Duration::from_secs(66));
        assert_eq!(next_delay(-3.0), Duration::from_secs(54));
        assert_eq!(next_delay(f64::NAN), Duration::from_secs(60));
        assert_eq!(
            jittered(Duration::from_secs(2), 0.0),
            Duration::from_millis(1800)
        );
        for _ in 0..1000 {
            let u = random_unit();
            assert!((0.0..1.0).contains(&u));
            let d = next_delay(u);
            assert!(d >= Duration::from_secs(54) && d <= Duration::from_secs(66));
        }
    }

    #[test]
    fn posture_follows_the_secret_store() {
        assert_eq!(
            posture(Some(SecretBackend::Keyring)),
            EncryptionPosture::Keyring
        );
        assert_eq!(
            posture(Some(SecretBackend::KeyFile)),
            EncryptionPosture::KeyFile
        );
        assert_eq!(posture(None), EncryptionPosture::None);
        let now = Utc::now();
        let body = heartbeat(
            "0.1.0",
            posture(Some(SecretBackend::Keyring)),
            &SyncState {
                pending_outbox: 2,
                ..Default::default()
            },
            now,
        );
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["encryption_posture"], "keyring");
        assert_eq!(json["pending_outbox"], 2);
        assert_eq!(json["device_time"], serde_json::to_value(now).unwrap());
    }
}
