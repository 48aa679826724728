//! The stats API's GET endpoints (Plausible's v1 shapes):
//! `/api/stats/main`, `/timeseries`, `/breakdown/<dimension>`, `/sessions`,
//! `/realtime` and `/export?format=csv|json`, and the behavioural reports
//! `/funnel`, `/retention`, `/sequences` and `/flow`. Each is a thin alias
//! over one `mallard_*` call (see `stats.rs`).
//!
//! Query parameters: `site_id` (required), `period` (day, yesterday, 7d, last_week, 30d,
//! month, last_month, 12mo, custom + `date=YYYY-MM-DD,YYYY-MM-DD`; default
//! 30d), `date` (the day for `period=day`), `filter` (repeatable, one
//! `'<dimension> <op> <value>'` each) or `filters` (a JSON array of them),
//! `timezone`, `compare=previous_period`, `interval` (timeseries), `limit`
//! and `page` (breakdown, sessions). Behavioural reports:
//! - funnel: `steps` (a JSON array) or repeated `step`, or `funnel=<saved
//!   name>`; `within` (seconds or "30m", "1d"; default 1d); `mode`;
//! - retention: `interval` (day, week, month; default week), `periods` (8);
//! - sequences: `pattern`, `steps` or repeated `step`;
//! - flow: `page`, `direction` (forward, backward), `depth` (3).
//!
//! Goals: `/goals` reports the site's saved goals; `goal=<saved name or
//! goal>` on a breakdown or a time series (and their export) adds each
//! row's conversions, conversion rate and revenue per currency.

use mallard_core::period::{self, DateRange};
use serde_json::{Value, json};

use crate::app::App;
use crate::http::params::Params;
use crate::http::{self, Reply, header};
use crate::query::protection::protect;
use crate::query::stats::{Kind, Request, StatsError, Table};

/// Maps a stats error to its HTTP reply.
pub fn error_reply(e: StatsError) -> Reply {
    match e {
        StatsError::BadRequest(m) => http::error(400, &m),
        StatsError::Unavailable(m) => {
            crate::log::warn("shared lake unreachable", &[("error", &m)]);
            http::error(
                503,
                "the shared lake (its PostgreSQL catalog or S3 storage) cannot be reached; try again shortly",
            )
        }
        StatsError::Internal(m) => {
            crate::log::error("stats query failed", &[("error", &m)]);
            http::error(500, "internal error while computing the report; see the collector's log")
        }
    }
}

/// What every GET endpoint shares: site, dates, filters, time zone.
struct Common {
    site: String,
    period: String,
    range: DateRange,
    timezone: Option<String>,
    filters: Vec<String>,
    compare: bool,
}

fn common(app: &App, p: &Params) -> Result<Common, StatsError> {
    let bad = StatsError::BadRequest;
    let site =
        p.get("site_id").ok_or_else(|| bad("site_id is required, e.g. site_id=example.com".into()))?.to_lowercase();
    let timezone = p.get("timezone").map(str::to_string);
    let period = p.get("period").unwrap_or("30d").to_string();
    let today = app.stats.today(timezone.as_deref())?;
    let range = period::resolve(&period, p.get("date"), today).map_err(bad)?;
    let mut filters = p.all("filter");
    if let Some(list) = p.get("filters") {
        let parsed: Vec<String> = serde_json::from_str(list)
            .map_err(|_| bad("filters must be a JSON array of '<dimension> <op> <value>' strings".into()))?;
        filters.extend(parsed);
    }
    let compare = match p.get("compare") {
        None => false,
        Some("previous_period") => true,
        Some(other) => return Err(bad(format!("unknown compare {other:?}; use compare=previous_period"))),
    };
    Ok(Common { site, period, range, timezone, filters, compare })
}

fn request(c: &Common, kind: Kind, range: DateRange) -> Request {
    Request { kind, site: c.site.clone(), range, timezone: c.timezone.clone(), filters: c.filters.clone() }
}

fn range_json(r: DateRange) -> Value {
    json!({"start": r.start.to_string(), "end": r.end.to_string()})
}

