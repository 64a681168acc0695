//! `MemoryStorage`: the default backend, for one process (native or wasm).
//!
//! Everything sits behind one mutex, so each trait call is atomic; records are
//! cloned in and out, so no caller ever aliases what is stored. Expiry is lazy
//! (a read past `expires_at` sees nothing) plus a sweep driven by an expiry
//! queue: every write first removes at most [`SWEEP_BATCH`] records that are
//! due, so the lock is never held for a scan of the whole store (a full scan
//! stalled every request for seconds under millions of records), and no
//! per-entry timers exist: lifetimes of seconds and of years behave the same
//! and nothing leaks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use crate::clock::{Clock, SystemClock, UnixTime};
use crate::crypto::SecretDigest;

use super::{
    health_components, AccessRecord, ClientRecord, CodeExpectation, CodeOutcome, GrantRecord, HealthCheck,
    NewAccess, Redemption, RotateOutcome, Rotation, Storage, StorageError, StorageStats,
};

/// Expired records a write removes at most before doing its own work.
const SWEEP_BATCH: usize = 256;

/// A record that expires, as the expiry queue names it.
#[derive(Debug)]
enum Expiring {
    Grant(String),
    Access(SecretDigest),
}

/// In-process storage (the seed's `InMemoryStorage`).
#[derive(Debug)]
pub struct MemoryStorage {
    name: String,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    clients: HashMap<String, ClientRecord>,
    grants: HashMap<String, GrantRecord>,
    access: HashMap<SecretDigest, AccessRecord>,
    grants_by_subject: HashMap<String, HashSet<String>>,
    grants_by_client: HashMap<String, HashSet<String>>,
    /// When records become due for removal. An entry may be stale (its record
    /// was extended or removed since); the record's own `expires_at` decides.
    expiry_queue: BTreeMap<UnixTime, Vec<Expiring>>,
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
        Self { name: name.into(), state: Mutex::new(State::default()) }
    }

    /// The store's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every transition is a pure function that cannot panic halfway, so a
        // poisoned lock still guards consistent data.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    fn live_grant(&self, grant_id: &str, now: UnixTime) -> Option<&GrantRecord> {
        self.grants.get(grant_id).filter(|g| g.is_live(now))
    }

    fn insert_access(&mut self, access: NewAccess) {
        self.access.insert(access.digest, access.record);
    }

    fn remove_grant(&mut self, grant_id: &str) -> bool {
        let Some(grant) = self.grants.remove(grant_id) else { return false };
        for digest in grant.access_digests() {
            self.access.remove(digest);
        }
        if let Some(subject) = &grant.subject {
            unindex(&mut self.grants_by_subject, subject, grant_id);
        }
        unindex(&mut self.grants_by_client, &grant.client_id, grant_id);
        true
    }

    fn schedule(&mut self, at: UnixTime, item: Expiring) {
        self.expiry_queue.entry(at).or_default().push(item);
    }

    /// Queues the current expiries of a grant that was stored or changed.
    fn schedule_grant(
        &mut self,
        grant_id: &str,
        grant_expires_at: UnixTime,
        access: Option<(SecretDigest, UnixTime)>,
    ) {
        self.schedule(grant_expires_at, Expiring::Grant(grant_id.to_string()));
        if let Some((digest, expires_at)) = access {
            self.schedule(expires_at, Expiring::Access(digest));
        }
    }

    /// Removes at most `budget` queued records that are due at `now`; returns
    /// how many records were removed.
    fn sweep(&mut self, now: UnixTime, budget: usize) -> u64 {
        let (mut removed, mut examined) = (0, 0);
        while examined < budget {
            let Some(mut due) = self.expiry_queue.first_entry() else { break };
            if *due.key() > now {
                break;
            }
            let items = due.get_mut();
            let mut taken = Vec::new();
            while examined < budget {
                let Some(item) = items.pop() else { break };
                taken.push(item);
                examined += 1;
            }
            if items.is_empty() {
                due.remove();
            }
            for item in taken {
                removed += u64::from(self.remove_if_expired(item, now));
            }
        }
        removed
    }

    fn remove_if_expired(&mut self, item: Expiring, now: UnixTime) -> bool {
        match item {
            Expiring::Grant(id) => {
                self.grants.get(&id).is_some_and(|g| !g.is_live(now)) && self.remove_grant(&id)
            }
            Expiring::Access(digest) => {
                self.access.get(&digest).is_some_and(|a| !a.is_live(now))
                    && self.access.remove(&digest).is_some()
            }
        }
    }

    fn maybe_sweep(&mut self, now: UnixTime) {
        self.sweep(now, SWEEP_BATCH);
    }

    fn approximate_bytes(&self) -> u64 {
        let grants: usize =
            self.grants.values().map(|g| 256 + g.scopes.len() * 16 + g.access_tokens.len() * 40).sum();
        (self.clients.len() * 512 + grants + self.access.len() * 256) as u64
    }
}

