//! Enrollment codes as people type them: one rule for the device (which checks
//! the code before sending it) and the API (which hashes the normalized form).
//!
//! A code is 140 random bits written as 28 Crockford base32 symbols in seven
//! groups of four (`7K2M-…`). When typed back, case, spaces, tabs and dashes do
//! not matter and the look-alikes `O` → `0`, `I`/`L` → `1` are forgiven.
//! Before this type the API demanded exactly 28 symbols (no tabs) and the device
//! accepted any length (tabs too); the rule here is the union that keeps every
//! valid code identical on both sides: tabs are separators, and a code has
//! exactly 28 symbols (the device now refuses a short code before the round trip).

use crate::ValidationError;

/// Crockford's alphabet: no I, L, O or U.
pub const ENROLLMENT_CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Symbols in a code (5 bits each: 140 bits).
pub const ENROLLMENT_CODE_SYMBOLS: usize = 28;
/// Symbols per displayed group.
pub const ENROLLMENT_CODE_GROUP: usize = 4;
/// Longest input looked at (a pasted paragraph is not a code).
const MAX_INPUT_BYTES: usize = 128;

/// A well-formed enrollment code, normalized to its 28 upper-case symbols
/// (what the server hashes). `Debug` hides it: a code is a secret until used.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EnrollmentCode(String);

impl EnrollmentCode {
    /// Reads a code as typed. The error names the field `enrollment_code`.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let invalid = || {
            ValidationError::new(
                "enrollment_code",
                "an enrollment code is 28 characters — digits and the letters A–Z without U, \
                 in groups of four",
            )
        };
        if input.len() > MAX_INPUT_BYTES {
            return Err(invalid());
        }
        let mut symbols = String::with_capacity(ENROLLMENT_CODE_SYMBOLS);
        for c in input.chars() {
            let c = match c.to_ascii_uppercase() {
                ' ' | '-' | '\t' => continue,
                'O' => '0',
                'I' | 'L' => '1',
                c if c.is_ascii() && ENROLLMENT_CODE_ALPHABET.contains(&(c as u8)) => c,
                _ => return Err(invalid()),
            };
            symbols.push(c);
        }
        if symbols.len() != ENROLLMENT_CODE_SYMBOLS {
            return Err(invalid());
        }
        Ok(Self(symbols))
    }

    /// A code from 28 symbol indexes (each taken modulo 32): how the server
    /// writes a new random code.
    pub fn from_symbols(indexes: &[u8; ENROLLMENT_CODE_SYMBOLS]) -> Self {
        Self(
            indexes
                .iter()
                .map(|i| char::from(ENROLLMENT_CODE_ALPHABET[usize::from(*i) % 32]))
                .collect(),
        )
    }

    /// The 28 normalized symbols, without separators (what is hashed).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Groups of four joined by dashes, as shown to people.
    pub fn display(&self) -> String {
        self.0
            .as_bytes()
            .chunks(ENROLLMENT_CODE_GROUP)
            .map(|g| std::str::from_utf8(g).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("-")
    }

    /// The last group, shown to admins in lists.
    pub fn hint(&self) -> &str {
        &self.0[ENROLLMENT_CODE_SYMBOLS - ENROLLMENT_CODE_GROUP..]
    }
}

impl std::fmt::Debug for EnrollmentCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnrollmentCode(***)")
    }
}

impl std::str::FromStr for EnrollmentCode {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CODE: &str = "7K2M-0000-1111-2222-3333-4444-ABCD";

    #[test]
    fn typed_sloppily_is_the_same_code() {
        let code = EnrollmentCode::parse(CODE).unwrap();
        assert_eq!(code.as_str(), "7K2M00001111222233334444ABCD");
        assert_eq!(code.display(), CODE);
        assert_eq!(code.hint(), "ABCD");
        for typed in [
            "7k2m 0000 1111 2222 3333 4444 abcd",
            "7K2M-OOOO-IIII-2222-3333-4444-ABCD",
            "7k2m\toooo-llll 2222-3333-4444-abcd",
            " 7K2M00001111222233334444ABCD ",
        ] {
            assert_eq!(EnrollmentCode::parse(typed).unwrap(), code, "{typed:?}");
        }
        assert!(!format!("{code:?}").contains("7K2M"));
    }

    #[test]
    fn not_a_code() {
        for bad in [
            "",
            " - ",
            "7K2M",
            "7K2M-0000-1111-2222-3333-4444-ABC",
            "7K2M-0000-1111-2222-3333-4444-ABCDE",
            "UUUU-0000-1111-2222-3333-4444-ABCD",
            "7K2M-0000-1111-2222-3333-4444-AB!D",
            "ÄÄÄÄ-0000-1111-2222-3333-4444-ABCD",
            &"0".repeat(200),
        ] {
            let e = EnrollmentCode::parse(bad).unwrap_err();
            assert_eq!(e.field, "enrollment_code", "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn every_generated_code_reads_back(indexes in proptest::array::uniform28(any::<u8>())) {
            let code = EnrollmentCode::from_symbols(&indexes);
            prop_assert_eq!(EnrollmentCode::parse(&code.display()).unwrap(), code.clone());
            prop_assert_eq!(EnrollmentCode::parse(&code.display().to_lowercase()).unwrap(), code);
        }
    }
}
