//! `mallard`: a DuckDB loadable extension for privacy-first web analytics.
//!
//! `LOAD mallard` registers the `mallard_*` functions. Each SQL function
//! family lives in its own module and is a thin shell over `mallard-core`;
//! all `unsafe` code is confined to [`ffi`].

#![deny(unsafe_code)]

#[allow(unsafe_code)]
pub mod ffi;
pub mod footer;

mod conditions;
mod ducklake;
mod funnel;
mod next_node;
mod referrer;
mod report;
mod retention;
mod sequence;
mod sessionize;
mod uniq;
mod user_agent;
mod version;
mod visitor_id;
mod walk;

/// Registers every `mallard_*` function on `con` (the host database).
pub fn register_all(con: &ffi::Connection) -> Result<(), String> {
    register_private(con)?;
    report::register(con)?;
    Ok(())
}

/// Registers the functions the report SQL may call, on the private instance
/// the table functions run their queries in (the table functions themselves
/// are not needed there).
pub fn register_private(con: &ffi::Connection) -> Result<(), String> {
    version::register(con)?;
    visitor_id::register(con)?;
    user_agent::register(con)?;
    referrer::register(con)?;
    uniq::register(con)?;
    funnel::register(con)?;
    retention::register(con)?;
    sequence::register(con)?;
    next_node::register(con)?;
    sessionize::register(con)?;
    walk::register(con)?;
    Ok(())
}
