//! Admission control: whether a request is served, decided from its head
//! before its body is read. Each lane has its own limit, so a flood of events
//! never takes the permits the dashboard or `/health` need:
//!
//! - **ingest** (`/api/event`, `/api/batch`): at most `MALLARD_QUEUE` requests
//!   wait for the write-ahead log; one more waits up to `MALLARD_SHED_AFTER`
//!   for a place and is then refused `503` + `Retry-After: 1`;
//! - **query** (stats, dashboard, everything else): [`QUERY_PERMITS`] at
//!   once, the rest queue for up to [`QUERY_WAIT`];
//! - **health** (`/health*`, `/metrics`): [`HEALTH_PERMITS`] at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::app::App;
use crate::http::{self, header};

/// Stats and dashboard requests served at once (DuckDB's pool runs the
/// queries; the rest of these wait there, not in the HTTP layer).
pub const QUERY_PERMITS: usize = 64;
/// How long a stats request may wait for a permit before `503`.
pub const QUERY_WAIT: Duration = Duration::from_secs(10);
/// Health and metrics requests served at once.
pub const HEALTH_PERMITS: usize = 32;
/// Bodies of events and stats queries are small JSON objects.
pub const BODY_LIMIT: usize = 64 * 1024;
/// `/api/batch` takes up to 1 000 events in at most 1 MiB.
pub const BATCH_BODY_LIMIT: usize = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Ingest,
    Query,
    Health,
}

impl Lane {
    pub fn of(path: &str) -> Lane {
        match path {
            "/api/event" | "/api/batch" => Lane::Ingest,
            "/health" | "/metrics" => Lane::Health,
            p if p.starts_with("/health/") => Lane::Health,
            _ => Lane::Query,
        }
    }
}

/// The most body bytes read for a request to `path`.
pub fn body_limit(path: &str) -> usize {
    if path == "/api/batch" { BATCH_BODY_LIMIT } else { BODY_LIMIT }
}

/// Acknowledged events not yet in the lake (the WAL's open segment plus the
/// sealed ones waiting for the flusher) beyond which ingestion answers `503`.
pub fn backlog_limit(flush_events: usize) -> usize {
    3 * flush_events.max(10_000)
}

/// Set on requests of a connection over `MALLARD_MAX_CONNECTIONS` (one of
/// the places reserved for the dashboard, stats and health).
#[derive(Debug, Clone, Copy)]
pub struct Reserved;

/// An ingest request's place in its lane, given back by `Request::respond`.
#[derive(Clone)]
pub struct Place(pub Arc<std::sync::Mutex<Option<OwnedSemaphorePermit>>>);

/// When the request's head was read (set by the server for each request).
#[derive(Debug, Clone, Copy)]
pub struct Received(pub Instant);

/// The permits of each lane.
pub struct Admission {
    ingest: Arc<Semaphore>,
    query: Arc<Semaphore>,
    health: Arc<Semaphore>,
    shed_after: Duration,
}

impl Admission {
    pub fn new(queue: usize, shed_after: Duration) -> Admission {
        Admission {
            ingest: Arc::new(Semaphore::new(queue.max(1))),
            query: Arc::new(Semaphore::new(QUERY_PERMITS)),
            health: Arc::new(Semaphore::new(HEALTH_PERMITS)),
            shed_after,
        }
    }

    /// A permit for `lane`, or `None` when the request is to be refused.
    pub async fn admit(&self, lane: Lane, received: Instant) -> Option<OwnedSemaphorePermit> {
        let (semaphore, wait) = match lane {
            Lane::Ingest => (&self.ingest, (!self.shed_after.is_zero()).then_some(self.shed_after)),
            Lane::Query => (&self.query, Some(QUERY_WAIT)),
            Lane::Health => (&self.health, Some(Duration::ZERO)),
        };
        // An event that already waited its time (a busy runtime between its
        // head and here) is shed even when a place is free: under overload
        // the accepted events keep a low latency and clients learn to back off.
        if lane == Lane::Ingest && wait.is_some_and(|w| received.elapsed() > w) {
            return None;
        }
        if let Ok(permit) = Arc::clone(semaphore).try_acquire_owned() {
            return Some(permit);
        }
        let acquire = Arc::clone(semaphore).acquire_owned();
        match wait {
            None => acquire.await.ok(),
            Some(wait) => {
                let left = wait.saturating_sub(received.elapsed());
                tokio::time::timeout(left, acquire).await.ok().and_then(Result::ok)
            }
        }
    }
}

