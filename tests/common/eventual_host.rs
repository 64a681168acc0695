//! [`EventualHost`]: a [`KvHost`] that behaves like Cloudflare Workers KV seen
//! from several locations, on a logical clock of its own that the test moves.
//!
//! - A request is served by one location ([`EventualHost::set_location`]).
//! - A location sees its own writes at once and another location's only
//!   `lag` seconds later (at most 60); the newest write it sees wins.
//! - A miss is cached at its location for [`MISS_CACHE_SECONDS`]: a write
//!   elsewhere does not end it (a write at that location does), so a key can
//!   stay invisible for up to `lag + MISS_CACHE_SECONDS` ([`EventualHost::staleness_bound`]).
//! - A second write (put or delete) of a key within one second fails like
//!   KV's 429, TTLs below 60 s are refused, and there are no atomics: the
//!   trait's default `get_versioned` and `commit` apply.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use simply_mcp_oauth::storage::{KvCapabilities, KvError, KvHost, KvPage};

/// How long a location serves a miss from its cache (Workers KV's `cacheTtl`).
pub const MISS_CACHE_SECONDS: u64 = 60;
/// The smallest TTL Workers KV accepts.
pub const MIN_TTL_SECONDS: u64 = 60;
/// The longest lag modelled: KV's "60 seconds or more", without the "more".
pub const MAX_LAG_SECONDS: u64 = 60;

/// One write of a key: a value (with its eviction second) or a deletion.
#[derive(Debug)]
struct Write {
    at: u64,
    location: usize,
    value: Option<(String, Option<u64>)>,
}

#[derive(Debug)]
struct State {
    now: u64,
    lag: u64,
    location: usize,
    auto_advance: bool,
    /// Every write of each key, oldest first.
    writes: BTreeMap<String, Vec<Write>>,
    /// Per location: the host second until which a key's miss is cached.
    misses: Vec<HashMap<String, u64>>,
}

/// Workers KV across locations; cloning shares the store.
#[derive(Debug, Clone)]
pub struct EventualHost(Arc<Mutex<State>>);

impl EventualHost {
    /// `locations` locations whose reads lag each other's writes by `lag` seconds;
    /// the clock moves only by [`advance`](Self::advance). Location 0 serves first.
    pub fn new(locations: usize, lag: u64) -> Self {
        assert!(locations >= 1 && lag <= MAX_LAG_SECONDS, "1+ locations, a lag of at most 60 s");
        Self::with(locations, lag, false)
    }

    /// One location whose clock moves one second with every write, for the
    /// conformance suite: it writes a key several times in a row and has no
    /// clock to wait on, so without this every such write would be a 429.
    /// The limit still holds; the suite just never writes faster than it.
    pub fn auto_advancing() -> Self {
        Self::with(1, MAX_LAG_SECONDS, true)
    }

    fn with(locations: usize, lag: u64, auto_advance: bool) -> Self {
        Self(Arc::new(Mutex::new(State {
            now: 0,
            lag,
            location: 0,
            auto_advance,
            writes: BTreeMap::new(),
            misses: (0..locations).map(|_| HashMap::new()).collect(),
        })))
    }

    /// The location that serves the next calls.
    pub fn set_location(&self, location: usize) {
        let mut state = self.state();
        assert!(location < state.misses.len(), "no location {location}");
        state.location = location;
    }

    /// Moves the host's clock forward.
    pub fn advance(&self, seconds: u64) {
        self.state().now += seconds;
    }

    /// The longest a write can stay invisible to a location: the lag, then a
    /// miss cached just before it ended.
    pub fn staleness_bound(&self) -> u64 {
        self.state().lag + MISS_CACHE_SECONDS
    }

    /// Every key with its newest value, one per line (for the no-secrets check).
    pub fn dump(&self) -> String {
        let state = self.state();
        let newest = |writes: &Vec<Write>| writes.last().and_then(|w| w.value.clone());
        state.writes.iter().filter_map(|(k, w)| newest(w).map(|(v, _)| format!("{k} = {v}\n"))).collect()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    /// The value the serving location sees under `key` (cached misses aside).
    fn visible(&self, key: &str) -> Option<&str> {
        let seen = |w: &&Write| w.location == self.location || w.at + self.lag <= self.now;
        let (value, evict_at) = self.writes.get(key)?.iter().rev().find(seen)?.value.as_ref()?;
        evict_at.is_none_or(|t| t > self.now).then_some(value.as_str())
    }

    fn write(&mut self, key: &str, value: Option<(&str, u64)>) -> Result<(), KvError> {
        if self.auto_advance {
            self.now += 1;
        }
        if let Some((_, ttl)) = value.filter(|(_, ttl)| *ttl != 0 && *ttl < MIN_TTL_SECONDS) {
            return Err(KvError::Unavailable(format!("400: expiration TTL {ttl} of {key} is below 60")));
        }
        let last = self.writes.get(key).and_then(|w| w.last()).map(|w| w.at);
        if last.is_some_and(|at| self.now < at + 1) {
            return Err(KvError::Unavailable(format!(
                "429 Too Many Requests: {key} was written this second"
            )));
        }
        let (now, location) = (self.now, self.location);
        let value = value.map(|(v, ttl)| (v.to_string(), (ttl != 0).then_some(now + ttl)));
        self.writes.entry(key.to_string()).or_default().push(Write { at: now, location, value });
        self.misses[location].remove(key);
        Ok(())
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
impl KvHost for EventualHost {
    async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        let mut state = self.state();
        let (now, location) = (state.now, state.location);
        if state.misses[location].get(key).is_some_and(|until| now < *until) {
            return Ok(None);
        }
        let value = state.visible(key).map(str::to_string);
        if value.is_none() {
            state.misses[location].insert(key.to_string(), now + MISS_CACHE_SECONDS);
        }
        Ok(value)
    }

    async fn put(&self, key: &str, value: &str, ttl_seconds: u64) -> Result<(), KvError> {
        self.state().write(key, Some((value, ttl_seconds)))
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.state().write(key, None)
    }

    async fn list(&self, prefix: &str, cursor: Option<String>, limit: u32) -> Result<KvPage, KvError> {
        let state = self.state();
        let after = cursor.unwrap_or_default();
        let mut keys: Vec<String> = state
            .writes
            .keys()
            .filter(|k| k.starts_with(prefix) && **k > after && state.visible(k).is_some())
            .take(limit as usize + 1)
            .cloned()
            .collect();
        let more = keys.len() > limit as usize;
        keys.truncate(limit as usize);
        Ok(KvPage { cursor: more.then(|| keys.last().cloned()).flatten(), keys })
    }

    fn capabilities(&self) -> KvCapabilities {
        KvCapabilities { atomic: false, min_ttl_seconds: MIN_TTL_SECONDS, consistent_reads: false }
    }
}
