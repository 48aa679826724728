//! Password hashes: Argon2id with OWASP's parameters and a random salt per
//! password. The parameters are kept with each hash, so raising them later
//! still verifies the old ones.

use std::io;

use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};

use crate::auth::secret;

/// OWASP's Argon2id recommendation: 19 MiB, 2 passes, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;
pub const MIN_PASSWORD: usize = 10;

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct PasswordHash {
    salt: String,
    hash: String,
    memory_kib: u32,
    passes: u32,
    lanes: u32,
}

fn argon2(password: &str, salt: &[u8], memory_kib: u32, passes: u32, lanes: u32) -> io::Result<[u8; 32]> {
    let params = Params::new(memory_kib, passes, lanes, Some(32)).map_err(|e| io::Error::other(e.to_string()))?;
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password.as_bytes(), salt, &mut out)
        .map_err(|e| io::Error::other(e.to_string()))?;
    Ok(out)
}

/// Why a new password is refused.
pub fn check_new(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(format!("the password needs at least {MIN_PASSWORD} characters"));
    }
    Ok(())
}

impl PasswordHash {
    pub fn new(password: &str) -> io::Result<PasswordHash> {
        let salt = secret::random::<16>()?;
        let hash = argon2(password, &salt, MEMORY_KIB, PASSES, LANES)?;
        Ok(PasswordHash {
            salt: secret::to_hex(&salt),
            hash: secret::to_hex(&hash),
            memory_kib: MEMORY_KIB,
            passes: PASSES,
            lanes: LANES,
        })
    }

    pub fn verify(&self, password: &str) -> bool {
        let (Some(salt), Some(want)) = (secret::from_hex(&self.salt), secret::from_hex(&self.hash)) else {
            return false;
        };
        argon2(password, &salt, self.memory_kib, self.passes, self.lanes).is_ok_and(|got| secret::same(&got, &want))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_only_the_password_it_was_made_from() {
        let h = PasswordHash::new("a long enough secret").unwrap();
        assert!(h.verify("a long enough secret"));
        assert!(!h.verify("a long enough secreT"));
        let again = PasswordHash::new("a long enough secret").unwrap();
        assert_ne!(h.salt, again.salt, "a fresh salt per hash");
        assert!(check_new("short").is_err() && check_new("ten chars!").is_ok());
    }
}
