//! Operations endpoints and start-up: health, metrics (with and without a
//! token), `--help`, invalid settings, graceful shutdown.

mod common;

use std::process::Command;

use common::*;

#[test]
fn health_endpoints() {
    let c = Collector::start(&[]);
    let (status, body) = get(&c.url("/health"));
    assert_eq!((status, body.contains("ok")), (200, true));
    let (status, body) = get(&c.url("/health/ready"));
    assert_eq!((status, body.contains("ready")), (200, true));
    assert_eq!(post_event(&c, r#"{"n":"pageview","u":"https://example.com/","d":"example.com"}"#).status, 202);
    c.wait_flushed();
    let (status, body) = get(&c.url("/health/detailed"));
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["version"], mallard_core::VERSION);
    assert_eq!(v["buffered_events"], 0);
    // The embedded country-level database, with no setting.
    assert_eq!((v["geoip_loaded"].as_bool(), v["geoip_source"].as_str()), (Some(true), Some("embedded")));
    assert_eq!(v["salt_rotation"], "day");
    assert!(v["last_flush"].is_string());
    assert_eq!(v["partitions"][0]["site"], "example.com");
    assert_eq!(v["partitions"][0]["files"], 1);
    assert!(v["wal_bytes"].is_number() && v["uptime_seconds"].is_number());
}

#[test]
fn metrics_count_events_requests_and_flushes() {
    let c = Collector::start(&[]);
    for _ in 0..3 {
        post_event(&c, r#"{"n":"pageview","u":"https://example.com/","d":"example.com"}"#);
    }
    request(
        "POST",
        &c.url("/api/event"),
        &[("User-Agent", "curl/8")],
        br#"{"n":"pageview","u":"https://example.com/","d":"example.com"}"#,
    );
    request("POST", &c.url("/api/event"), &[("User-Agent", CHROME)], b"{");
    c.wait_flushed();
    let (status, text) = get(&c.url("/metrics"));
    assert_eq!(status, 200);
    for want in [
        "mallard_events_accepted_total 3",
        "mallard_events_dropped_total{reason=\"bot\"} 1",
        "mallard_events_rejected_total{status=\"400\"} 1",
        "mallard_http_requests_total{route=\"/api/event\",status=\"202\"} 4",
        "mallard_http_requests_total{route=\"/api/event\",status=\"400\"} 1",
        "mallard_http_request_duration_seconds_count{route=\"/api/event\"} 5",
        "mallard_flushed_events_total 3",
        "# TYPE mallard_wal_fsync_duration_seconds histogram",
        "# TYPE mallard_flush_duration_seconds histogram",
        "mallard_compaction_runs_total",
        "# TYPE mallard_pipeline_step_seconds_total counter",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    // Every step is timed; the user-agent step ran for the four well-formed events.
    for step in
        ["site", "bot", "localhost", "rate-limit", "user-agent", "geoip", "visitor-id", "url", "referrer", "row"]
    {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("mallard_pipeline_step_seconds_total{{step=\"{step}\"}} ")))
            .unwrap_or_else(|| panic!("no time for step {step} in\n{text}"));
        let secs: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(secs >= 0.0, "{line}");
        if step == "user-agent" {
            assert!(secs > 0.0, "{line}");
        }
    }
}

#[test]
fn metrics_token_is_enforced() {
    let c = Collector::start(&[("MALLARD_METRICS_TOKEN", "s3cret-token")]);
    assert_eq!(request("GET", &c.url("/metrics"), &[], b"").status, 401);
    assert_eq!(request("GET", &c.url("/metrics"), &[("Authorization", "Bearer wrong")], b"").status, 401);
    assert_eq!(request("GET", &c.url("/metrics"), &[("Authorization", "Bearer s3cret-token")], b"").status, 200);
}

#[test]
fn help_lists_every_setting_with_its_default() {
    let out = Command::new(env!("CARGO_BIN_EXE_mallard-collector")).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for (var, default) in [
        ("MALLARD_LISTEN", "127.0.0.1:8000"),
        ("MALLARD_DATA_DIR", "./data"),
        ("MALLARD_FLUSH_INTERVAL", "10s"),
        ("MALLARD_FLUSH_EVENTS", "50000"),
        ("MALLARD_SALT_ROTATION", "day"),
        ("MALLARD_GEOIP_DB", "(empty)"),
    ] {
        let line = text.lines().find(|l| l.contains(var)).unwrap_or_else(|| panic!("{var} missing:\n{text}"));
        assert!(line.contains(default), "{line}");
    }
}

#[test]
fn invalid_settings_stop_start_up_with_a_clear_message() {
    for (var, value, want) in [
        ("MALLARD_LISTEN", "nowhere", "expected host:port"),
        ("MALLARD_FLUSH_INTERVAL", "often", "duration"),
        ("MALLARD_SALT_ROTATION", "hourly", "day, week or month"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_mallard-collector")).env(var, value).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{var}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(var) && err.contains(want), "{err}");
    }
    let dir = temp_dir("cfg");
    let file = dir.join("mallard.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:0\"\nflush_events = \"many\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mallard-collector")).arg("--config").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr).unwrap().contains("flush_events"));
}

