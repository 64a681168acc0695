//! The OAuth state machine: clients, consent, codes, tokens and policy.
//!
//! Nothing here knows about HTTP: requests arrive as typed values or
//! [`Params`](crate::Params), answers leave as typed values or [`OAuthError`]s.
//!
//! ```
//! # tokio_test_shim::block_on(async {
//! use simply_mcp_oauth::{provider::Approval, ClientConfig, MemoryStorage, Params, Provider, ProviderConfig};
//!
//! let config = ProviderConfig {
//!     clients: vec![ClientConfig {
//!         client_id: "my-client".into(),
//!         client_secret: Some("my-secret".into()),
//!         redirect_uris: vec!["http://localhost:3000/callback".into()],
//!         scopes: vec!["read".into(), "write".into()],
//!     }],
//!     ..ProviderConfig::new("https://auth.example.com")
//! };
//! let provider = Provider::create(config, MemoryStorage::new()).await.unwrap();
//! let stats = provider.get_stats().await.unwrap();
//! assert_eq!(stats.clients, 1);
//! # });
//! # mod tokio_test_shim { pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #   use std::task::{Context, Poll, Waker}; let mut f = std::pin::pin!(f);
//! #   let mut cx = Context::from_waker(Waker::noop());
//! #   loop { if let Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } } } }
//! ```

mod audit;
mod authorize;
mod client_cache;
mod client_credentials;
mod clients;
mod exchange;
mod introspect;
mod refresh;
mod register;
mod revoke;
mod verify;

use std::sync::Arc;

use serde::Serialize;

use crate::cimd::{DocumentCache, MetadataFetcher};
use crate::clock::{Clock, SystemClock, UnixTime};
use crate::config::{ConfigError, ProviderConfig};
use crate::error::{ErrorCode, OAuthError};
use crate::storage::{HealthCheck, Storage, StorageError};

pub use crate::audit::{AuditEvent, AuditKind};
pub use crate::validate::{
    check_redirect_uri, is_loopback_host, is_valid_resource, is_valid_scope_token, parse_scope,
    redirect_uri_matches, same_resource, RedirectUriError,
};
pub use authorize::{Approval, AuthorizationRequest, AuthorizeError};
pub use client_cache::CLIENT_CACHE_SECONDS;
pub use clients::ClientAuth;
pub use exchange::TokenResponse;
pub use introspect::{Introspection, TokenKind};
pub use register::{ClientMetadata, RegisteredClient};
pub use verify::AuthInfo;

/// The authorization server (the seed's `SimplyMCPOAuthProvider`).
pub struct Provider<S: Storage> {
    config: Arc<ProviderConfig>,
    storage: S,
    clock: Arc<dyn Clock>,
    scopes: Vec<String>,
    clients: client_cache::ClientCache,
    ended: verify::Ended,
    /// Fetches Client ID Metadata Documents; `None`: URL client ids are
    /// unknown clients, as any unknown id.
    fetcher: Option<Arc<dyn MetadataFetcher>>,
    /// Validated metadata documents within their cache lifetime.
    documents: DocumentCache,
}

/// The seed's `getStats()` of the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderStats {
    /// Registered and configured clients.
    pub clients: u64,
    /// Live access tokens.
    pub tokens: u64,
    /// Live refresh tokens.
    pub refresh_tokens: u64,
    /// Unused authorization codes.
    pub authorization_codes: u64,
}

impl<S: Storage> Provider<S> {
    /// A provider over `storage`; checks the configuration but touches no
    /// storage until [`initialize`](Self::initialize).
    pub fn new(config: ProviderConfig, storage: S) -> Result<Self, ConfigError> {
        config.validate()?;
        let scopes = config.effective_scopes();
        Ok(Self {
            config: Arc::new(config),
            storage,
            clock: Arc::new(SystemClock),
            scopes,
            clients: Default::default(),
            ended: Default::default(),
            fetcher: None,
            documents: Default::default(),
        })
    }

    /// `new` + `initialize` (the seed's `createOAuthProvider`).
    pub async fn create(config: ProviderConfig, storage: S) -> Result<Self, InitError> {
        let provider = Self::new(config, storage)?;
        provider.initialize().await?;
        Ok(provider)
    }

    /// Replaces the clock (tests use [`FakeClock`](crate::clock::FakeClock)).
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Turns on Client ID Metadata Documents
    /// (draft-ietf-oauth-client-id-metadata-document): a `client_id` that is
    /// an https URL is resolved by fetching it with `fetcher`, and the
    /// metadata advertises `client_id_metadata_document_supported`.
    pub fn with_metadata_fetcher(mut self, fetcher: Arc<dyn MetadataFetcher>) -> Self {
        self.fetcher = Some(fetcher);
        self
    }

    /// Whether metadata-document client ids are resolved (a fetcher is set).
    pub fn supports_metadata_documents(&self) -> bool {
        self.fetcher.is_some()
    }

    /// Writes the configured clients to storage. Idempotent and restart-safe:
    /// a client already stored is replaced by its configured form.
    pub async fn initialize(&self) -> Result<(), InitError> {
        for client in &self.config.clients {
            let record = clients::configured_record(client, self.now());
            self.storage.put_client(record.clone()).await?;
            self.clients.put(&record, self.now());
        }
        Ok(())
    }

    /// The configuration.
    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    /// The storage.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// Gives the storage back (a restart in tests, a migration in apps).
    pub fn into_storage(self) -> S {
        self.storage
    }

    /// The scopes the server supports.
    pub fn scopes_supported(&self) -> &[String] {
        &self.scopes
    }

    /// The provider's clock, for what else keeps time beside it (the HTTP
    /// layer's rate limiter).
    pub fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.clock)
    }

    /// Now, by the provider's clock.
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// Counts in the seed's shape.
    pub async fn get_stats(&self) -> Result<ProviderStats, OAuthError> {
        let stats = self.storage.stats(self.now()).await?;
        Ok(ProviderStats {
            clients: stats.client_count,
            tokens: stats.token_count,
            refresh_tokens: stats.refresh_token_count,
            authorization_codes: stats.authorization_code_count,
        })
    }

    /// The storage's health.
    pub async fn health_check(&self) -> HealthCheck {
        self.storage.health().await
    }

    /// Removes expired records now (they are invisible anyway).
    pub async fn sweep(&self) -> Result<u64, OAuthError> {
        Ok(self.storage.sweep(self.now()).await?)
    }
}

/// Why a provider could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// The configuration is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Storage refused the configured clients.
    #[error("could not store the configured clients: {0}")]
    Storage(#[from] StorageError),
}

/// A store's failure as the protocol reports it. Here, not in `error.rs`,
/// because the provider is the layer that knows both.
impl From<StorageError> for OAuthError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::Unavailable(_) => {
                Self::new(ErrorCode::TemporarilyUnavailable, "the token store is unavailable; retry later")
            }
            _ => Self::new(ErrorCode::ServerError, "the token store failed"),
        }
    }
}
