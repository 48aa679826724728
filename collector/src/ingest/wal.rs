//! The write-ahead log: every event is in a fsync'd WAL segment before its
//! request is answered `202`, so an acknowledged event survives any crash.
//!
//! One writer thread owns the current segment and commits in groups: it takes
//! every append waiting at that moment, writes them with one `write`, makes
//! them durable with one `fdatasync`, then acknowledges them all — one fsync
//! covers many requests, which keeps throughput high. The events of the
//! current segment are also kept in memory; when the segment is sealed (flush
//! interval or size reached) they go to the flusher as one [`Sealed`] batch,
//! and the segment file is deleted only after their Parquet files are durable.
//!
//! Segment files are `<wal>/<seq:016x>.wal`, a sequence of records
//! `[len: u32 LE][crc32: u32 LE][JSON event]`. A torn record at the end of a
//! segment (a crash mid-write) was never acknowledged and is ignored.
//!
//! The writer is also the only one to rewrite segments: an erase
//! ([`Wal::erase`]) has it rewrite every segment still on disk without the
//! erased events (temp file, fsync, rename), and appends that arrive later
//! are filtered by the erase's rule before they are written.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mallard_core::event::Event;

use crate::files::sync_dir;
use crate::ingest::handoff::{Handoff, Sealed};
use crate::ingest::hot::HotMsg;
use crate::lake::erase::{Erasures, Rule};
use crate::log;
use crate::metrics::Metrics;

/// Why an append was not made durable (the request gets `503`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendError {
    /// Too many appends are already waiting: shed load.
    Overloaded,
    /// The log could not be written (disk full, read-only, …).
    Unavailable(String),
}

impl std::fmt::Display for AppendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppendError::Overloaded => f.write_str("the collector is overloaded; retry later"),
            AppendError::Unavailable(e) => write!(f, "events cannot be stored right now: {e}"),
        }
    }
}

/// What to do once an append is durable (or failed): typically answer the
/// HTTP request. Completions run on the responder thread, never on the
/// writer, so answering never delays the next group's fsync.
pub type Completion = Box<dyn FnOnce(Result<(), AppendError>) + Send>;

enum Msg {
    Append(Vec<Event>, Completion),
    /// Seal the current segment now (shutdown, tests, freshness).
    Seal(mpsc::Sender<()>),
    /// Rewrite the segments on disk without the events `Rule` erases.
    Erase(Rule, mpsc::Sender<io::Result<Vec<Erased>>>),
}

/// Events an erase removed from one WAL segment.
#[derive(Debug)]
pub struct Erased {
    pub seq: u64,
    pub events: Vec<Event>,
}

/// Numbers `/health/detailed` and `/metrics` show.
#[derive(Default)]
pub struct WalStats {
    /// Events in the current (unsealed) segment.
    pub buffered: AtomicUsize,
    /// Bytes in WAL segment files not yet flushed and deleted.
    pub bytes: AtomicU64,
    /// Whether the last write succeeded.
    pub writable: std::sync::atomic::AtomicBool,
}

/// Handle to the writer thread.
pub struct Wal {
    tx: Mutex<Option<SyncSender<Msg>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    pub stats: Arc<WalStats>,
}

/// Settings of the writer.
pub struct WalOptions {
    pub dir: PathBuf,
    pub first_seq: u64,
    pub flush_interval: Duration,
    pub flush_events: usize,
    pub queue: usize,
    /// How long a group may wait for more appends when requests are concurrent.
    pub commit_window: Duration,
    /// Where to send newly committed events every `hot_interval` (freshness).
    pub hot: Option<(mpsc::Sender<HotMsg>, Duration)>,
    /// Erase rules: appends they match are not written.
    pub erasures: Arc<Erasures>,
}

pub fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:016x}.wal"))
}

