//! Security and data lifecycle against the real collector: login, lockout,
//! cookies, API key scopes, shared links, CORS and CSRF, security headers,
//! GDPR erase, retention and private settings files.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";

fn post_json(c: &Collector, path: &str, headers: &[(&str, &str)], body: &Value) -> Reply {
    let mut h = vec![("Content-Type", "application/json")];
    h.extend_from_slice(headers);
    request("POST", &c.url(path), &h, body.to_string().as_bytes())
}

/// The session cookie pair from a login reply (and records it as a secret).
fn session(reply: &Reply) -> String {
    let set = reply.header("set-cookie").expect("a session cookie");
    let pair = set.split(';').next().unwrap().to_string();
    secret(pair.split_once('=').unwrap().1);
    pair
}

fn login(c: &Collector) -> String {
    let r = post_json(c, "/api/auth/login", &[], &json!({"password": PASSWORD}));
    assert_eq!(r.status, 200, "{}", r.text());
    session(&r)
}

fn origin(c: &Collector) -> String {
    c.base.clone()
}

fn stats(c: &Collector, headers: &[(&str, &str)], site: &str) -> Reply {
    request("GET", &c.url(&format!("/api/stats/main?site_id={site}&period=30d")), headers, b"")
}

#[test]
fn setup_login_lockout_and_cookie_flags() {
    secret(PASSWORD);
    let c = Collector::start(&[("MALLARD_LOGIN_LOCKOUT", "2s")]);
    // No password yet: this machine is the owner; the page offers setup.
    assert_eq!(stats(&c, &[], "example.com").status, 200);
    let status = request("GET", &c.url("/api/auth/status"), &[], b"").json();
    assert_eq!(status["password_set"], false);
    assert_eq!(status["via"], "loopback");

    let short = post_json(&c, "/api/auth/setup", &[], &json!({"password": "short"}));
    assert_eq!(short.status, 400);
    assert!(short.json()["error"].as_str().unwrap().contains("at least"));
    let setup = post_json(&c, "/api/auth/setup", &[], &json!({"password": PASSWORD}));
    assert_eq!(setup.status, 200, "{}", setup.text());
    let cookie = setup.header("set-cookie").unwrap().to_string();
    session(&setup);
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "not Secure unless configured");
    assert_eq!(post_json(&c, "/api/auth/setup", &[], &json!({"password": "another long password"})).status, 409);

    // From now on stats need a login.
    let anonymous = stats(&c, &[], "example.com");
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.json()["error"].as_str().unwrap().contains("log in"));
    let pair = login(&c);
    assert_eq!(stats(&c, &[("Cookie", &pair)], "example.com").status, 200);
    assert_eq!(stats(&c, &[("Cookie", "mallard_session=forged")], "example.com").status, 401);

    // Wrong passwords: 401 four times, the fifth locks this IP (even the right one).
    for _ in 0..5 {
        let r = post_json(&c, "/api/auth/login", &[], &json!({"password": "wrong password"}));
        assert_eq!(r.status, 401);
        assert_eq!(r.json()["error"], "wrong password");
    }
    let locked = post_json(&c, "/api/auth/login", &[], &json!({"password": PASSWORD}));
    assert_eq!(locked.status, 429);
    let retry: u64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    std::thread::sleep(Duration::from_millis(2100));
    let again = login(&c);

    // Logout ends the session.
    let out = request("POST", &c.url("/api/auth/logout"), &[("Cookie", &again), ("Origin", &origin(&c))], b"");
    assert_eq!(out.status, 200);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(stats(&c, &[("Cookie", &again)], "example.com").status, 401);

    // MALLARD_ADMIN_PASSWORD sets it at start-up; Secure cookies on request.
    let s = Collector::start(&[("MALLARD_ADMIN_PASSWORD", PASSWORD), ("MALLARD_SECURE_COOKIES", "true")]);
    let r = post_json(&s, "/api/auth/login", &[], &json!({"password": PASSWORD}));
    assert_eq!(r.status, 200);
    session(&r);
    assert!(r.header("set-cookie").unwrap().contains("; Secure"));
}

