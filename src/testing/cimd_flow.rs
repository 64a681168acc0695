//! A Client ID Metadata Document client on every backend: its grants are
//! stored like any other (the grant holds the client_id URL), and its client
//! record is never stored. The fetcher is a canned in-memory one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::cimd::{FetchError, FetchedDocument, MetadataFetcher};
use crate::provider::ClientAuth;
use crate::{ErrorCode, Storage};

use super::flows::{authorize, config, provider_with, VERIFIER};

const URL: &str = "https://client.example/oauth/client.json";
const REDIRECT: &str = "https://client.example/cb";

/// Serves one document for [`URL`] and counts its calls.
#[derive(Default)]
struct Canned {
    calls: AtomicUsize,
}

#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
impl MetadataFetcher for Canned {
    async fn fetch(&self, url: &str) -> Result<FetchedDocument, FetchError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if url != URL {
            return Err(FetchError::Status(404));
        }
        let body = format!(r#"{{"client_id":"{URL}","client_name":"CIMD","redirect_uris":["{REDIRECT}"]}}"#);
        Ok(FetchedDocument {
            body: body.into_bytes(),
            cache_control: Some("max-age=3600".into()),
            content_type: None,
        })
    }
}

/// A metadata-document client through authorize, exchange, refresh and
/// revocation: stored like any other, its document fetched once.
pub async fn flow_metadata_document_client<S: Storage>(s: S) {
    let fetcher = Arc::new(Canned::default());
    let (p, _) = provider_with(s, config()).await;
    let p = p.with_metadata_fetcher(fetcher.clone());
    let code = authorize(&p, URL, REDIRECT, &[]).await;
    let public = ClientAuth::public(URL);
    let t = p.exchange_authorization_code(&public, &code, REDIRECT, VERIFIER, None).await.unwrap();
    assert_eq!(p.verify_access_token(&t.access_token).await.unwrap().client_id, URL);
    let refreshed =
        p.exchange_refresh_token(&public, t.refresh_token.as_deref().unwrap(), None, None).await.unwrap();
    p.verify_access_token(&refreshed.access_token).await.unwrap();
    let grants = p.list_grants("alice").await.unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].client_id, URL, "the grant holds the client_id URL");
    assert_eq!(p.get_client(URL).await.unwrap(), None, "the client is not stored");
    assert_eq!(fetcher.calls.load(Ordering::SeqCst), 1, "one fetch, then the cache");
    let secret = ClientAuth::post(URL, "guess");
    let refused = p.exchange_refresh_token(&secret, refreshed.refresh_token.as_deref().unwrap(), None, None);
    assert_eq!(refused.await.unwrap_err().code, ErrorCode::InvalidClient);
    p.revoke(&public, refreshed.refresh_token.as_deref().unwrap()).await.unwrap();
    assert!(p.verify_access_token(&refreshed.access_token).await.is_err(), "revocation works as for others");
}
