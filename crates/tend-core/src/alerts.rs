//! Live wandering alerts on the device: the push client that keeps one
//! Server-Sent Events connection to the API (`GET /api/devices/events`),
//! resumes after a drop with `Last-Event-ID` and a growing back-off, and the
//! "active alerts" state it feeds. The state is also derived from synced
//! records (see [`crate::sync::alerts`]), so an alert reaches the screen
//! whether the push channel is up or not; pushed events add who acknowledged
//! and escalations. What is kept is only what a lock screen may show.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tend_domain::wire::{AlertEvent, LiveAlert};
use uuid::Uuid;

use crate::Result;

/// The first wait after the push channel drops; doubled each failure in a row.
pub const PUSH_RETRY_BASE: Duration = Duration::from_secs(1);
/// The longest wait between two attempts.
pub const PUSH_RETRY_CAP: Duration = Duration::from_secs(30);

// Server-Sent Events ----------------------------------------------------------

/// One dispatched Server-Sent Event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseMessage {
    /// The stream's last event id when this event was dispatched.
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
}

/// An incremental `text/event-stream` parser (the HTML standard's rules for
/// the fields Tend uses: `id`, `event`, `data`; comments and unknown fields
/// ignored; lines end in LF, CR LF or CR).
#[derive(Debug, Default)]
pub struct SseParser {
    pending: Vec<u8>,
    last_id: Option<String>,
    event: Option<String>,
    data: Option<String>,
}

impl SseParser {
    /// Feeds bytes as they arrive (a chunk may end mid-line or mid-character).
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<SseMessage> {
        self.pending.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n' || *b == b'\r') {
            // A CR at the very end may be half of a CR LF: wait for more.
            if self.pending[end] == b'\r' && end + 1 == self.pending.len() {
                break;
            }
            let skip = if self.pending[end] == b'\r' && self.pending.get(end + 1) == Some(&b'\n') {
                2
            } else {
                1
            };
            let line: Vec<u8> = self.pending.drain(..end + skip).take(end).collect();
            let line = String::from_utf8_lossy(&line);
            if let Some(message) = self.line(&line) {
                out.push(message);
            }
        }
        out
    }

    fn line(&mut self, line: &str) -> Option<SseMessage> {
        if line.is_empty() {
            let event = self.event.take();
            let data = self.data.take()?;
            return Some(SseMessage {
                id: self.last_id.clone(),
                event,
                data,
            });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" if !value.contains('\0') => self.last_id = Some(value.to_owned()),
            "event" => self.event = Some(value.to_owned()),
            "data" => {
                let data = self.data.get_or_insert_with(String::new);
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(value);
            }
            _ => {}
        }
        None
    }
}

// The state -------------------------------------------------------------------

/// What the device knows of its facility's wandering alerts.
#[derive(Debug, Default)]
pub struct ActiveAlerts {
    inner: Mutex<Pushed>,
}

#[derive(Debug, Default)]
struct Pushed {
    alerts: BTreeMap<Uuid, LiveAlert>,
    last_event_id: Option<i64>,
    connected: bool,
}

impl ActiveAlerts {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pushed> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a pushed event in (events may repeat after a resume).
    pub fn apply(&self, event: &AlertEvent) {
        let mut p = self.lock();
        p.last_event_id = Some(p.last_event_id.map_or(event.seq, |l| l.max(event.seq)));
        p.alerts.insert(event.alert.id, event.alert.clone());
    }

    /// Takes an acknowledgement's answer in (before its event arrives).
    pub fn acknowledged(&self, alert: LiveAlert) {
        self.lock().alerts.insert(alert.id, alert);
    }

    /// Where a reconnection resumes.
    pub fn last_event_id(&self) -> Option<i64> {
        self.lock().last_event_id
    }

    /// Whether the push channel is connected now.
    pub fn connected(&self) -> bool {
        self.lock().connected
    }

    fn set_connected(&self, connected: bool) -> bool {
        std::mem::replace(&mut self.lock().connected, connected) != connected
    }

