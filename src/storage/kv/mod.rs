//! `KvStorage`: the [`Storage`](crate::storage::Storage) contract on top of a plain key-value store
//! that the host supplies ([`KvHost`], WIT `interface kv` in `wit/`).
//!
//! This is how the provider runs on Cloudflare Workers KV, Deno KV, a JS `Map`
//! or any table a host can read and write. Records are JSON documents
//! (secrets appear only as digests) under these keys, those of Redis for the
//! records themselves (Redis keeps its indexes as sets; both backends' keys
//! are built in `storage/kv/keys.rs`):
//!
//! | key | value |
//! |---|---|
//! | `<prefix>{<grant id>}:grant` | a [`GrantRecord`] |
//! | `<prefix>{<grant id>}:at:<digest hex>` | an [`AccessRecord`] |
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
//! An index entry lives until the end of the 30-day period in which its grant
//! expires, and is rewritten only when the grant's expiry moves into a later
//! period: an exchange or a refresh writes the grant and one access token.
//!
//! Time: every expiry decision uses the `now` argument (never a clock of its
//! own), and the TTL passed to the host is `max(expires_at - now, min TTL, 1)`,
//! only a ceiling for eviction: a read past a record's `expires_at` sees nothing
//! even where the host still holds it.
//!
//! Atomicity depends on the host ([`KvCapabilities::atomic`]):
//! - **Atomic hosts** (Deno KV, a Durable Object, a `Map`): each single-use
//!   transition (`consume_code`, `rotate_refresh`, revocation) is one
//!   versioned read of the grant and one conditional commit of every key it
//!   changes, checked against that version: two host calls, no lock. A commit
//!   that loses a race reads again and re-runs the transition on what won
//!   (a second exchange of a code then sees it used; a second refresh sees
//!   its token as the previous one and gets the same successor). After
//!   [`COMMIT_ATTEMPTS`] lost races the caller gets
//!   [`StorageError::Unavailable`] (HTTP 503: retry later). `put_grant` is
//!   one commit checked for absence.
//! - **Hosts without atomics** (Workers KV): the same commits are written key
//!   by key, unchecked, so single use is best-effort: two exchanges of one
//!   code that race within the store's consistency window may both succeed.
//!   [`Storage::health`](crate::storage::Storage::health) says so (`"atomicity"`), and revocation also lists
//!   the grant's access keys to catch tokens a lost race wrote.
//!
//! Consistency: a host without [`KvCapabilities::consistent_reads`] (Workers
//! KV) may serve a read at one location that misses a write made elsewhere a
//! moment ago, or a miss it cached before the write. Then
//! [`Storage::consistency_window`](crate::storage::Storage::consistency_window)
//! says for how long (60 s unless [`KvStorage::with_consistency_window`] says
//! otherwise), and within it the provider answers a token it cannot find yet
//! with a retryable 503 rather than a final `invalid_grant`.
//!
//! Costs: `get_access`, `get_client`, `get_grant` are one read; the single-use
//! transitions two calls (`get_versioned`, `commit`), `put_grant` one on an
//! atomic host and two (a read, then the commit) elsewhere. `stats`, `sweep` and `list_clients` list
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

use super::{GrantRecord, MaybeSend, StorageError};
pub use host::{
    KvCapabilities, KvCheck, KvError, KvFunction, KvHost, KvMutation, KvPage, Versioned, KV_FUNCTIONS,
};
pub(super) use keys::Keys;

/// Keys asked for per `list` call (Workers KV's maximum).
const LIST_PAGE: u32 = 1000;
/// Lost commit races a transition survives before answering a 503. A burst
/// of `n` refreshes of one token resolves one winner per round (each retry
/// of the previous token records its new access token in the grant), so the
/// bound is set above the hundred-way race of the conformance suite.
pub const COMMIT_ATTEMPTS: u32 = 128;
/// Most scheduler yields between two attempts.
const MAX_BACKOFF_YIELDS: u32 = 16;
/// Index entries expire at the end of the period in which their grant does
/// (see [`index_expiry`]).
const INDEX_PERIOD: u64 = 30 * 86_400;
/// TTL of the health probe's key.
const PROBE_TTL: u64 = 30;
/// Seconds a write may stay invisible elsewhere on a host without consistent
/// reads: Workers KV's cache TTL, which also holds cached misses that long.
const DEFAULT_CONSISTENCY_WINDOW: u64 = 60;

/// The [`Storage`](crate::storage::Storage) contract over a host key-value store; see the module docs.
#[derive(Debug, Clone)]
pub struct KvStorage<H: KvHost> {
    host: H,
    keys: Keys,
    caps: KvCapabilities,
    commit_attempts: u32,
    consistency_window: u64,
}

/// A grant as read, with the version its commit must check.
struct Read {
    grant: GrantRecord,
    version: String,
}

