//! `POST /api/v2/query`, shaped like Plausible's Stats API v2:
//!
//! ```json
//! {"site_id": "example.com", "metrics": ["visitors", "bounce_rate"],
//!  "date_range": "7d" | ["2026-11-01", "2026-11-30"],
//!  "dimensions": [] | ["visit:source"] | ["time:day"],
//!  "filters": [["is", "visit:country", ["DE", "FR"]], ["contains", "event:page", ["/blog"]]],
//!  "order_by": [["visitors", "desc"]], "pagination": {"limit": 10, "offset": 0},
//!  "timezone": "Europe/Berlin"}
//! ```
//! → `{"results": [{"dimensions": [...], "metrics": [...]}], "meta": {...}, "query": {...}}`.
//!
//! No dimension runs `mallard_metrics`, a `time:*` dimension
//! `mallard_timeseries`, any other `mallard_breakdown`; the numbers are those
//! rows' values. Unknown metrics, dimensions and filter operators are a 400
//! that names what is allowed.

use mallard_core::dimension::Dimension;
use mallard_core::period::{self, DateRange};
use serde_json::{Value, json};

use crate::app::App;
use crate::http::{self, Reply};
use crate::query::stats::{Kind, Request, StatsError, Table};

/// Metrics by report kind (what each `mallard_*` function returns).
const TOTALS: &[&str] =
    &["visitors", "visits", "pageviews", "events", "views_per_visit", "bounce_rate", "visit_duration"];
const SERIES: &[&str] = &["visitors", "visits", "pageviews", "events", "bounce_rate", "visit_duration"];
const PAGE: &[&str] = &["visitors", "pageviews", "time_on_page", "scroll_depth"];
const EVENT: &[&str] = &["visitors", "events", "pageviews"];
const VISIT: &[&str] = &["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"];

const OPS: &[(&str, &str)] =
    &[("is", "=="), ("is_not", "!="), ("contains", "~"), ("contains_not", "!~"), ("matches", "=~")];

fn bad<T>(message: impl Into<String>) -> Result<T, StatsError> {
    Err(StatsError::BadRequest(message.into()))
}

fn strings(v: &Value, what: &str) -> Result<Vec<String>, StatsError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| StatsError::BadRequest(format!("{what} must be a list of strings")))
            })
            .collect(),
        _ => bad(format!("{what} must be a list of strings")),
    }
}

/// A v2 filter `[op, dimension, [values]]` as a mallard filter string.
fn filter(v: &Value) -> Result<String, StatsError> {
    let parts = v.as_array().filter(|a| a.len() == 3).ok_or_else(|| {
        StatsError::BadRequest(
            "each filter is [operator, dimension, [values]], e.g. [\"is\", \"visit:country\", [\"DE\"]]".into(),
        )
    })?;
    let op_name = parts[0].as_str().unwrap_or("");
    let Some((_, op)) = OPS.iter().find(|(n, _)| *n == op_name) else {
        let names: Vec<_> = OPS.iter().map(|(n, _)| *n).collect();
        return bad(format!("unknown filter operator {op_name:?}; allowed: {}", names.join(", ")));
    };
    let dimension =
        parts[1].as_str().ok_or_else(|| StatsError::BadRequest("a filter's dimension must be a string".into()))?;
    Dimension::parse(dimension).map_err(StatsError::BadRequest)?;
    let values = strings(&parts[2], "a filter's values")?;
    if values.is_empty() {
        return bad("a filter needs at least one value");
    }
    Ok(format!("{dimension} {op} {}", serde_json::to_string(&values).expect("strings serialize")))
}

fn date_range(app: &App, v: &Value, timezone: Option<&str>) -> Result<(String, DateRange), StatsError> {
    match v {
        Value::String(p) => {
            let today = app.stats.today(timezone)?;
            let range = period::resolve(p, None, today).map_err(StatsError::BadRequest)?;
            Ok((p.clone(), range))
        }
        Value::Array(a) if a.len() == 2 => {
            let (s, e) = (a[0].as_str().unwrap_or(""), a[1].as_str().unwrap_or(""));
            let range = period::resolve("custom", Some(&format!("{s},{e}")), mallard_core::time::Date::of_micros(0))
                .map_err(StatsError::BadRequest)?;
            Ok(("custom".into(), range))
        }
        _ => {
            bad(format!("date_range must be one of {} or [\"YYYY-MM-DD\", \"YYYY-MM-DD\"]", period::PERIODS.join(", ")))
        }
    }
}

