//! `RedisStorage`: the [`Storage`](crate::storage::Storage) trait on Redis
//! (feature `redis`, native only), for several processes sharing one store.
//!
//! - **One round trip per atomic operation.** Verification is one `GET`; code
//!   redemption, refresh rotation, revocation and grant creation are one
//!   `EVALSHA` each. The scripts (`scripts/*.lua`) reproduce the transitions of
//!   [`GrantRecord`](crate::storage::GrantRecord) line for line; `redis::Script`
//!   sends `EVALSHA` and reloads the script on `NOSCRIPT`.
//! - **Cluster-safe keys.** Every key of one grant carries the hash tag
//!   `{<grant id>}` (layout in `wire.rs`), so each script touches one slot. The
//!   per-subject and per-client indexes and the sets `stats()` counts
//!   (`stats.rs`) live in other slots: on one server the scripts update them
//!   too; on a cluster they are updated after the script, best-effort (ids of
//!   grants that are gone are skipped by readers). The index sets live as
//!   long as their longest grant (their TTL only grows), `list_grants` prunes
//!   the subject's, and each new grant prunes a few dead ids of its client's.
//! - **Redis Cluster.** With [`RedisConfig::cluster_nodes`] set (or a
//!   `redis+cluster://` URL), the store talks to a cluster: scripts and
//!   single-key commands are routed by their key; writes spanning slots
//!   (indexes, counts) go one command per key after the script instead of in
//!   it, and `SCAN` (only [`RedisStorage::rebuild_counts`]) walks every master.
//! - **Time.** Records expire at the store after `expires_at - now` seconds
//!   (the `now` argument, at least 1 s), and every read still compares
//!   `expires_at` with `now`. Redis evicts by TTL, so [`sweep`](RedisStorage)
//!   only removes expired registrations Redis still holds and drops the dead
//!   members of the sets `stats()` counts.
//! - **TLS.** `rediss://` (and [`RedisConfig::tls`]) connect through rustls,
//!   never in plaintext: the server's certificate must chain to
//!   `tls_ca_file` (else the public webpki roots) and name the host; an
//!   optional client certificate answers servers that ask for one. An
//!   unreadable or non-PEM file, or a certificate the handshake refuses, is a
//!   [`StorageError::Configuration`] naming it, and is not retried.
//! - **Failures.** Every command is bounded by `connection_timeout`; a dead
//!   Redis is a [`StorageError::Unavailable`], never a hang. The connection
//!   manager reconnects by itself when Redis comes back.

mod config;
mod connection;
mod ops;
mod stats;
mod tls;
mod wire;

use std::future::Future;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use redis::{RedisError, RedisResult, Script};

pub use config::RedisConfig;

use crate::storage::StorageError;
use connection::Connection;
use wire::Keys;

/// The scripts, each prefixed with the shared helpers.
struct Scripts {
    put: Script,
    redeem: Script,
    rotate: Script,
    revoke: Script,
    revoke_token: Script,
    index: Script,
}

static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| {
    let with_common = |body: &str| Script::new(&format!("{}\n{body}", include_str!("scripts/common.lua")));
    Scripts {
        put: with_common(include_str!("scripts/put.lua")),
        redeem: with_common(include_str!("scripts/redeem.lua")),
        rotate: with_common(include_str!("scripts/rotate.lua")),
        revoke: with_common(include_str!("scripts/revoke.lua")),
        revoke_token: with_common(include_str!("scripts/revoke_token.lua")),
        index: with_common(include_str!("scripts/index.lua")),
    }
});

/// Storage in Redis (the seed's `RedisStorage`). See the module docs.
pub struct RedisStorage {
    config: RedisConfig,
    keys: Keys,
    connection: Mutex<Option<Connection>>,
}

impl std::fmt::Debug for RedisStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStorage")
            .field("config", &self.config)
            .field("connected", &self.is_connected())
            .finish()
    }
}

impl RedisStorage {
    /// Connects, retrying with exponential backoff (`connection_retry_delay`
    /// doubling up to `max_retry_delay`, `connection_retry_attempts` attempts,
    /// each bounded by `connection_timeout`). Authentication failures are not retried.
    pub async fn connect(config: RedisConfig) -> Result<Self, StorageError> {
        let storage = Self { keys: Keys::new(&config.key_prefix), config, connection: Mutex::new(None) };
        let connection = storage.open().await?;
        *storage.lock() = Some(connection);
        Ok(storage)
    }

    /// Connects to the server named by a `redis://` URL (other options at their defaults).
    pub async fn connect_url(url: &str) -> Result<Self, StorageError> {
        Self::connect(RedisConfig::from_url(url)?).await
    }

    /// The options this store was connected with.
    pub fn config(&self) -> &RedisConfig {
        &self.config
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        self.keys.prefix()
    }

