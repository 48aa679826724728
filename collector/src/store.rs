//! The settings store: the small JSON documents that say who may do what —
//! the password, login sessions, API keys, shared links, saved funnels.
//!
//! On a local lake each document is a file in the data directory
//! (`<name>.json`, 0600, replaced atomically), and sessions live in memory,
//! as before. On a shared lake they all live in the catalog's PostgreSQL
//! (table `mallard_documents`), so every collector behind a load balancer
//! knows the same password, sessions, keys, links and funnels.
//!
//! Each document is cached in memory. A shared one is re-read when its copy
//! is older than [`FRESH`], and at once when a lookup misses (a session made
//! on another collector a moment ago). A change is a read-modify-write in one
//! transaction under the row's lock, so two collectors never lose each
//! other's changes. While PostgreSQL is unreachable, reads answer from the
//! cache and changes fail with a clear error.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// How long a shared document's cached copy is trusted: a key revoked on one
/// collector stops working on the others within this long.
pub const FRESH: Duration = Duration::from_secs(1);
/// After a failed read of PostgreSQL, requests use the cache this long
/// before trying again (so an outage does not cost every request a connect).
const BACKOFF: Duration = Duration::from_secs(1);

const DDL: &str = "CREATE TABLE IF NOT EXISTS mallard_documents \
     (name text PRIMARY KEY, body text NOT NULL, version bigint NOT NULL)";

/// Where the documents live.
#[derive(Clone)]
pub enum Store {
    /// Files in the data directory.
    Local(PathBuf),
    /// The shared lake's catalog; the data directory's files seed it once.
    Shared { data_dir: PathBuf, catalog: Arc<Catalog> },
}

/// One PostgreSQL session for all of a collector's documents, reopened
/// after any error.
pub struct Catalog {
    catalog: String,
    client: Mutex<Option<postgres::Client>>,
}

impl Catalog {
    fn with<R>(&self, f: impl FnOnce(&mut postgres::Client) -> Result<R, postgres::Error>) -> io::Result<R> {
        let mut slot = self.client.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            let client = crate::lake::catalog::connect(&self.catalog).map_err(|e| unavailable(&e.0))?;
            *slot = Some(client);
        }
        let client = slot.as_mut().expect("connected above");
        f(client).map_err(|e| {
            // The session may be broken (a restarted server): start afresh.
            *slot = None;
            unavailable(&format!("PostgreSQL: {e}"))
        })
    }
}

fn unavailable(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionRefused, format!("the shared settings store is unavailable: {why}"))
}

/// Whether an error from a change means the shared store was unreachable
/// (the routes answer `503`, not `500`).
pub fn is_unavailable(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::ConnectionRefused
}

impl Store {
    pub fn local(data_dir: &Path) -> Store {
        Store::Local(data_dir.to_path_buf())
    }

    /// The catalog of a shared lake (`ducklake:postgres:<conninfo>`).
    pub fn shared(data_dir: &Path, catalog: &str) -> io::Result<Store> {
        let catalog = Arc::new(Catalog { catalog: catalog.to_string(), client: Mutex::new(None) });
        catalog.with(|c| c.batch_execute(DDL))?;
        Ok(Store::Shared { data_dir: data_dir.to_path_buf(), catalog })
    }

    /// The document `name`, persistent (a file, or a catalog row).
    pub fn open<T: Clone + Default + Serialize + DeserializeOwned>(&self, name: &str) -> io::Result<Doc<T>> {
        let file = |dir: &Path| dir.join(format!("{name}.json"));
        let backend = match self {
            Store::Local(dir) => Backend::File(file(dir)),
            Store::Shared { data_dir, catalog } => {
                // A collector moving onto a shared lake brings its settings:
                // the first one to arrive seeds the catalog.
                if let Some(body) = read_file(&file(data_dir))? {
                    serde_json::from_slice::<T>(&body).map_err(|e| bad(&file(data_dir).display(), &e))?;
                    let text = String::from_utf8_lossy(&body).into_owned();
                    catalog.with(|c| {
                        c.execute(
                            "INSERT INTO mallard_documents (name, body, version) VALUES ($1, $2, 1) \
                             ON CONFLICT (name) DO NOTHING",
                            &[&name, &text],
                        )
                    })?;
                }
                Backend::Catalog(Arc::clone(catalog))
            }
        };
        Doc::new(name, backend)
    }

