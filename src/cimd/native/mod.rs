//! [`SafeFetcher`]: the native [`MetadataFetcher`], an HTTP client that
//! cannot be pointed at the server's own network (SSRF).
//!
//! # Why reqwest with a filtering resolver
//!
//! The SSRF check must hold on the address actually connected to, not on an
//! earlier lookup that a DNS rebinding answer can contradict. reqwest's
//! `dns_resolver` hook gives exactly that: the client connects only to the
//! addresses its resolver returns, so a resolver that returns only public
//! addresses ([`is_public`]) is the check, with nothing to race. Writing a
//! hyper-util connector that inspects each socket's peer would check the
//! same thing with more of our own code (TLS setup, connection pooling,
//! timeouts, body limits) to get wrong; reqwest is widely used, maintained
//! by hyper's author, and built on the hyper, hyper-util and tower the axum
//! server already depends on, so it adds little besides rustls. It is
//! configured lean: HTTP/1 only, rustls with the webpki roots (ring), no
//! cookies, no decompression, no proxies (an environment proxy would be
//! connected to instead of the checked address), no redirects.
//!
//! Hosts written as IP addresses never reach the resolver, so they are
//! refused from the URL's text first (see `cimd/target.rs`, shared with
//! wasm: every numeric spelling, including the ones WHATWG parsers turn into
//! IPv4 addresses).
//!
//! # The development switch
//!
//! [`FetchOptions::allow_loopback`] lets a demo or a test serve documents on
//! the same machine: http and https to `localhost`, `127.0.0.0/8` and `[::1]`
//! are then allowed, and loopback addresses are accepted from the resolver.
//! Nothing else is: private and link-local addresses stay refused, and http
//! stays refused for every other host.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use simply_mcp_oauth::cimd::native::{FetchOptions, SafeFetcher};
//! use simply_mcp_oauth::cimd::MetadataFetcher;
//!
//! let fetcher = SafeFetcher::new(FetchOptions::default())?;
//! let document = fetcher.fetch("https://app.example/oauth/client.json").await?;
//! # let _ = document;
//! # Ok(())
//! # }
//! ```

mod ip;
mod resolve;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};

pub use ip::is_public;
pub use resolve::{FnLookup, Lookup, SystemLookup};

use super::{target, FetchError, FetchedDocument, MetadataFetcher, MAX_DOCUMENT_BYTES};

/// The environment variable naming an extra CA certificate (PEM) for the
/// demo server, for https documents served on loopback with a test CA.
pub const CA_FILE_ENV: &str = "SIMPLY_MCP_OAUTH_CIMD_CA_FILE";

/// The default time limit for one whole fetch: lookup, connect, TLS, body.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// How a [`SafeFetcher`] is set up.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Development only: also allow http and https to loopback hosts.
    pub allow_loopback: bool,
    /// PEM certificates trusted besides the webpki roots.
    pub extra_ca_pem: Option<Vec<u8>>,
    /// The limit for one whole fetch; at most [`DEFAULT_TIMEOUT`] in use.
    pub timeout: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self { allow_loopback: false, extra_ca_pem: None, timeout: DEFAULT_TIMEOUT }
    }
}

impl FetchOptions {
    /// The defaults with `allow_loopback`, and the CA file named by
    /// [`CA_FILE_ENV`] if that is set.
    pub fn from_env(allow_loopback: bool) -> std::io::Result<Self> {
        let extra_ca_pem = match std::env::var_os(CA_FILE_ENV) {
            Some(path) if !path.is_empty() => Some(std::fs::read(path)?),
            _ => None,
        };
        Ok(Self { allow_loopback, extra_ca_pem, ..Self::default() })
    }
}

/// The client could not be built (a malformed extra CA certificate).
#[derive(Debug, thiserror::Error)]
#[error("the metadata fetcher could not be set up: {0}")]
pub struct BuildError(String);

/// The SSRF-safe metadata-document fetcher; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct SafeFetcher {
    client: reqwest::Client,
    allow_loopback: bool,
    timeout: Duration,
}

impl SafeFetcher {
    /// A fetcher resolving names with the system resolver.
    pub fn new(options: FetchOptions) -> Result<Self, BuildError> {
        Self::with_lookup(options, Arc::new(SystemLookup))
    }

    /// A fetcher resolving names with `lookup` (whose answers are filtered
    /// all the same): for tests that must not send traffic.
    pub fn with_lookup(options: FetchOptions, lookup: Arc<dyn Lookup>) -> Result<Self, BuildError> {
        let timeout = options.timeout.min(DEFAULT_TIMEOUT);
        let resolver = resolve::Guarded { lookup, allow_loopback: options.allow_loopback };
        let mut builder = reqwest::Client::builder()
            .dns_resolver(Arc::new(resolver))
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .https_only(!options.allow_loopback)
            .http1_only()
            .timeout(timeout)
            .user_agent(concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &options.extra_ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| BuildError(e.to_string()))?;
            if certs.is_empty() {
                return Err(BuildError("the extra CA file holds no certificate".into()));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder.build().map_err(|e| BuildError(e.to_string()))?;
        Ok(Self { client, allow_loopback: options.allow_loopback, timeout })
    }

    async fn fetch_within_limits(&self, url: &str) -> Result<FetchedDocument, FetchError> {
        // The client's own (WHATWG) reading of the URL, checked once more: an
        // address it finds in the host is connected to without the resolver.
        let parsed = reqwest::Url::parse(url).map_err(|e| FetchError::Refused(e.to_string()))?;
        // `host_str` writes an address as a dotted quad or in brackets.
        let host = parsed.host_str().unwrap_or_default();
        let literal = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>();
        let host_ok = match literal {
            Ok(ip) => self.allow_loopback && ip.is_loopback(),
            Err(_) => !host.is_empty() && !target::is_numeric_name(host),
        };
        if !host_ok {
            return Err(FetchError::Refused("the host is not a name this server fetches".into()));
        }
        let mut response =
            self.client.get(parsed).header(ACCEPT, "application/json").send().await.map_err(client_error)?;
        let status = response.status().as_u16();
        if (300..400).contains(&status) {
            return Err(FetchError::Redirected(status));
        }
        if status != 200 {
            return Err(FetchError::Status(status));
        }
        // A declared length over the limit fails before any body is read;
        // the count below holds for chunked bodies and lying headers.
        if response.content_length().is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64) {
            return Err(FetchError::TooLarge);
        }
        let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (cache_control, content_type) = (header(CACHE_CONTROL), header(CONTENT_TYPE));
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(client_error)? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(FetchedDocument { body, cache_control, content_type })
    }
}

#[async_trait::async_trait]
impl MetadataFetcher for SafeFetcher {
    async fn fetch(&self, url: &str) -> Result<FetchedDocument, FetchError> {
        target::check(url, self.allow_loopback)?;
        // One limit over everything, lookup included: reqwest's own timeout
        // (set too) starts only once a connection is being made.
        match tokio::time::timeout(self.timeout, self.fetch_within_limits(url)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout),
        }
    }
}

/// Maps a client error, recognising a refusal by the resolver in its chain.
fn client_error(error: reqwest::Error) -> FetchError {
    if error.is_timeout() {
        return FetchError::Timeout;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<resolve::RefusedHost>() {
            return FetchError::Refused(refused.to_string());
        }
        source = cause.source();
    }
    // reqwest's Display stops at its own layer; the causes say what failed.
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    FetchError::Network(text)
}
