//! The stats API against a real collector serving a copy of the committed
//! fixture lake: every endpoint returns exactly what the same `mallard_*`
//! call returns when run directly in DuckDB with the built extension; bad
//! input gets a 400 naming the problem; fresh events show within 2 s.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const RANGE: &str = "period=custom&date=2026-11-01,2026-11-03";

/// Runs SQL in a plain DuckDB with the built extension loaded; each value as
/// DuckDB's own text (NULL as None).
fn direct(sql: &str) -> Vec<Vec<Option<String>>> {
    let config = duckdb::Config::default().allow_unsigned_extensions().unwrap();
    let con = duckdb::Connection::open_in_memory_with_flags(config).unwrap();
    con.execute_batch(&format!("LOAD '{}'", env!("MALLARD_EXTENSION_FILE"))).unwrap();
    let mut stmt = con.prepare(&format!("SELECT CAST(COLUMNS(*) AS VARCHAR) FROM ({sql})")).unwrap();
    let mut rows = stmt.query([]).unwrap();
    let mut out = Vec::new();
    while let Some(row) = rows.next().unwrap() {
        let n = row.as_ref().column_count();
        out.push((0..n).map(|i| row.get::<_, Option<String>>(i).unwrap()).collect());
    }
    out
}

/// Whether an API value equals DuckDB's text of the same value.
fn same(api: &Value, duck: &Option<String>) -> bool {
    match (api, duck) {
        (Value::Null, None) => true,
        (Value::Number(n), Some(s)) => s.parse::<f64>().is_ok_and(|d| (n.as_f64().unwrap() - d).abs() < 1e-9),
        (Value::String(a), Some(b)) => a == b,
        _ => false,
    }
}

/// Asserts API rows (objects) equal the direct rows, column by column.
fn assert_rows(api: &[Value], columns: &[&str], duck: &[Vec<Option<String>>]) {
    assert_eq!(api.len(), duck.len(), "row count: api {api:?} vs duckdb {duck:?}");
    for (a, d) in api.iter().zip(duck) {
        for (c, dv) in columns.iter().zip(d) {
            assert!(same(&a[c], dv), "column {c}: api {} vs duckdb {dv:?}\napi row {a}\nduckdb row {d:?}", a[c]);
        }
    }
}

fn api(c: &Collector, path: &str) -> Value {
    let r = request("GET", &c.url(path), &[], b"");
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json()
}

#[test]
fn get_endpoints_equal_the_mallard_functions() {
    let data = fixture_data();
    let c = Collector::start_in(&data, &[]);
    let lake = data.join("lake");
    let lake = lake.display();
    let m = ["visitors", "visits", "pageviews", "events", "views_per_visit", "bounce_rate", "visit_duration"];

    let main = api(&c, &format!("/api/stats/main?site_id=example.com&{RANGE}&compare=previous_period"));
    let want = direct(&format!(
        "SELECT * FROM mallard_metrics('{lake}', 'example.com', DATE '2026-11-01', DATE '2026-11-03')"
    ));
    assert_rows(&[main["results"].clone()], &m, &want);
    // the previous period of three days is Oct 29–31
    assert_eq!(main["comparison"]["range"], json!({"start": "2026-10-29", "end": "2026-10-31"}));
    let want = direct(&format!(
        "SELECT * FROM mallard_metrics('{lake}', 'example.com', DATE '2026-10-29', DATE '2026-10-31')"
    ));
    assert_rows(&[main["comparison"]["results"].clone()], &m, &want);

    let ts = api(&c, &format!("/api/stats/timeseries?site_id=example.com&{RANGE}&timezone=Europe/Berlin"));
    let want = direct(&format!(
        "SELECT * FROM mallard_timeseries('{lake}', 'example.com', DATE '2026-11-01', DATE '2026-11-03', granularity := 'day', timezone := 'Europe/Berlin')"
    ));
    assert_rows(
        ts["results"].as_array().unwrap(),
        &["bucket", "visitors", "visits", "pageviews", "events", "bounce_rate", "visit_duration"],
        &want,
    );

    let filter = "visit:device != desktop";
    let bd = api(
        &c,
        &format!(
            "/api/stats/breakdown/event:page?site_id=example.com&{RANGE}&filter={}",
            filter.replace(' ', "%20").replace('!', "%21")
        ),
    );
    let want = direct(&format!(
        "SELECT * FROM mallard_breakdown('{lake}', 'example.com', DATE '2026-11-01', DATE '2026-11-03', 'event:page', filters := ['{filter}'])"
    ));
    assert_rows(
        bd["results"].as_array().unwrap(),
        &["value", "visitors", "pageviews", "time_on_page", "scroll_depth"],
        &want,
    );

    // limit and page slice the same ranking
    let page2 = api(&c, &format!("/api/stats/breakdown/visit:source?site_id=example.com&{RANGE}&limit=1&page=2"));
    let want = direct(&format!(
        "SELECT * FROM mallard_breakdown('{lake}', 'example.com', DATE '2026-11-01', DATE '2026-11-03', 'visit:source') LIMIT 1 OFFSET 1"
    ));
    assert_rows(
        page2["results"].as_array().unwrap(),
        &["value", "visitors", "visits", "pageviews", "bounce_rate", "visit_duration"],
        &want,
    );

    let sessions = api(&c, &format!("/api/stats/sessions?site_id=example.com&{RANGE}&limit=3"));
    let want = direct(&format!(
        "SELECT visitor_id, visit_id, visit_start, visit_end, duration, pageviews, entry_page, exit_page, source
         FROM mallard_sessions('{lake}', 'example.com', DATE '2026-11-01', DATE '2026-11-03', top := 3)"
    ));
    assert_rows(
        sessions["results"].as_array().unwrap(),
        &[
            "visitor_id",
            "visit_id",
            "visit_start",
            "visit_end",
            "duration",
            "pageviews",
            "entry_page",
            "exit_page",
            "source",
        ],
        &want,
    );

    let rt = api(&c, "/api/stats/realtime?site_id=example.com");
    let want = direct(&format!("SELECT * FROM mallard_realtime('{lake}', 'example.com')"));
    assert_rows(&[rt], &["visitors", "pageviews"], &want);
}

