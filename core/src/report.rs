//! Reports: the SQL behind each `mallard_*` table function, assembled from
//! the files in `sql/` (embedded at build time) and bound parameters.
//!
//! Only closed-list fragments (column names of known dimensions, time
//! granularities, filter operators) are placed into the SQL text; every
//! value a user or browser supplies — site, dates, filter values, property
//! keys, time zone — travels as a bound parameter.

use std::collections::BTreeMap;

use crate::dimension::{Dimension, Level};
use crate::event::LAKE_COLUMNS;
use crate::filter::{Filter, Op};
use crate::funnel::{Funnel, MAX_STEPS, Modes};
use crate::goal::Goal;
use crate::pattern;
use crate::step::{self, Step};
use crate::time::{Date, MICROS_PER_DAY};

const SCOPE: &str = include_str!("../../sql/scope.sql");
const VISIT_ATTRIBUTES: &str = include_str!("../../sql/visit_attributes.sql");
const EV: &str = include_str!("../../sql/ev.sql");
const VISITS: &str = include_str!("../../sql/visits.sql");
const VISIT_ROWS: &str = include_str!("../../sql/visit_rows.sql");
const VISIT_FIRST: &str = include_str!("../../sql/visit_first.sql");
const VISIT_COUNTS: &str = include_str!("../../sql/visit_counts.sql");
const PAGE_ROWS: &str = include_str!("../../sql/page_rows.sql");
const MERGED_VISITS: &str = include_str!("../../sql/merged_visits.sql");
const VISIT_MERGE: &str = include_str!("../../sql/visit_merge.sql");
const ROLLUP_VISIT_ATTRIBUTES: &str = include_str!("../../sql/rollup_visit_attributes.sql");
const BY_EVENTS: &str = include_str!("../../sql/by_events.sql");
const BY_EVENTS_ROWS: &str = include_str!("../../sql/by_events_rows.sql");
const BREAKDOWN_PAGE_ROWS: &str = include_str!("../../sql/breakdown_page_rows.sql");
const METRICS: &str = include_str!("../../sql/metrics.sql");
const TIMESERIES: &str = include_str!("../../sql/timeseries.sql");
const BREAKDOWN_PAGE: &str = include_str!("../../sql/breakdown_page.sql");
const BREAKDOWN_EVENT: &str = include_str!("../../sql/breakdown_event.sql");
const BREAKDOWN_VISIT: &str = include_str!("../../sql/breakdown_visit.sql");
const SESSIONS: &str = include_str!("../../sql/sessions.sql");
const EVENTS: &str = include_str!("../../sql/events.sql");
const REALTIME: &str = include_str!("../../sql/realtime.sql");
const FUNNEL: &str = include_str!("../../sql/funnel.sql");
const COHORTS: &str = include_str!("../../sql/cohorts.sql");
const SEQUENCES: &str = include_str!("../../sql/sequences.sql");
const FLOW: &str = include_str!("../../sql/flow.sql");
const GOALS: &str = include_str!("../../sql/goals.sql");
const BREAKDOWN_GOAL: &str = include_str!("../../sql/breakdown_goal.sql");
const REVENUE: &str = include_str!("../../sql/revenue.sql");
const GOAL_TOTALS: &str = include_str!("../../sql/goal_totals.sql");
const BUCKETS: &str = include_str!("../../sql/buckets.sql");
const TIMESERIES_GOAL: &str = include_str!("../../sql/timeseries_goal.sql");

/// Where retention's period numbers count from (as `tally::period_number`): a Monday, so that week
/// numbers are whole weeks (and a month or day number maps back by adding).
const ORIGIN: &str = "DATE '1970-01-05'";

/// The deepest a flow goes (steps from the page).
pub const MAX_FLOW_DEPTH: usize = 10;

/// A bound parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Null,
    Varchar(String),
    VarcharList(Vec<String>),
    /// Microseconds since the epoch.
    Timestamp(i64),
    BigInt(i64),
    Bool(bool),
    /// A fixed-length INTERVAL, µs.
    Interval(i64),
}

/// SQL text and its named parameters (`$name`).
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub sql: String,
    pub params: Vec<(String, Param)>,
}

/// Time buckets of a time series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Hour,
    Day,
    Week,
    Month,
}

/// Most buckets one time series may have (an hourly series over 11 years):
/// beyond it the series would only exhaust memory, so it is refused upfront.
pub const MAX_BUCKETS: i64 = 100_000;

impl Granularity {
    /// Refuses a range that would have more than [`MAX_BUCKETS`] buckets.
    pub fn check_buckets(self, start: Date, end: Date) -> Result<(), String> {
        let days = end.to_days() - start.to_days() + 1;
        let buckets = match self {
            Granularity::Hour => days * 24,
            Granularity::Day => days,
            Granularity::Week => days / 7 + 1,
            Granularity::Month => days / 28 + 1,
        };
        if buckets > MAX_BUCKETS {
            return Err(format!(
                "{start} to {end} by {} is about {buckets} buckets; a time series has at most {MAX_BUCKETS}: \
                 use a coarser granularity or a shorter range",
                self.sql()
            ));
        }
        Ok(())
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "hour" => Ok(Granularity::Hour),
            "day" => Ok(Granularity::Day),
            "week" => Ok(Granularity::Week),
            "month" => Ok(Granularity::Month),
            other => Err(format!(
                "unknown granularity {other}; use hour, day, week or month",
                other = crate::quote::quoted(other)
            )),
        }
    }

    fn sql(self) -> &'static str {
        match self {
            Granularity::Hour => "hour",
            Granularity::Day => "day",
            Granularity::Week => "week",
            Granularity::Month => "month",
        }
    }
}

