//! `MemoryStorage`: the default backend, for one process (native or wasm).
//!
//! Everything sits behind one mutex, so each trait call is atomic; records are
//! cloned in and out, so no caller ever aliases what is stored. Expiry is lazy
//! (a read past `expires_at` sees nothing) plus a sweep that runs inside
//! writes at most once a minute: no per-entry timers, so lifetimes of seconds
//! and of years behave the same and nothing leaks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use crate::clock::{Clock, SystemClock, UnixTime};
use crate::crypto::SecretDigest;

use super::{
    AccessRecord, ClientRecord, CodeExpectation, CodeOutcome, GrantRecord, HealthCheck, NewAccess,
    Redemption, RotateOutcome, Rotation, Storage, StorageError, StorageStats,
};

/// Seconds between two opportunistic sweeps.
const SWEEP_INTERVAL: u64 = 60;

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
    next_sweep: UnixTime,
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

    /// Drops every expired record; returns how many.
    fn sweep(&mut self, now: UnixTime) -> u64 {
        let dead_grants: Vec<String> =
            self.grants.values().filter(|g| !g.is_live(now)).map(|g| g.id.clone()).collect();
        let mut removed = 0;
        for id in dead_grants {
            self.remove_grant(&id);
            removed += 1;
        }
        let before = self.access.len();
        self.access.retain(|_, a| a.is_live(now));
        removed += (before - self.access.len()) as u64;
        self.next_sweep = now.saturating_add(SWEEP_INTERVAL);
        removed
    }

    fn maybe_sweep(&mut self, now: UnixTime) {
        if now >= self.next_sweep {
            self.sweep(now);
        }
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
        let Some(grant) = state.grants.get_mut(grant_id) else { return Ok(CodeOutcome::NotFound) };
        let outcome = grant.redeem_code(code_digest, expect, &redemption, now);
        match &outcome {
            CodeOutcome::Redeemed(_, access) => {
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
        Ok(state.access.get(digest).filter(|a| a.grant_id == grant_id && a.is_live(now)).cloned())
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
            RotateOutcome::Rotated(_, access) | RotateOutcome::Retried(_, access) => {
                state.access.insert(rotation.access_digest, access.clone());
            }
            RotateOutcome::Reused => {
                state.remove_grant(grant_id);
            }
            _ => {}
        }
        Ok(outcome)
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
        let timestamp = SystemClock.now_millis();
        HealthCheck {
            healthy: true,
            message: format!("{} is healthy", self.name),
            response_time_ms: timestamp.saturating_sub(started) as f64,
            timestamp,
            components: BTreeMap::from([
                ("backend".to_string(), "memory".to_string()),
                ("atomicity".to_string(), "atomic".to_string()),
                ("records".to_string(), records.to_string()),
            ]),
            errors: Vec::new(),
        }
    }

    async fn sweep(&self, now: UnixTime) -> Result<u64, StorageError> {
        Ok(self.lock().sweep(now))
    }
}