/// The sequence numbers of the segments in `dir`, ascending.
pub fn list_segments(dir: &Path) -> io::Result<Vec<u64>> {
    let mut seqs = Vec::new();
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries {
                let name = entry?.file_name();
                let name = name.to_string_lossy();
                if let Some(seq) = name.strip_suffix(".wal").filter(|s| s.len() == 16)
                    && let Ok(seq) = u64::from_str_radix(seq, 16)
                {
                    seqs.push(seq);
                }
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    seqs.sort_unstable();
    Ok(seqs)
}

/// Encodes one record.
pub fn encode(event: &Event, out: &mut Vec<u8>) {
    let json = serde_json::to_vec(event).expect("events serialize");
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&json).to_le_bytes());
    out.extend_from_slice(&json);
}

/// Rewrites segment `path` without the events `erased` matches, crash-safely
/// (temp file, fsync, rename over, fsync the directory): a crash leaves the
/// old or the new file whole. Returns the removed events (none: untouched).
pub fn rewrite_segment(path: &Path, erased: impl Fn(&Event) -> bool) -> io::Result<Vec<Event>> {
    let (events, _) = read_segment(path)?;
    let (removed, kept): (Vec<Event>, Vec<Event>) = events.into_iter().partition(|e| erased(e));
    if removed.is_empty() {
        return Ok(removed);
    }
    let mut bytes = Vec::new();
    for e in &kept {
        encode(e, &mut bytes);
    }
    // The mode a new segment gets (0o666 less the umask).
    crate::files::write_atomic(path, &bytes, 0o666)?;
    Ok(removed)
}

/// Reads every intact record of a segment; stops at the first torn or
/// corrupt one (which was never acknowledged). Returns the events and
/// whether the whole file was intact.
pub fn read_segment(path: &Path) -> io::Result<(Vec<Event>, bool)> {
    let mut data = Vec::new();
    File::open(path)?.read_to_end(&mut data)?;
    let mut events = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let Some(header) = data.get(pos..pos + 8) else { return Ok((events, false)) };
        let len = u32::from_le_bytes(header[..4].try_into().unwrap()) as usize;
        let crc = u32::from_le_bytes(header[4..].try_into().unwrap());
        let Some(body) = data.get(pos + 8..pos + 8 + len) else { return Ok((events, false)) };
        if crc32fast::hash(body) != crc {
            return Ok((events, false));
        }
        match serde_json::from_slice::<Event>(body) {
            Ok(e) => events.push(e),
            Err(_) => return Ok((events, false)),
        }
        pos += 8 + len;
    }
    Ok((events, true))
}

impl Wal {
    /// Starts the writer; sealed segments are sent to `sealed`.
    pub fn start(opts: WalOptions, sealed: Handoff, metrics: Arc<Metrics>) -> io::Result<Wal> {
        std::fs::create_dir_all(&opts.dir)?;
        let stats = Arc::new(WalStats::default());
        stats.writable.store(true, Ordering::Relaxed);
        let (tx, rx) = mpsc::sync_channel(opts.queue.max(1));
        let (responder, completions) = mpsc::channel::<Vec<(Completion, Result<(), AppendError>)>>();
        let responder_thread = std::thread::Builder::new().name("wal-responder".into()).spawn(move || {
            for group in completions {
                for (completion, result) in group {
                    completion(result);
                }
            }
        })?;
        let mut writer = Writer {
            responder,
            segment: None,
            next_seq: opts.first_seq,
            events: Vec::new(),
            sealed,
            stats: Arc::clone(&stats),
            metrics,
            opened: Instant::now(),
            flush_interval: opts.flush_interval,
            flush_events: opts.flush_events,
            commit_window: opts.commit_window,
            last_group: 0,
            dir: opts.dir,
            hot: opts.hot,
            erasures: opts.erasures,
            hot_sent: 0,
            hot_part: 0,
            last_hot: Instant::now(),
        };
        writer.open_segment()?;
        let thread = std::thread::Builder::new().name("wal".into()).spawn(move || {
            // `run` consumes the writer; dropping it ends the responder's loop.
            writer.run(rx);
            let _ = responder_thread.join();
        })?;
        Ok(Wal { tx: Mutex::new(Some(tx)), thread: Mutex::new(Some(thread)), stats })
    }

