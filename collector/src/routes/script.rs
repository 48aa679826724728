//! `GET /js/script.js`: the tracking script, embedded at build time.

use crate::http::{self, Reply, header};

const SCRIPT: &str = include_str!("../../../tracking/script.js");

pub fn get() -> Reply {
    http::reply(200, "application/javascript; charset=utf-8", SCRIPT)
        .with_header(header("Access-Control-Allow-Origin", "*"))
        .with_header(header("Cache-Control", "public, max-age=3600"))
}
