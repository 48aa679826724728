//! The window funnel: ClickHouse's `windowFunnel(window[, modes…])`.
//!
//! For one group (a visitor), the events are ordered by time and scanned
//! once; a chain starts at an event matching step 1 and extends to step k
//! with an event matching step k while it lies within `window` of the
//! chain's first event. The result is the deepest step any chain reached.
//!
//! Ordering and ties follow ClickHouse exactly: ClickHouse stores one entry
//! per (timestamp, matched step) and sorts the entries by that pair, so a
//! row matching steps 1 and 2 counts as step 1 then step 2, and among rows
//! with equal timestamps lower steps come first. Under `strict_order` a row
//! matching no step is an entry of its own (step 0) that breaks a chain.
//! Under `strict_once` each row may advance a chain by one step only, so
//! chains remember which rows they used.

use std::fmt;

/// ClickHouse's limit on conditions.
pub const MAX_STEPS: usize = 32;

/// The modes, comma-separated, as ClickHouse names them.
pub const MODE_NAMES: &str = "strict_deduplication, strict_order, strict_increase, strict_once, allow_reentry";

/// Which of ClickHouse's modes are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Modes {
    /// A repeat of a step already reached ends the scan.
    pub strict_deduplication: bool,
    /// Any event between two steps ends the scan.
    pub strict_order: bool,
    /// Steps need strictly increasing timestamps.
    pub strict_increase: bool,
    /// One row advances a chain by one step at most.
    pub strict_once: bool,
    /// Under `strict_order`, a step that comes too early is skipped instead
    /// of ending the scan.
    pub allow_reentry: bool,
}

impl Modes {
    /// Parses a comma-separated list of modes ("" = none), rejecting what
    /// ClickHouse rejects.
    pub fn parse(text: &str) -> Result<Modes, String> {
        let mut m = Modes::default();
        for mode in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match mode {
                "strict_deduplication" => m.strict_deduplication = true,
                "strict_order" => m.strict_order = true,
                "strict_increase" => m.strict_increase = true,
                "strict_once" => m.strict_once = true,
                "allow_reentry" => m.allow_reentry = true,
                "strict" => return Err("window funnel mode 'strict' is called 'strict_deduplication'".into()),
                other => {
                    return Err(format!(
                        "unknown window funnel mode {other:?}; allowed (comma-separated): {MODE_NAMES}"
                    ));
                }
            }
        }
        if m.allow_reentry && !m.strict_order {
            return Err("window funnel mode allow_reentry needs strict_order too: 'strict_order, allow_reentry'".into());
        }
        Ok(m)
    }
}

/// A funnel's configuration: window (µs), number of steps, modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Funnel {
    pub window: i64,
    pub steps: usize,
    pub modes: Modes,
}

impl Funnel {
    pub fn new(window: i64, steps: usize, modes: Modes) -> Result<Funnel, String> {
        if window < 0 {
            return Err("the window funnel's window must not be negative".into());
        }
        if !(1..=MAX_STEPS).contains(&steps) {
            return Err(format!("a window funnel takes 1 to {MAX_STEPS} conditions, got {steps}"));
        }
        Ok(Funnel { window, steps, modes })
    }

    /// Whether rows matching no step must be kept (they break chains).
    pub fn keeps_unmatched_rows(&self) -> bool {
        self.modes.strict_order
    }
}

/// One group's rows: (timestamp µs, bit k set = row matches step k+1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunnelEvents {
    rows: smallvec::SmallVec<[(i64, u32); 4]>,
    /// Rows are in non-decreasing time order (the lake's order; the usual case).
    sorted: bool,
}

impl Default for FunnelEvents {
    fn default() -> Self {
        FunnelEvents { rows: smallvec::SmallVec::new(), sorted: true }
    }
}

impl FunnelEvents {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Empties the group, keeping its memory (the walk reuses one per report).
    pub fn clear(&mut self) {
        self.rows.clear();
        self.sorted = true;
    }

    /// Adds a row; rows matching no step are kept only when `funnel` needs them.
    #[inline]
    pub fn add(&mut self, funnel: &Funnel, ts: i64, mask: u32) {
        if mask == 0 && !funnel.keeps_unmatched_rows() {
            return;
        }
        if let Some(&(last, _)) = self.rows.last() {
            self.sorted &= last <= ts;
        }
        self.rows.push((ts, mask));
    }

