//! Per-site settings (the settings store's document `site_settings`): for
//! the k of small-count protection on shared links, the time zone email
//! digests count days in, and whether an owner added the site (listed with
//! no data yet, and accepted beside `MALLARD_SITES`).

use std::collections::BTreeMap;
use std::io;

use serde::{Deserialize, Serialize};

use super::protection::DEFAULT_K;
use crate::store::{Doc, Store};

/// One site's settings; a missing field is its default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteSettings {
    /// Shared links hide numbers describing fewer than this many visitors
    /// (0 or 1: off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub small_count_k: Option<u64>,
    /// The site's time zone (IANA): digests cover its days. None = UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// When an owner added the site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added: Option<String>,
}

impl SiteSettings {
    pub fn k(&self) -> u64 {
        self.small_count_k.unwrap_or(DEFAULT_K)
    }
}

pub struct Sites {
    doc: Doc<BTreeMap<String, SiteSettings>>,
}

impl Sites {
    pub fn open(store: &Store) -> io::Result<Sites> {
        Ok(Sites { doc: store.open("site_settings")? })
    }

    pub fn get(&self, site: &str) -> SiteSettings {
        self.doc.read(|sites| sites.get(site).cloned().unwrap_or_default())
    }

    pub fn is_added(&self, site: &str) -> bool {
        self.doc.read(|sites| sites.get(site).is_some_and(|s| s.added.is_some()))
    }

    /// The sites an owner added.
    pub fn added(&self) -> Vec<String> {
        self.doc.read(|sites| sites.iter().filter(|(_, s)| s.added.is_some()).map(|(k, _)| k.clone()).collect())
    }

    /// Adds `site` (`true`) or takes it off the list (`false`); whether that
    /// changed anything.
    pub fn set_added(&self, site: &str, added: bool) -> io::Result<bool> {
        let now = mallard_core::time::format_timestamp(mallard_core::time::now_micros());
        self.doc.update(|sites| {
            let entry = sites.entry(site.to_string()).or_default();
            let changed = entry.added.is_some() != added;
            if changed {
                entry.added = added.then_some(now);
            }
            changed
        })
    }

    pub fn put(&self, site: &str, settings: SiteSettings) -> io::Result<()> {
        self.doc.update(|sites| {
            sites.insert(site.to_string(), settings);
        })
    }
}