/// Runs `kind` for the period, and for the previous period when comparing.
fn with_comparison(app: &App, c: &Common, kind: Kind, shape: fn(&Table) -> Value) -> Result<Value, StatsError> {
    let current = app.stats.run(&request(c, kind.clone(), c.range))?;
    let mut out = json!({"site_id": c.site, "range": range_json(c.range), "results": shape(&current)});
    if c.compare {
        let previous_range = c.range.previous(&c.period);
        let previous = app.stats.run(&request(c, kind, previous_range))?;
        out["comparison"] = json!({"range": range_json(previous_range), "results": shape(&previous)});
    }
    Ok(out)
}

fn first_row(t: &Table) -> Value {
    t.objects().into_iter().next().unwrap_or_else(|| json!({}))
}

fn all_rows(t: &Table) -> Value {
    Value::Array(t.objects())
}

/// The default bucket size for a range: hours for one day, days up to about
/// two months, weeks up to half a year, months beyond.
pub fn default_interval(range: DateRange) -> &'static str {
    match range.days() {
        1 => "hour",
        2..=62 => "day",
        63..=186 => "week",
        _ => "month",
    }
}

fn limit(p: &Params) -> Result<(u64, u64), StatsError> {
    let number = |key: &str, default: u64| -> Result<u64, StatsError> {
        match p.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| StatsError::BadRequest(format!("{key} must be a positive whole number"))),
        }
    };
    Ok((number("limit", 10)?.min(10_000), number("page", 1)?))
}

/// `GET /api/stats/<what>`; `k` > 1: small-count protection (a shared
/// link's site setting, see `query::protection`).
pub fn get(app: &App, what: &str, query: &str, k: u64) -> Reply {
    let p = Params::parse(query);
    if k > 1 && what == "sessions" {
        return http::error(
            403,
            "a shared link with small-count protection shows no single visits; the site's admin can lower k to 1",
        );
    }
    let result = (|| -> Result<Value, StatsError> {
        let c = common(app, &p)?;
        let mut out = report(app, what, &c, &p)?;
        if what == "realtime" {
            crate::query::protection::protect_one(&mut out, k);
        } else {
            protect(&mut out, k);
        }
        Ok(out)
    })();
    match result {
        Ok(v) => http::json(200, &v),
        Err(e) => error_reply(e),
    }
}

