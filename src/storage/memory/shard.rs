//! One shard of [`MemoryStorage`](super::MemoryStorage): the grants whose ids
//! hash here, with everything each grant owns (its pending code and refresh
//! chain inside the record, its access records, its index entries) and the
//! expiry queue of those records. A method named after a `Storage` operation
//! is that operation on one grant, run under the shard's lock.

use std::collections::{HashMap, HashSet};

use super::expiry::{take_due, ExpiryQueue};
use crate::clock::UnixTime;
use crate::crypto::SecretDigest;
use crate::storage::{
    AccessRecord, CodeExpectation, CodeOutcome, GrantRecord, NewAccess, Redemption, RotateOutcome, Rotation,
    StorageError,
};

/// Expired records a write removes at most before doing its own work.
pub(super) const SWEEP_BATCH: usize = 256;

/// A record that expires, as the expiry queue names it.
#[derive(Debug)]
enum Expiring {
    Grant(String),
    Access(SecretDigest),
}

/// The records of the grants that hash to one shard.
#[derive(Debug, Default)]
pub(super) struct Shard {
    /// Boxed, so that a map outgrowing its capacity moves pointers, not
    /// records of hundreds of bytes, while the shard's requests wait.
    grants: HashMap<String, Box<GrantRecord>>,
    /// Boxed like `grants`.
    access: HashMap<SecretDigest, Box<AccessRecord>>,
    grants_by_subject: HashMap<String, HashSet<String>>,
    grants_by_client: HashMap<String, HashSet<String>>,
    /// When records become due for removal. An entry may be stale (its record
    /// was extended or removed since); the record's own `expires_at` decides.
    expiry_queue: ExpiryQueue<Expiring>,
}

/// Live-record counts of one shard, for `stats`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Tally {
    pub(super) access_tokens: u64,
    pub(super) refresh_tokens: u64,
    pub(super) codes: u64,
    pub(super) approximate_bytes: u64,
}

impl Tally {
    pub(super) fn plus(self, other: Self) -> Self {
        Self {
            access_tokens: self.access_tokens + other.access_tokens,
            refresh_tokens: self.refresh_tokens + other.refresh_tokens,
            codes: self.codes + other.codes,
            approximate_bytes: self.approximate_bytes + other.approximate_bytes,
        }
    }
}

impl Shard {
    pub(super) fn put_grant(
        &mut self,
        grant: GrantRecord,
        access: Option<NewAccess>,
        now: UnixTime,
    ) -> Result<(), StorageError> {
        self.maybe_sweep(now);
        if self.grants.contains_key(&grant.id) {
            return Err(StorageError::Conflict(format!("grant {} exists", grant.id)));
        }
        if let Some(subject) = &grant.subject {
            index(&mut self.grants_by_subject, subject, &grant.id);
        }
        index(&mut self.grants_by_client, &grant.client_id, &grant.id);
        let access_expiry = access.as_ref().map(|a| (a.digest, a.record.expires_at));
        self.schedule_grant(&grant.id, grant.expires_at, access_expiry);
        if let Some(access) = access {
            self.access.insert(access.digest, Box::new(access.record));
        }
        self.grants.insert(grant.id.clone(), Box::new(grant));
        Ok(())
    }

    pub(super) fn live_grant(&self, grant_id: &str, now: UnixTime) -> Option<&GrantRecord> {
        self.grants.get(grant_id).map(Box::as_ref).filter(|g| g.is_live(now))
    }

    pub(super) fn consume_code(
        &mut self,
        grant_id: &str,
        code_digest: &SecretDigest,
        expect: &CodeExpectation,
        redemption: Redemption,
        now: UnixTime,
    ) -> CodeOutcome {
        self.maybe_sweep(now);
        let Some(grant) = self.grants.get_mut(grant_id) else { return CodeOutcome::NotFound };
        let outcome = grant.redeem_code(code_digest, expect, &redemption, now);
        match &outcome {
            CodeOutcome::Redeemed(grant, access) => {
                self.keep_issued(grant_id, grant.expires_at, redemption.access_digest, access);
            }
            CodeOutcome::Replayed => {
                self.remove_grant(grant_id);
            }
            _ => {}
        }
        outcome
    }

    pub(super) fn get_access(
        &self,
        grant_id: &str,
        digest: &SecretDigest,
        now: UnixTime,
    ) -> Option<AccessRecord> {
        self.access.get(digest).map(Box::as_ref).filter(|a| a.answers(grant_id, now)).cloned()
    }

