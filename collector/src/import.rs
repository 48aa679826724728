//! `mallard-collector import --from plausible|umami <files> --site <site>`:
//! raw history from the self-hosted peers users leave, as lake events.
//!
//! The exports are read with DuckDB by the SQL in `sql/import_*.sql` (the
//! column mapping, written from the peers' own schema files) and
//! `sql/import.sql` (import ids, visitor ids, visits by our 30-minute rule,
//! the `source` property). The events then take the path every event takes:
//! the write-ahead log, the flusher, the lake (a folder or a shared lake),
//! so nothing here writes lake files itself. Importing the same export again
//! stores nothing: rows whose import id the lake holds are skipped.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use mallard_core::event::Event;

use crate::app::App;

const IMPORT: &str = include_str!("../../sql/import.sql");
const PLAUSIBLE: &str = include_str!("../../sql/import_plausible.sql");
const UMAMI: &str = include_str!("../../sql/import_umami.sql");

/// Events appended to the write-ahead log at a time.
const CHUNK: usize = 5000;

/// Where an export comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    Plausible,
    Umami,
}

impl Peer {
    pub fn parse(s: &str) -> Result<Peer, String> {
        match s {
            "plausible" => Ok(Peer::Plausible),
            "umami" => Ok(Peer::Umami),
            other => Err(format!("unknown --from {other:?}; use plausible or umami")),
        }
    }

    /// The `source` property of its events.
    fn source(self) -> &'static str {
        match self {
            Peer::Plausible => "plausible-import",
            Peer::Umami => "umami-import",
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub read: u64,
    pub stored: u64,
    /// Reason → rows: `duplicate` (imported before), `invalid` (no time,
    /// name or visitor).
    pub skipped: BTreeMap<&'static str, u64>,
    /// Plausible's cities are GeoNames ids: how many distinct ones there
    /// were, and how many of them the City database named.
    pub cities: (usize, usize),
}

/// The prefix of a city the export gave as a GeoNames id.
const GEONAMES: &str = "geonames:";

/// Names the cities given as GeoNames ids from `geoip` (a City database),
/// and leaves out those it cannot name; returns (ids, named).
fn name_cities(events: &mut [Event], geoip: Option<&crate::ingest::geoip::GeoIp>) -> (usize, usize) {
    let id = |e: &Event| e.city.as_deref()?.strip_prefix(GEONAMES)?.parse::<u32>().ok();
    let ids: HashSet<u32> = events.iter().filter_map(id).collect();
    let names = match geoip {
        Some(db) if !ids.is_empty() => db.city_names(&ids),
        _ => Default::default(),
    };
    for e in events.iter_mut() {
        if e.city.as_deref().is_some_and(|c| c.starts_with(GEONAMES)) {
            e.city = id(e).and_then(|i| names.get(&i).cloned());
        }
    }
    (ids.len(), names.len())
}

/// A file as a DuckDB relation: CSV (every column as text) or Parquet.
fn relation(files: &[&PathBuf]) -> Result<String, String> {
    let quote = |p: &PathBuf| format!("'{}'", p.to_string_lossy().replace('\'', "''"));
    let list = files.iter().map(|f| quote(f)).collect::<Vec<_>>().join(", ");
    let parquet = files.iter().all(|f| f.extension().is_some_and(|e| e == "parquet"));
    let csv = files.iter().all(|f| f.extension().is_some_and(|e| e == "csv"));
    match (csv, parquet) {
        (true, _) => Ok(format!("(SELECT * FROM read_csv([{list}], header = true, all_varchar = true))")),
        // Typed columns as text, lists as JSON text, so one mapping reads both.
        (_, true) => Ok(format!(
            "(SELECT COLUMNS(c -> c NOT LIKE 'meta.%')::VARCHAR, to_json(COLUMNS(c -> c LIKE 'meta.%'))::VARCHAR \
             FROM read_parquet([{list}], union_by_name = true))"
        )),
        _ => Err("give .csv or .parquet files (all of one kind)".into()),
    }
}

/// A CSV file's first line, in lowercase.
fn header(path: &Path) -> Option<String> {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(std::fs::File::open(path).ok()?).read_line(&mut line).ok()?;
    Some(line.to_lowercase())
}

/// The SQL that reads `files` as rows of `from`.
fn rows_sql(from: Peer, files: &[PathBuf]) -> Result<String, String> {
    if files.is_empty() {
        return Err("give the export's files".into());
    }
    match from {
        Peer::Plausible => Ok(PLAUSIBLE.replace("{{source}}", &relation(&files.iter().collect::<Vec<_>>())?)),
        Peer::Umami => {
            // The session table is the file whose header has no url_path.
            let (sessions, events): (Vec<&PathBuf>, Vec<&PathBuf>) =
                files.iter().partition(|f| header(f).is_some_and(|h| !h.contains("url_path")));
            if sessions.is_empty() || events.is_empty() {
                return Err("an Umami import needs website_event.csv (its header has url_path) and session.csv".into());
            }
            Ok(UMAMI.replace("{{events}}", &relation(&events)?).replace("{{sessions}}", &relation(&sessions)?))
        }
    }
}

/// Imports `files` into `site`'s events.
pub fn run(app: &App, from: Peer, files: &[PathBuf], site: &str) -> Result<Report, String> {
    if !mallard_core::lake::valid_site(site) {
        return Err(format!("invalid site {site:?}: a host name like example.com"));
    }
    for f in files {
        if !f.is_file() {
            return Err(format!("{} is not a readable file", f.display()));
        }
    }
    let sql = IMPORT.replace("{{rows}}", &rows_sql(from, files)?);
    let text = |s: &str| duckdb::types::Value::Text(s.to_string());
    let table = app
        .stats
        .query(&sql, &[text(from.source()), text(site), text(&app.stats.lake())])
        .map_err(|e| format!("could not read the export: {e}"))?;
    let mut report = Report::default();
    let mut events = Vec::new();
    for row in &table.rows {
        let body = row.get(1).and_then(|v| v.as_str()).unwrap_or("{}");
        if row.first().and_then(|v| v.as_str()) == Some("counts") {
            let counts: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
            report.read = counts["read"].as_u64().unwrap_or(0);
            report.skipped.insert("invalid", counts["invalid"].as_u64().unwrap_or(0));
            report.skipped.insert("duplicate", counts["duplicate"].as_u64().unwrap_or(0));
        } else {
            events.push(
                serde_json::from_str::<Event>(body).map_err(|e| format!("an imported row did not convert: {e}"))?,
            );
        }
    }
    report.cities = name_cities(&mut events, app.pipeline.geoip.as_ref());
    for chunk in events.chunks(CHUNK) {
        app.wal.append(chunk.to_vec()).map_err(|e| format!("could not store the imported events: {e}"))?;
        report.stored += chunk.len() as u64;
    }
    app.stats.invalidate(site);
    Ok(report)
}