fn index(map: &mut HashMap<String, HashSet<String>>, key: &str, grant_id: &str) {
    map.entry(key.to_string()).or_default().insert(grant_id.to_string());
}

fn unindex(map: &mut HashMap<String, HashSet<String>>, key: &str, grant_id: &str) {
    if let Some(set) = map.get_mut(key) {
        set.remove(grant_id);
        if set.is_empty() {
            map.remove(key);
        }
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
impl Storage for MemoryStorage {
    async fn put_client(&self, client: ClientRecord) -> Result<(), StorageError> {
        self.lock().clients.insert(client.client_id.clone(), client);
        Ok(())
    }

    async fn get_client(&self, client_id: &str) -> Result<Option<ClientRecord>, StorageError> {
        Ok(self.lock().clients.get(client_id).cloned())
    }

    async fn delete_client(&self, client_id: &str, _now: UnixTime) -> Result<bool, StorageError> {
        let mut state = self.lock();
        let existed = state.clients.remove(client_id).is_some();
        let grants = state.grants_by_client.remove(client_id).unwrap_or_default();
        for grant_id in grants {
            state.remove_grant(&grant_id);
        }
        Ok(existed)
    }

    async fn list_clients(&self) -> Result<Vec<String>, StorageError> {
        let mut ids: Vec<String> = self.lock().clients.keys().cloned().collect();
        ids.sort_unstable();
        Ok(ids)
    }

    async fn put_grant(
        &self,
        grant: GrantRecord,
        access: Option<NewAccess>,
        now: UnixTime,
    ) -> Result<(), StorageError> {
        let mut state = self.lock();
        state.maybe_sweep(now);
        if state.grants.contains_key(&grant.id) {
            return Err(StorageError::Conflict(format!("grant {} exists", grant.id)));
        }
        if let Some(subject) = &grant.subject {
            index(&mut state.grants_by_subject, subject, &grant.id);
        }
        index(&mut state.grants_by_client, &grant.client_id, &grant.id);
        let access_expiry = access.as_ref().map(|a| (a.digest, a.record.expires_at));
        state.schedule_grant(&grant.id, grant.expires_at, access_expiry);
        if let Some(access) = access {
            state.insert_access(access);
        }
        state.grants.insert(grant.id.clone(), grant);
        Ok(())
    }

    async fn get_grant(&self, grant_id: &str, now: UnixTime) -> Result<Option<GrantRecord>, StorageError> {
        Ok(self.lock().live_grant(grant_id, now).cloned())
    }

    async fn consume_code(
        &self,
        grant_id: &str,
        code_digest: &SecretDigest,
        expect: &CodeExpectation,
        redemption: Redemption,
        now: UnixTime,
    ) -> Result<CodeOutcome, StorageError> {
        let mut state = self.lock();
        state.maybe_sweep(now);
        let Some(grant) = state.grants.get_mut(grant_id) else { return Ok(CodeOutcome::NotFound) };
        let outcome = grant.redeem_code(code_digest, expect, &redemption, now);
        match &outcome {
            CodeOutcome::Redeemed(grant, access) => {
                let access_expiry = Some((redemption.access_digest, access.expires_at));
                state.schedule_grant(grant_id, grant.expires_at, access_expiry);
                state.access.insert(redemption.access_digest, access.clone());
            }
            CodeOutcome::Replayed => {
                state.remove_grant(grant_id);
            }
            _ => {}
        }
        Ok(outcome)
    }

    async fn get_access(
        &self,
        grant_id: &str,
        digest: &SecretDigest,
        now: UnixTime,
    ) -> Result<Option<AccessRecord>, StorageError> {
        let state = self.lock();
        Ok(state.access.get(digest).filter(|a| a.answers(grant_id, now)).cloned())
    }

    async fn rotate_refresh(
        &self,
        grant_id: &str,
        client_id: &str,
        presented: &SecretDigest,
        rotation: Rotation,
        now: UnixTime,
    ) -> Result<RotateOutcome, StorageError> {
        let mut state = self.lock();
        state.maybe_sweep(now);
        let Some(grant) = state.grants.get_mut(grant_id) else {
            return Ok(RotateOutcome::NotFound);
        };
        let outcome = grant.rotate_refresh(client_id, presented, &rotation, now);
        match &outcome {
            RotateOutcome::Rotated(grant, access) | RotateOutcome::Retried(grant, access) => {
                let access_expiry = Some((rotation.access_digest, access.expires_at));
                state.schedule_grant(grant_id, grant.expires_at, access_expiry);
                state.access.insert(rotation.access_digest, access.clone());
            }
            RotateOutcome::Reused => {
                state.remove_grant(grant_id);
            }
            _ => {}
        }
        Ok(outcome)
    }

    async fn revoke_token(
        &self,
        grant_id: &str,
        client_id: &str,
        digest: &SecretDigest,
        now: UnixTime,
    ) -> Result<Option<GrantRecord>, StorageError> {
        let mut state = self.lock();
        let Some(grant) = state.live_grant(grant_id, now).filter(|g| g.client_id == client_id) else {
            return Ok(None);
        };
        let is_access = state.access.get(digest).is_some_and(|a| a.answers(grant_id, now));
        if !is_access && !grant.holds_refresh(digest) {
            return Ok(None);
        }
        let grant = grant.clone();
        state.remove_grant(grant_id);
        Ok(Some(grant))
    }

    async fn revoke_grant(&self, grant_id: &str) -> Result<bool, StorageError> {
        Ok(self.lock().remove_grant(grant_id))
    }

    async fn list_grants(&self, subject: &str, now: UnixTime) -> Result<Vec<GrantRecord>, StorageError> {
        let state = self.lock();
        let mut grants: Vec<GrantRecord> = state
            .grants_by_subject
            .get(subject)
            .into_iter()
            .flatten()
            .filter_map(|id| state.live_grant(id, now).cloned())
            .collect();
        grants.sort_unstable_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(grants)
    }

    async fn stats(&self, now: UnixTime) -> Result<StorageStats, StorageError> {
        let state = self.lock();
        let live = state.grants.values().filter(|g| g.is_live(now));
        let (mut refresh, mut codes) = (0, 0);
        for grant in live {
            refresh += u64::from(grant.refresh.is_some());
            codes += u64::from(grant.code.as_ref().is_some_and(|c| !c.used && c.expires_at > now));
        }
        Ok(StorageStats {
            token_count: state.access.values().filter(|a| a.is_live(now)).count() as u64,
            refresh_token_count: refresh,
            authorization_code_count: codes,
            client_count: state.clients.len() as u64,
            memory_usage: Some(state.approximate_bytes()),
            active_connections: None,
        })
    }

    async fn health(&self) -> HealthCheck {
        let started = SystemClock.now_millis();
        let records = {
            let state = self.lock();
            state.clients.len() + state.grants.len() + state.access.len()
        };
        let components = health_components(&[
            ("backend", "memory"),
            ("atomicity", "atomic"),
            ("records", &records.to_string()),
        ]);
        HealthCheck::finished(started, true, format!("{} is healthy", self.name), components, Vec::new())
    }

    async fn sweep(&self, now: UnixTime) -> Result<u64, StorageError> {
        Ok(self.lock().sweep(now, usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(id: &str, expires_at: UnixTime) -> GrantRecord {
        GrantRecord {
            id: id.into(),
            client_id: "c".into(),
            subject: Some("s".into()),
            scopes: Vec::new(),
            resource: "https://r.example/mcp".into(),
            props: Default::default(),
            created_at: 0,
            expires_at,
            code: None,
            refresh: None,
            access_tokens: Vec::new(),
        }
    }

    #[test]
    fn a_write_removes_at_most_one_batch_of_expired_records() {
        let mut state = State::default();
        for i in 0..(SWEEP_BATCH * 3) {
            let id = format!("g{i}");
            state.schedule_grant(&id, 10, None);
            state.grants.insert(id.clone(), grant(&id, 10));
        }
        state.maybe_sweep(11);
        assert_eq!(state.grants.len(), SWEEP_BATCH * 2, "one batch per write, never the whole store");
        assert_eq!(state.sweep(11, usize::MAX), (SWEEP_BATCH * 2) as u64);
        assert!(state.grants.is_empty() && state.expiry_queue.is_empty());
    }

    #[test]
    fn stale_queue_entries_never_remove_an_extended_record() {
        let mut state = State::default();
        state.schedule_grant("g", 10, None);
        state.grants.insert("g".into(), grant("g", 100));
        assert_eq!(state.sweep(50, usize::MAX), 0);
        assert!(state.grants.contains_key("g"));
        assert!(state.expiry_queue.is_empty(), "the stale entry is dropped");
    }
}
