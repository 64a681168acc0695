//! The clients of [`MemoryStorage`](super::MemoryStorage), with the expiry
//! queue of registrations that have not completed an authorization yet.
//!
//! `put_client` has no `now`: a record that expires is written when it is
//! issued (see [`ClientRecord::issued_at`]), so its `issued_at` is the time
//! of the write. Each such write first removes at most [`SWEEP_BATCH`] due
//! registrations, so a flood of registrations that never complete keeps the
//! map bounded without a sweeper (and without a scan under the lock).

use std::collections::HashMap;

use super::expiry::{take_due, ExpiryQueue};
use crate::clock::UnixTime;
use crate::storage::ClientRecord;

/// Expired registrations a registration removes at most before it is stored.
const SWEEP_BATCH: usize = 64;

#[derive(Debug, Default)]
pub(super) struct Clients {
    records: HashMap<String, ClientRecord>,
    /// When registrations become due for removal. An entry may be stale (the
    /// client was kept or deleted since); the record's own `expires_at` decides.
    expiry_queue: ExpiryQueue<String>,
}

impl Clients {
    pub(super) fn put(&mut self, client: ClientRecord) {
        if let Some(expires_at) = client.expires_at {
            self.sweep(client.issued_at, SWEEP_BATCH);
            self.expiry_queue.entry(expires_at).or_default().push(client.client_id.clone());
        }
        self.records.insert(client.client_id.clone(), client);
    }

    pub(super) fn get(&self, client_id: &str) -> Option<&ClientRecord> {
        self.records.get(client_id)
    }

    pub(super) fn remove(&mut self, client_id: &str) -> bool {
        self.records.remove(client_id).is_some()
    }

    pub(super) fn ids(&self) -> impl Iterator<Item = &String> {
        self.records.keys()
    }

    pub(super) fn len(&self) -> usize {
        self.records.len()
    }

    /// Clients that exist at `now`.
    pub(super) fn live(&self, now: UnixTime) -> u64 {
        self.records.values().filter(|c| c.is_live(now)).count() as u64
    }

    /// Removes at most `budget` registrations due by `now`; returns how many
    /// records it removed.
    pub(super) fn sweep(&mut self, now: UnixTime, budget: usize) -> u64 {
        let mut removed = 0;
        for client_id in take_due(&mut self.expiry_queue, now, budget) {
            if self.records.get(&client_id).is_some_and(|c| !c.is_live(now)) {
                self.records.remove(&client_id);
                removed += 1;
            }
        }
        removed
    }
}