/// Which report to build.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    Events,
    Metrics,
    Timeseries(Granularity),
    Breakdown {
        dimension: Dimension,
        top: Option<u64>,
    },
    /// A breakdown with a goal's conversions and revenue per row.
    GoalBreakdown {
        dimension: Dimension,
        goal: Goal,
        top: Option<u64>,
    },
    /// A time series of a goal's conversions and revenue.
    GoalTimeseries {
        granularity: Granularity,
        goal: Goal,
    },
    /// Conversions, conversion rate and revenue of each goal.
    Goals {
        goals: Vec<Goal>,
    },
    Sessions {
        top: Option<u64>,
    },
    /// Visitors since a moment (µs since the epoch).
    Realtime {
        since: i64,
    },
    /// Visitors reaching each step within `within` (µs).
    Funnel {
        steps: Vec<Step>,
        within: i64,
        modes: Modes,
    },
    /// Cohorts by first active period (day, week or month) and their
    /// returns over `periods` periods (1 to 32).
    Retention {
        period: Granularity,
        periods: usize,
    },
    /// Visitors whose events match `pattern` over `steps` as conditions.
    Sequences {
        pattern: String,
        steps: Vec<Step>,
    },
    /// Paths after (`forward`) or before a page, `depth` steps deep.
    Flow {
        page: Step,
        forward: bool,
        depth: usize,
    },
}

impl Report {
    /// A funnel report, checked.
    pub fn funnel(steps: &[String], within: i64, mode: &str) -> Result<Report, String> {
        let steps = step::parse_all(steps, MAX_STEPS)?;
        let modes = Modes::parse(mode)?;
        Funnel::new(within, steps.len(), modes)?;
        Ok(Report::Funnel { steps, within, modes })
    }

    /// A retention report, checked.
    pub fn retention(period: &str, periods: i64) -> Result<Report, String> {
        let period = match Granularity::parse(period) {
            Ok(Granularity::Hour) | Err(_) => {
                return Err(format!(
                    "unknown period {period}; use day, week or month",
                    period = crate::quote::quoted(period)
                ));
            }
            Ok(g) => g,
        };
        if !(1..=crate::retention::MAX_CONDITIONS as i64).contains(&periods) {
            return Err(format!("periods must be 1 to {}, got {periods}", crate::retention::MAX_CONDITIONS));
        }
        Ok(Report::Retention { period, periods: periods as usize })
    }

    /// A sequences report, checked: the pattern refers to the steps.
    pub fn sequences(pattern: &str, steps: &[String]) -> Result<Report, String> {
        let steps = step::parse_all(steps, crate::sequence::MAX_CONDITIONS)?;
        pattern::parse(pattern, steps.len())?;
        Ok(Report::Sequences { pattern: pattern.to_string(), steps })
    }

    /// A flow report, checked.
    pub fn flow(page: &str, direction: &str, depth: i64) -> Result<Report, String> {
        let page = step::parse(&format!("page:{page}")).map_err(|_| {
            format!("bad page {page}: a path like '/pricing' or '/blog/*'", page = crate::quote::quoted(page))
        })?;
        let forward = match direction {
            "forward" => true,
            "backward" => false,
            other => {
                return Err(format!(
                    "unknown direction {other}; use 'forward' or 'backward'",
                    other = crate::quote::quoted(other)
                ));
            }
        };
        if !(1..=MAX_FLOW_DEPTH as i64).contains(&depth) {
            return Err(format!("depth must be 1 to {MAX_FLOW_DEPTH}, got {depth}"));
        }
        Ok(Report::Flow { page, forward, depth: depth as usize })
    }
}

/// What every report is scoped by.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scope {
    /// `None` only for `mallard_events` (every site).
    pub site: Option<String>,
    pub start: Option<Date>,
    pub end: Option<Date>,
    /// An IANA zone; dates and buckets are local to it.
    pub timezone: Option<String>,
    pub filters: Vec<Filter>,
}

impl Scope {
    /// Checks what can be checked without the data: site and date order.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(site) = &self.site
            && !crate::lake::valid_site(site)
        {
            return Err(format!(
                "invalid site {site}: a host name in lower case (letters, digits, '-' and '.')",
                site = crate::quote::quoted(site)
            ));
        }
        if let (Some(start), Some(end)) = (self.start, self.end)
            && end < start
        {
            return Err(format!("end_date {end} is before start_date {start}"));
        }
        if self.timezone.as_deref().is_some_and(|tz| tz.trim().is_empty()) {
            return Err("timezone is empty; use an IANA name like 'Europe/Berlin'".into());
        }
        Ok(())
    }

    /// The UTC partition dates that can hold the scope's events (a local day
    /// in any time zone lies within the UTC days before and after it).
    pub fn partition_dates(&self) -> (Option<Date>, Option<Date>) {
        let widen = if self.timezone.is_some() { 1 } else { 0 };
        (
            self.start.map(|d| Date::from_days(d.to_days() - widen)),
            self.end.map(|d| Date::from_days(d.to_days() + widen)),
        )
    }
}

/// Fills `{{name}}` placeholders, also inside the fragments it inserts (the
/// `sql/` files nest: a report uses `{{scope}}`, which uses `{{source}}`).
fn fill(template: &str, values: &BTreeMap<&str, String>) -> String {
    let mut sql = fill_once(template, values);
    for _ in 0..4 {
        if !sql.contains("{{") {
            break;
        }
        sql = fill_once(&sql, values);
    }
    sql
}

