//! Per-device request rate limits: a token bucket per device, so one noisy
//! device is slowed down without affecting any other.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Devices whose bucket is full and idle this long are forgotten.
const IDLE: Duration = Duration::from_secs(600);
/// Forget idle buckets once this many are tracked.
const SWEEP_AT: usize = 10_000;

/// A token bucket per device: `rate` requests per second, bursts of `burst`.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<i64, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// `rate` of 0 disables limiting.
    pub fn new(rate: f64, burst: u32) -> RateLimiter {
        RateLimiter { rate: rate.max(0.0), burst: f64::from(burst.max(1)), buckets: Mutex::default() }
    }

    /// Takes one token for `device`, or says how long until one is available.
    pub fn check(&self, device: i64) -> Result<(), Duration> {
        self.check_at(device, Instant::now())
    }

    fn check_at(&self, device: i64, now: Instant) -> Result<(), Duration> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let Ok(mut buckets) = self.buckets.lock() else { return Ok(()) };
        if buckets.len() >= SWEEP_AT {
            buckets.retain(|_, b| now.duration_since(b.at) < IDLE);
        }
        let bucket = buckets.entry(device).or_insert(Bucket { tokens: self.burst, at: now });
        let refill = now.saturating_duration_since(bucket.at).as_secs_f64() * self.rate;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_burst_then_the_rate_and_devices_are_independent() {
        let limiter = RateLimiter::new(10.0, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at(1, t0).is_ok());
        }
        let wait = limiter.check_at(1, t0).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(100), "{wait:?}");
        assert!(limiter.check_at(2, t0).is_ok(), "another device is not affected");
        assert!(limiter.check_at(1, t0 + Duration::from_millis(100)).is_ok(), "refilled at the rate");
        assert!(RateLimiter::new(0.0, 1).check_at(1, t0).is_ok());
    }
}
