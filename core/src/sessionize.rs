//! Sessionizing: over rows ordered by time, a new session starts when the
//! gap to the previous row is strictly greater than `gap`. Used as a window
//! function (`OVER (PARTITION BY visitor_id ORDER BY ts)`) the result is the
//! current row's session number (from 1); over a whole group, the number of
//! sessions.
//!
//! The state is a summary — first and last timestamp and the number of
//! breaks between them — so window frames combine in constant time. A
//! summary cannot absorb a row that falls strictly inside its span, so the
//! raw timestamps are also kept while a group is small. A large state that
//! receives rows out of order becomes unknown: DuckDB's window operator
//! builds such states across partitions without ever reading them, so this
//! is only an error (saying how to order the rows) when its result is asked.

/// Timestamps kept per group besides the summary.
pub const RAW_LIMIT: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sessions {
    /// (first, last) timestamp, µs.
    span: Option<(i64, i64)>,
    /// Breaks (gaps > `gap`) between consecutive rows.
    breaks: u64,
    len: usize,
    /// Every timestamp while `len <= RAW_LIMIT`.
    raw: Option<Vec<i64>>,
    /// Rows arrived out of order after the raw timestamps were dropped.
    unknown: bool,
}

/// The error for out-of-order input beyond [`RAW_LIMIT`] rows.
pub fn unordered_error() -> String {
    format!(
        "rows arrived out of time order in a group of more than {RAW_LIMIT} rows; use it as a window function \
         (OVER (PARTITION BY … ORDER BY ts)) or order the input (mallard_sessionize(ts, gap ORDER BY ts))"
    )
}

impl Sessions {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The session number of the latest row (= sessions in the group), or
    /// `None` for no rows.
    pub fn result(&self) -> Result<Option<u64>, String> {
        if self.unknown {
            return Err(unordered_error());
        }
        Ok(self.span.map(|_| self.breaks + 1))
    }

    fn breaks_between(a: i64, b: i64, gap: i64) -> u64 {
        u64::from(i128::from(b) - i128::from(a) > i128::from(gap))
    }

    /// Recomputes the summary from the raw timestamps.
    fn rebuild(&mut self, gap: i64) {
        let raw = self.raw.as_mut().expect("rebuild needs raw timestamps");
        raw.sort_unstable();
        self.span = raw.first().map(|&f| (f, *raw.last().expect("non-empty")));
        self.breaks = raw.windows(2).map(|w| Self::breaks_between(w[0], w[1], gap)).sum();
    }

    pub fn add(&mut self, ts: i64, gap: i64) {
        self.len += 1;
        match (&mut self.raw, self.len) {
            (None, 1) => self.raw = Some(vec![ts]),
            (Some(raw), _) => raw.push(ts),
            (None, _) => {}
        }
        match self.span {
            None => self.span = Some((ts, ts)),
            Some((first, last)) if ts >= last => {
                self.breaks += Self::breaks_between(last, ts, gap);
                self.span = Some((first, ts));
            }
            Some((first, last)) if ts <= first => {
                self.breaks += Self::breaks_between(ts, first, gap);
                self.span = Some((ts, last));
            }
            Some(_) => {
                if self.raw.is_some() {
                    self.rebuild(gap);
                } else {
                    self.unknown = true;
                }
            }
        }
        if self.len > RAW_LIMIT {
            self.raw = None;
        }
    }

    pub fn merge(&mut self, other: &Sessions, gap: i64) {
        self.unknown |= other.unknown;
        let Some((of, ol)) = other.span else { return };
        let Some((f, l)) = self.span else {
            let unknown = self.unknown;
            *self = other.clone();
            self.unknown |= unknown;
            return;
        };
        let len = self.len + other.len;
        let raw = match (&self.raw, &other.raw) {
            (Some(a), Some(b)) if len <= RAW_LIMIT => Some([a.as_slice(), b.as_slice()].concat()),
            _ => None,
        };
        if of >= l {
            self.breaks += other.breaks + Self::breaks_between(l, of, gap);
            self.span = Some((f, ol));
        } else if ol <= f {
            self.breaks += other.breaks + Self::breaks_between(ol, f, gap);
            self.span = Some((of, l));
        } else if raw.is_some() {
            self.raw = raw;
            self.len = len;
            self.rebuild(gap);
            return;
        } else {
            self.unknown = true;
        }
        self.len = len;
        self.raw = raw;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions(ts: &[i64], gap: i64) -> Option<u64> {
        let mut s = Sessions::default();
        for &t in ts {
            s.add(t, gap);
        }
        s.result().unwrap()
    }

    #[test]
    fn a_gap_strictly_greater_starts_a_session() {
        assert_eq!(sessions(&[], 10), None);
        assert_eq!(sessions(&[0, 10, 20], 10), Some(1));
        assert_eq!(sessions(&[0, 11, 21], 10), Some(2));
        assert_eq!(sessions(&[21, 0, 11], 10), Some(2));
        assert_eq!(sessions(&[0, 100, 50], 10), Some(3));
    }

    #[test]
    fn merging_spans_in_any_order() {
        let mut a = Sessions::default();
        a.add(0, 10);
        a.add(5, 10);
        let mut b = Sessions::default();
        b.add(30, 10);
        let mut ab = a.clone();
        ab.merge(&b, 10);
        let mut ba = b.clone();
        ba.merge(&a, 10);
        assert_eq!(ab.result(), Ok(Some(2)));
        assert_eq!(ba.result(), Ok(Some(2)));
        let mut c = Sessions::default();
        c.add(3, 10);
        ab.merge(&c, 10);
        assert_eq!(ab.result(), Ok(Some(2)));
    }

    #[test]
    fn large_unordered_groups_are_an_error_when_read() {
        let mut s = Sessions::default();
        for t in 0..=RAW_LIMIT as i64 {
            s.add(t * 100, 10);
        }
        s.add(50, 10);
        assert!(s.result().unwrap_err().contains("ORDER BY ts"));
        let mut merged = Sessions::default();
        merged.merge(&s, 10);
        assert!(merged.result().is_err(), "unknown spreads through merges");
        // in order, any size works
        s = Sessions::default();
        for t in 0..10_000 {
            s.add(t * 100, 10);
        }
        assert_eq!(s.result(), Ok(Some(10_000)));
    }
}
