//! `mallard-collector`: receives events from the tracking script, makes them
//! durable in a write-ahead log, enriches them through the ingest pipeline
//! and writes the Parquet lake the `mallard` extension reads.
//!
//! The binary (`main.rs`) only parses flags; everything else is here so tests
//! and tools can start a collector on any listener. The modules are grouped
//! by job: `http` (server, admission), `routes` (one file per endpoint),
//! `ingest` (pipeline, WAL, flusher, hot files), `lake` (scanning, writing,
//! compaction, erase), `query` (the stats engine and its stores), `auth`
//! (passwords, keys, shares, access).

pub mod app;
pub mod auth;
pub mod config;
pub mod digests;
pub mod files;
pub mod filtered;
pub mod http;
pub mod import;
pub mod ingest;
pub mod lake;
pub mod log;
pub mod metrics;
pub mod query;
pub mod routes;
pub mod shutdown;
pub mod store;
