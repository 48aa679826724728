//! ClickHouse's `sequenceMatch`, `sequenceCount` and `sequenceMatchEvents`
//! over one group's rows.
//!
//! Only rows where some condition holds are kept. They are ordered by time;
//! rows with equal timestamps keep their arrival order (as ClickHouse's sort
//! leaves them in practice — its documentation calls that order undefined;
//! use `ORDER BY` inside the aggregate call to fix it in DuckDB).
//!
//! Matching follows ClickHouse's two algorithms: a set-of-states automaton
//! for patterns without time conditions (`sequenceMatch` only), and its
//! backtracking matcher otherwise, with the same quirks (a `.*` makes the
//! row after it the reference for a following time condition; counting
//! resumes after the previous match). Like ClickHouse, backtracking gives up
//! after a million steps with an error.

use crate::pattern::{Action, Pattern, TimeOp};

/// ClickHouse's limit on conditions.
pub const MAX_CONDITIONS: usize = 32;

/// ClickHouse's limit on backtracking steps per match.
pub const MAX_ITERATIONS: usize = 1_000_000;

/// One group's rows: (timestamp µs, bit k set = condition k+1 holds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceEvents {
    rows: smallvec::SmallVec<[(i64, u32); 4]>,
    /// Conditions that held on some row.
    held: u32,
    sorted: bool,
}

impl Default for SequenceEvents {
    fn default() -> Self {
        SequenceEvents { rows: smallvec::SmallVec::new(), held: 0, sorted: true }
    }
}

impl SequenceEvents {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Empties the group, keeping its memory (the walk reuses one per report).
    pub fn clear(&mut self) {
        self.rows.clear();
        self.held = 0;
        self.sorted = true;
    }

    /// Adds a row (ignored when no condition holds).
    #[inline]
    pub fn add(&mut self, ts: i64, mask: u32) {
        if mask == 0 {
            return;
        }
        if let Some(&(last, _)) = self.rows.last() {
            self.sorted &= last <= ts;
        }
        self.rows.push((ts, mask));
        self.held |= mask;
    }

    /// Adds `other`'s rows after this group's.
    pub fn merge(&mut self, other: &SequenceEvents) {
        if other.rows.is_empty() {
            return;
        }
        let in_order = match (self.rows.last(), other.rows.first()) {
            (Some(&(a, _)), Some(&(b, _))) => a <= b,
            _ => true,
        };
        self.sorted = self.sorted && other.sorted && in_order;
        self.rows.extend_from_slice(&other.rows);
        self.held |= other.held;
    }

    fn sort(&mut self) {
        if !self.sorted {
            self.rows.sort_by_key(|r| r.0);
            self.sorted = true;
        }
    }

    /// `sequenceMatch`.
    pub fn matches(&mut self, pattern: &Pattern) -> Result<bool, String> {
        if pattern.conditions & self.held != pattern.conditions {
            return Ok(false);
        }
        self.sort();
        if pattern.has_time {
            let mut start = 0;
            Matcher::new(pattern, &self.rows).run(&mut start, None)
        } else {
            Ok(automaton(pattern, &self.rows))
        }
    }

    /// `sequenceCount`: non-overlapping matches, each search starting where
    /// the previous match ended.
    pub fn count(&mut self, pattern: &Pattern) -> Result<u64, String> {
        if pattern.conditions & self.held != pattern.conditions {
            return Ok(0);
        }
        self.sort();
        let matcher = Matcher::new(pattern, &self.rows);
        let mut start = 0;
        let mut n = 0;
        while start < self.rows.len() && matcher.run(&mut start, None)? {
            n += 1;
        }
        Ok(n)
    }

    /// `sequenceMatchEvents`: the timestamps of the rows matched by the
    /// pattern's `(?N)` elements along the first longest chain the matcher
    /// builds — the match, or the longest partial chain when there is none.
    pub fn match_events(&mut self, pattern: &Pattern) -> Result<Vec<i64>, String> {
        self.sort();
        let mut best = Vec::new();
        let mut start = 0;
        Matcher::new(pattern, &self.rows).run(&mut start, Some(&mut best))?;
        Ok(best)
    }
}

