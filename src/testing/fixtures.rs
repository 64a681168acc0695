//! Records and values the suites build on.

use std::future::Future;
use std::sync::Arc;

use crate::crypto::SecretDigest;
use crate::storage::*;

/// A fixed "now" (Unix seconds) for storage-level tests.
pub const T0: u64 = 1_700_000_000;
/// The resource tokens are bound to.
pub const RESOURCE: &str = "https://mcp.example.com/mcp";
/// A PKCE challenge (RFC 7636 appendix B).
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// The redirect URI of the fixtures.
pub const REDIRECT: &str = "https://app.example.com/cb";

pub fn client(id: &str) -> ClientRecord {
    ClientRecord {
        client_id: id.to_string(),
        secret_digest: Some(SecretDigest::salted(id, "secret")),
        redirect_uris: vec![REDIRECT.to_string()],
        scopes: vec!["read".into(), "write".into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        auth_method: AuthMethod::ClientSecretBasic,
        client_name: Some(format!("Client {id}")),
        origin: ClientOrigin::Registered,
        issued_at: T0,
        expires_at: None,
    }
}

/// A pending grant whose code is `code:<id>`, expiring 600 s after T0.
pub fn pending_grant(id: &str, client_id: &str, subject: &str) -> GrantRecord {
    GrantRecord {
        id: id.to_string(),
        client_id: client_id.to_string(),
        subject: Some(subject.to_string()),
        scopes: vec!["read".into(), "write".into()],
        resource: RESOURCE.to_string(),
        props: Default::default(),
        created_at: T0,
        expires_at: T0 + 600,
        code: Some(PendingCode {
            digest: code_digest(id),
            redirect_uri: REDIRECT.to_string(),
            code_challenge: CHALLENGE.to_string(),
            used: false,
            expires_at: T0 + 600,
        }),
        refresh: None,
        access_tokens: Vec::new(),
    }
}

pub fn code_digest(grant_id: &str) -> SecretDigest {
    SecretDigest::of(&format!("code:{grant_id}"))
}

pub fn digest(label: &str) -> SecretDigest {
    SecretDigest::of(label)
}

pub fn expectation(client_id: &str) -> CodeExpectation {
    CodeExpectation {
        client_id: client_id.to_string(),
        redirect_uri: REDIRECT.to_string(),
        code_challenge: CHALLENGE.to_string(),
        resource: None,
    }
}

/// Tokens `at:<label>` (access, 3600 s) and `rt:<label>` (refresh, 86400 s).
pub fn redemption(label: &str, now: u64) -> Redemption {
    Redemption {
        access_digest: digest(&format!("at:{label}")),
        access_expires_at: now + 3600,
        refresh: Some(digest(&format!("rt:{label}"))),
        grant_expires_at: now + 86_400,
    }
}

/// The refresh grace period of [`rotation`]: the provider's default.
pub const GRACE: u64 = crate::config::DEFAULT_REFRESH_GRACE;

/// A rotation to `rt:<label>` with access token `at:<label>`, with a grace of [`GRACE`].
pub fn rotation(label: &str, now: u64) -> Rotation {
    Rotation {
        successor: digest(&format!("rt:{label}")),
        salt: format!("salt:{label}"),
        access_digest: digest(&format!("at:{label}")),
        access_expires_at: now + 3600,
        grant_expires_at: now + 86_400,
        scopes: None,
        resource: None,
        grace_seconds: GRACE,
    }
}

/// Stores client `c1` and a grant `g1` whose code is redeemed with tokens `first`.
pub async fn redeemed<S: Storage>(storage: &S) -> GrantRecord {
    storage.put_client(client("c1")).await.unwrap();
    storage.put_grant(pending_grant("g1", "c1", "alice"), None, T0).await.unwrap();
    match storage
        .consume_code("g1", &code_digest("g1"), &expectation("c1"), redemption("first", T0), T0)
        .await
        .unwrap()
    {
        CodeOutcome::Redeemed(grant, _) => grant,
        other => panic!("expected a redemption, got {other:?}"),
    }
}

/// Runs `n` copies of `task` at once: on separate runtime threads natively,
/// interleaved on the one JS thread in wasm.
pub async fn concurrently<S, F, Fut, T>(storage: Arc<S>, n: usize, task: F) -> Vec<T>
where
    S: Storage + 'static,
    F: Fn(Arc<S>, usize) -> Fut,
    Fut: Future<Output = T> + SendIfNative + 'static,
    T: SendIfNative + 'static,
{
    let futures = (0..n).map(|i| task(storage.clone(), i));
    #[cfg(not(target_arch = "wasm32"))]
    {
        let handles: Vec<_> = futures.map(tokio::spawn).collect();
        let mut out = Vec::with_capacity(n);
        for handle in handles {
            out.push(handle.await.expect("task panicked"));
        }
        out
    }
    #[cfg(target_arch = "wasm32")]
    {
        futures::future::join_all(futures).await
    }
}

/// `Send` natively, where tasks run on several threads; nothing in wasm.
#[cfg(not(target_arch = "wasm32"))]
pub trait SendIfNative: Send {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send> SendIfNative for T {}
/// `Send` natively, where tasks run on several threads; nothing in wasm.
#[cfg(target_arch = "wasm32")]
pub trait SendIfNative {}
#[cfg(target_arch = "wasm32")]
impl<T> SendIfNative for T {}
