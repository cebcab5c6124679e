//! The PC/SC badge source: a background thread that waits on the PC/SC
//! service for reader and card changes, reads each presented card's UID with
//! the `FF CA 00 00 00` pseudo-APDU, and reports it.
//!
//! It blocks in `SCardGetStatusChange` with no timeout (reader hot-plug comes
//! through the `\\?PnP?\Notification` pseudo-reader), so it costs no CPU while
//! idle; `stop()` wakes it with `SCardCancel`. When the service goes away
//! (pcscd stopped or restarted) it reports [`BadgeRead::ServiceLost`], retries
//! with exponential backoff and reports [`BadgeRead::ServiceRestored`].

use std::ffi::{CStr, CString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pcsc::{Context, Disposition, Protocols, ReaderState, Scope, ShareMode, State};

use crate::event::interpret_get_uid_response;
use crate::{BadgeError, BadgeRead, BadgeSink, BadgeSource, Result, UnsupportedReason};

/// The PC/SC pseudo-APDU "GET DATA: UID" (PC/SC part 3, 3.2.2.1.3).
const GET_UID: [u8; 5] = [0xFF, 0xCA, 0x00, 0x00, 0x00];

/// Tuning for [`PcscWatcher`]. The defaults suit production and tests.
#[derive(Debug, Clone)]
pub struct PcscConfig {
    /// First wait before re-establishing a lost PC/SC context.
    pub reconnect_min: Duration,
    /// Longest wait between attempts while the service is down.
    pub reconnect_max: Duration,
    /// How often to re-list readers when the service has no PnP notification
    /// (never the case with pcsc-lite ≥ 1.6; a fallback, not the normal path).
    pub fallback_poll: Duration,
    /// Only readers whose name contains this are watched (`None`: all readers).
    pub reader_filter: Option<String>,
}

impl Default for PcscConfig {
    fn default() -> Self {
        Self {
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(2),
            fallback_poll: Duration::from_secs(1),
            reader_filter: None,
        }
    }
}

/// Watches all PC/SC readers on a background thread. See the module docs.
#[derive(Debug)]
pub struct PcscWatcher {
    config: PcscConfig,
    running: Option<Running>,
}

#[derive(Debug)]
struct Running {
    shared: Arc<Shared>,
    thread: JoinHandle<()>,
}

/// State shared between the watcher thread and `stop()`.
#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    /// The context the thread is blocked on, so `stop()` can cancel it.
    context: Mutex<Option<Context>>,
    /// Wakes the backoff sleep early on stop.
    wake: (Mutex<()>, Condvar),
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("stop", &self.stop.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn set_context(&self, context: Option<Context>) {
        *self.context.lock().unwrap_or_else(PoisonError::into_inner) = context;
    }

    /// Sleeps for `duration` or until stopped; true when stopped.
    fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        let mut guard = self.wake.0.lock().unwrap_or_else(PoisonError::into_inner);
        while !self.stopped() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            guard = self
                .wake
                .1
                .wait_timeout(guard, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        self.stopped()
    }
}

impl PcscWatcher {
    /// A watcher with the given configuration; nothing runs until `start`.
    pub fn new(config: PcscConfig) -> Self {
        Self {
            config,
            running: None,
        }
    }

    /// Whether the background thread is running.
    pub fn is_running(&self) -> bool {
        self.running
            .as_ref()
            .is_some_and(|running| !running.thread.is_finished())
    }
}

impl Default for PcscWatcher {
    fn default() -> Self {
        Self::new(PcscConfig::default())
    }
}

impl BadgeSource for PcscWatcher {
    fn name(&self) -> &'static str {
        "pcsc"
    }

    fn start(&mut self, sink: BadgeSink) -> Result<()> {
        if self.is_running() {
            return Err(BadgeError::AlreadyRunning);
        }
        self.stop();
        let shared = Arc::new(Shared::default());
        let thread = std::thread::Builder::new()
            .name("tend-badge-pcsc".into())
            .spawn({
                let shared = Arc::clone(&shared);
                let config = self.config.clone();
                move || Worker::new(config, sink, shared).run()
            })?;
        self.running = Some(Running { shared, thread });
        Ok(())
    }

    fn stop(&mut self) {
        let Some(Running { shared, thread }) = self.running.take() else {
            return;
        };
        shared.stop.store(true, Ordering::SeqCst);
        {
            let _guard = shared.wake.0.lock().unwrap_or_else(PoisonError::into_inner);
            shared.wake.1.notify_all();
        }
        // SCardCancel only interrupts a call already in progress, and the thread
        // may be between calls: keep cancelling until it has noticed the flag.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !thread.is_finished() && Instant::now() < deadline {
            if let Some(context) = shared
                .context
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
            {
                let _ = context.cancel();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if thread.is_finished() {
            if thread.join().is_err() {
                tracing::error!("the PC/SC watcher thread panicked");
            }
        } else {
            tracing::warn!("the PC/SC watcher thread did not stop within 5 s; leaving it");
        }
    }
}

impl Drop for PcscWatcher {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Why a session on one context ended.
enum SessionEnd {
    /// `stop()` was called or the receiver is gone.
    Stopped,
    /// The service went away; re-establish.
    ServiceLost,
    /// An unexpected PC/SC error; back off and start over.
    Failed(pcsc::Error),
}

/// Errors that mean the context is dead and must be established again.
fn is_service_error(error: pcsc::Error) -> bool {
    matches!(
        error,
        pcsc::Error::NoService
            | pcsc::Error::ServiceStopped
            | pcsc::Error::InvalidHandle
            | pcsc::Error::CommError
            | pcsc::Error::Shutdown
            | pcsc::Error::SystemCancelled
    )
}

/// One watched reader.
struct Reader {
    name: String,
    card_present: bool,
    /// pcsc-lite's per-reader insert/remove counter, to catch a quick
    /// remove-and-insert between two wakeups.
    event_count: u32,
}

struct Worker {
    config: PcscConfig,
    sink: BadgeSink,
    shared: Arc<Shared>,
    /// Whether the last attempt reached the service (`None` before the first).
    service_up: Option<bool>,
}

impl Worker {
    fn new(config: PcscConfig, sink: BadgeSink, shared: Arc<Shared>) -> Self {
        Self {
            config,
            sink,
            shared,
            service_up: None,
        }
    }

    fn emit(&self, read: BadgeRead) -> bool {
        let delivered = self.sink.send(read);
        if !delivered {
            // Nobody listens any more: stop quietly.
            self.shared.stop.store(true, Ordering::SeqCst);
        }
        delivered
    }

    fn service_lost(&mut self) {
        if self.service_up != Some(false) {
            tracing::warn!("the PC/SC service is unavailable; retrying");
            self.service_up = Some(false);
            self.emit(BadgeRead::ServiceLost);
        }
    }

    fn run(mut self) {
        let mut backoff = self.config.reconnect_min;
        while !self.shared.stopped() {
            match Context::establish(Scope::User) {
                Ok(context) => {
                    self.shared.set_context(Some(context.clone()));
                    if self.shared.stopped() {
                        break;
                    }
                    if self.service_up == Some(false) {
                        tracing::info!("the PC/SC service is back");
                        self.emit(BadgeRead::ServiceRestored);
                    }
                    self.service_up = Some(true);
                    backoff = self.config.reconnect_min;
                    // The pcsc crate panics on unknown PC/SC error codes in debug
                    // builds; a badge reader must not die of that, so start over.
                    let end = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        self.session(&context)
                    }))
                    .unwrap_or(SessionEnd::Failed(pcsc::Error::UnknownError));
                    self.shared.set_context(None);
                    match end {
                        SessionEnd::Stopped => break,
                        SessionEnd::ServiceLost => self.service_lost(),
                        SessionEnd::Failed(error) => {
                            tracing::warn!(%error, "PC/SC error; starting over");
                            backoff = (backoff * 2).min(self.config.reconnect_max);
                        }
                    }
                }
                Err(error) => {
                    if !is_service_error(error) {
                        tracing::warn!(%error, "cannot establish a PC/SC context");
                    }
                    self.service_lost();
                    backoff = (backoff * 2).min(self.config.reconnect_max);
                }
            }
            if self.shared.sleep(backoff) {
                break;
            }
        }
        tracing::debug!("PC/SC watcher stopped");
    }

    fn wanted(&self, name: &str) -> bool {
        self.config
            .reader_filter
            .as_deref()
            .is_none_or(|filter| name.contains(filter))
    }

    /// Watches readers on one context until it dies or we are stopped.
    fn session(&mut self, context: &Context) -> SessionEnd {
        let pnp = pcsc::PNP_NOTIFICATION();
        let mut use_pnp = true;
        // states[i] ↔ readers[i]; the PnP pseudo-reader, when used, is last.
        let mut states: Vec<ReaderState> = Vec::new();
        let mut readers: Vec<Reader> = Vec::new();
        let mut pnp_state = ReaderState::new(pnp, State::UNAWARE);

        let end = loop {
            // Bring the reader list up to date (at start, and after PnP news).
            let names = match context.list_readers_owned() {
                Ok(names) => names,
                Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
                Err(error) if is_service_error(error) => break SessionEnd::ServiceLost,
                Err(error) => break SessionEnd::Failed(error),
            };
            let mut index = 0;
            while index < readers.len() {
                let gone = !names
                    .iter()
                    .any(|name| name.as_bytes() == readers[index].name.as_bytes());
                if gone {
                    let reader = readers.remove(index);
                    states.remove(index);
                    if !self.reader_gone(reader) {
                        break;
                    }
                } else {
                    index += 1;
                }
            }
            for name in names {
                let Ok(text) = name.to_str().map(str::to_owned) else {
                    continue;
                };
                if !self.wanted(&text) || readers.iter().any(|r| r.name == text) {
                    continue;
                }
                tracing::info!(reader = %text, "badge reader added");
                readers.push(Reader {
                    name: text.clone(),
                    card_present: false,
                    event_count: 0,
                });
                states.push(ReaderState::new(name, State::UNAWARE));
                self.emit(BadgeRead::ReaderAdded { reader: text });
            }
            if self.shared.stopped() {
                break SessionEnd::Stopped;
            }

            // Wait for a change. With PnP this blocks indefinitely; stop() cancels.
            let mut wait_states: Vec<ReaderState> = Vec::with_capacity(states.len() + 1);
            std::mem::swap(&mut wait_states, &mut states);
            if use_pnp {
                wait_states.push(pnp_state);
            }
            let timeout = (!use_pnp).then_some(self.config.fallback_poll);
            let outcome = context.get_status_change(timeout, &mut wait_states);
            if use_pnp {
                pnp_state = wait_states.pop().expect("pushed above");
            } else {
                pnp_state = ReaderState::new(pnp, State::UNAWARE);
            }
            states = wait_states;
            match outcome {
                Ok(()) => {}
                Err(pcsc::Error::Timeout) => continue,
                Err(pcsc::Error::Cancelled) if self.shared.stopped() => break SessionEnd::Stopped,
                Err(pcsc::Error::Cancelled) => continue,
                // A reader vanished between listing and waiting: list again
                // (after a pause, so a confused service cannot make us spin).
                Err(pcsc::Error::UnknownReader) => {
                    if self.shared.sleep(Duration::from_millis(50)) {
                        break SessionEnd::Stopped;
                    }
                    continue;
                }
                Err(error) if is_service_error(error) => break SessionEnd::ServiceLost,
                Err(error) => break SessionEnd::Failed(error),
            }
            if self.shared.stopped() {
                break SessionEnd::Stopped;
            }

            if use_pnp {
                if pnp_state
                    .event_state()
                    .intersects(State::UNKNOWN | State::IGNORE)
                {
                    tracing::info!("PC/SC has no reader hot-plug notification; polling instead");
                    use_pnp = false;
                }
                pnp_state.sync_current_state();
            }
            for (state, reader) in states.iter_mut().zip(readers.iter_mut()) {
                let event = state.event_state();
                state.sync_current_state();
                if event.intersects(State::UNKNOWN | State::IGNORE) {
                    // Unplugged: the list refresh at the top reports it.
                    continue;
                }
                let present = event.contains(State::PRESENT);
                let count = state.event_count();
                let replaced = reader.card_present && present && count != reader.event_count;
                reader.event_count = count;
                if reader.card_present && (!present || replaced) {
                    reader.card_present = false;
                    tracing::debug!(reader = %reader.name, "card removed");
                    self.emit(BadgeRead::Removed {
                        reader: reader.name.clone(),
                    });
                }
                if present && !reader.card_present {
                    reader.card_present = true;
                    let read = if event.contains(State::MUTE) {
                        Err(UnsupportedReason::NoResponse)
                    } else {
                        match read_uid(context, state.name()) {
                            Ok(read) => read,
                            Err(error) if is_service_error(error) => {
                                return self.end_session(readers, SessionEnd::ServiceLost)
                            }
                            Err(_) => Err(UnsupportedReason::Transmission),
                        }
                    };
                    let read = match read {
                        Ok(uid) => {
                            tracing::info!(reader = %reader.name, "badge presented");
                            BadgeRead::Present {
                                reader: reader.name.clone(),
                                uid,
                            }
                        }
                        Err(reason) => {
                            tracing::info!(reader = %reader.name, reason = reason.code(), "unsupported card presented");
                            BadgeRead::Unsupported {
                                reader: reader.name.clone(),
                                reason,
                            }
                        }
                    };
                    self.emit(read);
                }
            }
            if self.shared.stopped() {
                break SessionEnd::Stopped;
            }
        };
        self.end_session(readers, end)
    }

    /// Reports what a dead context leaves behind: cards and readers are gone
    /// as far as anyone can tell.
    fn end_session(&mut self, readers: Vec<Reader>, end: SessionEnd) -> SessionEnd {
        if !matches!(end, SessionEnd::Stopped) {
            for reader in readers {
                if !self.reader_gone(reader) {
                    return SessionEnd::Stopped;
                }
            }
        }
        end
    }

    /// Reports a reader's disappearance (and its card's); false when stopped.
    fn reader_gone(&mut self, reader: Reader) -> bool {
        tracing::info!(reader = %reader.name, "badge reader removed");
        if reader.card_present
            && !self.emit(BadgeRead::Removed {
                reader: reader.name.clone(),
            })
        {
            return false;
        }
        self.emit(BadgeRead::ReaderRemoved {
            reader: reader.name,
        })
    }
}

