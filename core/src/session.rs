//! Visits: a maximal run of one visitor's events with no gap longer than the
//! session gap (30 minutes). The collector assigns each event its visit id at
//! ingest with a [`VisitTracker`]; `mallard_sessionize` applies the same rule
//! in SQL. A gap of exactly the session gap does not split a visit.

use std::collections::HashMap;

use crate::time::MICROS_PER_SECOND;

/// The default session gap: 30 minutes.
pub const SESSION_GAP_MICROS: i64 = 30 * 60 * MICROS_PER_SECOND;

/// Whether an event at `ts` continues a visit whose last event was at `last`.
#[inline]
pub fn continues(last: i64, ts: i64, gap: i64) -> bool {
    ts.saturating_sub(last) <= gap
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Current {
    visit_id: u64,
    last_ts: i64,
}

/// Each visitor's current visit, in memory, for assigning visit ids at ingest.
#[derive(Debug)]
pub struct VisitTracker {
    gap: i64,
    current: HashMap<u64, Current>,
}

impl VisitTracker {
    pub fn new(gap: i64) -> Self {
        Self { gap, current: HashMap::new() }
    }

    /// The visit id for an event of `visitor` at `ts`: the current visit's if
    /// the event continues it (and extends it to `ts`), else a new visit with
    /// the id `new_id()` returns.
    pub fn assign(&mut self, visitor: u64, ts: i64, new_id: impl FnOnce() -> u64) -> u64 {
        match self.current.get_mut(&visitor) {
            Some(c) if continues(c.last_ts, ts, self.gap) => {
                c.last_ts = c.last_ts.max(ts);
                c.visit_id
            }
            _ => {
                let visit_id = new_id();
                self.current.insert(visitor, Current { visit_id, last_ts: ts });
                visit_id
            }
        }
    }

    /// The current visit of `visitor` at `ts` without extending it (for rows
    /// that must not form or extend visits, like engagement).
    pub fn peek(&self, visitor: u64, ts: i64) -> Option<u64> {
        self.current.get(&visitor).filter(|c| continues(c.last_ts, ts, self.gap)).map(|c| c.visit_id)
    }

    /// Whether `visitor` has a visit still open at `ts`.
    pub fn is_active(&self, visitor: u64, ts: i64) -> bool {
        self.peek(visitor, ts).is_some()
    }

    /// Restores a visit known from stored events (at start-up).
    pub fn restore(&mut self, visitor: u64, visit_id: u64, last_ts: i64) {
        let entry = self.current.entry(visitor).or_insert(Current { visit_id, last_ts });
        if last_ts >= entry.last_ts {
            *entry = Current { visit_id, last_ts };
        }
    }

    /// Forgets visits that ended more than a gap before `now`.
    pub fn expire(&mut self, now: i64) {
        let gap = self.gap;
        self.current.retain(|_, c| continues(c.last_ts, now, gap));
    }

    pub fn len(&self) -> usize {
        self.current.len()
    }

    pub fn is_empty(&self) -> bool {
        self.current.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60 * MICROS_PER_SECOND;

    #[test]
    fn thirty_minutes_exactly_continues_a_visit() {
        let mut t = VisitTracker::new(SESSION_GAP_MICROS);
        let mut next = 100;
        let mut id = || {
            next += 1;
            next
        };
        let a = t.assign(1, 0, &mut id);
        assert_eq!(t.assign(1, 30 * MIN, &mut id), a);
        assert_eq!(t.assign(1, 60 * MIN, &mut id), a);
        let b = t.assign(1, 90 * MIN + 1, &mut id);
        assert_ne!(a, b);
        assert_ne!(t.assign(2, 90 * MIN + 1, &mut id), b);
    }

    #[test]
    fn peek_does_not_extend() {
        let mut t = VisitTracker::new(SESSION_GAP_MICROS);
        let a = t.assign(1, 0, || 7);
        assert_eq!(t.peek(1, 29 * MIN), Some(a));
        assert_eq!(t.peek(1, 31 * MIN), None);
        assert_ne!(t.assign(1, 31 * MIN, || 8), a);
    }

    #[test]
    fn expire_and_restore() {
        let mut t = VisitTracker::new(SESSION_GAP_MICROS);
        t.restore(1, 5, 0);
        t.restore(1, 4, -MIN); // older: ignored
        assert_eq!(t.peek(1, MIN), Some(5));
        t.expire(31 * MIN);
        assert!(t.is_empty());
    }
}