    pub(super) fn rotate_refresh(
        &mut self,
        grant_id: &str,
        client_id: &str,
        presented: &SecretDigest,
        rotation: Rotation,
        now: UnixTime,
    ) -> RotateOutcome {
        self.maybe_sweep(now);
        let Some(grant) = self.grants.get_mut(grant_id) else { return RotateOutcome::NotFound };
        let outcome = grant.rotate_refresh(client_id, presented, &rotation, now);
        match &outcome {
            RotateOutcome::Rotated(grant, access) | RotateOutcome::Retried(grant, access) => {
                self.keep_issued(grant_id, grant.expires_at, rotation.access_digest, access);
            }
            RotateOutcome::Reused => {
                self.remove_grant(grant_id);
            }
            _ => {}
        }
        outcome
    }

    pub(super) fn revoke_token(
        &mut self,
        grant_id: &str,
        client_id: &str,
        digest: &SecretDigest,
        now: UnixTime,
    ) -> Option<GrantRecord> {
        let grant = self.live_grant(grant_id, now).filter(|g| g.client_id == client_id)?;
        let is_access = self.access.get(digest).is_some_and(|a| a.answers(grant_id, now));
        if !is_access && !grant.holds_refresh(digest) {
            return None;
        }
        let grant = grant.clone();
        self.remove_grant(grant_id);
        Some(grant)
    }

    /// Keeps the access record a transition of a grant issued, and queues
    /// its expiry with the grant's (possibly extended) one.
    fn keep_issued(
        &mut self,
        grant_id: &str,
        grant_expires_at: UnixTime,
        digest: SecretDigest,
        access: &AccessRecord,
    ) {
        self.schedule_grant(grant_id, grant_expires_at, Some((digest, access.expires_at)));
        self.access.insert(digest, Box::new(access.clone()));
    }

    /// Removes a grant with its access records and index entries.
    pub(super) fn remove_grant(&mut self, grant_id: &str) -> bool {
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

    /// Removes this shard's grants of a client.
    pub(super) fn remove_client_grants(&mut self, client_id: &str) {
        for grant_id in self.grants_by_client.remove(client_id).unwrap_or_default() {
            self.remove_grant(&grant_id);
        }
    }

    /// This shard's live grants of a subject, unordered.
    pub(super) fn live_grants_of<'a>(
        &'a self,
        subject: &str,
        now: UnixTime,
    ) -> impl Iterator<Item = GrantRecord> + 'a {
        let ids = self.grants_by_subject.get(subject).into_iter().flatten();
        ids.filter_map(move |id| self.live_grant(id, now).cloned())
    }

    pub(super) fn tally(&self, now: UnixTime) -> Tally {
        let mut tally = Tally::default();
        for grant in self.grants.values().filter(|g| g.is_live(now)) {
            tally.refresh_tokens += u64::from(grant.refresh.is_some());
            tally.codes += u64::from(grant.code.as_ref().is_some_and(|c| !c.used && c.expires_at > now));
        }
        tally.access_tokens = self.access.values().filter(|a| a.is_live(now)).count() as u64;
        tally.approximate_bytes = self.approximate_bytes();
        tally
    }

    /// Grants and access records held, live or not yet swept.
    pub(super) fn records(&self) -> usize {
        self.grants.len() + self.access.len()
    }

    fn approximate_bytes(&self) -> u64 {
        let grants: usize =
            self.grants.values().map(|g| 256 + g.scopes.len() * 16 + g.access_tokens.len() * 40).sum();
        (grants + self.access.len() * 256) as u64
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
    pub(super) fn sweep(&mut self, now: UnixTime, budget: usize) -> u64 {
        let due = take_due(&mut self.expiry_queue, now, budget);
        due.into_iter().map(|item| u64::from(self.remove_if_expired(item, now))).sum()
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
        let mut shard = Shard::default();
        for i in 0..(SWEEP_BATCH * 3) {
            let id = format!("g{i}");
            shard.schedule_grant(&id, 10, None);
            shard.grants.insert(id.clone(), Box::new(grant(&id, 10)));
        }
        shard.maybe_sweep(11);
        assert_eq!(shard.grants.len(), SWEEP_BATCH * 2, "one batch per write, never the whole shard");
        assert_eq!(shard.sweep(11, usize::MAX), (SWEEP_BATCH * 2) as u64);
        assert!(shard.grants.is_empty() && shard.expiry_queue.is_empty());
    }

    #[test]
    fn stale_queue_entries_never_remove_an_extended_record() {
        let mut shard = Shard::default();
        shard.schedule_grant("g", 10, None);
        shard.grants.insert("g".into(), Box::new(grant("g", 100)));
        assert_eq!(shard.sweep(50, usize::MAX), 0);
        assert!(shard.grants.contains_key("g"));
        assert!(shard.expiry_queue.is_empty(), "the stale entry is dropped");
    }
}
