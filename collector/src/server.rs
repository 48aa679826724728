//! The HTTP server: a `tiny_http` server on a listener the caller binds (so
//! tests use port 0), a pool of worker threads, and a shutdown flag.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::app::App;
use crate::routes;
use crate::shutdown::Shutdown;

pub struct Server {
    addr: SocketAddr,
    workers: Vec<JoinHandle<()>>,
}

impl Server {
    /// Serves `app` on `listener` with `workers` threads until `shutdown` fires.
    pub fn start(listener: TcpListener, app: Arc<App>, workers: usize, shutdown: Shutdown) -> io::Result<Server> {
        let addr = listener.local_addr()?;
        let http =
            Arc::new(tiny_http::Server::from_listener(listener, None).map_err(|e| io::Error::other(e.to_string()))?);
        http.limit_connections(app.config.max_connections, refusal());
        let mut threads = Vec::new();
        for i in 0..workers.max(1) {
            let (http, app, shutdown) = (Arc::clone(&http), Arc::clone(&app), shutdown.clone());
            threads.push(std::thread::Builder::new().name(format!("http-{i}")).spawn(move || {
                while !shutdown.is_triggered() {
                    if let Ok(Some(request)) = http.recv_timeout(Duration::from_millis(100)) {
                        routes::handle(&app, request);
                    }
                }
            })?);
        }
        Ok(Server { addr, workers: threads })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits for the workers to finish (after the shutdown flag fired).
    pub fn join(self) {
        for t in self.workers {
            let _ = t.join();
        }
    }
}

/// The answer to a connection over `MALLARD_MAX_CONNECTIONS`, written by the
/// accept loop before any request is read (so it is complete bytes).
fn refusal() -> Vec<u8> {
    let body = serde_json::json!({ "error": "too many connections; retry later" }).to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n\
         Retry-After: 1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
