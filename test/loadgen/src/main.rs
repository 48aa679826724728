//! `mallard-loadgen`: drives `POST /api/event` with realistic events.
//!
//! `--rate N` sends N requests/s open-loop (each request has a scheduled
//! send time and its latency is measured from that time, so a stalled server
//! cannot hide its queueing: no coordinated omission). Without `--rate` it
//! runs closed-loop, every connection sending as fast as it is answered.
//! Prints one JSON line: requests, statuses, throughput, latency percentiles.
//!
//! Events: Zipf-distributed pages and referrers, a pool of real user agents,
//! and visitors spread over a pool of IPs sent as X-Forwarded-For (start the
//! collector with MALLARD_TRUST_PROXY=true).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const UAS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
];
const REFERRERS: &[&str] = &[
    "",
    "https://www.google.com/search?q=analytics",
    "https://news.ycombinator.com/item?id=1",
    "https://t.co/abc",
    "https://www.reddit.com/r/selfhosted/",
    "https://duckduckgo.com/",
    "https://github.com/mallard",
    "https://www.bing.com/search?q=x",
];

/// A tiny deterministic PRNG (xorshift64*), so runs are repeatable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// Zipf-ish rank in 0..n (inverse power transform, s ≈ 1).
    fn zipf(&mut self, n: u64) -> u64 {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        (((n as f64 + 1.0).powf(u) - 1.0) as u64).min(n - 1)
    }
}

struct Options {
    target: String,
    rate: Option<f64>,
    duration: Duration,
    connections: usize,
    site: String,
    visitors: u64,
}

fn parse_args() -> Options {
    let mut o = Options {
        target: "127.0.0.1:8000".into(),
        rate: None,
        duration: Duration::from_secs(10),
        connections: 32,
        site: "bench.example".into(),
        visitors: 20_000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--target" => o.target = value(),
            "--rate" => o.rate = Some(value().parse().expect("--rate N")),
            "--duration" => o.duration = Duration::from_secs_f64(value().parse().expect("--duration seconds")),
            "--connections" => o.connections = value().parse().expect("--connections N"),
            "--site" => o.site = value(),
            "--visitors" => o.visitors = value().parse().expect("--visitors N"),
            _ => {
                eprintln!(
                    "usage: mallard-loadgen --target host:port [--rate N] [--duration S] [--connections N] [--site S] [--visitors N]"
                );
                std::process::exit(2);
            }
        }
    }
    o
}

fn request(rng: &mut Rng, o: &Options) -> Vec<u8> {
    let page = rng.zipf(500);
    let visitor = rng.zipf(o.visitors);
    let ua = UAS[(visitor % UAS.len() as u64) as usize];
    let ip = format!("10.{}.{}.{}", (visitor >> 16) & 255, (visitor >> 8) & 255, visitor & 255);
    let referrer = REFERRERS[rng.zipf(REFERRERS.len() as u64) as usize];
    let utm = if rng.below(10) == 0 { "?utm_source=newsletter&utm_medium=email&utm_campaign=launch" } else { "" };
    let name = if rng.below(20) == 0 { "Signup" } else { "pageview" };
    let width = [390, 768, 1280, 1920][(visitor % 4) as usize];
    let mut body = serde_json::json!({
        "n": name, "u": format!("https://{}/docs/page-{page}{utm}", o.site), "d": o.site,
        "r": referrer, "w": width,
    });
    if name == "Signup" {
        let plan = ["free", "pro", "team"][rng.below(3) as usize];
        body["p"] = serde_json::json!({ "plan": plan });
    }
    let body = body.to_string();
    format!(
        "POST /api/event HTTP/1.1\r\nHost: {}\r\nUser-Agent: {ua}\r\nX-Forwarded-For: {ip}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        o.target,
        body.len()
    )
    .into_bytes()
}

/// Reads one HTTP/1.1 response; returns its status.
fn read_response(reader: &mut BufReader<TcpStream>) -> std::io::Result<u16> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let status: u16 = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut length = 0usize;
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    Ok(status)
}

#[derive(Default)]
struct Results {
    latencies_us: Vec<u64>,
    statuses: BTreeMap<u16, u64>,
    errors: u64,
}

fn main() {
    let o = Arc::new(parse_args());
    let results = Arc::new(Mutex::new(Results::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let threads: Vec<_> = (0..o.connections)
        .map(|c| {
            let (o, results, stop, sent) = (Arc::clone(&o), Arc::clone(&results), Arc::clone(&stop), Arc::clone(&sent));
            std::thread::spawn(move || {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (c as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
                let mut local = Results::default();
                let mut conn: Option<(TcpStream, BufReader<TcpStream>)> = None;
                // Open loop: connection c sends the requests scheduled at
                // start + k * interval (k ≡ c mod connections).
                let interval = o.rate.map(|r| Duration::from_secs_f64(o.connections as f64 / r));
                let mut k = 0u32;
                while !stop.load(Ordering::Relaxed) && start.elapsed() < o.duration {
                    let scheduled = match interval {
                        Some(i) => {
                            let at = start + i * k + Duration::from_secs_f64(c as f64 / o.rate.unwrap_or(1.0));
                            k += 1;
                            if at > start + o.duration {
                                break;
                            }
                            if let Some(wait) = at.checked_duration_since(Instant::now()) {
                                std::thread::sleep(wait);
                            }
                            at
                        }
                        None => Instant::now(),
                    };
                    if conn.is_none() {
                        match TcpStream::connect(&o.target) {
                            Ok(s) => {
                                let _ = s.set_nodelay(true);
                                let r = BufReader::new(s.try_clone().unwrap());
                                conn = Some((s, r));
                            }
                            Err(_) => {
                                local.errors += 1;
                                std::thread::sleep(Duration::from_millis(10));
                                continue;
                            }
                        }
                    }
                    let req = request(&mut rng, &o);
                    let (stream, reader) = conn.as_mut().unwrap();
                    sent.fetch_add(1, Ordering::Relaxed);
                    match stream.write_all(&req).and_then(|_| read_response(reader)) {
                        Ok(status) => {
                            *local.statuses.entry(status).or_default() += 1;
                            local.latencies_us.push(scheduled.elapsed().as_micros() as u64);
                        }
                        Err(_) => {
                            local.errors += 1;
                            conn = None;
                        }
                    }
                }
                let mut r = results.lock().unwrap();
                r.latencies_us.extend(local.latencies_us);
                for (s, n) in local.statuses {
                    *r.statuses.entry(s).or_default() += n;
                }
                r.errors += local.errors;
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    stop.store(true, Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    let mut r = results.lock().unwrap();
    r.latencies_us.sort_unstable();
    let pct = |p: f64| -> f64 {
        if r.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((r.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        r.latencies_us[i] as f64 / 1000.0
    };
    let answered: u64 = r.statuses.values().sum();
    let accepted = r.statuses.get(&202).copied().unwrap_or(0);
    let out = serde_json::json!({
        "mode": if o.rate.is_some() { "fixed-rate" } else { "closed-loop" },
        "target_rate": o.rate,
        "connections": o.connections,
        "seconds": elapsed,
        "sent": sent.load(Ordering::Relaxed),
        "answered": answered,
        "accepted_202": accepted,
        "statuses": r.statuses.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
        "errors": r.errors,
        "throughput_per_s": answered as f64 / elapsed,
        "latency_ms": {"p50": pct(0.50), "p90": pct(0.90), "p99": pct(0.99), "p999": pct(0.999), "max": pct(1.0)},
    });
    println!("{out}");
}