#[test]
fn a_config_file_is_read_and_the_environment_wins() {
    let dir = temp_dir("cfgfile");
    let file = dir.join("mallard.toml");
    // The file's listen address is unusable; the environment's (port 0) wins.
    std::fs::write(&file, "listen = \"192.0.2.1:1\"\nsites = [\"only.example\"]\n").unwrap();
    let c = Collector::start_with_args(&dir, &["--config", file.to_str().unwrap()], &[]);
    // and the file's site allow-list applies
    let r = post_event(&c, r#"{"n":"pageview","u":"https://example.com/","d":"example.com"}"#);
    assert_eq!(r.header("x-mallard-dropped"), Some("unknown-site"));
    let r = post_event(&c, r#"{"n":"pageview","u":"https://only.example/","d":"only.example"}"#);
    assert_eq!((r.status, r.header("x-mallard-dropped")), (202, None));
}

#[test]
fn sigterm_flushes_what_is_buffered() {
    // A flush interval of an hour: only the shutdown can write these events.
    let c = Collector::start(&[("MALLARD_FLUSH_INTERVAL", "1h")]);
    for i in 0..5 {
        let body = format!(r#"{{"n":"pageview","u":"https://example.com/{i}","d":"example.com"}}"#);
        assert_eq!(post_event(&c, &body).status, 202);
    }
    let lake = c.lake();
    let data = c.stop();
    assert_eq!(scalar(&lake, "SELECT count(*) FROM {lake}"), "5");
    assert_eq!(
        std::fs::read_dir(data.join("wal"))
            .unwrap()
            .filter(|e| {
                e.as_ref().unwrap().path().extension().is_some_and(|x| x == "wal")
                    && e.as_ref().unwrap().metadata().unwrap().len() > 0
            })
            .count(),
        0
    );
}

#[test]
fn one_collector_per_data_directory() {
    let c = Collector::start(&[]);
    let out = Command::new(env!("CARGO_BIN_EXE_mallard-collector"))
        .env("MALLARD_LISTEN", "127.0.0.1:0")
        .env("MALLARD_DATA_DIR", &c.data_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use by another mallard-collector"));
    // and the offline compaction refuses too while the server runs
    let out = Command::new(env!("CARGO_BIN_EXE_mallard-collector"))
        .arg("compact")
        .env("MALLARD_DATA_DIR", &c.data_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn offline_compaction_leaves_one_file_per_partition() {
    let c = Collector::start(&[("MALLARD_FLUSH_INTERVAL", "30ms"), ("MALLARD_COMPACT_FILES", "64")]);
    for i in 0..8 {
        let body = format!(r#"{{"n":"pageview","u":"https://example.com/{i}","d":"example.com"}}"#);
        assert_eq!(post_event(&c, &body).status, 202);
        std::thread::sleep(std::time::Duration::from_millis(60));
    }
    let data = c.stop();
    let lake_dir = data.join("lake");
    let files = |dir: &std::path::Path| mallard_collector::lake::scan(dir).unwrap()[0].files.len();
    assert!(files(&lake_dir) > 1);
    let out = Command::new(env!("CARGO_BIN_EXE_mallard-collector"))
        .arg("compact")
        .env("MALLARD_DATA_DIR", &data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(files(&lake_dir), 1);
    assert_eq!(scalar(&lake_dir, "SELECT count(*) FROM {lake}"), "8");
}

#[test]
fn oversized_headers_are_refused_and_the_server_stays_up() {
    use std::io::{Read, Write};
    let c = Collector::start(&[]);
    let addr = c.base.trim_start_matches("http://").to_string();
    let raw = |request: Vec<u8>| {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        let _ = s.write_all(&request);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    };
    let mut big = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 64 * 1024));
    big.extend(b"\r\n\r\n");
    assert!(raw(big).starts_with("HTTP/1.1 431"), "a 64 KiB header line");
    let mut many = b"GET /health HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..200 {
        many.extend(format!("X-H{i}: 1\r\n").as_bytes());
    }
    many.extend(b"\r\n");
    assert!(raw(many).starts_with("HTTP/1.1 431"), "200 headers");
    let long_url = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(20_000));
    assert!(raw(long_url.into_bytes()).starts_with("HTTP/1.1 431"), "a 20 KB request line");
    let (status, _) = get(&c.url("/health"));
    assert_eq!(status, 200);
}

#[test]
fn overload_is_shed_with_503_and_nothing_acknowledged_is_lost() {
    // Two requests may wait for the WAL at once; one that waited over 1 ms
    // for a place is shed.
    let c = Collector::start(&[("MALLARD_WORKERS", "1"), ("MALLARD_QUEUE", "2"), ("MALLARD_SHED_AFTER", "1ms")]);
    let statuses: Vec<(u16, Option<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..64)
            .map(|i| {
                let c = &c;
                s.spawn(move || {
                    let body = format!(r#"{{"n":"pageview","u":"https://example.com/shed/{i}","d":"example.com"}}"#);
                    let r = post_event(c, &body);
                    (r.status, r.header("retry-after").map(str::to_string))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let shed = statuses.iter().filter(|(s, _)| *s == 503).count();
    let accepted = statuses.iter().filter(|(s, _)| *s == 202).count();
    assert_eq!(shed + accepted, 64, "{statuses:?}");
    assert!(shed > 0, "64 concurrent requests on one worker: some waited over 1 ms");
    assert!(statuses.iter().all(|(s, r)| *s != 503 || r.as_deref() == Some("1")));
    c.wait_flushed();
    let stored = scalar(&c.lake(), "SELECT count(*) FROM {lake} WHERE pathname LIKE '/shed/%'");
    assert_eq!(stored, accepted.to_string(), "every 202 is stored, no 503 is");
}

#[test]
fn connections_over_the_limit_get_503_and_the_server_recovers() {
    use std::io::{Read, Write};
    let c = Collector::start(&[("MALLARD_MAX_CONNECTIONS", "16")]);
    let addr = c.base.trim_start_matches("http://").to_string();
    let connect = || {
        let s = std::net::TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        s
    };
    // An idle keep-alive connection, proven served by one request.
    let served = |mut s: std::net::TcpStream| {
        s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut buf = [0u8; 12];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"HTTP/1.1 200");
        s
    };
    let mut held: Vec<std::net::TcpStream> = (0..16).map(|_| served(connect())).collect();
    // Over the limit, a few places stay for health and the dashboard: an
    // event sent there is refused and its connection closed.
    let mut extra = connect();
    let event = r#"{"n":"pageview","u":"https://example.com/","d":"example.com"}"#;
    let post = format!("POST /api/event HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{event}", event.len());
    extra.write_all(post.as_bytes()).unwrap();
    let mut out = String::new();
    extra.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 503"), "{out}");
    assert!(out.to_ascii_lowercase().contains("retry-after: 1"), "{out}");
    // The refused connection's place comes back once the server has closed
    // it: then four health connections fit in the reserve.
    for _ in 0..4 {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let mut s = connect();
            s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut buf = [0u8; 12];
            s.read_exact(&mut buf).unwrap();
            if &buf == b"HTTP/1.1 200" {
                held.push(s);
                break;
            }
            assert!(std::time::Instant::now() < deadline, "no reserved place for a health check");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    // Past the reserve (16 / 16, at least 4), a new connection is answered
    // at once with a JSON reason and closed.
    let mut extra = connect();
    let mut out = String::new();
    extra.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 503"), "{out}");
    assert!(out.to_ascii_lowercase().contains("retry-after: 1"), "{out}");
    assert!(out.ends_with(r#"{"error":"too many connections; retry later"}"#), "{out}");
    // Once they close, new connections are served again.
    drop(held);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (status, _) = get(&c.url("/health"));
        if status == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still refused after the connections closed");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
