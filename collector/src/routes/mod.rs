//! Request routing. Each route lives in its own module; this one matches
//! method and path, answers unknown paths `404` and wrong methods `405`, and
//! records every request in the metrics.

use std::time::Instant;

use tiny_http::{Method, Request};

use crate::app::App;
use crate::http::{self, Reply, header};
use crate::metrics::Metrics;

mod event;
mod health;
mod metrics;
mod script;

/// Routes and the methods they accept (for `405` and `Allow`).
const ROUTES: &[(&str, &[&str])] = &[
    ("/api/event", &["POST", "GET", "OPTIONS"]),
    ("/js/script.js", &["GET", "HEAD"]),
    ("/health", &["GET", "HEAD"]),
    ("/health/ready", &["GET", "HEAD"]),
    ("/health/detailed", &["GET"]),
    ("/metrics", &["GET"]),
];

pub fn handle(app: &App, request: Request) {
    let started = Instant::now();
    let (path, query) = http::split_url(request.url());
    let (path, query) = (path.to_string(), query.to_string());
    let method = request.method().clone();
    let route = ROUTES.iter().find(|(p, _)| *p == path);
    let reply: Reply = match (&method, path.as_str()) {
        // Ingestion answers once the event is durable, from the WAL's
        // responder thread: these take the request and respond themselves.
        (Method::Post, "/api/event") => return event::post(app, request, started),
        (Method::Get, "/api/event") => return event::pixel(app, request, &query, started),
        (Method::Options, "/api/event") => event::preflight(),
        (Method::Get | Method::Head, "/js/script.js") => script::get(),
        (Method::Get | Method::Head, "/health") => health::live(),
        (Method::Get | Method::Head, "/health/ready") => health::ready(app),
        (Method::Get, "/health/detailed") => health::detailed(app),
        (Method::Get, "/metrics") => metrics::get(app, &request),
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