    /// The document `name`, kept in memory on a local lake (sessions end
    /// with the process) and in the catalog on a shared one.
    pub fn open_volatile<T: Clone + Default + Serialize + DeserializeOwned>(&self, name: &str) -> io::Result<Doc<T>> {
        match self {
            Store::Local(_) => Doc::new(name, Backend::Memory),
            Store::Shared { catalog, .. } => Doc::new(name, Backend::Catalog(Arc::clone(catalog))),
        }
    }
}

fn read_file(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    }
}

fn bad(what: &dyn std::fmt::Display, e: &serde_json::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {e}"))
}

enum Backend {
    Memory,
    File(PathBuf),
    Catalog(Arc<Catalog>),
}

struct State<T> {
    value: T,
    /// The catalog row's version the value is (0: no row yet).
    version: i64,
    /// When the catalog was last asked (successfully or not).
    checked: Option<Instant>,
    failing: bool,
}

/// One document and its cached value.
pub struct Doc<T> {
    name: String,
    backend: Backend,
    state: Mutex<State<T>>,
}

impl<T: Clone + Default + Serialize + DeserializeOwned> Doc<T> {
    fn new(name: &str, backend: Backend) -> io::Result<Doc<T>> {
        let value = match &backend {
            Backend::File(path) => match read_file(path)? {
                Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| bad(&path.display(), &e))?,
                None => T::default(),
            },
            _ => T::default(),
        };
        let doc = Doc {
            name: name.to_string(),
            backend,
            state: Mutex::new(State { value, version: 0, checked: None, failing: false }),
        };
        // A shared lake needs its catalog to start (as the lake does).
        doc.refresh(true)?;
        Ok(doc)
    }

    /// Re-reads a shared document when its copy is stale, or at once when
    /// `force` (but not within [`BACKOFF`] of a failure). The copy stays in
    /// use when PostgreSQL cannot be reached.
    fn refresh(&self, force: bool) -> io::Result<()> {
        let Backend::Catalog(catalog) = &self.backend else { return Ok(()) };
        let version = {
            let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(age) = state.checked.map(|t| t.elapsed())
                && ((state.failing && age < BACKOFF) || (!state.failing && !force && age < FRESH))
            {
                return Ok(());
            }
            state.version
        };
        let name = self.name.as_str();
        let read = catalog.with(|c| {
            c.query_opt(
                "SELECT version, body FROM mallard_documents WHERE name = $1 AND version <> $2",
                &[&name, &version],
            )
        });
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.checked = Some(Instant::now());
        match read {
            Ok(row) => {
                if state.failing {
                    crate::log::info("the shared settings store is reachable again", &[("document", &name)]);
                }
                state.failing = false;
                if let Some(row) = row {
                    let (version, body): (i64, String) = (row.get(0), row.get(1));
                    // A change made here meanwhile may be newer than this read.
                    if version > state.version {
                        state.value =
                            serde_json::from_str::<Option<T>>(&body).map_err(|e| bad(&name, &e))?.unwrap_or_default();
                        state.version = version;
                    }
                }
                Ok(())
            }
            Err(e) => {
                if !state.failing {
                    crate::log::warn(
                        "the shared settings store is unreachable; answering from the cache",
                        &[("document", &name), ("error", &e)],
                    );
                }
                state.failing = true;
                Err(e)
            }
        }
    }

    /// Reads the (fresh enough) value.
    pub fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        let _ = self.refresh(false);
        f(&self.state.lock().unwrap_or_else(|e| e.into_inner()).value)
    }

    /// Looks something up; on a miss a shared document is re-read at once
    /// and asked again, since it may have been added elsewhere just now.
    pub fn find<R>(&self, f: impl Fn(&T) -> Option<R>) -> Option<R> {
        let _ = self.refresh(false);
        if let Some(found) = f(&self.state.lock().unwrap_or_else(|e| e.into_inner()).value) {
            return Some(found);
        }
        if !matches!(self.backend, Backend::Catalog(_)) {
            return None;
        }
        let _ = self.refresh(true);
        f(&self.state.lock().unwrap_or_else(|e| e.into_inner()).value)
    }

    /// Changes the value durably: `f` edits the newest value, and whatever
    /// it leaves is stored (if it changed) before this returns.
    pub fn update<R>(&self, f: impl FnOnce(&mut T) -> R) -> io::Result<R> {
        match &self.backend {
            Backend::Memory => Ok(f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()).value)),
            Backend::File(path) => {
                let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                let before = serde_json::to_vec(&state.value).map_err(io::Error::other)?;
                let mut next = state.value.clone();
                let out = f(&mut next);
                if serde_json::to_vec(&next).map_err(io::Error::other)? != before {
                    let text = serde_json::to_vec_pretty(&next).map_err(io::Error::other)?;
                    crate::files::write_atomic(path, &text, 0o600)?;
                    state.value = next;
                }
                Ok(out)
            }
            Backend::Catalog(catalog) => {
                let name = self.name.as_str();
                let (out, value, version) = catalog.with(|c| {
                    let mut txn = c.transaction()?;
                    txn.execute(
                        "INSERT INTO mallard_documents (name, body, version) VALUES ($1, 'null', 0) \
                         ON CONFLICT (name) DO NOTHING",
                        &[&name],
                    )?;
                    let row = txn.query_one(
                        "SELECT version, body FROM mallard_documents WHERE name = $1 FOR UPDATE",
                        &[&name],
                    )?;
                    let (mut version, body): (i64, String) = (row.get(0), row.get(1));
                    let mut value: T = match serde_json::from_str::<Option<T>>(&body) {
                        Ok(v) => v.unwrap_or_default(),
                        Err(e) => return Ok(Err(bad(&name, &e))),
                    };
                    let out = f(&mut value);
                    let text = match serde_json::to_string(&value) {
                        Ok(t) => t,
                        Err(e) => return Ok(Err(io::Error::other(e))),
                    };
                    if text != body {
                        version += 1;
                        txn.execute(
                            "UPDATE mallard_documents SET body = $2, version = $3 WHERE name = $1",
                            &[&name, &text, &version],
                        )?;
                    }
                    txn.commit()?;
                    Ok(Ok((out, value, version)))
                })??;
                let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                if version >= state.version {
                    state.value = value;
                    state.version = version;
                }
                state.checked = Some(Instant::now());
                state.failing = false;
                Ok(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn a_file_document_survives_a_reopen_and_unchanged_values_are_not_written() {
        let dir = std::env::temp_dir().join(format!("mallard-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::local(&dir);
        let doc: Doc<BTreeMap<String, u32>> = store.open("things").unwrap();
        assert_eq!(doc.read(|m| m.len()), 0);
        assert_eq!(doc.update(|m| m.insert("a".into(), 1)).unwrap(), None);
        let path = dir.join("things.json");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let written = std::fs::metadata(&path).unwrap().modified().unwrap();
        std::fs::remove_file(&path).unwrap();
        doc.update(|m| m.get("a").copied()).unwrap();
        assert!(!path.exists(), "a change that changes nothing writes nothing");
        doc.update(|m| m.insert("b".into(), 2)).unwrap();
        assert!(std::fs::metadata(&path).unwrap().modified().unwrap() >= written);
        let again: Doc<BTreeMap<String, u32>> = store.open("things").unwrap();
        assert_eq!(again.read(|m| m.clone()), BTreeMap::from([("a".into(), 1), ("b".into(), 2)]));
        assert_eq!(again.find(|m| m.get("c").copied()), None);

        let sessions: Doc<BTreeMap<String, u32>> = store.open_volatile("sessions").unwrap();
        sessions.update(|m| m.insert("s".into(), 1)).unwrap();
        assert!(!dir.join("sessions.json").exists(), "sessions stay in memory on a local lake");
        std::fs::write(&path, "not json").unwrap();
        let err = store.open::<BTreeMap<String, u32>>("things").err().unwrap();
        assert!(err.to_string().contains("things.json"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
