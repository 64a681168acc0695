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
//! Implement [`Storage`] with `#[async_trait::async_trait]` (`?Send` on
//! wasm32), as the backends here do; the state transitions live on
//! [`GrantRecord`], so a backend only has to make them atomic. A store that
//! wraps another (to count, log, or fail on demand) implements [`Delegate`]
//! instead: every method reaches the inner store, with a hook before each
//! call and one after each failure, and a method added to the trait later
//! needs no change to the wrapper.
//!
//! ```
//! # use simply_mcp_oauth::storage::*;
//! # use simply_mcp_oauth::crypto::SecretDigest;
//! # use simply_mcp_oauth::clock::UnixTime;
//! /// A store that is never there: the shape of any backend.
//! struct Offline;
//!
//! fn down<T>() -> Result<T, StorageError> {
//!     Err(StorageError::Unavailable("offline".into()))
//! }
//!
//! #[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
//! #[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
//! impl Storage for Offline {
//!     async fn get_access(&self, grant_id: &str, digest: &SecretDigest, now: UnixTime)
//!         -> Result<Option<AccessRecord>, StorageError> {
//!         down()
//!     }
//!     // ... and every other method (`revoke_token` and
//!     // `consistency_window` have defaults):
//! #   async fn put_client(&self, _: ClientRecord) -> Result<(), StorageError> { down() }
//! #   async fn get_client(&self, _: &str) -> Result<Option<ClientRecord>, StorageError> { down() }
//! #   async fn delete_client(&self, _: &str, _: UnixTime) -> Result<bool, StorageError> { down() }
//! #   async fn list_clients(&self) -> Result<Vec<String>, StorageError> { down() }
//! #   async fn put_grant(&self, _: GrantRecord, _: Option<NewAccess>, _: UnixTime) -> Result<(), StorageError> { down() }
//! #   async fn get_grant(&self, _: &str, _: UnixTime) -> Result<Option<GrantRecord>, StorageError> { down() }
//! #   async fn consume_code(&self, _: &str, _: &SecretDigest, _: &CodeExpectation, _: Redemption, _: UnixTime) -> Result<CodeOutcome, StorageError> { down() }
//! #   async fn rotate_refresh(&self, _: &str, _: &str, _: &SecretDigest, _: Rotation, _: UnixTime) -> Result<RotateOutcome, StorageError> { down() }
//! #   async fn revoke_grant(&self, _: &str) -> Result<bool, StorageError> { down() }
//! #   async fn list_grants(&self, _: &str, _: UnixTime) -> Result<Vec<GrantRecord>, StorageError> { down() }
//! #   async fn stats(&self, _: UnixTime) -> Result<StorageStats, StorageError> { down() }
//! #   async fn health(&self) -> HealthCheck { HealthCheck::finished(0, false, "offline".into(), Default::default(), Vec::new()) }
//! #   async fn sweep(&self, _: UnixTime) -> Result<u64, StorageError> { down() }
//! }
//! # use futures::FutureExt as _; // ready at once: no runtime needed, on wasm32 too
//! # let revoked = Offline.revoke_token("g", "c", &SecretDigest::of("t"), 0).now_or_never().unwrap();
//! # assert!(matches!(revoked, Err(StorageError::Unavailable(_))), "the default reads first");
//! # assert_eq!(Offline.consistency_window(), None);
//! ```

mod kv;
mod memory;
mod object_json;
mod records;
#[cfg(all(feature = "redis", not(target_arch = "wasm32")))]
mod redis;
mod sharded;
mod shared;
mod surface;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
#[cfg(target_arch = "wasm32")]
pub(crate) use shared::forward_to;
pub use shared::Delegate;
#[cfg(target_arch = "wasm32")]
pub(crate) use surface::{storage_arg, storage_method, storage_surface};
pub use surface::{MaybeSend, Storage, StorageFuture};

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
