//! Heartbeat coalescing: each heartbeat replaces the device's pending entry
//! in memory, and a background task writes all pending entries every flush
//! interval with one `UPDATE … FROM unnest(…)` statement.
//!
//! `last_seen` is the server time the heartbeat arrived, never the flush
//! time, so a delayed flush can only make a device look older, never online
//! when it is not. A crash loses at most one interval of heartbeats.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

#[derive(Debug, Clone)]
pub struct PendingHeartbeat {
    pub seen: DateTime<Utc>,
    pub app_version: Option<String>,
    pub posture: &'static str,
    pub pending_outbox: i32,
    pub last_sync: Option<DateTime<Utc>>,
    pub oldest_pending_since: Option<DateTime<Utc>>,
    pub sync_errors: bool,
    pub clock_offset_ms: i64,
}

#[derive(Debug, Default)]
pub struct HeartbeatBuffer {
    pending: Mutex<HashMap<i64, PendingHeartbeat>>,
}

impl HeartbeatBuffer {
    pub fn record(&self, device_id: i64, heartbeat: PendingHeartbeat) {
        let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(device_id, heartbeat);
    }

    /// Drops what is pending for a device (it was just deactivated).
    pub fn forget(&self, device_id: i64) {
        let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&device_id);
    }

    fn take(&self) -> HashMap<i64, PendingHeartbeat> {
        let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut *map)
    }

    /// Writes everything pending; returns how many devices were updated.
    pub async fn flush(&self, pool: &PgPool) -> Result<u64, sqlx::Error> {
        let batch = self.take();
        if batch.is_empty() {
            return Ok(0);
        }
        let n = batch.len();
        let started = std::time::Instant::now();
        let mut ids = Vec::with_capacity(n);
        let mut seen = Vec::with_capacity(n);
        let mut versions = Vec::with_capacity(n);
        let mut postures = Vec::with_capacity(n);
        let mut outbox = Vec::with_capacity(n);
        let mut last_sync = Vec::with_capacity(n);
        let mut oldest = Vec::with_capacity(n);
        let mut errors = Vec::with_capacity(n);
        let mut offsets = Vec::with_capacity(n);
        for (id, h) in &batch {
            ids.push(*id);
            seen.push(h.seen);
            versions.push(h.app_version.clone());
            postures.push(h.posture);
            outbox.push(h.pending_outbox);
            last_sync.push(h.last_sync);
            oldest.push(h.oldest_pending_since);
            errors.push(h.sync_errors);
            offsets.push(h.clock_offset_ms);
        }
        let result: Result<i64, sqlx::Error> =
            sqlx::query_scalar("SELECT tend_heartbeats_apply($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                .bind(&ids)
                .bind(&seen)
                .bind(&versions)
                .bind(&postures)
                .bind(&outbox)
                .bind(&last_sync)
                .bind(&oldest)
                .bind(&errors)
                .bind(&offsets)
                .fetch_one(pool)
                .await;
        match result {
            Ok(updated) => {
                let m = crate::metrics::metrics();
                m.heartbeat_flush_devices.observe(n as f64);
                m.heartbeat_flush_seconds
                    .observe(started.elapsed().as_secs_f64());
                Ok(updated.max(0) as u64)
            }
            Err(e) => {
                // Put the batch back unless newer heartbeats replaced it.
                let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                for (id, h) in batch {
                    map.entry(id).or_insert(h);
                }
                Err(e)
            }
        }
    }

    /// Flushes every `interval` until the process ends.
    pub async fn run(self: std::sync::Arc<Self>, pool: PgPool, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let started = std::time::Instant::now();
            match self.flush(&pool).await {
                Ok(0) => {}
                Ok(devices) => {
                    let elapsed = started.elapsed();
                    if elapsed > interval {
                        tracing::warn!(
                            devices,
                            elapsed_ms = elapsed.as_millis() as u64,
                            "heartbeat flush slower than its interval"
                        );
                    } else {
                        tracing::debug!(
                            devices,
                            elapsed_ms = elapsed.as_millis() as u64,
                            "heartbeats flushed"
                        );
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "heartbeat flush failed; retrying next interval")
                }
            }
        }
    }
}
