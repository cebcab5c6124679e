//! Badge login rules that the API and the device's offline login must apply
//! identically: the lockout after wrong PINs and the facility's policy for when
//! a badge alone is enough. The PIN's own format is [`crate::credentials::Pin`].

use chrono::{DateTime, Duration, Utc};

/// Wrong PINs in a row that lock a badge.
pub const MAX_FAILED_PIN_ATTEMPTS: u32 = 5;

/// Minutes a badge stays locked after [`MAX_FAILED_PIN_ATTEMPTS`] wrong PINs.
pub const PIN_LOCKOUT_MINUTES: i64 = 15;

/// How long a badge stays locked after [`MAX_FAILED_PIN_ATTEMPTS`] wrong PINs.
pub const PIN_LOCKOUT: Duration = Duration::minutes(PIN_LOCKOUT_MINUTES);

/// Default hours a badge alone is accepted after a badge+PIN login (the usual
/// tap-and-go grace in clinical deployments: one shift).
pub const DEFAULT_GRACE_HOURS: i64 = 8;

/// Default hours after which a full re-authentication (badge+PIN) is due,
/// whatever the grace period; badge sessions also end by then.
pub const DEFAULT_REAUTH_HOURS: i64 = 12;

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

/// A facility's badge login policy, from its [`crate::FacilityPolicy`]:
/// `badge_grace_hours` (0–24, default 8; 0 asks for the PIN every time) and
/// `badge_reauth_hours` (1–24, default 12).
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
}
