//! A store of grants reached by a secret token — API keys and shared links.
//! The token is shown once, at creation; only its SHA-256 digest is kept,
//! in a JSON file (0600) rewritten atomically on every change.

use std::io;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::secret;

/// A record in a [`Grants`] store.
pub trait Grant: Clone + Serialize + DeserializeOwned {
    fn id(&self) -> &str;
    /// The digest of its token.
    fn digest(&self) -> &str;
    /// The record as the API shows it: without the digest.
    fn public(&self) -> Self;
}

pub struct Grants<T> {
    path: PathBuf,
    records: Mutex<Vec<T>>,
}

impl<T: Grant> Grants<T> {
    pub fn open(path: PathBuf) -> io::Result<Grants<T>> {
        let records = match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| io::Error::other(format!("{}: {e}", path.display())))?
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(Grants { path, records: Mutex::new(records) })
    }

    fn save(&self, records: &[T]) -> io::Result<()> {
        let text = serde_json::to_string_pretty(records).map_err(io::Error::other)?;
        crate::files::write_atomic(&self.path, text.as_bytes(), 0o600)
    }

    /// A new token (`prefix` + 256 random bits) and the record `make` builds
    /// from its id and digest; returns the token (its only showing) and the
    /// public record.
    pub fn issue(&self, prefix: &str, make: impl FnOnce(String, String) -> T) -> io::Result<(String, T)> {
        let token = secret::token(prefix)?;
        let digest = secret::digest(&token);
        let record = make(digest[..12].to_string(), digest);
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = records.clone();
        next.push(record.clone());
        self.save(&next)?;
        *records = next;
        Ok((token, record.public()))
    }

    pub fn list(&self) -> Vec<T> {
        self.records.lock().unwrap_or_else(|e| e.into_inner()).iter().map(T::public).collect()
    }

    /// Revokes by id; false when there is no such record.
    pub fn revoke(&self, id: &str) -> io::Result<bool> {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        let next: Vec<T> = records.iter().filter(|r| r.id() != id).cloned().collect();
        if next.len() == records.len() {
            return Ok(false);
        }
        self.save(&next)?;
        *records = next;
        Ok(true)
    }

    /// The record `token` opens, if it is a live one.
    pub fn find(&self, token: &str) -> Option<T> {
        let digest = secret::digest(token);
        let records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        records.iter().find(|r| secret::same(r.digest().as_bytes(), digest.as_bytes())).cloned()
    }
}
