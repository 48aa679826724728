//! Shared links: a read-only view of one site's dashboard at
//! `/share/<token>`, revocable. Like API keys, only the token's digest is
//! stored (`<data>/shares.json`, 0600) and the link is shown once.

use std::io;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::secret;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Share {
    pub id: String,
    pub site: String,
    pub name: String,
    pub created: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    digest: String,
}

impl Share {
    pub fn public(&self) -> Share {
        Share { digest: String::new(), ..self.clone() }
    }
}

pub struct Shares {
    path: PathBuf,
    shares: Mutex<Vec<Share>>,
}

impl Shares {
    pub fn open(data_dir: &std::path::Path) -> io::Result<Shares> {
        let path = data_dir.join("shares.json");
        let shares = match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| io::Error::other(format!("{}: {e}", path.display())))?
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(Shares { path, shares: Mutex::new(shares) })
    }

    fn save(&self, shares: &[Share]) -> io::Result<()> {
        let text = serde_json::to_string_pretty(shares).map_err(io::Error::other)?;
        crate::files::write_atomic(&self.path, text.as_bytes(), 0o600)
    }

    /// A new link for `site`: its token (shown once) and its record.
    pub fn create(&self, site: &str, name: &str) -> io::Result<(String, Share)> {
        let token = secret::token("")?;
        let digest = secret::digest(&token);
        let share = Share {
            id: digest[..12].to_string(),
            site: site.to_string(),
            name: name.to_string(),
            created: mallard_core::time::format_timestamp(mallard_core::time::now_micros()),
            digest,
        };
        let mut shares = self.shares.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = shares.clone();
        next.push(share.clone());
        self.save(&next)?;
        *shares = next;
        Ok((token, share.public()))
    }

    pub fn list(&self) -> Vec<Share> {
        self.shares.lock().unwrap_or_else(|e| e.into_inner()).iter().map(Share::public).collect()
    }

    pub fn revoke(&self, id: &str) -> io::Result<bool> {
        let mut shares = self.shares.lock().unwrap_or_else(|e| e.into_inner());
        let next: Vec<Share> = shares.iter().filter(|s| s.id != id).cloned().collect();
        if next.len() == shares.len() {
            return Ok(false);
        }
        self.save(&next)?;
        *shares = next;
        Ok(true)
    }

    /// The site a share token opens, if it is a live one.
    pub fn find(&self, token: &str) -> Option<Share> {
        let digest = secret::digest(token);
        let shares = self.shares.lock().unwrap_or_else(|e| e.into_inner());
        shares.iter().find(|s| secret::same(s.digest.as_bytes(), digest.as_bytes())).cloned()
    }
}
