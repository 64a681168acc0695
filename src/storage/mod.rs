//! The storage contract: one async trait, shaped by OAuth rather than by a
//! key-value store, so that every operation that must be atomic is one call.
//!
//! Backends: [`MemoryStorage`] here (native and wasm); Redis and host key-value
//! stores plug in behind the same trait. Every backend runs the one
//! conformance suite, `simply_mcp_oauth::testing` (feature `testing`); a
//! backend in another crate runs it too, with one `conformance_suite!` call
//! in a test file (`examples/sqlite_kv_host/` does it for a `KvHost`).
//!
//! Rules every backend keeps:
//! - Secrets arrive as [`SecretDigest`](crate::crypto::SecretDigest)s only.
//! - Time is an argument (`now`, Unix seconds): a record past its `expires_at`
//!   reads as absent even where the store has not evicted it yet, and the
//!   store's own TTL (in seconds) is only a ceiling for eviction.
//! - Returned records are copies: changing one changes nothing stored.
//! - Failures are [`StorageError`]s, never panics.
//!
//! # A custom backend
//!
//! Implement [`Storage`]; the state transitions live on
//! [`GrantRecord`], so a backend only has to make them atomic:
//!
//! ```
//! # use simply_mcp_oauth::storage::*;
//! # use simply_mcp_oauth::crypto::SecretDigest;
//! # use simply_mcp_oauth::clock::UnixTime;
//! // A backend that delegates to memory, counting calls: the shape of any other.
//! struct Counting { inner: MemoryStorage, reads: std::sync::atomic::AtomicU64 }
//!
//! #[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
//! #[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
//! impl Storage for Counting {
//!     async fn get_access(&self, grant_id: &str, digest: &SecretDigest, now: UnixTime)
//!         -> Result<Option<AccessRecord>, StorageError> {
//!         self.reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
//!         self.inner.get_access(grant_id, digest, now).await
//!     }
//!     // ... every other method delegates the same way:
//! #   async fn put_client(&self, c: ClientRecord) -> Result<(), StorageError> { self.inner.put_client(c).await }
//! #   async fn get_client(&self, id: &str) -> Result<Option<ClientRecord>, StorageError> { self.inner.get_client(id).await }
//! #   async fn delete_client(&self, id: &str, now: UnixTime) -> Result<bool, StorageError> { self.inner.delete_client(id, now).await }
//! #   async fn list_clients(&self) -> Result<Vec<String>, StorageError> { self.inner.list_clients().await }
//! #   async fn put_grant(&self, g: GrantRecord, a: Option<NewAccess>, now: UnixTime) -> Result<(), StorageError> { self.inner.put_grant(g, a, now).await }
//! #   async fn get_grant(&self, id: &str, now: UnixTime) -> Result<Option<GrantRecord>, StorageError> { self.inner.get_grant(id, now).await }
//! #   async fn consume_code(&self, id: &str, d: &SecretDigest, e: &CodeExpectation, r: Redemption, now: UnixTime) -> Result<CodeOutcome, StorageError> { self.inner.consume_code(id, d, e, r, now).await }
//! #   async fn rotate_refresh(&self, id: &str, c: &str, d: &SecretDigest, r: Rotation, now: UnixTime) -> Result<RotateOutcome, StorageError> { self.inner.rotate_refresh(id, c, d, r, now).await }
//! #   async fn revoke_grant(&self, id: &str) -> Result<bool, StorageError> { self.inner.revoke_grant(id).await }
//! #   async fn list_grants(&self, s: &str, now: UnixTime) -> Result<Vec<GrantRecord>, StorageError> { self.inner.list_grants(s, now).await }
//! #   async fn stats(&self, now: UnixTime) -> Result<StorageStats, StorageError> { self.inner.stats(now).await }
//! #   async fn health(&self) -> HealthCheck { self.inner.health().await }
//! #   async fn sweep(&self, now: UnixTime) -> Result<u64, StorageError> { self.inner.sweep(now).await }
//! }
//! ```

mod kv;
mod memory;
mod object_json;
mod records;
#[cfg(all(feature = "redis", not(target_arch = "wasm32")))]
mod redis;
mod sharded;
mod shared;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::crypto::SecretDigest;

