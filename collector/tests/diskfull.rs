//! A nearly full data disk: the collector still starts (it writes nothing
//! big there: the extension is loaded from memory), answers `/health`,
//! refuses events with `503` + `Retry-After` while the disk is full, and
//! loses nothing it acknowledged once space returns. The data directory is
//! on a 5 MB tmpfs, so this test needs root; `make test` runs as root in CI
//! (`.ci/run`), and elsewhere it says that it was skipped.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// A mounted tmpfs, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = temp_dir("tmpfs");
        let status =
            Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(&dir).status();
        assert!(status.is_ok_and(|s| s.success()), "mount tmpfs on {}", dir.display());
        Tmpfs(dir)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn free_bytes(path: &Path) -> u64 {
    let out = Command::new("df").args(["--output=avail", "-B1"]).arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().nth(1).unwrap().trim().parse().unwrap()
}

/// Sends event `id`; its status and whether `Retry-After` came with it.
fn send(c: &Collector, id: &str) -> (u16, bool) {
    let body = format!(r#"{{"n":"pageview","u":"https://example.com/{id}","d":"example.com"}}"#);
    let r = post_event(c, &body);
    (r.status, r.header("retry-after").is_some())
}

#[test]
fn a_nearly_full_data_disk_starts_refuses_events_and_recovers() {
    if !is_root() {
        eprintln!("diskfull: skipped, it needs root to mount a tmpfs (CI runs it as root)");
        return;
    }
    let disk = Tmpfs::mount("5m");
    assert!(free_bytes(&disk.0) <= 5 << 20);
    let data = disk.0.join("data");
    let c = Collector::start_in(&data, &[]);
    assert_eq!(get(&c.url("/health")).0, 200);
    let mut acked = Vec::new();
    let mut statuses: BTreeMap<&str, usize> = BTreeMap::new();
    for i in 0..50 {
        let id = format!("before-{i}");
        assert_eq!(send(&c, &id), (202, false));
        acked.push(id);
    }
    c.wait_flushed();

    // Fill the disk to its last byte.
    let filler = disk.0.join("filler");
    {
        let mut f = std::fs::File::create(&filler).unwrap();
        while f.write_all(&[0u8; 1 << 16]).and_then(|_| f.flush()).is_ok() {}
        let _ = f.write_all(&[0u8; 1]);
    }
    let mut refused = 0;
    for i in 0..200 {
        let id = format!("full-{i}");
        match send(&c, &id) {
            (202, _) => acked.push(id),
            (503, true) => refused += 1,
            other => panic!("{id}: {other:?} while the disk is full"),
        }
    }
    *statuses.entry("503 while full").or_default() += refused;
    assert!(refused > 0, "a full disk refused nothing");
    assert_eq!(get(&c.url("/health")).0, 200, "liveness answers while the disk is full");

    // Space returns: ingestion recovers by itself.
    std::fs::remove_file(&filler).unwrap();
    let back = Instant::now();
    let mut i = 0;
    loop {
        let id = format!("after-{i}");
        i += 1;
        if send(&c, &id).0 == 202 {
            acked.push(id);
            break;
        }
        assert!(back.elapsed() < Duration::from_secs(30), "no recovery 30 s after space returned");
        std::thread::sleep(Duration::from_millis(100));
    }
    for j in 0..20 {
        let id = format!("later-{j}");
        assert_eq!(send(&c, &id).0, 202);
        acked.push(id);
    }
    let data = c.stop();
    // Every acknowledged event is in the lake, once.
    let rows = query(&data.join("lake"), "SELECT pathname, count(*) FROM {lake} GROUP BY 1");
    let stored: BTreeMap<String, String> = rows.into_iter().map(|r| (r[0].clone(), r[1].clone())).collect();
    for id in &acked {
        assert_eq!(stored.get(&format!("/{id}")).map(String::as_str), Some("1"), "{id} ({statuses:?})");
    }
}
