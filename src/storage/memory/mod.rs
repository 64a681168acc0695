//! `MemoryStorage`: the default backend, for one process (native or wasm).
//!
//! Grants are spread over [`SHARDS`] shards by a keyed hash of the grant id,
//! each behind its own mutex. A shard holds everything its grants own: pending
//! code and refresh chain (inside the grant record), access records, index
//! entries, expiry queue. Every token names its grant (`<grant id>.<secret>`),
//! so an operation on one grant locks one shard and is atomic, while requests
//! on other shards go on; and no map holds every grant, so a map that grows
//! stalls only its own shard. Clients, rarely written, have their own lock.
//!
//! Calls over many grants (`delete_client`, `list_grants`, `stats`, `sweep`)
//! visit the shards in turn: they reach every grant stored before the call,
//! each in one consistent state, but are no snapshot of the whole store (as
//! with Redis). Grants are independent, so nothing needs one.
//!
//! Records are cloned in and out, so no caller ever aliases what is stored.
//! Expiry is lazy (a read past `expires_at` sees nothing) plus a sweep driven
//! by each shard's expiry queue: every write first removes at most
//! [`SWEEP_BATCH`](shard::SWEEP_BATCH) due records of its shard, so no lock is
//! ever held for a scan of the whole store (a full scan stalled every request
//! for seconds under millions of records), and no per-entry timers exist:
//! lifetimes of seconds and of years behave the same and nothing leaks.

mod clients;
mod expiry;
mod shard;
#[cfg(test)]
mod tests;

use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::clock::{Clock, SystemClock, UnixTime};
use crate::crypto::SecretDigest;

use self::clients::Clients;
use self::shard::{Shard, Tally};
use super::{
    health_components, AccessRecord, ClientRecord, CodeExpectation, CodeOutcome, GrantRecord, HealthCheck,
    NewAccess, Redemption, RotateOutcome, Rotation, Storage, StorageError, StorageStats,
};

/// How many shards hold the grants. A request waits for its shard's lock, and
/// a map that outgrows its capacity stalls its shard while it rehashes every
/// key, so the fewer grants a shard holds, the shorter the worst wait. At 128,
/// the ~1.4 M grants of the load test leave ~11 k per shard: no rehash takes
/// more than a few milliseconds, and two requests rarely meet on one lock.
/// The price is small: the rare calls over every shard take 128 uncontended
/// locks, and an empty store is 128 empty shards (about 28 KB). A power of
/// two, so picking a shard is a mask.
const SHARDS: usize = 128;

/// In-process storage (the seed's `InMemoryStorage`).
#[derive(Debug)]
pub struct MemoryStorage {
    name: String,
    clients: Mutex<Clients>,
    shards: Box<[Mutex<Shard>]>,
    /// Keys the hash that picks a grant's shard, so the spread does not rest
    /// on grant ids being random.
    shard_keys: RandomState,
}

impl Default for MemoryStorage {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStorage {
    /// An empty store named `InMemoryStorage`.
    pub fn new() -> Self {
        Self::named("InMemoryStorage")
    }

    /// An empty store with a name for health reports.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            clients: Mutex::default(),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            shard_keys: RandomState::new(),
        }
    }

    /// The store's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn clients(&self) -> MutexGuard<'_, Clients> {
        lock(&self.clients)
    }

    /// The shard that holds `grant_id` and everything it owns, locked.
    fn shard(&self, grant_id: &str) -> MutexGuard<'_, Shard> {
        let index = self.shard_keys.hash_one(grant_id) as usize & (SHARDS - 1);
        lock(&self.shards[index])
    }

    /// Every shard in turn, each locked only while the caller holds it.
    fn each_shard(&self) -> impl Iterator<Item = MutexGuard<'_, Shard>> {
        self.shards.iter().map(lock)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every transition is a pure function that cannot panic halfway, so a
    // poisoned lock still guards consistent data.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
impl Storage for MemoryStorage {
    async fn put_client(&self, client: ClientRecord) -> Result<(), StorageError> {
        self.clients().put(client);
        Ok(())
    }

    async fn get_client(&self, client_id: &str) -> Result<Option<ClientRecord>, StorageError> {
        Ok(self.clients().get(client_id).cloned())
    }

