//! [`MetadataFetcher`]: how the provider gets a client's metadata document.
//! Implementations enforce the fetch rules; the provider validates the body.

use crate::storage::MaybeSend;

/// The largest document accepted, in bytes; enforced while reading.
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024;

/// A document as fetched: a 200 response's body and its caching headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedDocument {
    /// The body, at most [`MAX_DOCUMENT_BYTES`].
    pub body: Vec<u8>,
    /// The `Cache-Control` header, if any.
    pub cache_control: Option<String>,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
}

/// Why a document could not be fetched. Each says what was wrong, for the
/// error description the client sees; each but [`Busy`](Self::Busy) is
/// remembered for a minute ([`super::cache::FAILURE_SECONDS`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The URL's host resolves to (or is) an address that must not be reached:
    /// loopback, private, link-local, and every other special-use range.
    #[error("the metadata URL's host is not a public address: {0}")]
    Refused(String),
    /// The server answered with a redirect; redirects are never followed.
    #[error("the metadata URL redirected (status {0}); redirects are not followed")]
    Redirected(u16),
    /// The server answered with a status other than 200.
    #[error("the metadata URL answered status {0}, not 200")]
    Status(u16),
    /// The body was larger than [`MAX_DOCUMENT_BYTES`].
    #[error("the metadata document is larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge,
    /// The fetch took longer than its time limit.
    #[error("fetching the metadata document timed out")]
    Timeout,
    /// Anything else: DNS, TLS, connection, a host callback that threw.
    #[error("the metadata document could not be fetched: {0}")]
    Network(String),
    /// Not fetched: as many fetches as allowed are in flight, to this host or
    /// in total (`cimd::slots`). Retryable.
    #[error("too many metadata documents are being fetched; try again shortly")]
    Busy,
}

/// Fetches a client's metadata document. Rules every implementation keeps:
/// https only (or http on loopback when a development switch allows it);
/// connect only to public addresses, checked on the address actually
/// connected to; no redirects; only a 200; at most [`MAX_DOCUMENT_BYTES`],
/// counted while reading; the whole fetch within 5 s.
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
pub trait MetadataFetcher: MaybeSend {
    /// Fetches `url` (already checked against the URL rules).
    async fn fetch(&self, url: &str) -> Result<FetchedDocument, FetchError>;
}
