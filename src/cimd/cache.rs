//! Validated metadata documents, kept for their HTTP cache lifetime.
//!
//! The draft (draft-ietf-oauth-client-id-metadata-document-01 §4.3) lets the
//! server cache a document following the HTTP caching rules (RFC 9111). The
//! lifetime is clamped to [`MIN_SECONDS`, `MAX_SECONDS`]: the floor keeps a
//! client that answers `max-age=0` from making every authorization a fetch,
//! the ceiling makes a changed document (a rotated redirect URI) count within
//! a day. `no-store` is honoured (refetched every time); `no-cache` means
//! revalidate, which without conditional requests is the floor.
//!
//! A failed fetch or an invalid document is remembered too, for
//! [`FAILURE_SECONDS`]: client ids are attacker-chosen URLs, and without it
//! each request naming one would be a fetch. Fixing a document fixes its
//! client within that minute. Both lists are bounded at [`CAPACITY`]
//! entries; past it the entry fetched longest ago goes.
//!
//! The cache also holds the provider's `FetchSlots` (`slots.rs`), the
//! bound on fetches in flight.

use std::sync::Mutex;

use super::slots::FetchSlots;
use super::{CimdError, FetchError};
use crate::clock::UnixTime;
use crate::storage::ClientRecord;

/// Shortest lifetime of a cached document (5 minutes).
pub const MIN_SECONDS: u64 = 300;
/// Longest lifetime of a cached document (24 hours).
pub const MAX_SECONDS: u64 = 86_400;
/// Most documents kept (and most failures).
pub const CAPACITY: usize = 1000;
/// How long a failed fetch or an invalid document is remembered.
pub const FAILURE_SECONDS: u64 = 60;

/// How long a response with this `Cache-Control` may be kept, in seconds;
/// `None` for `no-store`. Directive names are case-insensitive (RFC 9111
/// §5.2); a missing or unreadable `max-age` gives the floor.
pub fn lifetime(cache_control: Option<&str>) -> Option<u64> {
    let mut max_age = None;
    let mut no_cache = false;
    for directive in cache_control.unwrap_or_default().split(',') {
        let (name, value) = match directive.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (directive.trim(), None),
        };
        if name.eq_ignore_ascii_case("no-store") {
            return None;
        } else if name.eq_ignore_ascii_case("no-cache") {
            no_cache = true;
        } else if name.eq_ignore_ascii_case("max-age") {
            // RFC 9111 §1.2.2: a delta too large to represent means "very long".
            max_age = value.and_then(|v| {
                v.bytes().all(|b| b.is_ascii_digit()).then(|| v.parse::<u64>().unwrap_or(u64::MAX))
            });
        }
    }
    let seconds = if no_cache { MIN_SECONDS } else { max_age.unwrap_or(MIN_SECONDS) };
    Some(seconds.clamp(MIN_SECONDS, MAX_SECONDS))
}

struct Entry {
    client: ClientRecord,
    fetched_at: UnixTime,
    expires_at: UnixTime,
}

/// The documents cache, keyed by URL. A plain list: at [`CAPACITY`] entries
/// a scan costs microseconds next to a fetch, and it keeps the wasm module
/// smaller than a second hash map would.
#[derive(Default)]
pub struct DocumentCache {
    entries: Mutex<Vec<Entry>>,
    /// URL, why it failed, until when.
    failures: Mutex<Vec<(String, CimdError, UnixTime)>>,
    pub(super) slots: FetchSlots,
}

