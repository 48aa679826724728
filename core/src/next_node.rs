//! ClickHouse's `sequenceNextNode(direction, base)(ts, value, base_condition,
//! event1, …)`: the value of the row that follows (or precedes) a chain of
//! rows matching event1, event2, … on consecutive rows.
//!
//! Rows are ordered by time, ties by value (byte order), as ClickHouse sorts
//! them. The base row is the first row (`head`), the last row (`tail`), or
//! the first/last row matching event1 (`first_match`/`last_match`), and it
//! must satisfy the base condition. From there event k must hold on the k-th
//! row forward (backward); the answer is the next row's value, or NULL.

/// ClickHouse's limit on event conditions.
pub const MAX_EVENTS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Backward,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    Head,
    Tail,
    FirstMatch,
    LastMatch,
}

/// A configuration: direction, base and the number of event conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextNode {
    pub direction: Direction,
    pub base: Base,
    pub events: usize,
}

impl NextNode {
    /// Parses the direction and base as ClickHouse does.
    pub fn new(direction: &str, base: &str, events: usize) -> Result<NextNode, String> {
        let direction = match direction {
            "forward" => Direction::Forward,
            "backward" => Direction::Backward,
            other => {
                return Err(format!(
                    "unknown direction {other}; use 'forward' or 'backward'",
                    other = crate::quote::quoted(other)
                ));
            }
        };
        let base = match base {
            "head" => Base::Head,
            "tail" => Base::Tail,
            "first_match" => Base::FirstMatch,
            "last_match" => Base::LastMatch,
            other => {
                return Err(format!(
                    "unknown base {other}; use 'head', 'tail', 'first_match' or 'last_match'",
                    other = crate::quote::quoted(other)
                ));
            }
        };
        match (direction, base) {
            (Direction::Backward, Base::Head) => {
                return Err("base 'head' goes with direction 'forward' only (use 'first_match' or 'last_match')".into());
            }
            (Direction::Forward, Base::Tail) => {
                return Err(
                    "base 'tail' goes with direction 'backward' only (use 'first_match' or 'last_match')".into()
                );
            }
            _ => {}
        }
        if matches!(base, Base::FirstMatch | Base::LastMatch) && events == 0 {
            return Err("base 'first_match' and 'last_match' need at least one event condition".into());
        }
        if events > MAX_EVENTS {
            return Err(format!("at most {MAX_EVENTS} event conditions, got {events}"));
        }
        Ok(NextNode { direction, base, events })
    }
}

/// One row of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub ts: i64,
    pub value: Box<[u8]>,
    /// Bit k = event k+1 holds.
    pub events: u64,
    pub can_be_base: bool,
}

/// One group's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nodes {
    nodes: Vec<Node>,
    sorted: bool,
    /// While `sorted`: the index of the first row that can be a
    /// `first_match` base.
    first_base: Option<usize>,
    /// While `sorted`, going forward from the head or the first match: the
    /// rows so far already hold the whole answer, so any row that sorts
    /// after the last one cannot change it (the lake arrives sorted by time,
    /// and this keeps a visit's state at a few rows).
    settled: bool,
}

impl Default for Nodes {
    fn default() -> Self {
        Nodes { nodes: Vec::new(), sorted: true, first_base: None, settled: false }
    }
}

fn is_first_match_base(node: &Node) -> bool {
    node.events & 1 == 1 && node.can_be_base
}

fn before(a: &Node, b: &Node) -> bool {
    (a.ts, &a.value) < (b.ts, &b.value)
}

impl Nodes {
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Whether a row at (ts, value) cannot change the answer, so the caller
    /// may skip it (without even copying its value).
    pub fn ignores(&self, ts: i64, value: &[u8]) -> bool {
        self.settled && self.nodes.last().is_some_and(|last| (ts, value) >= (last.ts, &*last.value))
    }

    pub fn add(&mut self, config: &NextNode, node: Node) {
        if self.ignores(node.ts, &node.value) {
            return;
        }
        if let Some(last) = self.nodes.last() {
            self.sorted &= !before(&node, last);
        }
        if self.sorted && self.first_base.is_none() && is_first_match_base(&node) {
            self.first_base = Some(self.nodes.len());
        }
        self.nodes.push(node);
        self.settle(config);
        self.prune(config);
    }

