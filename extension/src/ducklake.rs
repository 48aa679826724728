//! A shared lake (`ducklake:<catalog>`) attached to the private DuckDB.
//!
//! The private instance cannot see the host's attachments or secrets, so it
//! attaches the catalog itself (read-only, once per catalog and process) and
//! takes S3 credentials from the same `MALLARD_S3_*` variables the collector
//! reads. DuckDB's `ducklake`, `postgres_scanner` and `httpfs` extensions load
//! from the host's extension directory.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use mallard_core::lake;
use mallard_core::report::{self, Param, Query, Scope, Table, TableRollups};
use mallard_core::time::Date;

use crate::ffi::Connection;

/// The prefix that marks a shared lake in a report's `lake` argument.
pub const PREFIX: &str = "ducklake:";

/// Catalog → the alias it is attached under in the private instance.
static ATTACHED: Mutex<Option<HashMap<String, String>>> = Mutex::new(None);

/// Whether `lake` names a shared lake.
pub fn is_shared(lake: &str) -> bool {
    lake.starts_with(PREFIX)
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `CREATE SECRET` for S3 from `MALLARD_S3_*`, when any is set.
fn s3_secret() -> Option<String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (key, secret, endpoint) = (var("MALLARD_S3_KEY_ID"), var("MALLARD_S3_SECRET"), var("MALLARD_S3_ENDPOINT"));
    if key.is_none() && endpoint.is_none() {
        return None;
    }
    let mut fields = vec!["TYPE S3".to_string()];
    fields.extend(key.map(|k| format!("KEY_ID {}", quote(&k))));
    fields.extend(secret.map(|s| format!("SECRET {}", quote(&s))));
    fields.extend(endpoint.map(|e| format!("ENDPOINT {}", quote(&e))));
    fields.push(format!("REGION {}", quote(&var("MALLARD_S3_REGION").unwrap_or_else(|| "us-east-1".into()))));
    fields.extend(var("MALLARD_S3_URL_STYLE").map(|u| format!("URL_STYLE {}", quote(&u))));
    let ssl = var("MALLARD_S3_USE_SSL").is_none_or(|v| !matches!(v.as_str(), "false" | "0" | "no"));
    fields.push(format!("USE_SSL {ssl}"));
    Some(format!("CREATE OR REPLACE SECRET mallard_s3 ({})", fields.join(", ")))
}

/// Attaches `lake` (once) and names its tables.
pub fn attach(con: &Connection, lake: &str) -> Result<String, String> {
    let mut attached = ATTACHED.lock().unwrap_or_else(|e| e.into_inner());
    let attached = attached.get_or_insert_with(HashMap::new);
    if let Some(alias) = attached.get(lake) {
        return Ok(alias.clone());
    }
    for ext in ["ducklake", "postgres_scanner", "httpfs"] {
        con.execute(&format!("LOAD {ext}")).map_err(|e| {
            format!(
                "a shared lake needs DuckDB's {ext} extension, which did not load ({e}); \
                 run INSTALL {ext} in this DuckDB first"
            )
        })?;
    }
    if let Some(secret) = s3_secret() {
        con.execute(&secret).map_err(|e| format!("the S3 settings (MALLARD_S3_*) were refused: {e}"))?;
    }
    let alias = format!("mallard_lake_{}", attached.len());
    con.execute(&format!("ATTACH {} AS {alias} (READ_ONLY)", quote(lake)))
        .map_err(|e| format!("could not attach the shared lake {}: {e}", mallard_core::quote::quoted(lake)))?;
    attached.insert(lake.to_string(), alias.clone());
    Ok(alias)
}

