//! Saved funnels: named funnels per site (the dashboard's goals), kept in
//! the settings store (`<data>/funnels.json`, or the shared catalog).

use std::collections::BTreeMap;
use std::io;

use mallard_core::report::Report;
use mallard_core::time::MICROS_PER_SECOND;
use serde::{Deserialize, Serialize};

use crate::store::{Doc, Store};

/// A saved funnel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Funnel {
    pub name: String,
    pub steps: Vec<String>,
    /// Seconds.
    pub within: u64,
    #[serde(default)]
    pub mode: String,
}

impl Funnel {
    /// Checks the funnel as `mallard_funnel` would.
    pub fn validate(&self) -> Result<(), String> {
        let name = self.name.trim();
        if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
            return Err("a funnel needs a name of 1 to 200 characters (no control characters)".into());
        }
        let micros = i64::try_from(self.within).unwrap_or(i64::MAX / 2).saturating_mul(MICROS_PER_SECOND);
        Report::funnel(&self.steps, micros, &self.mode).map(|_| ())
    }
}

/// Site → funnels by name.
type Sites = BTreeMap<String, BTreeMap<String, Funnel>>;

/// The saved funnels: the settings store's document `funnels`.
pub struct Funnels {
    doc: Doc<Sites>,
}

impl Funnels {
    pub fn open(store: &Store) -> io::Result<Funnels> {
        Ok(Funnels { doc: store.open("funnels")? })
    }

    pub fn list(&self, site: &str) -> Vec<Funnel> {
        self.doc.read(|sites| sites.get(site).map(|f| f.values().cloned().collect()).unwrap_or_default())
    }

    pub fn get(&self, site: &str, name: &str) -> Option<Funnel> {
        self.doc.find(|sites| sites.get(site).and_then(|f| f.get(name)).cloned())
    }

    /// Saves (or replaces) a funnel; true when it replaced one.
    pub fn put(&self, site: &str, funnel: Funnel) -> io::Result<bool> {
        self.doc
            .update(|sites| sites.entry(site.to_string()).or_default().insert(funnel.name.clone(), funnel).is_some())
    }

    /// Deletes a funnel; false when there was none.
    pub fn delete(&self, site: &str, name: &str) -> io::Result<bool> {
        self.doc.update(|sites| {
            let Some(funnels) = sites.get_mut(site) else { return false };
            let removed = funnels.remove(name).is_some();
            if funnels.is_empty() {
                sites.remove(site);
            }
            removed
        })
    }
}