    fn sender(&self) -> Option<SyncSender<Msg>> {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Queues `events` for the next group commit; `done` runs once they are
    /// fsync'd (or could not be). When the queue is full or the log stopped,
    /// returns the completion so the caller can answer at once.
    pub fn submit(&self, events: Vec<Event>, done: Completion) -> Result<(), (AppendError, Completion)> {
        let Some(tx) = self.sender() else {
            return Err((AppendError::Unavailable("the collector is shutting down".into()), done));
        };
        match tx.try_send(Msg::Append(events, done)) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(Msg::Append(_, done))) => Err((AppendError::Overloaded, done)),
            Err(TrySendError::Disconnected(Msg::Append(_, done))) => {
                Err((AppendError::Unavailable("the write-ahead log has stopped".into()), done))
            }
            Err(_) => unreachable!("only appends are submitted here"),
        }
    }

    /// Appends `events` durably; returns once they are fsync'd.
    pub fn append(&self, events: Vec<Event>) -> Result<(), AppendError> {
        let (ack_tx, ack_rx) = mpsc::channel();
        let done: Completion = Box::new(move |result| {
            let _ = ack_tx.send(result);
        });
        if let Err((e, _)) = self.submit(events, done) {
            return Err(e);
        }
        ack_rx.recv().unwrap_or_else(|_| Err(AppendError::Unavailable("the write-ahead log has stopped".into())))
    }

    /// Seals the current segment now and waits until it is handed to the flusher.
    pub fn seal(&self) {
        if let Some(tx) = self.sender() {
            let (ack_tx, ack_rx) = mpsc::channel();
            if tx.send(Msg::Seal(ack_tx)).is_ok() {
                let _ = ack_rx.recv();
            }
        }
    }

    /// Rewrites every WAL segment on disk without the events `rule` erases
    /// and returns what it removed, per segment. The caller holds the lake
    /// lock, so the flusher deletes no segment meanwhile; `rule` must already
    /// be in the [`Erasures`], so later appends are filtered.
    pub fn erase(&self, rule: Rule) -> io::Result<Vec<Erased>> {
        let Some(tx) = self.sender() else {
            return Err(io::Error::other("the write-ahead log has stopped"));
        };
        let (done_tx, done_rx) = mpsc::channel();
        tx.send(Msg::Erase(rule, done_tx)).map_err(|_| io::Error::other("the write-ahead log has stopped"))?;
        done_rx.recv().unwrap_or_else(|_| Err(io::Error::other("the write-ahead log has stopped")))
    }

    /// Seals what is buffered and stops the writer.
    pub fn shutdown(&self) {
        self.seal();
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
    }
}

struct Segment {
    seq: u64,
    file: File,
    /// Length of the file up to the last durable record.
    good_len: u64,
}

struct Writer {
    responder: mpsc::Sender<Vec<(Completion, Result<(), AppendError>)>>,
    segment: Option<Segment>,
    next_seq: u64,
    events: Vec<Event>,
    sealed: Handoff,
    stats: Arc<WalStats>,
    metrics: Arc<Metrics>,
    opened: Instant,
    flush_interval: Duration,
    flush_events: usize,
    commit_window: Duration,
    /// Appends in the previous group.
    last_group: usize,
    dir: PathBuf,
    hot: Option<(mpsc::Sender<HotMsg>, Duration)>,
    erasures: Arc<Erasures>,
    /// Events of the current segment already sent as hot parts.
    hot_sent: usize,
    hot_part: u32,
    last_hot: Instant,
}

/// Appends committed together at most (bounds a group's write size).
const MAX_GROUP: usize = 4096;

