//! What the fuzz targets share: a provider on [`MemoryStorage`], a way to run
//! its futures without a runtime, and the checks every error answer must
//! pass (RFC 6749 §5.2 JSON, never a 5xx).

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::{Request, Response};
use simply_mcp_oauth::cimd::{FetchError, FetchedDocument, MetadataFetcher, MAX_DOCUMENT_BYTES};
use simply_mcp_oauth::crypto::pkce_s256;
use simply_mcp_oauth::http::OAuthHttp;
use simply_mcp_oauth::provider::{Approval, ClientAuth};
use simply_mcp_oauth::uri::Uri;
use simply_mcp_oauth::{ClientConfig, MemoryStorage, Params, Provider, ProviderConfig};

/// The issuer of every target's provider.
pub const ISSUER: &str = "https://auth.example";
/// A confidential client (HTTP Basic or `client_secret_post`).
pub const CONFIDENTIAL_ID: &str = "conf:client";
/// Its secret; `:` and `%` make the Basic encoding non-trivial.
pub const CONFIDENTIAL_SECRET: &str = "s3cr%t:+/ x";
/// A public client (PKCE, `none`).
pub const PUBLIC_ID: &str = "public-client";
/// The redirect URIs of both clients.
pub const REDIRECT_URIS: [&str; 2] = ["https://app.example/callback", "http://127.0.0.1/cb"];

/// Runs a future that never waits: [`MemoryStorage`] answers at once, so
/// every future of the provider is ready on its first polls.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000 {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
    panic!("a future on MemoryStorage did not complete");
}

/// A metadata document fetcher that answers every URL with one document
/// (from the fuzz input, or [`VALID_DOCUMENT`]), `{url}` replaced by the URL
/// asked for, so that URL-shaped client ids reach the document path, as on the
/// demo server and the Worker, which always set a fetcher.
pub struct InputFetcher {
    document: Vec<u8>,
}

impl InputFetcher {
    /// Serves `document` for every URL.
    pub fn new(document: &[u8]) -> Self {
        Self { document: document.to_vec() }
    }
}

#[async_trait::async_trait]
impl MetadataFetcher for InputFetcher {
    async fn fetch(&self, url: &str) -> Result<FetchedDocument, FetchError> {
        if self.document.len() > MAX_DOCUMENT_BYTES {
            return Err(FetchError::TooLarge);
        }
        let body = replace_all(&self.document, b"{url}", url.as_bytes());
        Ok(FetchedDocument { body, cache_control: None, content_type: Some("application/json".into()) })
    }
}

/// A document every URL-shaped client id resolves to: a public client with
/// the first redirect URI.
pub const VALID_DOCUMENT: &[u8] =
    br#"{"client_id":"{url}","client_name":"Fuzz","redirect_uris":["https://app.example/callback"],"token_endpoint_auth_method":"none"}"#;

/// The endpoints of a provider with the two clients and open registration,
/// resolving URL client ids to [`VALID_DOCUMENT`].
pub fn oauth() -> OAuthHttp<MemoryStorage> {
    oauth_fetching(VALID_DOCUMENT, false)
}

/// [`oauth`] with metadata documents answered by `document`, and `http://`
/// loopback documents allowed when `allow_loopback` (the development switch).
pub fn oauth_fetching(document: &[u8], allow_loopback: bool) -> OAuthHttp<MemoryStorage> {
    let client = |id: &str, secret: Option<&str>| ClientConfig {
        client_id: id.into(),
        client_secret: secret.map(str::to_string),
        redirect_uris: REDIRECT_URIS.iter().map(|s| s.to_string()).collect(),
        scopes: vec!["read".into(), "write".into()],
    };
    let config = ProviderConfig {
        clients: vec![client(CONFIDENTIAL_ID, Some(CONFIDENTIAL_SECRET)), client(PUBLIC_ID, None)],
        allow_dynamic_registration: true,
        cimd_allow_loopback: allow_loopback,
        ..ProviderConfig::new(ISSUER)
    };
    let provider = block_on(Provider::create(config, MemoryStorage::new())).expect("a valid configuration");
    OAuthHttp::new(provider.with_metadata_fetcher(Arc::new(InputFetcher::new(document))))
}

