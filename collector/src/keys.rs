//! API keys: `mm_` + 256 random bits, shown once at creation; only the
//! SHA-256 digest is kept, in `<data>/keys.json` (0600). A key has a scope
//! (`read`: stats; `admin`: also keys, shares, settings and erase) and may be
//! limited to some sites.

use std::io;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    Admin,
}

impl Scope {
    pub fn parse(s: &str) -> Result<Scope, String> {
        match s {
            "read" => Ok(Scope::Read),
            "admin" => Ok(Scope::Admin),
            other => Err(format!("unknown scope {other:?}; use \"read\" or \"admin\"")),
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

impl ApiKey {
    /// What the API shows: everything but the digest.
    pub fn public(&self) -> ApiKey {
        ApiKey { digest: String::new(), ..self.clone() }
    }
}

pub struct Keys {
    path: PathBuf,
    keys: Mutex<Vec<ApiKey>>,
}

pub const PREFIX: &str = "mm_";

impl Keys {
    pub fn open(data_dir: &std::path::Path) -> io::Result<Keys> {
        let path = data_dir.join("keys.json");
        let keys = match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| io::Error::other(format!("{}: {e}", path.display())))?
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(Keys { path, keys: Mutex::new(keys) })
    }

    fn save(&self, keys: &[ApiKey]) -> io::Result<()> {
        let text = serde_json::to_string_pretty(keys).map_err(io::Error::other)?;
        crate::files::write_atomic(&self.path, text.as_bytes(), 0o600)
    }

    /// Creates a key; returns it (the only time it is seen) and its record.
    pub fn create(&self, name: &str, scope: Scope, sites: Option<Vec<String>>) -> io::Result<(String, ApiKey)> {
        let token = secret::token(PREFIX)?;
        let digest = secret::digest(&token);
        let key = ApiKey {
            id: digest[..12].to_string(),
            name: name.to_string(),
            scope,
            sites,
            created: mallard_core::time::format_timestamp(mallard_core::time::now_micros()),
            digest,
        };
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = keys.clone();
        next.push(key.clone());
        self.save(&next)?;
        *keys = next;
        Ok((token, key.public()))
    }

    pub fn list(&self) -> Vec<ApiKey> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner()).iter().map(ApiKey::public).collect()
    }

    /// Revokes by id; false when there is no such key.
    pub fn revoke(&self, id: &str) -> io::Result<bool> {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let next: Vec<ApiKey> = keys.iter().filter(|k| k.id != id).cloned().collect();
        if next.len() == keys.len() {
            return Ok(false);
        }
        self.save(&next)?;
        *keys = next;
        Ok(true)
    }

    /// The key `token` is, if it is one.
    pub fn find(&self, token: &str) -> Option<ApiKey> {
        let digest = secret::digest(token);
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter().find(|k| secret::same(k.digest.as_bytes(), digest.as_bytes())).cloned()
    }
}
