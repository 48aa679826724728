//! `mallard-collector import`: fixture exports written from the peers'
//! documented schemas (Plausible CE's events_v2, Umami's website_event and
//! session; see test/fixtures/import/) give exactly the events they hold,
//! with visits by our 30-minute rule; importing twice adds nothing.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn import(data: &Path, from: &str, files: &[&str]) -> String {
    import_with(data, from, files, &[])
}

/// Imports `files` (fixture names, or absolute paths) into shop.example,
/// with `env` set; the import's output.
fn import_with(data: &Path, from: &str, files: &[&str], env: &[(&str, &str)]) -> String {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test/fixtures/import");
    let out = Command::new(env!("CARGO_BIN_EXE_mallard-collector"))
        .arg("import")
        .args(["--from", from, "--site", "shop.example"])
        .args(files.iter().map(|f| fixtures.join(f)))
        .env("MALLARD_DATA_DIR", data)
        .env("MALLARD_LISTEN", "127.0.0.1:0")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[test]
fn a_plausible_export_is_imported_once_with_our_visits() {
    let data = temp_dir("import-plausible");
    let first = import(&data, "plausible", &["plausible_events_v2.csv"]);
    // 7 rows: one has no timestamp; two identical pageviews are two events.
    assert!(first.contains("read 7, stored 6, skipped duplicate 0, invalid 1"), "{first}");
    let lake = data.join("lake");
    let rows = query(
        &lake,
        "SELECT visitor_id::VARCHAR, name, pathname, country, device, os, browser, referrer_source, region, \
                props['source'], props['plan'], revenue_amount, revenue_currency FROM {lake} ORDER BY ts, name",
    );
    let names: Vec<(&str, &str)> = rows.iter().map(|r| (r[1].as_str(), r[2].as_str())).collect();
    assert_eq!(
        names,
        [
            ("pageview", "/"),
            ("pageview", "/blog"),
            ("pageview", "/blog"),
            ("pageview", "/pricing"),
            ("Purchase", "/pricing"),
            ("pageview", "/")
        ]
    );
    assert_eq!(&rows[0][3..10], ["DE", "Desktop", "Linux", "Firefox", "Hacker News", "DE-BE", "plausible-import"]);
    assert_eq!(&rows[1][3..7], ["FR", "Mobile", "iOS", "Safari"]);
    assert_eq!(&rows[4][10..13], ["pro", "49.9000", "EUR"]);
    // User 111: 10:00, 10:10, 10:12, then 11:00 (48 minutes later): 2 visits; user 222: 1.
    let visits = query(&lake, "SELECT count(DISTINCT visit_id) FROM {lake} GROUP BY visitor_id ORDER BY 1");
    assert_eq!(visits, [["1"], ["2"]]);

    // Cities are GeoNames ids: the embedded country database names none.
    assert!(first.contains("cities: 0 of 2 GeoNames ids named"), "{first}");
    assert_eq!(scalar(&lake, "SELECT count(city) FROM {lake}"), "0");

    let again = import(&data, "plausible", &["plausible_events_v2.csv"]);
    assert!(again.contains("read 7, stored 0, skipped duplicate 6, invalid 1"), "{again}");
    assert_eq!(scalar(&lake, "SELECT count(*) FROM {lake}"), "6");
}

/// With a City database, Plausible's GeoNames ids become city names:
/// 2950159 is Berlin and 2988507 Paris (GeoNames).
#[test]
fn plausible_cities_are_named_from_a_city_database() {
    let db = std::env::var("MALLARD_TEST_GEOIP_DB")
        .expect("MALLARD_TEST_GEOIP_DB is not set: run this test through `make test` (or set it by hand)");
    let data = temp_dir("import-cities");
    let stdout = import_with(&data, "plausible", &["plausible_events_v2.csv"], &[("MALLARD_GEOIP_DB", &db)]);
    assert!(stdout.contains("read 7, stored 6") && !stdout.contains("cities:"), "{stdout}");
    let cities = query(
        &data.join("lake"),
        "SELECT user_city, count(*) FROM (SELECT city AS user_city FROM {lake}) GROUP BY 1 ORDER BY 1",
    );
    assert_eq!(cities, [["Berlin", "4"], ["Paris", "2"]]);
}

/// The same export as Parquet (ClickHouse's types: DateTime, UInt64,
/// Array(String), Decimal) gives the same events as the CSV.
#[test]
fn a_plausible_parquet_export_equals_its_csv() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test/fixtures/import");
    let dir = temp_dir("import-parquet");
    let parquet = dir.join("plausible_events_v2.parquet");
    let con = duckdb::Connection::open_in_memory().unwrap();
    let typed = r#"SELECT * REPLACE (
            try_cast("timestamp" AS TIMESTAMP) AS "timestamp",
            user_id::UBIGINT AS user_id,
            CAST(replace("meta.key", '''', '"') AS JSON)::VARCHAR[] AS "meta.key",
            CAST(replace("meta.value", '''', '"') AS JSON)::VARCHAR[] AS "meta.value",
            try_cast(nullif(revenue_reporting_amount, '\N') AS DECIMAL(18, 3)) AS revenue_reporting_amount)"#;
    con.execute_batch(&format!(
        "COPY ({typed} FROM read_csv('{}', header = true, all_varchar = true)) TO '{}' (FORMAT parquet)",
        fixtures.join("plausible_events_v2.csv").display(),
        parquet.display()
    ))
    .unwrap();
    let (csv_data, parquet_data) = (temp_dir("import-csv"), temp_dir("import-pq"));
    import(&csv_data, "plausible", &["plausible_events_v2.csv"]);
    let stdout = import_with(&parquet_data, "plausible", &[parquet.to_str().unwrap()], &[]);
    assert!(stdout.contains("read 7, stored 6"), "{stdout}");
    let all = "SELECT * EXCLUDE (visit_id) FROM {lake} ORDER BY ts, name, props['import_id']";
    assert_eq!(query(&csv_data.join("lake"), all), query(&parquet_data.join("lake"), all));
}

#[test]
fn an_umami_export_is_imported_once_with_our_visits() {
    let data = temp_dir("import-umami");
    let files = ["umami_website_event.csv", "umami_session.csv"];
    let first = import(&data, "umami", &files);
    assert!(first.contains("read 4, stored 4, skipped duplicate 0, invalid 0"), "{first}");
    let lake = data.join("lake");
    let rows = query(
        &lake,
        "SELECT strftime(ts, '%H:%M:%S'), name, pathname, browser, os, device, country, region, city, referrer, \
                props['source'] FROM {lake} ORDER BY ts",
    );
    let got: Vec<Vec<&str>> = rows.iter().map(|r| r.iter().map(String::as_str).collect()).collect();
    assert_eq!(
        got,
        [
            [
                "09:00:00",
                "pageview",
                "/",
                "chrome",
                "Mac OS",
                "Desktop",
                "US",
                "US-CA",
                "San Francisco",
                "NULL",
                "umami-import"
            ],
            [
                "09:10:00",
                "signup",
                "/pricing",
                "chrome",
                "Mac OS",
                "Desktop",
                "US",
                "US-CA",
                "San Francisco",
                "NULL",
                "umami-import"
            ],
            [
                "09:30:00",
                "pageview",
                "/",
                "ios",
                "iOS",
                "Mobile",
                "GB",
                "NULL",
                "NULL",
                "google.com/search",
                "umami-import"
            ],
            // 12:00+02 is 10:00 UTC, 50 minutes after the signup: a second visit.
            [
                "10:00:00",
                "pageview",
                "/docs",
                "chrome",
                "Mac OS",
                "Desktop",
                "US",
                "US-CA",
                "San Francisco",
                "NULL",
                "umami-import"
            ],
        ]
    );
    let visits = query(&lake, "SELECT count(DISTINCT visit_id) FROM {lake} GROUP BY visitor_id ORDER BY 1");
    assert_eq!(visits, [["1"], ["2"]]);
    let again = import(&data, "umami", &files);
    assert!(again.contains("read 4, stored 0, skipped duplicate 4, invalid 0"), "{again}");
    // The two tables are told apart by their headers, not their file names.
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test/fixtures/import");
    let renamed = temp_dir("import-umami-renamed");
    let (a, b) = (renamed.join("export-a.csv"), renamed.join("export-b.csv"));
    std::fs::copy(fixtures.join("umami_session.csv"), &a).unwrap();
    std::fs::copy(fixtures.join("umami_website_event.csv"), &b).unwrap();
    let data = temp_dir("import-umami-by-header");
    let by_header = import(&data, "umami", &[a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(by_header.contains("read 4, stored 4, skipped duplicate 0, invalid 0"), "{by_header}");
}

#[test]
fn bad_import_arguments_say_what_is_allowed() {
    let data = temp_dir("import-bad");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_mallard-collector"))
            .arg("import")
            .args(args)
            .env("MALLARD_DATA_DIR", &data)
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (ok, err) = run(&["--from", "matomo", "--site", "a.com", "x.csv"]);
    assert!(!ok && err.contains("use plausible or umami"), "{err}");
    let (ok, err) = run(&["--from", "plausible", "x.csv"]);
    assert!(!ok && err.contains("usage: mallard-collector import"), "{err}");
    let (ok, err) = run(&["--from", "plausible", "--site", "a.com", "/nonexistent.csv"]);
    assert!(!ok && err.contains("not a readable file"), "{err}");
}
