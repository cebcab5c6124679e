//! Badge login rules that the API and (later) the device's offline login must
//! apply identically: the PIN format, the lockout after wrong PINs, and the
//! facility's policy for when a badge alone is enough.

use chrono::{DateTime, Duration, Utc};

use crate::ValidationError;

/// Wrong PINs in a row that lock a badge.
pub const MAX_FAILED_PIN_ATTEMPTS: u32 = 5;

/// How long a badge stays locked after [`MAX_FAILED_PIN_ATTEMPTS`] wrong PINs.
pub const PIN_LOCKOUT: Duration = Duration::minutes(15);

/// Default hours a badge alone is accepted after a badge+PIN login (the usual
/// tap-and-go grace in clinical deployments: one shift).
pub const DEFAULT_GRACE_HOURS: i64 = 8;

/// Default hours after which a full re-authentication (badge+PIN) is due,
/// whatever the grace period; badge sessions also end by then.
pub const DEFAULT_REAUTH_HOURS: i64 = 12;

/// Checks a PIN: 4 to 8 ASCII digits, not one digit repeated and not a run
/// (`1234`, `8765`), which are the first guesses of anyone holding a lost badge.
/// The message never repeats the PIN.
pub fn check_pin(pin: &str) -> Result<(), ValidationError> {
    let digits = pin.as_bytes();
    if !(4..=8).contains(&digits.len()) || !digits.iter().all(u8::is_ascii_digit) {
        return Err(ValidationError::new("pin", "a PIN is 4 to 8 digits"));
    }
    let steps: Vec<i16> = digits
        .windows(2)
        .map(|w| i16::from(w[1]) - i16::from(w[0]))
        .collect();
    if steps.iter().all(|s| *s == 0) {
        return Err(ValidationError::new(
            "pin",
            "a PIN must not repeat one digit; choose one that is harder to guess",
        ));
    }
    if steps.iter().all(|s| *s == 1) || steps.iter().all(|s| *s == -1) {
        return Err(ValidationError::new(
            "pin",
            "a PIN must not be a run of consecutive digits; choose one that is harder to guess",
        ));
    }
    Ok(())
}

/// Why the PIN is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinReason {
    /// The user has not logged in with badge+PIN yet (or a PIN was reset since).
    NeverVerified,
    /// The last badge+PIN login is older than the grace period.
    GraceExpired,
    /// The periodic full re-authentication is due.
    ReauthDue,
}

impl PinReason {
    /// A sentence for the person at the device.
    pub fn message(self) -> &'static str {
        match self {
            Self::NeverVerified => "enter your PIN with your badge",
            Self::GraceExpired => {
                "enter your PIN: the badge-only period after your last PIN has ended"
            }
            Self::ReauthDue => "enter your PIN: the periodic re-authentication is due",
        }
    }
}

/// A facility's badge login policy, from its settings:
/// `badge_grace_hours` (0–24, default 8; 0 asks for the PIN every time) and
/// `badge_reauth_hours` (1–24, default 12). A missing or out-of-range value
/// keeps the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadgeLoginPolicy {
    pub grace: Duration,
    pub reauth: Duration,
}

impl Default for BadgeLoginPolicy {
    fn default() -> Self {
        Self {
            grace: Duration::hours(DEFAULT_GRACE_HOURS),
            reauth: Duration::hours(DEFAULT_REAUTH_HOURS),
        }
    }
}

impl BadgeLoginPolicy {
    pub fn from_settings(settings: Option<&serde_json::Value>) -> Self {
        let defaults = Self::default();
        let hours = |key: &str, min: i64| {
            settings
                .and_then(|s| s.get(key))
                .and_then(serde_json::Value::as_i64)
                .filter(|h| (min..=24).contains(h))
                .map(Duration::hours)
        };
        Self {
            grace: hours("badge_grace_hours", 0).unwrap_or(defaults.grace),
            reauth: hours("badge_reauth_hours", 1).unwrap_or(defaults.reauth),
        }
    }

    /// Whether a badge alone is enough at `now`, given the user's last
    /// badge+PIN login. `Err` says why the PIN is needed.
    pub fn badge_alone(
        &self,
        last_pin_login: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), PinReason> {
        let Some(at) = last_pin_login else {
            return Err(PinReason::NeverVerified);
        };
        // A timestamp from the future (clock trouble) counts as now, not as credit.
        let elapsed = now.signed_duration_since(at.min(now));
        if elapsed >= self.reauth {
            Err(PinReason::ReauthDue)
        } else if elapsed >= self.grace {
            Err(PinReason::GraceExpired)
        } else {
            Ok(())
        }
    }

