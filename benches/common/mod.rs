//! What both benchmarks (`ops`, the table's harness, and `criterion`) run:
//! a provider on any store, the OAuth steps through its API, and where Redis
//! is.
#![allow(dead_code)] // each bench uses its own part

use std::sync::Arc;

use simply_mcp_oauth::crypto::pkce_s256;
use simply_mcp_oauth::provider::{Approval, ClientAuth, ClientMetadata};
use simply_mcp_oauth::{ClientConfig, Params, Provider, ProviderConfig, Storage};
use tokio::runtime::Runtime;

#[cfg(feature = "redis")]
#[path = "../../tests/common/redis_server.rs"]
mod redis_server;

pub const REDIRECT: &str = "http://127.0.0.1/callback";
pub const VERIFIER: &str = "bench-code-verifier-0123456789abcdefghijklmnopqrstuvwxyz";
pub const CLIENT: &str = "bench";

/// A provider on any store, shared by the tasks of a concurrent run.
pub type Bench = Arc<Provider<Arc<dyn Storage>>>;

/// A provider with one public client, `CLIENT`, on `storage`.
pub async fn provider(storage: Arc<dyn Storage>) -> Bench {
    let config = ProviderConfig {
        clients: vec![ClientConfig {
            client_id: CLIENT.into(),
            client_secret: None,
            redirect_uris: vec![REDIRECT.into()],
            scopes: vec!["mcp".into()],
        }],
        ..ProviderConfig::new("http://127.0.0.1:8080")
    };
    Arc::new(Provider::create(config, storage).await.expect("provider"))
}

/// `/authorize` parsed and approved: the code.
pub async fn authorize(p: &Bench, client_id: &str) -> String {
    let challenge = pkce_s256(VERIFIER);
    let params = Params::from_pairs([
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("scope", "mcp"),
    ]);
    let request = p.parse_authorization(&params).await.expect("authorization request");
    let approval = Approval { subject: "bench-user".into(), ..Default::default() };
    let location = p.complete_authorization(&request, approval).await.expect("approval");
    // Codes are `<base64url>.<base64url>`: nothing to percent-decode.
    let query = location.split_once('?').map_or("", |(_, q)| q);
    query.split('&').find_map(|pair| pair.strip_prefix("code=")).expect("a code").to_string()
}

/// A code exchanged: `(access token, refresh token)`.
pub async fn exchange(p: &Bench, client_id: &str, code: &str) -> (String, String) {
    let t = p
        .exchange_authorization_code(&ClientAuth::public(client_id), code, REDIRECT, VERIFIER, None)
        .await
        .expect("tokens");
    (t.access_token, t.refresh_token.expect("a refresh token"))
}

/// A refresh token rotated: `(access token, successor)`.
pub async fn refresh(p: &Bench, client_id: &str, token: &str) -> (String, String) {
    let t =
        p.exchange_refresh_token(&ClientAuth::public(client_id), token, None, None).await.expect("refresh");
    (t.access_token, t.refresh_token.expect("a successor"))
}

/// An access token verified (panics if it is not live).
pub async fn verify(p: &Bench, token: &str) {
    p.verify_access_token(token).await.expect("verify");
}

/// What a public MCP client registers (RFC 7591).
pub fn public_metadata() -> ClientMetadata {
    ClientMetadata {
        redirect_uris: vec![REDIRECT.into()],
        token_endpoint_auth_method: Some("none".into()),
        ..Default::default()
    }
}

/// register -> authorize -> exchange -> verify -> refresh -> revoke.
pub async fn full_flow(p: &Bench) {
    let client = p.register_client(public_metadata()).await.expect("registration");
    let code = authorize(p, &client.client_id).await;
    let (access, refresh_token) = exchange(p, &client.client_id, &code).await;
    verify(p, &access).await;
    let (_, successor) = refresh(p, &client.client_id, &refresh_token).await;
    p.revoke(&ClientAuth::public(&client.client_id), &successor).await.expect("revoke");
}

/// A new code of `CLIENT`, for an exchange to time.
pub async fn fresh_code(p: &Bench) -> String {
    authorize(p, CLIENT).await
}

/// A new live access token of `CLIENT`, for verifies to time.
pub async fn fresh_access(p: &Bench) -> String {
    exchange(p, CLIENT, &fresh_code(p).await).await.0
}

/// `n` inputs made one after another, before anything is timed.
pub async fn inputs<T>(n: usize, mut make: impl AsyncFnMut() -> T) -> Vec<T> {
    let mut made = Vec::with_capacity(n);
    for _ in 0..n {
        made.push(make().await);
    }
    made
}

/// A new refresh token of `CLIENT`, for a refresh to time.
pub async fn fresh_refresh(p: &Bench) -> String {
    let code = authorize(p, CLIENT).await;
    exchange(p, CLIENT, &code).await.1
}

/// One thread: every figure is per core.
pub fn single_thread() -> Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime")
}

/// The Redis server to measure: `REDIS_URL`, else one of our own on a free
/// loopback port (kept alive by the first value), else none.
#[cfg(feature = "redis")]
pub fn redis_target() -> Option<(Option<redis_server::RedisServer>, String)> {
    if let Ok(url) = std::env::var("REDIS_URL") {
        return Some((None, url));
    }
    if std::process::Command::new("redis-server").arg("--version").output().is_err() {
        eprintln!("redis-server is not on PATH and REDIS_URL is unset: Redis rows skipped");
        return None;
    }
    let server = redis_server::RedisServer::start();
    let url = server.url();
    Some((Some(server), url))
}
