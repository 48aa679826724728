//! Request routing. Each route lives in its own module; this one matches
//! method and path, answers unknown paths `404` and wrong methods `405`, and
//! records every request in the metrics.

use std::time::Instant;

use crate::app::App;
use crate::auth::access::{self, Principal};
use crate::auth::users::Role;
use crate::http::{self, Method, Reply, Request, header};
use crate::metrics::Metrics;

mod annotations;
mod auth;
mod batch;
mod dashboard;
mod digests;
mod erase;
mod event;
mod filtered;
mod funnels;
mod goals;
mod health;
mod invitations;
mod keys;
mod metrics;
mod query;
mod saved;
mod script;
mod shares;
mod site_settings;
mod sites;
pub mod stats;
mod users;

/// Routes and the methods they accept (for `405` and `Allow`). Public so
/// that the security test walks every route: one added here is refused to a
/// read-only credential unless the test's list of reads names it.
pub const ROUTES: &[(&str, &[&str])] = &[
    ("/", &["GET", "HEAD"]),
    ("/assets", &["GET", "HEAD"]),
    ("/api/sites", &["GET", "POST", "DELETE"]),
    ("/api/sites/settings", &["GET", "PUT"]),
    ("/api/event", &["POST", "GET", "OPTIONS"]),
    ("/api/batch", &["POST"]),
    ("/js/script.js", &["GET", "HEAD"]),
    ("/health", &["GET", "HEAD"]),
    ("/health/ready", &["GET", "HEAD"]),
    ("/health/detailed", &["GET"]),
    ("/metrics", &["GET"]),
    ("/api/v2/query", &["POST"]),
    ("/api/stats/main", &["GET"]),
    ("/api/stats/timeseries", &["GET"]),
    ("/api/stats/breakdown", &["GET"]),
    ("/api/stats/sessions", &["GET"]),
    ("/api/stats/realtime", &["GET"]),
    ("/api/stats/export", &["GET"]),
    ("/api/stats/funnel", &["GET"]),
    ("/api/stats/retention", &["GET"]),
    ("/api/stats/sequences", &["GET"]),
    ("/api/stats/flow", &["GET"]),
    ("/api/stats/goals", &["GET"]),
    ("/api/funnels", &["GET", "PUT", "DELETE"]),
    ("/api/goals", &["GET", "PUT", "DELETE"]),
    ("/api/annotations", &["GET", "POST", "DELETE"]),
    ("/api/filtered", &["GET"]),
    ("/api/digests", &["GET", "PUT", "DELETE"]),
    ("/api/digests/unsubscribe", &["GET", "POST"]),
    ("/api/digests/mine", &["GET", "PUT"]),
    ("/api/auth/setup", &["POST"]),
    ("/api/auth/login", &["POST"]),
    ("/api/auth/logout", &["POST"]),
    ("/api/auth/status", &["GET"]),
    ("/api/auth/password", &["POST"]),
    ("/api/users", &["GET", "PUT", "DELETE"]),
    ("/api/invitations", &["GET", "POST", "DELETE"]),
    ("/api/invitations/accept", &["POST"]),
    ("/api/audit", &["GET"]),
    ("/invite", &["GET", "HEAD"]),
    ("/api/keys", &["GET", "POST", "DELETE"]),
    ("/api/shares", &["GET", "POST", "DELETE"]),
    ("/api/admin/erase", &["DELETE"]),
    ("/share", &["GET", "HEAD"]),
];

/// Who may use a route: everyone (ingestion, the page, health, login),
/// readers of stats, admins or owners (of the request's site), a logged-in
/// user (their own password), or server-side senders of events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Open,
    Read,
    Admin,
    Owner,
    Account,
    Ingest,
}

fn class(method: &Method, route: &str) -> Class {
    match route {
        "/api/sites" if *method == Method::Get => Class::Read,
        "/api/v2/query" => Class::Read,
        "/api/batch" => Class::Ingest,
        "/api/users" | "/api/invitations" | "/api/audit" | "/api/sites" => Class::Owner,
        "/api/auth/password" | "/api/digests/mine" => Class::Account,
        "/api/funnels" | "/api/goals" | "/api/sites/settings" | "/api/annotations" if *method == Method::Get => {
            Class::Read
        }
        "/api/funnels"
        | "/api/goals"
        | "/api/sites/settings"
        | "/api/annotations"
        | "/api/filtered"
        | "/api/digests"
        | "/api/keys"
        | "/api/shares"
        | "/api/admin/erase" => Class::Admin,
        r if r.starts_with("/api/stats/") => Class::Read,
        _ => Class::Open,
    }
}