#[test]
fn v2_query_equals_the_mallard_functions() {
    let data = fixture_data();
    let c = Collector::start_in(&data, &[]);
    let lake = data.join("lake");
    let lake = lake.display();
    let post = |body: Value| {
        let r = request(
            "POST",
            &c.url("/api/v2/query"),
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        );
        (r.status, r.json())
    };
    let (status, v) = post(json!({"site_id": "example.com", "metrics": ["visitors", "bounce_rate", "visit_duration"],
        "date_range": ["2026-11-01", "2026-11-03"]}));
    assert_eq!(status, 200, "{v}");
    let want = direct(&format!(
        "SELECT visitors, bounce_rate, visit_duration FROM mallard_metrics('{lake}', 'example.com', DATE '2026-11-01', DATE '2026-11-03')"
    ));
    let metrics = v["results"][0]["metrics"].as_array().unwrap();
    assert!(metrics.iter().zip(&want[0]).all(|(a, d)| same(a, d)), "{v} vs {want:?}");
    assert_eq!(v["results"][0]["dimensions"], json!([]));

    let (status, v) = post(json!({"site_id": "example.com", "metrics": ["visitors", "visits"],
        "date_range": ["2026-11-01", "2026-11-03"], "dimensions": ["visit:source"],
        "filters": [["is", "visit:device", ["desktop", "tablet"]], ["contains", "event:page", ["/"]]],
        "order_by": [["visits", "asc"]], "pagination": {"limit": 5, "offset": 0}}));
    assert_eq!(status, 200, "{v}");
    let want = direct(&format!(
        "SELECT value, visitors, visits FROM mallard_breakdown('{lake}', 'example.com', DATE '2026-11-01', DATE '2026-11-03', 'visit:source', top := NULL,
            filters := ['visit:device == [\"desktop\",\"tablet\"]', 'event:page ~ [\"/\"]']) ORDER BY visits, visitors DESC, value"
    ));
    let got: Vec<Vec<Value>> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| [r["dimensions"].as_array().unwrap().clone(), r["metrics"].as_array().unwrap().clone()].concat())
        .collect();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!(g.iter().zip(w).all(|(a, d)| same(a, d)), "{g:?} vs {w:?}");
    }

    let (status, v) = post(json!({"site_id": "example.com", "metrics": ["pageviews"],
        "date_range": ["2026-11-01", "2026-11-03"], "dimensions": ["time:day"]}));
    assert_eq!(status, 200);
    assert_eq!(v["results"].as_array().unwrap().len(), 3);
    assert_eq!(v["results"][0], json!({"dimensions": ["2026-11-01 00:00:00"], "metrics": [3]}));
}

