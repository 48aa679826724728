//! `mallard-core`: the pure logic that the `mallard` DuckDB extension and the
//! `mallard-collector` server share. No DuckDB and no HTTP live here, so every
//! algorithm is a plain function with plain unit tests, and there is exactly
//! one implementation of each: the extension's SQL functions and the
//! collector's ingest pipeline call the same code.
//!
//! No `unsafe` either (enforced), which is also why the fuzz targets run
//! without AddressSanitizer: there is no unsafe memory access to catch.

#![forbid(unsafe_code)]

pub mod bot;
pub mod dimension;
pub mod event;
pub mod filter;
pub mod funnel;
pub mod fuzzing;
pub mod goal;
pub mod lake;
pub mod next_node;
pub mod page_url;
pub mod pattern;
pub mod payload;
pub mod period;
pub mod quote;
pub mod referrer;
pub mod report;
pub mod retention;
pub mod salt;
pub mod sequence;
pub mod session;
pub mod sessionize;
pub mod signature;
pub mod step;
pub mod tally;
pub mod time;
pub mod user_agent;
pub mod visitor_id;
pub mod walk;

/// The version string reported by `mallard_version()` and the collector.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
