//! What a PIN, a password and a typed visitor code must look like: the one
//! check used by the API, the device core and (through the exported rules)
//! the UI. A [`Pin`] can only be
//! built through `parse()`, so a value of the type is always well-formed.

use crate::wire::Secret;
use crate::ValidationError;

/// Fewest digits in a PIN.
pub const PIN_MIN_DIGITS: usize = 4;
/// Most digits in a PIN.
pub const PIN_MAX_DIGITS: usize = 8;

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 12;
/// Longest password accepted (bounds hashing cost).
pub const MAX_PASSWORD_LEN: usize = 256;

/// A badge PIN: [`PIN_MIN_DIGITS`] to [`PIN_MAX_DIGITS`] ASCII digits. Its
/// `Debug` never shows the digits, and no error message repeats them.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(String);

impl Pin {
    /// A PIN as typed to sign in: the format only (the PIN pad, the badge
    /// login endpoint and the device's offline check apply exactly this). A
    /// PIN chosen before the strength rule existed still signs in; a typo is
    /// refused here, before it costs one of the attempts.
    pub fn parse(typed: &str) -> Result<Self, ValidationError> {
        let digits = typed.as_bytes();
        if !(PIN_MIN_DIGITS..=PIN_MAX_DIGITS).contains(&digits.len())
            || !digits.iter().all(u8::is_ascii_digit)
        {
            return Err(ValidationError::new(
                "pin",
                format!("a PIN is {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits"),
            ));
        }
        Ok(Self(typed.to_owned()))
    }

    /// A PIN being chosen (set by an administrator or the user): the format,
    /// and neither one digit repeated nor a run (`1234`, `8765`), which are
    /// the first guesses of anyone holding a lost badge.
    pub fn parse_new(typed: &str) -> Result<Self, ValidationError> {
        let pin = Self::parse(typed)?;
        let steps: Vec<i16> = pin
            .0
            .as_bytes()
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
        Ok(pin)
    }

    /// The digits; call only where they are hashed, verified or sent.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The PIN as the wire's redacting secret.
    pub fn into_secret(self) -> Secret {
        Secret::new(self.0)
    }
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

/// Checks a new password's length ([`MIN_PASSWORD_LEN`] to
/// [`MAX_PASSWORD_LEN`] characters); the error names the `password` field.
pub fn check_password(password: &str) -> Result<(), ValidationError> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err(ValidationError::new(
            "password",
            format!("a password is at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    if len > MAX_PASSWORD_LEN {
        return Err(ValidationError::new(
            "password",
            format!("a password is at most {MAX_PASSWORD_LEN} characters"),
        ));
    }
    Ok(())
}

/// The digits of a visitor code as a family member types it: spaces and
/// dashes forgiven, nothing else; exactly
/// [`VISITOR_CODE_DIGITS`](crate::wire::VISITOR_CODE_DIGITS) digits. The kiosk
/// checks it before sending, the API before looking it up.
pub fn parse_visitor_code(typed: &str) -> Result<String, ValidationError> {
    let invalid = || ValidationError::new("visitor_code", "a visitor code is eight digits");
    // A pasted paragraph is not a code (and is not scanned).
    if typed.len() > 64 {
        return Err(invalid());
    }
    let digits: String = typed.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if digits.len() == crate::wire::VISITOR_CODE_DIGITS
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        Ok(digits)
    } else {
        Err(invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_pin_is_four_to_eight_digits() {
        for ok in ["4821", "90210", "73946281", "1235", "0012", "1234", "0000"] {
            assert_eq!(Pin::parse(ok).unwrap().expose(), ok);
        }
        for bad in ["", "123", "123456789", "12a4", " 4821", "4821 ", "４８２１"] {
            let err = Pin::parse(bad).unwrap_err();
            assert_eq!(err.field, "pin");
            assert_eq!(err.message, "a PIN is 4 to 8 digits");
        }
    }

    #[test]
    fn a_new_pin_is_also_not_trivial() {
        for ok in ["4821", "90210", "73946281", "1235", "0012"] {
            assert!(Pin::parse_new(ok).is_ok(), "{ok}");
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
            let err = Pin::parse_new(bad).unwrap_err();
            assert_eq!(err.field, "pin");
            if !bad.is_empty() {
                assert!(!err.message.contains(bad), "{err}");
            }
        }
    }

    #[test]
    fn pins_never_show_in_debug() {
        let pin = Pin::parse("4821").unwrap();
        assert_eq!(format!("{pin:?}"), "Pin(<redacted>)");
        assert_eq!(pin.into_secret().expose(), "4821");
    }

    #[test]
    fn passwords_are_twelve_to_256_characters() {
        assert!(check_password(&"a".repeat(MIN_PASSWORD_LEN)).is_ok());
        assert!(check_password(&"é".repeat(MAX_PASSWORD_LEN)).is_ok());
        let short = check_password(&"a".repeat(MIN_PASSWORD_LEN - 1)).unwrap_err();
        assert_eq!(
            (short.field, short.message.as_str()),
            ("password", "a password is at least 12 characters")
        );
        let long = check_password(&"a".repeat(MAX_PASSWORD_LEN + 1)).unwrap_err();
        assert_eq!(long.message, "a password is at most 256 characters");
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_new_pins_are_valid_pins(pin in ".{0,12}") {
            if let Ok(p) = Pin::parse(&pin) {
                prop_assert!(pin.bytes().all(|b| b.is_ascii_digit()));
                prop_assert!((PIN_MIN_DIGITS..=PIN_MAX_DIGITS).contains(&p.expose().len()));
            }
            if Pin::parse_new(&pin).is_ok() {
                prop_assert!(Pin::parse(&pin).is_ok());
            }
        }
    }

    #[test]
    fn typed_visitor_codes_forgive_spaces_and_dashes_only() {
        assert_eq!(parse_visitor_code("4821-0937").unwrap(), "48210937");
        assert_eq!(parse_visitor_code(" 4821 0937 ").unwrap(), "48210937");
        for wrong in ["4821093", "482109370", "4821O937", "4821\t0937", ""] {
            let err = parse_visitor_code(wrong).unwrap_err();
            assert_eq!(err.field, "visitor_code", "{wrong:?}");
        }
        assert!(parse_visitor_code(&"1".repeat(100)).is_err());
        assert!(parse_visitor_code(&format!("4821{}0937", " ".repeat(80))).is_err());
    }
}
