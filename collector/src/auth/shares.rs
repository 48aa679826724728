//! Shared links: a read-only view of one site's dashboard at
//! `/share/<token>`, revocable. Like API keys, only the token's digest is
//! stored (the settings store's `shares`) and the link is shown once.

use std::io;

use serde::{Deserialize, Serialize};

use crate::auth::grants::{Grant, Grants};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Share {
    pub id: String,
    pub site: String,
    pub name: String,
    pub created: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    digest: String,
}

impl Grant for Share {
    fn id(&self) -> &str {
        &self.id
    }

    fn digest(&self) -> &str {
        &self.digest
    }

    fn public(&self) -> Share {
        Share { digest: String::new(), ..self.clone() }
    }
}

/// The shared links: the settings store's document `shares`.
pub type Shares = Grants<Share>;

impl Grants<Share> {
    pub fn open_shares(store: &crate::store::Store) -> io::Result<Shares> {
        Grants::open(store, "shares")
    }

    /// A new link for `site`: its token (shown once) and its record.
    pub fn create(&self, site: &str, name: &str) -> io::Result<(String, Share)> {
        self.issue("", |id, digest| Share {
            id,
            site: site.to_string(),
            name: name.to_string(),
            created: mallard_core::time::format_timestamp(mallard_core::time::now_micros()),
            digest,
        })
    }
}
