//! Hot files: acknowledged events visible to queries before their flush.
//!
//! Every `MALLARD_HOT_INTERVAL` (1 s) the WAL writer hands the events it has
//! committed since the last time to this thread, which writes them as
//! `<partition>/<seq>.<part>.hot` (Parquet). Readers include a hot file while
//! no lake file of its partition covers `seq` (see `mallard_core::lake`);
//! once the flush of `seq` lands they skip it, and it is deleted a grace
//! period later (after any query that listed it has read it). Hot files are
//! not durable and need not be: the WAL is; start-up deletes them all.
//! This thread is their only writer, so an erase asks it to rewrite them
//! ([`HotMsg::Erase`]); batches that arrive later are filtered by the erase's
//! rule before they are written.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mallard_core::event::Event;
use mallard_core::lake::{hot_file_name, partition_dir};
use mallard_core::time::Date;

use crate::lake::erase::{Erasures, Rule};
use crate::lake::writer::write_named;
use crate::log;
use crate::query::stats::Stats;

/// How long a flushed segment's hot files stay for readers that listed them.
const GRACE: Duration = Duration::from_secs(30);

pub enum HotMsg {
    /// Events of segment `seq` committed since the previous part.
    Batch { seq: u64, part: u32, events: Vec<Event> },
    /// Segment `seq` is in the lake.
    Flushed(u64),
    /// Rewrite every hot file without the rows `rule` erases; the answer
    /// comes once they are rewritten (Ok: how many files changed).
    Erase(Rule, std::sync::mpsc::Sender<std::io::Result<usize>>),
}

/// Deletes every hot file in the lake (at start-up: recovery has flushed
/// every segment, so they are all stale).
pub fn remove_all(lake_dir: &Path) -> std::io::Result<usize> {
    let mut removed = 0;
    for partition in crate::lake::scan(lake_dir)? {
        for entry in std::fs::read_dir(&partition.dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "hot") {
                std::fs::remove_file(&path)?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

pub fn start(
    lake_dir: PathBuf,
    rx: Receiver<HotMsg>,
    stats: Arc<Stats>,
    erasures: Arc<Erasures>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("hot".into()).spawn(move || {
        let mut written: HashMap<u64, Vec<PathBuf>> = HashMap::new();
        let mut flushed: Vec<(u64, Instant)> = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_secs(1)) {
                Ok(HotMsg::Batch { seq, part, events }) => {
                    let mut by_partition: BTreeMap<(String, Date), Vec<Event>> = BTreeMap::new();
                    for e in erasures.retain(events) {
                        by_partition.entry((e.site.clone(), e.date())).or_default().push(e);
                    }
                    for ((site, date), mut events) in by_partition {
                        let dir = lake_dir.join(partition_dir(&site, date));
                        match write_named(&dir, &hot_file_name(seq, part), &mut events, false) {
                            Ok((path, _)) => written.entry(seq).or_default().push(path),
                            Err(e) => {
                                log::warn("could not write a hot file; events show after the flush", &[("error", &e)])
                            }
                        }
                        stats.invalidate(&site);
                    }
                }
                Ok(HotMsg::Flushed(seq)) => flushed.push((seq, Instant::now())),
                Ok(HotMsg::Erase(rule, done)) => {
                    let _ = done.send(erase(&written, &rule));
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            flushed.retain(|(seq, at)| {
                if at.elapsed() < GRACE {
                    return true;
                }
                for path in written.remove(seq).unwrap_or_default() {
                    if let Err(e) = std::fs::remove_file(&path)
                        && e.kind() != std::io::ErrorKind::NotFound
                    {
                        log::warn("could not delete a stale hot file", &[("error", &e)]);
                    }
                }
                false
            });
        }
    })
}

/// Rewrites the hot files that hold rows `rule` erases. A file already gone
/// (its partition erased whole) is skipped.
fn erase(written: &HashMap<u64, Vec<PathBuf>>, rule: &Rule) -> std::io::Result<usize> {
    let db = crate::lake::erase::connection()?;
    let mut rewritten = 0;
    for path in written.values().flatten().filter(|p| p.exists()) {
        if crate::lake::erase::rewrite_file(&db, path, rule)? > 0 {
            rewritten += 1;
        }
    }
    Ok(rewritten)
}