/// Headers every response carries. The page runs only its own scripts and
/// styles (no inline script), talks only to this server, and may not be
/// framed; the share token in `/share/<token>` never leaks as a referrer.
const SECURITY_HEADERS: &[(&str, &str)] = &[
    (
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"),
];

/// The k of small-count protection for `who`: the site's setting on a
/// shared link, else 0 (nothing hidden).
fn small_count_k(app: &App, who: Option<&Principal>) -> u64 {
    match who {
        Some(Principal::Share { site }) => app.site_settings.get(site).k(),
        _ => 0,
    }
}

fn refuse((status, message): access::Refusal) -> Reply {
    let reply = http::error(status, &message);
    if status == 401 { reply.with_header(header("WWW-Authenticate", "Bearer")) } else { reply }
}

/// Routes whose records span sites (a key or link may cover any site, the
/// filtered-out counts and the audit log are the collector's): they need
/// the role on every site, whatever `site_id` says.
fn spans_sites(route: &str) -> bool {
    matches!(route, "/api/keys" | "/api/shares" | "/api/filtered" | "/api/audit" | "/api/sites")
}

/// Access control for stats and admin routes: `Err` is the reply to send.
fn authorize(app: &App, request: &Request, class: Class, route: &str, query: &str) -> Result<Option<Principal>, Reply> {
    if class == Class::Open {
        return Ok(None);
    }
    let site = http::params::Params::parse(query).get("site_id").map(str::to_lowercase);
    let site = site.as_deref().filter(|_| !spans_sites(route));
    let who = match class {
        Class::Admin => access::at_least(app, request, Role::Admin, site),
        Class::Owner => access::at_least(app, request, Role::Owner, site),
        Class::Account => access::user(app, request),
        Class::Ingest => access::ingester(app, request),
        _ => access::reader(app, request),
    }
    .map_err(refuse)?;
    if !matches!(request.method(), Method::Get | Method::Head) {
        access::check_origin(app, request, &who).map_err(refuse)?;
    }
    if let Some(site) = http::params::Params::parse(query).get("site_id")
        && !who.can_read(&site.to_lowercase())
    {
        return Err(http::error(403, &format!("this credential does not cover site {site:?}")));
    }
    Ok(Some(who))
}

/// Bodies of stats queries are small JSON objects.
const MAX_QUERY_BODY: usize = 64 * 1024;

/// The route a path belongs to: `/api/stats/breakdown/<dimension>`,
/// `/assets/*` and `/share/*` are one route each.
fn route_path(path: &str) -> &str {
    if path.starts_with("/api/stats/breakdown/") {
        "/api/stats/breakdown"
    } else if path.starts_with("/assets/") {
        "/assets"
    } else if path.starts_with("/share/") {
        "/share"
    } else if path.starts_with("/invite/") {
        "/invite"
    } else {
        path
    }
}

/// The route's name in the metrics (`other` for unknown paths).
pub fn route_name(path: &str) -> &'static str {
    let route_path = route_path(path);
    ROUTES.iter().find(|(p, _)| *p == route_path).map_or("other", |(p, _)| p)
}