/// One pass of [`fill`]; an unknown placeholder is a bug.
fn fill_once(template: &str, values: &BTreeMap<&str, String>) -> String {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").map(|e| start + e).expect("unclosed placeholder in sql/");
        let key = &rest[start + 2..end];
        let value = values.get(key).unwrap_or_else(|| panic!("no value for placeholder {{{{{key}}}}} in sql/"));
        out.push_str(value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Strips `--` comment lines so fragments compose into one statement.
fn body(sql: &str) -> String {
    sql.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n").trim().to_string()
}

struct Builder {
    params: Vec<(String, Param)>,
    tz: bool,
}

impl Builder {
    /// Adds a parameter; returns its placeholder, typed, so DuckDB knows
    /// every parameter's type when the statement is prepared.
    fn param(&mut self, name: String, value: Param) -> String {
        let ty = match value {
            Param::Null | Param::BigInt(_) => "BIGINT",
            Param::Varchar(_) => "VARCHAR",
            Param::VarcharList(_) => "VARCHAR[]",
            Param::Timestamp(_) => "TIMESTAMP",
            Param::Bool(_) => "BOOLEAN",
            Param::Interval(_) => "INTERVAL",
        };
        let placeholder = format!("CAST(${name} AS {ty})");
        self.params.push((name, value));
        placeholder
    }

    /// The local time of a UTC timestamp column.
    fn local(&self, column: &str) -> String {
        if self.tz { format!("timezone(CAST($tz AS VARCHAR), timezone('UTC', {column}))") } else { column.to_string() }
    }

    /// A local date-time parameter as a UTC timestamp.
    fn utc(&self, local: &str) -> String {
        if self.tz { format!("timezone('UTC', timezone(CAST($tz AS VARCHAR), {local}))") } else { local.to_string() }
    }

    /// The SQL condition of one filter on `expr` (NULL compares as `(none)`).
    fn condition(&mut self, expr: &str, filter: &Filter, index: usize) -> String {
        let value = format!("coalesce({expr}, '(none)')");
        let mut parts = Vec::new();
        for (j, v) in filter.values.iter().enumerate() {
            let p = self.param(format!("f{index}_{j}"), Param::Varchar(v.clone()));
            parts.push(match filter.op {
                Op::Is | Op::IsNot => format!("{value} = {p}"),
                Op::Contains | Op::NotContains => format!("contains(lower({value}), lower({p}))"),
                Op::Matches => format!("regexp_matches({value}, {p})"),
            });
        }
        let any = format!("({})", parts.join(" OR "));
        if filter.op.negated() { format!("NOT {any}") } else { any }
    }

    /// The codes a walk matches rows against `steps` by (see
    /// `step::Steps`): the row's name's and pathname's positions in the
    /// steps' lists, and its pathname's matches of their globs as bits.
    fn step_codes(&mut self, steps: &[Step]) -> [String; 3] {
        let codes = step::Steps::new(steps);
        let names = self.param("step_names".into(), Param::VarcharList(codes.names.clone()));
        let pages = self.param("step_pages".into(), Param::VarcharList(codes.pages.clone()));
        let mut bits = vec!["CAST(0 AS UINTEGER)".to_string()];
        for (j, re) in codes.patterns.iter().enumerate() {
            let p = self.param(format!("step_pattern{j}"), Param::Varchar(re.clone()));
            bits.push(format!("(CAST(regexp_full_match(pathname, {p}) AS UINTEGER) << {j})"));
        }
        [
            format!("CAST(coalesce(list_position({names}, name), 0) AS INTEGER)"),
            format!("CAST(coalesce(list_position({pages}, pathname), 0) AS INTEGER)"),
            format!("({})", bits.join(" | ")),
        ]
    }

    /// Whether an event row matches `goal` (its step and property
    /// conditions), as an SQL condition with bound values.
    fn goal_match(&mut self, goal: &Goal, index: usize) -> String {
        let mut alternatives = Vec::new();
        for (j, m) in goal.step.alternatives.iter().enumerate() {
            let name = format!("g{index}_{j}");
            alternatives.push(match m {
                step::Matcher::Page(path) => {
                    format!("(name = 'pageview' AND pathname = {})", self.param(name, Param::Varchar(path.clone())))
                }
                step::Matcher::PagePattern(re) => format!(
                    "(name = 'pageview' AND regexp_full_match(pathname, {}))",
                    self.param(name, Param::Varchar(re.clone()))
                ),
                step::Matcher::Event(event) => format!("name = {}", self.param(name, Param::Varchar(event.clone()))),
            });
        }
        let mut all = vec![format!("({})", alternatives.join(" OR "))];
        for (j, (key, value)) in goal.props.iter().enumerate() {
            let k = self.param(format!("g{index}_k{j}"), Param::Varchar(key.clone()));
            let v = self.param(format!("g{index}_v{j}"), Param::Varchar(value.clone()));
            all.push(format!("props[{k}] = {v}"));
        }
        format!("({})", all.join(" AND "))
    }

    /// The SQL expression of an event-level dimension on event rows.
    fn event_expr(&mut self, dimension: &Dimension, param_name: &str) -> String {
        match dimension {
            Dimension::Event(_, column) => column.to_string(),
            Dimension::Prop(key) => {
                let p = self.param(param_name.to_string(), Param::Varchar(key.clone()));
                format!("props[{p}]")
            }
            Dimension::Visit(_, column) => format!("a.{column}"),
        }
    }
}

/// The lake files a query reads (per partition, with rollups where valid),
/// and which lake columns they have.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Source {
    pub partitions: Vec<crate::lake::PartitionFiles>,
    /// Column names present in the files (a lake written by an older version
    /// may lack later columns; extra columns are ignored).
    pub columns: Vec<String>,
    /// A shared lake's catalog table of events, read besides the files
    /// (which are then a collector's own hot files); it has no rollups.
    pub table: Option<Table>,
}

/// A shared (DuckLake) lake's events, as the private DuckDB has it attached.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// The events table, e.g. `"mallard_lake_1f2e".events`.
    pub events: String,
    /// The commits table (`collector`, `seq` of each committed WAL segment)
    /// and the collector whose hot files the files are: a hot file of a
    /// committed segment is skipped in the same snapshot the events are
    /// read in, so no event is counted twice or missed as it commits.
    pub hot_of: Option<(String, String)>,
    /// The maintainer's rollups that are valid for some days of the scope's
    /// site (read in the same snapshot as `events`).
    pub rollups: Option<TableRollups>,
}

