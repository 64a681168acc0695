//! # simply-mcp-oauth
//!
//! An OAuth 2.1 authorization server for MCP (Model Context Protocol) servers,
//! for native servers and for WebAssembly on edge runtimes.
//!
//! Layers, top to bottom (each knows only the one below):
//! - [`http`]: framework-agnostic `http::Request` → `http::Response` endpoints.
//! - [`provider`]: the OAuth state machine ([`Provider`]).
//! - [`storage`]: the [`Storage`] contract and its backends ([`MemoryStorage`]).
//!
//! ```
//! use simply_mcp_oauth::{http::OAuthHttp, ClientConfig, MemoryStorage, Provider, ProviderConfig};
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #   use std::task::{Context, Poll, Waker}; let mut f = std::pin::pin!(f);
//! #   let mut cx = Context::from_waker(Waker::noop());
//! #   loop { if let Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } } }
//! # block_on(async {
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
//! let oauth = OAuthHttp::new(provider);
//! let request = http::Request::get("https://auth.example.com/.well-known/oauth-authorization-server")
//!     .body(bytes::Bytes::new())
//!     .unwrap();
//! let response = oauth.handle(request).await;
//! assert_eq!(response.status(), 200);
//! # });
//! ```
// wasm-bindgen's generated glue needs `unsafe`; everything else forbids it.
#![cfg_attr(not(target_arch = "wasm32"), forbid(unsafe_code))]
#![cfg_attr(target_arch = "wasm32", deny(unsafe_code))]
#![deny(missing_docs)]

pub mod audit;
pub mod cimd;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod error;
pub mod http;
pub mod params;
pub mod provider;
pub mod storage;
pub mod uri;
pub mod validate;

#[cfg(all(feature = "server", not(target_arch = "wasm32")))]
pub mod server;

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
pub mod wasm;

#[cfg(feature = "testing")]
pub mod testing;

pub use config::{ClientConfig, ConfigError, ProviderConfig};
pub use error::{ErrorCode, OAuthError};
pub use params::Params;
pub use provider::Provider;
pub use storage::{MemoryStorage, Storage, StorageError};
