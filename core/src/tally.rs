//! What each behavioural report counts as the walk (`walk.rs`) hands it one
//! visitor at a time: the same state machines as the aggregates
//! (`funnel.rs`, `retention.rs`, `sequence.rs`, `next_node.rs`' order), but
//! per visitor and without a hash table, keeping only the counts.
//!
//! Ties on timestamp: ClickHouse leaves their order undefined. Here funnels
//! order them by step (as `mallard_window_funnel` does), sequences by their
//! condition bits, flows by page (as `sequenceNextNode` sorts values);
//! retention does not depend on order. So every report is stable.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;

use crate::funnel::{Funnel, FunnelEvents};
use crate::pattern::Pattern;
use crate::report::Granularity;
use crate::sequence::SequenceEvents;
use crate::time::{Date, MICROS_PER_DAY};
use crate::walk::{Event, Keep, Visitor, Walk, text};

/// A report's counts so far.
#[derive(Debug)]
pub enum Tally {
    /// Visitors by the deepest step they reached (index = level).
    Funnel { funnel: Funnel, levels: Vec<i64>, events: FunnelEvents },
    /// Cohort (period number of the first active period) → its size and,
    /// per period after it (0 = the cohort's own), how many were active.
    Retention { periods: usize, cohorts: BTreeMap<i32, (i64, Vec<i64>)> },
    /// Visitors whose events match, of all visitors.
    Sequences { pattern: Pattern, matching: i64, total: i64, events: SequenceEvents },
    /// Visitors per edge `(step, from, to)`, pages by their id in `pages`.
    Flow { forward: bool, depth: usize, edges: HashMap<(u8, u32, u32), i64>, pages: Pages },
}

impl Tally {
    /// Visitors by funnel level.
    pub fn funnel(funnel: Funnel) -> Tally {
        Tally::Funnel { funnel, levels: vec![0; funnel.steps + 1], events: FunnelEvents::default() }
    }

    /// Cohorts and their returns over `periods` periods (1 to 32).
    pub fn retention(periods: usize) -> Result<Tally, String> {
        if !(1..=crate::retention::MAX_CONDITIONS).contains(&periods) {
            return Err(format!("periods must be 1 to {}, got {periods}", crate::retention::MAX_CONDITIONS));
        }
        Ok(Tally::Retention { periods, cohorts: BTreeMap::new() })
    }

    /// Visitors matching `pattern` over `conditions` conditions.
    pub fn sequences(pattern: &str, conditions: usize) -> Result<Tally, String> {
        Ok(Tally::Sequences {
            pattern: crate::pattern::parse(pattern, conditions)?,
            matching: 0,
            total: 0,
            events: SequenceEvents::default(),
        })
    }

    /// Flow edges up to `depth` (1 to `MAX_FLOW_DEPTH`) steps from the page.
    pub fn flow(forward: bool, depth: usize) -> Result<Tally, String> {
        if !(1..=crate::report::MAX_FLOW_DEPTH).contains(&depth) {
            return Err(format!("depth must be 1 to {}, got {depth}", crate::report::MAX_FLOW_DEPTH));
        }
        Ok(Tally::Flow { forward, depth, edges: HashMap::default(), pages: Pages::default() })
    }

    /// The empty walk this report reads: which rows it must keep, and
    /// whether rows carry a visit and a page (flows).
    pub fn walk(&self) -> Walk {
        Walk::new(self.keep(), matches!(self, Tally::Flow { .. }))
    }

    /// Which rows the walk must keep for this report.
    fn keep(&self) -> Keep {
        match self {
            Tally::Funnel { funnel, .. } if !funnel.keeps_unmatched_rows() => Keep::Matched,
            Tally::Funnel { .. } | Tally::Flow { .. } => Keep::All,
            Tally::Retention { .. } => Keep::NewKeys,
            Tally::Sequences { .. } => Keep::Keyed,
        }
    }