/// The JSON of one stats endpoint.
fn report(app: &App, what: &str, c: &Common, p: &Params) -> Result<Value, StatsError> {
    match what {
        "main" => with_comparison(app, c, Kind::Metrics, first_row),
        "timeseries" => {
            let interval = p.get("interval").unwrap_or(default_interval(c.range)).to_string();
            let kind = Kind::Timeseries { interval: interval.clone(), goal: goal(app, c, p)? };
            let mut out = with_comparison(app, c, kind, all_rows)?;
            out["interval"] = json!(interval);
            Ok(out)
        }
        "sessions" => {
            let (limit, page) = limit(p)?;
            let t = app.stats.run(&request(c, Kind::Sessions { top: Some(limit * page) }, c.range))?;
            let rows: Vec<Value> = t.objects().into_iter().skip(((page - 1) * limit) as usize).collect();
            Ok(json!({"site_id": c.site, "range": range_json(c.range), "results": rows}))
        }
        "realtime" => {
            let t = app.stats.run(&request(c, Kind::Realtime, c.range))?;
            Ok(first_row(&t))
        }
        "goals" => goals(app, c, p),
        "funnel" | "retention" | "sequences" | "flow" => {
            let kind = behaviour(app, what, c, p)?;
            let shape = if what == "sequences" { first_row } else { all_rows };
            with_comparison(app, c, kind, shape)
        }
        dimension => {
            let dimension = dimension.strip_prefix("breakdown/").unwrap_or(dimension);
            // A browser percent-encodes what it must (`event:props:my key`).
            let dimension: String =
                url::form_urlencoded::parse(format!("d={}", dimension.replace('+', "%2B")).as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
            let (limit, page) = limit(p)?;
            let goal = goal(app, c, p)?;
            let kind = Kind::Breakdown { dimension, top: Some(limit * page), goal };
            let mut out = with_comparison(app, c, kind, all_rows)?;
            let skip = ((page - 1) * limit) as usize;
            if let Some(rows) = out["results"].as_array_mut() {
                rows.drain(..skip.min(rows.len()));
            }
            Ok(out)
        }
    }
}

/// The `goal` parameter as goal text: a saved goal's name, or a goal
/// written out (`event:Signup`, `page:/signup/*`).
fn goal(app: &App, c: &Common, p: &Params) -> Result<Option<String>, StatsError> {
    Ok(p.get("goal").map(|g| app.goals.get(&c.site, g).map_or_else(|| g.to_string(), |saved| saved.text())))
}

/// `GET /api/stats/goals`: the site's saved goals (or `goals`, a JSON array
/// of goals written out), each with unique and total conversions, the
/// conversion rate and revenue per currency.
fn goals(app: &App, c: &Common, p: &Params) -> Result<Value, StatsError> {
    let named: Vec<(String, String)> = match p.get("goals") {
        Some(list) => serde_json::from_str::<Vec<String>>(list)
            .map_err(|_| StatsError::BadRequest("goals must be a JSON array like [\"event:Signup\"]".into()))?
            .into_iter()
            .map(|g| (g.clone(), g))
            .collect(),
        None => app.goals.list(&c.site).into_iter().map(|g| (g.name.clone(), g.text())).collect(),
    };
    if named.is_empty() {
        return Ok(json!({"site_id": c.site, "range": range_json(c.range), "results": []}));
    }
    let kind = Kind::Goals { goals: named.iter().map(|(_, text)| text.clone()).collect() };
    let mut out = with_comparison(app, c, kind, all_rows)?;
    for part in ["results", "comparison"] {
        let rows = if part == "results" { out.get_mut("results") } else { out.pointer_mut("/comparison/results") };
        if let Some(Value::Array(rows)) = rows {
            for (row, (name, _)) in rows.iter_mut().zip(&named) {
                row["name"] = json!(name);
            }
        }
    }
    Ok(out)
}

/// Steps from `steps` (a JSON array) or repeated `step` parameters.
fn steps(p: &Params) -> Result<Vec<String>, StatsError> {
    let mut steps = p.all("step");
    if let Some(list) = p.get("steps") {
        let parsed: Vec<String> = serde_json::from_str(list).map_err(|_| {
            StatsError::BadRequest("steps must be a JSON array like [\"page:/\", \"event:Signup\"]".into())
        })?;
        steps.extend(parsed);
    }
    Ok(steps)
}

fn whole(p: &Params, key: &str, default: i64) -> Result<i64, StatsError> {
    match p.get(key) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| StatsError::BadRequest(format!("{key} must be a whole number"))),
    }
}

/// The report kind of a behavioural endpoint.
fn behaviour(app: &App, what: &str, c: &Common, p: &Params) -> Result<Kind, StatsError> {
    let bad = StatsError::BadRequest;
    Ok(match what {
        "funnel" => match p.get("funnel") {
            Some(name) => {
                let f = app
                    .funnels
                    .get(&c.site, name)
                    .ok_or_else(|| bad(format!("no saved funnel {name:?} for {}", c.site)))?;
                Kind::Funnel { steps: f.steps, within: f.within, mode: f.mode }
            }
            None => {
                let within = match p.get("within") {
                    None => 86_400,
                    Some(w) => super::funnels::within_seconds(&Value::String(w.to_string())).map_err(bad)?,
                };
                Kind::Funnel { steps: steps(p)?, within, mode: p.get("mode").unwrap_or("").to_string() }
            }
        },
        "retention" => Kind::Retention {
            period: p.get("interval").unwrap_or("week").to_string(),
            periods: whole(p, "periods", 8)?,
        },
        "sequences" => Kind::Sequences {
            pattern: p
                .get("pattern")
                .ok_or_else(|| bad("pattern is required, e.g. pattern=(?1).*(?2)".into()))?
                .to_string(),
            steps: steps(p)?,
        },
        _ => Kind::Flow {
            page: p.get("page").ok_or_else(|| bad("page is required, e.g. page=/pricing".into()))?.to_string(),
            direction: p.get("direction").unwrap_or("forward").to_string(),
            depth: whole(p, "depth", 3)?,
        },
    })
}

