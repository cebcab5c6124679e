//! Background sync with the central API (protocol 1, see
//! `tend_domain::wire::sync`): documentation is written to the vault first
//! (offline-first), then a background loop pushes the outbox and pulls the
//! facility's change feed — on start, after every local write (debounced),
//! on reconnect and every 30 s, backing off with jitter after a failure and
//! always trying again: no error parks the queue.
//!
//! [`SyncEngine`] owns the loop's state and is what the app holds; the loop
//! talks to the server through [`SyncApi`] so its decisions are unit-tested
//! with a fake; the real one is the device link ([`crate::link::DeviceLink`]). Vault work runs on
//! blocking threads (`spawn_blocking`), one transaction per page or batch.

pub mod alerts;
pub mod due;
pub mod handoff;
pub mod relocation;
pub mod store;
#[cfg(test)]
mod testing;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::Serialize;
use tend_domain::records::{RecordBody, RecordDraft};
use tend_domain::wire::{
    SyncChange, SyncPullPage, SyncPullQuery, SyncPush, SyncPushResult, SyncedFacility,
    DEVICE_SCHEMA_VERSION, MAX_PUSH_OPERATIONS, SYNC_PROTOCOL_VERSION,
};
use tend_domain::ErrorCode;
use tokio::sync::{watch, Notify};
use uuid::Uuid;

pub use due::DueFollowUp;
pub use handoff::HandoffNote;
pub use relocation::{MoveReport, Placement, Relocation};
pub use store::{LocalRecord, RecordSyncState, Rejection, RosterPatient};

use crate::error::ends_enrollment;
use crate::heartbeat::SyncState;
use crate::vault::Vault;
use crate::{CoreError, Result};

/// The vault as the app shares it between the UI's calls and the sync loop.
pub type SharedVault = Arc<Mutex<Vault>>;

/// The two calls sync makes.
pub trait SyncApi: Send + Sync {
    /// One batch of the outbox.
    fn push(&self, body: &SyncPush) -> impl Future<Output = Result<SyncPushResult>> + Send;
    /// One page of the facility's change feed.
    fn pull(&self, query: &SyncPullQuery) -> impl Future<Output = Result<SyncPullPage>> + Send;
    /// Where the server places the device now (the facility its current
    /// token is for); `None` when the server does not say.
    fn placement(&self) -> impl Future<Output = Result<Option<Placement>>> + Send {
        async { Ok(None) }
    }
}

impl<T: SyncApi> SyncApi for Arc<T> {
    fn push(&self, body: &SyncPush) -> impl Future<Output = Result<SyncPushResult>> + Send {
        (**self).push(body)
    }

    fn pull(&self, query: &SyncPullQuery) -> impl Future<Output = Result<SyncPullPage>> + Send {
        (**self).pull(query)
    }

    fn placement(&self) -> impl Future<Output = Result<Option<Placement>>> + Send {
        (**self).placement()
    }
}

/// Timing and limits of the loop.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// Between syncs when nothing happens (30 s).
    pub interval: Duration,
    /// After a local write, wait this long for more before syncing (500 ms).
    pub debounce: Duration,
    /// First wait after a failure; doubles with each failure in a row (1 s)…
    pub retry_base: Duration,
    /// …up to this (60 s).
    pub retry_cap: Duration,
    /// The wait while the server asks for an app update (10 min): the
    /// outbox is kept and tried again, slowly, in case the server changes.
    pub update_retry: Duration,
    /// Operations per push (at most [`MAX_PUSH_OPERATIONS`]).
    pub batch_size: usize,
    /// Changes per pull page; `None` lets the server choose (its maximum).
    pub page_limit: Option<u32>,
    /// What this build speaks; other values only to test the handshake.
    pub protocol_version: u32,
    pub schema_version: u32,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(30),
            debounce: Duration::from_millis(500),
            retry_base: Duration::from_secs(1),
            retry_cap: Duration::from_secs(60),
            update_retry: Duration::from_secs(600),
            batch_size: MAX_PUSH_OPERATIONS,
            page_limit: None,
            protocol_version: SYNC_PROTOCOL_VERSION,
            schema_version: DEVICE_SCHEMA_VERSION,
        }
    }
}