#[cfg(all(feature = "redis", not(target_arch = "wasm32")))]
pub use self::redis::{RedisConfig, RedisStorage};
#[cfg(target_arch = "wasm32")]
pub(crate) use kv::sort_keys;
pub use kv::{
    KvCapabilities, KvCheck, KvError, KvFunction, KvHost, KvMutation, KvPage, KvStorage, Versioned,
    COMMIT_ATTEMPTS, KV_FUNCTIONS,
};
pub use memory::MemoryStorage;
pub use sharded::{execute, ShardTransport, ShardedStorage, StorageOp, DEFAULT_SHARDS};

/// [`HealthCheck::components`] from pairs, built by insertion:
/// `BTreeMap::from` sorts its input first, which would bring a stable sort
/// (about 2 KB) into the wasm module for this alone.
pub(crate) fn health_components(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut components = BTreeMap::new();
    for (name, value) in pairs {
        components.insert(name.to_string(), value.to_string());
    }
    components
}
pub use records::*;

/// `Send` natively (multi-threaded runtimes), nothing on wasm (JS futures are not `Send`).
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSend: Send + Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + Sync + ?Sized> MaybeSend for T {}
/// `Send` natively (multi-threaded runtimes), nothing on wasm (JS futures are not `Send`).
#[cfg(target_arch = "wasm32")]
pub trait MaybeSend {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSend for T {}

/// The storage contract. See the module docs for the rules.
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
pub trait Storage: MaybeSend {
    /// Creates or replaces a client. A registration with `expires_at` is
    /// written when it is issued: the store keeps it for
    /// [`ClientRecord::ttl`] seconds at most, and `sweep` removes it once
    /// expired; stored again without `expires_at`, it stays.
    async fn put_client(&self, client: ClientRecord) -> Result<(), StorageError>;

    /// A client by id. An expired registration may still be returned until
    /// the store evicts or sweeps it: callers check [`ClientRecord::is_live`].
    async fn get_client(&self, client_id: &str) -> Result<Option<ClientRecord>, StorageError>;

    /// Deletes a client and revokes every grant it holds. `false` if unknown.
    async fn delete_client(&self, client_id: &str, now: UnixTime) -> Result<bool, StorageError>;

    /// Every client id.
    async fn list_clients(&self) -> Result<Vec<String>, StorageError>;

    /// Stores a new grant (with a pending code, or with `access` issued at once
    /// for `client_credentials`). Grant ids are random; an existing one is a conflict.
    async fn put_grant(
        &self,
        grant: GrantRecord,
        access: Option<NewAccess>,
        now: UnixTime,
    ) -> Result<(), StorageError>;

    /// A live grant by id.
    async fn get_grant(&self, grant_id: &str, now: UnixTime) -> Result<Option<GrantRecord>, StorageError>;

    /// Redeems a code exactly once ([`GrantRecord::redeem_code`]), storing the
    /// issued tokens in the same step; a replay revokes the grant.
    async fn consume_code(
        &self,
        grant_id: &str,
        code_digest: &SecretDigest,
        expect: &CodeExpectation,
        redemption: Redemption,
        now: UnixTime,
    ) -> Result<CodeOutcome, StorageError>;

    /// Verification: the access token stored under `digest`, if live. One read.
    async fn get_access(
        &self,
        grant_id: &str,
        digest: &SecretDigest,
        now: UnixTime,
    ) -> Result<Option<AccessRecord>, StorageError>;

    /// Rotates a refresh token ([`GrantRecord::rotate_refresh`]) as one
    /// compare-and-swap; reuse revokes the grant.
    async fn rotate_refresh(
        &self,
        grant_id: &str,
        client_id: &str,
        presented: &SecretDigest,
        rotation: Rotation,
        now: UnixTime,
    ) -> Result<RotateOutcome, StorageError>;

    /// Deletes a grant with its code, refresh chain and access tokens.
    /// `false` if there was nothing to revoke.
    async fn revoke_grant(&self, grant_id: &str) -> Result<bool, StorageError>;