/// The PKCE verifier of [`user_code`]'s codes.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// A fresh authorization code a user approved for the public client,
/// redeemable with [`VERIFIER`] at `REDIRECT_URIS[0]`.
pub fn user_code(oauth: &OAuthHttp<MemoryStorage>) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", PUBLIC_ID)
        .append_pair("redirect_uri", REDIRECT_URIS[0])
        .append_pair("code_challenge", &pkce_s256(VERIFIER))
        .append_pair("code_challenge_method", "S256")
        .finish();
    let request = Request::get(format!("{ISSUER}/authorize?{query}")).body(()).unwrap();
    let authorization = block_on(oauth.authorize_request(&request)).unwrap();
    let approval = Approval { subject: "user".into(), ..Approval::default() };
    let location = block_on(oauth.provider().complete_authorization(&authorization, approval)).unwrap();
    let query = Uri::parse(&location).unwrap().query().unwrap().to_string();
    Params::parse(&query).required("code").unwrap().to_string()
}

/// A live access token a user approved for the public client (the resource
/// side refuses tokens without a user unless the route opts in).
pub fn user_access_token(oauth: &OAuthHttp<MemoryStorage>) -> String {
    let code = user_code(oauth);
    let public = ClientAuth::public(PUBLIC_ID);
    let exchange =
        oauth.provider().exchange_authorization_code(&public, &code, REDIRECT_URIS[0], VERIFIER, None);
    block_on(exchange).unwrap().access_token
}

/// `haystack` with every `needle` replaced by `with`.
pub fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(i) = rest.windows(needle.len()).position(|w| w == needle) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(with);
        rest = &rest[i + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// A `POST` to `path` under the issuer with the given headers and body.
pub fn post(path: &str, headers: &[(&str, &[u8])], body: &[u8]) -> Option<Request<Bytes>> {
    let mut builder = Request::post(format!("{ISSUER}{path}"));
    for (name, value) in headers {
        // Bytes a header value cannot hold never reach a server.
        let value = http::HeaderValue::from_bytes(value).ok()?;
        builder = builder.header(*name, value);
    }
    builder.body(Bytes::copy_from_slice(body)).ok()
}

/// Error codes of RFC 6749 §5.2, RFC 6750 §3.1 and RFC 7591 §3.2.2.
pub const ERROR_CODES: [&str; 12] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_target",
    "unsupported_token_type",
    "invalid_redirect_uri",
    "invalid_client_metadata",
    "access_denied",
    "invalid_token",
];

/// Checks an error answer: a 4xx status, never cached, and a JSON object
/// body with a known `error` code and a string `error_description`; a `401`
/// `invalid_client` after HTTP Basic carries a `Basic` challenge.
pub fn assert_oauth_error(response: &Response<Bytes>) -> String {
    let status = response.status();
    assert!(status.is_client_error(), "status {status} for a bad request: {:?}", response.body());
    assert_eq!(response.headers().get("cache-control").map(|v| v.as_bytes()), Some(&b"no-store"[..]));
    let body: serde_json::Value = serde_json::from_slice(response.body()).expect("a JSON error body");
    let code = body["error"].as_str().expect("an error code").to_string();
    assert!(ERROR_CODES.contains(&code.as_str()), "unknown error code {code}");
    assert!(body["error_description"].is_string(), "no error_description: {body}");
    code
}

/// Splits `data` at the first `n - 1` newlines into `n` fields (missing ones
/// are empty), so that seeds are readable text: one field per line, the last
/// one taking the rest.
pub fn fields<const N: usize>(data: &[u8]) -> [&[u8]; N] {
    let mut out = [&data[data.len()..]; N];
    let mut rest = data;
    for slot in out.iter_mut().take(N - 1) {
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                *slot = &rest[..i];
                rest = &rest[i + 1..];
            }
            None => {
                *slot = rest;
                rest = &rest[rest.len()..];
            }
        }
    }
    out[N - 1] = rest;
    out
}