/// The wait after the `failures`-th failure in a row (1, 2, 3, …) for `unit`
/// uniform in [0, 1): `base · 2^(failures−1)` capped at `cap`, of which the
/// upper half is random ("equal jitter") so a facility's devices coming back
/// together do not retry in lockstep, yet the wait still grows.
pub fn retry_delay(failures: u32, base: Duration, cap: Duration, unit: f64) -> Duration {
    let unit = if unit.is_finite() {
        unit.clamp(0.0, 1.0)
    } else {
        0.5
    };
    let exponent = failures.saturating_sub(1).min(30);
    let grown = base.saturating_mul(1u32 << exponent).min(cap);
    grown.mul_f64(0.5 + 0.5 * unit)
}

/// Progress of a new device's first sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct InitialSyncProgress {
    /// Changes received so far.
    pub received: u32,
    /// About how many are still to come (the server's estimate).
    pub remaining: u32,
    /// 0–100.
    pub percent: u8,
}

/// The last failure, for the sync details panel.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncProblem {
    pub code: ErrorCode,
    /// In plain words; never record contents.
    pub message: String,
    pub at: DateTime<Utc>,
}

/// What the status bar and the sync details panel show. (`DeviceSyncStatus`
/// in TypeScript: `SyncStatus` there is the seed's per-device status enum.)
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename = "DeviceSyncStatus")]
pub struct SyncStatus {
    /// The server answered the last call (`None` before the first one).
    pub online: Option<bool>,
    /// A sync round is running.
    pub syncing: bool,
    /// When the last sync round completed.
    pub last_sync: Option<DateTime<Utc>>,
    /// Records (documentation) waiting to be uploaded. The audit events the
    /// device queues (offline sign-ins, locks, residents opened) go up with
    /// them and are not counted.
    pub pending: u32,
    /// When the oldest of them was written.
    pub oldest_pending_since: Option<DateTime<Utc>>,
    /// Records the server refused for good (kept for people to see).
    pub rejected: u32,
    /// Set while a new device receives its facility for the first time.
    pub initial_sync: Option<InitialSyncProgress>,
    /// The last failure; cleared by the next successful round.
    pub last_error: Option<SyncProblem>,
    /// The server refuses this app's version: update Tend (the outbox is kept).
    pub update_needed: bool,
}

impl SyncStatus {
    /// What the heartbeat reports (so the server's `sync_status` is true).
    pub fn heartbeat_state(&self) -> SyncState {
        SyncState {
            pending_outbox: self.pending,
            oldest_pending_since: self.oldest_pending_since,
            last_sync: self.last_sync,
            sync_errors: self.last_error.is_some() || self.update_needed,
        }
    }
}

/// What one sync round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundReport {
    /// Operations the server now has (new or already there).
    pub pushed: usize,
    /// Operations it refused for good.
    pub rejected: usize,
    /// Changes pulled.
    pub pulled: usize,
    /// Pages pulled.
    pub pages: usize,
    /// The device followed a move to another facility in this round.
    pub moved: Option<MoveReport>,
}

/// Why [`SyncEngine::run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncEnd {
    /// The shutdown signal fired.
    Shutdown,
    /// The server ended this device's enrollment (`DEVICE_DEACTIVATED`, …):
    /// the app wipes the device, as after the session loop.
    EnrollmentEnded(ErrorCode),
}

/// The device's sync: documentation in and out of the vault, the status the
/// UI watches, and the background loop.
pub struct SyncEngine {
    vault: SharedVault,
    /// A record was written here (debounced).
    local_write: Notify,
    /// Reconnected, or someone asked to sync now (not debounced).
    wake: Notify,
    status: watch::Sender<SyncStatus>,
    /// Follows the device when an administrator moves it (see [`relocation`]);
    /// `None`: the server's placement is not looked at.
    relocation: Option<Arc<dyn Relocation>>,
    /// When each (reader, resident) read was last queued for the audit log.
    recent_reads: Mutex<std::collections::HashMap<(i64, i64), DateTime<Utc>>>,
}

/// Opening the same resident again within this long is the same look: one
/// audit event, not one per reload of the page.
pub const READ_AUDIT_WINDOW: chrono::Duration = chrono::Duration::seconds(60);

impl std::fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncEngine")
            .field("status", &*self.status.borrow())
            .finish_non_exhaustive()
    }
}

