//! `/api/event` against a real collector: every status code, the enriched row
//! read back from the lake by DuckDB, Plausible payloads, props and revenue.

mod common;

use common::*;

const PAGEVIEW: &str = r#"{"n":"pageview","u":"https://example.com/blog/h%C3%A9llo?utm_source=news&utm_medium=email&utm_campaign=fall&x=1#top","d":"example.com","r":"https://www.google.com/search?q=secret","w":1280}"#;

#[test]
fn accepts_and_stores_an_enriched_pageview() {
    let c = Collector::start(&[]);
    let r = post_event(&c, PAGEVIEW);
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(r.header("x-mallard-dropped"), None);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let lake = c.lake();
    c.stop();
    let rows = query(
        &lake,
        "SELECT site, name, hostname, pathname, referrer, referrer_source, utm_source, utm_medium, utm_campaign,
                browser, browser_version, os, os_version, device, screen_width, interactive, visitor_id > 0, visit_id > 0
         FROM {lake}",
    );
    assert_eq!(
        rows,
        vec![vec![
            "example.com",
            "pageview",
            "example.com",
            "/blog/héllo",
            "https://www.google.com/search",
            "Google",
            "news",
            "email",
            "fall",
            "Chrome",
            "120.0",
            "Windows",
            "10",
            "desktop",
            "1280",
            "NULL",
            "true",
            "true",
        ]]
    );
    // The IP and the full user agent are stored nowhere.
    let all = query(&lake, "SELECT CAST(COLUMNS(*) AS VARCHAR) FROM {lake}").concat().join(" ");
    assert!(!all.contains("127.0.0.1") && !all.contains("Mozilla") && !all.contains("secret"), "{all}");
    // Partition layout and column types are the lake format v1 contract.
    let types = query(&lake, "SELECT column_name || ' ' || column_type FROM (DESCRIBE SELECT * FROM {lake})").concat();
    let expected: Vec<String> =
        mallard_core::event::LAKE_COLUMNS.iter().map(|c| format!("{} {}", c.name, c.ty.sql())).collect();
    assert_eq!(types, expected);
}

#[test]
fn plausible_tracker_payload_props_and_revenue_round_trip() {
    let c = Collector::start(&[]);
    // What @plausible-analytics/tracker 0.4.6 sends (text/plain, v: 36).
    let custom = r#"{"n":"Signup","v":36,"u":"https://example.com/pricing","d":"example.com","r":null,"p":{"plan":"pro","seats":3,"trial":true},"$":{"amount":"9.99","currency":"EUR"},"i":true}"#;
    assert_eq!(post_event(&c, custom).status, 202);
    // props as a JSON string, long field names, non-interactive event
    let legacy = r#"{"name":"Scrolled","url":"https://example.com/pricing","domain":"example.com","props":"{\"depth\":\"90%\"}","interactive":false}"#;
    assert_eq!(post_event(&c, legacy).status, 202);
    let engagement =
        r#"{"n":"engagement","v":36,"u":"https://example.com/pricing","d":"example.com","sd":87,"e":12345}"#;
    assert_eq!(post_event(&c, engagement).status, 202);
    let lake = c.lake();
    c.stop();
    let rows = query(
        &lake,
        "SELECT name, CAST(props AS VARCHAR), revenue_amount, revenue_currency, interactive, scroll_depth, engaged_ms
         FROM {lake} ORDER BY ts",
    );
    assert_eq!(
        rows,
        vec![
            vec!["Signup", "{plan=pro, seats=3, trial=true}", "9.9900", "EUR", "true", "NULL", "NULL"],
            vec!["Scrolled", "{depth=90%}", "NULL", "NULL", "false", "NULL", "NULL"],
            vec!["engagement", "{}", "NULL", "NULL", "NULL", "87", "12345"],
        ]
    );
    // All three belong to the same visitor; engagement joins the open visit.
    assert_eq!(
        scalar(&lake, "SELECT count(DISTINCT visitor_id) || ',' || count(DISTINCT visit_id) FROM {lake}"),
        "1,1"
    );
}

