//! Rate limits shared by every API instance: token buckets in PostgreSQL
//! (`rate_limits`, migration 0007), taken in one atomic statement each, so
//! three instances allow the configured rate, not three times it. Process
//! memory keeps only a bounded cache of refusals: when PostgreSQL says a bucket
//! is empty it also says when the next token arrives, and until then nothing
//! but a refund can refill it, so a flood is refused without a round trip.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::error::Result;

#[derive(Debug, Clone, Copy)]
pub struct Rate {
    /// Attempts allowed at once.
    pub burst: f64,
    /// Attempts regained per second.
    pub per_second: f64,
}

/// What is limited, and by what. The name is the `bucket` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// Enrollment attempts per client address.
    EnrollAddress,
    /// Enrollment attempts per code (keyed by the code's hash).
    EnrollCode,
    /// Device challenges per client address.
    ChallengeAddress,
    /// Badge logins through one device.
    BadgeLoginDevice,
    /// Wrong visitor codes at one device (a success gives its token back).
    VisitorCodeDevice,
    /// Password logins per client address.
    LoginAddress,
}

impl Bucket {
    pub fn name(self) -> &'static str {
        match self {
            Self::EnrollAddress => "enroll_address",
            Self::EnrollCode => "enroll_code",
            Self::ChallengeAddress => "challenge_address",
            Self::BadgeLoginDevice => "badge_login_device",
            Self::VisitorCodeDevice => "visitor_code_device",
            Self::LoginAddress => "login_address",
        }
    }
}

/// The key stored for `raw`: a SHA-256 under the bucket's name, so no address,
/// code or username is ever written as it was given.
pub fn key_of(bucket: Bucket, raw: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(bucket.name().as_bytes());
    h.update([0]);
    h.update(raw);
    h.finalize().into()
}

/// Most refusals remembered by one instance (cleared when full).
const MAX_CACHED_REFUSALS: usize = 100_000;

/// The shared buckets, with this instance's rates and refusal cache.
#[derive(Debug)]
pub struct Limits {
    rates: HashMap<Bucket, Rate>,
    refused_until: Mutex<HashMap<(Bucket, [u8; 32]), Instant>>,
}

impl Limits {
    pub fn new(rates: impl IntoIterator<Item = (Bucket, Rate)>) -> Self {
        Self {
            rates: rates.into_iter().collect(),
            refused_until: Mutex::new(HashMap::new()),
        }
    }

    fn rate(&self, bucket: Bucket) -> Rate {
        self.rates.get(&bucket).copied().unwrap_or(Rate {
            burst: 1.0,
            per_second: 1.0,
        })
    }

    /// Takes one token from `bucket` for `raw`; false when it is empty.
    pub async fn take(&self, pool: &PgPool, bucket: Bucket, raw: &[u8]) -> Result<bool> {
        let key = key_of(bucket, raw);
        let now = Instant::now();
        {
            let refused = self.refused_until.lock().unwrap_or_else(|p| p.into_inner());
            if refused
                .get(&(bucket, key))
                .is_some_and(|until| *until > now)
            {
                return Ok(false);
            }
        }
        let rate = self.rate(bucket);
        let wait: f64 = sqlx::query_scalar("SELECT tend_rate_take($1, $2, $3, $4)")
            .bind(bucket.name())
            .bind(&key[..])
            .bind(rate.burst)
            .bind(rate.per_second)
            .fetch_one(pool)
            .await?;
        let mut refused = self.refused_until.lock().unwrap_or_else(|p| p.into_inner());
        if wait <= 0.0 {
            refused.remove(&(bucket, key));
            return Ok(true);
        }
        if refused.len() >= MAX_CACHED_REFUSALS {
            refused.clear();
        }
        let wait = Duration::try_from_secs_f64(wait).unwrap_or(Duration::from_secs(3600));
        refused.insert((bucket, key), now + wait.min(Duration::from_secs(3600)));
        Ok(false)
    }

    /// Gives back the token an attempt took (it turned out legitimate).
    pub async fn refund(&self, pool: &PgPool, bucket: Bucket, raw: &[u8]) -> Result<()> {
        let key = key_of(bucket, raw);
        let rate = self.rate(bucket);
        sqlx::query("SELECT tend_rate_refund($1, $2, $3, $4)")
            .bind(bucket.name())
            .bind(&key[..])
            .bind(rate.burst)
            .bind(rate.per_second)
            .execute(pool)
            .await?;
        self.refused_until
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(bucket, key));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hide_what_they_limit_and_differ_by_bucket() {
        let a = key_of(Bucket::LoginAddress, b"10.0.0.1");
        assert_eq!(a, key_of(Bucket::LoginAddress, b"10.0.0.1"));
        assert_ne!(a, key_of(Bucket::EnrollAddress, b"10.0.0.1"));
        assert_ne!(a, key_of(Bucket::LoginAddress, b"10.0.0.2"));
        assert!(!a.windows(8).any(|w| w == b"10.0.0.1"));
    }
}
