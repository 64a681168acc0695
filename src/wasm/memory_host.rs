//! The store behind the JS `InMemoryStorage`: an in-module key-value map that
//! `KvStorage` runs on, so the module carries one storage backend instead of
//! two (`MemoryStorage` stays the native default).
//!
//! JS runs one thread and nothing here awaits, so `commit` is atomic as it
//! stands; versions come from one counter, bumped by every write. Expiry is lazy, by the host's clock: a read past
//! an entry's TTL removes it, and writes sweep every expired entry at most once
//! a minute; no timers.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use crate::clock::{Clock, SystemClock, UnixTime};
use crate::storage::{
    health_components, HealthCheck, KvCapabilities, KvCheck, KvMutation, KvPage, Versioned,
};

/// Seconds between two sweeps run by writes.
const SWEEP_INTERVAL: u64 = 60;

/// An atomic, consistent map with TTLs from 1 s.
pub(crate) const CAPABILITIES: KvCapabilities =
    KvCapabilities { atomic: true, min_ttl_seconds: 1, consistent_reads: true };

/// A value, the second it expires at (`u64::MAX`: never) and its version.
type Entry = (String, UnixTime, u64);

pub(crate) struct MemoryHost {
    name: String,
    entries: RefCell<HashMap<String, Entry>>,
    next_sweep: Cell<UnixTime>,
    last_version: Cell<u64>,
}

impl std::fmt::Debug for MemoryHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.entries.borrow().iter()).finish()
    }
}

fn now() -> UnixTime {
    SystemClock.now()
}

impl MemoryHost {
    pub(crate) fn new(name: String) -> Self {
        Self { name, entries: RefCell::default(), next_sweep: Cell::new(0), last_version: Cell::new(0) }
    }

    /// The live value under `key`; drops the entry if it expired.
    pub(crate) fn get(&self, key: &str) -> Option<String> {
        self.get_versioned(key).map(|v| v.value)
    }

    /// The live value under `key` with its version.
    pub(crate) fn get_versioned(&self, key: &str) -> Option<Versioned> {
        let mut entries = self.entries.borrow_mut();
        match entries.get(key) {
            Some((value, expires, version)) if *expires > now() => {
                Some(Versioned { value: value.clone(), version: version.to_string() })
            }
            Some(_) => entries.remove(key).and(None),
            None => None,
        }
    }

    /// Every mutation if every check holds; nothing otherwise.
    pub(crate) fn commit(&self, checks: &[KvCheck], mutations: &[KvMutation]) -> bool {
        let holds = |check: &KvCheck| {
            let version = self.get_versioned(&check.key).map(|v| v.version);
            version == check.version
        };
        if !checks.iter().all(holds) {
            return false;
        }
        for mutation in mutations {
            match mutation {
                KvMutation::Set { key, value, ttl_seconds } => self.put(key, value, *ttl_seconds),
                KvMutation::Delete { key } => self.delete(key),
            }
        }
        true
    }

    pub(crate) fn put(&self, key: &str, value: &str, ttl_seconds: u64) {
        let now = now();
        let mut entries = self.entries.borrow_mut();
        if now >= self.next_sweep.get() {
            entries.retain(|_, (_, expires, _)| *expires > now);
            self.next_sweep.set(now + SWEEP_INTERVAL);
        }
        let expires = if ttl_seconds == 0 { UnixTime::MAX } else { now.saturating_add(ttl_seconds.max(1)) };
        let version = self.last_version.get() + 1;
        self.last_version.set(version);
        entries.insert(key.to_string(), (value.to_string(), expires, version));
    }

    pub(crate) fn delete(&self, key: &str) {
        self.entries.borrow_mut().remove(key);
    }

    /// Up to `limit` live keys under `prefix` after `cursor`, in order; the
    /// cursor of the next page is the last key returned.
    pub(crate) fn list(&self, prefix: &str, cursor: Option<String>, limit: u32) -> KvPage {
        let now = now();
        let entries = self.entries.borrow();
        let mut keys: Vec<String> = entries
            .iter()
            .filter(|(key, (_, expires, _))| {
                key.starts_with(prefix)
                    && *expires > now
                    && cursor.as_deref().is_none_or(|c| key.as_str() > c)
            })
            .map(|(key, _)| key.clone())
            .collect();
        crate::storage::sort_keys(&mut keys);
        let limit = limit.max(1) as usize;
        let cursor = (keys.len() > limit).then(|| keys[limit - 1].clone());
        keys.truncate(limit);
        KvPage { keys, cursor }
    }

    /// Live entries and their approximate size in bytes.
    fn usage(&self) -> (u64, u64) {
        let now = now();
        let entries = self.entries.borrow();
        let live = entries.iter().filter(|(_, (_, expires, _))| *expires > now);
        live.fold((0, 0), |(count, bytes), (key, (value, _, _))| {
            (count + 1, bytes + (key.len() + value.len() + 48) as u64)
        })
    }

    /// Approximate bytes held (the seed's `memoryUsage`).
    pub(crate) fn memory_usage(&self) -> u64 {
        self.usage().1
    }

    /// The seed's in-memory health report: always healthy.
    pub(crate) fn health(&self) -> HealthCheck {
        let started = SystemClock.now_millis();
        let (records, _) = self.usage();
        let components = health_components(&[
            ("backend", "memory"),
            ("atomicity", "atomic"),
            ("records", &records.to_string()),
        ]);
        HealthCheck::finished(started, true, format!("{} is healthy", self.name), components, Vec::new())
    }
}
