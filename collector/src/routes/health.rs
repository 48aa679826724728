//! `GET /health` (liveness), `/health/ready` (the WAL is writable and the
//! lake readable) and `/health/detailed` (what an operator wants to see).

use std::sync::atomic::Ordering;

use mallard_core::time::{Date, MICROS_PER_DAY, now_micros};
use serde_json::json;

use crate::app::App;
use crate::http::{self, Reply};
use crate::{ingest::wal, lake};

pub fn live() -> Reply {
    http::json(200, &json!({"status": "ok"}))
}

pub fn ready(app: &App) -> Reply {
    let mut problems = Vec::new();
    if !app.wal.stats.writable.load(Ordering::Relaxed) {
        problems.push("the write-ahead log is not writable".to_string());
    }
    if let Err(e) = std::fs::read_dir(app.config.lake_dir()) {
        problems.push(format!("the lake is not readable: {e}"));
    }
    if problems.is_empty() {
        http::json(200, &json!({"status": "ready"}))
    } else {
        http::json(503, &json!({"status": "not ready", "problems": problems}))
    }
}

fn iso(micros: i64) -> String {
    let secs = micros.rem_euclid(MICROS_PER_DAY) / 1_000_000;
    format!("{}T{:02}:{:02}:{:02}Z", Date::of_micros(micros), secs / 3600, secs / 60 % 60, secs % 60)
}

pub fn detailed(app: &App) -> Reply {
    let now = now_micros();
    let wal_dir = app.config.wal_dir();
    let wal_bytes: u64 = wal::list_segments(&wal_dir)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| std::fs::metadata(wal::segment_path(&wal_dir, *s)).ok())
        .map(|m| m.len())
        .sum();
    let recent = [Date::of_micros(now - MICROS_PER_DAY), Date::of_micros(now)];
    let partitions: Vec<_> = lake::scan(&app.config.lake_dir())
        .unwrap_or_default()
        .into_iter()
        .filter(|p| recent.contains(&p.date))
        .map(|p| json!({"site": p.site, "date": p.date.to_string(), "files": p.visible().len(), "bytes": p.bytes()}))
        .collect();
    let last_flush = app.flush_stats.last_flush.load(Ordering::Relaxed);
    let last_error = app.flush_stats.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone();
    http::json(
        200,
        &json!({
            "version": mallard_core::VERSION,
            "uptime_seconds": app.started.elapsed().as_secs(),
            "buffered_events": app.buffered_events(),
            "wal_bytes": wal_bytes,
            "wal_writable": app.wal.stats.writable.load(Ordering::Relaxed),
            "last_flush": (last_flush > 0).then(|| iso(last_flush)),
            "last_flush_error": last_error,
            "partitions": partitions,
            "geoip_loaded": app.pipeline.geoip.is_some(),
            "geoip_source": app.pipeline.geoip.as_ref().map(|g| g.source()),
            "salt_rotation": app.pipeline.salts.rotation().to_string(),
            "salts_kept": app.pipeline.salts.periods().len(),
        }),
    )
}
