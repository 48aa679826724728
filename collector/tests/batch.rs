//! `POST /api/batch` against the real collector: who may send, one result per
//! item, the visitor's own IP, user agent and timestamp, ids that make a
//! retry store nothing twice, and the limits.

mod common;

use common::*;
use serde_json::{Value, json};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

fn key(c: &Collector, scope: &str, sites: Value) -> String {
    // Before a password exists, loopback is the owner.
    let body = json!({"name": format!("{scope} key"), "scope": scope, "sites": sites}).to_string();
    let r = request("POST", &c.url("/api/keys"), &[("Content-Type", "application/json")], body.as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["key"].as_str().unwrap().to_string()
}

fn batch(c: &Collector, key: Option<&str>, body: &[u8]) -> Reply {
    let auth = key.map(|k| format!("Bearer {k}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a));
    }
    request("POST", &c.url("/api/batch"), &headers, body)
}

fn iso(micros: i64) -> String {
    // Plain DuckDB formats the expected timestamp, not the code under test.
    let con = duckdb::Connection::open_in_memory().unwrap();
    con.query_row(&format!("SELECT strftime(make_timestamp({micros}), '%Y-%m-%dT%H:%M:%S.%fZ')"), [], |r| r.get(0))
        .unwrap()
}

fn now_micros() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() as i64
}

#[test]
fn a_batch_stores_each_valid_event_once_with_the_visitors_own_details() {
    let c = Collector::start(&[]);
    let ingest = key(&c, "ingest", Value::Null);
    let read = key(&c, "read", Value::Null);
    let body = |items: &Value| items.to_string().into_bytes();
    let one = json!([{"n": "pageview", "u": "https://shop.example/a", "d": "shop.example", "user_agent": FIREFOX}]);

    // Who may send.
    let r = batch(&c, None, &body(&one));
    assert_eq!(r.status, 403, "even the loopback owner needs a key: {}", r.text());
    assert!(r.json()["error"].as_str().unwrap().contains("scope ingest"));
    let r = batch(&c, Some(&read), &body(&one));
    assert_eq!(r.status, 403, "a read key cannot send: {}", r.text());
    let r = request(
        "GET",
        &c.url("/api/stats/main?site_id=shop.example"),
        &[("Authorization", &format!("Bearer {ingest}"))],
        b"",
    );
    assert_eq!(r.status, 403, "an ingest key cannot read stats: {}", r.text());

    // Up to an hour ago, in whole milliseconds (the lake keeps microseconds), but
    // never before today (UTC): a fresh data directory keeps only today's salt,
    // so just after midnight an hour ago cannot be hashed. `e-2` comes a second
    // later and must not be in the future either.
    const DAY: i64 = 86_400_000_000;
    if now_micros() % DAY < 2_000_000 {
        std::thread::sleep(std::time::Duration::from_secs(2));
    }
    let now = now_micros();
    let earlier = (now - 3_600_000_000).max(now - now % DAY) / 1000 * 1000;
    let items = json!([
        {"n": "pageview", "u": "https://shop.example/a", "d": "shop.example", "ip": "203.0.113.7",
         "user_agent": FIREFOX, "timestamp": iso(earlier), "id": "e-1"},
        {"n": "pageview", "u": "https://shop.example/b", "d": "shop.example", "ip": "203.0.113.7",
         "user_agent": FIREFOX, "timestamp": earlier / 1000 + 1000, "id": "e-2"},
        {"n": "pageview", "u": "https://shop.example/c", "d": "shop.example", "ip": "198.51.100.9",
         "user_agent": FIREFOX, "id": "e-3"},
        {"n": "pageview", "u": "https://shop.example/d", "d": "shop.example", "timestamp": iso(now_micros() + 3_600_000_000)},
        {"n": "pageview", "u": "https://shop.example/e", "d": "shop.example", "timestamp": "2001-01-01T00:00:00Z"},
        {"n": "pageview", "d": "shop.example"},
        {"n": "pageview", "u": "https://shop.example/f", "d": "shop.example", "ip": "not-an-ip"},
        {"n": "pageview", "u": "https://shop.example/g", "d": "shop.example", "user_agent": "curl/8.0 (bot)",
         "id": "e-bot"},
    ]);
    let r = batch(&c, Some(&ingest), &body(&items));
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let statuses: Vec<&str> = v["results"].as_array().unwrap().iter().map(|x| x["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["stored", "stored", "stored", "invalid", "invalid", "invalid", "invalid", "dropped"], "{v}");
    assert_eq!((v["stored"].as_u64(), v["invalid"].as_u64(), v["dropped"].as_u64()), (Some(3), Some(4), Some(1)));
    assert_eq!(v["results"][0]["id"], "e-1");
    assert!(v["results"][3]["reason"].as_str().unwrap().contains("future"), "{v}");
    assert!(v["results"][4]["reason"].as_str().unwrap().contains("older than the oldest salt"), "{v}");
    assert!(v["results"][5]["reason"].as_str().unwrap().contains("u (page URL)"), "{v}");
    assert!(v["results"][6]["reason"].as_str().unwrap().contains("not an IP address"), "{v}");
    assert_eq!(v["results"][7]["reason"], "bot");

    // A retry of the whole batch stores nothing twice.
    let again = batch(&c, Some(&ingest), &body(&items)).json();
    let statuses: Vec<&str> =
        again["results"].as_array().unwrap().iter().map(|x| x["status"].as_str().unwrap()).collect();
    assert_eq!(&statuses[..3], ["duplicate", "duplicate", "duplicate"], "{again}");

    c.wait_flushed();
    let rows = query(
        &c.lake(),
        "SELECT pathname, epoch_us(ts), browser, visitor_id FROM {lake} WHERE site = 'shop.example' ORDER BY pathname",
    );
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[0][0], "/a");
    assert_eq!(rows[0][1], earlier.to_string(), "the item's own timestamp");
    assert_eq!(rows[1][1], (earlier + 1_000_000).to_string(), "milliseconds since 1970");
    assert!(rows.iter().all(|r| r[2] == "Firefox"), "the visitor's user agent, not the sender's: {rows:?}");
    assert_eq!(rows[0][3], rows[1][3], "same IP and user agent: one visitor");
    assert_ne!(rows[0][3], rows[2][3], "another IP: another visitor");
}

#[test]
fn batch_limits_and_site_scoped_keys() {
    let c = Collector::start(&[]);
    let limited = key(&c, "ingest", json!(["a.example"]));
    let items = json!([
        {"n": "pageview", "u": "https://a.example/", "d": "a.example", "user_agent": FIREFOX},
        {"n": "pageview", "u": "https://b.example/", "d": "b.example", "user_agent": FIREFOX},
    ]);
    let v = batch(&c, Some(&limited), items.to_string().as_bytes()).json();
    assert_eq!(v["results"][0]["status"], "stored", "{v}");
    assert_eq!(v["results"][1]["status"], "invalid");
    assert!(v["results"][1]["reason"].as_str().unwrap().contains("does not cover site"), "{v}");

    let item = &format!(r#"{{"n":"pageview","u":"https://a.example/","d":"a.example","user_agent":"{FIREFOX}"}}"#);
    let too_many = format!("[{}]", vec![item.as_str(); 1001].join(","));
    let r = batch(&c, Some(&limited), too_many.as_bytes());
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("at most 1000"), "{}", r.text());
    let huge = format!(
        r#"[{{"n":"pageview","u":"https://a.example/","d":"a.example","p":{{"x":"{}"}}}}]"#,
        "y".repeat(1 << 20)
    );
    let r = batch(&c, Some(&limited), huge.as_bytes());
    assert_eq!(r.status, 413);
    assert!(r.json()["error"].as_str().unwrap().contains("1024 KiB"), "{}", r.text());
    let r = batch(&c, Some(&limited), b"{\"n\":\"pageview\"}");
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("JSON array"), "{}", r.text());
    // 1 000 events in one batch are all stored.
    let full = format!("[{}]", vec![item.as_str(); 1000].join(","));
    let v = batch(&c, Some(&limited), full.as_bytes()).json();
    assert_eq!(v["stored"], 1000, "{}", v["results"][0]);
    c.wait_flushed();
    assert_eq!(scalar(&c.lake(), "SELECT count(*) FROM {lake} WHERE site = 'a.example'"), "1001");
}
