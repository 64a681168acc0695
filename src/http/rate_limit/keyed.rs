//! [`KeyedRateLimiter`]: the native default, one governor GCRA limiter per
//! bucket, in memory, on the provider's clock (so tests drive it with the
//! fake clock).
//!
//! Memory stays bounded whatever the keys: a key counts in one of [`SLOTS`]
//! slots, picked by a hash keyed at random per process (so nobody can aim
//! two keys at one slot), and slots idle for a whole period are dropped from
//! time to time. Two clients that share a slot share a limit; with a few
//! thousand active clients per period that is rare.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::HashMapStateStore;
use governor::Quota;

use super::{Bucket, RateLimiter, RetryAfter};
use crate::clock::Clock;
use crate::config::{RateLimit, RateLimits};

/// Slots per bucket: at most this many states are held (about 1.5 MB).
const SLOTS: u64 = 1 << 16;
/// Every this many checks, a bucket drops its idle slots.
const HOUSEKEEPING_EVERY: u32 = 4096;

/// The provider's clock as governor's: milliseconds since the epoch.
#[derive(Clone)]
struct ProviderClock(Arc<dyn Clock>);

impl governor::clock::Clock for ProviderClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(Duration::from_millis(self.0.now_millis()))
    }
}

type Gcra = governor::RateLimiter<u64, HashMapStateStore<u64>, ProviderClock, NoOpMiddleware<Nanos>>;

struct Limiter {
    gcra: Gcra,
    checks: AtomicU32,
}

/// In-memory limits for one process, from [`RateLimits`].
pub struct KeyedRateLimiter {
    /// Indexed like [`Bucket::ALL`]; `None`: not limited.
    buckets: [Option<Limiter>; Bucket::ALL.len()],
    slots: RandomState,
    clock: ProviderClock,
}

impl KeyedRateLimiter {
    /// Limits by `limits`, on the system clock.
    pub fn new(limits: &RateLimits) -> Self {
        Self::with_clock(limits, Arc::new(crate::clock::SystemClock))
    }

    /// Limits by `limits`, on `clock`.
    pub fn with_clock(limits: &RateLimits, clock: Arc<dyn Clock>) -> Self {
        let clock = ProviderClock(clock);
        let buckets = Bucket::ALL.map(|bucket| {
            let quota = quota(bucket.rule(limits)?)?;
            let gcra = Gcra::new(quota, HashMapStateStore::default(), clock.clone());
            Some(Limiter { gcra, checks: AtomicU32::new(0) })
        });
        Self { buckets, slots: RandomState::new(), clock }
    }
}

/// `limit` per `period`: bursts of `limit`, one more every `period / limit`.
fn quota(rule: RateLimit) -> Option<Quota> {
    let burst = std::num::NonZeroU32::new(rule.limit)?;
    let every = Duration::from_secs(rule.period) / rule.limit;
    Some(Quota::with_period(every)?.allow_burst(burst))
}

#[async_trait::async_trait]
impl RateLimiter for KeyedRateLimiter {
    async fn check(&self, bucket: Bucket, key: &str) -> Result<(), RetryAfter> {
        let index = Bucket::ALL.iter().position(|b| *b == bucket).unwrap_or(0);
        let Some(limiter) = &self.buckets[index] else { return Ok(()) };
        if limiter.checks.fetch_add(1, Ordering::Relaxed) % HOUSEKEEPING_EVERY == HOUSEKEEPING_EVERY - 1 {
            limiter.gcra.retain_recent();
        }
        let slot = self.slots.hash_one(key) % SLOTS;
        limiter.gcra.check_key(&slot).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&self.clock));
            RetryAfter(wait.as_millis().div_ceil(1000).max(1) as u64)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;

    fn run<F: std::future::Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        loop {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    #[test]
    fn bursts_then_refills_evenly_on_the_clock() {
        let clock = FakeClock::at(1_000_000);
        let limits = RateLimits { register_per_ip: Some(RateLimit::per(3, 60)), ..RateLimits::off() };
        let limiter = KeyedRateLimiter::with_clock(&limits, Arc::new(clock.clone()));
        for _ in 0..3 {
            assert_eq!(run(limiter.check(Bucket::RegisterPerIp, "a")), Ok(()));
        }
        assert_eq!(run(limiter.check(Bucket::RegisterPerIp, "a")), Err(RetryAfter(20)));
        assert_eq!(run(limiter.check(Bucket::RegisterPerIp, "b")), Ok(()), "another key has its own");
        assert_eq!(run(limiter.check(Bucket::TokenPerIp, "a")), Ok(()), "an unlimited bucket");
        clock.advance(20);
        assert_eq!(run(limiter.check(Bucket::RegisterPerIp, "a")), Ok(()), "one more after period/limit");
        assert!(run(limiter.check(Bucket::RegisterPerIp, "a")).is_err());
    }

    #[test]
    fn idle_slots_are_dropped() {
        let clock = FakeClock::at(1_000_000);
        let limits = RateLimits { token_per_ip: Some(RateLimit::per(1, 1)), ..RateLimits::off() };
        let limiter = KeyedRateLimiter::with_clock(&limits, Arc::new(clock.clone()));
        for i in 0..HOUSEKEEPING_EVERY * 2 {
            let _ = run(limiter.check(Bucket::TokenPerIp, &format!("10.0.{}.{}", i / 256, i % 256)));
            if i % 512 == 0 {
                clock.advance(2);
            }
        }
        let held = limiter.buckets[2].as_ref().unwrap().gcra.len();
        assert!(held < 1024, "{held} slots held after housekeeping");
    }
}
