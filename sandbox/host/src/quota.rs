//! Rate limits: a token bucket whose clock is passed in, so its arithmetic is a pure function
//! that property tests can drive through any sequence of instants.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// A sustained rate and the burst allowed above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// Units refilled per second.
    pub per_second: u32,
    /// Bucket size: units available at once after a quiet period.
    pub burst: u32,
}

impl Rate {
    /// Host calls at `per_second`, a tenth of a second's worth of them at once (one at
    /// least): a burst is answered, a flood waits or is refused.
    pub fn host_calls(per_second: u32) -> Rate {
        Rate {
            per_second,
            burst: per_second.div_ceil(10).max(1),
        }
    }

    /// Log bytes at `per_second`, four seconds' worth of them at once.
    pub fn log_bytes(per_second: u32) -> Rate {
        Rate {
            per_second,
            burst: per_second.saturating_mul(4),
        }
    }
}

/// A token bucket. Starts full.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: Rate,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn new(rate: Rate, now: Instant) -> TokenBucket {
        TokenBucket {
            rate,
            tokens: f64::from(rate.burst),
            last: now,
        }
    }

    /// The configured rate.
    pub fn rate(&self) -> Rate {
        self.rate
    }

    fn refill(&mut self, now: Instant) {
        // An instant earlier than the last one (callers on other clocks) refills nothing.
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * f64::from(self.rate.per_second))
            .min(f64::from(self.rate.burst));
    }

    /// Takes `n` units at `now`, or says how long to wait until they will be there. A request
    /// larger than the burst can never be served and waits [`Duration::MAX`].
    pub fn take(&mut self, n: u32, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        let n = f64::from(n);
        if n <= self.tokens {
            self.tokens -= n;
            return Ok(());
        }
        if n > f64::from(self.rate.burst) || self.rate.per_second == 0 {
            return Err(Duration::MAX);
        }
        let missing = n - self.tokens;
        Err(Duration::from_secs_f64(
            missing / f64::from(self.rate.per_second),
        ))
    }

    /// Units available now (rounded down).
    pub fn available(&mut self, now: Instant) -> u64 {
        self.refill(now);
        self.tokens as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_full_bucket_serves_its_burst_then_makes_callers_wait() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(
            Rate {
                per_second: 10,
                burst: 5,
            },
            t0,
        );
        for _ in 0..5 {
            assert_eq!(b.take(1, t0), Ok(()));
        }
        let wait = b.take(1, t0).unwrap_err();
        assert!(wait > Duration::from_millis(90) && wait <= Duration::from_millis(100));
        assert_eq!(b.take(1, t0 + Duration::from_millis(100)), Ok(()));
        assert_eq!(b.take(6, t0 + Duration::from_secs(60)), Err(Duration::MAX));
    }

    proptest! {
        /// Over any schedule, what the bucket grants never exceeds burst + rate * elapsed, and
        /// a refused request is told a finite wait that would then be enough.
        #[test]
        fn never_grants_more_than_burst_plus_rate(
            per_second in 1u32..1000,
            burst in 1u32..100,
            steps in proptest::collection::vec((0u64..50_000, 1u32..5), 1..200),
        ) {
            let t0 = Instant::now();
            let rate = Rate { per_second, burst };
            let mut b = TokenBucket::new(rate, t0);
            let mut now = t0;
            let mut granted: u64 = 0;
            for (advance_us, n) in steps {
                now += Duration::from_micros(advance_us);
                match b.take(n, now) {
                    Ok(()) => granted += u64::from(n),
                    Err(wait) if n <= burst => {
                        prop_assert!(wait < Duration::MAX);
                        let mut probe = b.clone();
                        prop_assert!(probe.take(n, now + wait + Duration::from_micros(1)).is_ok());
                    }
                    Err(wait) => prop_assert_eq!(wait, Duration::MAX),
                }
                let elapsed = now.duration_since(t0).as_secs_f64();
                let bound = f64::from(burst) + elapsed * f64::from(per_second) + 1e-6;
                prop_assert!(granted as f64 <= bound, "granted {} > {}", granted, bound);
            }
        }
    }
}