    /// The alerts to show: the synced ones (`recorded`) and the pushed ones,
    /// a pushed state winning (it knows acknowledgements, escalations and
    /// `found`s the vault may not have yet); closed ones and ones older than
    /// `since` left out; oldest first.
    pub fn merged(&self, recorded: Vec<LiveAlert>, since: DateTime<Utc>) -> Vec<LiveAlert> {
        let p = self.lock();
        let mut all: BTreeMap<Uuid, LiveAlert> = recorded.into_iter().map(|a| (a.id, a)).collect();
        for (id, alert) in &p.alerts {
            all.insert(*id, alert.clone());
        }
        let mut list: Vec<LiveAlert> = all
            .into_values()
            .filter(|a| {
                a.resolved_at.is_none()
                    && a.alert != tend_domain::records::WanderingAlertType::Found
                    && a.occurred_at >= since
            })
            .collect();
        list.sort_by_key(|a| (a.occurred_at, a.id));
        list
    }

    /// Forgets everything (the device was wiped or moved).
    pub fn clear(&self) {
        *self.lock() = Pushed::default();
    }
}

/// The alerts a screen shows, and whether they arrive live.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WanderingAlerts {
    /// Open alerts, oldest first; `acknowledged_by` set once someone did.
    pub alerts: Vec<LiveAlert>,
    /// The push channel is up (else alerts arrive with sync).
    pub live: bool,
}

// The push client ---------------------------------------------------------------

/// Where pushed events come from: the API, or a script in tests.
pub trait AlertFeed: Send + Sync {
    type Stream: AlertStream;
    /// Opens the channel, resuming after `last_event_id`.
    fn open(&self, last_event_id: Option<i64>)
        -> impl Future<Output = Result<Self::Stream>> + Send;
}

/// An open channel's bytes.
pub trait AlertStream: Send {
    /// The next bytes; `None` when the server ended the stream.
    fn next_chunk(&mut self) -> impl Future<Output = Result<Option<Vec<u8>>>> + Send;
}

/// Keeps the push channel open for as long as it runs (abort the task to
/// stop it): opens it, feeds every event to `state` and calls `changed`,
/// and after a drop waits (1 s, doubling to 30 s; back to 1 s once an open
/// succeeds) and resumes from the last event seen. `changed` is also called
/// when the channel comes up or goes down.
pub async fn run_push<F: AlertFeed>(feed: &F, state: &ActiveAlerts, changed: impl Fn()) {
    let mut failures: u32 = 0;
    loop {
        match feed.open(state.last_event_id()).await {
            Ok(mut stream) => {
                failures = 0;
                if state.set_connected(true) {
                    changed();
                }
                let mut parser = SseParser::default();
                loop {
                    match stream.next_chunk().await {
                        Ok(Some(bytes)) => {
                            let mut any = false;
                            for message in parser.feed(&bytes) {
                                if message.event.as_deref() != Some("wandering_alert") {
                                    continue;
                                }
                                match serde_json::from_str::<AlertEvent>(&message.data) {
                                    Ok(event) => {
                                        state.apply(&event);
                                        any = true;
                                    }
                                    Err(e) => tracing::warn!(error = %e, "unreadable alert event"),
                                }
                            }
                            if any {
                                changed();
                            }
                        }
                        Ok(None) => {
                            tracing::info!("the server ended the alert channel; resuming");
                            break;
                        }
                        Err(e) => {
                            tracing::info!(code = %e.code(), "alert channel dropped; resuming");
                            break;
                        }
                    }
                }
            }
            Err(e) => {
                tracing::debug!(code = %e.code(), "alert channel not opened");
            }
        }
        if state.set_connected(false) {
            changed();
        }
        failures = failures.saturating_add(1);
        let wait = PUSH_RETRY_BASE
            .saturating_mul(1 << (failures - 1).min(16))
            .min(PUSH_RETRY_CAP);
        tokio::time::sleep(wait).await;
    }
}

/// The device's push channel over its server link (device token).
pub struct LinkFeed(pub std::sync::Arc<crate::link::DeviceLink>);

/// An open `text/event-stream` answer.
pub struct ResponseStream(reqwest::Response);

impl AlertStream for ResponseStream {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>> {
        self.0
            .chunk()
            .await
            .map(|c| c.map(|b| b.to_vec()))
            .map_err(|_| crate::CoreError::Offline("the alert channel dropped".to_owned()))
    }
}

impl AlertFeed for LinkFeed {
    type Stream = ResponseStream;

    async fn open(&self, last_event_id: Option<i64>) -> Result<ResponseStream> {
        let response = self
            .0
            .with_token(|server, token| async move {
                server.client.alert_events(&token, last_event_id).await
            })
            .await?;
        Ok(ResponseStream(response))
    }
}

#[cfg(test)]
mod tests;