impl Writer {
    fn run(mut self, rx: Receiver<Msg>) {
        loop {
            let mut wait = self.flush_interval.saturating_sub(self.opened.elapsed());
            if let Some((_, interval)) = &self.hot
                && self.events.len() > self.hot_sent
            {
                wait = wait.min(interval.saturating_sub(self.last_hot.elapsed()));
            }
            let first = match rx.recv_timeout(wait.max(Duration::from_millis(1))) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => {
                    if self.opened.elapsed() >= self.flush_interval {
                        self.seal();
                    } else {
                        self.send_hot(false);
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.seal();
                    // A clean stop leaves no empty segment behind.
                    if let Some(segment) = self.segment.take().filter(|s| s.good_len == 0) {
                        let _ = std::fs::remove_file(segment_path(&self.dir, segment.seq));
                    }
                    return;
                }
            };
            let mut appends = Vec::new();
            let mut seals = Vec::new();
            let mut erases = Vec::new();
            let mut next = Some(first);
            // Under concurrency (the last group had company), keep gathering
            // while appends keep arriving — each within a fifth of the commit
            // window of the last, all within the window — so one fsync covers
            // many requests (on a virtual disk each fsync costs real CPU).
            // A lone request, or a trickle, is not delayed.
            let deadline = (self.last_group > 1).then(|| Instant::now() + self.commit_window);
            let linger = self.commit_window / 5;
            while let Some(msg) = next {
                match msg {
                    Msg::Append(events, ack) => appends.push((events, ack)),
                    Msg::Seal(ack) => seals.push(ack),
                    Msg::Erase(rule, done) => erases.push((rule, done)),
                }
                next = match (appends.len() < MAX_GROUP, deadline) {
                    (false, _) => None,
                    (true, None) => rx.try_recv().ok(),
                    (true, Some(deadline)) => rx.try_recv().ok().or_else(|| {
                        let left = deadline.checked_duration_since(Instant::now())?;
                        rx.recv_timeout(left.min(linger)).ok()
                    }),
                };
            }
            self.last_group = appends.len();
            if !appends.is_empty() {
                self.commit(appends);
            }
            for (rule, done) in erases {
                let _ = done.send(self.erase(&rule));
            }
            if !seals.is_empty()
                || self.events.len() >= self.flush_events
                || self.opened.elapsed() >= self.flush_interval
            {
                self.seal();
            } else {
                self.send_hot(false);
            }
            for ack in seals {
                let _ = ack.send(());
            }
        }
    }

    /// Writes a group of appends with one write and one fdatasync.
    fn commit(&mut self, mut appends: Vec<(Vec<Event>, Completion)>) {
        // Events an erase already covers are acknowledged but not stored.
        for (events, _) in &mut appends {
            *events = self.erasures.retain(std::mem::take(events));
        }
        let mut bytes = Vec::with_capacity(appends.len() * 512);
        for (events, _) in &appends {
            for e in events {
                encode(e, &mut bytes);
            }
        }
        let result = self.write_durably(&bytes);
        let mut done = Vec::with_capacity(appends.len());
        match result {
            Ok(()) => {
                self.stats.writable.store(true, Ordering::Relaxed);
                let mut accepted = 0;
                for (events, completion) in appends {
                    accepted += events.len();
                    self.events.extend(events);
                    done.push((completion, Ok(())));
                }
                self.metrics.inc("mallard_events_accepted_total", "", accepted as f64);
                self.stats.buffered.store(self.events.len(), Ordering::Relaxed);
            }
            Err(e) => {
                self.stats.writable.store(false, Ordering::Relaxed);
                log::error("write-ahead log write failed; answering 503 until it recovers", &[("error", &e)]);
                for (_, completion) in appends {
                    done.push((completion, Err(AppendError::Unavailable(e.to_string()))));
                }
            }
        }
        // Answer on the responder thread, so this one can start the next group.
        if let Err(mpsc::SendError(done)) = self.responder.send(done) {
            for (completion, result) in done {
                completion(result);
            }
        }
    }

    fn write_durably(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.segment.is_none() {
            self.open_segment()?;
        }
        let segment = self.segment.as_mut().expect("opened above");
        let started = Instant::now();
        let result = segment.file.write_all(bytes).and_then(|_| segment.file.sync_data());
        match result {
            Ok(()) => {
                self.metrics.wal_fsync.observe(started.elapsed());
                segment.good_len += bytes.len() as u64;
                self.stats.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                // Cut the torn tail off; if even that fails, never append to
                // this file again: seal it (its durable prefix is intact) and
                // start a fresh segment on the next write.
                let truncated = segment.file.set_len(segment.good_len).and_then(|_| segment.file.sync_data());
                if truncated.is_err() {
                    if self.events.is_empty() {
                        self.segment = None;
                    } else {
                        self.seal();
                    }
                }
                Err(e)
            }
        }
    }

