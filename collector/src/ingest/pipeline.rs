//! Ingestion as a pipeline of named steps. Each step enriches the event or
//! drops it with a reason; the reason is reported to the client
//! (`X-Mallard-Dropped`) and counted in `/metrics`.
//!
//! parse → site → bot → localhost → rate-limit → user-agent → geoip →
//! visitor-id (and visit-id) → url → referrer → row: `STEPS`, each a plain
//! function of the event so far; a drop's reason is a closed [`DropReason`],
//! and each step's time is summed for `/metrics`.
//!
//! The IP address and the full user agent are used here and then discarded:
//! nothing in an [`Event`] can identify a person.

use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use mallard_core::event::{ENGAGEMENT, Event};
use mallard_core::page_url::{self, PageUrl};
use mallard_core::payload::Payload;
use mallard_core::session::{SESSION_GAP_MICROS, VisitTracker};
use mallard_core::{bot, lake, referrer, user_agent};

use crate::ingest::geoip::{GeoIp, Location};
use crate::ingest::salts::Salts;

/// What the tracker sent plus what the connection tells us.
pub struct Incoming<'a> {
    pub payload: Payload,
    pub ip: Option<IpAddr>,
    pub user_agent: Option<&'a str>,
    /// When the event happened, µs since the epoch: the receive time, or a
    /// batch item's own timestamp.
    pub now: i64,
}

/// The result for one request: events to store and, per site, drop reasons.
#[derive(Debug, Default)]
pub struct Outcome {
    pub events: Vec<Event>,
    /// Why each site's event that was dropped was dropped.
    pub dropped: Vec<DropReason>,
}

/// Why an event was dropped on purpose: a closed list. Its text is what
/// `X-Mallard-Dropped`, a batch item's result and the `reason` label say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    UnknownSite,
    Bot,
    Localhost,
    RateLimited,
    /// A batch event older than the oldest salt kept.
    SaltExpired,
}

impl DropReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::UnknownSite => "unknown-site",
            DropReason::Bot => "bot",
            DropReason::Localhost => "localhost",
            DropReason::RateLimited => "rate-limited",
            DropReason::SaltExpired => "salt-expired",
        }
    }
}

/// A request the pipeline refuses outright (answered `400`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected(pub String);

/// Whether a site outside `MALLARD_SITES` was added at run time.
pub type Added = Box<dyn Fn(&str) -> bool + Send + Sync>;

pub struct Pipeline {
    /// `MALLARD_SITES`: empty accepts every site.
    pub sites: Vec<String>,
    added: Added,
    pub allow_localhost: bool,
    pub geoip: Option<GeoIp>,
    pub salts: Salts,
    visits: Mutex<VisitTracker>,
    /// Per-site limit (`MALLARD_RATE_LIMIT` > 0); sites idle long enough to be at
    /// full burst again are pruned by [`Pipeline::prune_rate_limits`].
    limiter: Option<governor::DefaultKeyedRateLimiter<String>>,
    /// Nanoseconds spent in each of `STEPS`.
    step_nanos: [AtomicU64; STEPS.len()],
}

