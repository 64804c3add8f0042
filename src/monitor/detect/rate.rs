//! Request, row and token rates: a token bucket.

/// Token bucket: `rate` per second, at most `burst` at once.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    tokens: f64,
    last: f64,
}

impl TokenBucket {
    pub fn new(burst: f64, now: f64) -> Self {
        TokenBucket {
            tokens: burst,
            last: now,
        }
    }

    fn refill(&mut self, rate: f64, burst: f64, now: f64) {
        self.tokens = (self.tokens + (now - self.last).max(0.0) * rate).min(burst);
        self.last = now;
    }

    /// Take one token at time `now` (seconds); false when empty.
    pub fn take(&mut self, rate: f64, burst: f64, now: f64) -> bool {
        self.take_n(1.0, rate, burst, now)
    }

    /// Take `n` tokens: true when the bucket holds them, or when it is full (a request larger
    /// than the burst is admitted then, and leaves a debt the rate pays off before the next).
    /// False: refused, nothing taken.
    pub fn take_n(&mut self, n: f64, rate: f64, burst: f64, now: f64) -> bool {
        self.refill(rate, burst, now);
        if self.tokens >= n.min(burst) {
            self.tokens -= n;
            true
        } else {
            false
        }
    }

    /// Charge `n` tokens after the fact (what an answer cost): may leave a debt.
    pub fn charge(&mut self, n: f64, rate: f64, burst: f64, now: f64) {
        self.refill(rate, burst, now);
        self.tokens -= n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_bucket_admits_burst_then_rate() {
        let mut b = TokenBucket::new(3.0, 0.0);
        assert!((0..3).all(|_| b.take(1.0, 3.0, 0.0)));
        assert!(!b.take(1.0, 3.0, 0.0));
        assert!(b.take(1.0, 3.0, 1.0));
        assert!(!b.take(1.0, 3.0, 1.5));
        // Rows: a batch of 5 from a bucket of 10 at 10/s; a batch larger than the burst only
        // from a full bucket, leaving a debt.
        let mut r = TokenBucket::new(10.0, 0.0);
        assert!(r.take_n(5.0, 10.0, 10.0, 0.0));
        assert!(!r.take_n(50.0, 10.0, 10.0, 0.1));
        assert!(r.take_n(50.0, 10.0, 10.0, 1.0));
        assert!(!r.take_n(1.0, 10.0, 10.0, 4.0));
        assert!(r.take_n(1.0, 10.0, 10.0, 5.5));
        r.charge(100.0, 10.0, 10.0, 5.5);
        assert!(!r.take(10.0, 10.0, 10.0));
    }
}
