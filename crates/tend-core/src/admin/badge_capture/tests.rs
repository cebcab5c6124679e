//! The badge capture against a fake assigner standing for the console's
//! session. Each test is one story of the admin console waiting for a tap;
//! waits run on tokio's paused clock, so the minute is virtual.

use std::sync::{Arc, Mutex};

use chrono::Utc;
use tend_domain::ErrorCode;
use tokio::task::JoinHandle;

use super::*;
use crate::CoreError;

const NURSE: i64 = 21;

fn badge(n: u8) -> BadgeUid {
    BadgeUid::from_bytes(&[0x04, n, 0x10, 0x20]).unwrap()
}

/// The console's session: records what it assigned, or refuses with a code.
#[derive(Default)]
struct FakeConsole {
    assigned: Mutex<Vec<(i64, String, Option<String>)>>,
    refuse: Mutex<Option<ErrorCode>>,
}

impl FakeConsole {
    fn assigned(&self) -> Vec<(i64, String, Option<String>)> {
        self.assigned.lock().unwrap().clone()
    }
}

impl BadgeAssigner for FakeConsole {
    async fn assign(
        &self,
        user_id: i64,
        badge: &BadgeUid,
        label: Option<&str>,
    ) -> Result<BadgeSummary> {
        if let Some(code) = *self.refuse.lock().unwrap() {
            return Err(CoreError::Api {
                code,
                message: "this badge is active for someone else".into(),
            });
        }
        let mut assigned = self.assigned.lock().unwrap();
        assigned.push((
            user_id,
            badge.expose_canonical().to_owned(),
            label.map(str::to_owned),
        ));
        Ok(BadgeSummary {
            id: assigned.len() as i64,
            user_id,
            label: label.map(str::to_owned),
            is_active: true,
            locked_until: None,
            created_at: Utc::now(),
            revoked_at: None,
            last_used_at: None,
        })
    }
}

struct Console {
    capture: Arc<BadgeCapture>,
    session: Arc<FakeConsole>,
}

impl Console {
    fn new() -> Self {
        Self {
            capture: Arc::new(BadgeCapture::default()),
            session: Arc::new(FakeConsole::default()),
        }
    }

    /// "Tap a badge to assign" for `user_id`; returns once the capture is armed.
    async fn wait_for_tap(
        &self,
        user_id: i64,
        label: Option<&str>,
    ) -> JoinHandle<Result<CaptureOutcome>> {
        let capture = self.capture.clone();
        let session = self.session.clone();
        let label = label.map(str::to_owned);
        let waiting = tokio::spawn(async move {
            capture
                .capture(&*session, user_id, label.as_deref(), CAPTURE_TIMEOUT)
                .await
        });
        while !self.capture.is_armed() {
            tokio::task::yield_now().await;
        }
        waiting
    }
}