    /// Rewrites every segment on disk without the events `rule` erases: the
    /// sealed ones not yet flushed, and the current one (whose events in
    /// memory are filtered alike, and whose file is reopened after).
    fn erase(&mut self, rule: &Rule) -> io::Result<Vec<Erased>> {
        let current = self.segment.as_ref().map(|s| s.seq);
        let mut out = Vec::new();
        for seq in list_segments(&self.dir)? {
            let path = segment_path(&self.dir, seq);
            let events = rewrite_segment(&path, |e| rule.matches(e))?;
            if events.is_empty() {
                continue;
            }
            if Some(seq) == current {
                // Keep the in-memory copy equal to the file, and the count of
                // events already sent as hot parts pointing at the same events.
                let sent = self.events[..self.hot_sent].iter().filter(|e| !rule.matches(e)).count();
                self.events.retain(|e| !rule.matches(e));
                self.hot_sent = sent;
                self.stats.buffered.store(self.events.len(), Ordering::Relaxed);
                let file = OpenOptions::new().append(true).open(&path)?;
                let len = file.metadata()?.len();
                if let Some(segment) = self.segment.as_mut() {
                    segment.file = file;
                    segment.good_len = len;
                }
            }
            out.push(Erased { seq, events });
        }
        Ok(out)
    }

    fn open_segment(&mut self) -> io::Result<()> {
        let seq = self.next_seq;
        let path = segment_path(&self.dir, seq);
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        sync_dir(&self.dir)?;
        self.next_seq += 1;
        self.segment = Some(Segment { seq, file, good_len: 0 });
        self.opened = Instant::now();
        Ok(())
    }

    /// Sends the events committed since the last hot part, when the hot
    /// interval has passed (or `now`).
    fn send_hot(&mut self, now: bool) {
        let Some((tx, interval)) = &self.hot else { return };
        if self.events.len() <= self.hot_sent || (!now && self.last_hot.elapsed() < *interval) {
            return;
        }
        let Some(seq) = self.segment.as_ref().map(|s| s.seq) else { return };
        let events = self.events[self.hot_sent..].to_vec();
        let _ = tx.send(HotMsg::Batch { seq, part: self.hot_part, events });
        self.hot_sent = self.events.len();
        self.hot_part += 1;
        self.last_hot = Instant::now();
    }

    /// Hands the current segment's events to the flusher and starts a new
    /// segment. Invariant: buffered events always belong to `self.segment`.
    fn seal(&mut self) {
        self.opened = Instant::now();
        if self.events.is_empty() {
            return;
        }
        // Keep the tail visible until the flush lands (the flusher may be busy).
        self.send_hot(true);
        self.hot_sent = 0;
        self.hot_part = 0;
        let Some(segment) = self.segment.take() else {
            return;
        };
        let events = std::mem::take(&mut self.events);
        // Counted as pending by the hand-off before leaving "buffered".
        self.sealed.send(Sealed { seq: segment.seq, events });
        self.stats.buffered.store(0, Ordering::Relaxed);
        if let Err(e) = self.open_segment() {
            log::error("cannot open a new write-ahead log segment; will retry", &[("error", &e)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_torn_tails_are_ignored() {
        let dir = std::env::temp_dir().join(format!("mallard-wal-{}-{}", std::process::id(), line!()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = segment_path(&dir, 1);
        let events: Vec<Event> = (0..3)
            .map(|i| Event { site: "a.com".into(), ts: i, name: "pageview".into(), ..Event::default() })
            .collect();
        let mut bytes = Vec::new();
        for e in &events {
            encode(e, &mut bytes);
        }
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(read_segment(&path).unwrap(), (events.clone(), true));
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert_eq!(read_segment(&path).unwrap(), (events[..2].to_vec(), false));
        let mut corrupt = bytes.clone();
        let last = corrupt.len() - 1;
        corrupt[last] ^= 1;
        std::fs::write(&path, &corrupt).unwrap();
        assert_eq!(read_segment(&path).unwrap().0.len(), 2);
        assert_eq!(list_segments(&dir).unwrap(), vec![1]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