impl DocumentCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The client of `url` if its document is still fresh at `now`.
    pub fn get(&self, url: &str, now: UnixTime) -> Option<ClientRecord> {
        let mut entries = self.lock();
        entries.retain(|e| now < e.expires_at);
        entries.iter().find(|e| e.client.client_id == url).map(|e| e.client.clone())
    }

    /// Keeps a validated client for `seconds` from `now`, replacing an older
    /// copy. Full, it first drops expired entries, then the one fetched
    /// longest ago.
    pub fn put(&self, client: ClientRecord, seconds: u64, now: UnixTime) {
        let mut entries = self.lock();
        entries.retain(|e| now < e.expires_at && e.client.client_id != client.client_id);
        if entries.len() >= CAPACITY {
            if let Some(oldest) = (0..entries.len()).min_by_key(|&i| entries[i].fetched_at) {
                entries.swap_remove(oldest);
            }
        }
        entries.push(Entry { client, fetched_at: now, expires_at: now.saturating_add(seconds) });
    }

    /// Why fetching `url` failed, if it did less than [`FAILURE_SECONDS`] ago.
    pub fn failure(&self, url: &str, now: UnixTime) -> Option<CimdError> {
        let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        failures.retain(|(_, _, until)| now < *until);
        failures.iter().find(|(u, _, _)| u == url).map(|(_, error, _)| error.clone())
    }

    /// Remembers why fetching `url` failed at `now` (not a refusal for want
    /// of a fetch slot, which says nothing about the URL). Full, the oldest
    /// failure goes.
    pub fn remember_failure(&self, url: &str, error: &CimdError, now: UnixTime) {
        if matches!(error, CimdError::Fetch(FetchError::Busy)) {
            return;
        }
        let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        failures.retain(|(u, _, until)| now < *until && u != url);
        if failures.len() >= CAPACITY {
            if let Some(oldest) = (0..failures.len()).min_by_key(|&i| failures[i].2) {
                failures.swap_remove(oldest);
            }
        }
        failures.push((url.to_string(), error.clone(), now.saturating_add(FAILURE_SECONDS)));
    }

    /// Number of documents held (fresh or not yet swept).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{AuthMethod, ClientOrigin};

    fn client(url: &str) -> ClientRecord {
        ClientRecord {
            client_id: url.into(),
            secret_digest: None,
            redirect_uris: vec!["https://a.example/cb".into()],
            scopes: vec![],
            grant_types: vec!["authorization_code".into()],
            auth_method: AuthMethod::None,
            client_name: Some("A".into()),
            origin: ClientOrigin::MetadataDocument,
            issued_at: 0,
            expires_at: None,
        }
    }

    #[test]
    fn lifetimes_follow_cache_control_within_bounds() {
        assert_eq!(lifetime(None), Some(MIN_SECONDS));
        assert_eq!(lifetime(Some("max-age=3600")), Some(3600));
        assert_eq!(lifetime(Some("public, MAX-AGE=\"7200\"")), Some(7200));
        assert_eq!(lifetime(Some("max-age=0")), Some(MIN_SECONDS));
        assert_eq!(lifetime(Some("max-age=9999999")), Some(MAX_SECONDS));
        assert_eq!(lifetime(Some("max-age=99999999999999999999999")), Some(MAX_SECONDS));
        assert_eq!(lifetime(Some("max-age=-5")), Some(MIN_SECONDS));
        assert_eq!(lifetime(Some("max-age=3600, no-cache")), Some(MIN_SECONDS));
        assert_eq!(lifetime(Some("max-age=3600, No-Store")), None);
        assert_eq!(lifetime(Some("no-store")), None);
    }

    #[test]
    fn entries_expire() {
        let cache = DocumentCache::default();
        cache.put(client("https://a.example/c"), 300, 1000);
        assert!(cache.get("https://a.example/c", 1299).is_some());
        assert!(cache.get("https://a.example/c", 1300).is_none());
        assert!(cache.is_empty());
    }

    #[test]
    fn failures_are_remembered_for_a_minute() {
        let cache = DocumentCache::default();
        let url = "https://a.example/c";
        let error = CimdError::Fetch(FetchError::Status(404));
        cache.remember_failure(url, &error, 1000);
        cache.remember_failure("https://b.example/c", &CimdError::Fetch(FetchError::Busy), 1000);
        assert_eq!(cache.failure(url, 1059), Some(error));
        assert_eq!(cache.failure(url, 1060), None);
        assert_eq!(cache.failure("https://b.example/c", 1000), None, "busy says nothing about the URL");
        for i in 0..=CAPACITY as u64 {
            cache.remember_failure(
                &format!("https://a.example/{i}"),
                &CimdError::Fetch(FetchError::Timeout),
                2000,
            );
        }
        assert_eq!(cache.failures.lock().unwrap().len(), CAPACITY, "bounded");
    }

    #[test]
    fn bounded_evicting_the_oldest() {
        let cache = DocumentCache::default();
        for i in 0..CAPACITY as u64 {
            cache.put(client(&format!("https://a.example/{i}")), MAX_SECONDS, 1000 + i);
        }
        assert_eq!(cache.len(), CAPACITY);
        cache.put(client("https://a.example/new"), 3600, 5000);
        assert_eq!(cache.len(), CAPACITY);
        assert!(cache.get("https://a.example/0", 5000).is_none());
        assert!(cache.get("https://a.example/1", 5000).is_some());
        assert!(cache.get("https://a.example/new", 5000).is_some());
        // Replacing an entry never evicts another.
        cache.put(client("https://a.example/new"), 3600, 5001);
        assert!(cache.get("https://a.example/1", 5001).is_some());
    }
}
