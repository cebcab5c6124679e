//! Repeat-tap suppression: a badge held near a reader, or tapped twice in a
//! hurry, must count once. Pure logic; the caller passes the time, so tests
//! (and the session logic) control the clock.

use std::time::{Duration, Instant};

use crate::BadgeUid;

/// Repeat taps of the same badge within this window are ignored.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_secs(3);

/// Remembers the last accepted badge and when it was accepted. A tap of the
/// same badge less than `window` after that is ignored; a different badge is
/// always accepted. The window runs from the accepted tap, not from ignored
/// ones, so holding a badge against a reader cannot block it for good.
///
/// Tap-out (a second tap by the logged-in user locks the session) is decided
/// by the session logic on taps this debouncer accepted.
#[derive(Debug, Clone)]
pub struct Debouncer {
    window: Duration,
    last: Option<(BadgeUid, Instant)>,
}

impl Default for Debouncer {
    fn default() -> Self {
        Self::new(DEFAULT_DEBOUNCE)
    }
}

impl Debouncer {
    /// A debouncer with the given window.
    pub fn new(window: Duration) -> Self {
        Self { window, last: None }
    }

    /// Whether a tap of `uid` at `now` counts. Accepted taps restart the window.
    pub fn accept(&mut self, uid: &BadgeUid, now: Instant) -> bool {
        if let Some((last_uid, at)) = &self.last {
            if last_uid == uid && now.saturating_duration_since(*at) < self.window {
                return false;
            }
        }
        self.last = Some((uid.clone(), now));
        true
    }

    /// Forgets the last badge (e.g. after the session was locked by other means).
    pub fn reset(&mut self) {
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn uid(n: u8) -> BadgeUid {
        BadgeUid::from_bytes(&[0x04, n, 0x10, 0x20]).unwrap()
    }

    #[test]
    fn same_badge_within_three_seconds_is_ignored() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut debouncer = Debouncer::default();
        assert!(debouncer.accept(&uid(1), ms(0)));
        assert!(!debouncer.accept(&uid(1), ms(1)));
        assert!(!debouncer.accept(&uid(1), ms(2_999)));
        assert!(debouncer.accept(&uid(1), ms(3_000)));
        assert!(!debouncer.accept(&uid(1), ms(4_000)));
    }

    #[test]
    fn another_badge_is_accepted_at_once() {
        let t0 = Instant::now();
        let mut debouncer = Debouncer::default();
        assert!(debouncer.accept(&uid(1), t0));
        assert!(debouncer.accept(&uid(2), t0 + Duration::from_millis(10)));
        // A returns right after B: a new person at the device, accepted.
        assert!(debouncer.accept(&uid(1), t0 + Duration::from_millis(20)));
    }

    #[test]
    fn reset_forgets_the_last_badge() {
        let t0 = Instant::now();
        let mut debouncer = Debouncer::default();
        assert!(debouncer.accept(&uid(1), t0));
        debouncer.reset();
        assert!(debouncer.accept(&uid(1), t0 + Duration::from_millis(1)));
    }

    /// Reference model: accepted iff no accepted tap of the same badge was
    /// less than the window ago and no other badge was accepted since.
    fn model(taps: &[(u8, u64)], window_ms: u64) -> Vec<bool> {
        let mut last: Option<(u8, u64)> = None;
        taps.iter()
            .map(|&(badge, at)| {
                let ignored = matches!(last, Some((b, t)) if b == badge && at - t < window_ms);
                if !ignored {
                    last = Some((badge, at));
                }
                !ignored
            })
            .collect()
    }

    proptest! {
        #[test]
        fn matches_the_reference_model(
            steps in prop::collection::vec((0u8..3, 0u64..5_000), 0..60),
            window_ms in 1u64..6_000,
        ) {
            let t0 = Instant::now();
            let mut at = 0;
            let taps: Vec<(u8, u64)> = steps.iter().map(|&(b, gap)| { at += gap; (b, at) }).collect();
            let mut debouncer = Debouncer::new(Duration::from_millis(window_ms));
            let got: Vec<bool> = taps
                .iter()
                .map(|&(b, t)| debouncer.accept(&uid(b), t0 + Duration::from_millis(t)))
                .collect();
            prop_assert_eq!(got, model(&taps, window_ms));
        }

        #[test]
        fn first_tap_always_counts_and_spaced_taps_always_count(gaps in prop::collection::vec(3_000u64..100_000, 1..20)) {
            let t0 = Instant::now();
            let mut debouncer = Debouncer::default();
            let mut at = 0;
            prop_assert!(debouncer.accept(&uid(7), t0));
            for gap in gaps {
                at += gap;
                prop_assert!(debouncer.accept(&uid(7), t0 + Duration::from_millis(at)));
            }
        }
    }
}