#[test]
fn bad_requests_get_a_400_that_names_the_problem() {
    let data = fixture_data();
    let c = Collector::start_in(&data, &[]);
    for (path, want) in [
        ("/api/stats/main", "site_id is required"),
        ("/api/stats/main?site_id=example.com&period=fortnight", "unknown period \"fortnight\""),
        ("/api/stats/main?site_id=example.com&period=custom", "date=YYYY-MM-DD,YYYY-MM-DD"),
        ("/api/stats/main?site_id=example.com&period=custom&date=2026-11-03,2026-11-01", "before"),
        ("/api/stats/main?site_id=../etc", "invalid site"),
        ("/api/stats/main?site_id=example.com&filter=visit:mood%20%3D%3D%20x", "unknown dimension"),
        ("/api/stats/main?site_id=example.com&filter=visit:source", "op ==, !=, ~, !~ or =~"),
        ("/api/stats/main?site_id=example.com&timezone=Mars/Base", "unknown timezone"),
        ("/api/stats/main?site_id=example.com&compare=last_year", "compare=previous_period"),
        ("/api/stats/timeseries?site_id=example.com&interval=fortnight", "hour, day, week or month"),
        ("/api/stats/breakdown/visit:shoe?site_id=example.com", "unknown dimension \"visit:shoe\""),
        ("/api/stats/breakdown/event:page?site_id=example.com&limit=0", "limit must be a positive"),
        ("/api/stats/export?site_id=example.com&format=xls", "csv or json"),
    ] {
        let r = request("GET", &c.url(path), &[], b"");
        assert_eq!(r.status, 400, "{path}: {}", r.text());
        let error = r.json()["error"].as_str().unwrap().to_string();
        assert!(error.contains(want), "{path}: {error:?} should mention {want:?}");
    }
    let post = |body: &str| request("POST", &c.url("/api/v2/query"), &[], body.as_bytes());
    for (body, want) in [
        ("not json", "JSON object"),
        (r#"{"metrics":["visitors"]}"#, "site_id is required"),
        (r#"{"site_id":"example.com"}"#, "metrics is required"),
        (r#"{"site_id":"example.com","metrics":["mood"]}"#, "unknown metric \"mood\""),
        (
            r#"{"site_id":"example.com","metrics":["time_on_page"],"dimensions":["visit:source"]}"#,
            "allowed: visitors, visits",
        ),
        (r#"{"site_id":"example.com","metrics":["visitors"],"dimensions":["visit:shoe"]}"#, "unknown dimension"),
        (
            r#"{"site_id":"example.com","metrics":["visitors"],"dimensions":["visit:source","event:page"]}"#,
            "at most one dimension",
        ),
        (r#"{"site_id":"example.com","metrics":["visitors"],"date_range":"fortnight"}"#, "unknown period"),
        (
            r#"{"site_id":"example.com","metrics":["visitors"],"filters":[["like","visit:source",["G%"]]]}"#,
            "unknown filter operator",
        ),
        (
            r#"{"site_id":"example.com","metrics":["visitors"],"filters":["visit:source"]}"#,
            "[operator, dimension, [values]]",
        ),
        (
            r#"{"site_id":"example.com","metrics":["visitors"],"dimensions":["visit:source"],"order_by":[["mood","desc"]]}"#,
            "cannot order by",
        ),
    ] {
        let r = post(body);
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        let error = r.json()["error"].as_str().unwrap().to_string();
        assert!(error.contains(want), "{body}: {error:?} should mention {want:?}");
    }
}

#[test]
fn export_is_csv_injection_safe() {
    let data = temp_dir("export");
    let c = Collector::start_in(&data, &[]);
    let evil = r#"{"n":"pageview","u":"https://example.com/=HYPERLINK(%22http://evil%22)","d":"example.com"}"#;
    assert_eq!(post_event(&c, evil).status, 202);
    c.wait_flushed();
    let r = request(
        "GET",
        &c.url("/api/stats/export?site_id=example.com&period=day&format=csv&dimension=event:page"),
        &[],
        b"",
    );
    assert_eq!(r.status, 200);
    assert!(r.header("content-disposition").unwrap().contains(".csv"));
    let text = r.text();
    assert!(text.starts_with("value,visitors,pageviews,time_on_page,scroll_depth\n"), "{text}");
    // the path starts with '/', harmless; a cell starting with '=' would be quoted with a leading '
    assert!(text.contains("/=HYPERLINK"), "{text}");
    let r = request(
        "GET",
        &c.url("/api/stats/export?site_id=example.com&period=day&format=json&report=timeseries"),
        &[],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json().as_array().unwrap().len(), 24);
}

#[test]
fn acknowledged_events_are_visible_within_two_seconds_and_the_cache_follows() {
    // An hour-long flush interval: only the hot files can show these events.
    let c = Collector::start(&[("MALLARD_FLUSH_INTERVAL", "1h")]);
    let main = || api(&c, "/api/stats/main?site_id=example.com&period=day")["results"]["pageviews"].as_i64().unwrap();
    assert_eq!(main(), 0);
    assert_eq!(main(), 0); // cached
    for i in 0..3 {
        let body = format!(r#"{{"n":"pageview","u":"https://example.com/{i}","d":"example.com"}}"#);
        assert_eq!(post_event(&c, &body).status, 202);
    }
    let acked = Instant::now();
    while main() != 3 {
        assert!(acked.elapsed() < Duration::from_secs(2), "events not visible within 2 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("visible after {:?}", acked.elapsed());
    let rt = api(&c, "/api/stats/realtime?site_id=example.com");
    assert_eq!(rt["pageviews"], 3);
    // nothing is in Parquet yet: these came from hot files
    let lake = c.lake();
    let files: Vec<String> = walk(&lake);
    assert!(files.iter().all(|f| f.ends_with(".hot")), "{files:?}");
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    out
}

#[test]
fn queries_run_in_parallel_while_ingesting() {
    let data = fixture_data();
    let c = Collector::start_in(&data, &[]);
    let base = c.base.clone();
    let writer = std::thread::spawn(move || {
        for i in 0..200 {
            let body = format!(r#"{{"n":"pageview","u":"https://example.com/{i}","d":"example.com"}}"#);
            let r = request("POST", &format!("{base}/api/event"), &[("User-Agent", CHROME)], body.as_bytes());
            assert_eq!(r.status, 202);
        }
    });
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let base = c.base.clone();
            std::thread::spawn(move || {
                for _ in 0..10 {
                    let r = request(
                        "GET",
                        &format!("{base}/api/stats/breakdown/visit:source?site_id=example.com&{RANGE}"),
                        &[],
                        b"",
                    );
                    assert_eq!(r.status, 200);
                    assert_eq!(r.json()["results"][1]["value"], "Google");
                }
            })
        })
        .collect();
    writer.join().unwrap();
    for r in readers {
        r.join().unwrap();
    }
}

#[test]
fn behavioural_endpoints_equal_the_mallard_functions() {
    let data = fixture_data();
    let c = Collector::start_in(&data, &[]);
    let lake = data.join("lake");
    let lake = lake.display();
    let dates = "'example.com', DATE '2026-11-01', DATE '2026-11-03'";

    let steps = r#"["page:/","page:/pricing","event:Signup"]"#;
    let funnel = api(&c, &format!("/api/stats/funnel?site_id=example.com&{RANGE}&steps={}&within=1h", encode(steps)));
    let want = direct(&format!(
        "SELECT * FROM mallard_funnel('{lake}', {dates}, ['page:/', 'page:/pricing', 'event:Signup'], within := INTERVAL 1 HOUR)"
    ));
    let funnel_columns = ["step", "name", "visitors", "conversion_rate", "step_conversion_rate", "dropoff"];
    assert_rows(funnel["results"].as_array().unwrap(), &funnel_columns, &want);
    assert_eq!(funnel["results"][2]["visitors"], 1, "{funnel}");

    // repeated step= parameters and a mode
    let strict = api(
        &c,
        &format!("/api/stats/funnel?site_id=example.com&{RANGE}&step=page:/&step=event:Signup&mode=strict_order"),
    );
    let want = direct(&format!(
        "SELECT * FROM mallard_funnel('{lake}', {dates}, ['page:/', 'event:Signup'], mode := 'strict_order')"
    ));
    assert_rows(strict["results"].as_array().unwrap(), &funnel_columns, &want);

    let retention = api(&c, &format!("/api/stats/retention?site_id=example.com&{RANGE}&interval=day&periods=3"));
    let want = direct(&format!("SELECT * FROM mallard_retention('{lake}', {dates}, period := 'day', periods := 3)"));
    assert_rows(
        retention["results"].as_array().unwrap(),
        &["cohort", "cohort_size", "period_number", "visitors", "rate"],
        &want,
    );

    let sequences = api(
        &c,
        &format!(
            "/api/stats/sequences?site_id=example.com&{RANGE}&pattern={}&step=page:/&step=page:/pricing",
            encode("(?1).*(?2)")
        ),
    );
    let want = direct(&format!(
        "SELECT * FROM mallard_sequences('{lake}', {dates}, '(?1).*(?2)', ['page:/', 'page:/pricing'])"
    ));
    assert_rows(&[sequences["results"].clone()], &["matching_visitors", "total_visitors", "conversion_rate"], &want);

    let flow =
        api(&c, &format!("/api/stats/flow?site_id=example.com&{RANGE}&page=/pricing&direction=backward&depth=2"));
    let want = direct(&format!(
        "SELECT * FROM mallard_flow('{lake}', {dates}, '/pricing', direction := 'backward', depth := 2)"
    ));
    assert_rows(flow["results"].as_array().unwrap(), &["step", "from_page", "to_page", "visitors"], &want);

    // v2: the same reports by name
    let r = request(
        "POST",
        &c.url("/api/v2/query"),
        &[("Content-Type", "application/json")],
        json!({"site_id": "example.com", "date_range": ["2026-11-01", "2026-11-03"], "report": "funnel",
               "steps": ["page:/", "page:/pricing", "event:Signup"], "within": "1h"})
        .to_string()
        .as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let want = direct(&format!(
        "SELECT * FROM mallard_funnel('{lake}', {dates}, ['page:/', 'page:/pricing', 'event:Signup'], within := INTERVAL 1 HOUR)"
    ));
    assert_rows(r.json()["results"].as_array().unwrap(), &funnel_columns, &want);

    // bad input: 400 naming the problem
    for (path, says) in [
        (format!("/api/stats/funnel?site_id=example.com&{RANGE}&step=pricing"), "steps look like"),
        (format!("/api/stats/funnel?site_id=example.com&{RANGE}&step=page:/&mode=fast"), "unknown window funnel mode"),
        (format!("/api/stats/funnel?site_id=example.com&{RANGE}&step=page:/&within=soon"), "within is a duration"),
        (format!("/api/stats/funnel?site_id=example.com&{RANGE}"), "steps must list 1 to 32 steps"),
        (format!("/api/stats/retention?site_id=example.com&{RANGE}&interval=hour"), "use day, week or month"),
        (format!("/api/stats/sequences?site_id=example.com&{RANGE}&step=page:/"), "pattern is required"),
        (format!("/api/stats/sequences?site_id=example.com&{RANGE}&pattern=%28%3F2%29&step=page:/"), "out of range"),
        (format!("/api/stats/flow?site_id=example.com&{RANGE}&page=/&depth=99"), "depth must be 1 to 10"),
        (format!("/api/stats/funnel?site_id=example.com&{RANGE}&funnel=Nope"), "no saved funnel"),
    ] {
        let r = request("GET", &c.url(&path), &[], b"");
        assert_eq!(r.status, 400, "{path}: {}", r.text());
        assert!(r.json()["error"].as_str().unwrap().contains(says), "{path}: {}", r.text());
    }
}

#[test]
fn funnels_are_saved_per_site_and_survive_a_restart() {
    let data = fixture_data();
    let c = Collector::start_in(&data, &[]);
    let put = |c: &Collector, site: &str, body: Value| {
        let r = request("PUT", &c.url(&format!("/api/funnels?site_id={site}")), &[], body.to_string().as_bytes());
        (r.status, r.text())
    };
    let signup = json!({"name": "Signup", "steps": ["page:/", "page:/pricing", "event:Signup"], "within": "1h"});
    assert_eq!(put(&c, "example.com", signup.clone()).0, 201);
    assert_eq!(put(&c, "example.com", signup).0, 200, "saving again replaces");
    let (status, text) = put(&c, "example.com", json!({"name": "Bad", "steps": ["nowhere"]}));
    assert_eq!(status, 400);
    assert!(text.contains("steps look like"), "{text}");
    assert_eq!(put(&c, "example.com", json!({"name": "", "steps": ["page:/"]})).0, 400);
    assert_eq!(
        put(&c, "example.com", json!({"name": "Blog", "steps": ["page:/blog/*"], "mode": "strict_once"})).0,
        201
    );

    // a saved funnel runs by name, with the numbers of its steps
    let by_name = api(&c, &format!("/api/stats/funnel?site_id=example.com&{RANGE}&funnel=Signup"));
    let by_steps = api(
        &c,
        &format!(
            "/api/stats/funnel?site_id=example.com&{RANGE}&within=3600&steps={}",
            encode(r#"["page:/","page:/pricing","event:Signup"]"#)
        ),
    );
    assert_eq!(by_name["results"], by_steps["results"]);

    let data = c.stop();
    let c = Collector::start_in(&data, &[]);
    let list = api(&c, "/api/funnels?site_id=example.com");
    let names: Vec<&str> = list["funnels"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Blog", "Signup"]);
    assert_eq!(list["funnels"][1]["within"], 3600);
    assert_eq!(api(&c, "/api/funnels?site_id=other.org")["funnels"], json!([]));

    let r = request("DELETE", &c.url("/api/funnels?site_id=example.com&name=Signup"), &[], b"");
    assert_eq!(r.status, 204);
    let r = request("DELETE", &c.url("/api/funnels?site_id=example.com&name=Signup"), &[], b"");
    assert_eq!(r.status, 404);
    assert_eq!(api(&c, "/api/funnels?site_id=example.com")["funnels"].as_array().unwrap().len(), 1);
    let r = request("PATCH", &c.url("/api/funnels?site_id=example.com"), &[], b"");
    assert_eq!(r.status, 405);
}

/// Percent-encodes a query value.
fn encode(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// Goals over the fixture, worked out by hand (see test/sql/goals.test):
/// from 2026-11-01 to 2026-11-03, 3 visitors; A (Chrome) signs up on
/// /pricing with plan pro and 9.99 EUR; all three view /pricing; B and C
/// use Mobile Safari.
#[test]
fn goals_report_conversions_and_revenue_and_split_breakdowns() {
    let data = fixture_data();
    let c = Collector::start_in(&data, &[]);
    let put = |c: &Collector, body: Value| {
        let r = request("PUT", &c.url("/api/goals?site_id=example.com"), &[], body.to_string().as_bytes());
        (r.status, r.text())
    };
    assert_eq!(put(&c, json!({"name": "Signups", "step": "event:Signup"})).0, 201);
    assert_eq!(put(&c, json!({"name": "Signups", "step": "event:Signup"})).0, 200, "saving again replaces");
    assert_eq!(put(&c, json!({"name": "Pro", "step": "event:Signup", "props": {"plan": "pro"}})).0, 201);
    assert_eq!(put(&c, json!({"name": "Pricing", "step": "page:/pricing"})).0, 201);
    let (status, text) = put(&c, json!({"name": "Bad", "step": "signup"}));
    assert_eq!(status, 400);
    assert!(text.contains("goals look like"), "{text}");
    let (status, text) = put(&c, json!({"name": "Bad", "step": "event:A", "props": {"n": 1}}));
    assert_eq!(status, 400);
    assert!(text.contains("props must be an object of text values"), "{text}");
    assert_eq!(put(&c, json!({"name": "", "step": "event:A"})).0, 400);

    let goals = api(&c, &format!("/api/stats/goals?site_id=example.com&{RANGE}"));
    let rows: Vec<(String, i64, i64, f64)> = goals["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let rate = (r["conversion_rate"].as_f64().unwrap() * 100.0).round() / 100.0;
            (
                r["name"].as_str().unwrap().to_string(),
                r["visitors"].as_i64().unwrap(),
                r["events"].as_i64().unwrap(),
                rate,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [("Pricing".into(), 3, 3, 100.0), ("Pro".into(), 1, 1, 33.33), ("Signups".into(), 1, 1, 33.33)],
        "{goals}"
    );
    assert_eq!(goals["results"][2]["revenue"], json!([{"currency": "EUR", "total": 9.99, "average": 9.99}]));
    assert_eq!(goals["results"][0]["revenue"], json!([]));

    // Filters narrow both sides of the rate: of the Chrome visitors (A), all convert.
    let chrome =
        api(&c, &format!("/api/stats/goals?site_id=example.com&{RANGE}&filter={}", encode("visit:browser == Chrome")));
    assert_eq!(chrome["results"][2]["conversion_rate"], 100.0);

    // A breakdown with a goal (by name, or written out) adds conversions per row.
    let by_name = api(&c, &format!("/api/stats/breakdown/visit:browser?site_id=example.com&{RANGE}&goal=Signups"));
    let rows: Vec<(&str, i64, i64)> = by_name["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["value"].as_str().unwrap(), r["visitors"].as_i64().unwrap(), r["conversions"].as_i64().unwrap()))
        .collect();
    assert_eq!(rows, [("Chrome", 1, 1), ("Mobile Safari", 2, 0)]);
    assert_eq!(by_name["results"][0]["conversion_rate"], 100.0);
    let written = api(
        &c,
        &format!("/api/stats/breakdown/visit:browser?site_id=example.com&{RANGE}&goal={}", encode("event:Signup")),
    );
    assert_eq!(by_name["results"], written["results"]);
    let r = request(
        "GET",
        &c.url(&format!("/api/stats/breakdown/event:page?site_id=example.com&{RANGE}&goal=nothing")),
        &[],
        b"",
    );
    assert_eq!(r.status, 400, "an unknown goal name is not a goal: {}", r.text());

    // Over time: 2026-11-01 has A and B (A converts with 9.99 EUR), then A and C, then B.
    let series = api(&c, &format!("/api/stats/timeseries?site_id=example.com&{RANGE}&interval=day&goal=Signups"));
    let days: Vec<(String, i64, i64)> = series["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let day = r["bucket"].as_str().unwrap()[..10].to_string();
            (day, r["visitors"].as_i64().unwrap(), r["conversions"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(days, [("2026-11-01".into(), 2, 1), ("2026-11-02".into(), 2, 0), ("2026-11-03".into(), 1, 0)]);
    assert_eq!(series["results"][0]["revenue"], json!([{"currency": "EUR", "total": 9.99, "average": 9.99}]));

    // Saved goals survive a restart; delete removes one.
    let data = c.stop();
    let c = Collector::start_in(&data, &[]);
    let names: Vec<String> = api(&c, "/api/goals?site_id=example.com")["goals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["Pricing", "Pro", "Signups"]);
    assert_eq!(request("DELETE", &c.url("/api/goals?site_id=example.com&name=Pro"), &[], b"").status, 204);
    assert_eq!(request("DELETE", &c.url("/api/goals?site_id=example.com&name=Pro"), &[], b"").status, 404);
    assert_eq!(api(&c, "/api/goals?site_id=example.com")["goals"].as_array().unwrap().len(), 2);
}

#[test]
fn annotations_are_dated_notes_per_site() {
    let c = Collector::start_in(&fixture_data(), &[]);
    let post = |body: Value| {
        let r = request("POST", &c.url("/api/annotations?site_id=example.com"), &[], body.to_string().as_bytes());
        (r.status, r.json())
    };
    let (status, first) = post(json!({"date": "2026-11-20", "text": "  launched the pricing page "}));
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["annotation"]["text"], "launched the pricing page");
    assert_eq!(post(json!({"date": "2026-11-02", "text": "newsletter"})).0, 201);
    assert_eq!(post(json!({"date": "2026-12-01", "text": "later"})).0, 201);
    for bad in
        [json!({"date": "2026-13-01", "text": "x"}), json!({"date": "2026-11-01", "text": " "}), json!({"text": "x"})]
    {
        let (status, body) = post(bad);
        assert_eq!(status, 400, "{body}");
        assert!(body["error"].is_string());
    }
    let (status, body) = post(json!({"date": "2026-11-01", "text": "x".repeat(501)}));
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("1 to 500 characters"));

    // Listed by date, and only within from/to.
    let list = api(&c, "/api/annotations?site_id=example.com&from=2026-11-01&to=2026-11-30");
    let dates: Vec<&str> =
        list["annotations"].as_array().unwrap().iter().map(|a| a["date"].as_str().unwrap()).collect();
    assert_eq!(dates, ["2026-11-02", "2026-11-20"]);
    assert_eq!(api(&c, "/api/annotations?site_id=other.org")["annotations"], json!([]));

    let id = first["annotation"]["id"].as_str().unwrap();
    let url = c.url(&format!("/api/annotations?site_id=example.com&id={id}"));
    assert_eq!(request("DELETE", &url, &[], b"").status, 204);
    assert_eq!(request("DELETE", &url, &[], b"").status, 404);
    assert_eq!(api(&c, "/api/annotations?site_id=example.com")["annotations"].as_array().unwrap().len(), 2);
}
