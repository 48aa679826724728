//! Hot files: unflushed events are visible to queries within the hot
//! interval, and each hot file is deleted once the flush that covers it has
//! landed and its grace period for readers has passed: no hot file is left
//! while the collector runs.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;

fn hot_files(lake: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "hot") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(lake, &mut out);
    out
}

#[test]
fn hot_files_are_deleted_once_their_flush_has_landed() {
    let c = Collector::start(&[("MALLARD_HOT_INTERVAL", "200ms"), ("MALLARD_FLUSH_INTERVAL", "2s")]);
    let start = Instant::now();
    let mut sent = 0;
    let mut most_hot = 0;
    while start.elapsed() < Duration::from_secs(10) {
        let body = format!(r#"{{"n":"pageview","u":"https://example.com/p{sent}","d":"example.com"}}"#);
        assert_eq!(post_event(&c, &body).status, 202);
        sent += 1;
        most_hot = most_hot.max(hot_files(&c.lake()).len());
        std::thread::sleep(Duration::from_millis(50));
    }
    let last_event = Instant::now();
    // Hot files were written (one per partition every 200 ms while events came).
    assert!(most_hot > 0, "no hot file was ever written");
    let mut left = hot_files(&c.lake());
    while !left.is_empty() && last_event.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(500));
        left = hot_files(&c.lake());
    }
    assert!(left.is_empty(), "{} hot files left 60 s after the last event: {left:?}", left.len());
    // Every event is in the lake, once, while the collector still runs.
    c.wait_flushed();
    assert_eq!(scalar(&c.lake(), "SELECT count(*) FROM {lake}"), sent.to_string());
    assert_eq!(scalar(&c.lake(), "SELECT count(DISTINCT pathname) FROM {lake}"), sent.to_string());
    let stats = request("GET", &c.url("/api/stats/main?site_id=example.com&period=day"), &[], b"").json();
    assert_eq!(stats["results"]["pageviews"], sent);
}
