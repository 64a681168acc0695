//! `KvStorage`: the [`Storage`](crate::storage::Storage) contract on top of a plain key-value store
//! that the host supplies ([`KvHost`], WIT `interface kv` in `wit/`).
//!
//! This is how the provider runs on Cloudflare Workers KV, Deno KV, a JS `Map`
//! or any table a host can read and write. Records are JSON documents
//! (secrets appear only as digests) under these keys, the layout Redis uses:
//!
//! | key | value |
//! |---|---|
//! | `<prefix>{<grant id>}:grant` | a [`GrantRecord`] |
//! | `<prefix>{<grant id>}:at:<digest hex>` | an [`AccessRecord`] |
//! | `<prefix>{<grant id>}:lock` | a short per-grant lock (atomic hosts) |
//! | `<prefix>client:<client id>` | a [`ClientRecord`](crate::storage::ClientRecord) (no TTL) |
//! | `<prefix>subject:<subject>:<grant id>` | the grant id (index) |
//! | `<prefix>clientgrant:<client id>:<grant id>` | the grant id (index) |
//! | `<prefix>health` | the health probe |
//!
//! Indexes are one key per entry, listed by prefix, so no write ever
//! read-modifies-writes a shared list (Workers KV allows one write per key per
//! second and has no transactions). Subjects and client ids are escaped in
//! index keys (`%` and `:` percent-encoded), so one subject's prefix never
//! lists another's; grants found through an index are checked against it.
//!
//! Time: every expiry decision uses the `now` argument (never a clock of its
//! own), and the TTL passed to the host is `max(expires_at - now, min TTL, 1)`,
//! only a ceiling for eviction: a read past a record's `expires_at` sees nothing
//! even where the host still holds it.
//!
//! Atomicity depends on the host ([`KvCapabilities::atomic`]):
//! - **Atomic hosts** (Deno KV, a `Map`): the single-use transitions
//!   (`consume_code`, `rotate_refresh`, revocation) run under a short per-grant
//!   lock `<prefix>{<grant id>}:lock` taken with `put_if_absent` and released
//!   with `delete`, so codes are redeemed exactly once and refresh tokens rotate
//!   exactly once. A waiter retries a bounded number of times (yielding between
//!   attempts, so other tasks progress), then gets [`StorageError::Unavailable`]
//!   (HTTP 503: retry later). A holder that dies leaves the lock to its TTL.
//! - **Hosts without atomics** (Workers KV): the same transitions are plain
//!   read-modify-writes, so single use is best-effort: two exchanges of one
//!   code that race within the store's consistency window may both succeed.
//!   [`Storage::health`](crate::storage::Storage::health) says so (`"atomicity"`), and revocation also lists
//!   the grant's access keys to catch tokens a lost race wrote.
//!
//! Costs: `get_access`, `get_client`, `get_grant` are one read; the single-use
//! transitions a handful of calls. `stats`, `sweep` and `list_clients` list
//! keys by prefix (one `list` per 1000 keys, plus one read per grant for
//! `stats` and `sweep`): meant for dashboards and scheduled jobs, not for every
//! request (Workers KV bills list operations separately).

mod host;
pub(crate) mod keys;
mod storage;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::clock::{Clock, SystemClock, UnixTime};
use crate::crypto::SecretDigest;

use super::{
    AccessRecord, CodeExpectation, CodeOutcome, GrantRecord, Redemption, RotateOutcome, Rotation,
    StorageError,
};
pub use host::{KvCapabilities, KvError, KvFunction, KvHost, KvPage, KV_FUNCTIONS};
use keys::Keys;

/// Keys asked for per `list` call (Workers KV's maximum).
const LIST_PAGE: u32 = 1000;
/// Lock attempts before a single-use transition gives up with a 503.
pub const DEFAULT_LOCK_ATTEMPTS: u32 = 1000;
/// Seconds a per-grant lock lives if its holder never releases it.
const LOCK_TTL: u64 = 30;
/// Most scheduler yields between two lock attempts.
const MAX_BACKOFF_YIELDS: u32 = 16;

/// The [`Storage`](crate::storage::Storage) contract over a host key-value store; see the module docs.
#[derive(Debug, Clone)]
pub struct KvStorage<H: KvHost> {
    host: H,
    keys: Keys,
    caps: KvCapabilities,
    lock_attempts: u32,
}

impl<H: KvHost> KvStorage<H> {
    /// A store over `host` with keys under `key_prefix` (e.g.
    /// [`DEFAULT_KEY_PREFIX`](crate::config::DEFAULT_KEY_PREFIX)). Reads the
    /// host's capabilities once, here.
    pub fn new(host: H, key_prefix: impl Into<String>) -> Self {
        let caps = host.capabilities();
        Self { host, keys: Keys::new(key_prefix), caps, lock_attempts: DEFAULT_LOCK_ATTEMPTS }
    }

