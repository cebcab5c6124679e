//! Enrollment codes: 140 random bits as seven groups of four Crockford
//! base32 characters (`7K2M-…`), typed by a person, stored as SHA-256.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

/// Crockford's alphabet: no I, L, O or U.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in a code (5 bits each: 140 bits).
pub const CODE_CHARS: usize = 28;
const GROUP: usize = 4;

/// A new code (display form) and its hash.
pub fn new_code() -> (String, Vec<u8>) {
    let mut bytes = [0u8; CODE_CHARS];
    OsRng.fill_bytes(&mut bytes);
    // 256 is a multiple of 32, so `b % 32` is uniform.
    let chars: Vec<u8> = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % 32])
        .collect();
    let normalized = String::from_utf8(chars).unwrap_or_default();
    let hash = code_hash(&normalized);
    (display(&normalized), hash)
}

fn display(normalized: &str) -> String {
    normalized
        .as_bytes()
        .chunks(GROUP)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("-")
}

/// What people type back: case, dashes and spaces do not matter, and the
/// look-alikes I/L → 1 and O → 0 are forgiven. `None` if it cannot be a code.
pub fn normalize(input: &str) -> Option<String> {
    if input.len() > 128 {
        return None;
    }
    let mut out = String::with_capacity(CODE_CHARS);
    for c in input.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'I' | 'L' => '1',
            'O' => '0',
            c if ALPHABET.contains(&(c as u8)) && c.is_ascii() => c,
            _ => return None,
        };
        out.push(c);
    }
    (out.len() == CODE_CHARS).then_some(out)
}

pub fn code_hash(normalized: &str) -> Vec<u8> {
    Sha256::digest(normalized.as_bytes()).to_vec()
}

/// The last group, shown to admins in lists.
pub fn hint(display: &str) -> String {
    display.rsplit('-').next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_random_and_round_trip() {
        let (a, ha) = new_code();
        let (b, _) = new_code();
        assert_ne!(a, b);
        assert_eq!(a.len(), CODE_CHARS + CODE_CHARS / GROUP - 1);
        assert!(a.split('-').all(|g| g.len() == 4));
        let n = normalize(&a).unwrap();
        assert_eq!(code_hash(&n), ha);
        // Typed sloppily: lower case, spaces, no dashes.
        let sloppy = a.to_lowercase().replace('-', " ");
        assert_eq!(normalize(&sloppy).unwrap(), n);
        assert_eq!(hint(&a).len(), 4);
    }

    #[test]
    fn look_alikes_and_garbage() {
        let base = "0000-1111-2222-3333-4444-5555-6666";
        assert_eq!(
            normalize("OOOO-IIII-2222-3333-4444-5555-6666").unwrap(),
            normalize(base).unwrap()
        );
        assert_eq!(
            normalize("llll-0000-2222-3333-4444-5555-6666")
                .unwrap()
                .len(),
            28
        );
        for bad in [
            "",
            "0000",
            "UUUU-1111-2222-3333-4444-5555-6666",
            "ÄÄÄÄ",
            &"0".repeat(200),
        ] {
            assert_eq!(normalize(bad), None, "{bad:?}");
        }
    }
}