/// Rollup tables of a shared lake (`visit_rollups`, `page_rollups`: the
/// rows of `sql/visit_rows.sql` and `sql/page_rows.sql` per site and day,
/// with `site`, `date` and `files` added) and the days they stand for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableRollups {
    pub visits: String,
    pub pages: String,
    pub site: String,
    pub dates: Vec<crate::time::Date>,
}

impl TableRollups {
    /// `date IN (…)` of the days the rollups stand for.
    fn dates_sql(&self) -> String {
        let list: Vec<String> = self.dates.iter().map(|d| format!("DATE '{d}'")).collect();
        format!("date IN ({})", list.join(", "))
    }

    fn scan(&self, table: &str) -> String {
        format!(
            "SELECT * EXCLUDE (site, date, files) FROM {table} WHERE site = '{}' AND {}",
            self.site.replace('\'', "''"),
            self.dates_sql()
        )
    }
}

/// The rollup tables' extra columns, after the rollup rows' own: the
/// partition and the fingerprint of the event files the rows stand for.
pub const ROLLUP_TABLE_COLUMNS: &str = "site, date, files";

/// A fingerprint of a partition's event files (`data file|delete file`
/// each, in any order): rollups made from other files do not match it.
pub fn files_fingerprint(files: &[String]) -> String {
    let mut sorted: Vec<&String> = files.iter().collect();
    sorted.sort();
    // FNV-1a, 64 bits: a change detector for file names, not a secret.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for f in sorted {
        for b in f.bytes().chain(std::iter::once(b'\n')) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}-{}", files.len())
}

impl Source {
    /// A source of plain event files (no rollups).
    pub fn of_files(files: Vec<String>, columns: Vec<String>) -> Source {
        Source { partitions: vec![crate::lake::PartitionFiles { files, rollup: None }], columns, table: None }
    }

    fn files(&self, rollups: bool) -> Vec<String> {
        self.partitions.iter().filter(|p| !rollups || p.rollup.is_none()).flat_map(|p| p.files.clone()).collect()
    }

    fn rollups(&self) -> Vec<(String, String)> {
        self.partitions.iter().filter_map(|p| p.rollup.clone()).collect()
    }
}

/// A list of file paths as SQL string literals. File paths (from DuckDB's
/// own glob of the lake) are the one non-parameter text in the SQL, quotes
/// doubled: a table function's arguments must be known when the statement
/// is prepared, so that its result columns can be declared.
fn file_list(files: &[String]) -> String {
    let list: Vec<String> = files.iter().map(|f| format!("'{}'", f.replace('\'', "''"))).collect();
    format!("[{}]", list.join(", "))
}

/// The rollup SQL for one compacted lake file: `(visits, pages)` SELECTs
/// whose rows the compactor writes beside it (see `sql/visit_rows.sql`).
pub fn rollup_sql(file: &str, columns: &[String]) -> (String, String) {
    rollup_sql_of(&format!("read_parquet({}, hive_partitioning = false)", file_list(&[file.to_string()])), columns)
}

/// The rollup SQL over `relation` (a table or table function with the lake
/// columns `columns`, already cut to one site and day).
pub fn rollup_sql_of(relation: &str, columns: &[String]) -> (String, String) {
    let events = format!("(SELECT {} FROM {relation})", lake_columns(columns));
    (visit_rows(&events), fill(&body(PAGE_ROWS), &BTreeMap::from([("events", events)])))
}

/// `sql/revenue.sql`: revenue per currency of the `rows` where `hit` (a
/// condition followed by AND, or nothing: every row), grouped by `key`.
fn revenue_of(rows: &str, key: &str, hit: &str) -> String {
    let values = BTreeMap::from([("rows", rows.to_string()), ("key", key.to_string()), ("hit", hit.to_string())]);
    fill(&body(REVENUE), &values)
}

/// `sql/visit_rows.sql` over `events` (a relation).
fn visit_rows(events: &str) -> String {
    let values = BTreeMap::from([
        ("events", events.to_string()),
        ("visit_first", body(VISIT_FIRST)),
        ("visit_counts", body(VISIT_COUNTS)),
    ]);
    fill(&body(VISIT_ROWS), &values)
}

