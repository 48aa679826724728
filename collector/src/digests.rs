//! Email digests: a weekly (Monday to Sunday) and a monthly report per
//! site, to the addresses subscribed to it, over SMTP (`MALLARD_SMTP_URL`).
//!
//! Every housekeeping pass asks, per site and cadence, for the last whole
//! period in the site's time zone; if the store does not record it as sent,
//! the digest is made (with the same reports as the stats API) and sent, then
//! recorded. So a digest whose period ended while the collector was down is
//! sent once when it is back, and a restart sends nothing twice. On a shared
//! lake only the maintainer sends. Each message carries a one-click
//! unsubscribe link (RFC 8058) built from `MALLARD_PUBLIC_URL`.

use std::collections::BTreeMap;
use std::io;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use mallard_core::period::{self, DateRange};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::app::App;
use crate::query::stats::{Kind, Request};
use crate::store::{Doc, Store};

/// A digest's cadence: its name and the period it covers.
pub const CADENCES: [(&str, &str); 2] = [("weekly", "last_week"), ("monthly", "last_month")];

/// One subscribed address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscriber {
    pub email: String,
    pub weekly: bool,
    pub monthly: bool,
    /// Lets whoever holds the email unsubscribe it, and nothing else.
    pub token: String,
    /// The user who opted in (their own address), if it was not an admin's
    /// entry: they get digests only while they may read the site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// A site's subscribers and the periods already sent, by cadence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteDigests {
    pub subscribers: Vec<Subscriber>,
    #[serde(default)]
    pub sent: BTreeMap<String, String>,
}

pub struct Digests {
    doc: Doc<BTreeMap<String, SiteDigests>>,
}

impl Digests {
    pub fn open(store: &Store) -> io::Result<Digests> {
        Ok(Digests { doc: store.open("digests")? })
    }

    pub fn subscribers(&self, site: &str) -> Vec<Subscriber> {
        self.doc.read(|sites| sites.get(site).map(|s| s.subscribers.clone()).unwrap_or_default())
    }

    /// Subscribes `email` (or changes its cadences); false when neither is on
    /// (then it is removed).
    pub fn put(&self, site: &str, email: &str, weekly: bool, monthly: bool) -> io::Result<()> {
        let token = crate::auth::secret::token("unsub_")?;
        self.doc.update(|sites| {
            let entry = sites.entry(site.to_string()).or_default();
            entry.subscribers.retain(|s| s.email != email || weekly || monthly);
            match entry.subscribers.iter_mut().find(|s| s.email == email) {
                Some(s) => (s.weekly, s.monthly) = (weekly, monthly),
                None if weekly || monthly => {
                    entry.subscribers.push(Subscriber { email: email.to_string(), weekly, monthly, token, user: None })
                }
                None => {}
            }
        })
    }

    /// User `user`'s own subscription to `site`, if any.
    pub fn mine(&self, site: &str, user: &str) -> Option<Subscriber> {
        self.doc.read(|sites| sites.get(site)?.subscribers.iter().find(|s| s.user.as_deref() == Some(user)).cloned())
    }

    /// User `user` opts in to `site`'s digests at `email` (replacing their
    /// earlier address), or out when neither cadence is on.
    pub fn put_mine(&self, site: &str, user: &str, email: &str, weekly: bool, monthly: bool) -> io::Result<()> {
        let token = crate::auth::secret::token("unsub_")?;
        self.doc.update(|sites| {
            let entry = sites.entry(site.to_string()).or_default();
            entry.subscribers.retain(|s| s.user.as_deref() != Some(user));
            if weekly || monthly {
                let user = Some(user.to_string());
                entry.subscribers.push(Subscriber { email: email.to_string(), weekly, monthly, token, user });
            }
        })
    }

    /// Removes the subscriber `token` names: its site and email, if any.
    pub fn unsubscribe(&self, token: &str) -> io::Result<Option<(String, String)>> {
        self.doc.update(|sites| {
            for (site, entry) in sites.iter_mut() {
                if let Some(i) = entry
                    .subscribers
                    .iter()
                    .position(|s| crate::auth::secret::same(s.token.as_bytes(), token.as_bytes()))
                {
                    let gone = entry.subscribers.remove(i);
                    return Some((site.clone(), gone.email));
                }
            }
            None
        })
    }

