//! A shared lake (`ducklake:<catalog>`) attached to the private DuckDB.
//!
//! The private instance cannot see the host's attachments or secrets, so it
//! attaches the catalog itself (read-only, once per catalog and process) and
//! takes S3 credentials from the same `MALLARD_S3_*` variables the collector
//! reads. DuckDB's `ducklake`, `postgres_scanner` and `httpfs` extensions load
//! from the host's extension directory.

use std::collections::HashMap;
use std::sync::Mutex;

use mallard_core::report::{Query, Table};

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

/// The events table of an attached lake (and its commits table, for a
/// collector's hot files), and the table's columns.
pub fn table(con: &Connection, alias: &str, collector: Option<&str>) -> Result<(Table, Vec<String>), String> {
    let events = format!("{alias}.events");
    let columns: Vec<String> = con
        .query_strings(&Query { sql: format!("SELECT column_name FROM (DESCRIBE {events})"), params: vec![] })
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
    let hot_of = collector.map(|c| (format!("{alias}.mallard_commits"), c.to_string()));
    Ok((Table { events, hot_of }, columns))
}

/// The segments `collector` has committed to the attached lake.
pub fn committed(con: &Connection, alias: &str, collector: &str) -> Result<std::collections::HashSet<u64>, String> {
    let rows = con.query_strings(&Query {
        sql: format!("SELECT CAST(seq AS VARCHAR) FROM {alias}.mallard_commits WHERE collector = $collector"),
        params: vec![("collector".into(), mallard_core::report::Param::Varchar(collector.to_string()))],
    })?;
    Ok(rows.into_iter().filter_map(|r| r.into_iter().next().flatten()?.parse().ok()).collect())
}