#[test]
fn api_keys_have_scopes_sites_and_can_be_revoked() {
    let c = Collector::start(&[("MALLARD_ADMIN_PASSWORD", PASSWORD)]);
    let pair = login(&c);
    let owner = [("Cookie", pair.as_str()), ("Origin", c.base.as_str())];
    let create = |scope: &str, sites: Value| {
        let r = post_json(
            &c,
            "/api/keys",
            &owner,
            &json!({"name": format!("{scope} key"), "scope": scope, "sites": sites}),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        let key = r.json()["key"].as_str().unwrap().to_string();
        assert!(key.starts_with("mm_") && key.len() == 67);
        secret(&key);
        (key, r.json()["info"]["id"].as_str().unwrap().to_string())
    };
    let (read, read_id) = create("read", Value::Null);
    let (admin, _) = create("admin", Value::Null);
    let (limited, _) = create("read", json!(["example.com"]));
    // The list never shows a key.
    let list = request("GET", &c.url("/api/keys"), &owner, b"").text();
    assert!(!list.contains(&read) && !list.contains(&admin) && list.contains(&read_id));

    let bearer = |k: &str| format!("Bearer {k}");
    assert_eq!(stats(&c, &[("Authorization", &bearer(&read))], "example.com").status, 200);
    // A read key cannot create keys, share, or erase.
    let r = post_json(&c, "/api/keys", &[("Authorization", &bearer(&read))], &json!({"name": "x", "scope": "admin"}));
    assert_eq!(r.status, 403);
    let erase = |k: &str| {
        request(
            "DELETE",
            &c.url("/api/admin/erase?site_id=example.com&from=2020-01-01&to=2020-01-02"),
            &[("Authorization", &bearer(k))],
            b"",
        )
    };
    assert_eq!(erase(&read).status, 403);
    assert_eq!(erase(&admin).status, 200);
    let r = post_json(
        &c,
        "/api/keys",
        &[("Authorization", &bearer(&admin))],
        &json!({"name": "made by admin key", "scope": "read"}),
    );
    assert_eq!(r.status, 201, "an admin key needs no Origin: it is not an ambient credential");
    secret(r.json()["key"].as_str().unwrap());
    // Site limits.
    assert_eq!(stats(&c, &[("Authorization", &bearer(&limited))], "example.com").status, 200);
    assert_eq!(stats(&c, &[("Authorization", &bearer(&limited))], "other.org").status, 403);
    let sites = request("GET", &c.url("/api/sites"), &[("Authorization", &bearer(&limited))], b"").json();
    assert!(sites["sites"].as_array().unwrap().iter().all(|s| s == "example.com"));
    // Bad input is a clear 400.
    assert_eq!(post_json(&c, "/api/keys", &owner, &json!({"name": "x", "scope": "root"})).status, 400);
    // Revoked keys are refused.
    let del = request("DELETE", &c.url(&format!("/api/keys?id={read_id}")), &owner, b"");
    assert_eq!(del.status, 200);
    let revoked = stats(&c, &[("Authorization", &bearer(&read))], "example.com");
    assert_eq!(revoked.status, 401);
    assert!(revoked.json()["error"].as_str().unwrap().contains("revoked"));
    assert_eq!(stats(&c, &[("Authorization", "Bearer mm_made_up")], "example.com").status, 401);
}

#[test]
fn shared_links_open_one_site_read_only() {
    let c = Collector::start_in(&fixture_data(), &[("MALLARD_ADMIN_PASSWORD", PASSWORD)]);
    let pair = login(&c);
    let owner = [("Cookie", pair.as_str()), ("Origin", c.base.as_str())];
    let r = post_json(&c, "/api/shares", &owner, &json!({"site_id": "example.com", "name": "public"}));
    assert_eq!(r.status, 201, "{}", r.text());
    let url = r.json()["url"].as_str().unwrap().to_string();
    let token = url.trim_start_matches("/share/").to_string();
    secret(&token);
    let id = r.json()["share"]["id"].as_str().unwrap().to_string();

    let page = request("GET", &c.url(&url), &[], b"");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("/assets/src/app.js"));
    let share = [("X-Mallard-Share", token.as_str())];
    assert_eq!(stats(&c, &share, "example.com").status, 200);
    assert_eq!(stats(&c, &share, "other.org").status, 403);
    let sites = request("GET", &c.url("/api/sites"), &share, b"").json();
    assert_eq!(sites["sites"], json!(["example.com"]));
    assert_eq!(request("GET", &c.url("/api/keys"), &share, b"").status, 403);
    assert_eq!(request("GET", &c.url("/api/auth/status"), &share, b"").json()["site"], "example.com");

    assert_eq!(request("DELETE", &c.url(&format!("/api/shares?id={id}")), &owner, b"").status, 200);
    assert_eq!(stats(&c, &share, "example.com").status, 401);
    assert_eq!(request("GET", &c.url(&url), &[], b"").status, 404);
}

#[test]
fn cors_per_route_class_and_csrf() {
    let dash = "https://dash.example";
    let c = Collector::start(&[("MALLARD_ADMIN_PASSWORD", PASSWORD), ("MALLARD_DASHBOARD_ORIGIN", dash)]);
    let preflight = |path: &str, from: &str| {
        request(
            "OPTIONS",
            &c.url(path),
            &[
                ("Origin", from),
                ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "content-type"),
            ],
            b"",
        )
    };
    // Ingestion answers any origin.
    let r = preflight("/api/event", "https://any-site.example");
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    // Stats and admin: only the dashboard origin, with credentials.
    for path in ["/api/stats/main", "/api/v2/query", "/api/keys", "/api/admin/erase"] {
        let evil = preflight(path, "https://evil.example");
        assert_eq!(evil.status, 403, "{path}");
        assert_eq!(evil.header("access-control-allow-origin"), None);
        let ok = preflight(path, dash);
        assert_eq!(ok.status, 204, "{path}");
        assert_eq!(ok.header("access-control-allow-origin"), Some(dash));
        assert_eq!(ok.header("access-control-allow-credentials"), Some("true"));
    }
    // A state-changing request with the cookie needs a matching Origin.
    let pair = login(&c);
    let body = json!({"name": "k", "scope": "read"});
    let evil = post_json(&c, "/api/keys", &[("Cookie", &pair), ("Origin", "https://evil.example")], &body);
    assert_eq!(evil.status, 403);
    assert!(evil.json()["error"].as_str().unwrap().contains("Origin"));
    assert_eq!(post_json(&c, "/api/keys", &[("Cookie", &pair)], &body).status, 403, "no Origin, no change");
    let same = post_json(&c, "/api/keys", &[("Cookie", &pair), ("Origin", &origin(&c))], &body);
    assert_eq!(same.status, 201);
    secret(same.json()["key"].as_str().unwrap());
    let from_dash = post_json(&c, "/api/keys", &[("Cookie", &pair), ("Origin", dash)], &body);
    assert_eq!(from_dash.status, 201);
    assert_eq!(from_dash.header("access-control-allow-origin"), Some(dash));
    secret(from_dash.json()["key"].as_str().unwrap());
    let login_csrf =
        post_json(&c, "/api/auth/login", &[("Origin", "https://evil.example")], &json!({"password": PASSWORD}));
    assert_eq!(login_csrf.status, 403);
}

