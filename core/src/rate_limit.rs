//! A token bucket: `rate` events per second on average, bursts up to `burst`.

/// One bucket; the caller supplies the clock (microseconds) so it is testable.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: i64,
}

impl TokenBucket {
    pub fn new(rate_per_second: f64, burst: f64, now: i64) -> Self {
        Self { rate: rate_per_second, burst, tokens: burst, last: now }
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: i64) -> bool {
        let elapsed = (now - self.last).max(0) as f64 / 1e6;
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_rate_and_the_burst_only() {
        let mut b = TokenBucket::new(10.0, 10.0, 0);
        assert_eq!((0..15).filter(|_| b.try_take(0)).count(), 10);
        assert!(!b.try_take(50_000)); // half a token
        assert!(b.try_take(100_000)); // one token after 0.1 s
        assert_eq!((0..100).filter(|_| b.try_take(10_000_000)).count(), 10); // capped at the burst
    }

    #[test]
    fn clock_going_backwards_grants_nothing() {
        let mut b = TokenBucket::new(1.0, 1.0, 1_000_000);
        assert!(b.try_take(1_000_000));
        assert!(!b.try_take(0));
    }
}
