//! `mallard-collector [--config FILE]`: flags and start-up only; see the
//! library for everything else.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::ExitCode;
use std::time::Duration;

use mallard_collector::app::App;
use mallard_collector::config::{self, Config};
use mallard_collector::http::server::Server;
use mallard_collector::log;
use mallard_collector::shutdown::Shutdown;

/// mimalloc gives memory freed after a burst back to the OS (glibc's malloc
/// kept it: ARCHITECTURE.md, write path), and allocates faster.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn fail(message: &str) -> ExitCode {
    eprintln!("mallard-collector: {message}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    let mut config_file = None;
    let mut command = None;
    // `import`'s own arguments.
    let (mut from, mut site, mut files) = (None, None, Vec::new());
    if args.peek().is_some_and(|a| !a.starts_with('-')) {
        command = args.next();
    }
    let importing = command.as_deref() == Some("import");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--from" if importing => from = args.next(),
            "--site" if importing => site = args.next(),
            file if importing && !file.starts_with('-') => files.push(std::path::PathBuf::from(file)),
            "-h" | "--help" => {
                print!("{}", config::help());
                return ExitCode::SUCCESS;
            }
            "-V" | "--version" => {
                println!("mallard-collector {}", mallard_core::VERSION);
                return ExitCode::SUCCESS;
            }
            "--config" => match args.next() {
                Some(path) => config_file = Some(path),
                None => return fail("--config needs a file path"),
            },
            other => return fail(&format!("unknown argument {other:?}; see --help")),
        }
    }
    let file_text = match &config_file {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(e) => return fail(&format!("cannot read config file {path}: {e}")),
        },
        None => None,
    };
    let env: BTreeMap<String, String> = std::env::vars().filter(|(k, _)| k.starts_with("MALLARD_")).collect();
    let config = match Config::load(file_text.as_deref(), &env) {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string()),
    };
    log::set_json(config.log_json);
    match command.as_deref() {
        None | Some("serve") => serve(config),
        Some("compact") => compact(&config),
        Some("health") => health(&config),
        Some("import") => import(config, from.as_deref(), site.as_deref(), &files),
        Some(other) => fail(&format!("unknown command {other:?}; commands: serve (default), compact, health, import")),
    }
}

/// `mallard-collector compact`: merges every partition into one file, offline.
fn compact(config: &Config) -> ExitCode {
    let result = mallard_collector::app::lock_data_dir(&config.data_dir).and_then(|_lock| {
        let db = mallard_collector::query::db::open("1GB", 1).map_err(|e| std::io::Error::other(e.to_string()))?;
        let metrics = mallard_collector::metrics::Metrics::default();
        mallard_collector::lake::compactor::compact_all(&db, &config.lake_dir(), &metrics)
    });
    match result {
        Ok(merges) => {
            log::info("compacted the lake", &[("merges", &merges)]);
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("compaction failed: {e}")),
    }
}

/// `mallard-collector import --from plausible|umami <files> --site <site>`:
/// starts the collector's ingestion (not its HTTP server), stores the
/// export's events through the write-ahead log, flushes, and reports.
fn import(config: Config, from: Option<&str>, site: Option<&str>, files: &[std::path::PathBuf]) -> ExitCode {
    let usage = "usage: mallard-collector import --from plausible|umami <files> --site <site>";
    let (Some(from), Some(site)) = (from, site) else { return fail(usage) };
    let from = match mallard_collector::import::Peer::parse(from) {
        Ok(f) => f,
        Err(e) => return fail(&format!("{e}; {usage}")),
    };
    let app = match App::start(config, Shutdown::new()) {
        Ok(app) => app,
        Err(e) => return fail(&format!("cannot open the data directory (stop the collector first): {e}")),
    };
    let result = mallard_collector::import::run(&app, from, files, &site.to_lowercase());
    app.stop();
    match result {
        Ok(r) => {
            let skipped: Vec<String> = r.skipped.iter().map(|(k, v)| format!("{k} {v}")).collect();
            println!("imported: read {}, stored {}, skipped {}", r.read, r.stored, skipped.join(", "));
            if r.cities.0 > r.cities.1 {
                println!(
                    "cities: {} of {} GeoNames ids named; the others are left out (MALLARD_GEOIP_DB names them with a City database)",
                    r.cities.1, r.cities.0
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("import failed: {e}")),
    }
}

/// The dashboard's address as a browser on this machine reaches it.
fn dashboard_url(addr: std::net::SocketAddr) -> String {
    format!("http://{}/", mallard_collector::http::local_addr(addr))
}

/// `mallard-collector health`: exits 0 when the collector configured by the
/// same settings answers `GET /health` with 200 within 3 s. It is the
/// container image's HEALTHCHECK, which then needs no HTTP client installed.
fn health(config: &Config) -> ExitCode {
    use std::io::{Read, Write};
    let addr = mallard_collector::http::local_addr(config.listen);
    let timeout = Duration::from_secs(3);
    let answer = std::net::TcpStream::connect_timeout(&addr, timeout).and_then(|mut stream| {
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        write!(stream, "GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head)?;
        Ok(head)
    });
    match answer {
        Ok(head) if head.starts_with(b"HTTP/1.1 200") => ExitCode::SUCCESS,
        Ok(head) => fail(&format!("{addr}/health answered {:?}", String::from_utf8_lossy(&head))),
        Err(e) => fail(&format!("{addr}/health: {e}")),
    }
}

fn serve(config: Config) -> ExitCode {
    let shutdown = Shutdown::new();
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal while shutting down exits at once.
        let _ = signal_hook::flag::register_conditional_shutdown(signal, 1, shutdown.flag());
        if let Err(e) = signal_hook::flag::register(signal, shutdown.flag()) {
            return fail(&format!("cannot install signal handler: {e}"));
        }
    }
    let listener = match TcpListener::bind(config.listen) {
        Ok(l) => l,
        Err(e) => return fail(&format!("cannot listen on {}: {e}", config.listen)),
    };
    let app = match App::start(config.clone(), shutdown.clone()) {
        Ok(app) => app,
        Err(e) => {
            log::error("start-up failed", &[("error", &e)]);
            return ExitCode::from(1);
        }
    };
    let server = match Server::start(listener, app.clone(), shutdown.clone()) {
        Ok(s) => s,
        Err(e) => {
            log::error("cannot start the HTTP server", &[("error", &e)]);
            app.stop();
            return ExitCode::from(1);
        }
    };
    log::info(
        "listening",
        &[
            ("addr", &server.addr()),
            ("data_dir", &config.data_dir.display()),
            ("workers", &config.workers),
            ("version", &mallard_core::VERSION),
        ],
    );
    // The last line of start-up: where to point a browser.
    let url = dashboard_url(server.addr());
    log::info(&format!("open {url}"), &[("url", &url)]);
    while !shutdown.is_triggered() {
        std::thread::sleep(Duration::from_millis(100));
    }
    log::info("shutting down: flushing buffered events", &[]);
    server.join();
    app.stop();
    ExitCode::SUCCESS
}
