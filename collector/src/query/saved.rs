//! Named things saved per site (funnels, goals), kept in the settings store
//! as one document each: site → name → item.

use std::collections::BTreeMap;
use std::io;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::store::{Doc, Store};

/// An item saved under its name, in the settings store's document `DOC`.
pub trait Named: Clone + Serialize + DeserializeOwned + Send + Sync + 'static {
    const DOC: &'static str;
    fn name(&self) -> &str;
}

/// Site → items by name.
type Sites<T> = BTreeMap<String, BTreeMap<String, T>>;

/// The saved items of every site: the settings store's document `T::DOC`.
pub struct Saved<T: Named> {
    doc: Doc<Sites<T>>,
}

impl<T: Named> Saved<T> {
    pub fn open(store: &Store) -> io::Result<Saved<T>> {
        Ok(Saved { doc: store.open(T::DOC)? })
    }

    pub fn list(&self, site: &str) -> Vec<T> {
        self.doc.read(|sites| sites.get(site).map(|f| f.values().cloned().collect()).unwrap_or_default())
    }

    pub fn get(&self, site: &str, name: &str) -> Option<T> {
        self.doc.find(|sites| sites.get(site).and_then(|f| f.get(name)).cloned())
    }

    /// Saves (or replaces) an item; true when it replaced one.
    pub fn put(&self, site: &str, item: T) -> io::Result<bool> {
        self.doc
            .update(|sites| sites.entry(site.to_string()).or_default().insert(item.name().to_string(), item).is_some())
    }

    /// Deletes an item; false when there was none.
    pub fn delete(&self, site: &str, name: &str) -> io::Result<bool> {
        self.doc.update(|sites| {
            let Some(items) = sites.get_mut(site) else { return false };
            let removed = items.remove(name).is_some();
            if items.is_empty() {
                sites.remove(site);
            }
            removed
        })
    }
}

/// Checks the name of a saved `what` (a funnel, a goal).
pub fn check_name(what: &str, name: &str) -> Result<(), String> {
    let name = name.trim();
    if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return Err(format!("a {what} needs a name of 1 to 200 characters (no control characters)"));
    }
    Ok(())
}