    /// When a session started at `now` must end: its normal lifetime, but
    /// never past the re-authentication due after the last badge+PIN login.
    pub fn session_expiry(
        &self,
        last_pin_login: DateTime<Utc>,
        now: DateTime<Utc>,
        lifetime: Duration,
    ) -> DateTime<Utc> {
        (now + lifetime).min(last_pin_login.min(now) + self.reauth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pins_are_four_to_eight_digits_and_not_trivial() {
        for ok in ["4821", "90210", "73946281", "1235", "0012"] {
            assert!(check_pin(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "123",
            "123456789",
            "12a4",
            " 4821",
            "４８２１",
            "0000",
            "1111111",
            "1234",
            "98765",
            "01234567",
        ] {
            let err = check_pin(bad).unwrap_err();
            assert_eq!(err.field, "pin");
            if !bad.is_empty() {
                assert!(!err.message.contains(bad), "{err}");
            }
        }
    }

    #[test]
    fn policy_reads_settings_and_keeps_defaults_for_bad_values() {
        let p = BadgeLoginPolicy::from_settings(None);
        assert_eq!(p, BadgeLoginPolicy::default());
        let s = serde_json::json!({"badge_grace_hours": 0, "badge_reauth_hours": 6});
        let p = BadgeLoginPolicy::from_settings(Some(&s));
        assert_eq!((p.grace, p.reauth), (Duration::zero(), Duration::hours(6)));
        let s = serde_json::json!({"badge_grace_hours": 25, "badge_reauth_hours": 0});
        assert_eq!(
            BadgeLoginPolicy::from_settings(Some(&s)),
            BadgeLoginPolicy::default()
        );
        let s = serde_json::json!({"badge_grace_hours": "8"});
        assert_eq!(
            BadgeLoginPolicy::from_settings(Some(&s)),
            BadgeLoginPolicy::default()
        );
    }

    #[test]
    fn badge_alone_within_the_grace_then_pin_then_reauth() {
        let p = BadgeLoginPolicy::default();
        let now = Utc::now();
        let ago = |h: i64| Some(now - Duration::hours(h));
        assert_eq!(p.badge_alone(None, now), Err(PinReason::NeverVerified));
        assert_eq!(p.badge_alone(ago(1), now), Ok(()));
        assert_eq!(p.badge_alone(ago(8), now), Err(PinReason::GraceExpired));
        assert_eq!(p.badge_alone(ago(12), now), Err(PinReason::ReauthDue));
        assert_eq!(
            p.badge_alone(Some(now + Duration::hours(3)), now),
            Ok(()),
            "a future timestamp counts as now"
        );
        // A grace longer than the re-authentication period is cut by it.
        let long = BadgeLoginPolicy {
            grace: Duration::hours(20),
            reauth: Duration::hours(12),
        };
        assert_eq!(long.badge_alone(ago(13), now), Err(PinReason::ReauthDue));
        let never = BadgeLoginPolicy {
            grace: Duration::zero(),
            ..p
        };
        assert_eq!(
            never.badge_alone(Some(now), now),
            Err(PinReason::GraceExpired)
        );
    }

    #[test]
    fn sessions_end_when_reauthentication_is_due() {
        let p = BadgeLoginPolicy::default();
        let now = Utc::now();
        let day = Duration::hours(24);
        assert_eq!(p.session_expiry(now, now, day), now + Duration::hours(12));
        assert_eq!(
            p.session_expiry(now - Duration::hours(7), now, day),
            now + Duration::hours(5)
        );
        assert_eq!(
            p.session_expiry(now, now, Duration::hours(1)),
            now + Duration::hours(1)
        );
    }

    proptest! {
        #[test]
        fn check_pin_never_panics_and_accepts_only_digits(pin in ".{0,12}") {
            if check_pin(&pin).is_ok() {
                prop_assert!(pin.bytes().all(|b| b.is_ascii_digit()));
                prop_assert!((4..=8).contains(&pin.len()));
            }
        }
    }
}