impl SyncEngine {
    /// The engine over an open vault; reads the outbox counts and the last
    /// sync once (a quick query; call it at start-up).
    pub fn new(vault: SharedVault) -> Result<Self> {
        let stored = {
            let guard = vault.lock().unwrap_or_else(|p| p.into_inner());
            store::stored_state(guard.connection())?
        };
        let mut status = SyncStatus::default();
        apply_stored(&mut status, &stored);
        Ok(Self {
            vault,
            local_write: Notify::new(),
            wake: Notify::new(),
            status: watch::Sender::new(status),
            relocation: None,
            recent_reads: Default::default(),
        })
    }

    /// Follows the device to another facility when the server says it was
    /// moved, with `host` for the enrollment record and the sign-out.
    pub fn following_moves(mut self, host: Arc<dyn Relocation>) -> Self {
        self.relocation = Some(host);
        self
    }

    /// The vault this engine works on.
    pub fn vault(&self) -> &SharedVault {
        &self.vault
    }

    /// Every change of the status, for the status bar.
    pub fn subscribe(&self) -> watch::Receiver<SyncStatus> {
        self.status.subscribe()
    }

    pub fn status(&self) -> SyncStatus {
        self.status.borrow().clone()
    }

    /// What the next heartbeat reports.
    pub fn heartbeat_state(&self) -> SyncState {
        self.status.borrow().heartbeat_state()
    }

    /// The server is reachable again (or a person pressed "sync now"): the
    /// loop syncs at once, also in the middle of a back-off.
    pub fn sync_now(&self) {
        self.wake.notify_one();
    }

    /// Validates and stores a record (outbox and timeline in one
    /// transaction), then wakes the loop. Never needs the network.
    pub async fn write_record(&self, draft: RecordDraft) -> Result<LocalRecord> {
        // Colleagues are waiting for an alert: it goes up at once, not after
        // the debounce that lets a burst of ordinary notes travel together.
        let urgent = matches!(draft.body, RecordBody::WanderingAlert(_));
        let record = self
            .blocking(move |c| store::write_record(c, &draft))
            .await?;
        self.refresh().await?;
        if urgent {
            self.wake.notify_one();
        } else {
            self.local_write.notify_one();
        }
        Ok(record)
    }

    /// A resident's timeline as `reader` opens their record, newest first.
    /// The read goes to the outbox for the server's audit log (who, whom,
    /// when, from this device), offline too; a reload within
    /// [`READ_AUDIT_WINDOW`] is not queued again. A resident the vault does
    /// not hold is not a read.
    pub async fn open_timeline(
        &self,
        patient_id: i64,
        limit: u32,
        reader: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<LocalRecord>> {
        let due = {
            let recent = self.recent_reads.lock().unwrap_or_else(|p| p.into_inner());
            recent
                .get(&(reader, patient_id))
                .is_none_or(|at| now - *at >= READ_AUDIT_WINDOW || now < *at)
        };
        let (records, queued) = self
            .blocking(move |c| {
                let records = store::timeline(c, patient_id, limit)?;
                let queued = due && store::queue_read(c, reader, patient_id, now)?;
                Ok((records, queued))
            })
            .await?;
        if queued {
            {
                let mut recent = self.recent_reads.lock().unwrap_or_else(|p| p.into_inner());
                recent.retain(|_, at| now - *at < READ_AUDIT_WINDOW);
                recent.insert((reader, patient_id), now);
            }
            self.refresh().await?;
            self.local_write.notify_one();
        }
        Ok(records)
    }

    /// A patient's timeline, newest first.
    pub async fn timeline(&self, patient_id: i64, limit: u32) -> Result<Vec<LocalRecord>> {
        self.blocking(move |c| store::timeline(c, patient_id, limit))
            .await
    }

    /// One record of the timeline.
    pub async fn record(&self, id: Uuid) -> Result<Option<LocalRecord>> {
        self.blocking(move |c| store::record(c, id)).await
    }

    /// The facility's patients, optionally filtered by name, MRN or room.
    pub async fn patients(&self, search: &str) -> Result<Vec<RosterPatient>> {
        let search = search.to_owned();
        self.blocking(move |c| store::roster(c, &search)).await
    }

    /// PRN doses of the facility whose effectiveness follow-up is due soon or
    /// overdue, most urgent first (see [`due`] for the window).
    pub async fn due_follow_ups(&self) -> Result<Vec<DueFollowUp>> {
        self.blocking(|c| due::due_follow_ups(c, Utc::now())).await
    }

    /// Colleagues' care notes of the last shift (see [`handoff`]); `reader`'s
    /// own are left out.
    pub async fn handoff_notes(&self, reader: Option<i64>) -> Result<Vec<HandoffNote>> {
        self.blocking(move |c| handoff::handoff_notes(c, Utc::now(), reader))
            .await
    }

    /// Shows a resident as the server answered an edit made here, before
    /// the next sync brings the same row (see [`store::apply_resident`]).
    pub async fn apply_resident(&self, change: SyncChange) -> Result<()> {
        self.blocking(move |c| store::apply_resident(c, &change))
            .await
    }

    /// A staff member's own language in the device's copy of the staff
    /// (see [`store::set_staff_language`]).
    pub async fn set_staff_language(
        &self,
        user_id: i64,
        language: Option<tend_domain::Language>,
    ) -> Result<()> {
        self.blocking(move |c| store::set_staff_language(c, user_id, language))
            .await
    }

    /// Open wandering alerts as synced (see [`alerts::recorded_alerts`]).
    pub async fn recorded_alerts(&self) -> Result<Vec<tend_domain::wire::LiveAlert>> {
        self.blocking(|c| alerts::recorded_alerts(c, Utc::now()))
            .await
    }

    /// The device's facility as last pulled (`None` before the first sync).
    pub async fn facility(&self) -> Result<Option<SyncedFacility>> {
        self.blocking(|c| store::facility(c)).await
    }

    /// Runs `work` on the vault's connection on a blocking thread.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let vault = self.vault.clone();
        tokio::task::spawn_blocking(move || {
            // A panic elsewhere rolled its transaction back; the connection is fine.
            let mut guard = vault.lock().unwrap_or_else(|p| p.into_inner());
            work(guard.connection_mut())
        })
        .await
        .map_err(|e| CoreError::Database(format!("a device database task failed: {e}")))?
    }