/// The lake's columns, each as the contract's type; a column the files lack
/// is NULL of that type.
fn lake_columns(present: &[String]) -> String {
    LAKE_COLUMNS
        .iter()
        .map(|c| {
            if present.iter().any(|p| p == c.name) {
                format!("CAST({0} AS {1}) AS {0}", c.name, c.ty.sql())
            } else {
                format!("CAST(NULL AS {}) AS {}", c.ty.sql(), c.name)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether the scope is whole UTC days, the grain of the partitions'
/// rollups: then a visit's rows in them are all its events in the scope.
fn whole_utc_days(scope: &Scope) -> bool {
    let utc = scope.timezone.as_deref().is_none_or(|tz| matches!(tz, "UTC" | "Etc/UTC"));
    utc && scope.start.is_some() && scope.end.is_some()
}

/// Whether a report can use the partitions' rollups: whole UTC days, no
/// event-level filter, and a report made of visits (or of pages, unfiltered).
fn rollup_path(report: &Report, scope: &Scope) -> bool {
    let event_filters = scope.filters.iter().any(|f| f.dimension.level() == Level::Event);
    whole_utc_days(scope)
        && !event_filters
        && match report {
            Report::Metrics | Report::Sessions { .. } => true,
            Report::Timeseries(g) => *g != Granularity::Hour,
            Report::Breakdown { dimension: Dimension::Visit(..), .. } => true,
            Report::Breakdown { dimension: Dimension::Event("event:page", _), .. } => scope.filters.is_empty(),
            _ => false,
        }
}

/// Builds the SQL of `report` over the lake files of `source`.
pub fn build(report: &Report, scope: &Scope, source: &Source) -> Result<Query, String> {
    scope.validate()?;
    // The behavioural reports walk the lake's files visitor by visitor
    // (`walk.rs`): their rows carry their file and row number.
    let walk = matches!(
        report,
        Report::Funnel { .. } | Report::Retention { .. } | Report::Sequences { .. } | Report::Flow { .. }
    );
    let rollups = rollup_path(report, scope);
    let files = &source.files(rollups);
    let mut b = Builder { params: Vec::new(), tz: scope.timezone.is_some() };
    if let Some(tz) = &scope.timezone {
        b.param("tz".into(), Param::Varchar(tz.clone()));
    }
    let mut v: BTreeMap<&str, String> = BTreeMap::new();
    let (file, numbered) = if walk {
        (", CAST(file_index AS UBIGINT) AS file, file_row_number AS file_row", ", file_row_number = true")
    } else {
        ("", "")
    };
    let (from_date, to_date) = scope.partition_dates();
    let table_rollups = source.table.as_ref().and_then(|t| t.rollups.as_ref()).filter(|r| !r.dates.is_empty());
    // `files` of the partitions to read as events, and with a shared lake
    // its events, but for the days its rollups stand for when `rolled_up`.
    let relation = |files: &[String], rolled_up: bool| {
        let mut parts = Vec::new();
        if let Some(table) = &source.table {
            // Partition pruning: DuckLake skips the files of other sites and days.
            let mut wheres = vec![match &scope.site {
                Some(site) => format!("site = '{}'", site.replace('\'', "''")),
                None => "true".into(),
            }];
            wheres.extend(from_date.map(|d| format!("date >= DATE '{d}'")));
            wheres.extend(to_date.map(|d| format!("date <= DATE '{d}'")));
            if let (true, Some(r)) = (rolled_up, table_rollups) {
                wheres.push(format!("NOT {}", r.dates_sql()));
            }
            parts.push(format!(
                "SELECT {}{file} FROM {} WHERE {}",
                lake_columns(&source.columns),
                table.events,
                wheres.join(" AND ")
            ));
        }
        if !files.is_empty() {
            // Beside a table, the files' indexes start past the table's.
            let (file, skip_committed, filename) = match &source.table {
                Some(Table { hot_of: Some((commits, collector)), .. }) => (
                    file.replace("CAST(file_index AS UBIGINT)", "CAST(file_index AS UBIGINT) + 4294967296"),
                    format!(
                        " WHERE ('0x' || split_part(parse_filename(filename), '.', 1))::UBIGINT NOT IN \
                         (SELECT seq FROM {commits} WHERE collector = '{}')",
                        collector.replace('\'', "''")
                    ),
                    ", filename = true",
                ),
                _ => (file.to_string(), String::new(), ""),
            };
            parts.push(format!(
                "SELECT {}{file} FROM read_parquet({}, union_by_name = true, hive_partitioning = false{numbered}{filename}){skip_committed}",
                lake_columns(&source.columns),
                file_list(files)
            ));
        }
        if parts.is_empty() {
            let none = ", CAST(0 AS UBIGINT) AS file, CAST(0 AS BIGINT) AS file_row";
            format!("(SELECT {}{} LIMIT 0)", lake_columns(&[]), if walk { none } else { "" })
        } else {
            format!("({})", parts.join(" UNION ALL "))
        }
    };
    v.insert("source", relation(files, rollups));
    v.insert(
        "site",
        match &scope.site {
            Some(site) => format!("site = {}", b.param("site".into(), Param::Varchar(site.clone()))),
            None => "true".into(),
        },
    );
    let mut range = Vec::new();
    let start_local = scope.start.map(|d| d.to_days() * MICROS_PER_DAY);
    let end_local = scope.end.map(|d| (d.to_days() + 1) * MICROS_PER_DAY);
    if let Some(start) = start_local {
        let p = b.param("start_local".into(), Param::Timestamp(start));
        range.push(format!("ts >= {}", b.utc(&p)));
    }
    let mut end_placeholder = None;
    if let Some(end) = end_local {
        let p = b.param("end_local".into(), Param::Timestamp(end));
        range.push(format!("ts < {}", b.utc(&p)));
        end_placeholder = Some(p);
    }
    v.insert("range", if range.is_empty() { "true".into() } else { range.join(" AND ") });

    // Filters: event-level ones on event rows, visit-level ones on visit attributes.
    let mut event_conditions = Vec::new();
    let mut visit_conditions = Vec::new();
    for (i, f) in scope.filters.iter().enumerate() {
        match f.dimension.level() {
            Level::Event => {
                let expr = b.event_expr(&f.dimension, &format!("fk{i}"));
                event_conditions.push(b.condition(&expr, f, i));
            }
            Level::Visit => {
                let Dimension::Visit(_, column) = &f.dimension else { unreachable!("visit level") };
                visit_conditions.push(b.condition(column, f, i));
            }
        }
    }
    v.insert("event_filters", event_conditions.iter().map(|c| format!("AND {c}")).collect::<Vec<_>>().join(" "));
    let attributes = matches!(
        report,
        Report::Sessions { .. }
            | Report::Breakdown { dimension: Dimension::Visit(..), .. }
            | Report::GoalBreakdown { dimension: Dimension::Visit(..), .. }
    );
    // A report that reads events over whole UTC days of one site takes the
    // visits' attributes (for visit filters and visit dimensions) from the
    // rollups, one row per visit, instead of working them out from every
    // event with a hash aggregate: about 3x faster at 10M events (measured
    // in ARCHITECTURE.md).
    let needs_attributes = !visit_conditions.is_empty() || attributes;
    let attributes_from_rollups = needs_attributes
        && !rollups
        && scope.site.is_some()
        && whole_utc_days(scope)
        && (source.partitions.iter().any(|p| p.rollup.is_some()) || table_rollups.is_some());
    v.insert(
        "visit_filter",
        if visit_conditions.is_empty() {
            String::new()
        } else {
            format!("AND visit_id IN (SELECT visit_id FROM visit_attributes WHERE {})", visit_conditions.join(" AND "))
        },
    );
    v.insert("scope", body(SCOPE));
    v.insert("visit_first", body(VISIT_FIRST));
    v.insert("visit_counts", body(VISIT_COUNTS));
    v.insert(
        "visit_attributes",
        match (needs_attributes, attributes_from_rollups) {
            (true, true) => format!("{},", body(ROLLUP_VISIT_ATTRIBUTES)),
            (true, false) => format!("{},", body(VISIT_ATTRIBUTES)),
            _ => String::new(),
        },
    );
    v.insert("visit_merge", body(VISIT_MERGE));
    v.insert("ev", body(EV));
    v.insert("visits", body(VISITS));
    v.insert("attribute_columns", if attributes { ", a.* EXCLUDE (visit_id)".into() } else { String::new() });
    v.insert(
        "attribute_join",
        if attributes { "JOIN visit_attributes a USING (visit_id)".into() } else { String::new() },
    );
    // Rollups where a partition has one (one scan over all of them), and
    // its events on the fly where it has none.
    let rollup_files = source.rollups();
    let scan =
        |files: Vec<String>| format!("SELECT * FROM read_parquet({}, hive_partitioning = false)", file_list(&files));
    if rollups || attributes_from_rollups {
        // On the rollup path the scope holds only the partitions without a
        // rollup; else their files are read apart.
        let fresh = if rollups {
            "scope".to_string()
        } else {
            format!("(SELECT * FROM {} WHERE {} AND {})", relation(&source.files(true), true), v["site"], v["range"])
        };
        let mut visits = vec![visit_rows(&fresh)];
        if !rollup_files.is_empty() {
            visits.insert(0, scan(rollup_files.iter().map(|(v, _)| v.clone()).collect()));
        }
        if let Some(r) = table_rollups {
            visits.insert(0, r.scan(&r.visits));
        }
        v.insert("visit_row_sources", visits.join("\nUNION ALL\n"));
        v.insert("visit_conditions", visit_conditions.iter().map(|c| format!("AND {c}")).collect::<Vec<_>>().join(" "));
    }
    if rollups {
        let mut pages = vec![fill(&body(PAGE_ROWS), &BTreeMap::from([("events", "scope".to_string())]))];
        if !rollup_files.is_empty() {
            pages.insert(0, scan(rollup_files.iter().map(|(_, p)| p.clone()).collect()));
        }
        if let Some(r) = table_rollups {
            pages.insert(0, r.scan(&r.pages));
        }
        v.insert("page_row_sources", pages.join("\nUNION ALL\n"));
        v.insert("visits_ctes", format!("{}, {}", body(SCOPE), body(MERGED_VISITS)));
        v.insert(
            "row_filter",
            if visit_conditions.is_empty() {
                String::new()
            } else {
                "AND visit_id IN (SELECT visit_id FROM visits)".into()
            },
        );
        v.insert("by_events", body(BY_EVENTS_ROWS));
    } else {
        v.insert("visits_ctes", "{{scope}}, {{visit_attributes}} {{ev}}, {{visits}}".into());
        v.insert("by_events", body(BY_EVENTS));
    }
    v.insert("local:ts", b.local("ts"));
    v.insert("lake_columns", LAKE_COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>().join(", "));
    v.insert("local:first_ts", b.local("first_ts"));

    let top = |b: &mut Builder, top: Option<u64>| {
        b.param("top".into(), top.map(|t| Param::BigInt(t.min(i64::MAX as u64) as i64)).unwrap_or(Param::Null))
    };
    let template = match report {
        Report::Events => EVENTS,
        Report::Metrics => METRICS,
        Report::Timeseries(g) | Report::GoalTimeseries { granularity: g, .. } => {
            let (Some(_), Some(_)) = (start_local, end_local) else {
                return Err("a time series needs start_date and end_date".into());
            };
            if let (Some(start), Some(end)) = (scope.start, scope.end) {
                g.check_buckets(start, end)?;
            }
            v.insert("granularity", g.sql().into());
            v.insert("buckets", body(BUCKETS));
            match report {
                Report::GoalTimeseries { goal, .. } => {
                    v.insert("goal_match", b.goal_match(goal, 0));
                    v.insert("revenue_of:goal_rows:bucket", revenue_of("goal_rows", "bucket", "hit AND"));
                    v.insert(
                        "goal_totals:bucket",
                        fill(&body(GOAL_TOTALS), &BTreeMap::from([("key", "bucket".to_string())])),
                    );
                    TIMESERIES_GOAL
                }
                _ => TIMESERIES,
            }
        }
        Report::Breakdown { dimension, top: n } => {
            top(&mut b, *n);
            match dimension {
                Dimension::Event("event:page", _) if rollups => BREAKDOWN_PAGE_ROWS,
                Dimension::Event("event:page", _) => BREAKDOWN_PAGE,
                Dimension::Visit(_, column) => {
                    v.insert("attribute", column.to_string());
                    BREAKDOWN_VISIT
                }
                other => {
                    let expr = b.event_expr(other, "prop");
                    v.insert("dimension", expr);
                    BREAKDOWN_EVENT
                }
            }
        }
        Report::GoalBreakdown { dimension, goal, top: n } => {
            top(&mut b, *n);
            let value = b.event_expr(dimension, "prop");
            v.insert("value", value);
            v.insert("goal_match", b.goal_match(goal, 0));
            v.insert("revenue_of:goal_rows:value", revenue_of("goal_rows", "value", "hit AND"));
            v.insert("goal_totals:value", fill(&body(GOAL_TOTALS), &BTreeMap::from([("key", "value".to_string())])));
            BREAKDOWN_GOAL
        }
        Report::Goals { goals } => {
            let matches: Vec<String> = goals
                .iter()
                .enumerate()
                .map(|(i, g)| {
                    let condition = b.goal_match(g, i);
                    format!("CASE WHEN {condition} THEN {} END", i + 1)
                })
                .collect();
            v.insert("goal_matches", matches.join(", "));
            b.param("goals".into(), Param::VarcharList(goals.iter().map(|g| g.text.clone()).collect()));
            v.insert("revenue_of:hits:goal", revenue_of("hits", "goal", ""));
            GOALS
        }
        Report::Sessions { top: n } => {
            top(&mut b, *n);
            SESSIONS
        }
        Report::Realtime { since } => {
            b.param("since".into(), Param::Timestamp(*since));
            REALTIME
        }
        Report::Funnel { steps, within, modes } => {
            v.insert("step_codes", b.step_codes(steps).join(", "));
            v.insert("within", b.param("within".into(), Param::Interval(*within)));
            v.insert("mode", b.param("mode".into(), Param::Varchar(modes.to_string())));
            v.insert("step_count", steps.len().to_string());
            let names = steps.iter().map(|s| s.text.clone()).collect();
            v.insert("steps", b.param("steps".into(), Param::VarcharList(names)));
            FUNNEL
        }
        Report::Retention { period, periods } => {
            let end = end_placeholder.ok_or("a retention report needs start_date and end_date")?;
            v.insert("period", period.sql().into());
            v.insert("periods", periods.to_string());
            v.insert("origin", ORIGIN.into());
            v.insert("end", end);
            COHORTS
        }
        Report::Sequences { pattern, steps } => {
            v.insert("step_codes", b.step_codes(steps).join(", "));
            let names = steps.iter().map(|s| s.text.clone()).collect();
            v.insert("steps", b.param("steps".into(), Param::VarcharList(names)));
            v.insert("pattern", b.param("pattern".into(), Param::Varchar(pattern.clone())));
            SEQUENCES
        }
        Report::Flow { page, forward, depth } => {
            let codes = step::Steps::new(std::slice::from_ref(page));
            // Visits that view the page somewhere in the range: a superset of
            // those the walk follows (it checks each row itself), found by a
            // narrow scan whose filter the Parquet reader applies.
            let mut views = Vec::new();
            for (j, path) in codes.pages.iter().enumerate() {
                views.push(format!("pathname = {}", b.param(format!("view{j}"), Param::Varchar(path.clone()))));
            }
            for (j, re) in codes.patterns.iter().enumerate() {
                let p = b.param(format!("view_pattern{j}"), Param::Varchar(re.clone()));
                views.push(format!("regexp_full_match(pathname, {p})"));
            }
            v.insert("page_views", format!("({})", views.join(" OR ")));
            v.insert("step_codes", b.step_codes(std::slice::from_ref(page)).join(", "));
            v.insert("page", b.param("page".into(), Param::Varchar(page.text.clone())));
            v.insert("direction", if *forward { "'forward'".into() } else { "'backward'".into() });
            v.insert("depth", depth.to_string());
            FLOW
        }
    };
    let sql = fill(&body(template), &v);
    Ok(Query { sql, params: b.params })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter;

    #[test]
    fn a_time_series_has_a_bounded_number_of_buckets() {
        let (start, end) = (Date::parse("2015-01-01").unwrap(), Date::parse("2026-12-31").unwrap());
        // 12 years: 4 383 days, 105 192 hours.
        assert!(Granularity::Hour.check_buckets(start, end).unwrap_err().contains("at most 100000"));
        assert!(Granularity::Day.check_buckets(start, end).is_ok());
        let mut s = scope();
        (s.start, s.end) = (Some(start), Some(end));
        assert!(build(&Report::Timeseries(Granularity::Hour), &s, &src("a.parquet")).is_err());
    }

    fn src(file: &str) -> Source {
        Source::of_files(vec![file.into()], vec!["site".into(), "ts".into()])
    }

    fn scope() -> Scope {
        Scope {
            site: Some("example.com".into()),
            start: Date::parse("2026-11-01"),
            end: Date::parse("2026-11-30"),
            timezone: None,
            filters: vec![],
        }
    }

    #[test]
    fn values_are_parameters_never_sql() {
        let mut s = scope();
        s.filters = vec![
            filter::parse("event:page == /x' OR 1=1 --").unwrap(),
            filter::parse("visit:source ~ goo'gle").unwrap(),
            filter::parse("event:props:pl'an == pro").unwrap(),
        ];
        let q = build(&Report::Metrics, &s, &src("a.parquet")).unwrap();
        assert!(!q.sql.contains("OR 1=1") && !q.sql.contains("goo'gle") && !q.sql.contains("pl'an"), "{}", q.sql);
        assert!(q.params.contains(&("f0_0".into(), Param::Varchar("/x' OR 1=1 --".into()))));
        assert!(q.params.contains(&("fk2".into(), Param::Varchar("pl'an".into()))));
        assert!(q.sql.contains("visit_attributes AS ("));
        assert!(!q.sql.contains("{{"));
    }

    #[test]
    fn unneeded_parts_are_left_out() {
        let mut s = scope();
        s.filters = vec![filter::parse("event:page == /x").unwrap()];
        let q = build(&Report::Metrics, &s, &src("a.parquet")).unwrap();
        assert!(!q.sql.contains("visit_attributes"));
        assert!(!q.sql.contains("timezone("));
        let q = build(&Report::Metrics, &scope(), &Source::default()).unwrap();
        assert!(q.sql.contains("LIMIT 0") && !q.sql.contains("read_parquet"));
        let q = build(&Report::Metrics, &scope(), &src("it's.parquet")).unwrap();
        assert!(q.sql.contains("read_parquet(['it''s.parquet']"));
        // columns the files lack are typed NULLs
        assert!(
            q.sql.contains("CAST(NULL AS UTINYINT) AS scroll_depth") && q.sql.contains("CAST(site AS VARCHAR) AS site")
        );
    }

    #[test]
    fn reports_over_events_take_visit_attributes_from_the_rollups_over_whole_utc_days() {
        let mut s = scope();
        s.filters = vec![filter::parse("visit:country == DE").unwrap()];
        let source = Source {
            partitions: vec![
                crate::lake::PartitionFiles {
                    files: vec!["a.parquet".into()],
                    rollup: Some(("a.v".into(), "a.p".into())),
                },
                crate::lake::PartitionFiles { files: vec!["b.parquet".into()], rollup: None },
            ],
            columns: vec!["site".into(), "ts".into()],
            table: None,
        };
        let page = Report::Breakdown { dimension: Dimension::parse("event:page").unwrap(), top: None };
        let q = build(&page, &s, &source).unwrap();
        assert!(q.sql.contains("visit_attributes AS (") && q.sql.contains("FROM visit_rows"), "{}", q.sql);
        // Rollups where they exist, the events of the other partitions on the fly.
        assert!(q.sql.contains("read_parquet(['a.v']") && q.sql.contains("read_parquet(['b.parquet']"), "{}", q.sql);
        // A visit breakdown narrowed by an event filter too.
        s.filters = vec![filter::parse("event:page == /").unwrap()];
        let browser = Report::Breakdown { dimension: Dimension::parse("visit:browser").unwrap(), top: None };
        assert!(build(&browser, &s, &source).unwrap().sql.contains("read_parquet(['a.v']"));
        // A local day cuts UTC days, and a lake without rollups has nothing
        // to offer: the attributes come from the events.
        s.timezone = Some("Asia/Kolkata".into());
        let q = build(&page, &s, &source).unwrap();
        assert!(!q.sql.contains("FROM visit_rows") && !q.sql.contains("'a.v'"), "{}", q.sql);
        let q = build(&browser, &scope_with(&["event:page == /"]), &src("a.parquet")).unwrap();
        assert!(q.sql.contains("visit_attributes AS (") && !q.sql.contains("FROM visit_rows"), "{}", q.sql);
    }

    #[test]
    fn a_shared_lakes_valid_rollups_stand_for_their_days_and_the_rest_is_read_as_events() {
        let day = Date::parse("2026-11-03").unwrap();
        let table = Table {
            events: "l.events AT (VERSION => 7)".into(),
            hot_of: None,
            rollups: Some(TableRollups {
                visits: "l.visit_rollups AT (VERSION => 7)".into(),
                pages: "l.page_rollups AT (VERSION => 7)".into(),
                site: "example.com".into(),
                dates: vec![day],
            }),
        };
        let source = Source { partitions: vec![], columns: vec!["site".into(), "ts".into()], table: Some(table) };
        let q = build(&Report::Metrics, &scope(), &source).unwrap();
        assert!(
            q.sql.contains(
                "SELECT * EXCLUDE (site, date, files) FROM l.visit_rollups AT (VERSION => 7) \
                 WHERE site = 'example.com' AND date IN (DATE '2026-11-03')"
            ),
            "{}",
            q.sql
        );
        assert!(q.sql.contains("FROM l.events AT (VERSION => 7) WHERE site = 'example.com'"), "{}", q.sql);
        assert!(q.sql.contains("AND NOT date IN (DATE '2026-11-03')"), "the rolled-up day is not read twice");
        let pages = Report::Breakdown { dimension: Dimension::parse("event:page").unwrap(), top: None };
        assert!(build(&pages, &scope(), &source).unwrap().sql.contains("FROM l.page_rollups AT (VERSION => 7)"));
        // Event filters need the events themselves: no rollups at all.
        let q = build(&Report::Metrics, &scope_with(&["event:page == /"]), &source).unwrap();
        assert!(!q.sql.contains("visit_rollups") && !q.sql.contains("NOT date IN"), "{}", q.sql);
    }

    #[test]
    fn the_files_fingerprint_ignores_order_and_sees_any_change() {
        let a =
            ["s3://l/site=a/date=2026-11-03/x.parquet|".to_string(), "s3://l/site=a/date=2026-11-03/y.parquet|".into()];
        let b = [a[1].clone(), a[0].clone()];
        assert_eq!(files_fingerprint(&a), files_fingerprint(&b));
        let deleted = [a[0].clone(), "s3://l/site=a/date=2026-11-03/y.parquet|s3://l/d.parquet".into()];
        assert_ne!(files_fingerprint(&a), files_fingerprint(&deleted));
        assert_ne!(files_fingerprint(&a), files_fingerprint(&a[..1]));
    }

    fn scope_with(filters: &[&str]) -> Scope {
        Scope { filters: filters.iter().map(|f| filter::parse(f).unwrap()).collect(), ..scope() }
    }

    #[test]
    fn time_zones_convert_bounds_and_buckets() {
        let mut s = scope();
        s.timezone = Some("Europe/Berlin".into());
        let q = build(&Report::Timeseries(Granularity::Day), &s, &src("a.parquet")).unwrap();
        assert!(q.sql.contains("timezone('UTC', timezone(CAST($tz AS VARCHAR), CAST($start_local AS TIMESTAMP)))"));
        assert!(q.sql.contains("timezone(CAST($tz AS VARCHAR), timezone('UTC', ts))"));
        assert_eq!(s.partition_dates(), (Date::parse("2026-10-31"), Date::parse("2026-12-01")));
    }

    #[test]
    fn bad_scopes_are_refused() {
        let mut s = scope();
        s.end = Date::parse("2026-10-01");
        assert!(build(&Report::Metrics, &s, &Source::default()).unwrap_err().contains("before start_date"));
        let mut s = scope();
        s.site = Some("../etc".into());
        assert!(build(&Report::Metrics, &s, &Source::default()).unwrap_err().contains("invalid site"));
        assert!(Granularity::parse("year").unwrap_err().contains("hour, day, week or month"));
    }
}
