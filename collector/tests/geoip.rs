//! GeoIP enrichment against a real GeoLite2 City database (PyPI
//! `maxminddb-geolite2`) and against the country-level database embedded by
//! default (`make geoip`), both compared with an independent reader:
//! Python's `maxminddb`. `make test` sets MALLARD_TEST_GEOIP_DB,
//! MALLARD_TEST_DEFAULT_GEOIP_DB and MALLARD_TEST_PYTHON.

mod common;

use std::process::Command;

use common::*;

const IPS: &[&str] = &["81.2.69.142", "8.8.8.8", "2001:4860:4860::8888", "89.160.20.112", "85.214.132.117", "1.1.1.1"];

fn required(var: &str) -> String {
    std::env::var(var)
        .unwrap_or_else(|_| panic!("{var} is not set: run this test through `make test` (or set it by hand)"))
}

/// `(country, region, city)` per IP, as Python's maxminddb reads them.
fn expected(db: &str, ips: &[&str]) -> Vec<Vec<String>> {
    let script = r#"
import json, sys, maxminddb
r = maxminddb.open_database(sys.argv[1])
out = []
for ip in sys.argv[2:]:
    v = r.get(ip) or {}
    c = (v.get("country") or {}).get("iso_code") or v.get("country_code")
    subs = v.get("subdivisions") or []
    region = c + "-" + subs[0]["iso_code"] if c and subs and subs[0].get("iso_code") else None
    city = ((v.get("city") or {}).get("names") or {}).get("en")
    out.append([x if x is not None else "NULL" for x in (c, region, city)])
print(json.dumps(out))
"#;
    let out = Command::new(required("MALLARD_TEST_PYTHON")).arg("-c").arg(script).arg(db).args(ips).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn locations_match_an_independent_reader() {
    let db = required("MALLARD_TEST_GEOIP_DB");
    let c = Collector::start(&[("MALLARD_GEOIP_DB", &db), ("MALLARD_TRUST_PROXY", "true")]);
    for (i, ip) in IPS.iter().enumerate() {
        let body = format!(r#"{{"n":"pageview","u":"https://example.com/{i}","d":"example.com"}}"#);
        let r = request(
            "POST",
            &c.url("/api/event"),
            &[("User-Agent", CHROME), ("X-Forwarded-For", &format!("{ip}, 10.0.0.1"))],
            body.as_bytes(),
        );
        assert_eq!(r.status, 202);
    }
    let (_, health) = get(&c.url("/health/detailed"));
    assert!(health.contains("\"geoip_loaded\":true"), "{health}");
    let lake = c.lake();
    c.stop();
    let got = query(&lake, "SELECT country, region, city FROM {lake} ORDER BY pathname");
    let want = expected(&db, IPS);
    assert_eq!(got, want);
    // the database knows these; a broken join would give all NULLs
    assert!(got.iter().filter(|r| r[0] != "NULL").count() >= 5, "{got:?}");
    // and the IPs themselves are stored nowhere
    let all = query(&lake, "SELECT CAST(COLUMNS(*) AS VARCHAR) FROM {lake}").concat().join(" ");
    assert!(IPS.iter().all(|ip| !all.contains(ip)));
}

/// Public addresses of several countries, and private ones.
const DEFAULT_IPS: &[&str] =
    &["8.8.8.8", "81.2.69.142", "85.214.132.117", "1.1.1.1", "2001:4860:4860::8888", "10.1.2.3", "192.168.1.20"];

fn send_from(c: &Collector, ips: &[&str]) {
    for (i, ip) in ips.iter().enumerate() {
        secret(ip);
        let body = format!(r#"{{"n":"pageview","u":"https://example.com/{i}","d":"example.com"}}"#);
        assert_eq!(post_event_from(c, ip, &body).status, 202);
    }
}

#[test]
fn countries_out_of_the_box_from_the_embedded_database() {
    let db = required("MALLARD_TEST_DEFAULT_GEOIP_DB");
    let c = Collector::start(&[("MALLARD_TRUST_PROXY", "true")]);
    send_from(&c, DEFAULT_IPS);
    let (_, health) = get(&c.url("/health/detailed"));
    assert!(health.contains("\"geoip_source\":\"embedded\""), "{health}");
    let lake = c.lake();
    c.stop();
    let got = query(&lake, "SELECT country, region, city FROM {lake} ORDER BY pathname");
    // What the database file says (private ranges: no location, whatever a
    // database may hold for them; this one has no regions or cities).
    let want: Vec<Vec<String>> = expected(&db, DEFAULT_IPS)
        .into_iter()
        .zip(DEFAULT_IPS)
        .map(|(row, ip)| {
            let private = ip.starts_with("10.") || ip.starts_with("192.168.");
            vec![if private { "NULL".into() } else { row[0].clone() }, "NULL".into(), "NULL".into()]
        })
        .collect();
    assert_eq!(got, want);
    let countries: std::collections::BTreeSet<_> = got.iter().map(|r| r[0].clone()).filter(|c| c != "NULL").collect();
    assert!(countries.len() >= 3, "{countries:?}");
}

#[test]
fn forwarded_headers_are_ignored_unless_trusted() {
    let db = required("MALLARD_TEST_GEOIP_DB");
    let c = Collector::start(&[("MALLARD_GEOIP_DB", &db)]);
    let r = request(
        "POST",
        &c.url("/api/event"),
        &[("User-Agent", CHROME), ("X-Forwarded-For", "85.214.132.117")],
        br#"{"n":"pageview","u":"https://example.com/","d":"example.com"}"#,
    );
    assert_eq!(r.status, 202);
    let lake = c.lake();
    c.stop();
    // the socket peer is 127.0.0.1, which has no location
    assert_eq!(query(&lake, "SELECT country FROM {lake}"), vec![vec!["NULL"]]);
}

#[test]
fn a_missing_database_falls_back_to_the_embedded_one() {
    let default_db = required("MALLARD_TEST_DEFAULT_GEOIP_DB");
    let c =
        Collector::start(&[("MALLARD_GEOIP_DB", "/nonexistent/GeoLite2-City.mmdb"), ("MALLARD_TRUST_PROXY", "true")]);
    send_from(&c, &["85.214.132.117"]);
    let (_, health) = get(&c.url("/health/detailed"));
    assert!(health.contains("\"geoip_source\":\"embedded\""), "{health}");
    assert!(c.log_lines().iter().any(|l| l.contains("GeoIP database not loaded")));
    let lake = c.lake();
    c.stop();
    let country = expected(&default_db, &["85.214.132.117"]).remove(0).remove(0);
    assert_ne!(country, "NULL");
    assert_eq!(query(&lake, "SELECT country, region, city FROM {lake}"), vec![vec![country.as_str(), "NULL", "NULL"]]);
}

#[test]
fn locations_can_be_turned_off() {
    let c = Collector::start(&[("MALLARD_GEOIP_DB", "off"), ("MALLARD_TRUST_PROXY", "true")]);
    send_from(&c, &["85.214.132.117"]);
    let (_, health) = get(&c.url("/health/detailed"));
    assert!(health.contains("\"geoip_loaded\":false"), "{health}");
    let lake = c.lake();
    c.stop();
    assert_eq!(query(&lake, "SELECT country, region, city FROM {lake}"), vec![vec!["NULL", "NULL", "NULL"]]);
}
