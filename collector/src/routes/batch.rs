//! `POST /api/batch`: up to 1 000 events in the `/api/event` format (≤ 1 MiB)
//! from a server-side sender with an API key of scope `ingest` (or `admin`).
//! Each item may carry the visitor's `ip` and `user_agent`, a `timestamp`
//! (not in the future, not older than the oldest salt kept) and an `id` (a
//! retried batch stores it once). The answer, sent once the stored events
//! are durable, has one result per item: `stored`, `duplicate`, `dropped`
//! (with the pipeline's reason) or `invalid` (with what was wrong).

use std::sync::Arc;
use std::time::Instant;

use mallard_core::payload::{self, BatchItem};
use mallard_core::time::{Date, now_micros};
use serde_json::{Value, json};

use super::respond;
use crate::app::App;
use crate::auth::access::Principal;
use crate::http::admission::BATCH_BODY_LIMIT;
use crate::http::{self, BodyError, Reply, Request, header};
use crate::ingest::batch_ids::BatchIds;
use crate::ingest::pipeline::Incoming;
use crate::ingest::wal::{AppendError, Completion};

const ROUTE: &str = "/api/batch";

/// One item's result.
enum ItemResult {
    Stored,
    Duplicate,
    Dropped(&'static str),
    Invalid(String),
}

fn result_json(id: Option<&str>, result: &ItemResult) -> Value {
    let mut v = match result {
        ItemResult::Stored => json!({"status": "stored"}),
        ItemResult::Duplicate => json!({"status": "duplicate"}),
        ItemResult::Dropped(reason) => json!({"status": "dropped", "reason": reason}),
        ItemResult::Invalid(reason) => json!({"status": "invalid", "reason": reason}),
    };
    if let Some(id) = id {
        v["id"] = json!(id);
    }
    v
}

fn summary(items: &[(Option<String>, ItemResult)]) -> Reply {
    let count = |f: fn(&ItemResult) -> bool| items.iter().filter(|(_, r)| f(r)).count();
    http::json(
        200,
        &json!({
            "stored": count(|r| matches!(r, ItemResult::Stored)),
            "duplicate": count(|r| matches!(r, ItemResult::Duplicate)),
            "dropped": count(|r| matches!(r, ItemResult::Dropped(_))),
            "invalid": count(|r| matches!(r, ItemResult::Invalid(_))),
            "results": items.iter().map(|(id, r)| result_json(id.as_deref(), r)).collect::<Vec<_>>(),
        }),
    )
}

pub fn post(app: &App, mut request: Request, who: &Principal, started: Instant) {
    let items = match http::read_body(&mut request, BATCH_BODY_LIMIT) {
        Ok(body) => payload::parse_batch(&body).map_err(|e| (400, e.0)),
        Err(BodyError::TooLarge) => Err((413, format!("a batch is at most {} KiB", BATCH_BODY_LIMIT / 1024))),
        Err(BodyError::Io(e)) => Err((400, format!("could not read the body: {e}"))),
    };
    let items = match items {
        Ok(items) => items,
        Err((status, message)) => {
            app.metrics.inc("mallard_events_rejected_total", &format!("status=\"{status}\""), 1.0);
            return respond(&app.metrics, request, http::error(status, &message), ROUTE, started);
        }
    };
    let sender = who.label();
    let now = now_micros();
    let oldest = app.pipeline.salts.oldest_micros();
    let mut results = Vec::with_capacity(items.len());
    let mut events = Vec::new();
    let mut claims = Vec::new();
    for item in items {
        let id = item.as_ref().ok().and_then(|i| i.id.clone());
        let result = match item {
            Err(e) => ItemResult::Invalid(e.0),
            Ok(item) => one(app, who, &sender, item, now, oldest, &mut events, &mut claims),
        };
        results.push((id, result));
    }
    for (_, result) in &results {
        match result {
            ItemResult::Dropped(reason) => {
                app.metrics.inc("mallard_events_dropped_total", &format!("reason=\"{reason}\""), 1.0)
            }
            ItemResult::Invalid(_) => app.metrics.inc("mallard_events_rejected_total", "status=\"400\"", 1.0),
            _ => {}
        }
    }
    if events.is_empty() {
        return respond(&app.metrics, request, summary(&results), ROUTE, started);
    }
    // Answered by the WAL's responder once the events are fsync'd.
    let metrics = Arc::clone(&app.metrics);
    let batch_ids = Arc::clone(&app.batch_ids);
    let done: Completion = Box::new(move |result| {
        let reply = match result {
            Ok(()) => summary(&results),
            Err(e) => {
                // Not stored: a retry must store these ids, not call them duplicates.
                batch_ids.release(&claims);
                unavailable(&metrics, &e)
            }
        };
        respond(&metrics, request, reply, ROUTE, started);
    });
    if let Err((e, done)) = app.wal.submit(events, done) {
        done(Err(e));
    }
}

/// Validates and enriches one item; its events (one per site) join `events`.
#[allow(clippy::too_many_arguments)]
fn one(
    app: &App,
    who: &Principal,
    sender: &str,
    item: BatchItem,
    now: i64,
    oldest: i64,
    events: &mut Vec<mallard_core::event::Event>,
    claims: &mut Vec<String>,
) -> ItemResult {
    let ts = item.timestamp.unwrap_or(now);
    if ts > now {
        return ItemResult::Invalid(format!(
            "timestamp {} is in the future (now is {})",
            mallard_core::time::format_timestamp(ts),
            mallard_core::time::format_timestamp(now)
        ));
    }
    if ts < oldest {
        return ItemResult::Invalid(format!(
            "timestamp {} is older than the oldest salt kept (from {}): its visitor id cannot be computed",
            mallard_core::time::format_timestamp(ts),
            Date::of_micros(oldest)
        ));
    }
    if let Some(site) = item.payload.domains.iter().find(|s| !who.can_read(s)) {
        return ItemResult::Invalid(format!("this API key does not cover site {site:?}"));
    }
    let key = item.id.as_deref().map(|id| BatchIds::key(sender, id));
    if let Some(key) = &key
        && !app.batch_ids.claim(key, now)
    {
        return ItemResult::Duplicate;
    }
    let incoming = Incoming { payload: item.payload, ip: item.ip, user_agent: item.user_agent.as_deref(), now: ts };
    let outcome = match app.pipeline.run(&incoming) {
        Ok(outcome) => outcome,
        Err(rejected) => {
            if let Some(key) = key {
                app.batch_ids.release(&[key]);
            }
            return ItemResult::Invalid(rejected.0);
        }
    };
    if outcome.events.is_empty() {
        if let Some(key) = key {
            app.batch_ids.release(&[key]);
        }
        return ItemResult::Dropped(outcome.dropped.first().map_or("dropped", |reason| reason.as_str()));
    }
    for mut event in outcome.events {
        event.batch_id = key.clone();
        events.push(event);
    }
    claims.extend(key);
    ItemResult::Stored
}

/// `503` for a batch that could not be made durable (none of it was stored).
fn unavailable(metrics: &crate::metrics::Metrics, error: &AppendError) -> Reply {
    metrics.inc("mallard_events_rejected_total", "status=\"503\"", 1.0);
    let retry = if *error == AppendError::Overloaded { "1" } else { "5" };
    http::error(503, &format!("{error}; nothing of this batch was stored")).with_header(header("Retry-After", retry))
}
