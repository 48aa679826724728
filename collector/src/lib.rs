//! `mallard-collector`: receives events from the tracking script, makes them
//! durable in a write-ahead log, enriches them through the ingest pipeline
//! and writes the Parquet lake the `mallard` extension reads.
//!
//! The binary (`main.rs`) only parses flags; everything else is here so tests
//! and tools can start a collector on any listener.

pub mod access;
pub mod app;
pub mod audit;
pub mod auth;
pub mod batch_ids;
pub mod cache;
pub mod compactor;
pub mod config;
pub mod db;
pub mod erase;
pub mod extension;
pub mod files;
pub mod flusher;
pub mod funnels;
pub mod geoip;
pub mod grants;
pub mod hot;
pub mod http;
pub mod keys;
pub mod lake;
pub mod lake_writer;
pub mod log;
pub mod metrics;
pub mod pipeline;
pub mod pool;
pub mod recovery;
pub mod routes;
pub mod salts;
pub mod secret;
pub mod shares;
pub mod shutdown;
pub mod stats;
pub mod wal;