/// Whether the pattern (no time conditions) matches: a set of automaton
/// states advanced row by row, stopping when the final state is reached or
/// no state is alive.
fn automaton(pattern: &Pattern, rows: &[(i64, u32)]) -> bool {
    // States: one per (?N) or '.', plus the start; each may loop (.*).
    let mut transitions: Vec<Option<Action>> = vec![None];
    let mut loops = vec![false];
    for a in &pattern.actions {
        match a {
            Action::Star => *loops.last_mut().expect("a state") = true,
            Action::Event(_) | Action::Any => {
                *transitions.last_mut().expect("a state") = Some(*a);
                transitions.push(None);
                loops.push(false);
            }
            Action::Time(..) => {}
        }
    }
    let n = transitions.len();
    let mut active = vec![false; n];
    let mut next = vec![false; n];
    active[0] = true;
    let mut alive = true;
    for &(_, mask) in rows {
        if !alive || active[n - 1] {
            break;
        }
        next.iter_mut().for_each(|s| *s = false);
        alive = false;
        for s in 0..n {
            if !active[s] {
                continue;
            }
            let advances = match transitions[s] {
                Some(Action::Any) => true,
                Some(Action::Event(c)) => mask >> c & 1 == 1,
                _ => false,
            };
            if advances {
                next[s + 1] = true;
                alive = true;
            }
            if loops[s] {
                next[s] = true;
                alive = true;
            }
        }
        std::mem::swap(&mut active, &mut next);
    }
    active[n - 1]
}

/// ClickHouse's backtracking matcher over sorted rows.
struct Matcher<'a> {
    actions: &'a [Action],
    rows: &'a [(i64, u32)],
    /// `(?N)` elements before each action (to cut the recorded chain on backtrack).
    events_before: Vec<usize>,
}

impl<'a> Matcher<'a> {
    fn new(pattern: &'a Pattern, rows: &'a [(i64, u32)]) -> Self {
        let mut events_before = Vec::with_capacity(pattern.actions.len() + 1);
        let mut n = 0;
        for a in &pattern.actions {
            events_before.push(n);
            if matches!(a, Action::Event(_)) {
                n += 1;
            }
        }
        events_before.push(n);
        Matcher { actions: &pattern.actions, rows, events_before }
    }

