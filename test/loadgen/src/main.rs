//! `mallard-loadgen`: drives `POST /api/event` with realistic events.
//!
//! `--rate N` sends N requests/s open-loop (each request has a scheduled
//! send time and its latency is measured from that time, so a stalled server
//! cannot hide its queueing: no coordinated omission). Requests go to idle
//! connections; when none is idle, a new one opens, up to `--max-connections`
//! (default `--connections`), the way independent visitors arrive: a server
//! that falls behind sees ever more connections, not a client-side queue.
//! Without `--rate` it runs closed-loop, every connection sending as fast as
//! it is answered. Prints one JSON line: requests, statuses, throughput,
//! latency percentiles (all answers, and the 202s alone).
//!
//! Events: Zipf-distributed pages and referrers, a pool of real user agents,
//! and visitors spread over a pool of IPs sent as X-Forwarded-For (start the
//! collector with MALLARD_TRUST_PROXY=true).

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
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
    max_connections: usize,
    site: String,
    visitors: u64,
}

fn parse_args() -> Options {
    let mut o = Options {
        target: "127.0.0.1:8000".into(),
        rate: None,
        duration: Duration::from_secs(10),
        connections: 32,
        max_connections: 0,
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
            "--max-connections" => o.max_connections = value().parse().expect("--max-connections N"),
            "--site" => o.site = value(),
            "--visitors" => o.visitors = value().parse().expect("--visitors N"),
            _ => {
                eprintln!(
                    "usage: mallard-loadgen --target host:port [--rate N] [--duration S] [--connections N] [--max-connections N] [--site S] [--visitors N]"
                );
                std::process::exit(2);
            }
        }
    }
    o.max_connections = o.max_connections.max(o.connections);
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

/// What one connection (or all of them) saw.
#[derive(Default)]
struct Results {
    /// Latency of every answer, and of the `202`s alone.
    latencies_us: Vec<u64>,
    accepted_us: Vec<u64>,
    statuses: BTreeMap<u16, u64>,
    errors: u64,
}

impl Results {
    fn merge(&mut self, other: Results) {
        self.latencies_us.extend(other.latencies_us);
        self.accepted_us.extend(other.accepted_us);
        for (s, n) in other.statuses {
            *self.statuses.entry(s).or_default() += n;
        }
        self.errors += other.errors;
    }
}

/// One keep-alive connection, opened on first use and again after an error.
struct Connection {
    stream: Option<(TcpStream, BufReader<TcpStream>)>,
    rng: Rng,
}

impl Connection {
    fn new(id: u64) -> Connection {
        Connection { stream: None, rng: Rng(0x9E37_79B9_7F4A_7C15 ^ (id + 1).wrapping_mul(0xD1B5_4A32_D192_ED03)) }
    }

    /// Sends one event; records its status and its latency since `scheduled`.
    fn send(&mut self, o: &Options, scheduled: Instant, sent: &AtomicU64, out: &mut Results) {
        if self.stream.is_none() {
            match TcpStream::connect(&o.target) {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    let r = BufReader::new(s.try_clone().unwrap());
                    self.stream = Some((s, r));
                }
                Err(_) => {
                    out.errors += 1;
                    std::thread::sleep(Duration::from_millis(10));
                    return;
                }
            }
        }
        let req = request(&mut self.rng, o);
        let (stream, reader) = self.stream.as_mut().unwrap();
        sent.fetch_add(1, Ordering::Relaxed);
        match stream.write_all(&req).and_then(|_| read_response(reader)) {
            Ok(status) => {
                let us = scheduled.elapsed().as_micros() as u64;
                *out.statuses.entry(status).or_default() += 1;
                out.latencies_us.push(us);
                if status == 202 {
                    out.accepted_us.push(us);
                }
                // The server closes after some answers (503 when it is over
                // its connection limit): open a new connection next time.
                if status == 503 {
                    self.stream = None;
                }
            }
            Err(_) => {
                out.errors += 1;
                self.stream = None;
            }
        }
    }
}

/// Where an open-loop connection is in its request.
enum Phase {
    /// Connecting, or writing the request (from `written`).
    Sending,
    /// Reading the response into `inbox`.
    Reading,
    /// Waiting for the next arrival.
    Idle,
}