    /// Marks the state settled when, sorted, its rows hold the whole
    /// answer: going forward, the base row and the `events` rows after it.
    fn settle(&mut self, config: &NextNode) {
        if !self.sorted {
            self.first_base = None;
            self.settled = false;
            return;
        }
        let base = match (config.direction, config.base) {
            (Direction::Forward, Base::Head) => Some(0),
            (Direction::Forward, Base::FirstMatch) => self.first_base,
            _ => None,
        };
        self.settled = base.is_some_and(|b| self.nodes.len() > b + config.events);
    }

    pub fn merge(&mut self, config: &NextNode, other: &Nodes) {
        if other.nodes.is_empty() {
            return;
        }
        let in_order = match (self.nodes.last(), other.nodes.first()) {
            (Some(a), Some(b)) => !before(b, a),
            _ => true,
        };
        if self.settled && in_order && other.sorted {
            return;
        }
        if self.sorted && other.sorted && in_order && self.first_base.is_none() {
            self.first_base = other.first_base.map(|b| b + self.nodes.len());
        }
        self.sorted = self.sorted && other.sorted && in_order;
        self.nodes.extend_from_slice(&other.nodes);
        self.settle(config);
        self.prune(config);
    }

    fn sort(&mut self) {
        if !self.sorted {
            self.nodes.sort_by(|a, b| (a.ts, &a.value).cmp(&(b.ts, &b.value)));
            self.sorted = true;
            self.first_base = self.nodes.iter().position(is_first_match_base);
        }
    }

    /// With a head (tail) base only the first (last) `events + 1` rows can
    /// matter: drop the others once there are plenty, so state stays small.
    fn prune(&mut self, config: &NextNode) {
        let keep = config.events + 1;
        if matches!(config.base, Base::FirstMatch | Base::LastMatch) || self.nodes.len() < 2 * keep + 64 {
            return;
        }
        self.sort();
        match config.base {
            Base::Head => self.nodes.truncate(keep),
            Base::Tail => {
                self.nodes.drain(..self.nodes.len() - keep);
            }
            _ => {}
        }
        self.first_base = self.nodes.iter().position(is_first_match_base);
    }

