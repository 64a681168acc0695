//! In-test implementations of the WIT kv interface ([`KvHost`]) for running
//! the conformance suite on `KvStorage`: an atomic map, a Workers-KV-like host
//! (no atomics, 60 s minimum TTL) and variants whose calls yield to the
//! scheduler like a real asynchronous store.
//!
//! The hosts keep their own logical clock (seconds since creation, moved by
//! [`MapHost::advance`]) for TTL eviction: no real time, so they also run in wasm.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use simply_mcp_oauth::storage::{KvCapabilities, KvCheck, KvError, KvHost, KvMutation, KvPage, Versioned};

#[derive(Debug, Clone)]
struct Entry {
    value: String,
    /// Host-clock second at which the entry is evicted; `None` never.
    evict_at: Option<u64>,
    /// Bumped by every write of any key (the host's versionstamp).
    version: u64,
}

/// A `Mutex<BTreeMap>` store; cloning shares it.
#[derive(Debug, Clone)]
pub struct MapHost(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    entries: Mutex<BTreeMap<String, Entry>>,
    caps: KvCapabilities,
    /// Every call returns `Pending` once before answering, as a JS promise would.
    yields: bool,
    clock: AtomicU64,
    failing: AtomicBool,
    ttls: Mutex<Vec<(String, u64)>>,
    last_version: AtomicU64,
    /// Host calls answered, by function name.
    calls: Mutex<BTreeMap<&'static str, u64>>,
}

impl MapHost {
    fn with(caps: KvCapabilities, yields: bool) -> Self {
        Self(Arc::new(Inner {
            entries: Mutex::new(BTreeMap::new()),
            caps,
            yields,
            clock: AtomicU64::new(0),
            failing: AtomicBool::new(false),
            ttls: Mutex::new(Vec::new()),
            last_version: AtomicU64::new(0),
            calls: Mutex::new(BTreeMap::new()),
        }))
    }

    /// Atomic versioned reads and commits, TTLs from 1 s, consistent reads, calls answer at once.
    pub fn atomic() -> Self {
        Self::with(KvCapabilities { atomic: true, min_ttl_seconds: 1, consistent_reads: true }, false)
    }

    /// Atomic like Deno KV, but every call yields once (interleaving like real I/O).
    pub fn atomic_yielding() -> Self {
        Self::with(KvCapabilities { atomic: true, min_ttl_seconds: 1, consistent_reads: true }, true)
    }

    /// Like Cloudflare Workers KV: no atomics (the trait's unchecked
    /// `commit`), TTLs below 60 s refused, every call yields. Reads are consistent here
    /// (one process), which real Workers KV does not promise across locations.
    pub fn workers_like() -> Self {
        Self::with(KvCapabilities { atomic: false, min_ttl_seconds: 60, consistent_reads: false }, true)
    }

    /// Makes every later call fail with `unavailable` (or work again).
    pub fn set_failing(&self, failing: bool) {
        self.0.failing.store(failing, Ordering::SeqCst);
    }

    /// Moves the host's eviction clock forward.
    pub fn advance(&self, seconds: u64) {
        self.0.clock.fetch_add(seconds, Ordering::SeqCst);
    }