    /// Adds the counts of `other`, a tally of the same report over other
    /// visitors.
    pub fn merge(&mut self, other: Tally) {
        match (self, other) {
            (Tally::Funnel { levels, .. }, Tally::Funnel { levels: more, .. }) => {
                levels.iter_mut().zip(more).for_each(|(a, b)| *a += b);
            }
            (Tally::Retention { cohorts, .. }, Tally::Retention { cohorts: more, .. }) => {
                for (cohort, (size, returned)) in more {
                    let (s, r) = cohorts.entry(cohort).or_insert_with(|| (0, vec![0; returned.len()]));
                    *s += size;
                    r.iter_mut().zip(returned).for_each(|(a, b)| *a += b);
                }
            }
            (Tally::Sequences { matching, total, .. }, Tally::Sequences { matching: m, total: t, .. }) => {
                *matching += m;
                *total += t;
            }
            (Tally::Flow { edges, pages, .. }, Tally::Flow { edges: more, pages: their, .. }) => {
                for ((k, from, to), n) in more {
                    let from = pages.id(&their.texts[from as usize]);
                    let to = pages.id(&their.texts[to as usize]);
                    *edges.entry((k, from, to)).or_insert(0) += n;
                }
            }
            (this, other) => unreachable!("tallies of different reports: {this:?} and {other:?}"),
        }
    }

    /// Counts one visitor (events in time order; their texts in `texts`).
    pub fn add(&mut self, visitor: &Visitor, texts: &[u8]) -> Result<(), String> {
        match self {
            Tally::Funnel { funnel, levels, events } => {
                events.clear();
                for e in &visitor.events {
                    events.add(funnel, e.ts, e.key);
                }
                if !events.is_empty() {
                    levels[usize::from(events.level(funnel))] += 1;
                }
            }
            Tally::Retention { periods, cohorts } => {
                let Some(cohort) = visitor.events.iter().map(|e| e.key as i32).min() else { return Ok(()) };
                let mut active = 0u64;
                for e in &visitor.events {
                    let n = i64::from(e.key as i32) - i64::from(cohort);
                    if n < *periods as i64 {
                        active |= 1 << n;
                    }
                }
                let (size, returned) = cohorts.entry(cohort).or_insert_with(|| (0, vec![0; *periods]));
                *size += 1;
                for (k, r) in returned.iter_mut().enumerate() {
                    *r += (active >> k & 1) as i64;
                }
            }
            Tally::Sequences { pattern, matching, total, events } => {
                *total += 1;
                events.clear();
                for e in by_time_then(&visitor.events, |e| e.key).iter() {
                    events.add(e.ts, e.key);
                }
                if !events.is_empty() && events.matches(pattern)? {
                    *matching += 1;
                }
            }
            Tally::Flow { forward, depth, edges, pages } => flow(visitor, texts, *forward, *depth, edges, pages),
        }
        Ok(())
    }
}

/// `events` (in time order) with ties ordered by `tie` — a copy only when
/// some timestamp repeats.
fn by_time_then<'a, K: Ord>(events: &'a [Event], tie: impl Fn(&Event) -> K) -> std::borrow::Cow<'a, [Event]> {
    if events.windows(2).all(|w| w[0].ts != w[1].ts) {
        return std::borrow::Cow::Borrowed(events);
    }
    let mut sorted = events.to_vec();
    sorted.sort_by(|a, b| a.ts.cmp(&b.ts).then_with(|| tie(a).cmp(&tie(b))));
    std::borrow::Cow::Owned(sorted)
}

/// The number of the day, week (from Monday) or month of a local time (µs),
/// counted from the week of 1970-01-05, a Monday: day n is that Monday plus
/// n days, week n plus n weeks, month n is 1970-01 plus n months. What
/// `date_trunc` would give, as a number the walk can compare and subtract.
pub fn period_number(period: Granularity, local_micros: i64) -> i32 {
    const MONDAY: i64 = 4; // 1970-01-05, in days since the epoch
    let days = local_micros.div_euclid(MICROS_PER_DAY);
    let n = match period {
        Granularity::Hour => local_micros.div_euclid(MICROS_PER_DAY / 24) - MONDAY * 24,
        Granularity::Day => days - MONDAY,
        Granularity::Week => (days - MONDAY).div_euclid(7),
        Granularity::Month => {
            let d = Date::from_days(days);
            (i64::from(d.year) - 1970) * 12 + i64::from(d.month) - 1
        }
    };
    n.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// Distinct texts by id.
#[derive(Debug, Default)]
pub struct Pages {
    pub texts: Vec<Box<[u8]>>,
    ids: HashMap<Box<[u8]>, u32>,
}

impl Pages {
    pub fn id(&mut self, text: &[u8]) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = self.texts.len() as u32;
        self.texts.push(text.into());
        self.ids.insert(text.into(), id);
        id
    }
}

