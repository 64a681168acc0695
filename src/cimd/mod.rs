//! OAuth Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document,
//! expected by MCP authorization 2026-07-28): a `client_id` that is an https
//! URL names a JSON document, fetched from that URL, that describes the client.
//!
//! This module holds what every runtime shares. The fetch itself is the
//! host's ([`MetadataFetcher`]): natively an SSRF-proof HTTP client, in wasm
//! the JS host's `fetch`.

mod fetch;
#[cfg(all(feature = "fetch", not(target_arch = "wasm32")))]
pub mod native;

pub use fetch::{FetchError, FetchedDocument, MetadataFetcher, MAX_DOCUMENT_BYTES};