#[tokio::test(start_paused = true)]
async fn with_no_capture_armed_every_tap_goes_to_the_lock_screen() {
    let console = Console::new();
    assert!(!console.capture.is_armed());
    assert!(console.capture.offer(badge(1)).is_err());
    assert!(!console.capture.unsupported_card());
    assert!(!console.capture.cancel());
    assert!(console.session.assigned().is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_armed_capture_assigns_the_next_tap_instead_of_signing_in_then_disarms() {
    let console = Console::new();
    let waiting = console.wait_for_tap(NURSE, Some("main badge")).await;

    // The tap goes to the assignment, not to the lock screen.
    assert!(console.capture.offer(badge(7)).is_ok());
    let outcome = waiting.await.unwrap().unwrap();
    let CaptureOutcome::Assigned { badge: assigned } = outcome else {
        panic!("expected an assignment, got {outcome:?}");
    };
    assert_eq!(assigned.user_id, NURSE);
    assert_eq!(
        console.session.assigned(),
        [(
            NURSE,
            badge(7).expose_canonical().to_owned(),
            Some("main badge".to_owned())
        )]
    );

    // One tap only: the next one signs in as usual.
    assert!(!console.capture.is_armed());
    assert!(console.capture.offer(badge(8)).is_err());
    assert_eq!(console.session.assigned().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_badge_already_someone_elses_is_refused_with_the_apis_code_and_the_capture_ends() {
    let console = Console::new();
    *console.session.refuse.lock().unwrap() = Some(ErrorCode::Conflict);
    let waiting = console.wait_for_tap(NURSE, None).await;

    assert!(console.capture.offer(badge(7)).is_ok());
    let err = waiting.await.unwrap().unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict);
    assert!(!console.capture.is_armed());
    assert!(console.capture.offer(badge(7)).is_err());
}

#[tokio::test(start_paused = true)]
async fn cancelling_ends_the_wait_and_the_next_tap_signs_in() {
    let console = Console::new();
    let waiting = console.wait_for_tap(NURSE, None).await;

    assert!(console.capture.cancel());
    assert_eq!(waiting.await.unwrap().unwrap(), CaptureOutcome::Cancelled);
    assert!(console.capture.offer(badge(7)).is_err());
    assert!(console.session.assigned().is_empty());
    // Cancelling twice is harmless.
    assert!(!console.capture.cancel());
}

#[tokio::test(start_paused = true)]
async fn nobody_tapping_for_a_minute_ends_the_wait() {
    let console = Console::new();
    let waiting = console.wait_for_tap(NURSE, None).await;

    tokio::time::sleep(CAPTURE_TIMEOUT - Duration::from_secs(1)).await;
    assert!(console.capture.is_armed(), "still waiting after 59 s");
    let outcome = waiting.await.unwrap().unwrap();
    assert_eq!(outcome, CaptureOutcome::TimedOut { seconds: 60 });
    assert!(!console.capture.is_armed());
    assert!(console.capture.offer(badge(7)).is_err());
    assert!(console.session.assigned().is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_console_session_ending_ends_the_wait() {
    let console = Console::new();
    let waiting = console.wait_for_tap(NURSE, None).await;

    assert!(console.capture.session_ended());
    assert_eq!(
        waiting.await.unwrap().unwrap(),
        CaptureOutcome::SessionEnded
    );
    assert!(console.capture.offer(badge(7)).is_err());
    assert!(console.session.assigned().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_card_that_cannot_be_a_badge_ends_the_wait_and_says_so() {
    let console = Console::new();
    let waiting = console.wait_for_tap(NURSE, None).await;

    assert!(console.capture.unsupported_card());
    assert_eq!(
        waiting.await.unwrap().unwrap(),
        CaptureOutcome::UnsupportedCard
    );
    assert!(!console.capture.is_armed());
}

#[tokio::test(start_paused = true)]
async fn choosing_another_person_replaces_the_wait_and_the_tap_is_theirs() {
    let console = Console::new();
    let first = console.wait_for_tap(NURSE, None).await;
    let second = console.wait_for_tap(NURSE + 1, None).await;

    assert_eq!(first.await.unwrap().unwrap(), CaptureOutcome::Cancelled);
    assert!(console.capture.is_armed(), "the second wait is still armed");
    assert!(console.capture.offer(badge(7)).is_ok());
    assert!(matches!(
        second.await.unwrap().unwrap(),
        CaptureOutcome::Assigned { .. }
    ));
    let assigned = console.session.assigned();
    assert_eq!(assigned.len(), 1);
    assert_eq!(assigned[0].0, NURSE + 1);
}

#[tokio::test(start_paused = true)]
async fn a_wait_nobody_listens_to_any_more_does_not_swallow_taps() {
    let console = Console::new();
    let waiting = console.wait_for_tap(NURSE, None).await;

    // The window went away (the command's future is dropped).
    waiting.abort();
    let _ = waiting.await;
    assert!(!console.capture.is_armed());
    assert!(console.capture.offer(badge(7)).is_err());
    assert!(console.session.assigned().is_empty());
}
