//! The lake reports: `mallard_events`, `mallard_metrics`,
//! `mallard_timeseries`, `mallard_breakdown`, `mallard_goals`, `mallard_sessions`,
//! `mallard_realtime`, and the behavioural ones `mallard_funnel`,
//! `mallard_retention`, `mallard_sequences` and `mallard_flow`. Each validates its arguments, lists the lake files it
//! needs (pruned by site and date, exactly-once visibility applied), and runs
//! the report's SQL from `sql/` on the private instance.

use mallard_core::dimension::Dimension;
use mallard_core::report::{self, Granularity, Param, Query, Report, Scope, Source};
use mallard_core::time::{Date, MICROS_PER_SECOND, now_micros};
use mallard_core::{filter, lake};

use mallard_core::signature::{self, Type};

use crate::ffi::{Args, BindFn, Connection, Interval, LogicalType, TableFunction, TypeId, Value};

/// The DuckDB type of a signature's argument type.
fn logical(ty: Type) -> LogicalType {
    match ty {
        Type::Varchar => LogicalType::new(TypeId::Varchar),
        Type::Date => LogicalType::new(TypeId::Date),
        Type::BigInt => LogicalType::new(TypeId::BigInt),
        Type::Interval => LogicalType::new(TypeId::Interval),
        Type::VarcharList => LogicalType::list(&LogicalType::new(TypeId::Varchar)),
    }
}

/// Registers every report function from its signature (`mallard_core::signature`).
pub fn register(con: &Connection) -> Result<(), String> {
    for s in signature::REPORTS {
        let bind: BindFn = match s.name {
            "mallard_events" => bind_events,
            "mallard_metrics" => bind_metrics,
            "mallard_timeseries" => bind_timeseries,
            "mallard_breakdown" => bind_breakdown,
            "mallard_goals" => bind_goals,
            "mallard_sessions" => bind_sessions,
            "mallard_realtime" => bind_realtime,
            "mallard_funnel" => bind_funnel,
            "mallard_retention" => bind_retention,
            "mallard_sequences" => bind_sequences,
            "mallard_flow" => bind_flow,
            other => return Err(format!("mallard: no bind for {other}")),
        };
        TableFunction {
            name: s.name,
            positional: s.positional.iter().map(|a| logical(a.ty)).collect(),
            named: s.named.iter().map(|a| (a.name, logical(a.ty))).collect(),
            bind,
        }
        .register(con)?;
    }
    Ok(())
}

fn text(value: Option<&Value>, what: &str) -> Result<Option<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Varchar(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("{what} must be text, got {other:?}")),
    }
}

fn day(value: Option<&Value>, what: &str) -> Result<Option<Date>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Date(days)) => Ok(Some(Date::from_days(i64::from(*days)))),
        Some(other) => Err(format!("{what} must be a DATE, got {other:?}")),
    }
}

fn required<T>(value: Option<T>, what: &str) -> Result<T, String> {
    value.ok_or_else(|| format!("{what} is required"))
}

/// What a report reads: a lake folder (or remote prefix), or a shared lake
/// (`ducklake:<catalog>`) plus, for a collector, its own hot files.
struct Lake {
    path: String,
    /// A folder of hot files (`hot`) and the collector they belong to.
    hot: Option<(String, String)>,
}

fn lake_path(args: &Args) -> Result<Lake, String> {
    let lake = required(text(args.positional.first(), "lake")?, "lake (the lake folder, first argument)")?;
    let hot = text(args.named.get("hot"), "hot")?;
    let collector = text(args.named.get("collector"), "collector")?;
    if crate::ducklake::is_shared(&lake) {
        let hot = match (hot, collector) {
            (Some(h), Some(c)) => Some((h.trim_end_matches('/').to_string(), c)),
            (None, None) => None,
            _ => return Err("hot and collector go together: a collector's hot folder and its id".into()),
        };
        return Ok(Lake { path: lake, hot });
    }
    if hot.is_some() || collector.is_some() {
        return Err("hot and collector apply to a shared lake ('ducklake:…') only".into());
    }
    let lake = lake.trim_end_matches('/').to_string();
    if lake.is_empty() {
        return Err("lake is empty: pass the lake folder, e.g. 'data/lake', or a shared lake 'ducklake:…'".into());
    }
    // A local lake must exist; remote ones (s3://, https://…) are listed by DuckDB.
    if !lake.contains("://") && !std::path::Path::new(&lake).is_dir() {
        return Err(format!("lake folder {lake} not found", lake = mallard_core::quote::quoted(&lake)));
    }
    Ok(Lake { path: lake, hot: None })
}