/// Hosts whose events are dropped unless `allow_localhost` is set.
fn is_local(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "0.0.0.0"
        || host == "[::1]"
        || host == "::1"
        || host.starts_with("127.")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Pipeline {
    pub fn new(
        sites: Vec<String>,
        added: Added,
        allow_localhost: bool,
        rate_limit: f64,
        geoip: Option<GeoIp>,
        salts: Salts,
    ) -> Self {
        Pipeline {
            sites,
            added,
            allow_localhost,
            geoip,
            salts,
            visits: Mutex::new(VisitTracker::new(SESSION_GAP_MICROS)),
            limiter: rate_limiter(rate_limit),
            step_nanos: Default::default(),
        }
    }

    /// Restores a visit from stored events (start-up).
    pub fn restore_visit(&self, visitor: u64, visit: u64, last_ts: i64) {
        lock(&self.visits).restore(visitor, visit, last_ts);
    }

    /// Forgets the rate-limit state of sites idle long enough to be back at
    /// full burst; returns how many sites are still tracked.
    pub fn prune_rate_limits(&self) -> usize {
        match &self.limiter {
            Some(limiter) => {
                limiter.retain_recent();
                limiter.len()
            }
            None => 0,
        }
    }

    /// Forgets visits older than the session gap; returns how many are open.
    pub fn expire_visits(&self, now: i64) -> usize {
        let mut v = lock(&self.visits);
        v.expire(now);
        v.len()
    }

    /// Runs every step for every site the payload names.
    pub fn run(&self, incoming: &Incoming<'_>) -> Result<Outcome, Rejected> {
        // parse: the payload arrived validated; the page URL must split.
        let p = &incoming.payload;
        let page = page_url::split(&p.url, p.hash_mode).map_err(|e| Rejected(e.0))?;
        for site in &p.domains {
            if !lake::valid_site(site) {
                return Err(Rejected(format!(
                    "d (site domain) {site:?} is not a valid host name (letters, digits, '-' and '.')"
                )));
            }
        }
        let mut outcome = Outcome::default();
        for site in &p.domains {
            match self.one(incoming, &page, site) {
                Ok(event) => outcome.events.push(event),
                Err(drop) => outcome.dropped.push(drop),
            }
        }
        Ok(outcome)
    }

    fn one(&self, incoming: &Incoming<'_>, page: &PageUrl, site: &str) -> Result<Event, DropReason> {
        let mut c = Ctx {
            incoming,
            page,
            site,
            ua: incoming.user_agent.unwrap_or(""),
            event: Event {
                site: site.to_string(),
                ts: incoming.now,
                name: incoming.payload.name.clone(),
                ..Event::default()
            },
        };
        for (i, (_, step)) in STEPS.iter().enumerate() {
            let started = Instant::now();
            let result = step(self, &mut c);
            self.step_nanos[i].fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
            result?;
        }
        Ok(c.event)
    }

    /// Time spent in each step since start-up, for `/metrics` (Prometheus text).
    pub fn render_step_times(&self, out: &mut String) {
        out.push_str("# HELP mallard_pipeline_step_seconds_total Time spent in each ingest pipeline step.\n");
        out.push_str("# TYPE mallard_pipeline_step_seconds_total counter\n");
        for (i, (name, _)) in STEPS.iter().enumerate() {
            let secs = self.step_nanos[i].load(Ordering::Relaxed) as f64 / 1e9;
            out.push_str(&format!("mallard_pipeline_step_seconds_total{{step=\"{name}\"}} {secs}\n"));
        }
    }
}

/// One event on its way through the steps.
struct Ctx<'a> {
    incoming: &'a Incoming<'a>,
    page: &'a PageUrl,
    site: &'a str,
    ua: &'a str,
    event: Event,
}

