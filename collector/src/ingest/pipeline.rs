//! Ingestion as a pipeline of named steps. Each step enriches the event or
//! drops it with a reason; the reason is reported to the client
//! (`X-Mallard-Dropped`) and counted in `/metrics`.
//!
//! parse → site → bot → localhost → rate-limit → user-agent → geoip →
//! visitor-id → visit-id → url → referrer → row
//!
//! The IP address and the full user agent are used here and then discarded:
//! nothing in an [`Event`] can identify a person.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use mallard_core::event::{ENGAGEMENT, Event};
use mallard_core::page_url::{self, PageUrl};
use mallard_core::payload::Payload;
use mallard_core::rate_limit::TokenBucket;
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
    /// `(step, reason)` of each site's event that was dropped.
    pub dropped: Vec<(&'static str, &'static str)>,
}

/// A request the pipeline refuses outright (answered `400`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected(pub String);

pub struct Pipeline {
    pub sites: Vec<String>,
    pub allow_localhost: bool,
    pub rate_limit: f64,
    pub geoip: Option<GeoIp>,
    pub salts: Salts,
    visits: Mutex<VisitTracker>,
    buckets: Mutex<HashMap<String, TokenBucket>>,
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
    pub fn new(sites: Vec<String>, allow_localhost: bool, rate_limit: f64, geoip: Option<GeoIp>, salts: Salts) -> Self {
        Pipeline {
            sites,
            allow_localhost,
            rate_limit,
            geoip,
            salts,
            visits: Mutex::new(VisitTracker::new(SESSION_GAP_MICROS)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Restores a visit from stored events (start-up).
    pub fn restore_visit(&self, visitor: u64, visit: u64, last_ts: i64) {
        lock(&self.visits).restore(visitor, visit, last_ts);
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

    fn one(&self, incoming: &Incoming<'_>, page: &PageUrl, site: &str) -> Result<Event, (&'static str, &'static str)> {
        let p = &incoming.payload;
        // site
        if !self.sites.is_empty() && !self.sites.iter().any(|s| s == site) {
            return Err(("site", "unknown-site"));
        }
        // bot
        let ua = incoming.user_agent.unwrap_or("");
        if bot::is_bot(Some(ua.as_bytes())) {
            return Err(("bot", "bot"));
        }
        // localhost
        if !self.allow_localhost && is_local(&page.hostname) {
            return Err(("localhost", "localhost"));
        }
        // rate-limit
        if self.rate_limit > 0.0 {
            let mut buckets = lock(&self.buckets);
            let bucket = buckets
                .entry(site.to_string())
                .or_insert_with(|| TokenBucket::new(self.rate_limit, self.rate_limit.max(1.0), incoming.now));
            if !bucket.try_take(incoming.now) {
                return Err(("rate-limit", "rate-limited"));
            }
        }
        let mut event = Event { site: site.to_string(), ts: incoming.now, name: p.name.clone(), ..Event::default() };
        // user-agent
        user_agent::with_parsed(ua.as_bytes(), |parsed| {
            event.browser = parsed.browser.clone();
            event.browser_version = parsed.browser_version.clone();
            event.os = parsed.os.clone();
            event.os_version = parsed.os_version.clone();
            event.device = parsed.device.map(|d| d.as_str().to_string());
        });
        // geoip
        let location = match (&self.geoip, incoming.ip) {
            (Some(db), Some(ip)) => db.lookup(ip),
            _ => Location::default(),
        };
        event.country = location.country;
        event.region = location.region;
        event.city = location.city;
        // visitor-id: the previous period's salt keeps a visit that crosses
        // the salt boundary one visitor.
        let ip = incoming.ip.map(|ip| ip.to_string()).unwrap_or_default();
        // A batch's older event is hashed with the salt of its own period.
        let (current, previous) = self
            .salts
            .with_hashers_at(mallard_core::time::Date::of_micros(incoming.now), |cur, prev| {
                (
                    cur.id(site.as_bytes(), ip.as_bytes(), ua.as_bytes()),
                    prev.map(|h| h.id(site.as_bytes(), ip.as_bytes(), ua.as_bytes())),
                )
            })
            .ok_or(("visitor-id", "salt-expired"))?;
        let mut visits = lock(&self.visits);
        event.visitor_id = match previous {
            Some(prev) if !visits.is_active(current, incoming.now) && visits.is_active(prev, incoming.now) => prev,
            _ => current,
        };
        // visit-id: engagement rows never form or extend a visit.
        event.visit_id = if p.name == ENGAGEMENT {
            visits.peek(event.visitor_id, incoming.now).unwrap_or_else(random_id)
        } else {
            visits.assign(event.visitor_id, incoming.now, random_id)
        };
        drop(visits);
        // url
        event.hostname = Some(page.hostname.clone());
        event.pathname = Some(page.pathname.clone());
        event.utm_source = page.utm_source.clone();
        event.utm_medium = page.utm_medium.clone();
        event.utm_campaign = page.utm_campaign.clone();
        event.utm_content = page.utm_content.clone();
        event.utm_term = page.utm_term.clone();
        // referrer
        if let Some(r) = p.referrer.as_deref() {
            event.referrer = page_url::clean_referrer(r);
            event.referrer_source = referrer::referrer_source(r, Some(&page.hostname));
        }
        // row
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
        Ok(event)
    }
}

/// A random 64-bit id (visit ids must not be guessable or derivable).
pub fn random_id() -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).expect("the OS random source works");
    u64::from_le_bytes(b)
}
