//! Properties every behavioural state must have, because DuckDB feeds rows in
//! any order and merges partial states in any grouping: the result does not
//! depend on how a group's rows are split, merged, or ordered.

use mallard_core::funnel::{Funnel, FunnelEvents, Modes};
use mallard_core::next_node::{NextNode, Node, Nodes};
use mallard_core::pattern;
use mallard_core::retention::Retention;
use mallard_core::sequence::SequenceEvents;
use mallard_core::sessionize::Sessions;
use proptest::prelude::*;

/// Rows with small timestamps (many ties) and masks over `steps` conditions.
fn rows(steps: u32, max_len: usize) -> impl Strategy<Value = Vec<(i64, u32)>> {
    prop::collection::vec((0i64..40, 0u32..(1 << steps)), 0..max_len)
}

/// Splits `rows` into three consecutive parts at two cut points.
fn thirds<T: Clone>(rows: &[T], a: usize, b: usize) -> (Vec<T>, Vec<T>, Vec<T>) {
    let n = rows.len();
    let (x, y) = if n == 0 { (0, 0) } else { (a % (n + 1), b % (n + 1)) };
    let (lo, hi) = (x.min(y), x.max(y));
    (rows[..lo].to_vec(), rows[lo..hi].to_vec(), rows[hi..].to_vec())
}

const MODES: [&str; 8] = [
    "",
    "strict_deduplication",
    "strict_order",
    "strict_increase",
    "strict_once",
    "strict_order,allow_reentry",
    "strict_once,strict_order",
    "strict_deduplication,strict_increase,strict_once",
];

fn funnel_state(f: &Funnel, rows: &[(i64, u32)]) -> FunnelEvents {
    let mut s = FunnelEvents::default();
    for &(ts, m) in rows {
        s.add(f, ts, m);
    }
    s
}