    /// Adds `other`'s rows after this group's.
    pub fn merge(&mut self, other: &FunnelEvents) {
        if other.rows.is_empty() {
            return;
        }
        let joined_in_order = match (self.rows.last(), other.rows.first()) {
            (Some(&(a, _)), Some(&(b, _))) => a <= b,
            _ => true,
        };
        self.sorted = self.sorted && other.sorted && joined_in_order;
        self.rows.extend_from_slice(&other.rows);
    }

    /// The deepest step reached (0 = none), as ClickHouse computes it.
    pub fn level(&mut self, funnel: &Funnel) -> u8 {
        if self.rows.is_empty() {
            return 0;
        }
        if !funnel.modes.strict_order && funnel.steps == 1 {
            return 1;
        }
        if !self.sorted {
            // Stable: rows with equal timestamps keep their arrival order.
            self.rows.sort_by_key(|r| r.0);
            self.sorted = true;
        }
        if funnel.modes.strict_once {
            let mut walk = OnceWalk::new(funnel);
            entries(&self.rows, |ts, step, row| walk.step(ts, step, row)).unwrap_or_else(|| walk.reached())
        } else {
            let mut walk = Walk::new(funnel);
            entries(&self.rows, |ts, step, _| walk.step(ts, step)).unwrap_or_else(|| walk.reached())
        }
    }
}

/// Feeds ClickHouse's entries — (timestamp, step, row), step 0 = no step —
/// in its order to `visit` until it returns a result.
fn entries(rows: &[(i64, u32)], mut visit: impl FnMut(i64, u8, u32) -> Option<u8>) -> Option<u8> {
    let mut i = 0;
    let mut tied: Vec<(u8, u32)> = Vec::new();
    while i < rows.len() {
        let ts = rows[i].0;
        let mut j = i + 1;
        while j < rows.len() && rows[j].0 == ts {
            j += 1;
        }
        if j == i + 1 {
            let mask = rows[i].1;
            if mask == 0
                && let Some(r) = visit(ts, 0, i as u32)
            {
                return Some(r);
            }
            let mut bits = mask;
            while bits != 0 {
                let step = bits.trailing_zeros() as u8 + 1;
                bits &= bits - 1;
                if let Some(r) = visit(ts, step, i as u32) {
                    return Some(r);
                }
            }
        } else {
            // Equal timestamps: all their entries by step, then by row.
            tied.clear();
            for (k, &(_, mask)) in rows[i..j].iter().enumerate() {
                let row = (i + k) as u32;
                if mask == 0 {
                    tied.push((0, row));
                }
                let mut bits = mask;
                while bits != 0 {
                    tied.push((bits.trailing_zeros() as u8 + 1, row));
                    bits &= bits - 1;
                }
            }
            tied.sort_by_key(|e| e.0);
            for &(step, row) in &tied {
                if let Some(r) = visit(ts, step, row) {
                    return Some(r);
                }
            }
        }
        i = j;
    }
    None
}

/// `ts` lies within `window` of `first`.
#[inline]
fn within(ts: i64, first: i64, window: i64) -> bool {
    i128::from(ts) <= i128::from(first) + i128::from(window)
}

/// The scan without `strict_once`: per step, the (first, latest) timestamp
/// of the best chain that reached it.
struct Walk<'a> {
    funnel: &'a Funnel,
    reached: [Option<(i64, i64)>; MAX_STEPS],
    started: bool,
}

impl<'a> Walk<'a> {
    fn new(funnel: &'a Funnel) -> Self {
        Walk { funnel, reached: [None; MAX_STEPS], started: false }
    }

    /// The deepest step reached so far.
    fn reached(&self) -> u8 {
        self.reached[..self.funnel.steps].iter().rposition(Option::is_some).map_or(0, |i| i as u8 + 1)
    }

    /// The first step not reached (ClickHouse's answer when strict_order breaks).
    fn first_missing(&self) -> u8 {
        self.reached[..self.funnel.steps].iter().position(Option::is_none).unwrap_or(self.funnel.steps) as u8
    }

