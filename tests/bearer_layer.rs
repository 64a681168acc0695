//! `BearerLayer`: the bearer check as a tower layer in front of plain axum
//! routes. The route reads `AuthInfo` from the request extensions (which
//! only the layer puts there); rejections have the shapes of
//! `BearerGuard::check_request`, and leave the connection usable.
#![cfg(not(target_arch = "wasm32"))]

#[path = "http_endpoints/support.rs"]
#[allow(unused_imports)] // the shared fixtures import more than these tests use
mod support;

use std::sync::atomic::AtomicUsize;

use axum::body::{to_bytes, Body};
use axum::extract::State;
use axum::routing::post;
use axum::{Extension, Json, Router};
use simply_mcp_oauth::provider::AuthInfo;
use simply_mcp_oauth::server::BearerGuard;
use support::*;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tower_service::Service as _;

const METADATA: &str = "https://auth.example.com/.well-known/oauth-protected-resource/mcp";

/// `POST /mcp` answering with the caller's `AuthInfo`, counting its calls.
fn whoami_app(guard: BearerGuard, hits: Arc<AtomicUsize>) -> Router {
    let whoami = move |Extension(auth): Extension<AuthInfo>| async move {
        hits.fetch_add(1, Ordering::SeqCst);
        Json(json!({ "subject": auth.subject, "client": auth.client_id, "scopes": auth.scopes }))
    };
    Router::new().route("/mcp", post(whoami)).layer(guard.layer())
}

/// A full token (`read write`) and a `read`-only one, and the provider.
async fn tokens_and_oauth() -> (String, String, Arc<OAuthHttp<MemoryStorage>>) {
    let env = env().await;
    let (full, _) = env.tokens().await;
    let code = env.code_with(CLIENT, REDIRECT, &[("scope", "read")]).await;
    let read_only = env.exchange(&code).await.json()["access_token"].as_str().unwrap().to_string();
    (full, read_only, Arc::new(env.oauth))
}

async fn call(app: &Router, token: Option<&str>) -> Answer {
    let mut request = http::Request::post("/mcp").header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = app.clone().call(request.body(Body::from("{}")).unwrap()).await.unwrap();
    let (parts, body) = response.into_parts();
    Answer { status: parts.status, headers: parts.headers, body: to_bytes(body, usize::MAX).await.unwrap() }
}