    /// Re-reads counts and bookkeeping into the status.
    async fn refresh(&self) -> Result<()> {
        let stored = self.blocking(|c| store::stored_state(c)).await?;
        self.status.send_modify(|s| apply_stored(s, &stored));
        Ok(())
    }

    /// One round: push the whole outbox in batches, then pull every page
    /// of the change feed. Records the outcome for the status.
    pub async fn sync_once<A: SyncApi>(
        &self,
        api: &A,
        settings: &SyncSettings,
    ) -> Result<RoundReport> {
        self.status.send_modify(|s| s.syncing = true);
        let outcome = self.round(api, settings).await;
        let now = Utc::now();
        let recorded = match &outcome {
            Ok(_) => self.blocking(move |c| store::record_success(c, now)).await,
            Err(e) => {
                let (code, message) = (e.code(), plain_words(e));
                self.blocking(move |c| store::record_failure(c, code, &message, now))
                    .await
            }
        };
        if let Err(e) = recorded {
            tracing::warn!(error = %e, "could not record the sync outcome");
        }
        let refreshed = self.refresh().await;
        self.status.send_modify(|s| {
            s.syncing = false;
            s.initial_sync = None;
            match &outcome {
                Ok(_) => s.online = Some(true),
                Err(e) => s.online = Some(e.code() != ErrorCode::Offline),
            }
        });
        refreshed?;
        outcome
    }

    async fn round<A: SyncApi>(&self, api: &A, settings: &SyncSettings) -> Result<RoundReport> {
        let mut report = RoundReport {
            moved: self.follow_move(api, settings).await?,
            ..RoundReport::default()
        };
        // Every push names the facility its operations were written for, so
        // a move the server made since this round began cannot file them in
        // the new facility (or have them refused there).
        let written_for = match &self.relocation {
            Some(host) => host.enrolled_facility()?,
            None => None,
        };
        let (pushed, rejected) = self.push_outbox(api, settings, written_for).await?;
        report.pushed += pushed;
        report.rejected += rejected;
        self.pull_feed(api, settings, &mut report).await?;
        Ok(report)
    }

