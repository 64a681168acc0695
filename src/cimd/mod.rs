//! OAuth Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document,
//! expected by MCP authorization 2026-07-28): a `client_id` that is an https
//! URL names a JSON document, fetched from that URL, that describes the client.
//!
//! This module holds what every runtime shares: the URL rules ([`url`]), the
//! document's validation ([`document`]), the cache ([`cache`]) and
//! [`resolve`], which chains them. The fetch itself is the host's
//! ([`MetadataFetcher`]): natively an SSRF-proof HTTP client, in wasm the JS
//! host's `fetch`.

pub mod cache;
pub mod document;
mod fetch;
#[cfg(all(feature = "fetch", not(target_arch = "wasm32")))]
pub mod native;
mod slots;
mod target;
pub mod url;

pub use cache::DocumentCache;
pub use document::{parse_document, DocumentError};
pub use fetch::{FetchError, FetchedDocument, MetadataFetcher, MAX_DOCUMENT_BYTES};
pub use url::{check_metadata_url, is_metadata_client_id, UrlError};

use std::sync::Arc;

use crate::clock::UnixTime;
use crate::storage::ClientRecord;

/// Why a metadata-document client could not be resolved. The message is the
/// error description the client (or the user, at `/authorize`) sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CimdError {
    /// The `client_id` URL breaks the URL rules.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// The fetch failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The document is invalid. Shared: the cache hands the same failure to
    /// every request for the URL, and a shared error clones in one step.
    #[error(transparent)]
    Document(Arc<DocumentError>),
}

impl From<DocumentError> for CimdError {
    fn from(error: DocumentError) -> Self {
        Self::Document(Arc::new(error))
    }
}

/// The client named by the metadata URL `url`: from `cache` while fresh,
/// otherwise fetched, validated and (unless `no-store`) cached. A host
/// written as an IP address is refused before any fetcher sees it. A fetch
/// or document that failed is remembered for [`cache::FAILURE_SECONDS`]
/// (client ids are attacker-chosen: a URL that fails costs one fetch a
/// minute, not one per request), and fetches in flight are bounded per host
/// and in total (`slots.rs`).
pub async fn resolve(
    fetcher: &dyn MetadataFetcher,
    cache: &DocumentCache,
    url: &str,
    allow_loopback: bool,
    supported_scopes: &[String],
    now: impl Fn() -> UnixTime,
) -> Result<ClientRecord, CimdError> {
    check_metadata_url(url, allow_loopback)?;
    target::check(url, allow_loopback)?;
    if let Some(client) = cache.get(url, now()) {
        return Ok(client);
    }
    if let Some(error) = cache.failure(url, now()) {
        return Err(error);
    }
    let slot = cache.slots.take(url)?;
    let fetched = fetcher.fetch(url).await;
    drop(slot);
    // The clock is read again: the fetch may have taken seconds.
    let now = now();
    let client = fetched
        .map_err(CimdError::from)
        .and_then(|fetched| Ok((parse_document(url, &fetched.body, supported_scopes, now)?, fetched)));
    match client {
        Ok((client, fetched)) => {
            if let Some(seconds) = cache::lifetime(fetched.cache_control.as_deref()) {
                cache.put(client.clone(), seconds, now);
            }
            Ok(client)
        }
        Err(error) => {
            cache.remember_failure(url, &error, now);
            Err(error)
        }
    }
}