#[test]
fn security_headers_on_every_response() {
    let c = Collector::start(&[("MALLARD_ADMIN_PASSWORD", PASSWORD)]);
    let event = post_event(&c, r#"{"n":"pageview","u":"https://example.com/","d":"example.com"}"#);
    let replies = [
        ("page", request("GET", &c.url("/"), &[], b"")),
        ("asset", request("GET", &c.url("/assets/app.css"), &[], b"")),
        ("stats (401)", stats(&c, &[], "example.com")),
        ("status", request("GET", &c.url("/api/auth/status"), &[], b"")),
        ("event", event),
        ("health", request("GET", &c.url("/health"), &[], b"")),
        ("404", request("GET", &c.url("/nope"), &[], b"")),
    ];
    for (what, r) in &replies {
        let csp = r.header("content-security-policy").unwrap_or_else(|| panic!("CSP on {what}"));
        assert!(
            csp.contains("script-src 'self'")
                && csp.contains("frame-ancestors 'none'")
                && !csp.contains("unsafe-inline")
        );
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{what}");
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{what}");
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{what}");
        assert!(r.header("permissions-policy").is_some_and(|p| p.contains("camera=()")), "{what}");
    }
    for (what, r) in &replies[2..4] {
        assert_eq!(r.header("cache-control"), Some("no-store"), "{what}");
    }
}

/// The one-time setup token a collector without a password logs at start-up.
fn setup_token(c: &Collector) -> String {
    c.log_lines()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find_map(|v| v["setup_token"].as_str().map(str::to_string))
        .expect("a setup token in the start-up log")
}

/// An address of this machine that is not loopback, if it has one.
fn non_loopback_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // No packet is sent: connecting a UDP socket only picks the route.
    socket.connect("192.0.2.1:9").ok()?;
    Some(socket.local_addr().ok()?.ip()).filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
}

#[test]
fn first_run_setup_from_another_machine_needs_the_logged_token() {
    let c = Collector::start(&[("MALLARD_LISTEN", "0.0.0.0:0")]);
    let token = setup_token(&c);
    assert!(token.len() >= 32, "{token}");
    let port = c.base.rsplit(':').next().unwrap().to_string();
    let setup = |base: &str, headers: &[(&str, &str)], body: Value| {
        let mut h = vec![("Content-Type", "application/json")];
        h.extend_from_slice(headers);
        request("POST", &format!("{base}/api/auth/setup"), &h, body.to_string().as_bytes())
    };
    // Another machine: the collector's own non-loopback address when it has
    // one (the socket peer is then that address), and a client a local
    // reverse proxy forwards (the peer is loopback, the header says who).
    let mut elsewhere: Vec<(String, Vec<(&str, &str)>)> = vec![
        (c.base.clone(), vec![("X-Forwarded-For", "203.0.113.50")]),
        (c.base.clone(), vec![("X-Real-IP", "203.0.113.50")]),
    ];
    if let Some(ip) = non_loopback_address() {
        elsewhere.insert(0, (format!("http://{ip}:{port}"), vec![]));
    }
    for (base, headers) in &elsewhere {
        let status = request("GET", &format!("{base}/api/auth/status"), headers, b"").json();
        assert_eq!(status["setup_token_required"], true, "{base} {headers:?}");
        for body in [json!({"password": PASSWORD}), json!({"password": PASSWORD, "token": "setup_guess"})] {
            let r = setup(base, headers, body);
            assert_eq!(r.status, 403, "{base} {headers:?}: {}", r.text());
            assert!(r.json()["error"].as_str().unwrap().contains("setup token"));
        }
        // Nor may it read stats as the machine's own user could.
        let stats = request("GET", &format!("{base}/api/stats/main?site_id=example.com"), headers, b"");
        assert_eq!(stats.status, 403, "{base} {headers:?}");
    }
    let (base, headers) = &elsewhere[0];
    let r = setup(base, headers, json!({"password": PASSWORD, "token": token}));
    assert_eq!(r.status, 200, "{}", r.text());
    session(&r);
    // Once: the password is set, and the token opens nothing any more.
    let again = setup(base, headers, json!({"password": "another long password", "token": token}));
    assert_eq!(again.status, 409, "{}", again.text());
    assert_eq!(post_json(&c, "/api/auth/login", &[], &json!({"password": "another long password"})).status, 401);

    // From this machine, setup needs no token, as before.
    let local = Collector::start(&[]);
    assert_eq!(request("GET", &local.url("/api/auth/status"), &[], b"").json()["setup_token_required"], false);
    let r = post_json(&local, "/api/auth/setup", &[], &json!({"password": PASSWORD}));
    assert_eq!(r.status, 200, "{}", r.text());
    session(&r);
}

