//! Settings: embedded defaults, overridden by a TOML file (`--config`), then by
//! `MALLARD_*` environment variables (the environment wins). Every setting is
//! listed in [`SETTINGS`], which `--help` prints; an invalid value stops
//! start-up with a message naming the setting and what it accepts.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use mallard_core::salt::Rotation;

/// One setting: its TOML key (the env var is `MALLARD_` + upper case), its
/// default, and what it does.
pub struct Setting {
    pub key: &'static str,
    pub default: &'static str,
    pub help: &'static str,
}

const fn s(key: &'static str, default: &'static str, help: &'static str) -> Setting {
    Setting { key, default, help }
}

/// Every setting the collector reads.
pub const SETTINGS: &[Setting] = &[
    s("listen", "127.0.0.1:8000", "address and port to listen on"),
    s("data_dir", "./data", "where the lake, the write-ahead log, salts and settings live"),
    s("sites", "", "comma-separated sites (domains) to accept events for; empty accepts every site"),
    s(
        "geoip_db",
        "",
        "path to a GeoLite2/DB-IP City .mmdb file (country, region, city); empty uses the embedded \
         country-level database; off = no locations",
    ),
    s("trust_proxy", "false", "take the client IP from X-Forwarded-For / X-Real-IP (only behind your own proxy)"),
    s("salt_rotation", "day", "how often the visitor-id salt changes: day, week or month"),
    s("flush_interval", "10s", "write buffered events to Parquet at least this often"),
    s(
        "flush_events",
        "50000",
        "write buffered events to Parquet once this many are waiting; past 3x this many not yet in the lake, \
         events get 503",
    ),
    s("hot_interval", "1s", "make unflushed events visible to queries this often (hot files); 0 = only at flush"),
    s("rate_limit", "0", "events per second accepted per site (excess is dropped); 0 = unlimited"),
    s("allow_localhost", "false", "record events from localhost pages (normally dropped)"),
    s("compact_files", "16", "same-size Parquet files in one partition that trigger a merge"),
    s(
        "queue",
        "20000",
        "ingest requests waiting for the write-ahead log at once; one more waits up to shed_after, then gets 503",
    ),
    s(
        "commit_window",
        "1ms",
        "under concurrent load, how long a WAL group commit waits to gather more events (0 = never)",
    ),
    s("workers", "0", "threads of the async HTTP runtime, which serve every connection; 0 = one per CPU core"),
    s(
        "max_connections",
        "4096",
        "connections open at once (a task each, not a thread); 1/16 more are kept for health and the dashboard; \
         more get 503 and are closed",
    ),
    s(
        "shed_after",
        "250ms",
        "an event that waited this long for a place in the ingest queue gets 503 (load shedding); 0 = never",
    ),
    s("query_threads", "0", "threads for stats queries; 0 = one per CPU core"),
    s("query_memory", "2GB", "memory stats queries may use (DuckDB memory_limit, e.g. 512MB, 4GB)"),
    s("metrics_token", "", "if set, GET /metrics requires `Authorization: Bearer <token>`"),
    s("log_format", "text", "log format: text or json"),
    s("admin_password", "", "sets the dashboard password at start-up if none is set yet (else use first-run setup)"),
    s("secure_cookies", "false", "mark session cookies Secure (set it when serving over HTTPS)"),
    s("dashboard_origin", "", "another origin (https://host) allowed to call the stats API with credentials (CORS)"),
    s(
        "public_url",
        "",
        "the collector's address as users reach it (https://stats.example.com), for links in emails and \
         invitations; empty = the listen address (invitations: the address the owner reached)",
    ),
    s(
        "smtp_url",
        "",
        "where email digests are sent from: smtp://user:password@host:587 (STARTTLS when offered) or smtps://…:465; \
         empty = no email",
    ),
    s("smtp_from", "Mallard Metrics <mallard@localhost>", "the From of email digests"),
    s("session_ttl", "7d", "how long a dashboard login lasts"),
    s("invitation_ttl", "7d", "how long an invitation link stays valid"),
    s("login_lockout", "15m", "after 5 wrong passwords from one IP (or 50 from anywhere), logins wait this long"),
    s("retention_days", "0", "drop lake partitions older than this many days (checked daily); 0 = keep forever"),
    s(
        "lake",
        "",
        "the lake: a folder (empty = <data_dir>/lake), or a lake shared by several collectors, \
         ducklake:postgres:<libpq conninfo> (a DuckLake catalog in PostgreSQL)",
    ),
    s("lake_data_path", "", "a shared lake's files, e.g. s3://bucket/prefix/ (needed when the catalog is new)"),
    s("s3_endpoint", "", "S3 server host:port for a shared lake (empty = AWS)"),
    s("s3_key_id", "", "S3 access key id"),
    s("s3_secret", "", "S3 secret access key"),
    s("s3_region", "us-east-1", "S3 region"),
    s("s3_url_style", "vhost", "S3 URL style: vhost or path"),
    s("s3_use_ssl", "true", "talk to S3 over HTTPS"),
    s("maintain_interval", "60s", "with a shared lake: how often its maintainer fixes visits and compacts"),
    s(
        "duckdb_extensions",
        "",
        "folder DuckDB loads its ducklake, postgres_scanner and httpfs extensions from (empty = DuckDB's default, \
         ~/.duckdb/extensions, installing them from the internet when missing)",
    ),
];