    /// A store over `host` under the default prefix `oauth:`.
    pub fn with_default_prefix(host: H) -> Self {
        Self::new(host, crate::config::DEFAULT_KEY_PREFIX)
    }

    /// How many times a single-use transition tries to take its grant's lock
    /// before answering [`StorageError::Unavailable`] (atomic hosts only).
    pub fn with_lock_attempts(mut self, attempts: u32) -> Self {
        self.lock_attempts = attempts.max(1);
        self
    }

    /// The host, e.g. to inspect it in tests.
    pub fn host(&self) -> &H {
        &self.host
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        self.keys.prefix()
    }

    /// The capabilities the host announced.
    pub fn capabilities(&self) -> KvCapabilities {
        self.caps
    }

    /// The TTL to give the host for a record expiring at `expires_at`.
    fn ttl(&self, expires_at: UnixTime, now: UnixTime) -> u64 {
        expires_at.saturating_sub(now).max(self.caps.min_ttl_seconds).max(1)
    }

    async fn read<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StorageError> {
        let Some(text) = self.host.get(key).await? else { return Ok(None) };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| StorageError::Corrupt { key: key.to_string(), reason: e.to_string() })
    }

    async fn write<T: Serialize>(&self, key: &str, value: &T, ttl: u64) -> Result<(), StorageError> {
        let text = to_json(key, value)?;
        Ok(self.host.put(key, &text, ttl).await?)
    }

    /// Every key under `prefix`, across pages.
    async fn list_all(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        let mut keys = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.host.list(prefix, cursor, LIST_PAGE).await?;
            keys.extend(page.keys.into_iter().filter(|k| k.starts_with(prefix)));
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(keys),
            }
        }
    }

    /// Takes the grant's lock on an atomic host; `None` (no lock) otherwise.
    async fn lock(&self, grant_id: &str) -> Result<Option<String>, StorageError> {
        if !self.caps.atomic {
            return Ok(None);
        }
        let key = self.keys.lock(grant_id);
        let ttl = LOCK_TTL.max(self.caps.min_ttl_seconds);
        for attempt in 0..self.lock_attempts {
            if self.host.put_if_absent(&key, "locked", ttl).await? {
                return Ok(Some(key));
            }
            for _ in 0..(attempt + 1).min(MAX_BACKOFF_YIELDS) {
                YieldNow(false).await;
            }
        }
        Err(StorageError::Unavailable(format!("grant {grant_id} is busy; retry later")))
    }

    /// Releases a lock; a failed release only delays the next holder until the lock's TTL.
    async fn unlock(&self, lock: Option<String>) {
        if let Some(key) = lock {
            let _ = self.host.delete(&key).await;
        }
    }

    /// Writes a grant with its index keys, which live as long as it does.
    async fn write_grant(&self, grant: &GrantRecord, now: UnixTime) -> Result<(), StorageError> {
        let ttl = self.ttl(grant.expires_at, now);
        self.write(&self.keys.grant(&grant.id), grant, ttl).await?;
        self.write_indexes(grant, ttl).await
    }

    async fn write_indexes(&self, grant: &GrantRecord, ttl: u64) -> Result<(), StorageError> {
        if let Some(subject) = &grant.subject {
            self.host.put(&self.keys.by_subject(subject, &grant.id), &grant.id, ttl).await?;
        }
        self.host.put(&self.keys.by_client(&grant.client_id, &grant.id), &grant.id, ttl).await?;
        Ok(())
    }

    async fn write_access(
        &self,
        digest: &SecretDigest,
        record: &AccessRecord,
        now: UnixTime,
    ) -> Result<(), StorageError> {
        let key = self.keys.access(&record.grant_id, digest);
        self.write(&key, record, self.ttl(record.expires_at, now)).await
    }

    /// Deletes a grant's access tokens first (verification stops at once), then
    /// the grant (refresh stops), then its index keys.
    async fn remove_grant(&self, grant: &GrantRecord) -> Result<(), StorageError> {
        for digest in grant.access_digests() {
            self.host.delete(&self.keys.access(&grant.id, digest)).await?;
        }
        if !self.caps.atomic {
            // A lost read-modify-write race may have stored tokens the grant does not list.
            for key in self.list_all(&self.keys.access_prefix(&grant.id)).await? {
                self.host.delete(&key).await?;
            }
        }
        self.host.delete(&self.keys.grant(&grant.id)).await?;
        if let Some(subject) = &grant.subject {
            self.host.delete(&self.keys.by_subject(subject, &grant.id)).await?;
        }
        self.host.delete(&self.keys.by_client(&grant.client_id, &grant.id)).await?;
        Ok(())
    }

    async fn consume_code_unlocked(
        &self,
        grant_id: &str,
        code_digest: &SecretDigest,
        expect: &CodeExpectation,
        redemption: Redemption,
        now: UnixTime,
    ) -> Result<CodeOutcome, StorageError> {
        let Some(mut grant) = self.read::<GrantRecord>(&self.keys.grant(grant_id)).await? else {
            return Ok(CodeOutcome::NotFound);
        };
        let before = grant.clone();
        let outcome = grant.redeem_code(code_digest, expect, &redemption, now);
        match &outcome {
            CodeOutcome::Redeemed(grant, access) => {
                self.write_grant(grant, now).await?;
                self.write_access(&redemption.access_digest, access, now).await?;
            }
            CodeOutcome::Replayed => self.remove_grant(&before).await?,
            _ => {}
        }
        Ok(outcome)
    }

    async fn rotate_refresh_unlocked(
        &self,
        grant_id: &str,
        client_id: &str,
        presented: &SecretDigest,
        rotation: Rotation,
        now: UnixTime,
    ) -> Result<RotateOutcome, StorageError> {
        let Some(mut grant) = self.read::<GrantRecord>(&self.keys.grant(grant_id)).await? else {
            return Ok(RotateOutcome::NotFound);
        };
        let before = grant.clone();
        let outcome = grant.rotate_refresh(client_id, presented, &rotation, now);
        match &outcome {
            RotateOutcome::Rotated(grant, access) => {
                self.write_grant(grant, now).await?;
                self.write_access(&rotation.access_digest, access, now).await?;
            }
            RotateOutcome::Retried(grant, access) => {
                // Same expiry: the index keys keep theirs.
                self.write(&self.keys.grant(grant_id), grant, self.ttl(grant.expires_at, now)).await?;
                self.write_access(&rotation.access_digest, access, now).await?;
            }
            RotateOutcome::Reused => self.remove_grant(&before).await?,
            _ => {}
        }
        Ok(outcome)
    }

    async fn revoke_unlocked(&self, grant_id: &str) -> Result<bool, StorageError> {
        let Some(grant) = self.read::<GrantRecord>(&self.keys.grant(grant_id)).await? else {
            return Ok(false);
        };
        self.remove_grant(&grant).await?;
        Ok(true)
    }

    /// Grant ids listed under an index prefix.
    async fn indexed(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        Ok(self
            .list_all(prefix)
            .await?
            .into_iter()
            .filter_map(|k| k.strip_prefix(prefix).map(str::to_string))
            .collect())
    }

    /// The probe behind [`Storage::health`](crate::storage::Storage::health).
    async fn probe(&self) -> Result<(), StorageError> {
        let key = self.keys.health();
        let value = format!("probe-{}", SystemClock.now_millis());
        self.host.put(&key, &value, LOCK_TTL.max(self.caps.min_ttl_seconds)).await?;
        let read = self.host.get(&key).await?;
        self.host.delete(&key).await?;
        if read.as_deref() == Some(value.as_str()) || !self.caps.consistent_reads {
            Ok(())
        } else {
            Err(StorageError::Unavailable("the store did not return what was just written".into()))
        }
    }
}

