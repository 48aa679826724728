//! Durability: `kill -9` the collector while events stream in from other
//! threads, restart it, and the lake holds every acknowledged event exactly
//! once — no loss, no duplicate.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;

#[derive(Default)]
struct Ledger {
    acked: BTreeSet<String>,
    /// Requests that got no answer: the crash hit them mid-flight, so they
    /// may or may not have been made durable.
    unknown: BTreeSet<String>,
}

/// Sends events until `stop`, recording which ones were acknowledged.
fn stream(base: String, sender: usize, round: usize, stop: Arc<AtomicBool>, ledger: Arc<Mutex<Ledger>>) {
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        let id = format!("{round}-{sender}-{i}");
        let body =
            format!(r#"{{"n":"pageview","u":"https://example.com/p{i}","d":"example.com","p":{{"id":"{id}"}}}}"#);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        let result = agent.post(format!("{base}/api/event")).header("User-Agent", CHROME).send(body);
        match result {
            Ok(r) if r.status() == 202 && r.headers().get("x-mallard-dropped").is_none() => {
                ledger.lock().unwrap().acked.insert(id);
            }
            Ok(r) => panic!("unexpected status {}", r.status()),
            Err(_) => {
                ledger.lock().unwrap().unknown.insert(id);
                return;
            }
        }
        i += 1;
    }
}

#[test]
fn kill_9_mid_stream_loses_and_duplicates_nothing() {
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut data = temp_dir("crash");
    for round in 0..3 {
        let c = Collector::start_in(&data, &[("MALLARD_FLUSH_INTERVAL", "150ms")]);
        let stop = Arc::new(AtomicBool::new(false));
        let senders: Vec<_> = (0..4)
            .map(|s| {
                let (base, stop, ledger) = (c.base.clone(), Arc::clone(&stop), Arc::clone(&ledger));
                std::thread::spawn(move || stream(base, s, round, stop, ledger))
            })
            .collect();
        // Let events flow, some already flushed, some only in the WAL …
        std::thread::sleep(Duration::from_millis(700 + 200 * round as u64));
        // … and crash without warning while the senders are still sending.
        data = c.kill9();
        stop.store(true, Ordering::Relaxed);
        for s in senders {
            s.join().unwrap();
        }
    }
    // Restart: recovery replays the WAL; then a graceful stop flushes.
    let c = Collector::start_in(&data, &[]);
    let lake = c.lake();
    c.stop();
    let rows = query(&lake, "SELECT props['id'], count(*) FROM {lake} GROUP BY ALL");
    let stored: BTreeMap<String, usize> = rows.into_iter().map(|r| (r[0].clone(), r[1].parse().unwrap())).collect();
    let ledger = ledger.lock().unwrap();
    assert!(ledger.acked.len() > 100, "too few events to mean anything: {}", ledger.acked.len());
    let duplicated: Vec<_> = stored.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicated.is_empty(), "duplicated: {duplicated:?}");
    let lost: Vec<_> = ledger.acked.iter().filter(|id| !stored.contains_key(*id)).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    let unexplained: Vec<_> =
        stored.keys().filter(|id| !ledger.acked.contains(*id) && !ledger.unknown.contains(*id)).collect();
    assert!(unexplained.is_empty(), "stored but never sent: {unexplained:?}");
    eprintln!(
        "crash test: {} acknowledged, {} in flight at a crash, {} stored, 0 lost, 0 duplicated",
        ledger.acked.len(),
        ledger.unknown.len(),
        stored.len()
    );
}

#[test]
fn a_restart_does_not_split_visits() {
    let c = Collector::start(&[]);
    assert_eq!(post_event(&c, r#"{"n":"pageview","u":"https://example.com/1","d":"example.com"}"#).status, 202);
    let data = c.stop();
    let c = Collector::start_in(&data, &[]);
    assert_eq!(post_event(&c, r#"{"n":"pageview","u":"https://example.com/2","d":"example.com"}"#).status, 202);
    // and after a crash, with the second event still only in the WAL
    let data = c.kill9();
    let c = Collector::start_in(&data, &[]);
    assert_eq!(post_event(&c, r#"{"n":"pageview","u":"https://example.com/3","d":"example.com"}"#).status, 202);
    let lake = c.lake();
    c.stop();
    assert_eq!(
        query(&lake, "SELECT count(*), count(DISTINCT visitor_id), count(DISTINCT visit_id) FROM {lake}"),
        vec![vec!["3", "1", "1"]]
    );
}