/// Runs a v2 query; `body` is the request JSON.
pub fn run(app: &App, body: &Value) -> Result<Value, StatsError> {
    let site =
        body["site_id"].as_str().ok_or_else(|| StatsError::BadRequest("site_id is required".into()))?.to_lowercase();
    let timezone = body["timezone"].as_str().map(str::to_string);
    let (_, range) = date_range(app, body.get("date_range").unwrap_or(&json!("30d")), timezone.as_deref())?;
    if let Some(report) = body.get("report") {
        return run_report(
            app,
            body,
            report,
            Request { kind: Kind::Metrics, site, range, timezone, filters: Vec::new() },
        );
    }
    let metrics = strings(&body["metrics"], "metrics")?;
    if metrics.is_empty() {
        return bad(format!("metrics is required; allowed: {}", TOTALS.join(", ")));
    }
    let dimensions = strings(&body["dimensions"], "dimensions")?;
    let filters = match &body["filters"] {
        Value::Null => Vec::new(),
        Value::Array(fs) => fs.iter().map(filter).collect::<Result<_, _>>()?,
        _ => return bad("filters must be a list of [operator, dimension, [values]]"),
    };
    let (kind, allowed, key): (Kind, &[&str], Option<&str>) = match dimensions.as_slice() {
        [] => (Kind::Metrics, TOTALS, None),
        [d] if d.starts_with("time:") => {
            let g = d.trim_start_matches("time:");
            (Kind::Timeseries { interval: g.to_string(), goal: None }, SERIES, Some("bucket"))
        }
        [d] => {
            let dimension = Dimension::parse(d).map_err(StatsError::BadRequest)?;
            let allowed = match dimension {
                Dimension::Event("event:page", _) => PAGE,
                Dimension::Visit(..) => VISIT,
                _ => EVENT,
            };
            (Kind::Breakdown { dimension: d.clone(), top: None, goal: None }, allowed, Some("value"))
        }
        _ => return bad("at most one dimension per query (a time:* or an event:/visit: dimension)"),
    };
    if let Some(m) = metrics.iter().find(|m| !allowed.contains(&m.as_str())) {
        let context = dimensions.first().map_or("without dimensions".to_string(), |d| format!("with dimension {d}"));
        return bad(format!("unknown metric {m:?} {context}; allowed: {}", allowed.join(", ")));
    }
    let request = Request { kind, site: site.clone(), range, timezone, filters };
    let table = app.stats.run(&request)?;
    let mut rows: Vec<(Value, Vec<Value>)> = (0..table.rows.len())
        .map(|i| {
            let dims = key.map(|k| table.get(i, k).cloned().unwrap_or(Value::Null)).into_iter().collect();
            let values = metrics.iter().map(|m| table.get(i, m).cloned().unwrap_or(Value::Null)).collect();
            (Value::Array(dims), values)
        })
        .collect();
    order(&mut rows, &body["order_by"], &metrics, &table)?;
    let total = rows.len();
    let limit = body["pagination"]["limit"].as_u64().unwrap_or(10_000) as usize;
    let offset = body["pagination"]["offset"].as_u64().unwrap_or(0) as usize;
    let results: Vec<Value> = rows
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|(dims, values)| json!({"dimensions": dims, "metrics": values}))
        .collect();
    Ok(json!({
        "results": results,
        "meta": {"total_rows": total, "range": {"start": range.start.to_string(), "end": range.end.to_string()}},
        "query": body,
    }))
}

