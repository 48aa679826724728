//! The walk: the behavioural reports read the lake one visitor at a time.
//!
//! Every lake file is sorted by `(visitor_id, ts)` (the writer and the
//! compactor both sort). The engine scans the files in parallel and hands
//! the rows over in pieces, each row with its file and its row number in the
//! file; the pieces put back in file order are each file's run, and a k-way
//! merge of the runs by visitor yields each visitor's events in time order,
//! without a hash table: the reports run their state machines per visitor
//! and keep only counts (`tally.rs`).
//!
//! A run found out of `(visitor, ts)` order (a file written by another
//! tool) is sorted here first. Within a visitor, rows of several files are
//! merged by time, ties in file order; each report fixes its own order of
//! ties (see `tally`), so answers never depend on how the scan was split.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Which rows a walk may drop because they cannot change the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Keep {
    /// Every row.
    #[default]
    All,
    /// A row whose key repeats the previous row's key of the same visitor
    /// (only the set of keys matters: retention's periods).
    NewKeys,
    /// A keyless row after another row of the same visitor (only the keyed
    /// rows and the visitor's presence matter: sequences).
    Keyed,
    /// Every keyless row (only rows matching a step matter: funnels).
    Matched,
}

/// Rows of one file that arrived together, in row order.
#[derive(Debug, Clone, Copy)]
struct Piece {
    file: u64,
    first: i64,
    last: i64,
    start: usize,
    end: usize,
}

/// One event of a visitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub ts: i64,
    pub key: u32,
    pub visit: u64,
    /// `(start, len)` in the walk's texts.
    pub text: (u32, u32),
}

/// One visitor's events in time order.
#[derive(Debug, Default)]
pub struct Visitor {
    pub id: u64,
    pub events: Vec<Event>,
}

/// The rows of a walk, gathered as they come, then merged.
#[derive(Debug, Default, Clone)]
pub struct Walk {
    keep: Keep,
    /// Whether rows carry a visit and a text (flows).
    with_text: bool,
    visitor: Vec<u64>,
    ts: Vec<i64>,
    key: Vec<u32>,
    visit: Vec<u64>,
    text_at: Vec<(u32, u32)>,
    text: Vec<u8>,
    pieces: Vec<Piece>,
}

impl Walk {
    pub fn new(keep: Keep, with_text: bool) -> Walk {
        Walk { keep, with_text, ..Walk::default() }
    }