/// The visitor's flow edges, each counted once per visitor. Per visit
/// (`key` = the row is the flow's page): the page views in (time, page)
/// order; the base is the first view of the page; step k links the views
/// k-1 and k away from it (backward: k and k-1 before it), as
/// `sequenceNextNode('forward'|'backward', 'first_match')` finds them.
fn flow(
    visitor: &Visitor,
    texts: &[u8],
    forward: bool,
    depth: usize,
    edges: &mut HashMap<(u8, u32, u32), i64>,
    pages: &mut Pages,
) {
    if !visitor.events.iter().any(|e| e.key != 0) {
        return;
    }
    let page = |e: &Event| text(texts, e);
    let events = &visitor.events;
    // Rows come in time order; usually each visit's rows are adjacent and
    // no two of a visit share a timestamp, and then that order is already
    // (visit, time, page). Otherwise sort.
    let mut visits: Vec<u64> = events.chunk_by(|a, b| a.visit == b.visit).map(|v| v[0].visit).collect();
    let tied = events.windows(2).any(|w| w[0].ts == w[1].ts && w[0].visit == w[1].visit);
    visits.sort_unstable();
    let split = visits.windows(2).any(|w| w[0] == w[1]);
    let mut views: Vec<&Event> = events.iter().collect();
    if tied || split {
        views.sort_by(|a, b| (a.visit, a.ts, page(a)).cmp(&(b.visit, b.ts, page(b))));
    }
    let mut seen: Vec<(u8, u32, u32)> = Vec::new();
    for visit in views.chunk_by(|a, b| a.visit == b.visit) {
        let Some(base) = visit.iter().position(|e| e.key != 0) else { continue };
        let at = |k: usize| -> Option<&[u8]> {
            let i = if forward { base.checked_add(k)? } else { base.checked_sub(k)? };
            visit.get(i).map(|e| page(e))
        };
        for k in 1..=depth {
            let (Some(near), Some(far)) = (at(k - 1), at(k)) else { break };
            let (from, to) = if forward { (near, far) } else { (far, near) };
            seen.push((k as u8, pages.id(from), pages.id(to)));
        }
    }
    seen.sort_unstable();
    seen.dedup();
    for edge in seen {
        *edges.entry(edge).or_insert(0) += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::funnel::Modes;

    /// The texts of every test event: "/a/b/c" holds "/", "/a", "/b", "/c".
    const TEXTS: &[u8] = b"/a/b/c";

    fn texts() -> &'static [u8] {
        TEXTS
    }

    fn visitor(id: u64, rows: &[(i64, u32, u64, &str)]) -> Visitor {
        let mut v = Visitor { id, ..Default::default() };
        for &(ts, key, visit, page) in rows {
            let at = match page {
                "" => (0, 0),
                "/" => (0, 1),
                other => ((TEXTS.windows(2).position(|w| w == other.as_bytes()).unwrap()) as u32, 2),
            };
            v.events.push(Event { ts, key, visit, text: at });
        }
        v
    }

    #[test]
    fn funnels_count_visitors_by_level() {
        let mut t = Tally::funnel(Funnel::new(100, 2, Modes::default()).unwrap());
        t.add(&visitor(1, &[(10, 1, 0, ""), (50, 2, 0, "")]), texts()).unwrap(); // both steps
        t.add(&visitor(2, &[(10, 1, 0, ""), (500, 2, 0, "")]), texts()).unwrap(); // out of the window
        t.add(&visitor(3, &[(10, 2, 0, "")]), texts()).unwrap(); // second step only
        let Tally::Funnel { levels, .. } = t else { unreachable!() };
        assert_eq!(levels, vec![1, 1, 1]);
    }

    #[test]
    fn periods_are_numbered_from_a_monday() {
        let at = |s: &str| Date::parse(s).unwrap().to_days() * MICROS_PER_DAY + 3_600_000_000;
        assert_eq!(period_number(Granularity::Week, at("1970-01-05")), 0);
        assert_eq!(period_number(Granularity::Week, at("1970-01-11")), 0);
        assert_eq!(period_number(Granularity::Week, at("1970-01-04")), -1);
        // 2026-10-01 is a Thursday of the week of Monday 2026-09-28.
        let monday = Date::parse("2026-09-28").unwrap().to_days();
        assert_eq!(i64::from(period_number(Granularity::Week, at("2026-10-01"))), (monday - 4) / 7);
        assert_eq!(period_number(Granularity::Day, at("1970-01-06")), 1);
        assert_eq!(period_number(Granularity::Month, at("1970-01-05")), 0);
        assert_eq!(period_number(Granularity::Month, at("2026-10-31")), 56 * 12 + 9);
    }

    #[test]
    fn tallies_of_parts_add_up() {
        let mut a = Tally::flow(true, 1).unwrap();
        let mut b = Tally::flow(true, 1).unwrap();
        a.add(&visitor(1, &[(1, 1, 1, "/"), (2, 0, 1, "/a")]), texts()).unwrap();
        b.add(&visitor(2, &[(1, 0, 1, "/b"), (2, 1, 1, "/"), (3, 0, 1, "/a")]), texts()).unwrap();
        a.merge(b);
        let Tally::Flow { edges, pages, .. } = &a else { unreachable!() };
        assert_eq!(edges.len(), 1);
        let ((_, from, to), n) = edges.iter().next().unwrap();
        assert_eq!((&*pages.texts[*from as usize], &*pages.texts[*to as usize], *n), (&b"/"[..], &b"/a"[..], 2));
        let mut a = Tally::retention(2).unwrap();
        let mut b = Tally::retention(2).unwrap();
        a.add(&visitor(1, &[(1, 7, 0, ""), (2, 8, 0, "")]), texts()).unwrap();
        b.add(&visitor(2, &[(1, 7, 0, "")]), texts()).unwrap();
        a.merge(b);
        let Tally::Retention { cohorts, .. } = a else { unreachable!() };
        assert_eq!(cohorts, BTreeMap::from([(7, (2, vec![2, 1]))]));
    }

    #[test]
    fn retention_counts_returns_per_cohort() {
        let mut t = Tally::retention(3).unwrap();
        t.add(&visitor(1, &[(1, 7, 0, ""), (2, 7, 0, ""), (3, 9, 0, "")]), texts()).unwrap();
        t.add(&visitor(2, &[(1, 7, 0, ""), (2, 8, 0, ""), (3, 30, 0, "")]), texts()).unwrap();
        t.add(&visitor(3, &[(1, 8, 0, "")]), texts()).unwrap();
        let Tally::Retention { cohorts, .. } = t else { unreachable!() };
        assert_eq!(cohorts, BTreeMap::from([(7, (2, vec![2, 1, 1])), (8, (1, vec![1, 0, 0]))]));
    }

    #[test]
    fn sequences_order_ties_by_condition_bits() {
        let mut t = Tally::sequences("(?1)(?2)", 2).unwrap();
        // Same time, arriving Signup first: ordered (?1) then (?2).
        t.add(&visitor(1, &[(10, 2, 0, ""), (10, 1, 0, "")]), texts()).unwrap();
        t.add(&visitor(2, &[(10, 2, 0, ""), (20, 1, 0, "")]), texts()).unwrap();
        t.add(&visitor(3, &[(10, 0, 0, "")]), texts()).unwrap();
        let Tally::Sequences { matching, total, .. } = t else { unreachable!() };
        assert_eq!((matching, total), (1, 3));
    }

    #[test]
    fn flows_follow_each_visit_from_its_first_view_of_the_page() {
        let mut t = Tally::flow(true, 2).unwrap();
        // Visit 1: /a / /b / /c ; visit 2: / /b. Edges once per visitor.
        let rows = [
            (1, 0, 1, "/a"),
            (2, 1, 1, "/"),
            (3, 0, 1, "/b"),
            (4, 1, 1, "/"),
            (5, 0, 1, "/c"),
            (6, 1, 2, "/"),
            (7, 0, 2, "/b"),
        ];
        t.add(&visitor(1, &rows), texts()).unwrap();
        let Tally::Flow { edges, pages, .. } = &t else { unreachable!() };
        let name = |id: &u32| String::from_utf8_lossy(&pages.texts[*id as usize]).into_owned();
        let mut got: Vec<_> = edges.iter().map(|((k, f, to), n)| (*k, name(f), name(to), *n)).collect();
        got.sort();
        assert_eq!(got, vec![(1, "/".into(), "/b".into(), 1), (2, "/b".into(), "/".into(), 1)]);
        // Backward from the first view: /a before it.
        let mut t = Tally::flow(false, 2).unwrap();
        t.add(&visitor(1, &rows), texts()).unwrap();
        let Tally::Flow { edges, pages, .. } = &t else { unreachable!() };
        assert_eq!(edges.len(), 1);
        let (k, from, to) = *edges.keys().next().unwrap();
        assert_eq!((k, &*pages.texts[from as usize], &*pages.texts[to as usize]), (1, &b"/a"[..], &b"/"[..]));
    }
}