/// Errors another client or a card reset can cause for a moment; worth a retry.
fn is_transient(error: pcsc::Error) -> bool {
    matches!(
        error,
        pcsc::Error::SharingViolation
            | pcsc::Error::ResetCard
            | pcsc::Error::NotTransacted
            | pcsc::Error::ServerTooBusy
    )
}

/// Connects to the card in `reader` and asks for its UID, retrying briefly
/// when another client is using the card. The outer error is a PC/SC failure
/// that ends the session (service gone); the inner one is a card that is not a
/// usable badge.
fn read_uid(
    context: &Context,
    reader: &CStr,
) -> std::result::Result<std::result::Result<crate::BadgeUid, UnsupportedReason>, pcsc::Error> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match try_read_uid(context, reader) {
            Ok(read) => return Ok(read),
            Err(error) if is_service_error(error) => return Err(error),
            Err(error) if is_transient(error) && attempt < 5 => {
                tracing::debug!(%error, attempt, "card busy; retrying");
                std::thread::sleep(Duration::from_millis(10 * attempt));
            }
            Err(
                pcsc::Error::UnresponsiveCard
                | pcsc::Error::UnpoweredCard
                | pcsc::Error::UnsupportedCard
                | pcsc::Error::InvalidAtr,
            ) => return Ok(Err(UnsupportedReason::NoResponse)),
            Err(error) => {
                tracing::info!(%error, "reading the card failed");
                return Ok(Err(UnsupportedReason::Transmission));
            }
        }
    }
}

fn try_read_uid(
    context: &Context,
    reader: &CStr,
) -> std::result::Result<std::result::Result<crate::BadgeUid, UnsupportedReason>, pcsc::Error> {
    let card = context.connect(reader, ShareMode::Shared, Protocols::ANY)?;
    let mut buffer = [0u8; pcsc::MAX_BUFFER_SIZE];
    let result = card
        .transmit(&GET_UID, &mut buffer)
        .map(interpret_get_uid_response);
    buffer.fill(0);
    if let Err((_, error)) = card.disconnect(Disposition::LeaveCard) {
        tracing::debug!(%error, "disconnect after reading the UID failed");
    }
    result
}

/// Lists the PC/SC readers now visible (a diagnostic for settings screens and
/// scripts). Empty when there are none.
pub fn list_readers() -> std::result::Result<Vec<String>, pcsc::Error> {
    let context = Context::establish(Scope::User)?;
    match context.list_readers_owned() {
        Ok(names) => Ok(names
            .into_iter()
            .filter_map(|name: CString| name.into_string().ok())
            .collect()),
        Err(pcsc::Error::NoReadersAvailable) => Ok(Vec::new()),
        Err(error) => Err(error),
    }
}