    fn step(&mut self, ts: i64, step: u8) -> Option<u8> {
        let m = self.funnel.modes;
        if step == 0 {
            return if self.started { Some(self.reached()) } else { None };
        }
        let k = usize::from(step - 1);
        if k == 0 {
            self.reached[0] = Some((ts, ts));
            self.started = true;
        } else if m.strict_deduplication && self.reached[k].is_some() {
            return Some(self.reached());
        } else if m.strict_order && self.started && self.reached[k - 1].is_none() {
            return if m.allow_reentry { None } else { Some(self.first_missing()) };
        } else if let Some((first, latest)) = self.reached[k - 1] {
            let ok = within(ts, first, self.funnel.window) && (!m.strict_increase || latest < ts);
            if ok {
                self.reached[k] = Some((first, ts));
                if k + 1 == self.funnel.steps {
                    return Some(self.funnel.steps as u8);
                }
            }
        }
        None
    }
}

/// A chain under `strict_once`: its first and latest timestamps and the row
/// that matched each step.
#[derive(Clone, Copy)]
struct Chain {
    first: i64,
    latest: i64,
    rows: [u32; MAX_STEPS],
}

/// The scan with `strict_once`: every chain is kept per step, because one
/// row may match several steps and we cannot know yet which use of it wins.
struct OnceWalk<'a> {
    funnel: &'a Funnel,
    levels: Vec<Vec<Chain>>,
    started: bool,
}

impl<'a> OnceWalk<'a> {
    fn new(funnel: &'a Funnel) -> Self {
        OnceWalk { funnel, levels: vec![Vec::new(); funnel.steps], started: false }
    }

    fn reached(&self) -> u8 {
        self.levels.iter().rposition(|l| !l.is_empty()).map_or(0, |i| i as u8 + 1)
    }

    fn step(&mut self, ts: i64, step: u8, row: u32) -> Option<u8> {
        let m = self.funnel.modes;
        if step == 0 {
            return if self.started { Some(self.reached()) } else { None };
        }
        let k = usize::from(step - 1);
        if k == 0 {
            let mut rows = [0; MAX_STEPS];
            rows[0] = row;
            self.levels[0].push(Chain { first: ts, latest: ts, rows });
            self.started = true;
        } else if m.strict_deduplication && !self.levels[k].is_empty() {
            return Some(self.reached());
        } else if m.strict_order && self.started && self.levels[k - 1].is_empty() {
            if m.allow_reentry {
                return None;
            }
            return Some(self.levels.iter().position(Vec::is_empty).unwrap_or(self.funnel.steps) as u8);
        } else if !self.levels[k - 1].is_empty() {
            let (lower, upper) = self.levels.split_at_mut(k);
            let previous = &mut lower[k - 1];
            let current = &mut upper[0];
            let n = previous.len();
            let mut kept = 0;
            for r in 0..n {
                let chain = previous[r];
                let in_window = within(ts, chain.first, self.funnel.window);
                // Chains out of the window are dropped, but one always stays
                // (ClickHouse keeps the last so "step k-1 was reached" holds).
                if !in_window && kept + (n - r) > 1 {
                    continue;
                }
                previous[kept] = chain;
                kept += 1;
                let fresh_row = !chain.rows[..k].contains(&row);
                if in_window && fresh_row && (!m.strict_increase || chain.latest < ts) {
                    let mut next = chain;
                    next.rows[k] = row;
                    next.latest = ts;
                    current.push(next);
                    if k + 1 == self.funnel.steps {
                        return Some(self.funnel.steps as u8);
                    }
                }
            }
            previous.truncate(kept);
        }
        None
    }
}