    /// Adds row number `row` of file `file`.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub fn push(&mut self, file: u64, row: i64, visitor: u64, ts: i64, key: u32, visit: u64, text: &[u8]) {
        if self.keep == Keep::Matched && key == 0 {
            return;
        }
        let n = self.visitor.len();
        match self.pieces.last_mut() {
            Some(p) if p.file == file && p.last < row && p.end == n => {
                // The same visitor as the previous row of this file: some
                // rows cannot matter.
                if self.visitor[n - 1] == visitor && self.ts[n - 1] <= ts {
                    let drop = match self.keep {
                        Keep::All | Keep::Matched => false,
                        Keep::NewKeys => self.key[n - 1] == key,
                        Keep::Keyed => key == 0,
                    };
                    if drop {
                        p.last = row;
                        return;
                    }
                }
                p.last = row;
                p.end = n + 1;
            }
            _ => self.pieces.push(Piece { file, first: row, last: row, start: n, end: n + 1 }),
        }
        self.visitor.push(visitor);
        self.ts.push(ts);
        self.key.push(key);
        if self.with_text {
            self.visit.push(visit);
            self.text_at.push((self.text.len() as u32, text.len() as u32));
            self.text.extend_from_slice(text);
        }
    }

    /// Adds `other`'s rows.
    pub fn append(&mut self, other: &Walk) {
        let (rows, texts) = (self.visitor.len(), self.text.len() as u32);
        self.visitor.extend_from_slice(&other.visitor);
        self.ts.extend_from_slice(&other.ts);
        self.key.extend_from_slice(&other.key);
        self.visit.extend_from_slice(&other.visit);
        self.text_at.extend(other.text_at.iter().map(|&(s, l)| (s + texts, l)));
        self.text.extend_from_slice(&other.text);
        self.pieces.extend(other.pieces.iter().map(|p| Piece { start: p.start + rows, end: p.end + rows, ..*p }));
    }

    /// Rows kept.
    pub fn len(&self) -> usize {
        self.visitor.len()
    }

    pub fn is_empty(&self) -> bool {
        self.visitor.is_empty()
    }

    /// The texts events point into.
    pub fn texts(&self) -> &[u8] {
        &self.text
    }

    /// Each file's rows in `(visitor, ts)` order, as row indices.
    fn runs(&self) -> Vec<Vec<u32>> {
        let mut pieces = self.pieces.clone();
        pieces.sort_unstable_by_key(|p| (p.file, p.first));
        let mut runs: Vec<Vec<u32>> = Vec::new();
        for file in pieces.chunk_by(|a, b| a.file == b.file) {
            let mut run: Vec<u32> = file.iter().flat_map(|p| p.start as u32..p.end as u32).collect();
            let key = |i: &u32| (self.visitor[*i as usize], self.ts[*i as usize]);
            if !run.windows(2).all(|w| key(&w[0]) <= key(&w[1])) {
                // Stable: ties keep the order they came in.
                run.sort_by_key(key);
            }
            runs.push(run);
        }
        runs
    }

    /// Calls `each` once per visitor (in visitor order) with all its rows in
    /// time order, ties in file order. The visitors are split into one range
    /// per state, each merged on its own thread (the first on this one)
    /// into its state.
    pub fn merge_parts<T: Send>(
        &self,
        mut states: Vec<T>,
        each: impl Fn(&mut T, &Visitor) -> Result<(), String> + Sync,
    ) -> Result<Vec<T>, String> {
        let runs = self.runs();
        // Bounds between parts: quantiles of a sample of the visitors.
        let mut sample: Vec<u64> =
            runs.iter().flat_map(|r| r.iter().step_by(256).map(|&i| self.visitor[i as usize])).collect();
        sample.sort_unstable();
        let parts = states.len().max(1);
        let mut bounds: Vec<u64> =
            (1..parts).map(|p| sample.get(p * sample.len() / parts).copied().unwrap_or(0)).collect();
        bounds.dedup();
        let part_runs = |lo: Option<u64>, hi: Option<u64>| -> Vec<&[u32]> {
            runs.iter()
                .map(|r| {
                    let from = lo.map_or(0, |lo| r.partition_point(|&i| self.visitor[i as usize] < lo));
                    let to = hi.map_or(r.len(), |hi| r.partition_point(|&i| self.visitor[i as usize] < hi));
                    &r[from..to]
                })
                .collect()
        };
        let ranges: Vec<Vec<&[u32]>> = (0..=bounds.len())
            .map(|p| part_runs(p.checked_sub(1).map(|q| bounds[q]), bounds.get(p).copied()))
            .collect();
        let each = &each;
        std::thread::scope(|scope| {
            let mut states = states.iter_mut().zip(&ranges);
            let Some((first, first_runs)) = states.next() else { return Ok(()) };
            let handles: Vec<_> = states
                .map(|(state, runs)| scope.spawn(move || self.merge_runs(runs, &mut |v| each(state, v))))
                .collect();
            let mine = self.merge_runs(first_runs, &mut |v| each(first, v));
            handles.into_iter().try_for_each(|h| h.join().map_err(|_| "a walk thread panicked".to_string())?)?;
            mine
        })?;
        Ok(states)
    }

    fn merge_runs(&self, runs: &[&[u32]], each: &mut dyn FnMut(&Visitor) -> Result<(), String>) -> Result<(), String> {
        let mut at = vec![0usize; runs.len()];
        let mut heap: BinaryHeap<Reverse<(u64, usize)>> = runs
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.first().map(|&row| Reverse((self.visitor[row as usize], i))))
            .collect();
        let mut visitor = Visitor::default();
        while let Some(Reverse((id, first))) = heap.pop() {
            visitor.id = id;
            visitor.events.clear();
            let mut files = 0;
            let mut next = Some(first);
            while let Some(i) = next {
                files += 1;
                let run = runs[i];
                let mut r = at[i];
                while let Some(&row) = run.get(r) {
                    let row = row as usize;
                    if self.visitor[row] != id {
                        heap.push(Reverse((self.visitor[row], i)));
                        break;
                    }
                    visitor.events.push(Event {
                        ts: self.ts[row],
                        key: self.key[row],
                        visit: self.visit.get(row).copied().unwrap_or(0),
                        text: self.text_at.get(row).copied().unwrap_or((0, 0)),
                    });
                    r += 1;
                }
                at[i] = r;
                next = match heap.peek() {
                    Some(&Reverse((v, j))) if v == id => {
                        heap.pop();
                        Some(j)
                    }
                    _ => None,
                };
            }
            if files > 1 {
                // Stable: ties keep file order.
                visitor.events.sort_by_key(|e| e.ts);
            }
            each(&visitor)?;
        }
        Ok(())
    }
}

