//! Request routing. Each route lives in its own module; this one matches
//! method and path, answers unknown paths `404` and wrong methods `405`, and
//! records every request in the metrics.

use std::time::Instant;

use tiny_http::{Method, Request};

use crate::app::App;
use crate::http::{self, Reply, header};
use crate::metrics::Metrics;

mod dashboard;
mod event;
mod funnels;
mod health;
mod metrics;
mod query;
mod script;
mod sites;
mod stats;

/// Routes and the methods they accept (for `405` and `Allow`).
const ROUTES: &[(&str, &[&str])] = &[
    ("/", &["GET", "HEAD"]),
    ("/assets", &["GET", "HEAD"]),
    ("/api/sites", &["GET"]),
    ("/api/event", &["POST", "GET", "OPTIONS"]),
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
    ("/api/funnels", &["GET", "PUT", "DELETE"]),
];

/// Bodies of stats queries are small JSON objects.
const MAX_QUERY_BODY: usize = 64 * 1024;

pub fn handle(app: &App, request: Request) {
    let started = Instant::now();
    let (path, query) = http::split_url(request.url());
    let (path, query) = (path.to_string(), query.to_string());
    let method = request.method().clone();
    // `/api/stats/breakdown/<dimension>` is one route.
    let route_path = if path.starts_with("/api/stats/breakdown/") {
        "/api/stats/breakdown"
    } else if path.starts_with("/assets/") {
        "/assets"
    } else {
        path.as_str()
    };
    let route = ROUTES.iter().find(|(p, _)| *p == route_path);
    let reply: Reply = match (&method, path.as_str()) {
        // Ingestion answers once the event is durable, from the WAL's
        // responder thread: these take the request and respond themselves.
        (Method::Post, "/api/event") => return event::post(app, request, started),
        (Method::Get, "/api/event") => return event::pixel(app, request, &query, started),
        (Method::Options, "/api/event") => event::preflight(),
        (Method::Get | Method::Head, "/js/script.js") => script::get(),
        (Method::Get | Method::Head, "/") => dashboard::index(http::header_value(&request, "If-None-Match")),
        (Method::Get | Method::Head, p) if p.starts_with("/assets/") => {
            dashboard::asset(&p["/assets/".len()..], http::header_value(&request, "If-None-Match"))
        }
        (Method::Get, "/api/sites") => sites::get(app),
        (Method::Get | Method::Head, "/health") => health::live(),
        (Method::Get | Method::Head, "/health/ready") => health::ready(app),
        (Method::Get, "/health/detailed") => health::detailed(app),
        (Method::Get, "/metrics") => metrics::get(app, &request),
        (Method::Post, "/api/v2/query") => {
            let mut request = request;
            let reply = match http::read_body(&mut request, MAX_QUERY_BODY) {
                Ok(body) => query::post(app, &body),
                Err(http::BodyError::TooLarge) => http::error(413, "query body larger than 64 KiB"),
                Err(http::BodyError::Io(e)) => http::error(400, &format!("could not read the body: {e}")),
            };
            return respond(&app.metrics, request, reply, "/api/v2/query", started);
        }
        (Method::Get, "/api/stats/export") => stats::export(app, &query),
        (Method::Get, "/api/funnels") => funnels::get(app, &query),
        (Method::Delete, "/api/funnels") => funnels::delete(app, &query),
        (Method::Put, "/api/funnels") => {
            let mut request = request;
            let reply = match http::read_body(&mut request, MAX_QUERY_BODY) {
                Ok(body) => funnels::put(app, &query, &body),
                Err(http::BodyError::TooLarge) => http::error(413, "funnel body larger than 64 KiB"),
                Err(http::BodyError::Io(e)) => http::error(400, &format!("could not read the body: {e}")),
            };
            return respond(&app.metrics, request, reply, "/api/funnels", started);
        }
        (Method::Get, p) if p.starts_with("/api/stats/") && route.is_some() => {
            stats::get(app, p.trim_start_matches("/api/stats/"), &query)
        }
        _ => match route {
            Some((_, methods)) => {
                http::error(405, &format!("method {method} is not allowed here; use {}", methods.join(", ")))
                    .with_header(header("Allow", &methods.join(", ")))
            }
            None => http::error(404, &format!("no such endpoint: {path}")),
        },
    };
    respond(&app.metrics, request, reply, route.map_or("other", |(p, _)| p), started);
}

/// Sends `reply` and records the request in the metrics.
pub(crate) fn respond(metrics: &Metrics, request: Request, reply: Reply, route: &'static str, started: Instant) {
    let status = reply.status_code().0;
    let _ = request.respond(reply);
    metrics.request(route, status, started.elapsed());
}