    /// The answer: the value of the row after the chain, or `None`.
    pub fn result(&mut self, config: &NextNode) -> Option<&[u8]> {
        let n = self.nodes.len();
        if n <= config.events {
            return None;
        }
        self.sort();
        let nodes = &self.nodes;
        let base = match config.base {
            Base::Head => nodes[0].can_be_base.then_some(0),
            Base::Tail => nodes[n - 1].can_be_base.then_some(n - 1),
            Base::FirstMatch => nodes.iter().position(|x| x.events & 1 == 1 && x.can_be_base),
            Base::LastMatch => nodes.iter().rposition(|x| x.events & 1 == 1 && x.can_be_base),
        }?;
        if config.events == 0 {
            return Some(&nodes[base].value);
        }
        let holds = |row: usize, k: usize| nodes[row].events >> k & 1 == 1;
        let at = match config.direction {
            Direction::Forward => {
                let chained = (0..config.events).all(|k| base + k < n && holds(base + k, k));
                chained.then_some(base + config.events)
            }
            Direction::Backward => {
                let chained = (0..config.events).all(|k| k < base && holds(base - k, k));
                chained.then(|| base - config.events)
            }
        }?;
        nodes.get(at).map(|x| &*x.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documentation's `test_flow` rows for one id: (ts, page).
    fn flow(pages: &[&str], config: &NextNode, events: impl Fn(&str) -> u64, base: impl Fn(&str) -> bool) -> Nodes {
        let mut n = Nodes::default();
        for (i, p) in pages.iter().enumerate() {
            n.add(
                config,
                Node { ts: i as i64 + 1, value: p.as_bytes().into(), events: events(p), can_be_base: base(p) },
            );
        }
        n
    }

    fn answer(n: &mut Nodes, c: &NextNode) -> Option<String> {
        n.result(c).map(|v| String::from_utf8_lossy(v).into_owned())
    }

    #[test]
    fn clickhouse_documented_examples() {
        // forward, head: (page = 'A', page = 'A', page = 'B') on A..E → C
        let c = NextNode::new("forward", "head", 2).unwrap();
        let ev = |p: &str| u64::from(p == "A") | (u64::from(p == "B") << 1);
        assert_eq!(answer(&mut flow(&["A", "B", "C", "D", "E"], &c, ev, |p| p == "A"), &c).as_deref(), Some("C"));

        // forward, head, (Home, Home, Gift)
        let ev = |p: &str| u64::from(p == "Home") | (u64::from(p == "Gift") << 1);
        let base = |p: &str| p == "Home";
        assert_eq!(answer(&mut flow(&["Home", "Gift", "Exit"], &c, ev, base), &c).as_deref(), Some("Exit"));
        assert_eq!(answer(&mut flow(&["Home", "Home", "Gift", "Basket"], &c, ev, base), &c), None);
        assert_eq!(answer(&mut flow(&["Gift", "Home", "Gift", "Basket"], &c, ev, base), &c), None);

        // backward, tail, (Basket, Basket, Gift)
        let c = NextNode::new("backward", "tail", 2).unwrap();
        let ev = |p: &str| u64::from(p == "Basket") | (u64::from(p == "Gift") << 1);
        let base = |p: &str| p == "Basket";
        assert_eq!(answer(&mut flow(&["Home", "Gift", "Exit"], &c, ev, base), &c), None);
        assert_eq!(answer(&mut flow(&["Home", "Home", "Gift", "Basket"], &c, ev, base), &c).as_deref(), Some("Home"));
        assert_eq!(answer(&mut flow(&["Gift", "Home", "Gift", "Basket"], &c, ev, base), &c).as_deref(), Some("Home"));

        // forward, first_match, (Gift, Gift)
        let c = NextNode::new("forward", "first_match", 1).unwrap();
        let ev = |p: &str| u64::from(p == "Gift");
        let base = |p: &str| p == "Gift";
        assert_eq!(answer(&mut flow(&["Home", "Gift", "Exit"], &c, ev, base), &c).as_deref(), Some("Exit"));
        assert_eq!(answer(&mut flow(&["Home", "Home", "Gift", "Basket"], &c, ev, base), &c).as_deref(), Some("Basket"));
        assert_eq!(answer(&mut flow(&["Gift", "Home", "Gift", "Basket"], &c, ev, base), &c).as_deref(), Some("Home"));

        // backward, last_match, (Gift, Gift, Home)
        let c = NextNode::new("backward", "last_match", 2).unwrap();
        let ev = |p: &str| u64::from(p == "Gift") | (u64::from(p == "Home") << 1);
        assert_eq!(answer(&mut flow(&["Home", "Gift", "Exit"], &c, ev, base), &c), None);
        assert_eq!(answer(&mut flow(&["Home", "Home", "Gift", "Basket"], &c, ev, base), &c).as_deref(), Some("Home"));
        assert_eq!(answer(&mut flow(&["Gift", "Home", "Gift", "Basket"], &c, ev, base), &c).as_deref(), Some("Gift"));
    }

    #[test]
    fn ties_order_by_value_and_pruning_is_exact() {
        let c = NextNode::new("forward", "head", 1).unwrap();
        let mut n = Nodes::default();
        for v in ["b", "a"] {
            n.add(&c, Node { ts: 1, value: v.as_bytes().into(), events: 1, can_be_base: true });
        }
        assert_eq!(answer(&mut n, &c).as_deref(), Some("b"));
        let mut n = Nodes::default();
        for i in (0..1000).rev() {
            n.add(&c, Node { ts: i, value: i.to_string().into_bytes().into(), events: 1, can_be_base: true });
        }
        assert!(n.len() < 200);
        assert_eq!(answer(&mut n, &c).as_deref(), Some("1"));
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(NextNode::new("sideways", "head", 1).unwrap_err().contains("'forward' or 'backward'"));
        assert!(NextNode::new("forward", "middle", 1).unwrap_err().contains("first_match"));
        assert!(NextNode::new("backward", "head", 1).is_err());
        assert!(NextNode::new("forward", "tail", 1).is_err());
        assert!(NextNode::new("forward", "first_match", 0).is_err());
        assert!(NextNode::new("forward", "head", 0).is_ok());
    }
}