fn filters(args: &Args) -> Result<Vec<filter::Filter>, String> {
    match args.named.get("filters") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::List(items)) => items
            .iter()
            .map(|v| match v {
                Value::Varchar(s) => filter::parse(s),
                other => Err(format!("each filter must be text, got {other:?}")),
            })
            .collect(),
        Some(other) => Err(format!("filters must be a list of text, got {other:?}")),
    }
}

/// Scope of the date-bounded reports: (lake, site, start_date, end_date).
fn dated_scope(args: &Args) -> Result<(Lake, Scope), String> {
    let lake = lake_path(args)?;
    let site = required(text(args.positional.get(1), "site")?, "site")?;
    let start = required(day(args.positional.get(2), "start_date")?, "start_date")?;
    let end = required(day(args.positional.get(3), "end_date")?, "end_date")?;
    let scope = Scope {
        site: Some(site),
        start: Some(start),
        end: Some(end),
        timezone: text(args.named.get("timezone"), "timezone")?,
        filters: filters(args)?,
    };
    scope.validate()?;
    Ok((lake, scope))
}

/// The lake files a scope needs (see `mallard_core::lake::readable_files`)
/// and the columns they have.
fn source(con: &Connection, lake: &Lake, scope: &Scope) -> Result<Source, String> {
    if crate::ducklake::is_shared(&lake.path) {
        let alias = crate::ducklake::attach(con, &lake.path)?;
        let mut source = match &lake.hot {
            Some((folder, collector)) if std::path::Path::new(folder).is_dir() => {
                let mut hot = files(con, folder, scope)?;
                // Hot files of segments committed before this query are not
                // listed (they are deleted soon); the SQL skips any that
                // commit while it runs.
                let committed = crate::ducklake::committed(con, &alias, collector)?;
                for p in &mut hot.partitions {
                    p.files.retain(|f| {
                        let name = f.rsplit(['/', '\\']).next().unwrap_or(f);
                        lake::parse_hot_file_name(name).is_none_or(|(seq, _)| !committed.contains(&seq))
                    });
                }
                hot.partitions.retain(|p| !p.files.is_empty());
                hot
            }
            _ => Source::default(),
        };
        // Days a collector's hot files still add to are read as events.
        let hot_dates = source
            .partitions
            .iter()
            .flat_map(|p| &p.files)
            .filter_map(|f| lake::partition_of(f).map(|(_, d)| d.to_string()))
            .collect();
        let collector = lake.hot.as_ref().map(|(_, c)| c.as_str());
        let (table, columns) = crate::ducklake::table(con, &alias, collector, scope, &hot_dates)?;
        source.columns = columns;
        source.table = Some(table);
        return Ok(source);
    }
    files(con, &lake.path, scope)
}

/// The files of a lake folder a scope needs.
fn files(con: &Connection, lake: &str, scope: &Scope) -> Result<Source, String> {
    let site = scope.site.as_deref().unwrap_or("*");
    let pattern = format!("{lake}/site={site}/date=*/*");
    let listing = con.query_strings(&Query {
        sql: "SELECT file FROM glob($pattern)".into(),
        params: vec![("pattern".into(), Param::Varchar(pattern))],
    })?;
    let paths: Vec<String> = listing.into_iter().filter_map(|row| row.into_iter().next().flatten()).collect();
    let (from, to) = scope.partition_dates();
    let partitions = lake::select(&paths, from, to);
    let files: Vec<String> = partitions.iter().flat_map(|p| p.files.clone()).collect();
    if files.is_empty() {
        return Ok(Source::default());
    }
    // One schema for all files: older files may lack later columns.
    let list: Vec<String> = files.iter().map(|f| format!("'{}'", f.replace('\'', "''"))).collect();
    let columns = con
        .query_strings(&Query {
            sql: format!(
                "SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet([{}], union_by_name = true, hive_partitioning = false))",
                list.join(", ")
            ),
            params: vec![],
        })?
        .into_iter()
        .filter_map(|row| row.into_iter().next().flatten())
        .collect();
    Ok(Source { partitions, columns, table: None })
}

