//! A facility's policy: the timings and limits its administrators choose for
//! the facility's devices (idle lock, badge grace, PIN length, the nurse
//! home's windows, the documentation window, the family kiosk's session).
//! The API validates and stores it, sync delivers it, the device applies it
//! without a restart, and the console edits it with the ranges from here.
//! Every default is what Tend did before the policy existed.

use serde::{Deserialize, Serialize};

use crate::badge_login::{BadgeLoginPolicy, DEFAULT_GRACE_HOURS, DEFAULT_REAUTH_HOURS};
use crate::credentials::{PIN_MAX_DIGITS, PIN_MIN_DIGITS};
use crate::ValidationError;

/// A facility's policy. A key missing from stored or sent JSON takes its
/// default, so a policy written by an older server still reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FacilityPolicy {
    /// Seconds without a touch before a wall kiosk's session locks.
    pub idle_lock_kiosk_secs: u32,
    /// Seconds without a touch before a desktop's session locks.
    pub idle_lock_desktop_secs: u32,
    /// Hours a badge alone signs in (online, and offline on a device) after
    /// the user's last badge+PIN sign-in; 0 asks for the PIN every time.
    pub badge_grace_hours: u32,
    /// Hours after the last badge+PIN sign-in when the PIN is asked for
    /// whatever the grace, and an offline sign-in is no longer possible.
    pub badge_reauth_hours: u32,
    /// Fewest digits of a new PIN.
    pub pin_min_digits: u32,
    /// Most digits of a new PIN.
    pub pin_max_digits: u32,
    /// How far ahead the nurse home lists PRN follow-ups as due soon, in minutes.
    pub due_soon_minutes: u32,
    /// How far back the nurse home's hand-off notes reach, in hours.
    pub handoff_hours: u32,
    /// Days of documentation a device receives and keeps (older records
    /// stay on the server).
    pub documentation_window_days: u32,
    /// Seconds the family kiosk waits untouched before it forgets the visit.
    pub family_session_secs: u32,
}

/// One number of the policy: its allowed range and its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PolicyRange {
    pub min: u32,
    pub max: u32,
    pub default: u32,
}

/// The ranges of every policy number (the console shows them; the API and
/// the device check them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PolicyRanges {
    pub idle_lock_kiosk_secs: PolicyRange,
    pub idle_lock_desktop_secs: PolicyRange,
    pub badge_grace_hours: PolicyRange,
    pub badge_reauth_hours: PolicyRange,
    pub pin_min_digits: PolicyRange,
    pub pin_max_digits: PolicyRange,
    pub due_soon_minutes: PolicyRange,
    pub handoff_hours: PolicyRange,
    pub documentation_window_days: PolicyRange,
    pub family_session_secs: PolicyRange,
}

const fn range(min: u32, max: u32, default: u32) -> PolicyRange {
    PolicyRange { min, max, default }
}

/// The allowed ranges and today's defaults.
pub const POLICY_RANGES: PolicyRanges = PolicyRanges {
    // Shorter than a minute locks a nurse out while she reads; longer than
    // an hour (kiosk) or two (desktop) leaves a chart open to passers-by.
    idle_lock_kiosk_secs: range(60, 3600, 120),
    idle_lock_desktop_secs: range(60, 7200, 600),
    badge_grace_hours: range(0, 24, DEFAULT_GRACE_HOURS as u32),
    badge_reauth_hours: range(1, 24, DEFAULT_REAUTH_HOURS as u32),
    pin_min_digits: range(
        PIN_MIN_DIGITS as u32,
        PIN_MAX_DIGITS as u32,
        PIN_MIN_DIGITS as u32,
    ),
    pin_max_digits: range(
        PIN_MIN_DIGITS as u32,
        PIN_MAX_DIGITS as u32,
        PIN_MAX_DIGITS as u32,
    ),
    due_soon_minutes: range(15, 720, 120),
    handoff_hours: range(1, 48, 12),
    documentation_window_days: range(1, 3650, 30),
    family_session_secs: range(15, 1800, 60),
};

impl Default for FacilityPolicy {
    fn default() -> Self {
        let r = POLICY_RANGES;
        Self {
            idle_lock_kiosk_secs: r.idle_lock_kiosk_secs.default,
            idle_lock_desktop_secs: r.idle_lock_desktop_secs.default,
            badge_grace_hours: r.badge_grace_hours.default,
            badge_reauth_hours: r.badge_reauth_hours.default,
            pin_min_digits: r.pin_min_digits.default,
            pin_max_digits: r.pin_max_digits.default,
            due_soon_minutes: r.due_soon_minutes.default,
            handoff_hours: r.handoff_hours.default,
            documentation_window_days: r.documentation_window_days.default,
            family_session_secs: r.family_session_secs.default,
        }
    }
}