    /// Whether [`disconnect`](Self::disconnect) has not been called.
    pub fn is_connected(&self) -> bool {
        self.lock().is_some()
    }

    /// Drops the connection; later operations fail with
    /// [`StorageError::Unavailable`]. Calling it again does nothing.
    pub fn disconnect(&self) {
        if self.lock().take().is_some() {
            self.log(format_args!("disconnected from {}", self.config.address()));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Connection>> {
        self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn log(&self, message: std::fmt::Arguments<'_>) {
        if self.config.debug {
            eprintln!("[{}] {message}", self.config.name);
        }
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(self.config.connection_timeout.max(1))
    }

    async fn open(&self) -> Result<Connection, StorageError> {
        let c = &self.config;
        if c.username.is_some() && c.password.is_none() {
            return Err(StorageError::Configuration(format!(
                "Redis user name {:?} is set without a password (REDIS_PASSWORD, or user:password@ in the URL)",
                c.username.as_deref().unwrap_or_default()
            )));
        }
        if !c.cluster_nodes.is_empty() && c.db != 0 {
            return Err(StorageError::Configuration(format!(
                "Redis Cluster has only database 0 (db = {})",
                c.db
            )));
        }
        let target = connection::target(c, self.timeout())?;
        let attempts = c.connection_retry_attempts.max(1);
        let mut last = StorageError::Unavailable(format!("could not connect to {}", c.address()));
        for attempt in 1..=attempts {
            self.log(format_args!("connecting to {} (attempt {attempt}/{attempts})", c.address()));
            match tokio::time::timeout(self.timeout(), connection::open_once(&target, c, self.timeout()))
                .await
            {
                Ok(Ok(connection)) => return Ok(connection),
                // At start-up a refused certificate is a configuration error
                // (not retried); later, a reconnection that fails the same
                // way is Unavailable like any other.
                Ok(Err(e)) => {
                    let tls = c.tls.then(|| tls::handshake_error(&c.address(), &e.to_string())).flatten();
                    last = tls.unwrap_or_else(|| self.error(e));
                }
                Err(_) if c.tls => {
                    last = StorageError::Unavailable(format!(
                        "{} (TLS: no handshake; is this the server's TLS port?)",
                        self.timed_out().to_string().trim_start_matches("storage unavailable: ")
                    ))
                }
                Err(_) => last = self.timed_out(),
            }
            self.log(format_args!("{last}"));
            if matches!(last, StorageError::Configuration(_)) {
                return Err(last);
            }
            if attempt < attempts {
                tokio::time::sleep(Duration::from_millis(c.retry_delay(attempt))).await;
            }
        }
        Err(last)
    }

    fn connection(&self) -> Result<Connection, StorageError> {
        self.lock().clone().ok_or_else(|| StorageError::Unavailable("RedisStorage is disconnected".into()))
    }

    /// Runs one command (or script, or pipeline), bounded by the connection timeout.
    async fn bounded<T>(&self, command: impl Future<Output = RedisResult<T>>) -> Result<T, StorageError> {
        match tokio::time::timeout(self.timeout(), command).await {
            Ok(result) => result.map_err(|e| self.error(e)),
            Err(_) => Err(self.timed_out()),
        }
    }

    fn timed_out(&self) -> StorageError {
        StorageError::Unavailable(format!(
            "Connection timeout after {} ms ({})",
            self.config.connection_timeout,
            self.config.address()
        ))
    }

    /// A Redis error in the seed's words.
    fn error(&self, e: RedisError) -> StorageError {
        let address = self.config.address();
        let text = e.to_string();
        if e.kind() == redis::ErrorKind::AuthenticationFailed
            || text.contains("NOAUTH")
            || text.contains("WRONGPASS")
            || text.contains("invalid password")
        {
            let user = match &self.config.username {
                Some(user) => format!("user {user:?}"),
                None => "user \"default\"".to_string(),
            };
            return StorageError::Configuration(format!(
                "Redis at {address} refused authentication as {user} (NOAUTH / wrong user name or password): {text}"
            ));
        }
        if e.kind() == redis::ErrorKind::InvalidClientConfig {
            return StorageError::Configuration(format!("Redis at {address}: {text}"));
        }
        if e.is_connection_refusal() {
            return StorageError::Unavailable(format!("connection refused to Redis at {address}"));
        }
        if e.is_timeout() {
            return self.timed_out();
        }
        if matches!(e.kind(), redis::ErrorKind::Parse | redis::ErrorKind::UnexpectedReturnType) {
            return StorageError::Corrupt { key: self.config.key_prefix.clone(), reason: text };
        }
        StorageError::Unavailable(format!("Redis at {address}: {text}"))
    }
}