/// A lake shared by several collectors: a DuckLake catalog and its files.
#[derive(Debug, Clone)]
pub struct SharedLake {
    /// `ducklake:postgres:<conninfo>`.
    pub catalog: String,
    pub data_path: Option<String>,
    pub s3_endpoint: Option<String>,
    pub s3_key_id: Option<String>,
    pub s3_secret: Option<Secret>,
    pub s3_region: String,
    pub s3_url_style: String,
    pub s3_use_ssl: bool,
    pub extension_dir: Option<PathBuf>,
    pub maintain_interval: Duration,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub sites: Vec<String>,
    pub geoip_db: Option<PathBuf>,
    pub trust_proxy: bool,
    pub salt_rotation: Rotation,
    pub flush_interval: Duration,
    pub flush_events: usize,
    pub hot_interval: Duration,
    pub rate_limit: f64,
    pub allow_localhost: bool,
    pub compact_files: usize,
    pub queue: usize,
    pub commit_window: Duration,
    pub workers: usize,
    pub max_connections: usize,
    pub shed_after: Duration,
    pub query_threads: usize,
    /// Bytes.
    pub query_memory: u64,
    pub metrics_token: Option<String>,
    pub log_json: bool,
    pub admin_password: Option<Secret>,
    pub secure_cookies: bool,
    pub dashboard_origin: Option<String>,
    /// `MALLARD_PUBLIC_URL`: the collector's address as users reach it;
    /// links in emails and invitations start with it. See [`Config::public_url`].
    pub public_url: Option<String>,
    /// `smtp://` or `smtps://`, with credentials: a secret.
    pub smtp_url: Option<Secret>,
    pub smtp_from: String,
    pub session_ttl: Duration,
    pub invitation_ttl: Duration,
    pub login_lockout: Duration,
    pub retention_days: u32,
    /// A folder lake other than `<data_dir>/lake`.
    pub lake_folder: Option<PathBuf>,
    /// A shared lake; `None` = the folder lake.
    pub shared: Option<SharedLake>,
}

/// A secret setting: its `Debug` never shows the value.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A setting that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// The environment variable of a setting.
pub fn env_name(key: &str) -> String {
    format!("MALLARD_{}", key.to_ascii_uppercase())
}

impl Config {
    /// The collector's address as users reach it (no trailing slash):
    /// `MALLARD_PUBLIC_URL`, else `seen` (the host a request came to), else
    /// the listening address.
    pub fn public_url(&self, seen: Option<&str>) -> String {
        let scheme = if self.secure_cookies { "https" } else { "http" };
        self.public_url.clone().unwrap_or_else(|| match seen {
            Some(host) => format!("{scheme}://{host}"),
            None => format!("{scheme}://{}", crate::http::local_addr(self.listen)),
        })
    }