impl FacilityPolicy {
    /// Each number with its wire name and range, in the console's order.
    pub fn fields(&self) -> [(&'static str, u32, PolicyRange); 10] {
        let r = POLICY_RANGES;
        [
            (
                "idle_lock_kiosk_secs",
                self.idle_lock_kiosk_secs,
                r.idle_lock_kiosk_secs,
            ),
            (
                "idle_lock_desktop_secs",
                self.idle_lock_desktop_secs,
                r.idle_lock_desktop_secs,
            ),
            (
                "badge_grace_hours",
                self.badge_grace_hours,
                r.badge_grace_hours,
            ),
            (
                "badge_reauth_hours",
                self.badge_reauth_hours,
                r.badge_reauth_hours,
            ),
            ("pin_min_digits", self.pin_min_digits, r.pin_min_digits),
            ("pin_max_digits", self.pin_max_digits, r.pin_max_digits),
            (
                "due_soon_minutes",
                self.due_soon_minutes,
                r.due_soon_minutes,
            ),
            ("handoff_hours", self.handoff_hours, r.handoff_hours),
            (
                "documentation_window_days",
                self.documentation_window_days,
                r.documentation_window_days,
            ),
            (
                "family_session_secs",
                self.family_session_secs,
                r.family_session_secs,
            ),
        ]
    }

    /// Every problem, each naming its field (`idle_lock_kiosk_secs`; the API
    /// prefixes `policy.`). Empty when the policy is valid.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems: Vec<(&'static str, String)> = self
            .fields()
            .into_iter()
            .filter(|(_, value, r)| !(r.min..=r.max).contains(value))
            .map(|(name, _, r)| (name, format!("must be from {} to {}", r.min, r.max)))
            .collect();
        if self.pin_min_digits > self.pin_max_digits
            && !problems.iter().any(|(n, _)| n.starts_with("pin_"))
        {
            problems.push((
                "pin_max_digits",
                "must not be fewer than the fewest digits".into(),
            ));
        }
        problems
    }

    /// The policy when valid, or its first problem.
    pub fn validate(self) -> Result<Self, ValidationError> {
        match self.problems().into_iter().next() {
            None => Ok(self),
            Some((field, message)) => Err(ValidationError::new(field, message)),
        }
    }

    /// A policy read from storage or sync that is somehow out of range (an
    /// older or newer server) must not lock a device out: each bad number
    /// falls back to its default.
    pub fn sanitized(self) -> Self {
        let d = Self::default();
        let fix = |v: u32, r: PolicyRange, default: u32| {
            if (r.min..=r.max).contains(&v) {
                v
            } else {
                default
            }
        };
        let r = POLICY_RANGES;
        let mut out = Self {
            idle_lock_kiosk_secs: fix(
                self.idle_lock_kiosk_secs,
                r.idle_lock_kiosk_secs,
                d.idle_lock_kiosk_secs,
            ),
            idle_lock_desktop_secs: fix(
                self.idle_lock_desktop_secs,
                r.idle_lock_desktop_secs,
                d.idle_lock_desktop_secs,
            ),
            badge_grace_hours: fix(
                self.badge_grace_hours,
                r.badge_grace_hours,
                d.badge_grace_hours,
            ),
            badge_reauth_hours: fix(
                self.badge_reauth_hours,
                r.badge_reauth_hours,
                d.badge_reauth_hours,
            ),
            pin_min_digits: fix(self.pin_min_digits, r.pin_min_digits, d.pin_min_digits),
            pin_max_digits: fix(self.pin_max_digits, r.pin_max_digits, d.pin_max_digits),
            due_soon_minutes: fix(
                self.due_soon_minutes,
                r.due_soon_minutes,
                d.due_soon_minutes,
            ),
            handoff_hours: fix(self.handoff_hours, r.handoff_hours, d.handoff_hours),
            documentation_window_days: fix(
                self.documentation_window_days,
                r.documentation_window_days,
                d.documentation_window_days,
            ),
            family_session_secs: fix(
                self.family_session_secs,
                r.family_session_secs,
                d.family_session_secs,
            ),
        };
        if out.pin_min_digits > out.pin_max_digits {
            (out.pin_min_digits, out.pin_max_digits) = (d.pin_min_digits, d.pin_max_digits);
        }
        out
    }

