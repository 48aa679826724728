//! The HTTP server: hyper 1 connections on a tokio runtime of
//! `MALLARD_WORKERS` threads, serving axum's router on a listener the caller
//! binds (so tests use port 0), until the shutdown flag fires.
//!
//! A connection costs a task, not a thread, so a flood of connections cannot
//! starve the WAL writer or the query threads. Connections over
//! `MALLARD_MAX_CONNECTIONS` take one of a few reserved places, which serve
//! only the dashboard, stats and health (an event sent on one gets `503` and
//! the connection closes), so a flood of ingest connections cannot lock the
//! operator out; past the reserve, the accept loop answers `503` and closes;
//! request heads over [`MAX_HEAD`] bytes or [`MAX_HEADERS`] headers get `431`
//! (hyper); a head or body that stalls for [`IO_TIMEOUT`] is cut off.
//! Stats, dashboard and admin handlers (DuckDB, Argon2) run on the blocking
//! pool; ingestion and health run on the workers, as they never block.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use http_body_util::{BodyExt, Limited};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;
use tower_service::Service;

use super::admission::{self, Lane, Received, Reserved};
use super::{BodyError, Method, Request};
use crate::app::App;
use crate::shutdown::Shutdown;
use crate::{http, log, routes};

/// The largest request head (request line and headers) we read.
pub const MAX_HEAD: usize = 16 * 1024;
/// The most headers a request may have.
pub const MAX_HEADERS: usize = 100;
/// A request head or body that makes no progress this long is cut off.
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);
/// How much lower the HTTP threads' scheduling priority is than the WAL's.
const HTTP_NICE: i32 = 5;
/// How long shutdown waits for open requests to finish.
const DRAIN: Duration = Duration::from_secs(10);
/// Blocking threads for stats and admin handlers (each mostly waits for
/// DuckDB's own pool).
const BLOCKING_THREADS: usize = 64;

pub struct Server {
    addr: SocketAddr,
    thread: JoinHandle<()>,
}

impl Server {
    /// Serves `app` on `listener` until `shutdown` fires.
    pub fn start(listener: TcpListener, app: Arc<App>, shutdown: Shutdown) -> io::Result<Server> {
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(app.config.workers.max(1))
            .max_blocking_threads(BLOCKING_THREADS)
            .thread_name("http")
            // The WAL writer and its responder finish what the HTTP threads
            // accepted: under a flood, refusing the excess must not take
            // their CPU (ARCHITECTURE.md, write path).
            .on_thread_start(|| {
                let _ = rustix::process::nice(HTTP_NICE);
            })
            .enable_all()
            .build()?;
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let thread = std::thread::Builder::new().name("http-accept".into()).spawn(move || {
            runtime.block_on(serve(listener, app, shutdown));
            runtime.shutdown_timeout(Duration::from_secs(1));
        })?;
        Ok(Server { addr, thread })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits for the server to finish (after the shutdown flag fired and the
    /// open requests were answered).
    pub fn join(self) {
        let _ = self.thread.join();
    }
}

/// The router: every path goes to `dispatch` (the route table is
/// `routes::ROUTES`), behind the admission layer.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .fallback(dispatch)
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&app), admission::layer))
        .with_state(app)
}

async fn serve(listener: tokio::net::TcpListener, app: Arc<App>, shutdown: Shutdown) {
    let router = router(Arc::clone(&app));
    let connections = Arc::new(Semaphore::new(app.config.max_connections.max(1)));
    let reserve = Arc::new(Semaphore::new(reserved_connections(app.config.max_connections)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(IO_TIMEOUT)
        .max_buf_size(MAX_HEAD)
        .max_headers(MAX_HEADERS)
        .title_case_headers(true);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors or a connection reset before
                    // accept: back off a little, never stop serving.
                    log::warn("accept failed", &[("error", &e)]);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = stopped(&shutdown) => break,
        };
        let (permit, reserved) = match Arc::clone(&connections).try_acquire_owned() {
            Ok(p) => (p, false),
            Err(_) => match Arc::clone(&reserve).try_acquire_owned() {
                Ok(p) => (p, true),
                Err(_) => {
                    tokio::spawn(refuse(stream));
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(Received(Instant::now()));
            request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            if reserved {
                request.extensions_mut().insert(Reserved);
            }
            router.clone().call(request)
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown()).await.is_err() {
        log::warn("shutdown: some requests were still open after the drain time", &[]);
    }
}

/// Places kept for the dashboard, stats and health beyond
/// `MALLARD_MAX_CONNECTIONS`: 1/16 of it, at least 4.
pub fn reserved_connections(max_connections: usize) -> usize {
    (max_connections / 16).max(4)
}

/// Resolves once the shutdown flag is set (signals set it from a handler,
/// so it is polled).
async fn stopped(shutdown: &Shutdown) {
    while !shutdown.is_triggered() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The answer to a connection over `MALLARD_MAX_CONNECTIONS`, written before
/// any request is read (so it is complete bytes), then the connection closes.
async fn refuse(mut stream: tokio::net::TcpStream) {
    let body = serde_json::json!({ "error": "too many connections; retry later" }).to_string();
    let bytes = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n\
         Retry-After: 1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let _ = stream.write_all(bytes.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// Reads the body (up to the route's limit), runs the route and awaits its
/// reply. A handler that panics answers `500`, and the server goes on.
async fn dispatch(State(app): State<Arc<App>>, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let remote = parts.extensions.get::<axum::extract::ConnectInfo<SocketAddr>>().map(|c| c.0);
    let path = parts.uri.path();
    let lane = Lane::of(path);
    let limit = admission::body_limit(path);
    let body = match tokio::time::timeout(IO_TIMEOUT, Limited::new(body, limit + 1).collect()).await {
        Ok(Ok(collected)) => {
            let bytes = collected.to_bytes();
            if bytes.len() > limit { Err(BodyError::TooLarge) } else { Ok(bytes.to_vec()) }
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge),
        Ok(Err(e)) => Err(BodyError::Io(e.to_string())),
        Err(_) => return routes::finish(http::error(408, "the request body did not arrive in time")).into_response(),
    };
    let url = parts.uri.path_and_query().map_or_else(|| path.to_string(), |p| p.as_str().to_string());
    let place = parts.extensions.get::<admission::Place>().cloned();
    let (request, reply) = Request::new(Method::of(&parts.method), url, parts.headers, remote, body, place);
    let ran = match lane {
        Lane::Ingest | Lane::Health => {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| routes::handle(&app, request))).is_ok()
        }
        Lane::Query => {
            let app = Arc::clone(&app);
            tokio::task::spawn_blocking(move || routes::handle(&app, request)).await.is_ok()
        }
    };
    match reply.await {
        Ok(reply) => reply.into_response(),
        Err(_) => {
            // The handler panicked (or dropped the request without a reply).
            let what = if ran { "the request was dropped without a reply" } else { "a handler panicked" };
            log::error("internal error", &[("path", &path), ("error", &what)]);
            routes::finish(http::error(500, "internal error")).into_response()
        }
    }
}