/// Checks a time zone against DuckDB's list (needs the ICU extension).
fn check_timezone(con: &Connection, scope: &Scope) -> Result<(), String> {
    let Some(tz) = &scope.timezone else { return Ok(()) };
    let rows = con
        .query_strings(&Query {
            sql: "SELECT name FROM pg_timezone_names() WHERE name = $tz".into(),
            params: vec![("tz".into(), Param::Varchar(tz.clone()))],
        })
        .map_err(|e| format!("time zones need DuckDB's ICU extension, which is not available here ({e})"))?;
    if rows.is_empty() {
        return Err(format!(
            "unknown timezone {tz}; use an IANA name like 'Europe/Berlin' or 'America/New_York'",
            tz = mallard_core::quote::quoted(tz)
        ));
    }
    Ok(())
}

fn build(con: &Connection, lake: &Lake, report: Report, scope: &Scope) -> Result<Query, String> {
    check_timezone(con, scope)?;
    let source = source(con, lake, scope)?;
    let query = report::build(&report, scope, &source)?;
    // MALLARD_DEBUG_SQL=1 prints the SQL each function runs (to stderr).
    if std::env::var_os("MALLARD_DEBUG_SQL").is_some() {
        eprintln!("-- mallard SQL\n{}\n-- parameters: {:?}", query.sql, query.params);
    }
    Ok(query)
}

fn top(args: &Args, default: Option<u64>) -> Result<Option<u64>, String> {
    match args.named.get("top") {
        None => Ok(default),
        Some(Value::Null) => Ok(None),
        Some(Value::Int(n)) if *n >= 1 => Ok(Some(*n as u64)),
        Some(other) => Err(format!("top must be a positive number, got {other:?}")),
    }
}

fn bind_events(args: &Args, con: &Connection) -> Result<Query, String> {
    let lake = lake_path(args)?;
    let scope = Scope {
        site: text(args.named.get("site"), "site")?,
        start: day(args.named.get("start_date"), "start_date")?,
        end: day(args.named.get("end_date"), "end_date")?,
        timezone: text(args.named.get("timezone"), "timezone")?,
        filters: filters(args)?,
    };
    build(con, &lake, Report::Events, &scope)
}

fn bind_metrics(args: &Args, con: &Connection) -> Result<Query, String> {
    let (lake, scope) = dated_scope(args)?;
    build(con, &lake, Report::Metrics, &scope)
}

fn bind_timeseries(args: &Args, con: &Connection) -> Result<Query, String> {
    let (lake, scope) = dated_scope(args)?;
    let granularity = text(args.named.get("granularity"), "granularity")?.unwrap_or_else(|| "day".into());
    let granularity = Granularity::parse(&granularity)?;
    let report = match text(args.named.get("goal"), "goal")? {
        Some(goal) => Report::GoalTimeseries { granularity, goal: mallard_core::goal::parse(&goal)? },
        None => Report::Timeseries(granularity),
    };
    build(con, &lake, report, &scope)
}

fn bind_breakdown(args: &Args, con: &Connection) -> Result<Query, String> {
    let (lake, scope) = dated_scope(args)?;
    let dimension = required(text(args.positional.get(4), "dimension")?, "dimension")?;
    let dimension = Dimension::parse(&dimension)?;
    let top = top(args, Some(10))?;
    let report = match text(args.named.get("goal"), "goal")? {
        Some(goal) => Report::GoalBreakdown { dimension, goal: mallard_core::goal::parse(&goal)?, top },
        None => Report::Breakdown { dimension, top },
    };
    build(con, &lake, report, &scope)
}

/// `mallard_goals(lake, site, start_date, end_date, goals)`.
fn bind_goals(args: &Args, con: &Connection) -> Result<Query, String> {
    let (lake, scope) = dated_scope(args)?;
    let goals = mallard_core::goal::parse_all(&texts(args.positional.get(4), "goals")?)?;
    build(con, &lake, Report::Goals { goals }, &scope)
}