/// Behavioural reports through v2: `"report": "funnel" | "retention" |
/// "sequences" | "flow"` with that report's keys — funnel: `steps`,
/// `within` (seconds or "30m"/"1d"), `mode`, or `funnel` (a saved name);
/// retention: `interval`, `periods`; sequences: `pattern`, `steps`; flow:
/// `page`, `direction`, `depth`. Rows come back as objects.
fn run_report(app: &App, body: &Value, report: &Value, mut request: Request) -> Result<Value, StatsError> {
    request.filters = match &body["filters"] {
        Value::Null => Vec::new(),
        Value::Array(fs) => fs.iter().map(filter).collect::<Result<_, _>>()?,
        _ => return bad("filters must be a list of [operator, dimension, [values]]"),
    };
    let text = |key: &str| body[key].as_str().map(str::to_string);
    let number = |key: &str, default: i64| match &body[key] {
        Value::Null => Ok(default),
        v => v.as_i64().ok_or_else(|| StatsError::BadRequest(format!("{key} must be a whole number"))),
    };
    request.kind = match report.as_str() {
        Some("funnel") => match text("funnel") {
            Some(name) => {
                let f = app
                    .funnels
                    .get(&request.site, &name)
                    .ok_or_else(|| StatsError::BadRequest(format!("no saved funnel {name:?} for {}", request.site)))?;
                Kind::Funnel { steps: f.steps, within: f.within, mode: f.mode }
            }
            None => Kind::Funnel {
                steps: strings(&body["steps"], "steps")?,
                within: super::funnels::within_seconds(&body["within"]).map_err(StatsError::BadRequest)?,
                mode: text("mode").unwrap_or_default(),
            },
        },
        Some("retention") => Kind::Retention {
            period: text("interval").unwrap_or_else(|| "week".into()),
            periods: number("periods", 8)?,
        },
        Some("sequences") => Kind::Sequences {
            pattern: text("pattern").ok_or_else(|| StatsError::BadRequest("pattern is required".into()))?,
            steps: strings(&body["steps"], "steps")?,
        },
        Some("flow") => Kind::Flow {
            page: text("page").ok_or_else(|| StatsError::BadRequest("page is required".into()))?,
            direction: text("direction").unwrap_or_else(|| "forward".into()),
            depth: number("depth", 3)?,
        },
        _ => return bad("unknown report; allowed: funnel, retention, sequences, flow (or leave report out)"),
    };
    let table = app.stats.run(&request)?;
    Ok(json!({
        "results": table.objects(),
        "meta": {"total_rows": table.rows.len(), "range": {"start": request.range.start.to_string(), "end": request.range.end.to_string()}},
        "query": body,
    }))
}

/// `order_by: [[metric or dimension, "asc"|"desc"], …]`; without it the
/// report's own order (visitors, then value; time for series) stands.
fn order(
    rows: &mut [(Value, Vec<Value>)],
    order_by: &Value,
    metrics: &[String],
    _table: &Table,
) -> Result<(), StatsError> {
    let Some(keys) = order_by.as_array() else { return Ok(()) };
    let mut spec = Vec::new();
    for k in keys {
        let (Some(field), Some(dir)) = (k.get(0).and_then(Value::as_str), k.get(1).and_then(Value::as_str)) else {
            return bad("order_by is a list of [metric or dimension, \"asc\" or \"desc\"]");
        };
        let desc = match dir {
            "asc" => false,
            "desc" => true,
            other => return bad(format!("unknown order {other:?}; use asc or desc")),
        };
        let index = if let Some(i) = metrics.iter().position(|m| m == field) {
            Some(i)
        } else if field.contains(':') {
            None
        } else {
            return bad(format!("cannot order by {field:?}: order by a requested metric or the dimension"));
        };
        spec.push((index, desc));
    }
    let cmp = |a: &Value, b: &Value| match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        _ => a.to_string().cmp(&b.to_string()),
    };
    rows.sort_by(|(da, ma), (db, mb)| {
        for (index, desc) in &spec {
            let o = match index {
                Some(i) => cmp(&ma[*i], &mb[*i]),
                None => cmp(&da[0], &db[0]),
            };
            let o = if *desc { o.reverse() } else { o };
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    });
    Ok(())
}

/// `POST /api/v2/query`.
pub fn post(app: &App, body: &[u8], who: Option<&crate::auth::access::Principal>) -> Reply {
    let parsed: Value = match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return http::error(400, "the body must be a JSON object (see the Stats API v2 shape in the README)"),
    };
    if let (Some(who), Some(site)) = (who, parsed["site_id"].as_str())
        && !who.can_read(&site.to_lowercase())
    {
        return http::error(403, &format!("this credential does not cover site {site:?}"));
    }
    match run(app, &parsed) {
        Ok(v) => http::json(200, &v),
        Err(e) => super::stats::error_reply(e),
    }
}
