//! Requests counted after their work was done that went over a limit: the
//! key owes one request, and is refused until the limiter's wait is over.
//! Kept here, by the HTTP layer, so that it works with any limiter (the
//! in-memory ones, Cloudflare's bindings, a limiter of one's own), none of
//! which can be asked "would you refuse?" without counting.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{Bucket, RetryAfter};
use crate::clock::Clock;

/// Debts held at most; past it a new one is not recorded (the request that
/// went over was answered anyway; the limiter still counts every later one).
const MAX_OWED: usize = 10_000;

pub(super) struct Owed {
    /// `(bucket, key)` → until when (milliseconds) the key is refused.
    until: Mutex<HashMap<(Bucket, String), u64>>,
    clock: Arc<dyn Clock>,
}

impl Owed {
    pub(super) fn new(clock: Arc<dyn Clock>) -> Self {
        Self { until: Mutex::new(HashMap::new()), clock }
    }

    /// `Err` while `key` must wait; `Ok(true)` when it owed a request whose
    /// wait is over (the debt is now the caller's to count), `Ok(false)` when
    /// it owes nothing.
    pub(super) fn take(&self, bucket: Bucket, key: &str) -> Result<bool, RetryAfter> {
        let now = self.clock.now_millis();
        let mut until = self.until.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = (bucket, key.to_string());
        match until.get(&entry) {
            None => Ok(false),
            Some(&t) if t > now => Err(RetryAfter((t - now).div_ceil(1000).max(1))),
            Some(_) => {
                until.remove(&entry);
                Ok(true)
            }
        }
    }

    /// Records that `key` went over in `bucket` and must wait `retry`.
    pub(super) fn owe(&self, bucket: Bucket, key: &str, retry: RetryAfter) {
        let now = self.clock.now_millis();
        let mut until = self.until.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if until.len() >= MAX_OWED {
            until.retain(|_, t| *t > now);
            if until.len() >= MAX_OWED {
                return;
            }
        }
        until.insert((bucket, key.to_string()), now + retry.0.max(1) * 1000);
    }
}
