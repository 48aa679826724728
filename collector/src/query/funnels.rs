//! Saved funnels: named funnels per site (the dashboard's goals), kept in
//! `<data>/funnels.json` and rewritten atomically on every change.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use mallard_core::report::Report;
use mallard_core::time::MICROS_PER_SECOND;
use serde::{Deserialize, Serialize};

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

/// The store: site → funnels by name.
pub struct Funnels {
    path: PathBuf,
    sites: Mutex<BTreeMap<String, BTreeMap<String, Funnel>>>,
}

impl Funnels {
    /// Opens (or starts) the store in `data_dir`.
    pub fn open(data_dir: &Path) -> io::Result<Funnels> {
        let path = data_dir.join("funnels.json");
        let sites = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e),
        };
        Ok(Funnels { path, sites: Mutex::new(sites) })
    }

    pub fn list(&self, site: &str) -> Vec<Funnel> {
        let sites = self.sites.lock().unwrap_or_else(|e| e.into_inner());
        sites.get(site).map(|f| f.values().cloned().collect()).unwrap_or_default()
    }

    pub fn get(&self, site: &str, name: &str) -> Option<Funnel> {
        let sites = self.sites.lock().unwrap_or_else(|e| e.into_inner());
        sites.get(site).and_then(|f| f.get(name)).cloned()
    }

    /// Saves (or replaces) a funnel; true when it replaced one.
    pub fn put(&self, site: &str, funnel: Funnel) -> io::Result<bool> {
        let mut sites = self.sites.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = sites.clone();
        let replaced = next.entry(site.to_string()).or_default().insert(funnel.name.clone(), funnel).is_some();
        self.write(&next)?;
        *sites = next;
        Ok(replaced)
    }

    /// Deletes a funnel; false when there was none.
    pub fn delete(&self, site: &str, name: &str) -> io::Result<bool> {
        let mut sites = self.sites.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = sites.clone();
        let Some(funnels) = next.get_mut(site) else { return Ok(false) };
        if funnels.remove(name).is_none() {
            return Ok(false);
        }
        if funnels.is_empty() {
            next.remove(site);
        }
        self.write(&next)?;
        *sites = next;
        Ok(true)
    }

    fn write(&self, sites: &BTreeMap<String, BTreeMap<String, Funnel>>) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(sites).map_err(io::Error::other)?;
        crate::files::write_atomic(&self.path, &bytes, 0o600)
    }
}
