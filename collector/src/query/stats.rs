//! The stats engine: every number the API and the dashboard show comes from
//! running the `mallard_*` table functions — the extension embedded in this
//! binary, loaded into an in-memory DuckDB — on a pool of connections, with
//! a cache in front. There is no second implementation of any number.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use duckdb::types::{TimeUnit, Value, ValueRef};
use mallard_core::dimension::Dimension;
use mallard_core::period::DateRange;
use mallard_core::report::{Granularity, Report};
use mallard_core::time::{Date, MICROS_PER_SECOND, format_timestamp};
use mallard_core::{filter, lake};
use serde_json::json;

use crate::query::cache::Cache;
use crate::query::pool::Pool;

/// A result table as the API returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
}

impl Table {
    /// The value of `column` in row `row`.
    pub fn get(&self, row: usize, column: &str) -> Option<&serde_json::Value> {
        let c = self.columns.iter().position(|n| n == column)?;
        self.rows.get(row)?.get(c)
    }

    /// Rows as JSON objects.
    pub fn objects(&self) -> Vec<serde_json::Value> {
        self.rows
            .iter()
            .map(|r| serde_json::Value::Object(self.columns.iter().cloned().zip(r.iter().cloned()).collect()))
            .collect()
    }
}

/// Which report to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Metrics,
    /// By `interval`; with `goal` (its text), its conversions and revenue per bucket.
    Timeseries {
        interval: String,
        goal: Option<String>,
    },
    /// With `goal` (its text), each row's conversions and revenue.
    Breakdown {
        dimension: String,
        top: Option<u64>,
        goal: Option<String>,
    },
    /// Goals as text (see `mallard_core::goal`).
    Goals {
        goals: Vec<String>,
    },
    Sessions {
        top: Option<u64>,
    },
    Realtime,
    /// `within` in seconds.
    Funnel {
        steps: Vec<String>,
        within: u64,
        mode: String,
    },
    Retention {
        period: String,
        periods: i64,
    },
    Sequences {
        pattern: String,
        steps: Vec<String>,
    },
    Flow {
        page: String,
        direction: String,
        depth: i64,
    },
}

/// A validated report request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub kind: Kind,
    pub site: String,
    pub range: DateRange,
    pub timezone: Option<String>,
    pub filters: Vec<String>,
}

/// Why a report could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsError {
    /// The request is wrong (answered 400, with what is allowed).
    BadRequest(String),
    /// The shared lake's catalog or storage cannot be reached (503).
    Unavailable(String),
    Internal(String),
}

impl std::fmt::Display for StatsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatsError::BadRequest(m) | StatsError::Unavailable(m) | StatsError::Internal(m) => f.write_str(m),
        }
    }
}

impl Request {
    /// Checks everything that can be checked here, so SQL errors are ours.
    pub fn validate(&self) -> Result<(), StatsError> {
        let bad = |e: String| StatsError::BadRequest(e);
        if !lake::valid_site(&self.site) {
            return Err(bad(format!("invalid site {:?}: a host name like example.com", self.site)));
        }
        for f in &self.filters {
            filter::parse(f).map_err(bad)?;
        }
        match &self.kind {
            Kind::Timeseries { interval, goal } => {
                Granularity::parse(interval).map_err(bad)?;
                if let Some(goal) = goal {
                    mallard_core::goal::parse(goal).map_err(bad)?;
                }
            }
            Kind::Breakdown { dimension, goal, .. } => {
                Dimension::parse(dimension).map_err(bad)?;
                if let Some(goal) = goal {
                    mallard_core::goal::parse(goal).map_err(bad)?;
                }
            }
            Kind::Goals { goals } => {
                mallard_core::goal::parse_all(goals).map_err(bad)?;
            }
            // The same checks the table functions make, so errors are 400s.
            Kind::Funnel { steps, within, mode } => {
                let micros = i64::try_from(*within).unwrap_or(i64::MAX / 2).saturating_mul(MICROS_PER_SECOND);
                Report::funnel(steps, micros, mode).map_err(bad)?;
            }
            Kind::Retention { period, periods } => {
                Report::retention(period, *periods).map_err(bad)?;
            }
            Kind::Sequences { pattern, steps } => {
                Report::sequences(pattern, steps).map_err(bad)?;
            }
            Kind::Flow { page, direction, depth } => {
                Report::flow(page, direction, *depth).map_err(bad)?;
            }
            _ => {}
        }
        if self.range.end < self.range.start {
            return Err(bad(format!("the end date {} is before the start date {}", self.range.end, self.range.start)));
        }
        Ok(())
    }
}

