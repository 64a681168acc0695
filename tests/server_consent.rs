//! The demo's consent form in this process, on a fake clock: what an attacker
//! could do with it (a stale or replayed form, a way around the `/authorize`
//! limit, a cookie planted by a sibling host, a redirect dressed up as a
//! bank), and that a user's Deny still reaches the client.

mod e2e;

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::json;
use simply_mcp_oauth::clock::FakeClock;
use simply_mcp_oauth::config::{RateLimit, RateLimits};
use simply_mcp_oauth::crypto::pkce_s256;
use simply_mcp_oauth::http::OAuthHttp;
use simply_mcp_oauth::server::demo::demo_router;
use simply_mcp_oauth::server::metrics::Metrics;
use simply_mcp_oauth::{MemoryStorage, Provider, ProviderConfig};

use e2e::*;

const START: u64 = 1_700_000_000;

/// The demo app for `issuer` (served over plain HTTP on loopback whatever
/// its scheme), with `limits`, on a fake clock; its address and the clock.
async fn serve(issuer: Option<&str>, limits: RateLimits) -> (String, FakeClock) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let issuer = issuer.map_or_else(|| format!("http://{addr}"), str::to_string);
    let config = ProviderConfig { rate_limits: limits, ..ProviderConfig::new(issuer) };
    let clock = FakeClock::at(START);
    let provider = Provider::new(config, MemoryStorage::new()).unwrap().with_clock(clock.clone());
    provider.initialize().await.unwrap();
    let app = demo_router(Arc::new(OAuthHttp::new(provider)), Arc::new(Metrics::new())).unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    (addr, clock)
}

/// A blocking request off the runtime's threads.
async fn send(
    addr: &str,
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: String,
) -> Response {
    let addr = addr.to_string();
    tokio::task::spawn_blocking(move || {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        request(&addr, method, &path, &headers, body.as_bytes())
    })
    .await
    .unwrap()
}

async fn register(addr: &str, redirect_uri: &str) -> String {
    let body = json!({"redirect_uris": [redirect_uri], "token_endpoint_auth_method": "none"}).to_string();
    let headers = vec![("Content-Type", "application/json".to_string())];
    let answer = send(addr, "POST", "/register".into(), headers, body).await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    answer.json()["client_id"].as_str().unwrap().to_string()
}

/// `GET /authorize`: the page, the `Set-Cookie` value, and the form's fields.
async fn consent(
    addr: &str,
    client_id: &str,
    redirect_uri: &str,
) -> (Response, String, Vec<(String, String)>) {
    let query = form(&[
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("state", "s1"),
        ("code_challenge", &pkce_s256(VERIFIER)),
        ("code_challenge_method", "S256"),
    ]);
    let page = send(addr, "GET", format!("/authorize?{query}"), vec![], String::new()).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let set_cookie = page.header("set-cookie").expect("the CSRF cookie").to_string();
    let fields = hidden_fields(&page.text());
    (page, set_cookie, fields)
}

async fn decide(addr: &str, set_cookie: &str, fields: &[(String, String)], action: &str) -> Response {
    let mut pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    pairs.push(("action", action));
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let headers = vec![("Content-Type", "application/x-www-form-urlencoded".to_string()), ("Cookie", cookie)];
    send(addr, "POST", "/authorize".into(), headers, form(&pairs)).await
}

/// The form `POST` is an authorization request too: it must not be a way
/// around the `/authorize` per-address limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consent_post_counts_against_the_authorize_limit() {
    let (addr, _) =
        serve(None, RateLimits { authorize_per_ip: Some(RateLimit::per(1, 900)), ..RateLimits::off() }).await;
    let client_id = register(&addr, REDIRECT_URI).await;
    let (_, set_cookie, fields) = consent(&addr, &client_id, REDIRECT_URI).await;
    let refused = decide(&addr, &set_cookie, &fields, "approve").await;
    assert_eq!(refused.status, 429, "{}", refused.text());
    assert_eq!(refused.header("location"), None);
    assert!(refused.header("retry-after").is_some());
}