/// One non-blocking connection of the open loop.
struct Flow {
    stream: mio::net::TcpStream,
    phase: Phase,
    /// When the request in flight was due.
    scheduled: Instant,
    request: Vec<u8>,
    written: usize,
    inbox: Vec<u8>,
}

/// A complete response in `inbox`: its status and whether the server closes.
fn parse_response(inbox: &[u8]) -> Option<(u16, bool, usize)> {
    let end = inbox.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&inbox[..end]).to_ascii_lowercase();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let length: usize =
        head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    let close = head.lines().any(|l| l.starts_with("connection:") && l.contains("close"));
    (inbox.len() >= end + length).then_some((status, close, end + length))
}

/// Open loop on one thread with non-blocking sockets: every `1 / rate`
/// seconds a request is due; it goes to an idle connection, else to a new
/// one (up to `max_connections`), else waits in a client-side queue (its
/// wait counts in its latency). Returns the results, the connections opened,
/// the deepest client-side queue and the requests sent.
fn open_loop(o: &Options, rate: f64, start: Instant, rng: &mut Rng) -> (Results, usize, usize, u64) {
    use mio::{Events, Interest, Poll, Token};
    use std::net::ToSocketAddrs;

    let addr = o.target.to_socket_addrs().ok().and_then(|mut a| a.next()).expect("--target host:port");
    let mut poll = Poll::new().expect("poll");
    let mut events = Events::with_capacity(4096);
    let mut flows: Vec<Option<Flow>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut idle: Vec<usize> = Vec::new();
    let mut backlog: VecDeque<Instant> = VecDeque::new();
    let mut out = Results::default();
    let (mut live, mut opened, mut deepest, mut sent) = (0usize, 0usize, 0usize, 0u64);
    let interval = Duration::from_secs_f64(1.0 / rate);
    let end = start + o.duration;
    let give_up = end + Duration::from_secs(30);
    let mut k: u32 = 0;

    // Writes what it can of the request; true once all of it is out.
    fn pump(f: &mut Flow) -> std::io::Result<bool> {
        while f.written < f.request.len() {
            match f.stream.write(&f.request[f.written..]) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => f.written += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == std::io::ErrorKind::NotConnected => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    loop {
        let now = Instant::now();
        loop {
            let due = start + interval * k;
            if due > now || due > end {
                break;
            }
            backlog.push_back(due);
            k += 1;
        }
        while let Some(&due) = backlog.front() {
            let id = if let Some(id) = idle.pop() {
                id
            } else if live < o.max_connections {
                let Ok(stream) = mio::net::TcpStream::connect(addr) else {
                    backlog.pop_front();
                    out.errors += 1;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let id = free.pop().unwrap_or_else(|| {
                    flows.push(None);
                    flows.len() - 1
                });
                let mut flow = Flow {
                    stream,
                    phase: Phase::Idle,
                    scheduled: due,
                    request: Vec::new(),
                    written: 0,
                    inbox: Vec::new(),
                };
                poll.registry()
                    .register(&mut flow.stream, Token(id), Interest::READABLE | Interest::WRITABLE)
                    .expect("register");
                flows[id] = Some(flow);
                live += 1;
                opened += 1;
                id
            } else {
                break;
            };
            backlog.pop_front();
            let f = flows[id].as_mut().expect("live flow");
            f.phase = Phase::Sending;
            f.scheduled = due;
            f.request = request(rng, o);
            f.written = 0;
            f.inbox.clear();
            sent += 1;
            if let Ok(true) = pump(f) {
                f.phase = Phase::Reading;
            }
        }
        deepest = deepest.max(backlog.len());
        let busy = live - idle.len();
        if now >= end && backlog.is_empty() && busy == 0 {
            break;
        }
        if now >= give_up {
            out.errors += (busy + backlog.len()) as u64;
            break;
        }
        let next = start + interval * k;
        let wait = if next <= end { next.saturating_duration_since(now) } else { Duration::from_millis(50) };
        if poll.poll(&mut events, Some(wait.min(Duration::from_millis(50)))).is_err() {
            continue;
        }
        for event in events.iter() {
            let id = event.token().0;
            let Some(f) = flows.get_mut(id).and_then(Option::as_mut) else { continue };
            let mut drop_flow = event.is_error();
            if !drop_flow && matches!(f.phase, Phase::Sending) && event.is_writable() {
                match pump(f) {
                    Ok(true) => f.phase = Phase::Reading,
                    Ok(false) => {}
                    Err(_) => drop_flow = true,
                }
            }
            if !drop_flow && event.is_readable() {
                let mut buf = [0u8; 16 * 1024];
                loop {
                    match f.stream.read(&mut buf) {
                        Ok(0) => {
                            drop_flow = true;
                            break;
                        }
                        Ok(n) => f.inbox.extend_from_slice(&buf[..n]),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        Err(_) => {
                            drop_flow = true;
                            break;
                        }
                    }
                }
                if matches!(f.phase, Phase::Sending | Phase::Reading)
                    && let Some((status, close, used)) = parse_response(&f.inbox)
                {
                    let us = f.scheduled.elapsed().as_micros() as u64;
                    *out.statuses.entry(status).or_default() += 1;
                    out.latencies_us.push(us);
                    if status == 202 {
                        out.accepted_us.push(us);
                    }
                    f.inbox.drain(..used);
                    f.phase = Phase::Idle;
                    if close {
                        drop_flow = true;
                    } else if !drop_flow {
                        idle.push(id);
                    }
                }
            }
            if drop_flow {
                let mut f = flows[id].take().expect("live flow");
                if !matches!(f.phase, Phase::Idle) {
                    out.errors += 1;
                }
                let _ = poll.registry().deregister(&mut f.stream);
                idle.retain(|&i| i != id);
                free.push(id);
                live -= 1;
            }
        }
    }
    (out, opened, deepest, sent)
}

/// Closed loop: every connection sends as fast as it is answered.
fn closed_loop(o: &Arc<Options>, start: Instant, sent: &Arc<AtomicU64>) -> Results {
    let threads: Vec<_> = (0..o.connections)
        .map(|c| {
            let (o, sent) = (Arc::clone(o), Arc::clone(sent));
            std::thread::spawn(move || {
                let mut conn = Connection::new(c as u64);
                let mut local = Results::default();
                while start.elapsed() < o.duration {
                    conn.send(&o, Instant::now(), &sent, &mut local);
                }
                local
            })
        })
        .collect();
    let mut all = Results::default();
    for t in threads {
        if let Ok(r) = t.join() {
            all.merge(r);
        }
    }
    all
}

/// Percentiles (ms) of sorted microsecond latencies.
fn percentiles(sorted: &[u64]) -> serde_json::Value {
    let pct = |p: f64| -> f64 {
        if sorted.is_empty() {
            return 0.0;
        }
        let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[i] as f64 / 1000.0
    };
    serde_json::json!({"p50": pct(0.50), "p90": pct(0.90), "p99": pct(0.99), "p999": pct(0.999), "max": pct(1.0)})
}

fn main() {
    let o = Arc::new(parse_args());
    let sent = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let (mut r, opened, deepest) = match o.rate {
        Some(rate) => {
            let (r, opened, deepest, n) = open_loop(&o, rate, start, &mut Rng(0x9E37_79B9_7F4A_7C15));
            sent.fetch_add(n, Ordering::Relaxed);
            (r, opened, deepest)
        }
        None => (closed_loop(&o, start, &sent), o.connections, 0),
    };
    let elapsed = start.elapsed().as_secs_f64();
    r.latencies_us.sort_unstable();
    r.accepted_us.sort_unstable();
    let answered: u64 = r.statuses.values().sum();
    let accepted = r.statuses.get(&202).copied().unwrap_or(0);
    let out = serde_json::json!({
        "mode": if o.rate.is_some() { "fixed-rate" } else { "closed-loop" },
        "target_rate": o.rate,
        "connections": o.connections,
        "connections_opened": opened,
        "client_queue_max": deepest,
        "seconds": elapsed,
        "sent": sent.load(Ordering::Relaxed),
        "answered": answered,
        "accepted_202": accepted,
        "statuses": r.statuses.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
        "errors": r.errors,
        "throughput_per_s": answered as f64 / elapsed,
        "accepted_per_s": accepted as f64 / elapsed,
        "latency_ms": percentiles(&r.latencies_us),
        "accepted_latency_ms": percentiles(&r.accepted_us),
    });
    println!("{out}");
}