    /// Follows a move (see [`relocation`]) when the server places the device
    /// in another facility than its enrollment names: signs everyone out,
    /// uploads the outbox for the old facility, erases it, forgets the feed's
    /// position and saves the new facility; the round's pull then receives
    /// the new facility from scratch.
    async fn follow_move<A: SyncApi>(
        &self,
        api: &A,
        settings: &SyncSettings,
    ) -> Result<Option<MoveReport>> {
        let Some(host) = self.relocation.clone() else {
            return Ok(None);
        };
        let placement = api.placement().await?;
        let Some(relocation::Move { from, to }) =
            relocation::detect(host.enrolled_facility()?, placement)
        else {
            return Ok(None);
        };
        tracing::warn!(
            from,
            to = to.facility_id,
            "an administrator moved this device to another facility; following"
        );
        host.sign_out_everyone();
        let (uploaded, rejected) = self.push_outbox(api, settings, Some(from)).await?;
        let erased = self.blocking(store::erase_facility).await?;
        if erased.refused > 0 {
            tracing::warn!(
                count = erased.refused,
                "operations the server had refused were erased with the facility this device left"
            );
        }
        self.refresh().await?;
        host.save_facility(&to)?;
        tracing::info!(
            from,
            to = to.facility_id,
            uploaded,
            residents_erased = erased.residents,
            "moved: the old facility is erased; pulling the new one"
        );
        Ok(Some(MoveReport {
            from,
            to: to.facility_id,
            uploaded,
            rejected,
            residents_erased: erased.residents,
            refused_erased: erased.refused,
        }))
    }

    /// Pushes the whole outbox in batches; `facility` names the facility
    /// the operations were written for (the server files operations of the
    /// facility a moved device left there). Returns how many the server has and how many it
    /// refused for good.
    async fn push_outbox<A: SyncApi>(
        &self,
        api: &A,
        settings: &SyncSettings,
        facility: Option<i64>,
    ) -> Result<(usize, usize)> {
        let (mut pushed, mut refused) = (0, 0);
        let batch_size = settings.batch_size.clamp(1, MAX_PUSH_OPERATIONS);
        loop {
            let operations = self
                .blocking(move |c| store::pending_operations(c, batch_size))
                .await?;
            if operations.is_empty() {
                break;
            }
            let sent: Vec<Uuid> = operations.iter().map(|o| o.id).collect();
            let device_time = Utc::now();
            let body = SyncPush {
                protocol_version: settings.protocol_version,
                schema_version: settings.schema_version,
                device_time,
                operations,
                facility_id: facility,
            };
            let result = api.push(&body).await?;
            self.status.send_modify(|s| s.online = Some(true));
            let applied = self
                .blocking(move |c| store::apply_push_result(c, &sent, device_time, &result))
                .await?;
            pushed += applied.synced;
            refused += applied.rejected;
            self.refresh().await?;
            if applied.synced + applied.rejected == 0 {
                // Without progress the same batch would be sent forever.
                return Err(CoreError::Api {
                    code: ErrorCode::Internal,
                    message: "the server answered an upload without any of its entries".into(),
                });
            }
        }
        Ok((pushed, refused))
    }

    /// Pulls every page of the change feed from where it stopped.
    async fn pull_feed<A: SyncApi>(
        &self,
        api: &A,
        settings: &SyncSettings,
        report: &mut RoundReport,
    ) -> Result<()> {
        let query = |cursor: Option<String>| SyncPullQuery {
            protocol_version: settings.protocol_version,
            schema_version: settings.schema_version,
            cursor,
            limit: settings.page_limit,
        };
        let mut cursor = self
            .blocking(|c| Ok(store::stored_state(c)?.cursor))
            .await?;
        let mut page = match api.pull(&query(cursor.clone())).await {
            // The server no longer knows where this device stopped (its
            // database was restored, the feed was rebuilt): start over
            // rather than be refused forever. Upserts make it harmless.
            Err(e) if cursor.is_some() && refuses_cursor(&e) => {
                tracing::warn!(
                    "the server refused this device's sync position; syncing from the start"
                );
                self.blocking(store::forget_cursor).await?;
                cursor = None;
                api.pull(&query(None)).await?
            }
            other => other?,
        };
        let initial = cursor.is_none();
        self.status.send_modify(|s| s.online = Some(true));
        loop {
            report.pulled += page.changes.len();
            report.pages += 1;
            if initial {
                let progress = progress(report.pulled as u64, page.remaining, page.has_more);
                self.status.send_modify(|s| s.initial_sync = Some(progress));
            }
            let has_more = page.has_more;
            let next = query(Some(page.cursor.clone()));
            // Each page is its own transaction; the next page is fetched
            // while this one is written.
            let apply = self.blocking(move |c| store::apply_page(c, &page));
            if !has_more {
                apply.await?;
                break;
            }
            let (applied, fetched) = tokio::join!(apply, api.pull(&next));
            applied?;
            page = fetched?;
        }
        Ok(())
    }

