//! The ids of batch events already stored (`POST /api/batch`), so a retried
//! batch stores each event once. An id is claimed before its event goes to
//! the WAL and released if the WAL refuses it; ids are remembered for
//! [`KEEP`] (at most [`CAPACITY`]), and after a restart the WAL's unflushed
//! events bring theirs back (`Event::batch_id`).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// How long an id is remembered, µs.
pub const KEEP: i64 = 24 * 3600 * 1_000_000;
/// The most ids remembered; the oldest go first.
pub const CAPACITY: usize = 1_000_000;

#[derive(Default)]
pub struct BatchIds {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Each id and when it was claimed.
    ids: HashMap<String, i64>,
    /// `(claimed at, id)`, oldest first; an entry whose id was released or
    /// claimed again since is skipped when it comes up.
    order: VecDeque<(i64, String)>,
}

impl BatchIds {
    /// The key an id is remembered under: ids are the sender's, so they are
    /// scoped by the API key that sent them.
    pub fn key(sender: &str, id: &str) -> String {
        format!("{sender}\u{0}{id}")
    }

    /// Claims `key` at `now`; `false` if it was already stored or claimed.
    pub fn claim(&self, key: &str, now: i64) -> bool {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        while let Some((at, _)) = inner.order.front() {
            if *at > now - KEEP && inner.order.len() < CAPACITY {
                break;
            }
            let (at, old) = inner.order.pop_front().expect("front exists");
            if inner.ids.get(&old) == Some(&at) {
                inner.ids.remove(&old);
            }
        }
        if inner.ids.contains_key(key) {
            return false;
        }
        inner.ids.insert(key.to_string(), now);
        inner.order.push_back((now, key.to_string()));
        true
    }

    /// Forgets claims whose events were not stored (the WAL refused them).
    pub fn release(&self, keys: &[String]) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for k in keys {
            inner.ids.remove(k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_stored_once_until_released_or_expired() {
        let ids = BatchIds::default();
        let k = BatchIds::key("key-1", "e-1");
        assert!(ids.claim(&k, 0));
        assert!(!ids.claim(&k, 1), "a retry is recognised");
        assert!(ids.claim(&BatchIds::key("key-2", "e-1"), 1), "another sender's id is its own");
        ids.release(std::slice::from_ref(&k));
        assert!(ids.claim(&k, 2), "a released claim can be made again");
        assert!(ids.claim(&k, 2 + KEEP), "remembered for KEEP only");
        // The entry of the claim made at 0 expires; the one made at 2 + KEEP stays.
        assert!(!ids.claim(&k, 3 + KEEP));
    }
}
