//! The audit log of data erasure and retention: one JSON line per action in
//! `<data>/audit.log` (0600), appended and synced. It records what was
//! removed and by whom, never a visitor id or any secret.

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