    /// Syncs until `shutdown` resolves or the server ends the enrollment:
    /// at once, then after every local write (debounced), on
    /// [`SyncEngine::sync_now`], and every `settings.interval`; after a
    /// failure it backs off (see [`retry_delay`]) and always tries again.
    /// Run one loop per engine.
    pub async fn run<A: SyncApi>(
        &self,
        api: &A,
        settings: &SyncSettings,
        shutdown: impl Future<Output = ()>,
    ) -> SyncEnd {
        tokio::pin!(shutdown);
        let mut failures = 0u32;
        loop {
            let outcome = tokio::select! {
                biased;
                () = &mut shutdown => return SyncEnd::Shutdown,
                outcome = self.sync_once(api, settings) => outcome,
            };
            match outcome {
                Ok(report) => {
                    failures = 0;
                    if report.pushed + report.rejected + report.pulled > 0 {
                        tracing::info!(
                            pushed = report.pushed,
                            rejected = report.rejected,
                            pulled = report.pulled,
                            "synced"
                        );
                    }
                    tokio::select! {
                        biased;
                        () = &mut shutdown => return SyncEnd::Shutdown,
                        () = self.wake.notified() => {}
                        () = self.local_write.notified() => {
                            // Let a burst of writes go up together.
                            tokio::select! {
                                biased;
                                () = &mut shutdown => return SyncEnd::Shutdown,
                                () = tokio::time::sleep(settings.debounce) => {}
                            }
                        }
                        () = tokio::time::sleep(settings.interval) => {}
                    }
                }
                Err(e) if ends_enrollment(e.code()) => {
                    tracing::warn!(code = %e.code(), "the server ended this device's enrollment; sync stops");
                    return SyncEnd::EnrollmentEnded(e.code());
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let delay = if e.code() == ErrorCode::UnsupportedVersion {
                        settings.update_retry
                    } else {
                        retry_delay(
                            failures,
                            settings.retry_base,
                            settings.retry_cap,
                            crate::heartbeat::random_unit(),
                        )
                    };
                    tracing::warn!(
                        code = %e.code(),
                        failures,
                        retry_in_ms = delay.as_millis() as u64,
                        "sync failed; trying again"
                    );
                    tokio::select! {
                        biased;
                        () = &mut shutdown => return SyncEnd::Shutdown,
                        () = self.wake.notified() => {}
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }
}

/// The server's answer to a position it did not issue for this facility,
/// or one ahead of its feed.
fn refuses_cursor(e: &CoreError) -> bool {
    e.code() == ErrorCode::ValidationFailed && e.fields().contains_key("cursor")
}

fn apply_stored(status: &mut SyncStatus, stored: &store::StoredSyncState) {
    status.pending = stored.pending;
    status.oldest_pending_since = stored.oldest_pending_since;
    status.rejected = stored.rejected;
    status.last_sync = stored.last_sync;
    status.update_needed = stored.update_needed;
    status.last_error = stored
        .last_error
        .as_ref()
        .map(|(code, message, at)| SyncProblem {
            code: *code,
            message: message.clone(),
            at: *at,
        });
}

fn progress(received: u64, remaining: u64, has_more: bool) -> InitialSyncProgress {
    let total = received.saturating_add(remaining).max(1);
    let percent = if has_more {
        ((received * 100) / total).min(99)
    } else {
        100
    };
    InitialSyncProgress {
        received: u32::try_from(received).unwrap_or(u32::MAX),
        remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
        percent: percent as u8,
    }
}

/// The sync details panel's words for a failure.
fn plain_words(e: &CoreError) -> String {
    match e.code() {
        ErrorCode::Offline => "The server cannot be reached. Everything written here is kept on \
                               this device and sent when the connection is back."
            .into(),
        ErrorCode::UnsupportedVersion => "The server no longer accepts this version of Tend. \
                                          Please update the app; everything written here is kept \
                                          on this device until then."
            .into(),
        ErrorCode::Unauthorized => {
            "The server did not accept this device's credentials; trying again.".into()
        }
        ErrorCode::StorageUnavailable => format!("The device database could not be used: {e}"),
        _ => format!("Sync failed: {e}"),
    }
}

#[cfg(test)]
mod tests;