impl fmt::Display for Modes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (self.strict_deduplication, "strict_deduplication"),
            (self.strict_order, "strict_order"),
            (self.strict_increase, "strict_increase"),
            (self.strict_once, "strict_once"),
            (self.allow_reentry, "allow_reentry"),
        ];
        let on: Vec<&str> = names.iter().filter(|(on, _)| *on).map(|(_, n)| *n).collect();
        f.write_str(&on.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000_000;

    fn level(window: i64, modes: &str, steps: usize, rows: &[(i64, u32)]) -> u8 {
        let f = Funnel::new(window, steps, Modes::parse(modes).unwrap()).unwrap();
        let mut e = FunnelEvents::default();
        for &(ts, mask) in rows {
            e.add(&f, ts, mask);
        }
        e.level(&f)
    }

    /// Rows named by step letters A=1, B=2 …; '-' matches no step.
    fn letters(s: &str) -> Vec<(i64, u32)> {
        s.chars()
            .enumerate()
            .map(|(i, c)| (i as i64, if c == '-' { 0 } else { 1 << (c as u32 - 'A' as u32) }))
            .collect()
    }

    #[test]
    fn clickhouse_documented_edge_cases() {
        // strict_deduplication on A,B,C,B,D with four steps: 3.
        assert_eq!(level(HOUR, "strict_deduplication", 4, &letters("ABCBD")), 3);
        // strict_order on A,B,D,C (steps A,B,C): D is not a step → 2.
        let rows: Vec<(i64, u32)> = vec![(0, 1), (1, 2), (2, 0), (3, 4)];
        assert_eq!(level(HOUR, "strict_order", 3, &rows), 2);
        // allow_reentry: A,A,B,C finds A→B→C.
        assert_eq!(level(HOUR, "strict_order,allow_reentry", 3, &letters("AABC")), 3);
        assert_eq!(level(HOUR, "", 4, &letters("ABCBD")), 4);
    }

    #[test]
    fn the_window_counts_from_the_chain_start() {
        let rows = [(0, 1), (HOUR, 2), (HOUR + 1, 4)];
        assert_eq!(level(HOUR, "", 3, &rows), 2);
        assert_eq!(level(HOUR + 1, "", 3, &rows), 3);
        // a later start can still complete
        let rows = [(0, 1), (2 * HOUR, 1), (2 * HOUR + 5, 2), (3 * HOUR, 4)];
        assert_eq!(level(HOUR, "", 3, &rows), 3);
    }

    #[test]
    fn ties_order_by_step() {
        // One row matching A and B at once counts as A then B.
        assert_eq!(level(HOUR, "", 2, &[(5, 3)]), 2);
        assert_eq!(level(HOUR, "strict_increase", 2, &[(5, 3)]), 1);
        // strict_once: one row advances one step only.
        assert_eq!(level(HOUR, "strict_once", 2, &[(5, 3)]), 1);
        assert_eq!(level(HOUR, "strict_once", 2, &[(5, 3), (6, 2)]), 2);
        // Rows arriving out of order are sorted; B then A at the same time is A then B.
        assert_eq!(level(HOUR, "", 2, &[(7, 2), (7, 1)]), 2);
    }

    #[test]
    fn empty_and_single_step_groups() {
        assert_eq!(level(HOUR, "", 3, &[]), 0);
        assert_eq!(level(HOUR, "", 3, &[(1, 0)]), 0);
        assert_eq!(level(HOUR, "", 1, &[(1, 1)]), 1);
        assert_eq!(level(HOUR, "strict_order", 1, &[(1, 0)]), 0);
    }

    #[test]
    fn bad_modes_are_refused() {
        assert!(Modes::parse("strict").unwrap_err().contains("strict_deduplication"));
        assert!(Modes::parse("fast").unwrap_err().contains(MODE_NAMES));
        assert!(Modes::parse("allow_reentry").unwrap_err().contains("strict_order"));
        assert_eq!(Modes::parse(" strict_order , strict_once ").unwrap().to_string(), "strict_order,strict_once");
        assert!(Funnel::new(-1, 2, Modes::default()).is_err());
        assert!(Funnel::new(1, 33, Modes::default()).is_err());
    }

    #[test]
    fn merging_keeps_every_row() {
        let f = Funnel::new(HOUR, 3, Modes::default()).unwrap();
        let mut a = FunnelEvents::default();
        a.add(&f, 10, 2);
        let mut b = FunnelEvents::default();
        b.add(&f, 1, 1);
        b.add(&f, 20, 4);
        a.merge(&b);
        assert_eq!(a.level(&f), 3);
    }
}