/// Events from two visitors (two IPs); returns their visitor ids.
fn two_visitors(c: &Collector) -> (String, String) {
    for (ip, pages) in [("198.51.100.7", 5), ("198.51.100.8", 3)] {
        secret(ip);
        for i in 0..pages {
            let body = format!(r#"{{"n":"pageview","u":"https://example.com/p{i}","d":"example.com"}}"#);
            assert_eq!(post_event_from(c, ip, &body).status, 202);
        }
    }
    post_event(c, r#"{"n":"pageview","u":"https://other.org/","d":"other.org"}"#);
    c.wait_flushed();
    let ids =
        query(&c.lake(), "SELECT visitor_id FROM {lake} WHERE site = 'example.com' GROUP BY 1 ORDER BY count(*) DESC");
    (ids[0][0].clone(), ids[1][0].clone())
}

#[test]
fn erasing_a_visitor_removes_every_row_of_theirs_and_nothing_else() {
    let c = Collector::start(&[("MALLARD_TRUST_PROXY", "true")]);
    let (gone, kept) = two_visitors(&c);
    let count = |filter: &str| scalar(&c.lake(), &format!("SELECT count(*) FROM {{lake}} WHERE {filter}"));
    assert_eq!(count(&format!("visitor_id = {gone}")), "5");
    let others_before = count(&format!("visitor_id <> {gone}"));
    assert_eq!(others_before, "4");

    let r = request("DELETE", &c.url(&format!("/api/admin/erase?site_id=example.com&visitor_id={gone}")), &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["rows_removed"], 5);
    // No file in the lake holds a row of theirs; every other row is intact.
    for entry in walk(&c.lake()) {
        if entry.extension().is_some_and(|e| e == "parquet" || e == "visits" || e == "pages") {
            let n = scalar(
                &c.lake(),
                &format!("SELECT count(*) FROM read_parquet('{}') WHERE visitor_id = {gone}", entry.display()),
            );
            assert_eq!(n, "0", "{}", entry.display());
        }
    }
    assert_eq!(count(&format!("visitor_id <> {gone}")), others_before);
    assert_eq!(count(&format!("visitor_id = {kept}")), "3");
    // The stats follow at once (the cache is dropped).
    let main = stats(&c, &[], "example.com").json();
    assert_eq!(main["results"]["visitors"], 1);
    // The audit log says what happened, not who the visitor was.
    let audit = c.data_dir.join("audit.log");
    let text = std::fs::read_to_string(&audit).unwrap();
    assert!(text.contains("\"action\":\"erase\"") && text.contains("\"rows_removed\":5") && !text.contains(&gone));
    assert_eq!(std::fs::metadata(&audit).unwrap().permissions().mode() & 0o777, 0o600);

    // Erase by date range: the site's days go, other sites stay.
    let today = scalar(&c.lake(), "SELECT CAST(current_date AS VARCHAR)");
    let r =
        request("DELETE", &c.url(&format!("/api/admin/erase?site_id=example.com&from={today}&to={today}")), &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(count("site = 'example.com'"), "0");
    assert_eq!(count("site = 'other.org'"), "1");
    // Bad input names the problem.
    let bad = request("DELETE", &c.url("/api/admin/erase?site_id=example.com&from=2026-13-01&to=2026-12-01"), &[], b"");
    assert_eq!(bad.status, 400);
    assert!(bad.json()["error"].as_str().unwrap().contains("from"));
}

/// Every event in a WAL segment, read by the record format the README
/// documents (`[len u32 LE][crc32 u32 LE][JSON event]`), not by our reader.
fn wal_events(path: &std::path::Path) -> Vec<Value> {
    let data = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 8 <= data.len() {
        let len = u32::from_le_bytes(data[pos..pos + 4].try_into().unwrap()) as usize;
        let Some(body) = data.get(pos + 8..pos + 8 + len) else { break };
        out.push(serde_json::from_slice(body).unwrap());
        pos += 8 + len;
    }
    out
}

#[test]
fn an_erase_reaches_the_lake_hot_files_and_the_write_ahead_log() {
    // Ten events seal a segment and flush it; later ones stay in the WAL
    // (no flush for an hour) and in hot files (every 200 ms).
    let c = Collector::start(&[
        ("MALLARD_TRUST_PROXY", "true"),
        ("MALLARD_FLUSH_EVENTS", "10"),
        ("MALLARD_FLUSH_INTERVAL", "1h"),
        ("MALLARD_HOT_INTERVAL", "200ms"),
    ]);
    let send = |ip: &str, n: usize, tag: &str| {
        secret(ip);
        for i in 0..n {
            let body = format!(r#"{{"n":"pageview","u":"https://example.com/{tag}{i}","d":"example.com"}}"#);
            assert_eq!(post_event_from(&c, ip, &body).status, 202);
        }
    };
    let (gone_ip, kept_ip) = ("198.51.100.21", "198.51.100.22");
    send(gone_ip, 6, "lake-a");
    send(kept_ip, 4, "lake-b");
    c.wait_flushed();
    let ids = query(&c.lake(), "SELECT visitor_id FROM {lake} GROUP BY 1 ORDER BY count(*) DESC");
    let (gone, kept) = (ids[0][0].clone(), ids[1][0].clone());
    send(gone_ip, 4, "wal-a");
    send(kept_ip, 3, "wal-b");
    // Wait until the hot files hold all seven unflushed events. (Hot files of
    // the flushed ten may still be there, within their grace period.)
    let hot_rows = |filter: &str| -> usize {
        walk(&c.lake())
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "hot"))
            .map(|p| {
                let sql = format!("SELECT count(*) FROM read_parquet('{}') WHERE {filter}", p.display());
                scalar(&c.lake(), &sql).parse::<usize>().unwrap()
            })
            .sum()
    };
    let unflushed = "pathname LIKE '/wal-%'";
    for _ in 0..100 {
        if hot_rows(unflushed) == 7 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(hot_rows(unflushed), 7);
    let wal_dir = c.data_dir.join("wal");
    let wal_rows = |visitor: &str| -> usize {
        walk(&wal_dir)
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "wal"))
            .flat_map(|p| wal_events(p))
            .filter(|e| e["visitor_id"].as_u64().is_some() && e["visitor_id"].as_u64() == visitor.parse().ok())
            .count()
    };
    assert_eq!((wal_rows(&gone), wal_rows(&kept)), (4, 3));
    assert_eq!(hot_rows(&format!("visitor_id = {gone} AND {unflushed}")), 4);

    let r = request("DELETE", &c.url(&format!("/api/admin/erase?site_id=example.com&visitor_id={gone}")), &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    // 6 in the lake + 4 not yet flushed: what was really erased.
    assert_eq!(r.json()["rows_removed"], 10, "{}", r.text());
    assert_eq!(r.json()["unflushed_rows_removed"], 4, "{}", r.text());

    // No file on disk holds a row of theirs: Parquet (lake and rollups),
    // hot files, WAL segments. Everyone else's rows are all there.
    for path in walk(&c.lake()) {
        if path.extension().is_some_and(|e| e == "parquet" || e == "visits" || e == "pages" || e == "hot") {
            let sql = format!("SELECT count(*) FROM read_parquet('{}') WHERE visitor_id = {gone}", path.display());
            assert_eq!(scalar(&c.lake(), &sql), "0", "{}", path.display());
        }
    }
    assert_eq!(hot_rows(&format!("visitor_id = {gone}")), 0);
    assert_eq!(hot_rows(&format!("visitor_id = {kept} AND {unflushed}")), 3);
    assert_eq!((wal_rows(&gone), wal_rows(&kept)), (0, 3));
    assert_eq!(scalar(&c.lake(), &format!("SELECT count(*) FROM {{lake}} WHERE visitor_id = {kept}")), "4");
    // The stats no longer count them.
    let main = stats(&c, &[], "example.com").json();
    assert_eq!((main["results"]["visitors"].as_u64(), main["results"]["pageviews"].as_u64()), (Some(1), Some(7)));

    // After the last flush, the lake holds exactly the other visitor's events.
    let data = c.stop();
    let lake = data.join("lake");
    let rows = query(&lake, "SELECT visitor_id, pathname FROM {lake} ORDER BY pathname");
    let paths = (0..4).map(|i| format!("/lake-b{i}")).chain((0..3).map(|i| format!("/wal-b{i}")));
    let want: Vec<Vec<String>> = paths.map(|p| vec![kept.clone(), p]).collect();
    assert_eq!(rows, want);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { out.extend(walk(&path)) } else { out.push(path) }
    }
    out
}

fn days_since_epoch() -> i64 {
    (SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() / 86_400) as i64
}

#[test]
fn retention_drops_old_partitions_and_keeps_newer_ones() {
    let data = fixture_data();
    // The fixture's days are 2026-11-01..04: keep 11-04 and later.
    let nov4 = 20_761; // days from 1970-01-01 to 2026-11-04
    let days = days_since_epoch() - nov4 + 1;
    let lake = data.join("lake");
    let kept = lake.join("site=example.com/date=2026-11-04");
    let before: Vec<_> = walk(&kept).into_iter().map(|p| (p.clone(), std::fs::read(&p).unwrap())).collect();
    let mut old = Vec::new();
    for site in std::fs::read_dir(&lake).unwrap() {
        for day in std::fs::read_dir(site.unwrap().path()).unwrap() {
            let day = day.unwrap().path();
            if day.file_name().unwrap().to_string_lossy().as_ref() < "date=2026-11-04" {
                old.push(day);
            }
        }
    }
    assert!(old.len() >= 3, "the fixture has old days");
    let c = Collector::start_in(&data, &[("MALLARD_RETENTION_DAYS", &days.to_string())]);
    let mut gone = false;
    for _ in 0..400 {
        gone = !lake.join("site=example.com/date=2026-11-03").exists();
        if gone {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(gone, "old partitions are dropped at start-up");
    for day in &old {
        assert!(!day.exists(), "{}", day.display());
    }
    assert!(kept.exists());
    for (path, bytes) in before {
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{} untouched", path.display());
    }
    // The job counts its partitions once it is done with all of them.
    let counted = format!("mallard_retention_partitions_deleted_total {}", old.len());
    let mut metrics = String::new();
    for _ in 0..400 {
        metrics = request("GET", &c.url("/metrics"), &[], b"").text();
        let audited = std::fs::read_to_string(data.join("audit.log")).unwrap_or_default();
        if metrics.contains(&counted) && audited.contains("\"action\":\"retention\"") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(metrics.contains(&counted), "{metrics}");
    assert!(std::fs::read_to_string(data.join("audit.log")).unwrap().contains("\"action\":\"retention\""));
}

#[test]
fn settings_files_are_private() {
    let c = Collector::start_in(&fixture_data(), &[("MALLARD_ADMIN_PASSWORD", PASSWORD)]);
    let pair = login(&c);
    let owner = [("Cookie", pair.as_str()), ("Origin", c.base.as_str())];
    let k = post_json(&c, "/api/keys", &owner, &json!({"name": "k"}));
    secret(k.json()["key"].as_str().unwrap());
    let s = post_json(&c, "/api/shares", &owner, &json!({"site_id": "example.com"}));
    secret(s.json()["url"].as_str().unwrap().trim_start_matches("/share/"));
    let f = request(
        "PUT",
        &c.url("/api/funnels?site_id=example.com"),
        &[("Cookie", &pair), ("Origin", &c.base), ("Content-Type", "application/json")],
        json!({"name": "f", "steps": ["page:/", "page:/pricing"]}).to_string().as_bytes(),
    );
    assert_eq!(f.status, 201, "{}", f.text());
    for file in ["users.json", "keys.json", "shares.json", "funnels.json", "salts.json"] {
        let mode = std::fs::metadata(c.data_dir.join(file)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file}");
    }
    let users = std::fs::read_to_string(c.data_dir.join("users.json")).unwrap();
    assert!(!users.contains(PASSWORD) && users.contains("memory_kib"));
}

/// Small-count protection on shared links, over the fixture by hand: from
/// 2026-11-01 to 2026-11-03 there are 3 visitors, 1 with Chrome (A) and 2
/// with Mobile Safari (B, C).
#[test]
fn shared_links_hide_numbers_of_fewer_than_k_visitors() {
    let c = Collector::start_in(&fixture_data(), &[("MALLARD_ADMIN_PASSWORD", PASSWORD)]);
    let pair = login(&c);
    let owner = [("Cookie", pair.as_str()), ("Origin", c.base.as_str())];
    let r = post_json(&c, "/api/shares", &owner, &json!({"site_id": "example.com"}));
    let token = r.json()["url"].as_str().unwrap().trim_start_matches("/share/").to_string();
    secret(&token);
    let share = [("X-Mallard-Share", token.as_str())];
    let range = "site_id=example.com&period=custom&date=2026-11-01,2026-11-03";
    let get = |headers: &[(&str, &str)], path: &str| {
        let r = request(
            "GET",
            &c.url(&format!("{path}{}{range}", if path.contains('?') { "&" } else { "?" })),
            headers,
            b"",
        );
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        r.json()
    };
    let set_k = |k: u64| {
        let mut h = owner.to_vec();
        h.push(("Content-Type", "application/json"));
        let r = request(
            "PUT",
            &c.url("/api/sites/settings?site_id=example.com"),
            &h,
            json!({"small_count_k": k}).to_string().as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    };
    let browsers = |v: &Value| -> Vec<(String, Value)> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["value"].as_str().unwrap().to_string(), r["visitors"].clone()))
            .collect()
    };

    // Default k = 5: 3 visitors in all, so nothing is shown through the link.
    assert_eq!(
        request("GET", &c.url("/api/sites/settings?site_id=example.com"), &share, b"").json()["small_count_k"],
        5
    );
    assert_eq!(get(&share, "/api/stats/main")["results"]["visitors"], Value::Null);
    assert_eq!(get(&share, "/api/stats/breakdown/visit:browser")["results"], json!([]));
    // The owner sees everything.
    assert_eq!(get(&owner, "/api/stats/main")["results"]["visitors"], 3);

    set_k(2);
    assert_eq!(get(&share, "/api/stats/main")["results"]["visitors"], 3);
    assert_eq!(browsers(&get(&share, "/api/stats/breakdown/visit:browser")), [("Mobile Safari".into(), json!(2))]);
    // Filtering on a hidden value reveals nothing: it reads as a value with no visitors.
    let chrome = get(&share, &format!("/api/stats/main?filter={}", "visit%3Abrowser%20%3D%3D%20Chrome"));
    let nothing = get(&share, &format!("/api/stats/main?filter={}", "visit%3Abrowser%20%3D%3D%20Lynx"));
    assert_eq!(chrome["results"], nothing["results"]);
    assert_eq!(chrome["results"]["pageviews"], Value::Null);
    // Exports through the link hide the same rows; single visits and raw queries are refused.
    let csv =
        request("GET", &c.url(&format!("/api/stats/export?format=csv&dimension=visit:browser&{range}")), &share, b"");
    assert_eq!(csv.status, 200);
    assert!(csv.text().contains("Mobile Safari") && !csv.text().contains("Chrome"), "{}", csv.text());
    let sessions = request("GET", &c.url(&format!("/api/stats/sessions?{range}")), &share, b"");
    assert_eq!(sessions.status, 403);
    let mut h = share.to_vec();
    h.push(("Content-Type", "application/json"));
    let v2 = request(
        "POST",
        &c.url("/api/v2/query"),
        &h,
        json!({"site_id": "example.com", "metrics": ["visitors"], "date_range": "all"}).to_string().as_bytes(),
    );
    assert_eq!(v2.status, 403, "{}", v2.text());

    // k = 1 turns it off; only an admin may change it.
    set_k(1);
    assert_eq!(browsers(&get(&share, "/api/stats/breakdown/visit:browser")).len(), 2);
    let r = request("PUT", &c.url("/api/sites/settings?site_id=example.com"), &h, br#"{"small_count_k": 9}"#);
    assert_eq!(r.status, 403);
    let mut h = owner.to_vec();
    h.push(("Content-Type", "application/json"));
    let r = request("PUT", &c.url("/api/sites/settings?site_id=example.com"), &h, br#"{"small_count_k": -1}"#);
    assert_eq!(r.status, 400);
    assert!(r.text().contains("whole number from 0 to 1000"), "{}", r.text());
}

/// Open to everyone (no credential needed), so not a question of role.
const OPEN_ROUTES: &[&str] = &[
    "/",
    "/assets",
    "/api/event",
    "/js/script.js",
    "/health",
    "/health/ready",
    "/health/detailed",
    "/metrics",
    "/api/auth/setup",
    "/api/auth/login",
    "/api/auth/status",
    "/share",
    // The link in every email digest: it holds its own token.
    "/api/digests/unsubscribe",
    // An invitation's page and its acceptance: the token is the credential.
    "/invite",
    "/api/invitations/accept",
];

/// What only reads (or touches nothing but the caller's own session).
const READS: &[(&str, &str)] = &[
    ("GET", "/api/sites"),
    ("GET", "/api/sites/settings"),
    ("GET", "/api/funnels"),
    ("GET", "/api/goals"),
    ("GET", "/api/annotations"),
    ("POST", "/api/v2/query"),
];

/// Walks the whole route table with `headers`: every method of every route
/// not open, not in [`READS`] and not in `also` must answer 403; the others
/// must not. A route added to the table without a decision fails this.
fn walk_routes(c: &Collector, who: &str, headers: &[(&str, &str)], also: &[(&str, &str)]) {
    use mallard_collector::routes::ROUTES;
    let mut checked = 0;
    for (route, methods) in ROUTES {
        if OPEN_ROUTES.contains(route) {
            continue;
        }
        for method in methods.iter().filter(|m| !matches!(**m, "HEAD" | "OPTIONS")) {
            if (*method, *route) == ("POST", "/api/auth/logout") {
                // Ends the walker's session: checked after the walk.
                continue;
            }
            let path = match *route {
                "/api/stats/breakdown" => "/api/stats/breakdown/event:page".to_string(),
                r => r.to_string(),
            };
            let url = c.url(&format!("{path}?site_id=example.com&name=x&id=x"));
            let mut h = vec![("Content-Type", "application/json")];
            h.extend_from_slice(headers);
            let r = request(method, &url, &h, b"{}");
            let allowed = READS.contains(&(*method, *route))
                || also.contains(&(*method, *route))
                || (*method == "GET" && route.starts_with("/api/stats/"));
            if allowed {
                assert_ne!(r.status, 403, "{method} {route} is allowed to {who}: {}", r.text());
            } else {
                assert_eq!(r.status, 403, "{method} {route} must be refused to {who}: {}", r.text());
            }
            checked += 1;
        }
    }
    assert!(checked > 30, "walked {checked} route methods");
}

/// The owner invites `name` as `role` on `site` (`*` for every site); the
/// invitee accepts with `password`. Returns the invitee's session cookie.
fn invite(c: &Collector, owner: &[(&str, &str)], name: &str, site: &str, role: &str, password: &str) -> String {
    let r = post_json(c, &format!("/api/invitations?site_id={site}"), owner, &json!({"name": name, "role": role}));
    assert_eq!(r.status, 201, "{}", r.text());
    let url = r.json()["url"].as_str().unwrap().to_string();
    let token = url.rsplit_once("/invite/").unwrap().1.to_string();
    secret(&token);
    secret(password);
    let r = post_json(c, "/api/invitations/accept", &[], &json!({"token": token, "password": password}));
    assert_eq!(r.status, 200, "{}", r.text());
    session(&r)
}

/// Walks the whole route table with a read-only API key and with a viewer
/// (a user invited as viewer): every write and admin route answers 403; only
/// the reads (and the open routes: the page, ingestion, health, login) are
/// served, and the viewer may also change their own password and log out.
#[test]
fn a_viewer_and_a_read_only_key_get_403_on_every_write_and_admin_route() {
    let c = Collector::start_in(&fixture_data(), &[("MALLARD_ADMIN_PASSWORD", PASSWORD)]);
    let pair = login(&c);
    let owner = [("Cookie", pair.as_str()), ("Origin", c.base.as_str())];
    let key = post_json(&c, "/api/keys", &owner, &json!({"name": "viewer", "scope": "read"})).json()["key"]
        .as_str()
        .unwrap()
        .to_string();
    secret(&key);
    let bearer = format!("Bearer {key}");
    walk_routes(&c, "a read API key", &[("Authorization", &bearer)], &[]);
    let viewer = invite(&c, &owner, "vera@example.com", "example.com", "viewer", "vera's own secret");
    let headers = [("Cookie", viewer.as_str()), ("Origin", c.base.as_str())];
    let own = [("POST", "/api/auth/password"), ("GET", "/api/digests/mine"), ("PUT", "/api/digests/mine")];
    walk_routes(&c, "a viewer", &headers, &own);
    // The two things a viewer may change: their password, their session.
    let r = post_json(
        &c,
        "/api/auth/password",
        &headers,
        &json!({"current": "vera's own secret", "password": "vera's newer secret"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    secret("vera's newer secret");
    let r = post_json(&c, "/api/auth/logout", &headers, &json!({}));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(stats(&c, &[("Cookie", &viewer)], "example.com").status, 401, "logged out");
}

/// Team access end to end: the old single password is the first owner, an
/// invitation works once, roles are per site and take effect at once, the
/// last owner cannot go, and every change has an audit line.
#[test]
fn team_roles_per_site_invitations_and_audit() {
    let data = fixture_data();
    // The single password as earlier versions stored it: it becomes the
    // first owner, with no step for the user.
    let hash = mallard_collector::auth::password::PasswordHash::new(PASSWORD).unwrap();
    std::fs::write(data.join("auth.json"), json!({"password": hash}).to_string()).unwrap();
    let public = "https://stats.example.org";
    let c = Collector::start_in(&data, &[("MALLARD_PUBLIC_URL", public)]);
    let status = request("GET", &c.url("/api/auth/status"), &[], b"").json();
    assert_eq!(status["password_set"], true, "{status}");
    let pair = login(&c);
    let owner = [("Cookie", pair.as_str()), ("Origin", c.base.as_str())];
    let me = request("GET", &c.url("/api/auth/status"), &[("Cookie", &pair)], b"").json();
    assert_eq!((me["user"].as_str(), me["owner"].as_bool()), (Some("owner"), Some(true)), "{me}");

    // An invitation: a link under MALLARD_PUBLIC_URL, shown once.
    let r = post_json(
        &c,
        "/api/invitations?site_id=example.com",
        &owner,
        &json!({"name": "Ana@Example.com", "role": "viewer"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let url = r.json()["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&format!("{public}/invite/inv_")), "{url}");
    let token = url.rsplit_once("/invite/").unwrap().1.to_string();
    secret(&token);
    let listed = request("GET", &c.url("/api/invitations"), &owner, b"").text();
    assert!(listed.contains("ana@example.com") && !listed.contains(&token), "{listed}");
    assert_eq!(request("GET", &c.url(&format!("/invite/{token}")), &[], b"").status, 200);
    // A weak password does not use it up; a good one does, once.
    let accept = |password: &str| {
        post_json(&c, "/api/invitations/accept", &[("Origin", &c.base)], &json!({"token": token, "password": password}))
    };
    assert_eq!(accept("short").status, 400);
    secret("ana's own secret");
    let r = accept("ana's own secret");
    assert_eq!(r.status, 200, "{}", r.text());
    let ana = session(&r);
    assert_eq!(accept("ana's own secret").status, 404, "single use");
    assert_eq!(request("GET", &c.url(&format!("/invite/{token}")), &[], b"").status, 404);
    assert_eq!(request("GET", &c.url("/api/invitations"), &owner, b"").json()["invitations"], json!([]));

    // A viewer of example.com: reads it, not other.org, and changes nothing.
    let as_ana = [("Cookie", ana.as_str()), ("Origin", c.base.as_str())];
    assert_eq!(stats(&c, &as_ana, "example.com").status, 200);
    assert_eq!(stats(&c, &as_ana, "other.org").status, 403);
    let sites = request("GET", &c.url("/api/sites"), &as_ana, b"").json();
    assert_eq!(sites["sites"], json!(["example.com"]), "{sites}");
    let goal = |headers: &[(&str, &str)]| {
        request(
            "PUT",
            &c.url("/api/goals?site_id=example.com"),
            &[headers, &[("Content-Type", "application/json")]].concat(),
            json!({"name": "Pricing", "step": "page:/pricing"}).to_string().as_bytes(),
        )
    };
    assert_eq!(goal(&as_ana).status, 403);

    // Made admin of example.com: the change holds at once, for that site only.
    let users = request("GET", &c.url("/api/users"), &owner, b"").json();
    let ana_id = users["users"].as_array().unwrap().iter().find(|u| u["name"] == "ana@example.com").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let owner_id = users["users"].as_array().unwrap().iter().find(|u| u["name"] == "owner").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!users.to_string().contains("memory_kib"), "no hash is listed");
    let put_role = |site: &str, id: &str, role: Value, headers: &[(&str, &str)]| {
        request(
            "PUT",
            &c.url(&format!("/api/users?site_id={site}&id={id}")),
            &[headers, &[("Content-Type", "application/json")]].concat(),
            json!({"role": role}).to_string().as_bytes(),
        )
    };
    assert_eq!(put_role("example.com", &ana_id, json!("admin"), &owner).status, 200);
    let saved = goal(&as_ana);
    assert_eq!(saved.status, 201, "an admin of example.com saves its goals: {}", saved.text());
    assert_eq!(request("GET", &c.url("/api/keys"), &as_ana, b"").status, 403, "keys span sites");
    assert_eq!(request("GET", &c.url("/api/users?site_id=example.com"), &as_ana, b"").status, 403);
    // An owner of example.com manages its team, and no other.
    assert_eq!(put_role("example.com", &ana_id, json!("owner"), &owner).status, 200);
    let team = request("GET", &c.url("/api/users?site_id=example.com"), &as_ana, b"");
    assert_eq!(team.status, 200, "{}", team.text());
    let r = post_json(&c, "/api/invitations?site_id=other.org", &as_ana, &json!({"name": "eve", "role": "owner"}));
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(put_role("*", &ana_id, json!("owner"), &as_ana).status, 403, "nobody raises themself to every site");
    assert_eq!(put_role("example.com", &owner_id, Value::Null, &as_ana).status, 200, "only the site's role goes");
    assert_eq!(stats(&c, &owner, "example.com").status, 200, "the owner of every site still reads it");

    // The last owner of every site cannot be removed or demoted.
    let r = request("DELETE", &c.url(&format!("/api/users?id={owner_id}")), &owner, b"");
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(put_role("*", &owner_id, json!("viewer"), &owner).status, 409);
    // Removing a user ends their sessions.
    let r = request("DELETE", &c.url(&format!("/api/users?id={ana_id}")), &owner, b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(stats(&c, &as_ana, "example.com").status, 401);

    // One audit line per change of access, saying who, never a secret.
    let audit = request("GET", &c.url("/api/audit"), &owner, b"").json();
    let actions: Vec<&str> = audit["audit"].as_array().unwrap().iter().filter_map(|l| l["action"].as_str()).collect();
    for want in ["access invited", "access invitation accepted", "access role set", "access user removed"] {
        assert!(actions.contains(&want), "{want} in {actions:?}");
    }
    assert_eq!(actions.iter().filter(|a| **a == "access role set").count(), 3, "{actions:?}");
    let log = std::fs::read_to_string(c.data_dir.join("audit.log")).unwrap();
    assert!(log.lines().filter(|l| l.contains("\"access ")).all(|l| l.contains("\"by\"")), "{log}");
    assert!(!log.contains(&token) && !log.contains("ana's own secret") && !log.contains(PASSWORD));
}

/// An owner of every site adds a site: it is listed before any event, and
/// its events are accepted beside `MALLARD_SITES`; taken off, it is
/// neither. Only an owner of every site may.
#[test]
fn an_owner_adds_and_removes_sites() {
    let c =
        Collector::start_in(&fixture_data(), &[("MALLARD_ADMIN_PASSWORD", PASSWORD), ("MALLARD_SITES", "example.com")]);
    let pair = login(&c);
    let owner = [("Cookie", pair.as_str()), ("Origin", c.base.as_str())];
    let event = r#"{"n":"pageview","u":"https://new.example/","d":"new.example"}"#;
    let dropped = |r: &Reply| (r.status, r.header("x-mallard-dropped").map(str::to_string));
    assert_eq!(dropped(&post_event(&c, event)), (202, Some("unknown-site".to_string())));
    let listed = || request("GET", &c.url("/api/sites"), &owner, b"").json();
    assert!(!listed()["sites"].as_array().unwrap().contains(&json!("new.example")));

    let r = post_json(&c, "/api/sites", &owner, &json!({"site_id": "New.Example"}));
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(post_json(&c, "/api/sites", &owner, &json!({"site_id": "new.example"})).status, 200, "once");
    assert_eq!(post_json(&c, "/api/sites", &owner, &json!({"site_id": "not a site"})).status, 400);
    let sites = listed();
    assert!(sites["sites"].as_array().unwrap().contains(&json!("new.example")), "{sites}");
    assert_eq!(sites["added"], json!(["new.example"]));
    assert_eq!(dropped(&post_event(&c, event)), (202, None), "accepted once added");

    // An admin of every site, or an owner of one, may not.
    let admin = invite(&c, &owner, "ada", "*", "admin", "ada's own secret");
    let as_admin = [("Cookie", admin.as_str()), ("Origin", c.base.as_str())];
    assert_eq!(post_json(&c, "/api/sites", &as_admin, &json!({"site_id": "x.example"})).status, 403);
    assert_eq!(request("DELETE", &c.url("/api/sites?site_id=new.example"), &as_admin, b"").status, 403);

    let r = request("DELETE", &c.url("/api/sites?site_id=new.example"), &owner, b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(dropped(&post_event(&c, event)), (202, Some("unknown-site".to_string())));
    let r = request("DELETE", &c.url("/api/sites?site_id=example.com"), &owner, b"");
    assert_eq!(r.status, 404, "a site listed for its data is not unlisted: {}", r.text());
    let log = std::fs::read_to_string(c.data_dir.join("audit.log")).unwrap();
    assert!(log.contains("\"site added\"") && log.contains("\"site removed\""), "{log}");
}

/// An invitation expires after `MALLARD_INVITATION_TTL`: its page and its
/// acceptance answer 410, and nobody was made a user.
#[test]
fn an_invitation_expires() {
    let c =
        Collector::start_in(&fixture_data(), &[("MALLARD_ADMIN_PASSWORD", PASSWORD), ("MALLARD_INVITATION_TTL", "1s")]);
    let pair = login(&c);
    let owner = [("Cookie", pair.as_str()), ("Origin", c.base.as_str())];
    let r = post_json(&c, "/api/invitations?site_id=example.com", &owner, &json!({"name": "late", "role": "viewer"}));
    assert_eq!(r.status, 201, "{}", r.text());
    let token = r.json()["url"].as_str().unwrap().rsplit_once("/invite/").unwrap().1.to_string();
    secret(&token);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(request("GET", &c.url(&format!("/invite/{token}")), &[], b"").status, 410);
    let r = post_json(&c, "/api/invitations/accept", &[], &json!({"token": token, "password": "too late a password"}));
    assert_eq!(r.status, 410, "{}", r.text());
    let users = request("GET", &c.url("/api/users"), &owner, b"").json();
    assert_eq!(users["users"].as_array().unwrap().len(), 1, "{users}");
}