pub fn handle(app: &App, request: Request) {
    let started = Instant::now();
    let (path, query) = http::split_url(request.url());
    let (path, query) = (path.to_string(), query.to_string());
    let method = request.method().clone();
    let route_path = route_path(&path);
    let route = ROUTES.iter().find(|(p, _)| *p == route_path);
    let route_name = route.map_or("other", |(p, _)| p);
    let class = class(&method, route_path);
    let cors = access::cors_origin(app, &request);
    if method == Method::Options && class != Class::Open {
        let reply = match &cors {
            Some(_) => http::reply(204, "text/plain", "")
                .with_header(header("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS"))
                .with_header(header("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Mallard-Share"))
                .with_header(header("Access-Control-Max-Age", "600")),
            None => http::error(
                403,
                "cross-origin requests to the stats API are allowed only from MALLARD_DASHBOARD_ORIGIN",
            ),
        };
        return respond_cors(&app.metrics, request, reply, route_name, started, cors);
    }
    let who = match authorize(app, &request, class, route_path, &query) {
        Ok(who) => who,
        Err(reply) => return respond_cors(&app.metrics, request, reply, route_name, started, cors),
    };
    let if_none_match = http::header_value(&request, "If-None-Match").map(str::to_string);
    let reply: Reply = match (&method, path.as_str()) {
        // Ingestion answers once the event is durable, from the WAL's
        // responder thread: these take the request and respond themselves.
        (Method::Post, "/api/event") => return event::post(app, request, started),
        (Method::Get, "/api/event") => return event::pixel(app, request, &query, started),
        (Method::Post, "/api/batch") => match &who {
            Some(who) => return batch::post(app, request, who, started),
            None => http::error(401, "sending a batch needs an API key with scope ingest"),
        },
        (Method::Options, "/api/event") => event::preflight(),
        (Method::Get | Method::Head, "/js/script.js") => script::get(),
        (Method::Get | Method::Head, "/") => dashboard::index(if_none_match.as_deref()),
        (Method::Get | Method::Head, p) if p.starts_with("/assets/") => {
            dashboard::asset(&p["/assets/".len()..], if_none_match.as_deref())
        }
        (Method::Get | Method::Head, p) if p.starts_with("/share/") => {
            shares::page(app, &p["/share/".len()..], if_none_match.as_deref())
        }
        (Method::Get | Method::Head, p) if p.starts_with("/invite/") => {
            invitations::page(app, &p["/invite/".len()..], if_none_match.as_deref())
        }
        (Method::Get, "/api/sites") => sites::get(app, who.as_ref()),
        (Method::Delete, "/api/sites") => sites::delete(app, &query, who.as_ref()),
        (Method::Get | Method::Head, "/health") => health::live(),
        (Method::Get | Method::Head, "/health/ready") => health::ready(app),
        (Method::Get, "/health/detailed") => health::detailed(app),
        (Method::Get, "/metrics") => metrics::get(app, &request),
        (Method::Get, "/api/auth/status") => auth::status(app, &request),
        (Method::Post, "/api/auth/logout") => auth::logout(app, &request),
        (Method::Post, "/api/v2/query") if small_count_k(app, who.as_ref()) > 1 => http::error(
            403,
            "a shared link with small-count protection reads the dashboard's reports, not /api/v2/query",
        ),
        (
            Method::Post,
            "/api/auth/setup"
            | "/api/auth/login"
            | "/api/auth/password"
            | "/api/v2/query"
            | "/api/keys"
            | "/api/shares"
            | "/api/annotations"
            | "/api/invitations"
            | "/api/invitations/accept"
            | "/api/sites",
        )
        | (
            Method::Put,
            "/api/funnels" | "/api/goals" | "/api/sites/settings" | "/api/digests" | "/api/digests/mine" | "/api/users",
        ) => {
            let mut request = request;
            let reply = match http::read_body(&mut request, MAX_QUERY_BODY) {
                Ok(body) => match path.as_str() {
                    "/api/auth/setup" => auth::setup(app, &request, &body),
                    "/api/auth/login" => auth::login(app, &request, &body),
                    "/api/invitations/accept" => invitations::accept(app, &request, &body),
                    "/api/auth/password" => auth::change_password(app, &request, &body, who.as_ref()),
                    "/api/keys" => keys::post(app, &body, who.as_ref()),
                    "/api/shares" => shares::post(app, &body, who.as_ref()),
                    "/api/invitations" => invitations::post(app, &request, &query, &body, who.as_ref()),
                    "/api/users" => users::put(app, &query, &body, who.as_ref()),
                    "/api/sites" => sites::post(app, &body, who.as_ref()),
                    "/api/funnels" => funnels::put(app, &query, &body),
                    "/api/goals" => goals::put(app, &query, &body),
                    "/api/sites/settings" => site_settings::put(app, &query, &body),
                    "/api/annotations" => annotations::post(app, &query, &body),
                    "/api/digests" => digests::put(app, &query, &body),
                    "/api/digests/mine" => digests::mine_put(app, &query, &body, who.as_ref()),
                    _ => query::post(app, &body, who.as_ref()),
                },
                Err(http::BodyError::TooLarge) => http::error(413, "request body larger than 64 KiB"),
                Err(http::BodyError::Io(e)) => http::error(400, &format!("could not read the body: {e}")),
            };
            return respond_cors(&app.metrics, request, reply, route_name, started, cors);
        }
        (Method::Get, "/api/stats/export") => stats::export(app, &query, small_count_k(app, who.as_ref())),
        (Method::Get, "/api/funnels") => funnels::get(app, &query),
        (Method::Delete, "/api/funnels") => funnels::delete(app, &query),
        (Method::Get, "/api/goals") => goals::get(app, &query),
        (Method::Get, "/api/sites/settings") => site_settings::get(app, &query),
        (Method::Get, "/api/annotations") => annotations::get(app, &query),
        (Method::Get, "/api/filtered") => filtered::get(app, &query),
        (Method::Get, "/api/digests") => digests::get(app, &query),
        (Method::Delete, "/api/digests") => digests::delete(app, &query),
        (Method::Get, "/api/digests/unsubscribe") => digests::unsubscribe_page(&query),
        (Method::Get, "/api/digests/mine") => digests::mine_get(app, &query, who.as_ref()),
        (Method::Post, "/api/digests/unsubscribe") => digests::unsubscribe(app, &query),
        (Method::Delete, "/api/annotations") => annotations::delete(app, &query),
        (Method::Delete, "/api/goals") => goals::delete(app, &query),
        (Method::Get, "/api/keys") => keys::get(app),
        (Method::Delete, "/api/keys") => keys::delete(app, &query, who.as_ref()),
        (Method::Get, "/api/shares") => shares::get(app),
        (Method::Delete, "/api/shares") => shares::delete(app, &query, who.as_ref()),
        (Method::Get, "/api/users") => users::get(app, &query),
        (Method::Delete, "/api/users") => users::delete(app, &query, who.as_ref()),
        (Method::Get, "/api/invitations") => invitations::get(app, &query),
        (Method::Delete, "/api/invitations") => invitations::delete(app, &query, who.as_ref()),
        (Method::Get, "/api/audit") => users::audit(app),
        (Method::Delete, "/api/admin/erase") => match &who {
            Some(who) => erase::delete(app, &query, who),
            None => http::error(401, "log in as an admin"),
        },
        (Method::Get, p) if p.starts_with("/api/stats/") && route.is_some() => {
            stats::get(app, p.trim_start_matches("/api/stats/"), &query, small_count_k(app, who.as_ref()))
        }
        _ => match route {
            Some((_, methods)) => {
                http::error(405, &format!("method {method} is not allowed here; use {}", methods.join(", ")))
                    .with_header(header("Allow", &methods.join(", ")))
            }
            None => http::error(404, &format!("no such endpoint: {path}")),
        },
    };
    respond_cors(&app.metrics, request, reply, route_name, started, cors);
}

/// [`respond`], with the CORS headers of an allowed dashboard origin.
fn respond_cors(
    metrics: &Metrics,
    request: Request,
    mut reply: Reply,
    route: &'static str,
    started: Instant,
    cors: Option<String>,
) {
    if let Some(origin) = cors {
        reply = reply
            .with_header(header("Access-Control-Allow-Origin", &origin))
            .with_header(header("Access-Control-Allow-Credentials", "true"))
            .with_header(header("Vary", "Origin"));
    }
    respond(metrics, request, reply, route, started);
}

/// Sends `reply` and records the request in the metrics.
pub(crate) fn respond(metrics: &Metrics, request: Request, reply: Reply, route: &'static str, started: Instant) {
    let reply = finish(reply);
    let status = reply.status();
    request.respond(reply);
    metrics.request(route, status, started.elapsed());
}

/// `reply` with the headers every response carries.
pub fn finish(mut reply: Reply) -> Reply {
    for (name, value) in SECURITY_HEADERS {
        reply = reply.with_header(header(name, value));
    }
    reply
}