    /// Defaults, then `file` (TOML text), then `env` (name → value).
    pub fn load(file: Option<&str>, env: &BTreeMap<String, String>) -> Result<Config, ConfigError> {
        let mut raw: BTreeMap<&'static str, (String, String)> =
            SETTINGS.iter().map(|s| (s.key, (s.default.to_string(), "default".to_string()))).collect();
        if let Some(text) = file {
            let table: toml::Table =
                text.parse().map_err(|e| ConfigError(format!("config file is not valid TOML: {e}")))?;
            for (key, value) in table {
                let Some(setting) = SETTINGS.iter().find(|s| s.key == key) else {
                    let known: Vec<_> = SETTINGS.iter().map(|s| s.key).collect();
                    return Err(ConfigError(format!(
                        "unknown setting {key:?} in config file; known: {}",
                        known.join(", ")
                    )));
                };
                let text = match value {
                    toml::Value::String(s) => s,
                    toml::Value::Array(items) => items
                        .iter()
                        .map(|v| v.as_str().map(str::to_string).unwrap_or(v.to_string()))
                        .collect::<Vec<_>>()
                        .join(","),
                    other => other.to_string(),
                };
                raw.insert(setting.key, (text, format!("{key} in the config file")));
            }
        }
        for setting in SETTINGS {
            if let Some(value) = env.get(&env_name(setting.key)) {
                raw.insert(setting.key, (value.clone(), env_name(setting.key)));
            }
        }
        let get = |key: &str| raw.get(key).expect("every setting has a default");
        let parse = |key: &str, what: &str, ok: &dyn Fn(&str) -> bool| -> Result<String, ConfigError> {
            let (value, origin) = get(key);
            if ok(value.trim()) {
                Ok(value.trim().to_string())
            } else {
                Err(ConfigError(format!("invalid {origin}={value:?}: expected {what}")))
            }
        };
        let boolean = |key: &str| -> Result<bool, ConfigError> {
            parse(key, "true or false", &|v| matches!(v, "true" | "false" | "1" | "0" | "yes" | "no"))
                .map(|v| matches!(v.as_str(), "true" | "1" | "yes"))
        };
        let number = |key: &str, min: u64| -> Result<usize, ConfigError> {
            parse(key, &format!("a whole number ≥ {min}"), &|v| v.parse::<u64>().is_ok_and(|n| n >= min))
                .map(|v| v.parse::<usize>().unwrap_or(usize::MAX))
        };
        let listen = parse("listen", "host:port, e.g. 127.0.0.1:8000", &|v| v.parse::<SocketAddr>().is_ok())?
            .parse()
            .expect("checked");
        let sites: Vec<String> =
            get("sites").0.split(',').map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()).collect();
        if let Some(bad) = sites.iter().find(|s| !mallard_core::lake::valid_site(s)) {
            return Err(ConfigError(format!(
                "invalid {}: {bad:?} is not a host name (letters, digits, '-' and '.')",
                get("sites").1
            )));
        }
        let optional_path = |key: &str| {
            let v = get(key).0.trim().to_string();
            (!v.is_empty()).then(|| PathBuf::from(v))
        };
        let salt_rotation = {
            let (value, origin) = get("salt_rotation");
            value.parse::<Rotation>().map_err(|e| ConfigError(format!("invalid {origin}: {e}")))?
        };
        let flush_interval = {
            let (value, origin) = get("flush_interval");
            parse_duration(value).filter(|d| !d.is_zero()).ok_or_else(|| {
                ConfigError(format!("invalid {origin}={value:?}: expected a duration like 10s, 500ms or 2m"))
            })?
        };
        let hot_interval = {
            let (value, origin) = get("hot_interval");
            parse_duration(value).ok_or_else(|| {
                ConfigError(format!("invalid {origin}={value:?}: expected a duration like 1s or 500ms, or 0"))
            })?
        };
        let commit_window = {
            let (value, origin) = get("commit_window");
            parse_duration(value).filter(|d| *d <= Duration::from_millis(100)).ok_or_else(|| {
                ConfigError(format!("invalid {origin}={value:?}: expected a duration up to 100ms, like 1ms"))
            })?
        };
        let rate_limit = parse("rate_limit", "a number of events per second ≥ 0", &|v| {
            v.parse::<f64>().is_ok_and(|r| r.is_finite() && r >= 0.0)
        })?
        .parse()
        .expect("checked");
        let log_json = parse("log_format", "text or json", &|v| matches!(v, "text" | "json"))? == "json";
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let query_threads = match number("query_threads", 0)? {
            0 => cores,
            n => n,
        };
        let query_memory = {
            let (value, origin) = get("query_memory");
            parse_bytes(value).filter(|b| *b >= 64 << 20).ok_or_else(|| {
                ConfigError(format!("invalid {origin}={value:?}: expected a size of at least 64MB, like 512MB or 4GB"))
            })?
        };
        let max_connections = number("max_connections", 16)?;
        let workers = match number("workers", 0)? {
            0 => cores,
            n => n,
        };
        let duration = |key: &str, example: &str| -> Result<Duration, ConfigError> {
            let (value, origin) = get(key);
            parse_duration(value)
                .filter(|d| !d.is_zero())
                .ok_or_else(|| ConfigError(format!("invalid {origin}={value:?}: expected a duration like {example}")))
        };
        let dashboard_origin = {
            let (value, origin) = get("dashboard_origin");
            let v = value.trim().trim_end_matches('/');
            if v.is_empty() {
                None
            } else if url::Url::parse(v).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.path() == "/") {
                Some(v.to_string())
            } else {
                return Err(ConfigError(format!(
                    "invalid {origin}={value:?}: expected an origin like https://stats.example.com"
                )));
            }
        };
        let url_setting = |key: &str, schemes: &[&str], example: &str| -> Result<Option<String>, ConfigError> {
            let (value, origin) = get(key);
            let v = value.trim().trim_end_matches('/');
            if v.is_empty() {
                return Ok(None);
            }
            match url::Url::parse(v) {
                Ok(u) if schemes.contains(&u.scheme()) && u.host_str().is_some() => Ok(Some(v.to_string())),
                // Never echo an SMTP URL: it may hold a password.
                _ if key == "smtp_url" => Err(ConfigError(format!("invalid {origin}: expected a URL like {example}"))),
                _ => Err(ConfigError(format!("invalid {origin}={value:?}: expected a URL like {example}"))),
            }
        };
        let public_url = url_setting("public_url", &["http", "https"], "https://stats.example.com")?;
        let smtp_url =
            url_setting("smtp_url", &["smtp", "smtps"], "smtp://user:password@mail.example.com:587")?.map(Secret);
        let smtp_from = get("smtp_from").0.trim().to_string();
        if smtp_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(ConfigError(format!(
                "invalid {}={smtp_from:?}: expected an address like \"Mallard Metrics <stats@example.com>\"",
                get("smtp_from").1
            )));
        }
        let admin_password = Some(get("admin_password").0.clone()).filter(|p| !p.is_empty()).map(Secret);
        if let Some(Secret(p)) = &admin_password
            && p.chars().count() < crate::auth::MIN_PASSWORD
        {
            return Err(ConfigError(format!(
                "invalid {}: the password needs at least {} characters",
                get("admin_password").1,
                crate::auth::MIN_PASSWORD
            )));
        }
        let shed_after = {
            let (value, origin) = get("shed_after");
            parse_duration(value).ok_or_else(|| {
                ConfigError(format!("invalid {origin}={value:?}: expected a duration like 250ms, or 0"))
            })?
        };
        let text = |key: &str| Some(get(key).0.trim().to_string()).filter(|v| !v.is_empty());
        let (lake_folder, shared) = match text("lake") {
            Some(catalog) if catalog.starts_with("ducklake:") => {
                let url_style = parse("s3_url_style", "vhost or path", &|v| matches!(v, "vhost" | "path"))?;
                let shared = SharedLake {
                    catalog,
                    data_path: text("lake_data_path"),
                    s3_endpoint: text("s3_endpoint"),
                    s3_key_id: text("s3_key_id"),
                    s3_secret: text("s3_secret").map(Secret),
                    s3_region: text("s3_region").unwrap_or_else(|| "us-east-1".into()),
                    s3_url_style: url_style,
                    s3_use_ssl: boolean("s3_use_ssl")?,
                    extension_dir: optional_path("duckdb_extensions"),
                    maintain_interval: duration("maintain_interval", "60s")?,
                };
                (None, Some(shared))
            }
            Some(other) if other.contains(':') && !other.starts_with('/') && !other.starts_with('.') => {
                return Err(ConfigError(format!(
                    "invalid {}={other:?}: expected a folder or ducklake:postgres:<conninfo>",
                    get("lake").1
                )));
            }
            Some(folder) => (Some(PathBuf::from(folder)), None),
            None => (None, None),
        };
        Ok(Config {
            lake_folder,
            shared,
            shed_after,
            admin_password,
            secure_cookies: boolean("secure_cookies")?,
            dashboard_origin,
            session_ttl: duration("session_ttl", "7d or 12h")?,
            invitation_ttl: duration("invitation_ttl", "7d or 12h")?,
            login_lockout: duration("login_lockout", "15m")?,
            retention_days: number("retention_days", 0)?.min(u32::MAX as usize) as u32,
            listen,
            data_dir: PathBuf::from(get("data_dir").0.trim()),
            sites,
            geoip_db: optional_path("geoip_db"),
            trust_proxy: boolean("trust_proxy")?,
            salt_rotation,
            flush_interval,
            flush_events: number("flush_events", 1)?,
            hot_interval,
            rate_limit,
            allow_localhost: boolean("allow_localhost")?,
            compact_files: number("compact_files", 2)?,
            queue: number("queue", 1)?,
            commit_window,
            workers,
            max_connections,
            query_threads,
            query_memory,
            metrics_token: Some(get("metrics_token").0.trim().to_string()).filter(|t| !t.is_empty()),
            log_json,
            public_url: public_url.map(|u| u.trim_end_matches('/').to_string()),
            smtp_url,
            smtp_from,
        })
    }

    /// The lake folder; with a shared lake, the folder of this collector's
    /// hot files.
    pub fn lake_dir(&self) -> PathBuf {
        match (&self.lake_folder, &self.shared) {
            (Some(folder), None) => folder.clone(),
            _ => self.data_dir.join("lake"),
        }
    }

    pub fn wal_dir(&self) -> PathBuf {
        self.data_dir.join("wal")
    }
}

