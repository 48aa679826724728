//! Queries: the embedded extension's stats engine, its connection pool and
//! result cache, and the saved funnels the reports read.

pub mod cache;
pub mod db;
pub mod extension;
pub mod funnels;
pub mod goals;
pub mod pool;
pub mod saved;
pub mod stats;
