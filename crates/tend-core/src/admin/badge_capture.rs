//! "Tap the new badge on this device's reader": while the console waits for a
//! badge for one person, the device's next badge read (a PC/SC reader or a
//! keyboard wedge) is assigned to them instead of signing anyone in, and the
//! capture ends. It also ends when the administrator cancels, after
//! [`CAPTURE_TIMEOUT`], and when the console's session ends.
//!
//! [`BadgeCapture`] is the switch the device's badge entrance asks first
//! ([`BadgeCapture::offer`]); the assignment goes through a [`BadgeAssigner`]
//! (the console's signed-in session, a fake in tests). The badge value goes
//! from the reader to the API and nowhere else: never returned, never logged.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use tend_badge::BadgeUid;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::admin_directory::BadgeSummary;
use crate::Result;

/// How long the console waits for a tap before it gives up.
pub const CAPTURE_TIMEOUT: Duration = Duration::from_secs(60);

/// Where a captured badge goes.
pub trait BadgeAssigner: Send + Sync {
    /// Assigns `badge` to the user `user_id`, with an optional note.
    fn assign(
        &self,
        user_id: i64,
        badge: &BadgeUid,
        label: Option<&str>,
    ) -> impl Future<Output = Result<BadgeSummary>> + Send;
}

/// How a capture ended (a refused assignment is an error, with the API's code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CaptureOutcome {
    /// A badge was tapped and is now assigned (never its number).
    Assigned { badge: BadgeSummary },
    /// The administrator cancelled, or started another capture.
    Cancelled,
    /// Nobody tapped within `seconds`.
    TimedOut { seconds: u32 },
    /// The console's session ended (signed out, or the server ended it).
    SessionEnded,
    /// The card tapped cannot serve as a badge (a phone, a bank card).
    UnsupportedCard,
}

/// Why the wait ended, as the badge entrance or the console tells it.
enum WaitOver {
    Tapped(BadgeUid),
    Cancelled,
    SessionEnded,
    UnsupportedCard,
}

struct Armed {
    ticket: u64,
    deadline: Instant,
    ended: oneshot::Sender<WaitOver>,
}

/// At most one capture at a time; cheap to ask when none is armed.
#[derive(Default)]
pub struct BadgeCapture {
    armed: Mutex<Option<Armed>>,
    tickets: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for BadgeCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BadgeCapture")
            .field("armed", &self.is_armed())
            .finish()
    }
}

impl BadgeCapture {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Armed>> {
        self.armed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits (up to `timeout`) for the next badge read and assigns it to
    /// `user_id` through `assigner`. A capture armed earlier ends as
    /// cancelled. Dropping the returned future disarms the capture.
    pub async fn capture<A: BadgeAssigner>(
        &self,
        assigner: &A,
        user_id: i64,
        label: Option<&str>,
        timeout: Duration,
    ) -> Result<CaptureOutcome> {
        let (ended_tx, ended) = oneshot::channel();
        let ticket = self
            .tickets
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let armed = Armed {
            ticket,
            deadline: Instant::now() + timeout,
            ended: ended_tx,
        };
        if let Some(earlier) = self.lock().replace(armed) {
            let _ = earlier.ended.send(WaitOver::Cancelled);
        }
        tracing::info!(user_id, "waiting for a badge tap to assign");
        let _disarm = Disarm {
            capture: self,
            ticket,
        };
        let ended = match tokio::time::timeout(timeout, ended).await {
            Ok(Ok(ended)) => ended,
            // Dropped without a word: only a replaced capture's sender is.
            Ok(Err(_)) => WaitOver::Cancelled,
            Err(_) => {
                tracing::info!(user_id, "no badge tapped in time");
                return Ok(CaptureOutcome::TimedOut {
                    seconds: u32::try_from(timeout.as_secs()).unwrap_or(u32::MAX),
                });
            }
        };
        match ended {
            WaitOver::Tapped(badge) => {
                let badge = assigner.assign(user_id, &badge, label).await?;
                Ok(CaptureOutcome::Assigned { badge })
            }
            WaitOver::Cancelled => Ok(CaptureOutcome::Cancelled),
            WaitOver::SessionEnded => Ok(CaptureOutcome::SessionEnded),
            WaitOver::UnsupportedCard => Ok(CaptureOutcome::UnsupportedCard),
        }
    }

    /// The badge entrance offers every read here first: `Ok` when a capture
    /// took it (it is assigned, not a sign-in), or the badge back for the
    /// lock screen.
    pub fn offer(&self, badge: BadgeUid) -> std::result::Result<(), BadgeUid> {
        let Some(armed) = self.take_live() else {
            return Err(badge);
        };
        match armed.ended.send(WaitOver::Tapped(badge)) {
            Ok(()) => {
                tracing::info!("badge tap taken for assignment");
                Ok(())
            }
            // The waiter went away at this very moment: the tap is a sign-in.
            Err(WaitOver::Tapped(badge)) => Err(badge),
            Err(_) => Ok(()),
        }
    }

    /// A card that cannot be a badge was tapped; true when a capture was
    /// waiting (it ends and says so; the lock screen hears nothing).
    pub fn unsupported_card(&self) -> bool {
        self.end(WaitOver::UnsupportedCard)
    }

    /// The administrator cancelled; true when a capture was waiting.
    pub fn cancel(&self) -> bool {
        self.end(WaitOver::Cancelled)
    }

    /// The console's session ended; true when a capture was waiting.
    pub fn session_ended(&self) -> bool {
        self.end(WaitOver::SessionEnded)
    }

    /// Whether a capture waits for a tap now.
    pub fn is_armed(&self) -> bool {
        self.lock()
            .as_ref()
            .is_some_and(|a| !a.ended.is_closed() && Instant::now() < a.deadline)
    }

    fn end(&self, why: WaitOver) -> bool {
        match self.take_live() {
            Some(armed) => armed.ended.send(why).is_ok(),
            None => false,
        }
    }

    /// The armed capture, disarmed, unless it has no waiter or ran out of time.
    fn take_live(&self) -> Option<Armed> {
        let armed = self.lock().take()?;
        (!armed.ended.is_closed() && Instant::now() < armed.deadline).then_some(armed)
    }
}

/// Disarms the capture `ticket` when its wait ends in any way (a later
/// capture is left armed).
struct Disarm<'a> {
    capture: &'a BadgeCapture,
    ticket: u64,
}

impl Drop for Disarm<'_> {
    fn drop(&mut self) {
        let mut armed = self.capture.lock();
        if armed.as_ref().is_some_and(|a| a.ticket == self.ticket) {
            *armed = None;
        }
    }
}

#[cfg(test)]
mod tests;