/// `512MB`, `4GB`, `1GiB`, `100KB` (decimal or binary units) in bytes.
pub fn parse_bytes(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: f64 = number.parse().ok()?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    (n.is_finite() && n >= 0.0).then_some((n * factor) as u64)
}

/// `10s`, `500ms`, `2m`, `1h`, or a plain number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let (number, unit) = t.find(|c: char| !c.is_ascii_digit() && c != '.').map_or((t, "s"), |i| t.split_at(i));
    let n: f64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        _ => return None,
    };
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

/// The `--help` text: every setting with its environment variable and default.
pub fn help() -> String {
    let mut out = String::from(
        "mallard-collector: ingests web analytics events into a Parquet lake and serves the stats API.\n\n\
         Usage: mallard-collector [serve|compact|health] [--config FILE]\n\
         \x20      mallard-collector import --from plausible|umami FILES --site SITE [--config FILE]\n\n\
         Commands:\n  serve           run the collector (the default)\n  \
         compact         merge every lake partition into one file, then exit (offline: stop the server first)\n  \
         health          exit 0 if the collector on the listen address answers GET /health (container HEALTHCHECK)\n  \
         import          store a Plausible CE (events_v2 CSV/Parquet) or Umami (website_event + session CSV) export\n\n\
         Options:\n  --config FILE   read settings from a TOML file (environment variables win)\n  \
         --help          show this help\n  --version       show the version\n\n\
         Settings (TOML key / environment variable, default):\n",
    );
    for s in SETTINGS {
        let default = if s.default.is_empty() { "(empty)" } else { s.default };
        out.push_str(&format!("  {:<16} {:<24} default {}\n      {}\n", s.key, env_name(s.key), default, s.help));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_need_no_configuration() {
        let c = Config::load(None, &BTreeMap::new()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8000");
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert_eq!(c.flush_interval, Duration::from_secs(10));
        assert_eq!(c.flush_events, 50_000);
        assert!(c.sites.is_empty() && c.geoip_db.is_none() && !c.trust_proxy);
    }

    #[test]
    fn environment_wins_over_the_file() {
        let file = "listen = \"0.0.0.0:9000\"\nsites = [\"a.com\", \"b.com\"]\nflush_events = 10\n";
        let c = Config::load(Some(file), &env(&[("MALLARD_LISTEN", "127.0.0.1:9100")])).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9100");
        assert_eq!(c.sites, vec!["a.com", "b.com"]);
        assert_eq!(c.flush_events, 10);
    }

    #[test]
    fn invalid_settings_say_what_is_allowed() {
        let cases = [
            ("MALLARD_LISTEN", "nope", "host:port"),
            ("MALLARD_FLUSH_INTERVAL", "soon", "duration"),
            ("MALLARD_SALT_ROTATION", "hourly", "day, week or month"),
            ("MALLARD_SITES", "../etc", "not a host name"),
            ("MALLARD_FLUSH_EVENTS", "0", "whole number"),
            ("MALLARD_LOG_FORMAT", "xml", "text or json"),
            ("MALLARD_TRUST_PROXY", "maybe", "true or false"),
        ];
        for (k, v, want) in cases {
            let e = Config::load(None, &env(&[(k, v)])).unwrap_err().0;
            assert!(e.contains(k) && e.contains(want), "{e}");
        }
        assert!(Config::load(Some("bogus = 1"), &BTreeMap::new()).unwrap_err().0.contains("unknown setting"));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("2GB"), Some(2_000_000_000));
        assert_eq!(parse_bytes("512 MiB"), Some(512 << 20));
        assert_eq!(parse_bytes("lots"), None);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_duration("x"), None);
    }

    #[test]
    fn help_lists_every_setting() {
        let h = help();
        for s in SETTINGS {
            assert!(h.contains(&env_name(s.key)));
        }
    }

    #[test]
    fn the_lake_is_a_folder_by_default_or_a_shared_ducklake() {
        let c = Config::load(None, &env(&[("MALLARD_DATA_DIR", "/d")])).unwrap();
        assert!(c.shared.is_none());
        assert_eq!(c.lake_dir(), PathBuf::from("/d/lake"));
        let c = Config::load(None, &env(&[("MALLARD_LAKE", "/elsewhere/lake")])).unwrap();
        assert_eq!(c.lake_dir(), PathBuf::from("/elsewhere/lake"));
        let c = Config::load(
            None,
            &env(&[
                ("MALLARD_DATA_DIR", "/d"),
                ("MALLARD_LAKE", "ducklake:postgres:dbname=m host=db"),
                ("MALLARD_LAKE_DATA_PATH", "s3://b/p/"),
                ("MALLARD_S3_URL_STYLE", "path"),
                ("MALLARD_S3_USE_SSL", "false"),
                ("MALLARD_S3_SECRET", "s3cr3t"),
            ]),
        )
        .unwrap();
        let shared = c.shared.as_ref().unwrap();
        assert_eq!(shared.catalog, "ducklake:postgres:dbname=m host=db");
        assert_eq!(shared.data_path.as_deref(), Some("s3://b/p/"));
        assert_eq!(
            (shared.s3_region.as_str(), shared.s3_url_style.as_str(), shared.s3_use_ssl),
            ("us-east-1", "path", false)
        );
        assert!(!format!("{shared:?}").contains("s3cr3t"), "the secret never shows");
        // Hot files stay in the data directory.
        assert_eq!(c.lake_dir(), PathBuf::from("/d/lake"));
        for (value, what) in [("mysql:x", "ducklake:postgres"), ("ducklake:postgres:x", "")] {
            let r = Config::load(None, &env(&[("MALLARD_LAKE", value), ("MALLARD_S3_URL_STYLE", "virtual")]));
            let e = r.unwrap_err().0;
            assert!(e.contains(if what.is_empty() { "vhost or path" } else { what }), "{e}");
        }
    }
}
