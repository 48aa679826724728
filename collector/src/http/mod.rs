//! The HTTP layer. [`server`] accepts connections (hyper 1 on tokio, axum's
//! router) and [`admission`] decides, before a body is read, whether a request
//! is served; the routes see only the plain [`Request`] and [`Reply`] below,
//! so a handler is a function of its inputs and can be tested without a socket.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use tokio::sync::oneshot;

pub mod admission;
pub mod params;
pub mod server;

/// Request methods the routes tell apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Options,
    Other(String),
}

impl Method {
    pub fn of(method: &axum::http::Method) -> Method {
        match method.as_str() {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            other => Method::Other(other.to_string()),
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Other(m) => m,
        })
    }
}

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    TooLarge,
    Io(String),
}

/// A request as the routes see it: its body already read (up to the route's
/// limit), and the channel its one reply goes to. Ingestion replies later,
/// from the WAL's responder, once the event is durable.
pub struct Request {
    method: Method,
    url: String,
    headers: HeaderMap,
    remote: Option<SocketAddr>,
    body: Result<Vec<u8>, BodyError>,
    reply_to: Option<oneshot::Sender<Reply>>,
    /// An ingest request's place in its admission lane, given back on reply.
    place: Option<admission::Place>,
}

impl Request {
    /// A request, and where its reply arrives.
    pub fn new(
        method: Method,
        url: String,
        headers: HeaderMap,
        remote: Option<SocketAddr>,
        body: Result<Vec<u8>, BodyError>,
        place: Option<admission::Place>,
    ) -> (Request, oneshot::Receiver<Reply>) {
        let (tx, rx) = oneshot::channel();
        (Request { method, url, headers, remote, body, reply_to: Some(tx), place }, rx)
    }

    pub fn method(&self) -> &Method {
        &self.method
    }

    /// Path and query, as sent.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn remote_addr(&self) -> Option<&SocketAddr> {
        self.remote.as_ref()
    }

    /// Sends the reply. A second reply, or one to a client that has gone, is
    /// dropped.
    pub fn respond(mut self, reply: Reply) {
        if let Some(place) = self.place.take() {
            place.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        }
        if let Some(tx) = self.reply_to.take() {
            let _ = tx.send(reply);
        }
    }
}

/// A response header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: String,
}

pub fn header(name: &str, value: &str) -> Header {
    Header { name: name.to_string(), value: value.to_string() }
}

/// A response: status, headers and a body.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<Header>,
    body: Vec<u8>,
}

impl Reply {
    pub fn with_header(mut self, header: Header) -> Reply {
        self.headers.push(header);
        self
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    pub fn headers(&self) -> &[Header] {
        &self.headers
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The hyper response (headers that are not valid HTTP are left out; ours
    /// are all ASCII).
    pub fn into_response(self) -> axum::response::Response {
        let mut response = axum::response::Response::new(axum::body::Body::from(self.body));
        *response.status_mut() =
            axum::http::StatusCode::from_u16(self.status).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        for h in self.headers {
            if let (Ok(name), Ok(value)) =
                (axum::http::HeaderName::from_bytes(h.name.as_bytes()), axum::http::HeaderValue::from_str(&h.value))
            {
                headers.append(name, value);
            }
        }
        response
    }
}

/// A response with a body and content type.
pub fn reply(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
    Reply { status, headers: vec![header("Content-Type", content_type)], body: body.into() }
}

pub fn json(status: u16, value: &serde_json::Value) -> Reply {
    reply(status, "application/json", value.to_string()).with_header(header("Cache-Control", "no-store"))
}

/// `{"error": message}` with the given status.
pub fn error(status: u16, message: &str) -> Reply {
    json(status, &serde_json::json!({ "error": message }))
}

/// The request's body; more than `limit` bytes is [`BodyError::TooLarge`].
/// (The server read at most its route's limit, see [`admission::body_limit`].)
pub fn read_body(request: &mut Request, limit: usize) -> Result<Vec<u8>, BodyError> {
    let body = std::mem::replace(&mut request.body, Ok(Vec::new()))?;
    if body.len() > limit {
        return Err(BodyError::TooLarge);
    }
    Ok(body)
}

/// A request header's value.
pub fn header_value<'a>(request: &'a Request, name: &'static str) -> Option<&'a str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

/// The client's IP: the socket peer, or the proxy's `X-Forwarded-For` /
/// `X-Real-IP` when the operator trusts the proxy in front of us.
pub fn client_ip(request: &Request, trust_proxy: bool) -> Option<IpAddr> {
    if trust_proxy {
        let forwarded = header_value(request, "X-Forwarded-For")
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok())
            .or_else(|| header_value(request, "X-Real-IP").and_then(|v| v.trim().parse().ok()));
        if forwarded.is_some() {
            return forwarded;
        }
    }
    request.remote_addr().map(|a| a.ip())
}

/// Splits a request URL into path and query.
pub fn split_url(url: &str) -> (&str, &str) {
    url.split_once('?').unwrap_or((url, ""))
}

/// The listen address as a client on this machine reaches it (a wildcard
/// listen address is reachable on loopback).
pub fn local_addr(addr: std::net::SocketAddr) -> std::net::SocketAddr {
    let ip = match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    std::net::SocketAddr::new(ip, addr.port())
}