fn bind_sessions(args: &Args, con: &Connection) -> Result<Query, String> {
    let (lake, scope) = dated_scope(args)?;
    build(con, &lake, Report::Sessions { top: top(args, None)? }, &scope)
}

/// Visitors of the last five minutes (today's and yesterday's partitions).
fn bind_realtime(args: &Args, con: &Connection) -> Result<Query, String> {
    let lake = lake_path(args)?;
    let site = required(text(args.positional.get(1), "site")?, "site")?;
    let now = now_micros();
    let since = now - 5 * 60 * MICROS_PER_SECOND;
    let scope = Scope {
        site: Some(site),
        start: Some(Date::of_micros(since)),
        end: Some(Date::of_micros(now)),
        timezone: None,
        filters: Vec::new(),
    };
    build(con, &lake, Report::Realtime { since }, &scope)
}

fn texts(value: Option<&Value>, what: &str) -> Result<Vec<String>, String> {
    match value {
        None | Some(Value::Null) => Err(format!("{what} is required")),
        Some(Value::List(items)) => items
            .iter()
            .map(|v| match v {
                Value::Varchar(s) => Ok(s.clone()),
                other => Err(format!("each of {what} must be text, got {other:?}")),
            })
            .collect(),
        Some(other) => Err(format!("{what} must be a list of text, got {other:?}")),
    }
}

fn number(args: &Args, name: &str, default: i64) -> Result<i64, String> {
    match args.named.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Int(n)) => Ok(*n),
        Some(other) => Err(format!("{name} must be a whole number, got {other:?}")),
    }
}

/// `mallard_funnel(lake, site, start_date, end_date, steps, within := INTERVAL 1 DAY, mode := '')`.
fn bind_funnel(args: &Args, con: &Connection) -> Result<Query, String> {
    let (lake, scope) = dated_scope(args)?;
    let steps = texts(args.positional.get(4), "steps")?;
    let within = match args.named.get("within") {
        None | Some(Value::Null) => Interval { months: 0, days: 1, micros: 0 },
        Some(Value::Interval(i)) => *i,
        Some(other) => return Err(format!("within must be an INTERVAL, got {other:?}")),
    };
    if within.months != 0 {
        return Err("within must have a fixed length, and months do not; use days, e.g. INTERVAL 30 DAY".into());
    }
    let within = i64::from(within.days) * mallard_core::time::MICROS_PER_DAY + within.micros;
    let mode = text(args.named.get("mode"), "mode")?.unwrap_or_default();
    build(con, &lake, Report::funnel(&steps, within, &mode)?, &scope)
}

/// `mallard_retention(lake, site, start_date, end_date, period := 'week', periods := 8)`.
///
/// Returning visitors are recognised by their visitor id, which changes
/// with every salt rotation (daily by default): a return is only visible
/// within one salt period. See the README.
fn bind_retention(args: &Args, con: &Connection) -> Result<Query, String> {
    let (lake, scope) = dated_scope(args)?;
    let period = text(args.named.get("period"), "period")?.unwrap_or_else(|| "week".into());
    build(con, &lake, Report::retention(&period, number(args, "periods", 8)?)?, &scope)
}

/// `mallard_sequences(lake, site, start_date, end_date, pattern, steps)`.
fn bind_sequences(args: &Args, con: &Connection) -> Result<Query, String> {
    let (lake, scope) = dated_scope(args)?;
    let pattern = required(text(args.positional.get(4), "pattern")?, "pattern")?;
    let steps = texts(args.positional.get(5), "steps")?;
    build(con, &lake, Report::sequences(&pattern, &steps)?, &scope)
}

/// `mallard_flow(lake, site, start_date, end_date, page, direction := 'forward', depth := 3)`.
fn bind_flow(args: &Args, con: &Connection) -> Result<Query, String> {
    let (lake, scope) = dated_scope(args)?;
    let page = required(text(args.positional.get(4), "page")?, "page")?;
    let direction = text(args.named.get("direction"), "direction")?.unwrap_or_else(|| "forward".into());
    build(con, &lake, Report::flow(&page, &direction, number(args, "depth", 3)?)?, &scope)
}
