//! Client records read in the last few seconds.
//!
//! Every token request authenticates its client, and with Redis that read
//! would double the round trips of a code exchange or a refresh. Clients change
//! rarely (registered ones never; configured ones at a restart), so the
//! provider keeps what it read for [`CLIENT_CACHE_SECONDS`]. Its own writes and
//! deletions update the cache at once; a client deleted through *another*
//! process keeps authenticating here for at most that long, but its grants are
//! already revoked by the deletion, so only `client_credentials` could still
//! be issued in that window. Misses are never cached: a client registered
//! elsewhere is usable at once.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::UnixTime;
use crate::storage::ClientRecord;

/// How long a client record read from storage is trusted.
pub const CLIENT_CACHE_SECONDS: u64 = 10;
/// Entries kept at most; past it the cache starts over (a flood of unknown
/// ids cannot grow it, since misses are not cached).
const CAPACITY: usize = 4096;

#[derive(Default)]
pub(crate) struct ClientCache {
    entries: Mutex<HashMap<String, (ClientRecord, UnixTime)>>,
}

impl ClientCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (ClientRecord, UnixTime)>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The record read within the last [`CLIENT_CACHE_SECONDS`] at `now`.
    pub(crate) fn get(&self, client_id: &str, now: UnixTime) -> Option<ClientRecord> {
        let entries = self.lock();
        let (record, read_at) = entries.get(client_id)?;
        (now < read_at.saturating_add(CLIENT_CACHE_SECONDS)).then(|| record.clone())
    }

    /// Remembers a record as read (or written) at `now`.
    pub(crate) fn put(&self, record: &ClientRecord, now: UnixTime) {
        let mut entries = self.lock();
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(record.client_id.clone(), (record.clone(), now));
    }

    /// Forgets a client (deleted here).
    pub(crate) fn remove(&self, client_id: &str) {
        self.lock().remove(client_id);
    }
}
