//! Bounds on the metadata fetches in flight: at most [`PER_HOST`] to one
//! host and [`TOTAL`] in all, per provider.
//!
//! Concurrency, not a rate: a fetch holds a connection and a task for up to
//! its 5 s time limit, so what a flood of URL client ids can cost the server
//! (and what it can aim at one host) is the number held open at once. The
//! rate is already bounded upstream: each fetch needs a request to an
//! endpoint that is limited per address, and a URL that failed is not
//! fetched again for a minute. Counting in flight needs no clock and no
//! history per host, and works the same natively and in wasm. A request over
//! a bound is refused ([`FetchError::Busy`], retryable), never queued.

use std::sync::Mutex;

use super::FetchError;

/// Most fetches in flight to one host.
pub const PER_HOST: usize = 4;
/// Most fetches in flight in all.
pub const TOTAL: usize = 32;

/// The hosts being fetched from, one entry per fetch in flight.
#[derive(Default)]
pub(crate) struct FetchSlots {
    in_flight: Mutex<Vec<String>>,
}

/// A fetch in flight; dropping it (done, failed or cancelled) frees it.
pub(crate) struct Slot<'a> {
    slots: &'a FetchSlots,
    host: String,
}

impl FetchSlots {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.in_flight.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A slot for fetching `url` (already checked against the URL rules),
    /// or [`FetchError::Busy`].
    pub(crate) fn take(&self, url: &str) -> Result<Slot<'_>, FetchError> {
        let host = host_of(url);
        let mut in_flight = self.lock();
        if in_flight.len() >= TOTAL || in_flight.iter().filter(|h| **h == host).count() >= PER_HOST {
            return Err(FetchError::Busy);
        }
        in_flight.push(host.clone());
        Ok(Slot { slots: self, host })
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut in_flight = self.slots.lock();
        if let Some(i) = in_flight.iter().position(|h| *h == self.host) {
            in_flight.swap_remove(i);
        }
    }
}

/// The host (and port) of a checked URL, lowercased: the text between
/// `://` and the path.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split('/').next().unwrap_or_default().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_per_host_and_in_total_and_freed_on_drop() {
        let slots = FetchSlots::default();
        let held: Vec<_> =
            (0..PER_HOST).map(|i| slots.take(&format!("https://A.example/{i}")).unwrap()).collect();
        assert!(matches!(slots.take("https://a.example/x"), Err(FetchError::Busy)));
        let other = slots.take("https://b.example/x").unwrap();
        drop(held);
        assert!(slots.take("https://a.example/x").is_ok(), "freed when dropped");
        drop(other);
        let all: Vec<_> =
            (0..TOTAL).map(|i| slots.take(&format!("https://h{i}.example/c")).unwrap()).collect();
        assert!(matches!(slots.take("https://new.example/c"), Err(FetchError::Busy)));
        assert_eq!(all.len(), TOTAL);
    }
}