/// The text of an event of a walk whose texts are `texts`.
pub fn text<'a>(texts: &'a [u8], event: &Event) -> &'a [u8] {
    let (start, len) = (event.text.0 as usize, event.text.1 as usize);
    texts.get(start..start + len).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows (file, row, visitor, ts, key) pushed in the given order, split
    /// over two walks that are then appended (as two threads would).
    fn walk(keep: Keep, rows: &[(u64, i64, u64, i64, u32)]) -> Vec<(u64, Vec<(i64, u32)>)> {
        let (mut a, mut b) = (Walk::new(keep, false), Walk::new(keep, false));
        for (i, &(file, row, v, ts, key)) in rows.iter().enumerate() {
            let w = if i % 3 == 2 { &mut b } else { &mut a };
            w.push(file, row, v, ts, key, 0, b"");
        }
        a.append(&b);
        let parts = a
            .merge_parts(vec![Vec::new()], |out, v| {
                out.push((v.id, v.events.iter().map(|e| (e.ts, e.key)).collect()));
                Ok(())
            })
            .unwrap();
        parts.into_iter().flatten().collect()
    }

    #[test]
    fn visitors_come_once_with_all_their_rows_in_time_order() {
        // Files interleave, pieces arrive out of order; each file is sorted.
        let rows = [
            (0, 3, 1, 30, 3),
            (2, 0, 1, 20, 2),
            (0, 0, 1, 10, 1),
            (2, 1, 1, 30, 4),
            (0, 4, 1, 50, 5),
            (2, 2, 2, 1, 6),
            (0, 5, 3, 5, 7),
        ];
        // Ties (30) keep file order: file 0's row before file 2's.
        assert_eq!(
            walk(Keep::All, &rows),
            vec![(1, vec![(10, 1), (20, 2), (30, 3), (30, 4), (50, 5)]), (2, vec![(1, 6)]), (3, vec![(5, 7)])]
        );
    }

    #[test]
    fn rows_that_cannot_matter_are_not_kept() {
        let rows = [(0, 0, 1, 10, 7), (0, 1, 1, 20, 7), (0, 2, 1, 30, 8), (0, 3, 2, 5, 7)];
        assert_eq!(walk(Keep::NewKeys, &rows[..2]), vec![(1, vec![(10, 7)])]);
        assert_eq!(walk(Keep::NewKeys, &rows).iter().map(|v| v.1.len()).sum::<usize>(), 3);
        let rows = [(0, 0, 1, 10, 0), (0, 1, 1, 20, 0)];
        assert_eq!(walk(Keep::Keyed, &rows), vec![(1, vec![(10, 0)])]);
        assert_eq!(walk(Keep::Matched, &[(0, 0, 1, 10, 0), (0, 1, 1, 20, 4)]), vec![(1, vec![(20, 4)])]);
    }

    #[test]
    fn parts_merge_every_visitor_once() {
        let mut w = Walk::new(Keep::All, false);
        for file in 0..3u64 {
            for v in 0..1000u64 {
                w.push(file, v as i64, v, 10 * file as i64 + (v % 3) as i64, 1, 0, b"");
            }
        }
        let counts = w
            .merge_parts(vec![(0u64, 0usize); 3], |(n, rows), v| {
                *n += 1;
                *rows += v.events.len();
                assert!(v.events.windows(2).all(|e| e[0].ts <= e[1].ts));
                Ok(())
            })
            .unwrap();
        assert_eq!(counts.iter().map(|c| c.0).sum::<u64>(), 1000);
        assert_eq!(counts.iter().map(|c| c.1).sum::<usize>(), 3000);
        assert!(counts.iter().all(|c| c.0 > 100), "{counts:?}");
    }

    #[test]
    fn an_unsorted_file_is_sorted_first() {
        let rows = [(0, 0, 2, 10, 1), (0, 1, 1, 30, 2), (0, 2, 1, 20, 3)];
        assert_eq!(walk(Keep::All, &rows), vec![(1, vec![(20, 3), (30, 2)]), (2, vec![(10, 1)])]);
    }
}
