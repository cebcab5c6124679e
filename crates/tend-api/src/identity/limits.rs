//! In-memory token buckets for enrollment attempts (keyed by client address,
//! the real client's behind a trusted proxy, see `net`, and by code) and badge logins (keyed by device). One process: behind several API instances each keeps its own.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct Rate {
    /// Attempts allowed at once.
    pub burst: f64,
    /// Attempts regained per second.
    pub per_second: f64,
}

#[derive(Debug)]
pub struct RateLimiter {
    rate: Rate,
    buckets: Mutex<HashMap<Vec<u8>, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`; false when the bucket is empty.
    pub fn allow(&self, key: &[u8]) -> bool {
        self.allow_at(key, Instant::now())
    }

    /// Whether `key`'s bucket is empty now, without taking a token (to
    /// refuse before trying, when only failures are counted).
    pub fn exhausted(&self, key: &[u8]) -> bool {
        let now = Instant::now();
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        buckets.get(key).is_some_and(|(tokens, at)| {
            *tokens + now.duration_since(*at).as_secs_f64() * self.rate.per_second < 1.0
        })
    }

    fn allow_at(&self, key: &[u8], now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 100_000 {
            // Forget full buckets; they would allow the next attempt anyway.
            let rate = self.rate;
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate.per_second < rate.burst
            });
        }
        let (tokens, at) = buckets
            .entry(key.to_vec())
            .or_insert((self.rate.burst, now));
        let refilled = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate.per_second)
            .min(self.rate.burst);
        *at = now;
        if refilled >= 1.0 {
            *tokens = refilled - 1.0;
            true
        } else {
            *tokens = refilled;
            false
        }
    }
}

/// Retry hint for 429 answers.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_empties_and_refills() {
        let l = RateLimiter::new(Rate {
            burst: 3.0,
            per_second: 1.0,
        });
        let t = Instant::now();
        assert!(l.allow_at(b"a", t));
        assert!(l.allow_at(b"a", t));
        assert!(l.allow_at(b"a", t));
        assert!(!l.allow_at(b"a", t));
        assert!(l.allow_at(b"b", t), "keys are independent");
        assert!(l.exhausted(b"a"), "an empty bucket reads as exhausted");
        assert!(!l.exhausted(b"c"), "an unseen key has its whole burst");
        assert!(l.allow_at(b"a", t + Duration::from_millis(1100)));
        assert!(!l.allow_at(b"a", t + Duration::from_millis(1200)));
    }
}