/// The tower layer (axum middleware): admits the request or answers `503`.
pub async fn layer(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let lane = Lane::of(&path);
    let received = request.extensions().get::<Received>().map_or_else(Instant::now, |r| r.0);
    if lane == Lane::Ingest && request.extensions().get::<Reserved>().is_some() {
        let mut response = refusal(&app, lane, &path, received);
        response.headers_mut().insert("connection", axum::http::HeaderValue::from_static("close"));
        return response;
    }
    // Events waiting for the lake are held in memory: past the backlog
    // bound, refuse at once (nothing acknowledged is dropped, memory stays
    // bounded, and the sender retries when the flusher has caught up).
    if lane == Lane::Ingest && app.buffered_events() > backlog_limit(app.config.flush_events) {
        return refusal(&app, lane, &path, received);
    }
    let Some(permit) = app.admission.admit(lane, received).await else {
        return refusal(&app, lane, &path, received);
    };
    let mut request = request;
    if lane == Lane::Ingest {
        // An ingest place is given back when the reply is ready (the events
        // are durable), not when it has been written: under a flood the
        // writing waits behind the refusals.
        request.extensions_mut().insert(Place(Arc::new(std::sync::Mutex::new(Some(permit)))));
        return next.run(request).await;
    }
    let response = next.run(request).await;
    drop(permit);
    response
}

fn refusal(app: &App, lane: Lane, path: &str, received: Instant) -> Response {
    let (message, retry) = match lane {
        Lane::Ingest => ("the collector is overloaded; retry later", "1"),
        Lane::Query => ("too many stats requests at once; retry later", "2"),
        Lane::Health => ("too many health checks at once; retry later", "1"),
    };
    let mut reply = http::error(503, message).with_header(header("Retry-After", retry));
    if lane == Lane::Ingest {
        app.metrics.inc("mallard_events_rejected_total", "status=\"503\"", 1.0);
        reply = reply.with_header(header("Access-Control-Allow-Origin", "*"));
    }
    let reply = crate::routes::finish(reply);
    app.metrics.request(crate::routes::route_name(path), 503, received.elapsed());
    reply.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_and_limits() {
        assert_eq!(Lane::of("/api/event"), Lane::Ingest);
        assert_eq!(Lane::of("/api/batch"), Lane::Ingest);
        assert_eq!(Lane::of("/health/ready"), Lane::Health);
        assert_eq!(Lane::of("/api/stats/main"), Lane::Query);
        assert_eq!(Lane::of("/"), Lane::Query);
        assert_eq!(body_limit("/api/batch"), 1 << 20);
        assert_eq!(body_limit("/api/event"), 64 << 10);
    }

    #[tokio::test]
    async fn a_full_ingest_lane_refuses_after_the_shed_time() {
        let a = Admission::new(1, Duration::from_millis(20));
        let held = a.admit(Lane::Ingest, Instant::now()).await.expect("first is admitted");
        let started = Instant::now();
        assert!(a.admit(Lane::Ingest, Instant::now()).await.is_none(), "second is refused");
        assert!(started.elapsed() >= Duration::from_millis(15), "it waited for a place first");
        drop(held);
        assert!(a.admit(Lane::Ingest, Instant::now()).await.is_some(), "a freed place is taken");
        // The other lanes are untouched by a full ingest lane.
        let _full = a.admit(Lane::Ingest, Instant::now()).await;
        assert!(a.admit(Lane::Health, Instant::now()).await.is_some());
        assert!(a.admit(Lane::Query, Instant::now()).await.is_some());
    }
}
