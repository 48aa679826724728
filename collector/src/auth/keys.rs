//! API keys: `mm_` + 256 random bits, shown once at creation; only the
//! SHA-256 digest is kept, in the settings store (`keys`). A key has a scope
//! (`read`: stats; `admin`: also keys, shares, settings and erase; `ingest`:
//! only sending events through `POST /api/batch`) and may be limited to some
//! sites.

use std::io;

use serde::{Deserialize, Serialize};

use crate::auth::grants::{Grant, Grants};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    Admin,
    Ingest,
}

impl Scope {
    pub fn parse(s: &str) -> Result<Scope, String> {
        match s {
            "read" => Ok(Scope::Read),
            "admin" => Ok(Scope::Admin),
            "ingest" => Ok(Scope::Ingest),
            other => Err(format!("unknown scope {other:?}; use \"read\", \"admin\" or \"ingest\"")),
        }
    }
}

/// A key as stored and listed (never the key itself).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub scope: Scope,
    /// `None` = every site.
    pub sites: Option<Vec<String>>,
    pub created: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    digest: String,
}

impl Grant for ApiKey {
    fn id(&self) -> &str {
        &self.id
    }

    fn digest(&self) -> &str {
        &self.digest
    }

    fn public(&self) -> ApiKey {
        ApiKey { digest: String::new(), ..self.clone() }
    }
}

/// The API keys: the settings store's document `keys`.
pub type Keys = Grants<ApiKey>;

pub const PREFIX: &str = "mm_";

impl Grants<ApiKey> {
    pub fn open_keys(store: &crate::store::Store) -> io::Result<Keys> {
        Grants::open(store, "keys")
    }

    /// Creates a key; returns it (the only time it is seen) and its record.
    pub fn create(&self, name: &str, scope: Scope, sites: Option<Vec<String>>) -> io::Result<(String, ApiKey)> {
        self.issue(PREFIX, |id, digest| ApiKey {
            id,
            name: name.to_string(),
            scope,
            sites,
            created: mallard_core::time::format_timestamp(mallard_core::time::now_micros()),
            digest,
        })
    }
}