pub struct Stats {
    pool: Pool,
    cache: Cache<Table>,
    lake: String,
    /// With a shared lake: this collector's hot folder and id (its events
    /// not yet committed), passed as `hot` and `collector`.
    hot: Option<(String, String)>,
}

fn internal(e: impl std::fmt::Display) -> StatsError {
    StatsError::Internal(e.to_string())
}

fn date(d: Date) -> Value {
    Value::Date32(d.to_days() as i32)
}

impl Stats {
    /// Opens the query instance (threads for every core) and loads the
    /// embedded extension into it.
    pub fn open(lake_dir: &Path, threads: usize, memory_limit: &str) -> io::Result<Stats> {
        let con = crate::query::db::open(memory_limit, threads).map_err(io::Error::other)?;
        crate::query::extension::load(&con)?;
        let pool = Pool::new(con, threads.max(2)).map_err(io::Error::other)?;
        Ok(Stats { pool, cache: Cache::default(), lake: lake_dir.to_string_lossy().into_owned(), hot: None })
    }

    /// Opens the query instance over a shared lake (`catalog`), adding this
    /// collector's own hot files (`hot_dir`, `collector`). The extension's
    /// private DuckDB loads DuckDB's lake extensions from `extension_dir`.
    pub fn open_shared(
        catalog: &str,
        hot_dir: &Path,
        collector: &str,
        extension_dir: Option<&Path>,
        threads: usize,
        memory_limit: &str,
    ) -> io::Result<Stats> {
        let con = crate::query::db::open(memory_limit, threads).map_err(io::Error::other)?;
        if let Some(dir) = extension_dir {
            con.execute_batch(&format!(
                "SET extension_directory = {}",
                crate::query::db::quote(&dir.to_string_lossy())
            ))
            .map_err(io::Error::other)?;
        }
        crate::query::extension::load(&con)?;
        let pool = Pool::new(con, threads.max(2)).map_err(io::Error::other)?;
        Ok(Stats {
            pool,
            cache: Cache::default(),
            lake: catalog.to_string(),
            hot: Some((hot_dir.to_string_lossy().into_owned(), collector.to_string())),
        })
    }

    /// How long a cached answer stays: other collectors' commits to a
    /// shared lake invalidate nothing here, so answers there live briefly.
    fn ttl(&self, realtime: bool) -> Duration {
        if realtime || self.hot.is_some() { Duration::from_secs(5) } else { Duration::from_secs(300) }
    }

    /// Today's date in `timezone` (UTC without one).
    pub fn today(&self, timezone: Option<&str>) -> Result<Date, StatsError> {
        let now = mallard_core::time::now_micros();
        let Some(tz) = timezone else { return Ok(Date::of_micros(now)) };
        let t = self.query(
            "SELECT CAST(timezone(?, now()) AS DATE) WHERE ? IN (SELECT name FROM pg_timezone_names())",
            &[Value::Text(tz.to_string()), Value::Text(tz.to_string())],
        )?;
        match t.rows.first().and_then(|r| r.first()).and_then(|v| v.as_str()).and_then(Date::parse) {
            Some(d) => Ok(d),
            None => Err(StatsError::BadRequest(format!(
                "unknown timezone {tz:?}; use an IANA name like 'Europe/Berlin' or 'America/New_York'"
            ))),
        }
    }

    /// The lake argument the `mallard_*` calls take (a folder or a catalog).
    pub fn lake(&self) -> String {
        self.lake.clone()
    }

    /// Marks a site's data as changed (new events are visible).
    pub fn invalidate(&self, site: &str) {
        self.cache.invalidate(site);
    }