/// A CSV cell, safe against spreadsheet formula injection: text that starts
/// with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with `'`.
pub fn csv_cell(v: &Value) -> String {
    let text = match v {
        Value::Null => return String::new(),
        Value::String(s) => {
            if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{s}")
            } else {
                s.clone()
            }
        }
        other => other.to_string(),
    };
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text }
}

/// `GET /api/stats/export?format=csv|json&report=breakdown&dimension=…` (or
/// `report=timeseries`): the full report as a download.
pub fn export(app: &App, query: &str, k: u64) -> Reply {
    let p = Params::parse(query);
    let result = (|| -> Result<(Common, String, Table), StatsError> {
        let c = common(app, &p)?;
        let report = p.get("report").unwrap_or("breakdown").to_string();
        let kind = match report.as_str() {
            "breakdown" => Kind::Breakdown {
                dimension: p.get("dimension").unwrap_or("event:page").to_string(),
                top: p.get("limit").and_then(|l| l.parse().ok()),
                goal: goal(app, &c, &p)?,
            },
            "timeseries" => Kind::Timeseries {
                interval: p.get("interval").unwrap_or(default_interval(c.range)).to_string(),
                goal: goal(app, &c, &p)?,
            },
            other => {
                return Err(StatsError::BadRequest(format!("unknown report {other:?}; use breakdown or timeseries")));
            }
        };
        let table = app.stats.run(&request(&c, kind, c.range))?;
        Ok((c, report, (*table).clone()))
    })();
    let (c, report, table) = match result {
        Ok(x) => x,
        Err(e) => return error_reply(e),
    };
    // An export through a shared link hides what its page hides.
    let mut protected = json!({ "results": table.objects() });
    protect(&mut protected, k);
    let objects = protected["results"].take();
    let rows: Vec<Vec<Value>> = objects
        .as_array()
        .map(|rows| rows.iter().map(|r| table.columns.iter().map(|c| r[c].clone()).collect()).collect())
        .unwrap_or_default();
    let name = format!("{}-{report}-{}-{}", c.site, c.range.start, c.range.end);
    match p.get("format").unwrap_or("csv") {
        "json" => http::json(200, &objects)
            .with_header(header("Content-Disposition", &format!("attachment; filename=\"{name}.json\""))),
        "csv" => {
            let mut out = table.columns.join(",");
            out.push('\n');
            for row in &rows {
                out.push_str(&row.iter().map(csv_cell).collect::<Vec<_>>().join(","));
                out.push('\n');
            }
            http::reply(200, "text/csv; charset=utf-8", out)
                .with_header(header("Content-Disposition", &format!("attachment; filename=\"{name}.csv\"")))
                .with_header(header("Cache-Control", "no-store"))
        }
        other => http::error(400, &format!("unknown format {other:?}; use csv or json")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_cannot_become_formulas() {
        assert_eq!(csv_cell(&json!("=HYPERLINK(\"x\")")), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell(&json!("+1")), "'+1");
        assert_eq!(csv_cell(&json!("@SUM(A1)")), "'@SUM(A1)");
        assert_eq!(csv_cell(&json!("/pricing")), "/pricing");
        assert_eq!(csv_cell(&json!(-3)), "-3");
        assert_eq!(csv_cell(&json!("a,b")), "\"a,b\"");
        assert_eq!(csv_cell(&Value::Null), "");
    }

    #[test]
    fn intervals_follow_the_range() {
        let r = |a: &str, b: &str| DateRange {
            start: mallard_core::time::Date::parse(a).unwrap(),
            end: mallard_core::time::Date::parse(b).unwrap(),
        };
        assert_eq!(default_interval(r("2026-11-01", "2026-11-01")), "hour");
        assert_eq!(default_interval(r("2026-11-01", "2026-11-30")), "day");
        assert_eq!(default_interval(r("2026-08-01", "2026-11-30")), "week");
        assert_eq!(default_interval(r("2025-12-01", "2026-11-30")), "month");
    }

    #[test]
    fn params_keep_repeats() {
        let p = Params::parse("site_id=a.com&filter=visit%3Asource%20%3D%3D%20Google&filter=event%3Apage%20~%20blog");
        assert_eq!(p.all("filter"), vec!["visit:source == Google", "event:page ~ blog"]);
    }
}
