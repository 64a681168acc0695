//! What the fuzz targets share: a provider on [`MemoryStorage`], a way to run
//! its futures without a runtime, and the checks every error answer must
//! pass (RFC 6749 §5.2 JSON, never a 5xx).

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::{Request, Response};
use simply_mcp_oauth::http::OAuthHttp;
use simply_mcp_oauth::{ClientConfig, MemoryStorage, Provider, ProviderConfig};

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

/// The endpoints of a provider with the two clients and open registration.
pub fn oauth() -> OAuthHttp<MemoryStorage> {
    let client = |id: &str, secret: Option<&str>| ClientConfig {
        client_id: id.into(),
        client_secret: secret.map(str::to_string),
        redirect_uris: REDIRECT_URIS.iter().map(|s| s.to_string()).collect(),
        scopes: vec!["read".into(), "write".into()],
    };
    let config = ProviderConfig {
        clients: vec![client(CONFIDENTIAL_ID, Some(CONFIDENTIAL_SECRET)), client(PUBLIC_ID, None)],
        allow_dynamic_registration: true,
        ..ProviderConfig::new(ISSUER)
    };
    let provider = block_on(Provider::create(config, MemoryStorage::new())).expect("a valid configuration");
    OAuthHttp::new(provider)
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