    async fn delete_client(&self, client_id: &str, _now: UnixTime) -> Result<bool, StorageError> {
        // Held through the cascade, so the client cannot be stored again (and
        // given new grants) while its old grants are being removed.
        let mut clients = self.clients();
        let existed = clients.remove(client_id);
        for mut shard in self.each_shard() {
            shard.remove_client_grants(client_id);
        }
        Ok(existed)
    }

    async fn list_clients(&self) -> Result<Vec<String>, StorageError> {
        let mut ids: Vec<String> = self.clients().ids().cloned().collect();
        ids.sort_unstable();
        Ok(ids)
    }

    async fn put_grant(
        &self,
        grant: GrantRecord,
        access: Option<NewAccess>,
        now: UnixTime,
    ) -> Result<(), StorageError> {
        self.shard(&grant.id).put_grant(grant, access, now)
    }

    async fn get_grant(&self, grant_id: &str, now: UnixTime) -> Result<Option<GrantRecord>, StorageError> {
        Ok(self.shard(grant_id).live_grant(grant_id, now).cloned())
    }

    async fn consume_code(
        &self,
        grant_id: &str,
        code_digest: &SecretDigest,
        expect: &CodeExpectation,
        redemption: Redemption,
        now: UnixTime,
    ) -> Result<CodeOutcome, StorageError> {
        Ok(self.shard(grant_id).consume_code(grant_id, code_digest, expect, redemption, now))
    }

    async fn get_access(
        &self,
        grant_id: &str,
        digest: &SecretDigest,
        now: UnixTime,
    ) -> Result<Option<AccessRecord>, StorageError> {
        Ok(self.shard(grant_id).get_access(grant_id, digest, now))
    }

    async fn rotate_refresh(
        &self,
        grant_id: &str,
        client_id: &str,
        presented: &SecretDigest,
        rotation: Rotation,
        now: UnixTime,
    ) -> Result<RotateOutcome, StorageError> {
        Ok(self.shard(grant_id).rotate_refresh(grant_id, client_id, presented, rotation, now))
    }

    async fn revoke_token(
        &self,
        grant_id: &str,
        client_id: &str,
        digest: &SecretDigest,
        now: UnixTime,
    ) -> Result<Option<GrantRecord>, StorageError> {
        Ok(self.shard(grant_id).revoke_token(grant_id, client_id, digest, now))
    }

    async fn revoke_grant(&self, grant_id: &str) -> Result<bool, StorageError> {
        Ok(self.shard(grant_id).remove_grant(grant_id))
    }

    async fn list_grants(&self, subject: &str, now: UnixTime) -> Result<Vec<GrantRecord>, StorageError> {
        let mut grants = Vec::new();
        for shard in self.each_shard() {
            grants.extend(shard.live_grants_of(subject, now));
        }
        grants.sort_unstable_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(grants)
    }

    async fn stats(&self, now: UnixTime) -> Result<StorageStats, StorageError> {
        let client_count = self.clients().live(now);
        let tally = self.each_shard().map(|shard| shard.tally(now)).fold(Tally::default(), Tally::plus);
        Ok(StorageStats {
            token_count: tally.access_tokens,
            refresh_token_count: tally.refresh_tokens,
            authorization_code_count: tally.codes,
            client_count,
            // About 512 bytes a client.
            memory_usage: Some(client_count * 512 + tally.approximate_bytes),
            active_connections: None,
        })
    }

    async fn health(&self) -> HealthCheck {
        let started = SystemClock.now_millis();
        let clients = self.clients().len();
        let records = clients + self.each_shard().map(|shard| shard.records()).sum::<usize>();
        let components = health_components(&[
            ("backend", "memory"),
            ("atomicity", "atomic"),
            ("records", &records.to_string()),
        ]);
        HealthCheck::finished(started, true, format!("{} is healthy", self.name), components, Vec::new())
    }

    async fn sweep(&self, now: UnixTime) -> Result<u64, StorageError> {
        let clients = self.clients().sweep(now, usize::MAX);
        Ok(clients + self.each_shard().map(|mut shard| shard.sweep(now, usize::MAX)).sum::<u64>())
    }
}
