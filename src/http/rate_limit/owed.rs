//! Requests counted after their work was done that went over a limit: the
//! key owes one request, and is refused until the limiter's wait is over.
//! Kept here, by the HTTP layer, so that it works with any limiter (the
//! in-memory ones, Cloudflare's bindings, a limiter of one's own), none of
//! which can be asked "would you refuse?" without counting.

use std::sync::{Arc, Mutex};

use super::{Bucket, RetryAfter};
use crate::clock::Clock;

/// Debts held at most; past it a new one is not recorded (the request that
/// went over was answered anyway; the limiter still counts every later one).
/// Only clients over their limit owe, so a few at a time: a list, which
/// keeps the wasm module smaller than a hash map would.
const MAX_OWED: usize = 1000;

/// A key that owes a request in a bucket, and until when (milliseconds) it
/// is refused.
struct Debt {
    bucket: Bucket,
    key: String,
    until: u64,
}

pub(super) struct Owed {
    debts: Mutex<Vec<Debt>>,
    clock: Arc<dyn Clock>,
}

impl Owed {
    pub(super) fn new(clock: Arc<dyn Clock>) -> Self {
        Self { debts: Mutex::new(Vec::new()), clock }
    }

    /// `Err` while `key` must wait; `Ok(true)` when it owed a request whose
    /// wait is over (the debt is now the caller's to count), `Ok(false)` when
    /// it owes nothing.
    pub(super) fn take(&self, bucket: Bucket, key: &str) -> Result<bool, RetryAfter> {
        let now = self.clock.now_millis();
        let mut debts = self.debts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(i) = debts.iter().position(|d| d.bucket == bucket && d.key == key) else { return Ok(false) };
        let until = debts[i].until;
        if until > now {
            return Err(RetryAfter((until - now).div_ceil(1000).max(1)));
        }
        debts.swap_remove(i);
        Ok(true)
    }

    /// Records that `key` went over in `bucket` and must wait `retry`.
    pub(super) fn owe(&self, bucket: Bucket, key: &str, retry: RetryAfter) {
        let now = self.clock.now_millis();
        let mut debts = self.debts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        debts.retain(|d| !(d.bucket == bucket && d.key == key));
        if debts.len() >= MAX_OWED {
            // Full: forgive the debts whose wait is over.
            debts.retain(|d| d.until > now);
        }
        if debts.len() < MAX_OWED {
            debts.push(Debt { bucket, key: key.to_string(), until: now + retry.0.max(1) * 1000 });
        }
    }
}
