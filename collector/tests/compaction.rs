//! Compaction against a real collector: many small flushes merge into few
//! files, every event is read exactly once at every moment (also when a
//! crash interrupts a merge), and the lake's types survive the rewrite.

mod common;

use std::time::Duration;

use common::*;
use mallard_collector::lake::{self, compactor};

fn visible_files(lake_dir: &std::path::Path) -> Vec<(String, usize, usize)> {
    lake::scan(lake_dir).unwrap().iter().map(|p| (p.site.clone(), p.visible().len(), p.files.len())).collect()
}

/// The events a reader following the visibility rule sees, counted with DuckDB.
fn visible_count(lake_dir: &std::path::Path) -> String {
    let files: Vec<String> = lake::scan(lake_dir)
        .unwrap()
        .iter()
        .flat_map(|p| p.visible().into_iter().map(|f| format!("'{}'", f.path.display())).collect::<Vec<_>>())
        .collect();
    let con = duckdb::Connection::open_in_memory().unwrap();
    con.query_row(&format!("SELECT count(*)::VARCHAR FROM read_parquet([{}])", files.join(",")), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn small_flushes_merge_and_every_event_stays_exactly_once() {
    let c = Collector::start(&[("MALLARD_FLUSH_INTERVAL", "50ms"), ("MALLARD_COMPACT_FILES", "3")]);
    let mut sent = 0;
    for round in 0..12 {
        for i in 0..5 {
            let body = format!(
                r#"{{"n":"pageview","u":"https://example.com/{round}/{i}","d":"example.com","p":{{"k":"v{i}"}},"$":{{"currency":"USD","amount":"1.5"}}}}"#
            );
            assert_eq!(post_event(&c, &body).status, 202);
            sent += 1;
        }
        std::thread::sleep(Duration::from_millis(120));
    }
    c.wait_flushed();
    let lake_dir = c.lake();
    // 12+ flushes (how many depends on timing) with T = 3 settle into a
    // few files: no tier is left with T files to merge, nothing is hidden.
    let settled = || {
        let partitions = lake::scan(&lake_dir).unwrap();
        partitions.iter().all(|p| compactor::plan(p, false, 3).is_none() && p.visible().len() == p.files.len())
    };
    for _ in 0..200 {
        if settled() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let files = visible_files(&lake_dir);
    assert!(settled() && files[0].1 < 12 && files[0].1 <= 8, "{files:?}");
    assert_eq!(visible_count(&lake_dir), sent.to_string());
    c.stop();
    assert_eq!(scalar(&lake_dir, "SELECT count(*) FROM {lake}"), sent.to_string());
    assert_eq!(scalar(&lake_dir, "SELECT count(DISTINCT pathname) FROM {lake}"), sent.to_string());
    // merged files keep the lake's exact column types and values
    let types =
        query(&lake_dir, "SELECT column_name || ' ' || column_type FROM (DESCRIBE SELECT * FROM {lake})").concat();
    let expected: Vec<String> =
        mallard_core::event::LAKE_COLUMNS.iter().map(|c| format!("{} {}", c.name, c.ty.sql())).collect();
    assert_eq!(types, expected);
    assert_eq!(scalar(&lake_dir, "SELECT sum(revenue_amount) FROM {lake}"), format!("{}.0000", sent * 3 / 2));
    // and stay sorted by (visitor_id, ts)
    assert_eq!(
        scalar(
            &lake_dir,
            "SELECT bool_and(ok) FROM (SELECT (visitor_id, ts) >= lag((visitor_id, ts)) OVER () OR lag(ts) OVER () IS NULL AS ok FROM {lake})"
        ),
        "true"
    );
}

#[test]
fn a_closed_day_becomes_one_file_and_a_crashed_merge_reads_once() {
    // Yesterday's partition, written as three flush files by hand through
    // the lake writer (the collector's own code path for flushes).
    let data = temp_dir("closed");
    let lake_dir = data.join("lake");
    let dir = lake_dir.join("site=example.com/date=2026-01-15");
    let ts = mallard_core::time::Date::parse("2026-01-15").unwrap().to_days() * mallard_core::time::MICROS_PER_DAY;
    for seq in 1..=3u64 {
        let mut events: Vec<_> = (0..10)
            .map(|i| mallard_core::event::Event {
                site: "example.com".into(),
                ts: ts + (seq * 100 + i) as i64,
                visitor_id: i,
                visit_id: i,
                name: "pageview".into(),
                pathname: Some(format!("/{seq}/{i}")),
                ..Default::default()
            })
            .collect();
        mallard_collector::lake::writer::write_file(&dir, seq, seq, &mut events).unwrap();
    }
    // A crash after a merge's rename but before deleting its inputs: run the
    // real merge of flushes 1 and 2, then put its inputs back.
    let date = mallard_core::time::Date::parse("2026-01-15").unwrap();
    let saved: Vec<_> = (1..=2u64)
        .map(|seq| {
            let name = mallard_core::lake::file_name(seq, seq);
            (name.clone(), std::fs::read(dir.join(&name)).unwrap())
        })
        .collect();
    let part = lake::read_partition("example.com", date, &dir).unwrap();
    let db = mallard_collector::query::db::open("256MB", 1).unwrap();
    mallard_collector::lake::compactor::merge(&db, &dir, &part.files[..2]).unwrap();
    for (name, bytes) in &saved {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let part = lake::read_partition("example.com", date, &dir).unwrap();
    assert_eq!(part.files.len(), 4);
    let visible: Vec<_> = part.visible().iter().map(|f| (f.from, f.to)).collect();
    assert_eq!(visible, vec![(1, 2), (3, 3)]);
    assert_eq!(visible_count(&lake_dir), "30");
    // The collector's compaction finishes the job: one file, hidden ones gone.
    let c = Collector::start_in(&data, &[]);
    for _ in 0..200 {
        if visible_files(&lake_dir) == vec![("example.com".to_string(), 1, 1)] {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(visible_files(&lake_dir), vec![("example.com".to_string(), 1, 1)]);
    c.stop();
    assert_eq!(scalar(&lake_dir, "SELECT count(*) FROM {lake}"), "30");
    assert_eq!(scalar(&lake_dir, "SELECT count(DISTINCT pathname) FROM {lake}"), "30");
    // The merged file and its rollups record the lake format, as a flush does.
    for ext in ["parquet", "visits", "pages"] {
        let sql = format!(
            "SELECT list(DISTINCT decode(value)) FROM parquet_kv_metadata('{}/*.{ext}') \
             WHERE decode(key) = 'mallard.lake_format'",
            dir.display()
        );
        assert_eq!(scalar(&lake_dir, &sql), "[1]", "{ext}");
    }
}