    /// RFC 7009 revocation: when `digest` is a live access token of the grant,
    /// or its current or previous refresh token, and the live grant belongs to
    /// `client_id`, revokes the grant as [`revoke_grant`](Self::revoke_grant)
    /// does and returns it; otherwise changes nothing and returns `None`.
    /// The default reads, then revokes; backends with scripts do it in one step.
    async fn revoke_token(
        &self,
        grant_id: &str,
        client_id: &str,
        digest: &SecretDigest,
        now: UnixTime,
    ) -> Result<Option<GrantRecord>, StorageError> {
        let Some(grant) = self.get_grant(grant_id, now).await? else { return Ok(None) };
        if grant.client_id != client_id {
            return Ok(None);
        }
        if !grant.holds_refresh(digest) && self.get_access(grant_id, digest, now).await?.is_none() {
            return Ok(None);
        }
        Ok(self.revoke_grant(grant_id).await?.then_some(grant))
    }

    /// The live grants of a subject.
    async fn list_grants(&self, subject: &str, now: UnixTime) -> Result<Vec<GrantRecord>, StorageError>;

    /// Counts of live records.
    async fn stats(&self, now: UnixTime) -> Result<StorageStats, StorageError>;

    /// Whether the store answers; never fails.
    async fn health(&self) -> HealthCheck;

    /// How long, in seconds, a write may stay invisible to a read made
    /// elsewhere (Workers KV: up to 60 s across locations); `None` for a
    /// store whose reads always see the latest write. Within that window the
    /// provider answers a token it cannot find yet with a retryable 503
    /// rather than a final `invalid_grant` (see `provider::verify`).
    fn consistency_window(&self) -> Option<u64> {
        None
    }

    /// Removes records that expired before `now`; returns how many.
    async fn sweep(&self, now: UnixTime) -> Result<u64, StorageError>;
}

/// A storage failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StorageError {
    /// The store cannot be reached now; retrying later may work (HTTP 503).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A write collided with an existing record.
    #[error("storage conflict: {0}")]
    Conflict(String),
    /// A stored record could not be read back.
    #[error("corrupt record at {key}: {reason}")]
    Corrupt {
        /// The key (never contains a secret: keys hold digests).
        key: String,
        /// What was wrong.
        reason: String,
    },
    /// The backend is set up wrongly.
    #[error("storage misconfigured: {0}")]
    Configuration(String),
}

/// Live record counts (the seed's `getStats()`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageStats {
    /// Live access tokens.
    pub token_count: u64,
    /// Live refresh tokens (one per grant with a refresh chain).
    pub refresh_token_count: u64,
    /// Unused, unexpired authorization codes.
    pub authorization_code_count: u64,
    /// Clients.
    pub client_count: u64,
    /// Approximate bytes held, where the backend can tell.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_usage: Option<u64>,
    /// Open connections, where the backend has any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_connections: Option<u64>,
}

/// The seed's `healthCheck()` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    /// Whether the store works.
    pub healthy: bool,
    /// A sentence for people.
    pub message: String,
    /// How long the check took.
    pub response_time_ms: f64,
    /// When it ran (Unix milliseconds).
    pub timestamp: u64,
    /// Per-component details (for example `"atomicity": "atomic"`).
    pub components: BTreeMap<String, String>,
    /// What went wrong, if anything.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl HealthCheck {
    /// The report of a check that started at `started_ms` (Unix milliseconds)
    /// and ends now: the response time and timestamp come from the real clock.
    pub fn finished(
        started_ms: u64,
        healthy: bool,
        message: String,
        components: BTreeMap<String, String>,
        errors: Vec<String>,
    ) -> Self {
        let timestamp = crate::clock::Clock::now_millis(&crate::clock::SystemClock);
        let response_time_ms = timestamp.saturating_sub(started_ms) as f64;
        Self { healthy, message, response_time_ms, timestamp, components, errors }
    }

    /// What a report says of a failure: its kind, no detail. The error itself
    /// names addresses and keys (with their prefix), and a health endpoint
    /// may be open to the network; the store's own log keeps the detail.
    pub fn reason(error: &StorageError) -> String {
        let kind = match error {
            StorageError::Unavailable(_) => "storage unavailable",
            StorageError::Conflict(_) => "storage conflict",
            StorageError::Corrupt { .. } => "corrupt record",
            StorageError::Configuration(_) => "storage misconfigured",
        };
        kind.to_string()
    }
}