proptest! {
    #[test]
    fn funnel_merges_associatively_and_ignores_row_order(
        rows in rows(4, 24), mode in 0usize..MODES.len(), window in 0i64..30,
        a in any::<usize>(), b in any::<usize>(), seed in any::<u64>(),
    ) {
        let f = Funnel::new(window, 4, Modes::parse(MODES[mode]).unwrap()).unwrap();
        let whole = funnel_state(&f, &rows).level(&f);
        let (x, y, z) = thirds(&rows, a, b);
        let (sx, sy, sz) = (funnel_state(&f, &x), funnel_state(&f, &y), funnel_state(&f, &z));
        let mut left = sx.clone();
        left.merge(&sy);
        left.merge(&sz);
        let mut right = sy.clone();
        right.merge(&sz);
        let mut right_first = sx.clone();
        right_first.merge(&right);
        prop_assert_eq!(left.level(&f), whole);
        prop_assert_eq!(right_first.level(&f), whole);
        // any row order: ClickHouse orders entries by (time, step)
        let mut shuffled = rows.clone();
        shuffle(&mut shuffled, seed);
        prop_assert_eq!(funnel_state(&f, &shuffled).level(&f), whole);
    }

    #[test]
    fn retention_is_a_union(rows in rows(5, 20), a in any::<usize>(), b in any::<usize>()) {
        let state = |rows: &[(i64, u32)]| {
            let mut r = Retention::default();
            rows.iter().for_each(|&(_, m)| r.add(m));
            r
        };
        let (x, y, z) = thirds(&rows, a, b);
        let mut m = state(&z);
        m.merge(&state(&x));
        m.merge(&state(&y));
        prop_assert_eq!(m.result(5), state(&rows).result(5));
    }

    #[test]
    fn sequences_merge_associatively_and_ignore_row_order(
        times in prop::collection::btree_set(0i64..1000, 0..20), masks in prop::collection::vec(0u32..8, 20),
        pattern_index in 0usize..6, a in any::<usize>(), b in any::<usize>(), seed in any::<u64>(),
    ) {
        // distinct timestamps: ties keep arrival order by design
        let rows: Vec<(i64, u32)> = times.iter().zip(&masks).map(|(&t, &m)| (t * 1_000_000, m)).collect();
        let text = ["(?1)(?2)", "(?1).*(?3)", "(?1)(?t<=100)(?2)", "(?2).(?t>50)(?3)", ".*(?1)(?1)", ""][pattern_index];
        let p = pattern::parse(text, 3).unwrap();
        let state = |rows: &[(i64, u32)]| {
            let mut s = SequenceEvents::default();
            rows.iter().for_each(|&(t, m)| s.add(t, m));
            s
        };
        let mut whole = state(&rows);
        let expected = (whole.matches(&p).unwrap(), whole.count(&p).unwrap(), whole.match_events(&p).unwrap());
        let (x, y, z) = thirds(&rows, a, b);
        let mut m = state(&y);
        m.merge(&state(&z));
        let mut merged = state(&x);
        merged.merge(&m);
        prop_assert_eq!((merged.matches(&p).unwrap(), merged.count(&p).unwrap(), merged.match_events(&p).unwrap()), expected.clone());
        let mut shuffled = rows.clone();
        shuffle(&mut shuffled, seed);
        let mut s = state(&shuffled);
        prop_assert_eq!((s.matches(&p).unwrap(), s.count(&p).unwrap(), s.match_events(&p).unwrap()), expected);
    }

    #[test]
    fn next_node_merges_and_ignores_row_order(
        keys in prop::collection::btree_set((0i64..50, 0u8..4), 0..300), bits in prop::collection::vec(0u64..8, 300),
        config in 0usize..5, a in any::<usize>(), b in any::<usize>(), seed in any::<u64>(),
    ) {
        let (dir, base, events) = [("forward", "head", 2), ("backward", "tail", 1), ("forward", "first_match", 2),
            ("backward", "last_match", 3), ("backward", "first_match", 1)][config];
        let c = NextNode::new(dir, base, events).unwrap();
        // distinct (time, value): equal ones would make arrival order matter
        let nodes: Vec<Node> = keys.iter().zip(&bits).map(|(&(ts, v), &e)| Node {
            ts, value: vec![b'a' + v].into(), events: e, can_be_base: e & 4 == 0,
        }).collect();
        let state = |nodes: &[Node]| {
            let mut s = Nodes::default();
            nodes.iter().for_each(|n| s.add(&c, n.clone()));
            s
        };
        let expected = state(&nodes).result(&c).map(<[u8]>::to_vec);
        let (x, y, z) = thirds(&nodes, a, b);
        let mut m = state(&z);
        m.merge(&c, &state(&x));
        m.merge(&c, &state(&y));
        prop_assert_eq!(m.result(&c).map(<[u8]>::to_vec), expected.clone());
        let mut shuffled = nodes.clone();
        shuffle(&mut shuffled, seed);
        prop_assert_eq!(state(&shuffled).result(&c).map(<[u8]>::to_vec), expected);
    }

    #[test]
    fn sessions_merge_in_any_grouping(
        times in prop::collection::vec(0i64..500, 0..60), gap in 0i64..40,
        a in any::<usize>(), b in any::<usize>(), seed in any::<u64>(),
    ) {
        let state = |ts: &[i64]| {
            let mut s = Sessions::default();
            ts.iter().for_each(|&t| s.add(t, gap));
            s
        };
        let mut sorted = times.clone();
        sorted.sort();
        let expected = (!sorted.is_empty()).then(|| 1 + sorted.windows(2).filter(|w| w[1] - w[0] > gap).count() as u64);
        let mut shuffled = times.clone();
        shuffle(&mut shuffled, seed);
        prop_assert_eq!(state(&shuffled).result(), Ok(expected));
        let (x, y, z) = thirds(&shuffled, a, b);
        let mut m = state(&y);
        m.merge(&state(&x), gap);
        m.merge(&state(&z), gap);
        prop_assert_eq!(m.result(), Ok(expected));
    }
}

/// A seeded Fisher–Yates shuffle (splitmix64).
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        items.swap(i, (z % (i as u64 + 1)) as usize);
    }
}