    /// The wire names of the numbers that differ from `other` (for the audit).
    pub fn changed_from(&self, other: &Self) -> Vec<&'static str> {
        self.fields()
            .into_iter()
            .zip(other.fields())
            .filter(|((_, a, _), (_, b, _))| a != b)
            .map(|((name, _, _), _)| name)
            .collect()
    }

    /// The badge login rules (grace and re-authentication) of this policy.
    pub fn badge_login(&self) -> BadgeLoginPolicy {
        BadgeLoginPolicy {
            grace: chrono::Duration::hours(i64::from(self.badge_grace_hours)),
            reauth: chrono::Duration::hours(i64::from(self.badge_reauth_hours)),
        }
    }

    /// A new PIN's length against this facility's rule (after the format and
    /// strength check of [`crate::Pin::parse_new`]).
    pub fn check_pin_length(&self, pin: &str) -> Result<(), ValidationError> {
        let digits = u32::try_from(pin.len()).unwrap_or(u32::MAX);
        if (self.pin_min_digits..=self.pin_max_digits).contains(&digits) {
            Ok(())
        } else if self.pin_min_digits == self.pin_max_digits {
            Err(ValidationError::new(
                "pin",
                format!("this facility's PINs are {} digits", self.pin_min_digits),
            ))
        } else {
            Err(ValidationError::new(
                "pin",
                format!(
                    "this facility's PINs are {} to {} digits",
                    self.pin_min_digits, self.pin_max_digits
                ),
            ))
        }
    }

    /// How long a session of a device of `kiosk` kind may stay idle.
    pub fn idle_lock(&self, kiosk: bool) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(if kiosk {
            self.idle_lock_kiosk_secs
        } else {
            self.idle_lock_desktop_secs
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_todays_behaviour_and_valid() {
        let p = FacilityPolicy::default();
        assert_eq!(p.idle_lock(true).as_secs(), 120);
        assert_eq!(p.idle_lock(false).as_secs(), 600);
        assert_eq!(p.badge_login(), BadgeLoginPolicy::default());
        assert_eq!((p.pin_min_digits, p.pin_max_digits), (4, 8));
        assert_eq!(p.family_session_secs, 60);
        assert_eq!((p.due_soon_minutes, p.handoff_hours), (120, 12));
        assert_eq!(p.documentation_window_days, 30);
        assert!(p.problems().is_empty());
    }

    #[test]
    fn missing_keys_take_defaults_and_unknown_keys_are_refused() {
        let p: FacilityPolicy = serde_json::from_str(r#"{"idle_lock_kiosk_secs": 60}"#).unwrap();
        assert_eq!(p.idle_lock_kiosk_secs, 60);
        assert_eq!(p.idle_lock_desktop_secs, 600);
        assert!(serde_json::from_str::<FacilityPolicy>(r#"{"idle_lock": 60}"#).is_err());
    }

    #[test]
    fn each_problem_names_its_field() {
        let p = FacilityPolicy {
            idle_lock_kiosk_secs: 10,
            badge_grace_hours: 25,
            family_session_secs: 5000,
            ..FacilityPolicy::default()
        };
        let names: Vec<_> = p.problems().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "idle_lock_kiosk_secs",
                "badge_grace_hours",
                "family_session_secs"
            ]
        );
        let p = FacilityPolicy {
            pin_min_digits: 6,
            pin_max_digits: 5,
            ..FacilityPolicy::default()
        };
        assert_eq!(p.validate().unwrap_err().field, "pin_max_digits");
    }

    #[test]
    fn sanitized_keeps_good_numbers_and_replaces_bad_ones() {
        let p = FacilityPolicy {
            idle_lock_kiosk_secs: 0,
            handoff_hours: 24,
            pin_min_digits: 8,
            pin_max_digits: 6,
            ..FacilityPolicy::default()
        }
        .sanitized();
        assert_eq!(p.idle_lock_kiosk_secs, 120);
        assert_eq!(p.handoff_hours, 24);
        assert_eq!((p.pin_min_digits, p.pin_max_digits), (4, 8));
    }

    #[test]
    fn pin_length_follows_the_facility() {
        let p = FacilityPolicy {
            pin_min_digits: 6,
            pin_max_digits: 6,
            ..FacilityPolicy::default()
        };
        assert!(p.check_pin_length("135792").is_ok());
        let e = p.check_pin_length("1357").unwrap_err();
        assert_eq!(e.message, "this facility's PINs are 6 digits");
        assert!(FacilityPolicy::default().check_pin_length("1357").is_ok());
    }

    #[test]
    fn changed_keys_are_listed() {
        let a = FacilityPolicy::default();
        let b = FacilityPolicy {
            idle_lock_kiosk_secs: 60,
            handoff_hours: 8,
            ..a
        };
        assert_eq!(
            b.changed_from(&a),
            ["idle_lock_kiosk_secs", "handoff_hours"]
        );
        assert!(a.changed_from(&a).is_empty());
    }
}