/// A consent form left open, or a token that leaked, stops working after
/// 10 minutes; before that it works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consent_form_expires_within_ten_minutes() {
    let (addr, clock) = serve(None, RateLimits::off()).await;
    let client_id = register(&addr, REDIRECT_URI).await;
    let (_, set_cookie, fields) = consent(&addr, &client_id, REDIRECT_URI).await;
    clock.advance(600);
    let stale = decide(&addr, &set_cookie, &fields, "approve").await;
    assert_eq!(stale.status, 400, "{}", stale.text());
    assert_eq!(stale.header("location"), None);
    let (_, set_cookie, fields) = consent(&addr, &client_id, REDIRECT_URI).await;
    clock.advance(599);
    let fresh = decide(&addr, &set_cookie, &fields, "approve").await;
    assert_eq!(fresh.status, 303, "{}", fresh.text());
}

/// Over `https`, a `__Host-` cookie: `Secure`, `Path=/`, no `Domain`, so no
/// sibling host can plant a nonce of its choosing. The form works with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_the_csrf_cookie_is_host_prefixed() {
    let (addr, _) = serve(Some("https://auth.example"), RateLimits::off()).await;
    let client_id = register(&addr, REDIRECT_URI).await;
    let (_, set_cookie, fields) = consent(&addr, &client_id, REDIRECT_URI).await;
    assert!(set_cookie.starts_with(&format!("__Host-{CSRF_COOKIE}=")), "{set_cookie}");
    let attributes: Vec<&str> = set_cookie.split(';').map(str::trim).collect();
    assert!(attributes.contains(&"Secure") && attributes.contains(&"Path=/"), "{set_cookie}");
    assert!(!set_cookie.to_ascii_lowercase().contains("domain="), "{set_cookie}");
    let approved = decide(&addr, &set_cookie, &fields, "approve").await;
    assert_eq!(approved.status, 303, "{}", approved.text());
    // The unprefixed name, which any sibling host could set, is not read.
    let plain = set_cookie.trim_start_matches("__Host-").to_string();
    let (_, _, fields) = consent(&addr, &client_id, REDIRECT_URI).await;
    assert_eq!(decide(&addr, &plain, &fields, "approve").await.status, 400);
}

/// `com.evil.app://accounts.bank.example/cb` goes to whichever app claims
/// `com.evil.app`: the page names that scheme, never the bank.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_use_redirect_is_shown_as_its_scheme() {
    let (addr, _) = serve(None, RateLimits::off()).await;
    let redirect_uri = "com.evil.app://accounts.bank.example/cb";
    let client_id = register(&addr, redirect_uri).await;
    let (page, _, _) = consent(&addr, &client_id, redirect_uri).await;
    let html = page.text();
    let target = html.split("class=\"target\"").nth(1).unwrap().split("</p>").next().unwrap();
    assert!(target.contains("com.evil.app"), "{target}");
    assert!(!target.contains("accounts.bank.example"), "{target}");
}

/// The user clicked Deny: their act, so `access_denied` goes to a registered
/// client's redirect URI (errors before any click do not).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_still_redirects_for_a_registered_client() {
    let (addr, _) = serve(None, RateLimits::off()).await;
    let client_id = register(&addr, REDIRECT_URI).await;
    let (_, set_cookie, fields) = consent(&addr, &client_id, REDIRECT_URI).await;
    let denied = decide(&addr, &set_cookie, &fields, "deny").await;
    assert_eq!(denied.status, 303, "{}", denied.text());
    let (url, pairs) = location_params(&denied);
    assert!(url.as_str().starts_with(REDIRECT_URI), "{url}");
    assert_eq!(param(&pairs, "error"), Some("access_denied"));
    // Before any click, an error for the same client is a page, not a redirect.
    let query =
        form(&[("response_type", "token"), ("client_id", &client_id), ("redirect_uri", REDIRECT_URI)]);
    let early = send(&addr, "GET", format!("/authorize?{query}"), vec![], String::new()).await;
    assert_eq!((early.status, early.header("location")), (400, None));
    assert!(early.text().contains("unsupported_response_type"));
}
