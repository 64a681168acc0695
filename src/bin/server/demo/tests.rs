//! The demo app in this process, on a fake clock: what an attacker could do
//! with the consent form (a stale or replayed form, a way around the
//! `/authorize` limit, a cookie planted by a sibling host, a redirect dressed
//! up as a bank), and that a user's Deny still reaches the client.
//!
//! Requests go straight to the router, from one client address put where
//! `axum::serve(…into_make_service_with_connect_info::<SocketAddr>())` puts
//! it (`ConnectInfo`), so the per-IP limits apply as they do in the binary.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use http::{HeaderMap, Request};
use http_body_util::BodyExt as _;
use serde_json::{json, Value};
use simply_mcp_oauth::clock::FakeClock;
use simply_mcp_oauth::config::{RateLimit, RateLimits};
use simply_mcp_oauth::crypto::pkce_s256;
use simply_mcp_oauth::http::OAuthHttp;
use simply_mcp_oauth::server::metrics::Metrics;
use simply_mcp_oauth::{MemoryStorage, Provider, ProviderConfig};
use tower_service::Service as _;

use super::{demo_app, OpsAccess};

/// The test browser's consent-page parser, shared with the end-to-end tests
/// and the rmcp client (std only, so the binary's tests can include it).
#[path = "../../../../tests/e2e/consent_page.rs"]
mod consent_page;
use consent_page::ConsentForm;

const START: u64 = 1_700_000_000;
const ISSUER: &str = "http://127.0.0.1:8080";
const REDIRECT_URI: &str = "http://127.0.0.1:4567/callback";
const VERIFIER: &str = "demo-code-verifier-0123456789abcdefghijklmnopqrstuvwxyz";
/// The consent page's cookie, without the `__Host-` prefix of `https`.
const CSRF_COOKIE: &str = "simply_mcp_oauth_csrf";

/// `/authorize?…` for a code flow with PKCE.
fn authorize_path(client_id: &str, redirect_uri: &str) -> String {
    let query = form(&[
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("state", "s1"),
        ("code_challenge", &pkce_s256(VERIFIER)),
        ("code_challenge_method", "S256"),
    ]);
    format!("/authorize?{query}")
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

/// At most one authorization request per address every 15 minutes.
fn one_authorize_per_15_minutes() -> RateLimits {
    RateLimits { authorize_per_ip: Some(RateLimit::per(1, 900)), ..RateLimits::off() }
}

/// An answer of the app, its body read.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// The demo app for `issuer` with `limits`, on a fake clock.
struct Demo {
    app: Router,
    clock: FakeClock,
}

impl Demo {
    async fn new(issuer: &str, limits: RateLimits) -> Self {
        let config = ProviderConfig { rate_limits: limits, ..ProviderConfig::new(issuer) };
        let clock = FakeClock::at(START);
        let provider = Provider::new(config, MemoryStorage::new()).unwrap().with_clock(clock.clone());
        provider.initialize().await.unwrap();
        let oauth = Arc::new(OAuthHttp::new(provider));
        let app = demo_app(oauth, Arc::new(Metrics::new()), Some(OpsAccess::open())).unwrap();
        Self { app, clock }
    }

    async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: String) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut request = request.body(Body::from(body)).unwrap();
        let client: SocketAddr = ([127, 0, 0, 1], 50_000).into();
        request.extensions_mut().insert(ConnectInfo(client));
        let response = self.app.clone().call(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes().to_vec();
        Answer { status: parts.status.as_u16(), headers: parts.headers, body }
    }

    async fn register(&self, redirect_uri: &str) -> String {
        let body = json!({"redirect_uris": [redirect_uri], "token_endpoint_auth_method": "none"});
        let answer =
            self.send("POST", "/register", &[("Content-Type", "application/json")], body.to_string()).await;
        assert_eq!(answer.status, 201, "{}", answer.text());
        answer.json()["client_id"].as_str().unwrap().to_string()
    }

    /// `GET /authorize`: the page, the `Set-Cookie` value, and the form's fields.
    async fn consent(&self, client_id: &str, redirect_uri: &str) -> (Answer, String, Vec<(String, String)>) {
        let page = self.send("GET", &authorize_path(client_id, redirect_uri), &[], String::new()).await;
        assert_eq!(page.status, 200, "{}", page.text());
        let set_cookie = page.header("set-cookie").expect("the CSRF cookie").to_string();
        let fields = ConsentForm::parse(&page.text()).expect("the consent form").fields;
        (page, set_cookie, fields)
    }

    async fn decide(&self, set_cookie: &str, fields: &[(String, String)], action: &str) -> Answer {
        let mut pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        pairs.push(("action", action));
        let cookie = set_cookie.split(';').next().unwrap();
        let headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", cookie)];
        self.send("POST", "/authorize", &headers, form(&pairs)).await
    }
}

/// The form `POST` is an authorization request too: it must not be a way
/// around the `/authorize` per-address limit.
#[tokio::test]
async fn the_consent_post_counts_against_the_authorize_limit() {
    let demo = Demo::new(ISSUER, one_authorize_per_15_minutes()).await;
    let client_id = demo.register(REDIRECT_URI).await;
    let (_, set_cookie, fields) = demo.consent(&client_id, REDIRECT_URI).await;
    let refused = demo.decide(&set_cookie, &fields, "approve").await;
    assert_eq!(refused.status, 429, "{}", refused.text());
    assert_eq!(refused.header("location"), None);
    assert!(refused.header("retry-after").is_some());
}

