//! [`KvHost`]: the Rust side of `interface kv` in `wit/simply-mcp-oauth.wit`.
//!
//! The WIT file is the contract; this trait mirrors it function for function
//! (see [`KV_FUNCTIONS`]), so a JS host, a component host and a Rust host all
//! implement the same seven calls.
//!
//! Atomicity comes from one primitive, the Deno KV model: a read that returns
//! the entry's version ([`KvHost::get_versioned`]), then one conditional
//! commit of several keys ([`KvHost::commit`]) that applies only if every
//! checked key still has the version that was read. Every single-use
//! transition of `KvStorage` is then two host calls and takes no lock.

use crate::storage::{MaybeSend, StorageError};

/// A failure of the host's store (WIT `kv-error`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KvError {
    /// The store cannot be reached or refused the call; retrying later may work.
    #[error("key-value host unavailable: {0}")]
    Unavailable(String),
    /// The host does not implement this optional function.
    #[error("key-value host does not support {0}")]
    Unsupported(String),
}

impl From<KvError> for StorageError {
    /// Every host failure is a 503: the request may succeed later or elsewhere.
    fn from(error: KvError) -> Self {
        StorageError::Unavailable(error.to_string())
    }
}

/// One page of a prefix listing (WIT `list-page`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KvPage {
    /// Keys starting with the prefix, in any order.
    pub keys: Vec<String>,
    /// Where the next page starts; `None` after the last page.
    pub cursor: Option<String>,
}

/// A value with the version the host gave it (WIT `versioned`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The stored value.
    pub value: String,
    /// Opaque; changes whenever the key is written or deleted (a Deno KV
    /// versionstamp, a row counter). Hosts without atomics may answer `""`.
    pub version: String,
}

/// A precondition of [`KvHost::commit`] (WIT `kv-check`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvCheck {
    /// The key.
    pub key: String,
    /// The version it must still have; `None`: it must not exist.
    pub version: Option<String>,
}

/// One write of [`KvHost::commit`] (WIT `kv-mutation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvMutation {
    /// Creates or replaces `key` (TTL as in [`KvHost::put`]).
    Set {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// 0: no expiry; otherwise at least the host's minimum.
        ttl_seconds: u64,
    },
    /// Removes `key`; a missing key is not an error.
    Delete {
        /// The key.
        key: String,
    },
}

impl KvMutation {
    /// The key this mutation writes.
    pub fn key(&self) -> &str {
        match self {
            Self::Set { key, .. } | Self::Delete { key } => key,
        }
    }
}

/// What a host's store can do (WIT `kv-capabilities`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvCapabilities {
    /// `get_versioned` and `commit` honour versions atomically.
    pub atomic: bool,
    /// The smallest non-zero TTL the store accepts (Workers KV: 60).
    pub min_ttl_seconds: u64,
    /// A read right after a write sees it from everywhere.
    pub consistent_reads: bool,
}

impl Default for KvCapabilities {
    /// A store that promises nothing: no atomics, eventual reads, TTLs from 1 s.
    fn default() -> Self {
        Self { atomic: false, min_ttl_seconds: 1, consistent_reads: false }
    }
}

/// One function of WIT `interface kv` and its names on each side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvFunction {
    /// The name in `wit/simply-mcp-oauth.wit`.
    pub wit: &'static str,
    /// The [`KvHost`] method.
    pub rust: &'static str,
    /// The method a JS host object provides.
    pub js: &'static str,
}

macro_rules! kv_functions {
    ($($wit:literal => $rust:ident / $js:literal),* $(,)?) => {
        /// Every function of WIT `interface kv` with its [`KvHost`] method and JS
        /// name. The list is checked both ways: each Rust name below must be a
        /// `KvHost` method (or this module does not compile), and a test
        /// compares it with the WIT file and with the trait's source.
        pub const KV_FUNCTIONS: &[KvFunction] = &[$(KvFunction { wit: $wit, rust: stringify!($rust), js: $js }),*];

        // Compile-time half of the check: names a method of the trait per entry.
        #[allow(dead_code)]
        fn every_kv_function_is_a_trait_method<H: KvHost>() {
            $(let _ = H::$rust;)*
        }
    };
}

kv_functions! {
    "get" => get / "get",
    "put" => put / "put",
    "delete" => delete / "delete",
    "list" => list / "list",
    "get-versioned" => get_versioned / "getVersioned",
    "commit" => commit / "commit",
    "capabilities" => capabilities / "capabilities",
}

/// A plain key-value store supplied by the host: WIT `interface kv`, one
/// method per WIT function ([`KV_FUNCTIONS`]). Implement it to run
/// [`KvStorage`](super::KvStorage) on any store; the contract of each method
/// is the WIT comment of its function.
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
pub trait KvHost: MaybeSend {
    /// The value under `key`, or `None`; it may be past its TTL.
    async fn get(&self, key: &str) -> Result<Option<String>, KvError>;

    /// Creates or replaces `key`; `ttl_seconds` 0 means no expiry, otherwise the
    /// store may evict after that many seconds (never below the host minimum).
    async fn put(&self, key: &str, value: &str, ttl_seconds: u64) -> Result<(), KvError>;

    /// Removes `key`; a missing key is not an error.
    async fn delete(&self, key: &str) -> Result<(), KvError>;

    /// A page of at most `limit` keys starting with `prefix`, from `cursor`.
    async fn list(&self, prefix: &str, cursor: Option<String>, limit: u32) -> Result<KvPage, KvError>;

    /// The value under `key` with its version. The default (hosts without
    /// atomics) is [`get`](Self::get) with the empty version.
    async fn get_versioned(&self, key: &str) -> Result<Option<Versioned>, KvError> {
        Ok(self.get(key).await?.map(|value| Versioned { value, version: String::new() }))
    }

    /// Applies every mutation, in order, if and only if every check holds,
    /// as one atomic step; `false` (nothing written) when a check failed.
    /// The default (hosts without atomics) ignores the checks and writes one
    /// key after another: best-effort, as [`KvCapabilities::atomic`] `false` says.
    async fn commit(&self, checks: &[KvCheck], mutations: &[KvMutation]) -> Result<bool, KvError> {
        let _ = checks;
        for mutation in mutations {
            match mutation {
                KvMutation::Set { key, value, ttl_seconds } => self.put(key, value, *ttl_seconds).await?,
                KvMutation::Delete { key } => self.delete(key).await?,
            }
        }
        Ok(true)
    }

    /// What the store can do; read once, when `KvStorage` is built.
    fn capabilities(&self) -> KvCapabilities;
}
