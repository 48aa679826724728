//! `GET /` and `/assets/*`: the dashboard (dashboard/), embedded at build
//! time, so the binary serves it with no files beside it and no CDN. The
//! page only ever talks to this server's stats API.

use crate::http::{self, Reply, header};

macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_bytes!(concat!("../../../dashboard/", $path)) as &[u8])),*]
    };
}

/// Every file the page loads, by its path under `/assets/`.
const ASSETS: &[(&str, &[u8])] = assets![
    "app.css",
    "vendor/preact-htm.js",
    "src/app.js",
    "src/api.js",
    "src/state.js",
    "src/format.js",
    "src/header.js",
    "src/kpis.js",
    "src/chart.js",
    "src/breakdown.js",
    "src/details.js",
    "src/funnel.js",
    "src/retention.js",
    "src/sequences.js",
    "src/flow.js",
    "src/sessions.js",
    "src/settings.js",
    "src/empty.js",
    "src/login.js",
    "src/keys.js",
    "src/shares.js",
    "src/goals.js",
    "src/suggest.js",
    "src/annotations.js",
    "src/filtered.js",
    "src/digests.js",
    "src/access.js",
    "src/team.js",
];

const INDEX: &[u8] = include_bytes!("../../../dashboard/index.html");

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// A content hash as the validator: the assets only change with the binary.
fn etag(body: &[u8]) -> String {
    let hash = body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3));
    format!("\"{hash:016x}\"")
}

fn serve(body: &'static [u8], content_type: &str, if_none_match: Option<&str>) -> Reply {
    let tag = etag(body);
    let reply = if if_none_match == Some(tag.as_str()) {
        http::reply(304, content_type, Vec::new())
    } else {
        http::reply(200, content_type, body)
    };
    reply.with_header(header("ETag", &tag)).with_header(header("Cache-Control", "no-cache"))
}

/// The page itself.
pub fn index(if_none_match: Option<&str>) -> Reply {
    serve(INDEX, "text/html; charset=utf-8", if_none_match)
}

/// `path` is what follows `/assets/`.
pub fn asset(path: &str, if_none_match: Option<&str>) -> Reply {
    match ASSETS.iter().find(|(p, _)| *p == path) {
        Some((p, body)) => serve(body, content_type(p), if_none_match),
        None => http::error(404, &format!("no such dashboard asset: {path}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_the_dashboard_is_served() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../dashboard/src");
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = format!("src/{}", entry.unwrap().file_name().to_string_lossy());
            assert!(ASSETS.iter().any(|(p, _)| *p == name), "{name} is not in ASSETS");
        }
    }
}
