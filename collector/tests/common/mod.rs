//! Test harness: starts the real `mallard-collector` binary on port 0 with
//! its own data directory, talks HTTP to it, and reads its lake with DuckDB.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const CHROME: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
pub const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";

/// A fresh, unique temporary directory.
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("mallard-test-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A running collector process.
pub struct Collector {
    pub child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    pub logs: Arc<Mutex<Vec<String>>>,
    env: Vec<(String, String)>,
}

impl Collector {
    /// Starts a collector on a fresh data directory.
    pub fn start(env: &[(&str, &str)]) -> Collector {
        Self::start_in(&temp_dir("data"), env)
    }

    /// Starts a collector on `data_dir` (e.g. again after a crash).
    pub fn start_in(data_dir: &Path, env: &[(&str, &str)]) -> Collector {
        Self::start_with_args(data_dir, &[], env)
    }

    /// Starts a collector with command-line arguments.
    pub fn start_with_args(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Collector {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mallard-collector"));
        cmd.args(args)
            .env_clear()
            .env("MALLARD_LISTEN", "127.0.0.1:0")
            .env("MALLARD_DATA_DIR", data_dir)
            .env("MALLARD_LOG_FORMAT", "json")
            .env("MALLARD_FLUSH_INTERVAL", "200ms")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("the collector binary starts");
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let sink = Arc::clone(&logs);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                    && v["msg"] == "listening"
                {
                    let _ = tx.send(v["addr"].as_str().unwrap_or_default().to_string());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("collector did not start; logs: {:?}", logs.lock().unwrap()));
        Collector { child, base: format!("http://{addr}"), data_dir: data_dir.to_path_buf(), logs, env }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Graceful stop (SIGTERM): flushes everything buffered.
    pub fn stop(mut self) -> PathBuf {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "collector exited with {status}; logs: {:?}", self.logs.lock().unwrap());
        self.data_dir.clone()
    }

    /// Crash (SIGKILL): nothing gets a chance to flush.
    pub fn kill9(mut self) -> PathBuf {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.data_dir.clone()
    }

    pub fn lake(&self) -> PathBuf {
        self.data_dir.join("lake")
    }

    pub fn log_lines(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Waits until nothing is buffered (all acknowledged events are in Parquet).
    pub fn wait_flushed(&self) {
        for _ in 0..200 {
            let (status, body) = get(&self.url("/health/detailed"));
            if status == 200 {
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                if v["buffered_events"] == 0 {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("events were not flushed in time");
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.keep_logs();
    }
}

/// Where the suite's log lines and secrets go for the log scan
/// (`test/logscan.py`, run by `make test` after the suite), if set.
fn log_dir() -> Option<PathBuf> {
    std::env::var_os("MALLARD_TEST_LOG_DIR").map(PathBuf::from)
}

/// Records a secret this test used (password, token, IP), which must never
/// appear in any log line.
pub fn secret(s: &str) {
    if let Some(dir) = log_dir() {
        use std::io::Write;
        std::fs::create_dir_all(&dir).unwrap();
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("secrets.txt")).unwrap();
        writeln!(f, "{s}").unwrap();
    }
}

impl Collector {
    /// Saves this collector's log lines, and its salts as secrets.
    fn keep_logs(&self) {
        let Some(dir) = log_dir() else { return };
        std::fs::create_dir_all(&dir).unwrap();
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!(
            "{}-{}-{n}.log",
            std::env::args().next().unwrap_or_default().rsplit('/').next().unwrap_or(""),
            std::process::id()
        );
        std::fs::write(dir.join(name), self.logs.lock().unwrap().join("\n")).unwrap();
        if let Ok(text) = std::fs::read_to_string(self.data_dir.join("salts.json"))
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
        {
            fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
                match v {
                    serde_json::Value::String(s) if s.len() >= 32 => out.push(s.clone()),
                    serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
                    serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
                    _ => {}
                }
            }
            let mut salts = Vec::new();
            strings(&v, &mut salts);
            salts.iter().for_each(|s| secret(s));
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// A response: status, headers (lower-case names), body.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

fn to_reply(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut r = r.expect("the request reaches the collector");
    let headers =
        r.headers().iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())).collect();
    Reply { status: r.status().as_u16(), headers, body: r.body_mut().read_to_vec().unwrap_or_default() }
}

/// A request with method, headers and body.
pub fn request(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let agent = agent();
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    to_reply(agent.run(builder.body(body.to_vec()).unwrap()))
}

/// `POST /api/event` with a browser user agent.
pub fn post_event(c: &Collector, body: &str) -> Reply {
    request("POST", &c.url("/api/event"), &[("User-Agent", CHROME), ("Content-Type", "text/plain")], body.as_bytes())
}

/// Sends `body` as the visitor at `ip`, named in `X-Forwarded-For` (the
/// collector must run with `MALLARD_TRUST_PROXY=true`).
pub fn post_event_from(c: &Collector, ip: &str, body: &str) -> Reply {
    request(
        "POST",
        &c.url("/api/event"),
        &[("User-Agent", CHROME), ("X-Forwarded-For", ip), ("Content-Type", "text/plain")],
        body.as_bytes(),
    )
}

pub fn get(url: &str) -> (u16, String) {
    let r = request("GET", url, &[], b"");
    (r.status, r.text())
}

/// Runs `sql` over the lake's Parquet files with DuckDB (plain DuckDB, not
/// the code under test), with `{lake}` replaced by the glob of every file.
pub fn query(lake: &Path, sql: &str) -> Vec<Vec<String>> {
    let con = duckdb::Connection::open_in_memory().unwrap();
    let glob = format!("read_parquet('{}/**/*.parquet', hive_partitioning = false)", lake.display());
    let sql = sql.replace("{lake}", &glob);
    let mut stmt = con.prepare(&format!("SELECT CAST(COLUMNS(*) AS VARCHAR) FROM ({sql})")).unwrap();
    let mut rows = stmt.query([]).unwrap();
    let mut out = Vec::new();
    while let Some(row) = rows.next().unwrap() {
        let n = row.as_ref().column_count();
        out.push((0..n).map(|i| row.get::<_, Option<String>>(i).unwrap().unwrap_or_else(|| "NULL".into())).collect());
    }
    out
}

/// One value from `query`.
pub fn scalar(lake: &Path, sql: &str) -> String {
    query(lake, sql).remove(0).remove(0)
}

/// A data directory holding a copy of test/fixtures/lake.
pub fn fixture_data() -> std::path::PathBuf {
    let data = temp_dir("stats");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test/fixtures/lake");
    copy_dir(&src, &data.join("lake"));
    data
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}