    /// Tries to match from row `*start`; on return `*start` is where a next
    /// search begins. With `record`, it receives the timestamps of the match,
    /// or of the longest partial chain seen.
    fn run(&self, start: &mut usize, mut record: Option<&mut Vec<i64>>) -> Result<bool, String> {
        let (actions, rows) = (self.actions, self.rows);
        let end = rows.len();
        let begin = *start;
        let (mut a, mut e, mut base) = (0usize, begin, begin);
        // (action, row, base row) to resume from.
        let mut stack: Vec<(usize, usize, usize)> = Vec::new();
        let mut chain: Vec<i64> = Vec::new();
        let mut steps = 0usize;

        // Resumes from the newest choice point that still has rows ahead.
        let backtrack = |a: &mut usize, e: &mut usize, base: &mut usize, stack: &mut Vec<(usize, usize, usize)>| {
            while let Some((sa, se, sb)) = stack.pop() {
                *a = sa;
                *e = se + 1;
                *base = sb;
                if *e != end {
                    return true;
                }
            }
            false
        };

        while a < actions.len() && e < end {
            match actions[a] {
                Action::Event(c) => {
                    if rows[e].1 >> c & 1 == 1 {
                        if let Some(best) = record.as_deref_mut() {
                            chain.truncate(self.events_before[a]);
                            chain.push(rows[e].0);
                            if chain.len() > best.len() {
                                best.clone_from(&chain);
                            }
                        }
                        base = e;
                        a += 1;
                        e += 1;
                    } else if !backtrack(&mut a, &mut e, &mut base, &mut stack) {
                        break;
                    }
                }
                Action::Any => {
                    base = e;
                    a += 1;
                    e += 1;
                }
                Action::Star => {
                    stack.push((a, e, base));
                    base = e;
                    a += 1;
                }
                Action::Time(op, span) => {
                    let (t, reference) = (i128::from(rows[e].0), i128::from(rows[base].0) + i128::from(span));
                    let holds = match op {
                        TimeOp::LessOrEqual => t <= reference,
                        TimeOp::Less => t < reference,
                        TimeOp::GreaterOrEqual => t >= reference,
                        TimeOp::Greater => t > reference,
                        TimeOp::Equal => t == reference,
                    };
                    if holds {
                        stack.push((a, e, base));
                        base = e;
                        a += 1;
                    } else if matches!(op, TimeOp::LessOrEqual | TimeOp::Less) {
                        // Later rows are only later: give this choice up.
                        if !backtrack(&mut a, &mut e, &mut base, &mut stack) {
                            break;
                        }
                    } else {
                        // Later rows may be far enough: try the next one.
                        e += 1;
                        if e == end && !backtrack(&mut a, &mut e, &mut base, &mut stack) {
                            break;
                        }
                    }
                }
            }
            steps += 1;
            if steps > MAX_ITERATIONS {
                return Err(format!(
                    "pattern application proves too difficult, exceeding {MAX_ITERATIONS} steps (as in ClickHouse)"
                ));
            }
        }
        // Trailing elements that match nothing: .*, (?t<=…), (?t<…), (?t>=0).
        while a < actions.len()
            && matches!(
                actions[a],
                Action::Star
                    | Action::Time(TimeOp::LessOrEqual | TimeOp::Less, _)
                    | Action::Time(TimeOp::GreaterOrEqual, 0)
            )
        {
            a += 1;
        }
        if e == begin {
            e += 1;
        }
        *start = e;
        // `record` keeps the first longest chain even when a later, equally
        // long one completes the match (ClickHouse does the same).
        Ok(a == actions.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::parse;

    fn events(rows: &[(i64, u32)]) -> SequenceEvents {
        let mut s = SequenceEvents::default();
        for &(ts, mask) in rows {
            s.add(ts * 1_000_000, mask);
        }
        s
    }

    // The documentation's table: time 1..3 with numbers 1, 3, 2.
    #[test]
    fn clickhouse_documented_examples() {
        // conditions: number = 1, number = 2
        let mut e = events(&[(1, 0b01), (2, 0b00), (3, 0b10)]);
        assert!(e.matches(&parse("(?1)(?2)", 2).unwrap()).unwrap());
        // with number = 3 as a third condition the 3 sits between 1 and 2
        let mut e = events(&[(1, 0b001), (2, 0b100), (3, 0b010)]);
        assert!(!e.matches(&parse("(?1)(?2)", 3).unwrap()).unwrap());
        // count: 1,3,2,1,3,2 → two (?1).*(?2)
        let mut e = events(&[(1, 0b01), (3, 0b10), (4, 0b01), (6, 0b10)]);
        assert_eq!(e.count(&parse("(?1).*(?2)", 2).unwrap()).unwrap(), 2);
        // matchEvents: (?1).*(?2).*(?1)(?3) with conditions 1, 2, 4 → [1, 3, 4]
        let mut e = events(&[(1, 0b001), (3, 0b010), (4, 0b001)]);
        let got = e.match_events(&parse("(?1).*(?2).*(?1)(?3)", 3).unwrap()).unwrap();
        assert_eq!(got, vec![1_000_000, 3_000_000, 4_000_000]);
    }

    #[test]
    fn behaviours_seen_in_clickhouse() {
        // rows: c1@1, c2@2, c1@3, c2@5
        let rows = [(1, 0b01), (2, 0b10), (3, 0b01), (5, 0b10)];
        let p = |s: &str| parse(s, 2).unwrap();
        assert_eq!(events(&rows).count(&p("")).unwrap(), 4);
        assert_eq!(events(&rows).count(&p(".")).unwrap(), 4);
        assert_eq!(events(&rows).count(&p("(?1)")).unwrap(), 2);
        let secs = |v: Vec<i64>| v.into_iter().map(|t| t / 1_000_000).collect::<Vec<_>>();
        assert_eq!(secs(events(&rows).match_events(&p("(?1)(?t>1)(?2)")).unwrap()), vec![1, 5]);
        assert_eq!(secs(events(&rows).match_events(&p("(?2)(?1)(?1)")).unwrap()), vec![2, 3]);
        assert_eq!(secs(events(&rows).match_events(&p("(?1).(?1)")).unwrap()), vec![1, 3]);
        assert!(events(&rows).matches(&p("")).unwrap());
        assert!(SequenceEvents::default().matches(&p("")).unwrap());
        assert!(events(&rows).matches(&p("(?1)(?t==1)(?2)")).unwrap());
    }

    #[test]
    fn equal_timestamps_keep_arrival_order() {
        let p = parse("(?1)(?2)", 2).unwrap();
        assert!(events(&[(1, 0b01), (1, 0b10)]).matches(&p).unwrap());
        assert!(!events(&[(1, 0b10), (1, 0b01)]).matches(&p).unwrap());
    }
}
