//! `POST /api/event` (the tracker's endpoint, Plausible-compatible),
//! `GET /api/event?...` (a 1×1 GIF pixel for pages without JavaScript) and
//! the CORS preflight. Every well-formed event gets `202`, with
//! `X-Mallard-Dropped: <reason>` when it was dropped on purpose; malformed
//! input gets `400`, an oversized body `413`, and `503` when the event could
//! not be made durable (it was then not stored — the client may retry).

use std::sync::Arc;
use std::time::Instant;

use crate::http::Request;
use mallard_core::payload;
use mallard_core::time::now_micros;

use super::respond;
use crate::app::App;
use crate::http::{self, BodyError, Reply, header};
use crate::ingest::pipeline::Incoming;
use crate::ingest::wal::{AppendError, Completion};
use crate::metrics::Metrics;

/// Bodies larger than this are refused with `413`.
pub const MAX_BODY: usize = 64 * 1024;

/// The smallest transparent GIF (43 bytes).
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
    0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02,
    0x02, 0x44, 0x01, 0x00, 0x3b,
];

fn cors(reply: Reply) -> Reply {
    reply.with_header(header("Access-Control-Allow-Origin", "*"))
}

pub fn preflight() -> Reply {
    cors(http::reply(204, "text/plain", ""))
        .with_header(header("Access-Control-Allow-Methods", "POST, GET, OPTIONS"))
        .with_header(header("Access-Control-Allow-Headers", "Content-Type"))
        .with_header(header("Access-Control-Max-Age", "86400"))
}

const ROUTE: &str = "/api/event";

pub fn post(app: &App, mut request: Request, started: Instant) {
    let parsed = match http::read_body(&mut request, MAX_BODY) {
        Ok(body) => payload::parse_json(&body).map_err(|e| (400, e.0)),
        Err(BodyError::TooLarge) => Err((413, format!("body is larger than {} KiB", MAX_BODY / 1024))),
        Err(BodyError::Io(e)) => Err((400, format!("could not read the body: {e}"))),
    };
    match parsed {
        Ok(p) => ingest(app, request, p, None, started),
        Err((status, message)) => respond(&app.metrics, request, reject(app, status, &message), ROUTE, started),
    }
}

pub fn pixel(app: &App, request: Request, query: &str, started: Instant) {
    match payload::parse_query(query) {
        Ok(p) => ingest(app, request, p, Some(PIXEL), started),
        Err(e) => respond(&app.metrics, request, reject(app, 400, &e.0), ROUTE, started),
    }
}

fn reject(app: &App, status: u16, message: &str) -> Reply {
    app.metrics.inc("mallard_events_rejected_total", &format!("status=\"{status}\""), 1.0);
    cors(http::error(status, message))
}

/// The reply for a well-formed event that was stored or dropped on purpose.
fn accepted(pixel: Option<&[u8]>, dropped: Option<&str>) -> Reply {
    let reply = match pixel {
        Some(gif) => http::reply(202, "image/gif", gif.to_vec()).with_header(header("Cache-Control", "no-store")),
        None => http::reply(202, "text/plain", "ok"),
    };
    let reply = cors(reply);
    match dropped {
        Some(reason) => reply.with_header(header("X-Mallard-Dropped", reason)),
        None => reply,
    }
}

/// `503` for an event that could not be made durable (and was not stored).
fn unavailable(metrics: &Metrics, error: &AppendError) -> Reply {
    metrics.inc("mallard_events_rejected_total", "status=\"503\"", 1.0);
    let retry = if *error == AppendError::Overloaded { "1" } else { "5" };
    cors(http::error(503, &error.to_string())).with_header(header("Retry-After", retry))
}

fn ingest(app: &App, request: Request, payload: payload::Payload, pixel: Option<&'static [u8]>, started: Instant) {
    let incoming = Incoming {
        payload,
        ip: http::client_ip(&request, app.config.trust_proxy),
        user_agent: http::header_value(&request, "User-Agent"),
        now: now_micros(),
    };
    let outcome = match app.pipeline.run(&incoming) {
        Ok(outcome) => outcome,
        Err(rejected) => return respond(&app.metrics, request, reject(app, 400, &rejected.0), ROUTE, started),
    };
    drop(incoming);
    for reason in &outcome.dropped {
        app.metrics.inc("mallard_events_dropped_total", &format!("reason=\"{}\"", reason.as_str()), 1.0);
    }
    let dropped = outcome.dropped.first().map(|reason| reason.as_str());
    if outcome.events.is_empty() {
        return respond(&app.metrics, request, accepted(pixel, dropped), ROUTE, started);
    }
    // Answered by the WAL's responder once the events are fsync'd.
    let metrics = Arc::clone(&app.metrics);
    let done: Completion = Box::new(move |result| {
        let reply = match result {
            Ok(()) => accepted(pixel, dropped),
            Err(e) => unavailable(&metrics, &e),
        };
        respond(&metrics, request, reply, ROUTE, started);
    });
    if let Err((e, done)) = app.wal.submit(outcome.events, done) {
        done(Err(e));
    }
}
