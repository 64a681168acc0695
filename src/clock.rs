//! Time as an input.
//!
//! Every expiry decision in the crate reads the time through a [`Clock`], so the
//! tests drive expiry with [`FakeClock`] instead of sleeping, and the wasm build
//! never touches `std::time::SystemTime::now()` (which panics on
//! `wasm32-unknown-unknown`): there the time comes from the host's `Date.now()`;
//! on WASI (`wasm32-wasip2`) `SystemTime` reads the WASI clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Seconds since the Unix epoch.
pub type UnixTime = u64;

/// A source of wall-clock time.
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_millis(&self) -> u64;

    /// Seconds since the Unix epoch.
    fn now(&self) -> UnixTime {
        self.now_millis() / 1000
    }
}

/// The real clock: `Date.now()` on `wasm32-unknown-unknown` (a JS host),
/// `SystemTime` everywhere else, WASI targets included.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    fn now_millis(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    fn now_millis(&self) -> u64 {
        js_sys::Date::now() as u64
    }
}

/// A clock that only moves when told to; cloning shares the same time.
#[derive(Debug, Clone)]
pub struct FakeClock(Arc<AtomicU64>);

impl FakeClock {
    /// A clock standing at `unix_seconds`.
    pub fn at(unix_seconds: UnixTime) -> Self {
        Self(Arc::new(AtomicU64::new(unix_seconds.saturating_mul(1000))))
    }

    /// Moves the clock forward by `seconds`.
    pub fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds.saturating_mul(1000), Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now_millis(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}