    /// Host calls made so far, by WIT function name.
    pub fn calls(&self) -> BTreeMap<&'static str, u64> {
        self.0.calls.lock().unwrap().clone()
    }

    /// The total of [`calls`](Self::calls), and a reset to zero.
    pub fn take_call_count(&self) -> u64 {
        std::mem::take(&mut *self.0.calls.lock().unwrap()).values().sum()
    }

    /// Every (key, ttl) written so far.
    pub fn ttls(&self) -> Vec<(String, u64)> {
        self.0.ttls.lock().unwrap().clone()
    }

    /// Whether `key` is held (evicted keys are not).
    pub fn contains(&self, key: &str) -> bool {
        let now = self.0.clock.load(Ordering::SeqCst);
        self.entries().get(key).is_some_and(|e| e.evict_at.is_none_or(|t| t > now))
    }

    /// Replaces a stored value as is, to simulate corruption.
    pub fn overwrite_raw(&self, key: &str, value: &str) {
        let version = self.next_version();
        self.entries().insert(key.to_string(), Entry { value: value.to_string(), evict_at: None, version });
    }

    /// Every key and value, one per line (for the no-secrets check).
    pub fn dump(&self) -> String {
        self.entries().iter().map(|(k, e)| format!("{k} = {}\n", e.value)).collect()
    }

    /// Every key held.
    pub fn keys(&self) -> Vec<String> {
        self.entries().keys().cloned().collect()
    }

    fn entries(&self) -> MutexGuard<'_, BTreeMap<String, Entry>> {
        self.0.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn next_version(&self) -> u64 {
        self.0.last_version.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The common start of every call: count it, maybe yield, maybe fail, then evict.
    async fn enter(&self, call: &'static str) -> Result<MutexGuard<'_, BTreeMap<String, Entry>>, KvError> {
        *self.0.calls.lock().unwrap().entry(call).or_default() += 1;
        if self.0.yields {
            YieldOnce(false).await;
        }
        if self.0.failing.load(Ordering::SeqCst) {
            return Err(KvError::Unavailable(format!("{call}: the test host is down")));
        }
        let now = self.0.clock.load(Ordering::SeqCst);
        let mut entries = self.entries();
        entries.retain(|_, e| e.evict_at.is_none_or(|t| t > now));
        Ok(entries)
    }

    fn check_ttl(&self, key: &str, ttl: u64) -> Result<Option<u64>, KvError> {
        self.0.ttls.lock().unwrap().push((key.to_string(), ttl));
        if ttl != 0 && ttl < self.0.caps.min_ttl_seconds {
            // What Workers KV answers: "Expiration TTL must be at least 60".
            return Err(KvError::Unavailable(format!(
                "invalid TTL {ttl} for {key}: must be at least {}",
                self.0.caps.min_ttl_seconds
            )));
        }
        let now = self.0.clock.load(Ordering::SeqCst);
        Ok((ttl != 0).then(|| now + ttl))
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
impl KvHost for MapHost {
    async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        Ok(self.enter("get").await?.get(key).map(|e| e.value.clone()))
    }

    async fn put(&self, key: &str, value: &str, ttl_seconds: u64) -> Result<(), KvError> {
        let mut entries = self.enter("put").await?;
        let evict_at = self.check_ttl(key, ttl_seconds)?;
        let version = self.next_version();
        entries.insert(key.to_string(), Entry { value: value.to_string(), evict_at, version });
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.enter("delete").await?.remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str, cursor: Option<String>, limit: u32) -> Result<KvPage, KvError> {
        let entries = self.enter("list").await?;
        let after = cursor.unwrap_or_default();
        let mut keys: Vec<String> = entries
            .keys()
            .filter(|k| k.starts_with(prefix) && k.as_str() > after.as_str())
            .take(limit as usize + 1)
            .cloned()
            .collect();
        let more = keys.len() > limit as usize;
        keys.truncate(limit as usize);
        let cursor = if more { keys.last().cloned() } else { None };
        Ok(KvPage { keys, cursor })
    }

    async fn get_versioned(&self, key: &str) -> Result<Option<Versioned>, KvError> {
        let entries = self.enter("get-versioned").await?;
        let version = |e: &Entry| if self.0.caps.atomic { e.version.to_string() } else { String::new() };
        Ok(entries.get(key).map(|e| Versioned { value: e.value.clone(), version: version(e) }))
    }

    async fn commit(&self, checks: &[KvCheck], mutations: &[KvMutation]) -> Result<bool, KvError> {
        if !self.0.caps.atomic {
            // What a host without atomics does: one write after another, unchecked.
            *self.0.calls.lock().unwrap().entry("commit").or_default() += 1;
            for mutation in mutations {
                let mut entries = self.enter("commit-write").await?;
                self.apply(&mut entries, mutation)?;
            }
            return Ok(true);
        }
        let mut entries = self.enter("commit").await?;
        let holds = |c: &KvCheck| entries.get(&c.key).map(|e| e.version.to_string()) == c.version;
        if !checks.iter().all(holds) {
            return Ok(false);
        }
        // Refuse a TTL below the minimum before writing anything: a commit is all or nothing.
        let min = self.0.caps.min_ttl_seconds;
        for mutation in mutations {
            if let KvMutation::Set { key, ttl_seconds, .. } = mutation {
                if *ttl_seconds != 0 && *ttl_seconds < min {
                    return Err(KvError::Unavailable(format!(
                        "invalid TTL {ttl_seconds} for {key}: must be at least {min}"
                    )));
                }
            }
        }
        for mutation in mutations {
            self.apply(&mut entries, mutation)?;
        }
        Ok(true)
    }

    fn capabilities(&self) -> KvCapabilities {
        self.0.caps
    }
}

impl MapHost {
    fn apply(&self, entries: &mut BTreeMap<String, Entry>, mutation: &KvMutation) -> Result<(), KvError> {
        match mutation {
            KvMutation::Set { key, value, ttl_seconds } => {
                let evict_at = self.check_ttl(key, *ttl_seconds)?;
                let version = self.next_version();
                entries.insert(key.clone(), Entry { value: value.clone(), evict_at, version });
            }
            KvMutation::Delete { key } => {
                entries.remove(key);
            }
        }
        Ok(())
    }
}

/// A host whose store never answers: every call fails, as a JS host whose
/// promises reject would.
#[derive(Debug, Clone, Copy)]
pub struct DownHost;

#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
impl KvHost for DownHost {
    async fn get(&self, _: &str) -> Result<Option<String>, KvError> {
        Err(KvError::Unavailable("get: connection refused".into()))
    }
    async fn put(&self, _: &str, _: &str, _: u64) -> Result<(), KvError> {
        Err(KvError::Unavailable("put: connection refused".into()))
    }
    async fn delete(&self, _: &str) -> Result<(), KvError> {
        Err(KvError::Unavailable("delete: connection refused".into()))
    }
    async fn list(&self, _: &str, _: Option<String>, _: u32) -> Result<KvPage, KvError> {
        Err(KvError::Unavailable("list: connection refused".into()))
    }
    async fn get_versioned(&self, _: &str) -> Result<Option<Versioned>, KvError> {
        Err(KvError::Unavailable("get-versioned: connection refused".into()))
    }
    async fn commit(&self, _: &[KvCheck], _: &[KvMutation]) -> Result<bool, KvError> {
        Err(KvError::Unavailable("commit: connection refused".into()))
    }
    fn capabilities(&self) -> KvCapabilities {
        KvCapabilities { atomic: true, min_ttl_seconds: 1, consistent_reads: true }
    }
}

/// Returns `Pending` once (after waking itself), then `Ready`.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
