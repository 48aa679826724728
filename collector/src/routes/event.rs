//! `POST /api/event` (the tracker's endpoint, Plausible-compatible),
//! `GET /api/event?...` (a 1×1 GIF pixel for pages without JavaScript) and
//! the CORS preflight. Every well-formed event gets `202`, with
//! `X-Mallard-Dropped: <reason>` when it was dropped on purpose; malformed
//! input gets `400`, an oversized body `413`, and `503` when the event could
//! not be made durable (it was then not stored — the client may retry).

use mallard_core::payload;
use mallard_core::time::now_micros;
use tiny_http::Request;

use crate::app::App;
use crate::http::{self, BodyError, Reply, header};
use crate::pipeline::Incoming;
use crate::wal::AppendError;

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

pub fn post(app: &App, request: &mut Request) -> Reply {
    let body = match http::read_body(request, MAX_BODY) {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            return reject(app, 413, &format!("body is larger than {} KiB", MAX_BODY / 1024));
        }
        Err(BodyError::Io(e)) => return reject(app, 400, &format!("could not read the body: {e}")),
    };
    match payload::parse_json(&body) {
        Ok(p) => cors(ingest(app, request, p, None)),
        Err(e) => reject(app, 400, &e.0),
    }
}

pub fn pixel(app: &App, request: &Request, query: &str) -> Reply {
    match payload::parse_query(query) {
        Ok(p) => cors(ingest(app, request, p, Some(PIXEL))),
        Err(e) => reject(app, 400, &e.0),
    }
}

fn reject(app: &App, status: u16, message: &str) -> Reply {
    app.metrics.inc("mallard_events_rejected_total", &format!("status=\"{status}\""), 1.0);
    cors(http::error(status, message))
}

fn ingest(app: &App, request: &Request, payload: payload::Payload, pixel: Option<&[u8]>) -> Reply {
    let incoming = Incoming {
        payload,
        ip: http::client_ip(request, app.config.trust_proxy),
        user_agent: http::header_value(request, "User-Agent"),
        now: now_micros(),
    };
    let outcome = match app.pipeline.run(&incoming) {
        Ok(outcome) => outcome,
        Err(rejected) => return reject(app, 400, &rejected.0),
    };
    for (_, reason) in &outcome.dropped {
        app.metrics.inc("mallard_events_dropped_total", &format!("reason=\"{reason}\""), 1.0);
    }
    let dropped = outcome.dropped.first().map(|(_, reason)| *reason);
    if !outcome.events.is_empty() {
        match app.wal.append(outcome.events) {
            Ok(()) => {}
            Err(AppendError::Overloaded) => {
                return reject(app, 503, &AppendError::Overloaded.to_string()).with_header(header("Retry-After", "1"));
            }
            Err(e) => return reject(app, 503, &e.to_string()).with_header(header("Retry-After", "5")),
        }
    }
    let reply = match pixel {
        Some(gif) => http::reply(202, "image/gif", gif.to_vec()).with_header(header("Cache-Control", "no-store")),
        None => http::reply(202, "text/plain", "ok"),
    };
    match dropped {
        Some(reason) if !reason.is_empty() => reply.with_header(header("X-Mallard-Dropped", reason)),
        _ => reply,
    }
}
