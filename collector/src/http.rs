//! Small HTTP helpers over `tiny_http`: responses, bounded body reads and the
//! client address.

use std::io::{Cursor, Read};
use std::net::IpAddr;

use tiny_http::{Header, Request, Response, StatusCode};

pub type Reply = Response<Cursor<Vec<u8>>>;

pub fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("header names and values are ASCII")
}

/// A response with a body and content type.
pub fn reply(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
    Response::from_data(body.into())
        .with_status_code(StatusCode(status))
        .with_header(header("Content-Type", content_type))
}

pub fn json(status: u16, value: &serde_json::Value) -> Reply {
    reply(status, "application/json", value.to_string()).with_header(header("Cache-Control", "no-store"))
}

/// `{"error": message}` with the given status.
pub fn error(status: u16, message: &str) -> Reply {
    json(status, &serde_json::json!({ "error": message }))
}

/// Why a body could not be read.
pub enum BodyError {
    TooLarge,
    Io(String),
}

/// Reads at most `limit` bytes of body; more is [`BodyError::TooLarge`].
pub fn read_body(request: &mut Request, limit: usize) -> Result<Vec<u8>, BodyError> {
    if request.body_length().is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    request.as_reader().take(limit as u64 + 1).read_to_end(&mut body).map_err(|e| BodyError::Io(e.to_string()))?;
    if body.len() > limit {
        return Err(BodyError::TooLarge);
    }
    Ok(body)
}

/// A request header's value.
pub fn header_value<'a>(request: &'a Request, name: &'static str) -> Option<&'a str> {
    request.headers().iter().find(|h| h.field.equiv(name)).map(|h| h.value.as_str())
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