/// Over the `/authorize` limit, the page says so with a page, not a redirect
/// to the client; the wait is the limit's whole period.
#[tokio::test]
async fn the_consent_page_is_limited_with_a_page_not_a_redirect() {
    let demo = Demo::new(ISSUER, one_authorize_per_15_minutes()).await;
    let client_id = demo.register(REDIRECT_URI).await;
    demo.consent(&client_id, REDIRECT_URI).await;
    let refused = demo.send("GET", &authorize_path(&client_id, REDIRECT_URI), &[], String::new()).await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.header("retry-after"), Some("900"));
    assert_eq!(refused.header("location"), None);
    assert!(refused.text().contains("too_many_requests"));
}

/// A consent form left open, or a token that leaked, stops working after
/// 10 minutes; before that it works.
#[tokio::test]
async fn a_consent_form_expires_within_ten_minutes() {
    let demo = Demo::new(ISSUER, RateLimits::off()).await;
    let client_id = demo.register(REDIRECT_URI).await;
    let (_, set_cookie, fields) = demo.consent(&client_id, REDIRECT_URI).await;
    demo.clock.advance(600);
    let stale = demo.decide(&set_cookie, &fields, "approve").await;
    assert_eq!(stale.status, 400, "{}", stale.text());
    assert_eq!(stale.header("location"), None);
    let (_, set_cookie, fields) = demo.consent(&client_id, REDIRECT_URI).await;
    demo.clock.advance(599);
    let fresh = demo.decide(&set_cookie, &fields, "approve").await;
    assert_eq!(fresh.status, 303, "{}", fresh.text());
}

/// Over `https`, a `__Host-` cookie: `Secure`, `Path=/`, no `Domain`, so no
/// sibling host can plant a nonce of its choosing. The form works with it.
#[tokio::test]
async fn over_https_the_csrf_cookie_is_host_prefixed() {
    let demo = Demo::new("https://auth.example", RateLimits::off()).await;
    let client_id = demo.register(REDIRECT_URI).await;
    let (_, set_cookie, fields) = demo.consent(&client_id, REDIRECT_URI).await;
    assert!(set_cookie.starts_with(&format!("__Host-{CSRF_COOKIE}=")), "{set_cookie}");
    let attributes: Vec<&str> = set_cookie.split(';').map(str::trim).collect();
    assert!(attributes.contains(&"Secure") && attributes.contains(&"Path=/"), "{set_cookie}");
    assert!(!set_cookie.to_ascii_lowercase().contains("domain="), "{set_cookie}");
    let approved = demo.decide(&set_cookie, &fields, "approve").await;
    assert_eq!(approved.status, 303, "{}", approved.text());
    // The unprefixed name, which any sibling host could set, is not read.
    let plain = set_cookie.trim_start_matches("__Host-").to_string();
    let (_, _, fields) = demo.consent(&client_id, REDIRECT_URI).await;
    assert_eq!(demo.decide(&plain, &fields, "approve").await.status, 400);
}

/// `com.evil.app://accounts.bank.example/cb` goes to whichever app claims
/// `com.evil.app`: the page names that scheme, never the bank.
#[tokio::test]
async fn a_private_use_redirect_is_shown_as_its_scheme() {
    let demo = Demo::new(ISSUER, RateLimits::off()).await;
    let redirect_uri = "com.evil.app://accounts.bank.example/cb";
    let client_id = demo.register(redirect_uri).await;
    let (page, _, _) = demo.consent(&client_id, redirect_uri).await;
    let html = page.text();
    let target = html.split("class=\"target\"").nth(1).unwrap().split("</p>").next().unwrap();
    assert!(target.contains("com.evil.app"), "{target}");
    assert!(!target.contains("accounts.bank.example"), "{target}");
}

/// The user clicked Deny: their act, so `access_denied` goes to a registered
/// client's redirect URI (errors before any click do not).
#[tokio::test]
async fn deny_still_redirects_for_a_registered_client() {
    let demo = Demo::new(ISSUER, RateLimits::off()).await;
    let client_id = demo.register(REDIRECT_URI).await;
    let (_, set_cookie, fields) = demo.consent(&client_id, REDIRECT_URI).await;
    let denied = demo.decide(&set_cookie, &fields, "deny").await;
    assert_eq!(denied.status, 303, "{}", denied.text());
    let location = url::Url::parse(denied.header("location").expect("a redirect")).unwrap();
    assert!(location.as_str().starts_with(REDIRECT_URI), "{location}");
    let error = location.query_pairs().find(|(name, _)| name == "error").map(|(_, value)| value);
    assert_eq!(error.as_deref(), Some("access_denied"));
    // Before any click, an error for the same client is a page, not a redirect.
    let query =
        form(&[("response_type", "token"), ("client_id", &client_id), ("redirect_uri", REDIRECT_URI)]);
    let early = demo.send("GET", &format!("/authorize?{query}"), &[], String::new()).await;
    assert_eq!((early.status, early.header("location")), (400, None));
    assert!(early.text().contains("unsupported_response_type"));
}