fn to_json<T: Serialize>(key: &str, value: &T) -> Result<String, StorageError> {
    serde_json::to_string(value)
        .map_err(|e| StorageError::Corrupt { key: key.to_string(), reason: e.to_string() })
}

/// Gives other tasks a turn once: wakes itself and returns `Pending` the first
/// time it is polled. Works on any executor (tokio, wasm-bindgen-futures).
struct YieldNow(bool);

impl Future for YieldNow {
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

/// Sorts keys (or ids) in place, ascending. A heapsort: the same result and
/// O(n log n) bound as `sort_unstable`, in a fraction of its code size in
/// the wasm module (the standard sort is about 4 KB there).
pub(crate) fn sort_keys(keys: &mut [String]) {
    fn sift_down(keys: &mut [String], mut root: usize, end: usize) {
        loop {
            let mut child = 2 * root + 1;
            if child >= end {
                return;
            }
            if child + 1 < end && keys[child] < keys[child + 1] {
                child += 1;
            }
            if keys[root] >= keys[child] {
                return;
            }
            keys.swap(root, child);
            root = child;
        }
    }
    let len = keys.len();
    for start in (0..len / 2).rev() {
        sift_down(keys, start, len);
    }
    for end in (1..len).rev() {
        keys.swap(0, end);
        sift_down(keys, 0, end);
    }
}

#[cfg(test)]
mod tests {
    use super::sort_keys;

    #[test]
    fn sort_keys_sorts_like_the_standard_sort() {
        let mut seed = 0x2545_f491_u32;
        for len in (0..40).chain([100, 257, 1000]) {
            let mut keys: Vec<String> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    format!("k{}", seed % (len as u32 / 2 + 1))
                })
                .collect();
            let mut expected = keys.clone();
            expected.sort_unstable();
            sort_keys(&mut keys);
            assert_eq!(keys, expected, "{len} keys");
        }
        let mut sorted: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        sort_keys(&mut sorted);
        assert_eq!(sorted, ["a", "b", "c"]);
        let mut reversed: Vec<String> = ["c", "b", "a", ""].map(String::from).to_vec();
        sort_keys(&mut reversed);
        assert_eq!(reversed, ["", "a", "b", "c"]);
    }
}