    fn sites(&self) -> Vec<(String, SiteDigests)> {
        self.doc.read(|sites| sites.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    fn mark_sent(&self, site: &str, cadence: &str, start: &str) -> io::Result<()> {
        self.doc.update(|sites| {
            sites.entry(site.to_string()).or_default().sent.insert(cadence.to_string(), start.to_string());
        })
    }
}

/// Whether `email` looks like an address we can send to.
pub fn valid_email(email: &str) -> bool {
    email.len() <= 254 && email.parse::<lettre::Address>().is_ok()
}

/// One number and its change against the previous period.
fn line(label: &str, now: &Value, before: &Value) -> String {
    let (n, b) = (now.as_f64(), before.as_f64());
    let change = match (n, b) {
        (Some(n), Some(b)) if b > 0.0 => format!(" ({:+.0}% vs {})", (n - b) / b * 100.0, before),
        _ => String::new(),
    };
    format!("{label}: {now}{change}\n")
}

/// The digest's text for `site` over `range` (and the range before it).
pub fn text(app: &App, site: &str, cadence: &str, period: &str, range: DateRange) -> Result<String, String> {
    let tz = app.site_settings.get(site).timezone;
    let request = |kind: Kind, range: DateRange| Request {
        kind,
        site: site.to_string(),
        range,
        timezone: tz.clone(),
        filters: vec![],
    };
    let run = |kind: Kind, range: DateRange| app.stats.run(&request(kind, range)).map_err(|e| e.to_string());
    let main = run(Kind::Metrics, range)?.objects().into_iter().next().unwrap_or_default();
    let before = run(Kind::Metrics, range.previous(period))?.objects().into_iter().next().unwrap_or_default();
    let mut out =
        format!("{site}: {cadence} report, {} to {} ({})\n\n", range.start, range.end, tz.as_deref().unwrap_or("UTC"));
    for (key, label) in [("visitors", "Visitors"), ("visits", "Visits"), ("pageviews", "Pageviews")] {
        out.push_str(&line(label, &main[key], &before[key]));
    }
    for (dimension, title) in [("event:page", "Top pages"), ("visit:source", "Top sources")] {
        out.push_str(&format!("\n{title}:\n"));
        let kind = Kind::Breakdown { dimension: dimension.into(), top: Some(5), goal: None };
        for row in run(kind, range)?.objects() {
            out.push_str(&format!("  {}  {}\n", row["value"].as_str().unwrap_or(""), row["visitors"]));
        }
    }
    let goals = app.goals.list(site);
    if !goals.is_empty() {
        out.push_str("\nGoal conversions:\n");
        let kind = Kind::Goals { goals: goals.iter().map(|g| g.text()).collect() };
        for (goal, row) in goals.iter().zip(run(kind, range)?.objects()) {
            let rate = row["conversion_rate"].as_f64().map_or("–".to_string(), |r| format!("{r:.1}%"));
            out.push_str(&format!("  {}  {} ({rate})\n", goal.name, row["visitors"]));
        }
    }
    Ok(out)
}

/// The SMTP transport of `MALLARD_SMTP_URL`.
fn transport(url: &str) -> Result<SmtpTransport, String> {
    let u = url::Url::parse(url).map_err(|_| "MALLARD_SMTP_URL is not a URL".to_string())?;
    let host = u.host_str().ok_or("MALLARD_SMTP_URL has no host")?.to_string();
    let tls = TlsParameters::new(host.clone()).map_err(|e| format!("TLS for {host}: {e}"))?;
    let (tls, default_port) =
        if u.scheme() == "smtps" { (Tls::Wrapper(tls), 465) } else { (Tls::Opportunistic(tls), 587) };
    let mut builder = SmtpTransport::builder_dangerous(host).port(u.port().unwrap_or(default_port)).tls(tls);
    if !u.username().is_empty() {
        let decode =
            |s: &str| url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned());
        let user = decode(u.username()).unwrap_or_default();
        let pass = decode(u.password().unwrap_or("")).unwrap_or_default();
        builder = builder.credentials(lettre::transport::smtp::authentication::Credentials::new(user, pass));
    }
    Ok(builder.timeout(Some(std::time::Duration::from_secs(20))).build())
}

/// Whether user `id` (still) may read `site`: a user who left the team or
/// lost the site gets no more of its numbers by email.
fn may_read(app: &App, id: &str, site: &str) -> bool {
    app.auth.users.get(id).is_some_and(|u| crate::auth::users::role_on(&u.roles, Some(site)).is_some())
}

/// Sends what is due. Returns the messages sent.
pub fn send_due(app: &App) -> Result<usize, String> {
    let Some(url) = &app.config.smtp_url else { return Ok(0) };
    let from: Mailbox = app.config.smtp_from.parse().map_err(|e| format!("MALLARD_SMTP_FROM: {e}"))?;
    let mut mailer = None;
    let mut sent = 0;
    for (site, digests) in app.digests.sites() {
        if digests.subscribers.is_empty() {
            continue;
        }
        let tz = app.site_settings.get(&site).timezone;
        let today = app.stats.today(tz.as_deref()).map_err(|e| e.to_string())?;
        for (cadence, period) in CADENCES {
            let range = period::resolve(period, None, today)?;
            let start = range.start.to_string();
            let to: Vec<&Subscriber> = digests
                .subscribers
                .iter()
                .filter(|s| if cadence == "weekly" { s.weekly } else { s.monthly })
                .filter(|s| s.user.as_deref().is_none_or(|id| may_read(app, id, &site)))
                .collect();
            if to.is_empty() || digests.sent.get(cadence) == Some(&start) {
                continue;
            }
            let body = text(app, &site, cadence, period, range)?;
            let mailer = match &mailer {
                Some(m) => m,
                None => mailer.insert(transport(&url.0)?),
            };
            for s in to {
                let link = format!("{}/api/digests/unsubscribe?token={}", app.config.public_url(None), s.token);
                let message = Message::builder()
                    .from(from.clone())
                    .to(s.email.parse().map_err(|e| format!("subscriber address: {e}"))?)
                    .subject(format!("{site}: {cadence} report, {} to {}", range.start, range.end))
                    .header(ContentType::TEXT_PLAIN)
                    .header(ListUnsubscribe(format!("<{link}>")))
                    .header(ListUnsubscribePost)
                    .body(format!("{body}\nUnsubscribe: {link}\n"))
                    .map_err(|e| e.to_string())?;
                mailer.send(&message).map_err(|e| format!("SMTP: {e}"))?;
                sent += 1;
            }
            app.digests.mark_sent(&site, cadence, &start).map_err(|e| e.to_string())?;
            crate::log::info("sent a digest", &[("site", &site), ("cadence", &cadence), ("start", &start)]);
        }
    }
    Ok(sent)
}

/// `List-Unsubscribe: <https://…>`.
#[derive(Clone)]
struct ListUnsubscribe(String);

impl lettre::message::header::Header for ListUnsubscribe {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_string()))
    }
    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Clone)]
struct ListUnsubscribePost;

impl lettre::message::header::Header for ListUnsubscribePost {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }
    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_string())
    }
}