    /// The SQL and parameters of a request: a call of one `mallard_*`
    /// function, built from its signature (`mallard_core::signature`).
    pub fn sql(&self, r: &Request) -> Result<(String, Vec<Value>), StatsError> {
        use mallard_core::signature::{self as sig, Value as V};
        let text = |s: &str| V::Text(s.to_string());
        let top = |t: Option<u64>| t.map_or(V::Null, |t| V::Int(t.min(i64::MAX as u64) as i64));
        let head = || vec![text(&self.lake), text(&r.site), V::Date(r.range.start), V::Date(r.range.end)];
        let shared = || match &self.hot {
            Some((dir, collector)) => vec![("hot", text(dir)), ("collector", text(collector))],
            None => vec![],
        };
        let common = || {
            let own = vec![
                ("filters", V::Texts(r.filters.clone())),
                ("timezone", r.timezone.as_deref().map_or(V::Null, text)),
            ];
            [own, shared()].concat()
        };
        let with = |own: Vec<(&'static str, V)>| [own, common()].concat();
        let call = match &r.kind {
            Kind::Metrics => sig::METRICS.call(head(), common()),
            Kind::Timeseries { interval, goal } => sig::TIMESERIES.call(
                head(),
                with(vec![("granularity", text(interval)), ("goal", goal.as_deref().map_or(V::Null, text))]),
            ),
            Kind::Breakdown { dimension, top: n, goal } => sig::BREAKDOWN.call(
                [head(), vec![text(dimension)]].concat(),
                with(vec![("top", top(*n)), ("goal", goal.as_deref().map_or(V::Null, text))]),
            ),
            Kind::Goals { goals } => sig::GOALS.call([head(), vec![V::Texts(goals.clone())]].concat(), common()),
            Kind::Sessions { top: n } => sig::SESSIONS.call(head(), with(vec![("top", top(*n))])),
            Kind::Funnel { steps, within, mode } => sig::FUNNEL.call(
                [head(), vec![V::Texts(steps.clone())]].concat(),
                with(vec![("within", V::Seconds(*within as i64)), ("mode", text(mode))]),
            ),
            Kind::Retention { period, periods } => {
                sig::RETENTION.call(head(), with(vec![("period", text(period)), ("periods", V::Int(*periods))]))
            }
            Kind::Sequences { pattern, steps } => {
                sig::SEQUENCES.call([head(), vec![text(pattern), V::Texts(steps.clone())]].concat(), common())
            }
            Kind::Flow { page, direction, depth } => sig::FLOW.call(
                [head(), vec![text(page)]].concat(),
                with(vec![("direction", text(direction)), ("depth", V::Int(*depth))]),
            ),
            Kind::Realtime => sig::REALTIME.call(vec![text(&self.lake), text(&r.site)], shared()),
        };
        let (sql, bound) = call.map_err(StatsError::Internal)?;
        let params = bound
            .into_iter()
            .map(|b| match b {
                sig::Bound::Null => Value::Null,
                sig::Bound::Text(t) => Value::Text(t),
                sig::Bound::Date(d) => date(d),
                sig::Bound::Int(i) => Value::BigInt(i),
            })
            .collect();
        Ok((sql, params))
    }

    /// Runs a request (cached).
    pub fn run(&self, r: &Request) -> Result<Arc<Table>, StatsError> {
        r.validate()?;
        let key = format!("{r:?}");
        // Realtime means "the last five minutes": it ages even without new data.
        let ttl = self.ttl(r.kind == Kind::Realtime);
        if let Some(hit) = self.cache.get(&r.site, &key, ttl) {
            return Ok(hit);
        }
        let generation = self.cache.current(&r.site);
        let (sql, params) = self.sql(r)?;
        let table = Arc::new(self.query(&sql, &params)?);
        self.cache.put(key, generation, Arc::clone(&table));
        Ok(table)
    }

    /// Runs SQL on a pooled connection and converts the result to JSON values.
    pub fn query(&self, sql: &str, params: &[Value]) -> Result<Table, StatsError> {
        let con = self.pool.get();
        let mut stmt = con.prepare(sql).map_err(classify)?;
        let mut rows = stmt.query(duckdb::params_from_iter(params.iter())).map_err(classify)?;
        let columns: Vec<String> = rows.as_ref().map(|s| s.column_names()).unwrap_or_default();
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(classify)? {
            let mut values = Vec::with_capacity(columns.len());
            for i in 0..columns.len() {
                values.push(to_json(row.get_ref(i).map_err(internal)?));
            }
            out.push(values);
        }
        Ok(Table { columns, rows: out })
    }
}

/// Errors the `mallard_*` functions raise about their arguments are the
/// caller's (400); anything else is ours (500).
fn classify(e: duckdb::Error) -> StatsError {
    let message = e.to_string();
    if unreachable(&message) {
        StatsError::Unavailable(message)
    } else if message.contains("mallard_") && (message.contains("Binder Error") || message.contains("Invalid Input")) {
        let reason = message.split_once("mallard_").map(|(_, rest)| format!("mallard_{rest}")).unwrap_or(message);
        StatsError::BadRequest(reason.lines().next().unwrap_or("").to_string())
    } else {
        StatsError::Internal(message)
    }
}

/// Whether a DuckDB error says the shared lake's catalog (PostgreSQL) or
/// its storage (S3) could not be reached.
pub fn unreachable(message: &str) -> bool {
    [
        "Connection refused",
        "could not connect",
        "connection to server",
        "server closed the connection",
        "Could not establish connection",
        "HTTP HEAD error",
        "HTTP GET error",
        "Unable to connect",
        "Failed to query most recent snapshot",
        "terminating connection",
        "no connection to the server",
    ]
    .iter()
    .any(|m| message.contains(m))
}

/// A DuckDB value as JSON: numbers as numbers, timestamps and dates as DuckDB prints them.
pub fn to_json(v: ValueRef<'_>) -> serde_json::Value {
    match v {
        ValueRef::Null => serde_json::Value::Null,
        ValueRef::Boolean(b) => json!(b),
        ValueRef::TinyInt(i) => json!(i),
        ValueRef::SmallInt(i) => json!(i),
        ValueRef::Int(i) => json!(i),
        ValueRef::BigInt(i) => json!(i),
        ValueRef::HugeInt(i) => i64::try_from(i).map(|i| json!(i)).unwrap_or_else(|_| json!(i.to_string())),
        ValueRef::UTinyInt(i) => json!(i),
        ValueRef::USmallInt(i) => json!(i),
        ValueRef::UInt(i) => json!(i),
        // Visitor and visit ids exceed JavaScript's safe integers: strings.
        ValueRef::UBigInt(i) => json!(i.to_string()),
        ValueRef::Float(f) => serde_json::Number::from_f64(f64::from(f)).map_or(serde_json::Value::Null, Into::into),
        ValueRef::Double(f) => serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, Into::into),
        ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
        ValueRef::Timestamp(unit, v) => {
            let micros = match unit {
                TimeUnit::Second => v * MICROS_PER_SECOND,
                TimeUnit::Millisecond => v * 1000,
                TimeUnit::Microsecond => v,
                TimeUnit::Nanosecond => v / 1000,
            };
            json!(format_timestamp(micros))
        }
        ValueRef::Date32(d) => json!(Date::from_days(i64::from(d)).to_string()),
        other => owned_json(other.to_owned()),
    }
}

/// Nested values (lists and structs, such as revenue per currency) and
/// decimals (amounts: a JSON number, exact to their 4 decimal places).
fn owned_json(v: Value) -> serde_json::Value {
    match v {
        Value::List(items) | Value::Array(items) => items.into_iter().map(owned_json).collect(),
        Value::Struct(fields) => {
            serde_json::Value::Object(fields.iter().map(|(k, v)| (k.clone(), owned_json(v.clone()))).collect())
        }
        Value::Decimal(d) => d.to_string().parse::<serde_json::Number>().map_or(json!(d.to_string()), Into::into),
        Value::Null => serde_json::Value::Null,
        Value::Text(t) => json!(t),
        Value::Double(f) => serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, Into::into),
        Value::BigInt(i) => json!(i),
        other => json!(format!("{other:?}")),
    }
}
