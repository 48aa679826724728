//! The privacy core of Mallard: a visitor id that identifies a browser for a
//! short time without storing anything that identifies a person.
//!
//! `visitor_id = first 8 bytes (big-endian u64) of
//!     HMAC-SHA256(key = salt, message = site ‖ 0x00 ‖ ip ‖ 0x00 ‖ user_agent)`
//!
//! The salt is 32 random bytes that the collector rotates (daily by default)
//! and deletes once it is two periods old. Without the salt the id cannot be
//! recomputed from an IP and a user agent, so once the salt is gone nobody —
//! not even the operator — can link the stored ids back to a person. The 0x00
//! separators make the message unambiguous (`"ab" + "c"` ≠ `"a" + "bc"`).

use hmac::{KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

/// Computes the visitor id of `(site, ip, user_agent)` under `salt`.
///
/// Inputs are raw bytes (UTF-8 in practice); any length is accepted,
/// including empty strings, and the function never panics.
pub fn visitor_id(salt: &[u8], site: &[u8], ip: &[u8], user_agent: &[u8]) -> u64 {
    VisitorHasher::new(salt).id(site, ip, user_agent)
}

/// A visitor-id hasher keyed with one salt, for hashing many events under
/// the same salt without re-deriving the HMAC key each time.
#[derive(Clone)]
pub struct VisitorHasher {
    keyed: HmacSha256,
}

impl VisitorHasher {
    pub fn new(salt: &[u8]) -> Self {
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
        Self { keyed: HmacSha256::new_from_slice(salt).expect("HMAC takes keys of any length") }
    }

    /// The visitor id of `(site, ip, user_agent)` under this hasher's salt.
    pub fn id(&self, site: &[u8], ip: &[u8], user_agent: &[u8]) -> u64 {
        let mut mac = self.keyed.clone();
        mac.update(site);
        mac.update(&[0]);
        mac.update(ip);
        mac.update(&[0]);
        mac.update(user_agent);
        let digest = mac.finalize().into_bytes();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        // Computed independently with Python:
        // hmac.new(b"s", b"example.com\x001.2.3.4\x00Mozilla/5.0", hashlib.sha256).digest()[:8]
        assert_eq!(visitor_id(b"s", b"example.com", b"1.2.3.4", b"Mozilla/5.0"), 0x1fa0_70d4_5253_ae2c);
    }

    #[test]
    fn separators_make_fields_unambiguous() {
        assert_ne!(visitor_id(b"k", b"ab", b"c", b""), visitor_id(b"k", b"a", b"bc", b""));
        assert_ne!(visitor_id(b"k", b"a", b"", b"b"), visitor_id(b"k", b"a", b"b", b""));
    }

    #[test]
    fn salt_changes_the_id() {
        assert_ne!(visitor_id(b"k1", b"s", b"i", b"u"), visitor_id(b"k2", b"s", b"i", b"u"));
    }

    #[test]
    fn empty_inputs_are_fine() {
        let _ = visitor_id(b"", b"", b"", b"");
    }
}
