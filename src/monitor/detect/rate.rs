//! Request and row rates: a token bucket.

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

    /// Take one token at time `now` (seconds); false when empty.
    pub fn take(&mut self, rate: f64, burst: f64, now: f64) -> bool {
        self.tokens = (self.tokens + (now - self.last).max(0.0) * rate).min(burst);
        self.last = now;
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
    fn token_bucket_admits_burst_then_rate() {
        let mut b = TokenBucket::new(3.0, 0.0);
        assert!((0..3).all(|_| b.take(1.0, 3.0, 0.0)));
        assert!(!b.take(1.0, 3.0, 0.0));
        assert!(b.take(1.0, 3.0, 1.0));
        assert!(!b.take(1.0, 3.0, 1.5));
    }
}
