//! Break-glass access: in an emergency a clinician opens a resident of
//! another facility of the same organization, read-only, for a limited time,
//! with a stated reason that is audited and reviewed by the administrators.
//! The rules both the API and the app apply live here.

use std::ops::RangeInclusive;

use crate::wire::JsonObject;
use crate::ValidationError;

/// A stated reason, in characters (after trimming).
pub const REASON_CHARS: RangeInclusive<usize> = 10..=500;

/// A facility's window, in minutes.
pub const WINDOW_MINUTES: RangeInclusive<u16> = 5..=240;

/// The window when a facility sets none.
pub const DEFAULT_WINDOW_MINUTES: u16 = 60;

/// The key of a facility's `settings` that holds its window (minutes): the
/// window of the *resident's* facility applies.
pub const WINDOW_SETTING: &str = "break_glass_minutes";

/// An administrator's review note, in characters.
pub const REVIEW_NOTE_MAX: usize = 1000;

/// Checks a stated reason; returns it trimmed.
pub fn check_reason(reason: &str) -> Result<String, ValidationError> {
    let trimmed = reason.trim();
    let chars = trimmed.chars().count();
    if !REASON_CHARS.contains(&chars) {
        return Err(ValidationError::new(
            "reason",
            format!(
                "state why you need access, in {} to {} characters",
                REASON_CHARS.start(),
                REASON_CHARS.end()
            ),
        ));
    }
    if trimmed.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ValidationError::new(
            "reason",
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// The window a facility's `settings` set: `None` when absent (the default
/// applies), an error naming `settings` when present but not a whole number
/// of minutes in [`WINDOW_MINUTES`].
pub fn window_setting(settings: &JsonObject) -> Result<Option<u16>, ValidationError> {
    let Some(value) = settings.get(WINDOW_SETTING) else {
        return Ok(None);
    };
    value
        .as_u64()
        .and_then(|m| u16::try_from(m).ok())
        .filter(|m| WINDOW_MINUTES.contains(m))
        .map(Some)
        .ok_or_else(|| {
            ValidationError::new(
                "settings",
                format!(
                    "{WINDOW_SETTING} must be a whole number of minutes from {} to {}",
                    WINDOW_MINUTES.start(),
                    WINDOW_MINUTES.end()
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_must_say_something_but_not_everything() {
        assert_eq!(
            check_reason("  fall in hallway, no chart  ").unwrap(),
            "fall in hallway, no chart"
        );
        assert_eq!(check_reason("too short").unwrap_err().field, "reason");
        assert!(check_reason(&"x".repeat(500)).is_ok());
        assert!(check_reason(&"x".repeat(501)).is_err());
        assert!(check_reason("  \t  ").is_err());
        assert!(check_reason("ten chars!\u{7}").is_err());
    }

    #[test]
    fn the_window_setting_is_minutes_within_bounds() {
        let with = |v: serde_json::Value| {
            let mut s = JsonObject::new();
            s.insert(WINDOW_SETTING.into(), v);
            window_setting(&s)
        };
        assert_eq!(window_setting(&JsonObject::new()).unwrap(), None);
        assert_eq!(with(serde_json::json!(5)).unwrap(), Some(5));
        assert_eq!(with(serde_json::json!(240)).unwrap(), Some(240));
        for bad in [
            serde_json::json!(4),
            serde_json::json!(241),
            serde_json::json!(30.5),
            serde_json::json!("60"),
            serde_json::json!(-1),
            serde_json::Value::Null,
        ] {
            assert_eq!(with(bad.clone()).unwrap_err().field, "settings", "{bad}");
        }
    }
}
