//! The audit log of data erasure, retention and every change of access
//! (users, roles, invitations, passwords, keys, shared links): one JSON line
//! per action in `<data>/audit.log` (0600), appended and synced. It records
//! what changed and by whom, never a visitor id or any secret.

use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::{Value, json};

pub struct Audit {
    path: PathBuf,
    lock: Mutex<()>,
}

impl Audit {
    pub fn new(data_dir: &std::path::Path) -> Audit {
        Audit { path: data_dir.join("audit.log"), lock: Mutex::new(()) }
    }

    /// Records a change of access by `by` (a principal's label). The
    /// change has happened: a failed write is logged, not undone.
    pub fn access(&self, action: &str, by: &str, details: Value) {
        let mut line = json!({"by": by});
        if let (Some(obj), Value::Object(more)) = (line.as_object_mut(), details) {
            obj.extend(more);
        }
        if let Err(e) = self.record(action, line) {
            crate::log::error("could not write the audit log", &[("action", &action), ("error", &e)]);
        }
    }

    /// The last `n` lines, newest first.
    pub fn tail(&self, n: usize) -> io::Result<Vec<Value>> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        Ok(text.lines().rev().take(n).filter_map(|l| serde_json::from_str(l).ok()).collect())
    }

    pub fn record(&self, action: &str, details: Value) -> io::Result<()> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let ts = mallard_core::time::format_timestamp(mallard_core::time::now_micros());
        let mut line = json!({"ts": ts, "action": action});
        if let (Some(obj), Value::Object(more)) = (line.as_object_mut(), details) {
            obj.extend(more);
        }
        let mut f = std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(&self.path)?;
        writeln!(f, "{line}")?;
        f.sync_data()
    }
}
