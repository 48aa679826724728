//! Retention: ClickHouse's `retention(cond1, …, condN)`.
//!
//! Over a group, result k (0-based) is true when condition 1 held on some
//! row and condition k+1 held on some row (result 0: condition 1 held). The
//! state is the set of conditions that ever held, so merging is a union and
//! the order of rows never matters.

/// ClickHouse's limit on conditions.
pub const MAX_CONDITIONS: usize = 32;

/// Conditions that held on at least one row (bit k = condition k+1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Retention {
    pub held: u32,
}

impl Retention {
    #[inline]
    pub fn add(&mut self, mask: u32) {
        self.held |= mask;
    }

    pub fn merge(&mut self, other: &Retention) {
        self.held |= other.held;
    }

    /// The `n` results.
    pub fn result(&self, n: usize) -> Vec<bool> {
        let first = self.held & 1 == 1;
        (0..n).map(|k| first && self.held >> k & 1 == 1).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_conditions_count_only_with_the_first() {
        let mut r = Retention::default();
        assert_eq!(r.result(3), vec![false, false, false]);
        r.add(0b100);
        assert_eq!(r.result(3), vec![false, false, false]);
        r.add(0b001);
        assert_eq!(r.result(3), vec![true, false, true]);
        let mut other = Retention::default();
        other.add(0b010);
        r.merge(&other);
        assert_eq!(r.result(3), vec![true, true, true]);
    }
}