/// The events table of an attached lake, pinned to its newest snapshot (and
/// its commits table, for a collector's hot files), the table's columns, and
/// the maintainer's rollups valid in that snapshot for the scope's days
/// (but for `hot_dates`, which a collector's hot files still add to).
pub fn table(
    con: &Connection,
    alias: &str,
    collector: Option<&str>,
    scope: &Scope,
    hot_dates: &HashSet<String>,
) -> Result<(Table, Vec<String>), String> {
    let columns: Vec<String> = con
        .query_strings(&Query { sql: format!("SELECT column_name FROM (DESCRIBE {alias}.events)"), params: vec![] })
        .map_err(|e| {
            if e.contains("Catalog Error") {
                format!("the shared lake has no events table yet ({e})")
            } else {
                format!("cannot read the shared lake ({e})")
            }
        })?
        .into_iter()
        .filter_map(|row| row.into_iter().next().flatten())
        .collect();
    // One snapshot for everything the query reads: events, commits, rollups.
    let snapshot =
        first(con, &format!("SELECT CAST(max(snapshot_id) AS VARCHAR) FROM ducklake_snapshots({})", quote(alias)))?
            .ok_or("the shared lake has no snapshot")?;
    let at = format!("AT (VERSION => {snapshot})");
    let hot_of = collector.map(|c| (format!("{alias}.mallard_commits {at}"), c.to_string()));
    let rollups = match (&scope.site, scope.start, scope.end) {
        (Some(site), Some(start), Some(end)) => rollups(con, alias, &snapshot, site, start, end, hot_dates)?,
        _ => None,
    };
    Ok((Table { events: format!("{alias}.events {at}"), hot_of, rollups }, columns))
}

fn first(con: &Connection, sql: &str) -> Result<Option<String>, String> {
    let rows = con.query_strings(&Query { sql: sql.into(), params: vec![] })?;
    Ok(rows.into_iter().next().and_then(|r| r.into_iter().next().flatten()))
}

/// The days of `site` in `start..=end` whose rollup rows were made from
/// exactly the event files the snapshot has.
fn rollups(
    con: &Connection,
    alias: &str,
    snapshot: &str,
    site: &str,
    start: Date,
    end: Date,
    hot_dates: &HashSet<String>,
) -> Result<Option<TableRollups>, String> {
    let at = format!("AT (VERSION => {snapshot})");
    let stored = match con.query_strings(&Query {
        sql: format!(
            "SELECT DISTINCT CAST(date AS VARCHAR), files FROM {alias}.visit_rollups {at} \
             WHERE site = $site AND date BETWEEN CAST($start AS DATE) AND CAST($end AS DATE)"
        ),
        params: vec![
            ("site".into(), Param::Varchar(site.into())),
            ("start".into(), Param::Varchar(start.to_string())),
            ("end".into(), Param::Varchar(end.to_string())),
        ],
    }) {
        Ok(rows) => rows,
        // No rollups yet (no maintainer pass since the lake was made).
        Err(e) if e.contains("does not exist") || e.contains("Catalog Error") => return Ok(None),
        Err(e) => return Err(e),
    };
    if stored.is_empty() {
        return Ok(None);
    }
    let listing = con.query_strings(&Query {
        sql: format!(
            "SELECT data_file, data_file || '|' || coalesce(delete_file, '') FROM ducklake_list_files({}, 'events', snapshot_version => {snapshot})",
            quote(alias)
        ),
        params: vec![],
    })?;
    let mut files: HashMap<String, Vec<String>> = HashMap::new();
    for row in listing {
        let mut cells = row.into_iter();
        let (Some(Some(data)), Some(Some(file))) = (cells.next(), cells.next()) else { continue };
        if let Some((s, d)) = lake::partition_of(&data)
            && s == site
            && Date::parse(d).is_some_and(|day| start <= day && day <= end)
        {
            let d = d.to_string();
            files.entry(d).or_default().push(file);
        }
    }
    let mut dates = Vec::new();
    for row in stored {
        let mut cells = row.into_iter();
        let (Some(Some(day)), Some(Some(fingerprint))) = (cells.next(), cells.next()) else { continue };
        let current = files.get(&day).map(|f| report::files_fingerprint(f));
        if current.as_deref() == Some(fingerprint.as_str()) && !hot_dates.contains(&day) {
            dates.extend(Date::parse(&day));
        }
    }
    dates.sort();
    dates.dedup();
    Ok((!dates.is_empty()).then(|| TableRollups {
        visits: format!("{alias}.visit_rollups {at}"),
        pages: format!("{alias}.page_rollups {at}"),
        site: site.to_string(),
        dates,
    }))
}

/// The segments `collector` has committed to the attached lake.
pub fn committed(con: &Connection, alias: &str, collector: &str) -> Result<std::collections::HashSet<u64>, String> {
    let rows = con.query_strings(&Query {
        sql: format!("SELECT CAST(seq AS VARCHAR) FROM {alias}.mallard_commits WHERE collector = $collector"),
        params: vec![("collector".into(), Param::Varchar(collector.to_string()))],
    })?;
    Ok(rows.into_iter().filter_map(|r| r.into_iter().next().flatten()?.parse().ok()).collect())
}