/// What one attempt of a transition decided.
/// What [`KvStorage::retry_transition`] asks of a grant: the writes to commit,
/// or `None` to answer without writing. `Send` where the futures must be.
#[cfg(target_arch = "wasm32")]
type Decide<'a> = dyn FnMut(Option<GrantRecord>) -> Result<Option<Vec<KvMutation>>, StorageError> + 'a;
#[cfg(not(target_arch = "wasm32"))]
type Decide<'a> = dyn FnMut(Option<GrantRecord>) -> Result<Option<Vec<KvMutation>>, StorageError> + Send + 'a;

/// Whether [`KvStorage::remove_grant_if`] removes a grant.
#[cfg(target_arch = "wasm32")]
type Keep<'a> = dyn Fn(&GrantRecord) -> bool + 'a;
#[cfg(not(target_arch = "wasm32"))]
type Keep<'a> = dyn Fn(&GrantRecord) -> bool + Sync + 'a;

enum Step<T> {
    /// Done without writing.
    Answer(T),
    /// Write these (checked against the version read), then answer.
    Commit(Vec<KvMutation>, T),
}

impl<H: KvHost> KvStorage<H> {
    /// A store over `host` with keys under `key_prefix` (e.g.
    /// [`DEFAULT_KEY_PREFIX`](crate::config::DEFAULT_KEY_PREFIX)). Reads the
    /// host's capabilities once, here.
    pub fn new(host: H, key_prefix: impl Into<String>) -> Self {
        let caps = host.capabilities();
        Self {
            host,
            keys: Keys::new(key_prefix),
            caps,
            commit_attempts: COMMIT_ATTEMPTS,
            consistency_window: DEFAULT_CONSISTENCY_WINDOW,
        }
    }

    /// A store over `host` under the default prefix `oauth:`.
    pub fn with_default_prefix(host: H) -> Self {
        Self::new(host, crate::config::DEFAULT_KEY_PREFIX)
    }

    /// How many lost commit races a single-use transition survives before
    /// answering [`StorageError::Unavailable`] (atomic hosts only).
    pub fn with_commit_attempts(mut self, attempts: u32) -> Self {
        self.commit_attempts = attempts.max(1);
        self
    }

