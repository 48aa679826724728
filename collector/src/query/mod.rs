//! Queries: the embedded extension's stats engine, its connection pool and
//! result cache, and the saved funnels the reports read.

pub mod annotations;
pub mod cache;
pub mod db;
pub mod extension;
pub mod funnels;
pub mod goals;
pub mod pool;
pub mod protection;
pub mod saved;
pub mod site_settings;
pub mod stats;