#[tokio::test]
async fn a_route_behind_the_layer_reads_auth_info_from_the_extensions() {
    let (full, _, oauth) = tokens_and_oauth().await;
    let hits = Arc::new(AtomicUsize::new(0));
    let app = whoami_app(BearerGuard::new(oauth).require_scopes(["read"]), hits.clone());
    let answer = call(&app, Some(&full)).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.json(), json!({ "subject": "alice", "client": CLIENT, "scopes": ["read", "write"] }));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn without_the_layer_the_route_has_no_auth_info() {
    // The same route without `.layer(...)`: axum refuses the missing
    // extension, so the test above passes only because of the layer.
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let whoami = move |Extension(_): Extension<AuthInfo>| async move {
        counted.fetch_add(1, Ordering::SeqCst);
    };
    let app = Router::new().route("/mcp", post(whoami));
    let (full, _, _) = tokens_and_oauth().await;
    assert_eq!(call(&app, Some(&full)).await.status, 500);
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_missing_or_dead_token_gets_the_401_challenge_and_never_reaches_the_route() {
    let (_, _, oauth) = tokens_and_oauth().await;
    let hits = Arc::new(AtomicUsize::new(0));
    let app = whoami_app(BearerGuard::new(oauth).require_scopes(["read"]), hits.clone());

    let missing = call(&app, None).await;
    missing.expect_error(401, "invalid_token");
    let expected = format!("Bearer resource_metadata=\"{METADATA}\", scope=\"read\"");
    assert_eq!(missing.header("www-authenticate"), Some(expected.as_str()));

    let dead = call(&app, Some("not-a-token-we-issued")).await;
    dead.expect_error(401, "invalid_token");
    let challenge = dead.header("www-authenticate").unwrap();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains(&format!("resource_metadata=\"{METADATA}\"")), "{challenge}");
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_token_without_the_scope_gets_403_insufficient_scope() {
    let (full, read_only, oauth) = tokens_and_oauth().await;
    let hits = Arc::new(AtomicUsize::new(0));
    let app = whoami_app(BearerGuard::new(oauth).require_scopes(["read", "write"]), hits.clone());
    let refused = call(&app, Some(&read_only)).await;
    refused.expect_error(403, "insufficient_scope");
    let challenge = refused.header("www-authenticate").unwrap();
    assert!(challenge.starts_with(&format!("Bearer resource_metadata=\"{METADATA}\"")), "{challenge}");
    assert!(challenge.contains("error=\"insufficient_scope\""), "{challenge}");
    assert!(challenge.ends_with("scope=\"read write\""), "{challenge}");
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    assert_eq!(call(&app, Some(&full)).await.status, 200);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_store_outage_is_503_with_retry_after() {
    let (env, down) = flaky_env().await;
    let (token, _) = env.tokens().await;
    let hits = Arc::new(AtomicUsize::new(0));
    let app = whoami_app(BearerGuard::new(Arc::new(env.oauth)), hits.clone());
    down.store(true, Ordering::SeqCst);
    let answer = call(&app, Some(&token)).await;
    answer.expect_error(503, "temporarily_unavailable");
    assert_eq!(answer.header("retry-after"), Some("5"));
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    down.store(false, Ordering::SeqCst);
    assert_eq!(call(&app, Some(&token)).await.status, 200);
}

#[tokio::test]
async fn step_up_challenges_for_the_guards_scopes_plus_the_operations() {
    let (full, read_only, oauth) = tokens_and_oauth().await;
    let guard = BearerGuard::new(oauth).require_scopes(["read"]);
    // One operation behind the guard needs `write` too.
    let admin = |State(guard): State<BearerGuard>,
                 Extension(auth): Extension<AuthInfo>,
                 parts: http::request::Parts| async move {
        match guard.step_up(&parts, &auth, &["write"]).await {
            Ok(()) => "done".into_response(),
            Err(challenge) => challenge,
        }
    };
    use axum::response::IntoResponse as _;
    let app = Router::new().route("/mcp", post(admin)).layer(guard.clone().layer()).with_state(guard);
    let refused = call(&app, Some(&read_only)).await;
    refused.expect_error(403, "insufficient_scope");
    let challenge = refused.header("www-authenticate").unwrap();
    assert!(challenge.ends_with("scope=\"read write\""), "{challenge}");
    let allowed = call(&app, Some(&full)).await;
    assert_eq!((allowed.status.as_u16(), &allowed.body[..]), (200, &b"done"[..]));
}

/// One HTTP/1.1 response read off a kept-alive connection: status line and
/// headers (lower-cased), then exactly `Content-Length` bytes of body.
async fn read_response(stream: &mut tokio::net::TcpStream) -> (String, String) {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(stream.read(&mut byte).await.unwrap(), 1, "the connection closed early");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap().to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.unwrap();
    (head, String::from_utf8(body).unwrap())
}

fn raw_post(token: Option<&str>, body: &str) -> String {
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn a_rejection_drains_the_body_so_the_connection_stays_usable() {
    let (full, _, oauth) = tokens_and_oauth().await;
    let app = whoami_app(BearerGuard::new(oauth).require_scopes(["read"]), Arc::new(AtomicUsize::new(0)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    // A rejected request with a body, then the next request on the same
    // connection: what every MCP client's first two requests look like. The
    // body is near the cap, so it is still arriving when the token has been
    // checked.
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let pad = "x".repeat(MAX_BODY_BYTES - 100);
    let body = format!("{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"pad\":\"{pad}\"}}");
    stream.write_all(raw_post(None, &body).as_bytes()).await.unwrap();
    let (head, _) = read_response(&mut stream).await;
    assert!(head.starts_with("http/1.1 401"), "{head}");
    assert!(!head.contains("connection: close"), "{head}");
    stream.write_all(raw_post(Some(&full), "{}").as_bytes()).await.unwrap();
    let (head, answer) = read_response(&mut stream).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(answer.contains("\"subject\":\"alice\""), "{answer}");

    // A body past the cap is not read to the end: the rejection says so.
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let huge = "x".repeat(MAX_BODY_BYTES + 1);
    stream.write_all(raw_post(None, &huge).as_bytes()).await.unwrap();
    let (head, _) = read_response(&mut stream).await;
    assert!(head.starts_with("http/1.1 401"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    server.abort();
}

/// On `main`, a `client_credentials` token (no user, every scope) reached
/// the route behind the layer. Now the layer answers 403 unless the guard
/// opts in with `allow_machine_clients`; the `BearerAuth` extractor (same
/// guard) likewise.
#[tokio::test]
async fn a_token_without_a_user_reaches_only_a_route_that_opts_in() {
    let env = env().await;
    let pairs = [("grant_type", "client_credentials")];
    let machine = env.send(form_basic("/token", &pairs, CLIENT, SECRET)).await.json();
    let machine = machine["access_token"].as_str().unwrap().to_string();
    let (user, _) = env.tokens().await;
    let oauth = Arc::new(env.oauth);

    let hits = Arc::new(AtomicUsize::new(0));
    let users_only = whoami_app(BearerGuard::new(oauth.clone()).require_scopes(["read"]), hits.clone());
    let refused = call(&users_only, Some(&machine)).await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.error(), "insufficient_scope");
    assert!(refused.header("www-authenticate").unwrap().contains("error=\"insufficient_scope\""));
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the route never ran");
    assert_eq!(call(&users_only, Some(&user)).await.status, 200);

    let extractor = |auth: simply_mcp_oauth::server::BearerAuth| async move {
        Json(json!({ "subject": auth.0.subject }))
    };
    let app = Router::new().route("/mcp", post(extractor)).with_state(BearerGuard::new(oauth.clone()));
    assert_eq!(call(&app, Some(&machine)).await.status, 403);

    let machines = BearerGuard::new(oauth).require_scopes(["read"]).allow_machine_clients();
    let opted_in = whoami_app(machines, hits.clone());
    let answer = call(&opted_in, Some(&machine)).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.json()["subject"], Value::Null);
    assert_eq!(call(&opted_in, Some(&user)).await.status, 200, "users still pass");
}