    /// How long a write may stay invisible to reads elsewhere on a host that
    /// does not promise consistent reads, cached misses included (Workers KV:
    /// 60 s, the default). 0 treats reads as consistent: for a host that is
    /// in practice, such as one process's map.
    pub fn with_consistency_window(mut self, seconds: u64) -> Self {
        self.consistency_window = seconds;
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
        parse(key, &text).map(Some)
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

    /// The grant with its version, for a transition.
    async fn read_grant(&self, grant_id: &str) -> Result<Option<Read>, StorageError> {
        let key = self.keys.grant(grant_id);
        let Some(entry) = self.host.get_versioned(&key).await? else { return Ok(None) };
        Ok(Some(Read { grant: parse(&key, &entry.value)?, version: entry.version }))
    }

    /// Runs a single-use transition of one grant: read it with its version,
    /// let `decide` choose, commit the writes checked against that version,
    /// and start again on a lost race. `None` reaches `decide` when there is
    /// no grant.
    async fn transition<T: MaybeSend>(
        &self,
        grant_id: &str,
        mut decide: impl FnMut(Option<GrantRecord>) -> Result<Step<T>, StorageError> + MaybeSend,
    ) -> Result<T, StorageError> {
        let mut answer = None;
        self.retry_transition(grant_id, &mut |grant| {
            Ok(match decide(grant)? {
                Step::Answer(a) => {
                    answer = Some(a);
                    None
                }
                Step::Commit(mutations, a) => {
                    answer = Some(a);
                    Some(mutations)
                }
            })
        })
        .await?;
        answer.ok_or_else(|| StorageError::Unavailable(format!("grant {grant_id}: no answer")))
    }

    /// The loop of [`transition`](Self::transition), one copy for every
    /// answer type (it ships in the wasm module): `decide` keeps its answer
    /// and returns the writes to commit, or `None` to answer without writing.
    async fn retry_transition(&self, grant_id: &str, decide: &mut Decide<'_>) -> Result<(), StorageError> {
        let key = self.keys.grant(grant_id);
        for attempt in 0..self.commit_attempts {
            let read = self.read_grant(grant_id).await?;
            let version = read.as_ref().map(|r| r.version.clone());
            let Some(mutations) = decide(read.map(|r| r.grant))? else { return Ok(()) };
            let check = KvCheck { key: key.clone(), version };
            if self.host.commit(&[check], &mutations).await? {
                return Ok(());
            }
            for _ in 0..(attempt + 1).min(MAX_BACKOFF_YIELDS) {
                YieldNow(false).await;
            }
        }
        Err(StorageError::Unavailable(format!("grant {grant_id} is busy; retry later")))
    }

    fn set<T: Serialize>(
        &self,
        key: String,
        value: &T,
        ttl_seconds: u64,
    ) -> Result<KvMutation, StorageError> {
        let value = to_json(&key, value)?;
        Ok(KvMutation::Set { key, value, ttl_seconds })
    }

    /// Writes of a grant, with its index keys when `before` (the grant as it
    /// was read) is `None` or their TTL no longer covers the grant: see
    /// [`index_expiry`]. An exchange or a refresh then writes two keys, the
    /// grant and its new access token, not four.
    fn grant_writes(
        &self,
        grant: &GrantRecord,
        before: Option<&GrantRecord>,
        now: UnixTime,
    ) -> Result<Vec<KvMutation>, StorageError> {
        let mut writes =
            vec![self.set(self.keys.grant(&grant.id), grant, self.ttl(grant.expires_at, now))?];
        let until = index_expiry(grant.expires_at);
        if before.is_some_and(|b| index_expiry(b.expires_at) == until) {
            return Ok(writes);
        }
        let ttl = self.ttl(until, now);
        if let Some(subject) = &grant.subject {
            let key = self.keys.by_subject(subject, &grant.id);
            writes.push(KvMutation::Set { key, value: grant.id.clone(), ttl_seconds: ttl });
        }
        let key = self.keys.by_client(&grant.client_id, &grant.id);
        writes.push(KvMutation::Set { key, value: grant.id.clone(), ttl_seconds: ttl });
        Ok(writes)
    }

    fn access_write(
        &self,
        digest: &SecretDigest,
        record: &super::AccessRecord,
        now: UnixTime,
    ) -> Result<KvMutation, StorageError> {
        self.set(self.keys.access(&record.grant_id, digest), record, self.ttl(record.expires_at, now))
    }

    /// Deletes of a grant's keys: its access tokens first (verification stops
    /// at once), then the grant (refresh stops), then its index keys.
    fn removal(&self, grant: &GrantRecord) -> Vec<KvMutation> {
        let mut deletes: Vec<KvMutation> = grant
            .access_digests()
            .map(|d| KvMutation::Delete { key: self.keys.access(&grant.id, d) })
            .collect();
        deletes.push(KvMutation::Delete { key: self.keys.grant(&grant.id) });
        if let Some(subject) = &grant.subject {
            deletes.push(KvMutation::Delete { key: self.keys.by_subject(subject, &grant.id) });
        }
        deletes.push(KvMutation::Delete { key: self.keys.by_client(&grant.client_id, &grant.id) });
        deletes
    }

    /// Without atomics a lost read-modify-write race may have stored access
    /// tokens the grant does not list: delete whatever is under its prefix.
    async fn remove_stray_access(&self, grant_id: &str) -> Result<(), StorageError> {
        if self.caps.atomic {
            return Ok(());
        }
        for key in self.list_all(&self.keys.access_prefix(grant_id)).await? {
            self.host.delete(&key).await?;
        }
        Ok(())
    }

    /// Revokes a grant if `keep` refuses it: one checked commit of its removal.
    /// `Some(grant)` if this call removed it.
    async fn remove_grant_if(
        &self,
        grant_id: &str,
        remove: &Keep<'_>,
    ) -> Result<Option<GrantRecord>, StorageError> {
        let removed = self
            .transition(grant_id, |grant| {
                Ok(match grant {
                    Some(grant) if remove(&grant) => Step::Commit(self.removal(&grant), Some(grant)),
                    _ => Step::Answer(None),
                })
            })
            .await?;
        if removed.is_some() {
            self.remove_stray_access(grant_id).await?;
        }
        Ok(removed)
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
        self.host.put(&key, &value, PROBE_TTL.max(self.caps.min_ttl_seconds)).await?;
        let read = self.host.get(&key).await?;
        if !self.caps.consistent_reads {
            // Workers KV: its TTL removes the probe. Deleting it now would be a
            // second write of the key within a second, which KV refuses (429).
            return Ok(());
        }
        self.host.delete(&key).await?;
        if read.as_deref() == Some(value.as_str()) {
            Ok(())
        } else {
            Err(StorageError::Unavailable("the store did not return what was just written".into()))
        }
    }
}

/// When a grant's index entries expire: the end of the [`INDEX_PERIOD`] that
/// holds the grant's own expiry, so never before the grant, and at most a
/// period after it. A transition that keeps the grant's expiry in the same
/// period leaves the entries alone; listings check every entry against its
/// grant, so an entry that outlives its grant is only skipped.
fn index_expiry(grant_expires_at: UnixTime) -> UnixTime {
    (grant_expires_at / INDEX_PERIOD + 1).saturating_mul(INDEX_PERIOD)
}

fn parse<T: DeserializeOwned>(key: &str, text: &str) -> Result<T, StorageError> {
    super::object_json::from_object_str(text)
        .map_err(|e| StorageError::Corrupt { key: key.to_string(), reason: e.to_string() })
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
