//! Enrollment codes on the server: new random codes and their stored SHA-256.
//! How a typed code reads is `tend_domain::EnrollmentCode`, shared with the device.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use tend_domain::enrollment_code::ENROLLMENT_CODE_SYMBOLS;
use tend_domain::EnrollmentCode;

/// A new random code and its hash.
pub fn new_code() -> (EnrollmentCode, Vec<u8>) {
    let mut bytes = [0u8; ENROLLMENT_CODE_SYMBOLS];
    OsRng.fill_bytes(&mut bytes);
    // 256 is a multiple of 32, so `b % 32` is uniform.
    let code = EnrollmentCode::from_symbols(&bytes);
    let hash = code_hash(&code);
    (code, hash)
}

/// What the database stores and looks codes up by.
pub fn code_hash(code: &EnrollmentCode) -> Vec<u8> {
    Sha256::digest(code.as_str().as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_random_and_round_trip() {
        let (a, ha) = new_code();
        let (b, _) = new_code();
        assert_ne!(a, b);
        let shown = a.display();
        assert_eq!(
            shown.len(),
            ENROLLMENT_CODE_SYMBOLS + ENROLLMENT_CODE_SYMBOLS / 4 - 1
        );
        assert!(shown.split('-').all(|g| g.len() == 4));
        // Typed sloppily: lower case, spaces, no dashes — the same hash.
        let sloppy = EnrollmentCode::parse(&shown.to_lowercase().replace('-', " ")).unwrap();
        assert_eq!(code_hash(&sloppy), ha);
        assert_eq!(a.hint().len(), 4);
    }
}
