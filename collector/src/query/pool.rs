//! A fixed pool of DuckDB connections to one instance, so concurrent stats
//! queries run in parallel while ingestion goes on.

use std::sync::{Condvar, Mutex};

use duckdb::Connection;

pub struct Pool {
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
}

/// A connection borrowed from the pool; returned when dropped.
pub struct Pooled<'a> {
    pool: &'a Pool,
    connection: Option<Connection>,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.connection.as_ref().expect("held until drop")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.connection.take() {
            self.pool.idle.lock().unwrap_or_else(|e| e.into_inner()).push(c);
            self.pool.returned.notify_one();
        }
    }
}

impl Pool {
    /// `size` connections to the instance `first` belongs to.
    pub fn new(first: Connection, size: usize) -> duckdb::Result<Pool> {
        let mut idle = Vec::with_capacity(size.max(1));
        for _ in 1..size.max(1) {
            idle.push(first.try_clone()?);
        }
        idle.push(first);
        Ok(Pool { idle: Mutex::new(idle), returned: Condvar::new() })
    }

    /// Waits for an idle connection.
    pub fn get(&self) -> Pooled<'_> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(c) = idle.pop() {
                return Pooled { pool: self, connection: Some(c) };
            }
            idle = self.returned.wait(idle).unwrap_or_else(|e| e.into_inner());
        }
    }
}