type StepFn = fn(&Pipeline, &mut Ctx<'_>) -> Result<(), DropReason>;

/// The steps, in order, by name (the `step` label in `/metrics`).
const STEPS: [(&str, StepFn); 10] = [
    ("site", site),
    ("bot", bot),
    ("localhost", localhost),
    ("rate-limit", rate_limit),
    ("user-agent", user_agent_step),
    ("geoip", geoip),
    ("visitor-id", visitor_and_visit),
    ("url", url),
    ("referrer", referrer_step),
    ("row", row),
];

fn site(p: &Pipeline, c: &mut Ctx<'_>) -> Result<(), DropReason> {
    if !p.sites.is_empty() && !p.sites.iter().any(|s| s == c.site) && !(p.added)(c.site) {
        return Err(DropReason::UnknownSite);
    }
    Ok(())
}

fn bot(_: &Pipeline, c: &mut Ctx<'_>) -> Result<(), DropReason> {
    if bot::is_bot(Some(c.ua.as_bytes())) { Err(DropReason::Bot) } else { Ok(()) }
}

fn localhost(p: &Pipeline, c: &mut Ctx<'_>) -> Result<(), DropReason> {
    if !p.allow_localhost && is_local(&c.page.hostname) { Err(DropReason::Localhost) } else { Ok(()) }
}

fn rate_limit(p: &Pipeline, c: &mut Ctx<'_>) -> Result<(), DropReason> {
    match &p.limiter {
        Some(limiter) if limiter.check_key(&c.site.to_string()).is_err() => Err(DropReason::RateLimited),
        _ => Ok(()),
    }
}

/// `rate` events per second per site on average, bursts of up to `rate`
/// (at least 1); `None` when unlimited.
fn rate_limiter(rate: f64) -> Option<governor::DefaultKeyedRateLimiter<String>> {
    if rate.is_nan() || rate <= 0.0 {
        return None;
    }
    let period = std::time::Duration::from_secs_f64(1.0 / rate).max(std::time::Duration::from_nanos(1));
    let burst =
        std::num::NonZeroU32::new(rate.clamp(1.0, f64::from(u32::MAX)) as u32).unwrap_or(std::num::NonZeroU32::MIN);
    let quota = governor::Quota::with_period(period)?.allow_burst(burst);
    Some(governor::RateLimiter::keyed(quota))
}

fn user_agent_step(_: &Pipeline, c: &mut Ctx<'_>) -> Result<(), DropReason> {
    let event = &mut c.event;
    user_agent::with_parsed(c.ua.as_bytes(), |parsed| {
        event.browser = parsed.browser.clone();
        event.browser_version = parsed.browser_version.clone();
        event.os = parsed.os.clone();
        event.os_version = parsed.os_version.clone();
        event.device = parsed.device.map(|d| d.as_str().to_string());
    });
    Ok(())
}

fn geoip(p: &Pipeline, c: &mut Ctx<'_>) -> Result<(), DropReason> {
    let location = match (&p.geoip, c.incoming.ip) {
        (Some(db), Some(ip)) => db.lookup(ip),
        _ => Location::default(),
    };
    c.event.country = location.country;
    c.event.region = location.region;
    c.event.city = location.city;
    Ok(())
}

/// visitor-id and visit-id: one step, as both need the visit tracker's lock.
fn visitor_and_visit(p: &Pipeline, c: &mut Ctx<'_>) -> Result<(), DropReason> {
    let (site, ua, now) = (c.site, c.ua, c.incoming.now);
    // The previous period's salt keeps a visit that crosses the salt boundary
    // one visitor; a batch's older event is hashed with its own period's salt.
    let ip = c.incoming.ip.map(|ip| ip.to_string()).unwrap_or_default();
    let (current, previous) = p
        .salts
        .with_hashers_at(mallard_core::time::Date::of_micros(now), |cur, prev| {
            (
                cur.id(site.as_bytes(), ip.as_bytes(), ua.as_bytes()),
                prev.map(|h| h.id(site.as_bytes(), ip.as_bytes(), ua.as_bytes())),
            )
        })
        .ok_or(DropReason::SaltExpired)?;
    let mut visits = lock(&p.visits);
    c.event.visitor_id = match previous {
        Some(prev) if !visits.is_active(current, now) && visits.is_active(prev, now) => prev,
        _ => current,
    };
    // Engagement rows never form or extend a visit.
    c.event.visit_id = if c.incoming.payload.name == ENGAGEMENT {
        visits.peek(c.event.visitor_id, now).unwrap_or_else(random_id)
    } else {
        visits.assign(c.event.visitor_id, now, random_id)
    };
    Ok(())
}

fn url(_: &Pipeline, c: &mut Ctx<'_>) -> Result<(), DropReason> {
    let (event, page) = (&mut c.event, c.page);
    event.hostname = Some(page.hostname.clone());
    event.pathname = Some(page.pathname.clone());
    event.utm_source = page.utm_source.clone();
    event.utm_medium = page.utm_medium.clone();
    event.utm_campaign = page.utm_campaign.clone();
    event.utm_content = page.utm_content.clone();
    event.utm_term = page.utm_term.clone();
    Ok(())
}

fn referrer_step(_: &Pipeline, c: &mut Ctx<'_>) -> Result<(), DropReason> {
    if let Some(r) = c.incoming.payload.referrer.as_deref() {
        c.event.referrer = page_url::clean_referrer(r);
        c.event.referrer_source = referrer::referrer_source(r, Some(&c.page.hostname));
    }
    Ok(())
}

fn row(_: &Pipeline, c: &mut Ctx<'_>) -> Result<(), DropReason> {
    let (event, p) = (&mut c.event, &c.incoming.payload);
    event.screen_width = p.screen_width;
    event.props = p.props.clone();
    if let Some(rev) = &p.revenue {
        event.revenue_amount = Some(rev.amount_e4);
        event.revenue_currency = Some(rev.currency.clone());
    }
    if p.name == ENGAGEMENT {
        event.scroll_depth = Some(p.scroll_depth.unwrap_or(0));
        event.engaged_ms = Some(p.engaged_ms.unwrap_or(0));
    } else if p.name != mallard_core::event::PAGEVIEW {
        event.interactive = Some(p.interactive.unwrap_or(true));
    }
    Ok(())
}

/// A random 64-bit id (visit ids must not be guessable or derivable).
pub fn random_id() -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).expect("the OS random source works");
    u64::from_le_bytes(b)
}
