//! The bodies of the fuzz targets (`fuzz/`), one per parser that reads
//! untrusted text. Each must return on any input without panicking; where a
//! parser accepts its input, the result is checked for consistency. The
//! regression test (`core/tests/fuzz_regressions.rs`) runs every committed
//! corpus and crash input through the same functions on stable Rust.

use crate::{bot, filter, page_url, pattern, payload, referrer, step, user_agent};

/// The tracker payload: JSON body, and the pixel's query string.
pub fn payload(data: &[u8]) {
    let _ = payload::parse_json(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = payload::parse_query(s);
    }
}

/// Page URLs (path, hash mode, UTM) and referrers.
pub fn url(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else { return };
    for hash in [false, true] {
        if let Ok(u) = page_url::split(s, hash) {
            assert!(u.pathname.starts_with('/'), "a page path starts with '/': {:?}", u.pathname);
        }
    }
    let _ = page_url::clean_referrer(s);
    let _ = referrer::host_of(s);
    let _ = referrer::referrer_source(s, Some("example.com"));
}

/// User agents: parsing and bot detection.
pub fn user_agent(data: &[u8]) {
    let _ = user_agent::with_parsed(data, |ua| ua.device);
    let _ = bot::is_bot(Some(data));
}

/// Report filters (`'<dimension> <op> <value>'`).
pub fn filter(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = filter::parse(s);
    }
}

/// Sequence patterns; the first byte picks the number of conditions.
pub fn pattern(data: &[u8]) {
    let Some((n, rest)) = data.split_first() else { return };
    if let Ok(s) = std::str::from_utf8(rest) {
        let _ = pattern::parse(s, 1 + usize::from(*n) % 32);
    }
}

/// Funnel steps: an accepted glob always makes a valid regular expression.
pub fn step(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(step) = step::parse(s) {
        for m in &step.alternatives {
            if let step::Matcher::PagePattern(re) = m {
                assert!(regex::Regex::new(re).is_ok(), "glob {s:?} made an invalid regex {re:?}");
            }
        }
    }
}

/// A target body.
pub type Target = fn(&[u8]);

/// Every target by name (the fuzz targets and the regression test).
pub const TARGETS: &[(&str, Target)] = &[
    ("payload", payload),
    ("url", url),
    ("user_agent", user_agent),
    ("filter", filter),
    ("pattern", pattern),
    ("step", step),
];