#[test]
fn malformed_input_is_a_400_naming_the_problem() {
    let c = Collector::start(&[]);
    let cases: &[(&[u8], &str)] = &[
        (b"not json", "not valid JSON"),
        (b"", "empty"),
        (b"\xff\xfe\x00", "UTF-8"),
        (br#"{"u":"https://example.com/","d":"example.com"}"#, "missing field n"),
        (br#"{"n":"pageview","d":"example.com"}"#, "missing field u"),
        (br#"{"n":"pageview","u":"https://example.com/"}"#, "missing field d"),
        (br#"{"n":"pageview","u":"not a url","d":"example.com"}"#, "not a valid URL"),
        (br#"{"n":"pageview","u":"javascript:alert(1)","d":"example.com"}"#, "http or https"),
        (br#"{"n":"pageview","u":"https://example.com/","d":"../../etc"}"#, "not a valid host name"),
        (br#"{"n":"pageview","u":"https://example.com/","d":"a/b"}"#, "not a valid host name"),
        (br#"{"n":"x","u":"https://example.com/","d":"example.com","p":{"a":[1]}}"#, "props"),
    ];
    for (body, want) in cases {
        let r = request("POST", &c.url("/api/event"), &[("User-Agent", CHROME)], body);
        assert_eq!(r.status, 400, "{want}: {}", r.text());
        let error = r.json()["error"].as_str().unwrap().to_string();
        assert!(error.contains(want), "{error:?} should mention {want:?}");
    }
    // Nothing escaped the lake directory.
    let data = c.data_dir.clone();
    c.stop();
    assert!(!data.join("etc").exists() && !data.parent().unwrap().join("etc").exists());
    assert_eq!(std::fs::read_dir(data.join("lake")).unwrap().count(), 0);
}

#[test]
fn oversized_bodies_wrong_methods_and_unknown_paths() {
    let c = Collector::start(&[]);
    let big = format!(
        r#"{{"n":"pageview","u":"https://example.com/","d":"example.com","p":{{"k":"{}"}}}}"#,
        "x".repeat(70_000)
    );
    let r = request("POST", &c.url("/api/event"), &[("User-Agent", CHROME)], big.as_bytes());
    assert_eq!(r.status, 413);
    assert!(r.json()["error"].as_str().unwrap().contains("64 KiB"));
    let r = request("PUT", &c.url("/api/event"), &[], b"{}");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST, GET, OPTIONS"));
    assert!(r.json()["error"].as_str().unwrap().contains("PUT"));
    let r = request("DELETE", &c.url("/health"), &[], b"");
    assert_eq!(r.status, 405);
    let r = request("GET", &c.url("/nope"), &[], b"");
    assert_eq!(r.status, 404);
    assert!(r.json()["error"].as_str().unwrap().contains("/nope"));
    let r = request("OPTIONS", &c.url("/api/event"), &[("Origin", "https://example.com")], b"");
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert!(r.header("access-control-allow-methods").unwrap().contains("POST"));
}

#[test]
fn dropped_events_are_202_with_a_reason() {
    let c = Collector::start(&[("MALLARD_SITES", "example.com"), ("MALLARD_RATE_LIMIT", "3")]);
    let bot = request(
        "POST",
        &c.url("/api/event"),
        &[("User-Agent", "curl/8.4.0")],
        br#"{"n":"pageview","u":"https://example.com/","d":"example.com"}"#,
    );
    assert_eq!((bot.status, bot.header("x-mallard-dropped")), (202, Some("bot")));
    let unknown = post_event(&c, r#"{"n":"pageview","u":"https://other.org/","d":"other.org"}"#);
    assert_eq!((unknown.status, unknown.header("x-mallard-dropped")), (202, Some("unknown-site")));
    let local = post_event(&c, r#"{"n":"pageview","u":"http://localhost:3000/","d":"example.com"}"#);
    assert_eq!((local.status, local.header("x-mallard-dropped")), (202, Some("localhost")));
    // A burst of 10 against a limit of 3/s: the first 3 are stored.
    let reasons: Vec<Option<String>> = (0..10)
        .map(|_| post_event(&c, r#"{"n":"pageview","u":"https://example.com/","d":"example.com"}"#))
        .map(|r| {
            assert_eq!(r.status, 202);
            r.header("x-mallard-dropped").map(str::to_string)
        })
        .collect();
    let stored = reasons.iter().filter(|r| r.is_none()).count();
    assert!((3..=4).contains(&stored), "{reasons:?}");
    assert!(reasons.iter().flatten().all(|r| r == "rate-limited"));
    let lake = c.lake();
    c.stop();
    assert_eq!(scalar(&lake, "SELECT count(*) FROM {lake}"), stored.to_string());
}

#[test]
fn pixel_requests_store_events_and_return_a_gif() {
    let c = Collector::start(&[]);
    let url = c.url("/api/event?n=pageview&u=https%3A%2F%2Fexample.com%2Fnoscript&d=example.com&w=390");
    let r = request("GET", &url, &[("User-Agent", IPHONE)], b"");
    assert_eq!(r.status, 202);
    assert_eq!(r.header("content-type"), Some("image/gif"));
    assert_eq!(&r.body[..6], b"GIF89a");
    let r = request("GET", &c.url("/api/event?n=pageview"), &[("User-Agent", IPHONE)], b"");
    assert_eq!(r.status, 400);
    let lake = c.lake();
    c.stop();
    assert_eq!(
        query(&lake, "SELECT pathname, device, screen_width FROM {lake}"),
        vec![vec!["/noscript", "mobile", "390"]]
    );
}

#[test]
fn one_event_for_several_sites() {
    let c = Collector::start(&[]);
    assert_eq!(post_event(&c, r#"{"n":"pageview","u":"https://a.example/","d":"a.example,b.example"}"#).status, 202);
    let lake = c.lake();
    c.stop();
    assert_eq!(query(&lake, "SELECT site FROM {lake} ORDER BY site"), vec![vec!["a.example"], vec!["b.example"]]);
    assert!(lake.join("site=a.example").is_dir() && lake.join("site=b.example").is_dir());
}

/// What was filtered out, by day (`/api/filtered`): counted by hand from the
/// requests sent here, kept across a restart.
#[test]
fn what_was_filtered_out_is_counted_by_day_and_kept() {
    let c = Collector::start(&[("MALLARD_SITES", "example.com")]);
    let send = |c: &Collector| {
        let bot = request(
            "POST",
            &c.url("/api/event"),
            &[("User-Agent", "curl/8.4.0")],
            br#"{"n":"pageview","u":"https://example.com/","d":"example.com"}"#,
        );
        assert_eq!(bot.header("x-mallard-dropped"), Some("bot"));
        assert_eq!(post_event(c, r#"{"n":"pageview","u":"https://other.org/","d":"other.org"}"#).status, 202);
        assert_eq!(post_event(c, r#"{"n":"pageview","u":"https://other.org/","d":"other.org"}"#).status, 202);
        assert_eq!(post_event(c, r#"{"n":"pageview","u":"http://localhost:3000/","d":"example.com"}"#).status, 202);
        assert_eq!(post_event(c, "{not json").status, 400);
        let big =
            format!(r#"{{"n":"pageview","u":"https://example.com/","d":"example.com","p":"{}"}}"#, "x".repeat(70_000));
        assert_eq!(post_event(c, &big).status, 413);
        assert_eq!(post_event(c, r#"{"n":"pageview","u":"https://example.com/","d":"example.com"}"#).status, 202);
    };
    send(&c);
    // Summed over the days listed (a run across midnight UTC spans two).
    let today = |c: &Collector| {
        let r = request("GET", &c.url("/api/filtered"), &[], b"");
        assert_eq!(r.status, 200, "{}", r.text());
        let mut sum = serde_json::json!({"dropped": {}, "rejected": {}});
        for day in r.json()["days"].as_array().unwrap() {
            for kind in ["dropped", "rejected"] {
                for (k, v) in day[kind].as_object().unwrap() {
                    let before = sum[kind][k].as_u64().unwrap_or(0);
                    sum[kind][k] = serde_json::json!(before + v.as_u64().unwrap());
                }
            }
        }
        sum
    };
    let first = today(&c);
    assert_eq!(first["dropped"], serde_json::json!({"bot": 1, "unknown-site": 2, "localhost": 1}));
    assert_eq!(first["rejected"], serde_json::json!({"400": 1, "413": 1}));
    let data = c.stop();
    // A restart keeps them, and adds what comes next.
    let c = Collector::start_in(&data, &[("MALLARD_SITES", "example.com")]);
    assert_eq!(today(&c)["dropped"]["bot"], 1);
    send(&c);
    let second = today(&c);
    assert_eq!(second["dropped"], serde_json::json!({"bot": 2, "unknown-site": 4, "localhost": 2}));
    assert_eq!(second["rejected"], serde_json::json!({"400": 2, "413": 2}));
    assert_eq!(request("GET", &c.url("/api/filtered?days=0"), &[], b"").status, 400);
}
