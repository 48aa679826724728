//! A store of grants reached by a secret token — API keys and shared links.
//! The token is shown once, at creation; only its SHA-256 digest is kept,
//! in a document of the settings store.

use std::io;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::secret;
use crate::store::{Doc, Store};

/// A record in a [`Grants`] store.
pub trait Grant: Clone + Serialize + DeserializeOwned {
    fn id(&self) -> &str;
    /// The digest of its token.
    fn digest(&self) -> &str;
    /// The record as the API shows it: without the digest.
    fn public(&self) -> Self;
}

pub struct Grants<T> {
    doc: Doc<Vec<T>>,
}

impl<T: Grant> Grants<T> {
    /// The grants in the settings store's document `name`.
    pub fn open(store: &Store, name: &str) -> io::Result<Grants<T>> {
        Ok(Grants { doc: store.open(name)? })
    }

    /// A new token (`prefix` + 256 random bits) and the record `make` builds
    /// from its id and digest; returns the token (its only showing) and the
    /// public record.
    pub fn issue(&self, prefix: &str, make: impl FnOnce(String, String) -> T) -> io::Result<(String, T)> {
        let token = secret::token(prefix)?;
        let digest = secret::digest(&token);
        let record = make(digest[..12].to_string(), digest);
        self.doc.update(|records| records.push(record.clone()))?;
        Ok((token, record.public()))
    }

    pub fn list(&self) -> Vec<T> {
        self.doc.read(|records| records.iter().map(T::public).collect())
    }

    /// Revokes by id; false when there is no such record.
    pub fn revoke(&self, id: &str) -> io::Result<bool> {
        self.doc.update(|records| {
            let before = records.len();
            records.retain(|r| r.id() != id);
            records.len() != before
        })
    }

    /// Removes and returns the record `token` opens, in one step: of two
    /// collectors taking the same token, one gets it.
    pub fn take(&self, token: &str) -> io::Result<Option<T>> {
        let digest = secret::digest(token);
        self.doc.update(|records| {
            let at = records.iter().position(|r| secret::same(r.digest().as_bytes(), digest.as_bytes()))?;
            Some(records.remove(at))
        })
    }

    /// Keeps only the records `keep` accepts.
    pub fn retain(&self, keep: impl Fn(&T) -> bool) -> io::Result<()> {
        self.doc.update(|records| records.retain(|r| keep(r)))
    }

    /// The record `token` opens, if it is a live one.
    pub fn find(&self, token: &str) -> Option<T> {
        let digest = secret::digest(token);
        self.doc
            .find(|records| records.iter().find(|r| secret::same(r.digest().as_bytes(), digest.as_bytes())).cloned())
    }
}
