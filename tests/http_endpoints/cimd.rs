//! Client ID Metadata Documents through the HTTP layer, with an in-memory
//! fetcher that serves canned answers and counts its calls.

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::Mutex;

use simply_mcp_oauth::cimd::{FetchError, FetchedDocument, MetadataFetcher, MAX_DOCUMENT_BYTES};

use crate::support::*;

const URL: &str = "https://client.example/oauth/client.json";
const APP_REDIRECT: &str = "https://client.example/cb";

type Canned = Result<FetchedDocument, FetchError>;

#[derive(Default)]
pub struct FakeFetcher {
    answers: Mutex<HashMap<String, Canned>>,
    calls: AtomicUsize,
}

impl FakeFetcher {
    fn serve(&self, url: &str, answer: Canned) {
        self.answers.lock().unwrap().insert(url.to_string(), answer);
    }
    fn serve_json(&self, url: &str, doc: Value, cache_control: Option<&str>) {
        let body = doc.to_string().into_bytes();
        let cache_control = cache_control.map(str::to_string);
        self.serve(url, Ok(FetchedDocument { body, cache_control, content_type: None }));
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl MetadataFetcher for FakeFetcher {
    async fn fetch(&self, url: &str) -> Result<FetchedDocument, FetchError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.answers.lock().unwrap().get(url).cloned().unwrap_or(Err(FetchError::Status(404)))
    }
}

fn document(url: &str) -> Value {
    json!({
        "client_id": url,
        "client_name": "Client <Example>",
        "redirect_uris": [APP_REDIRECT, "http://127.0.0.1/callback"],
        "token_endpoint_auth_method": "none",
    })
}

async fn cimd_env(change: impl FnOnce(&mut ProviderConfig)) -> (Env, Arc<FakeFetcher>) {
    let fetcher = Arc::new(FakeFetcher::default());
    fetcher.serve_json(URL, document(URL), Some("max-age=600"));
    let mut config = base_config(ISSUER);
    change(&mut config);
    let clock = FakeClock::at(START);
    let provider = Provider::new(config, MemoryStorage::new())
        .unwrap()
        .with_clock(clock.clone())
        .with_metadata_fetcher(fetcher.clone());
    provider.initialize().await.unwrap();
    (Env { oauth: OAuthHttp::new(provider), clock }, fetcher)
}

/// `GET /authorize` for `client` and `redirect_uri`.
async fn authorize(env: &Env, client: &str, redirect_uri: &str) -> Result<AuthorizationRequest, Answer> {
    let challenge = pkce_s256(VERIFIER);
    let mut pairs = auth_params(client, redirect_uri);
    pairs.push(("code_challenge", &challenge));
    env.oauth.authorize_request(&authorize_uri(&pairs)).await.map_err(Answer::from)
}

/// `GET /authorize` that must succeed.
async fn ok(env: &Env, client: &str, redirect_uri: &str) -> AuthorizationRequest {
    match authorize(env, client, redirect_uri).await {
        Ok(parsed) => parsed,
        Err(answer) => panic!("{client}: {}", String::from_utf8_lossy(&answer.body)),
    }
}

#[track_caller]
fn expect_page(answer: Answer, needle: &str) {
    assert_eq!(answer.status, 400);
    assert_eq!(answer.header("location"), None);
    assert_eq!(answer.header("content-type"), Some("text/html; charset=utf-8"));
    let html = String::from_utf8(answer.body.to_vec()).unwrap();
    assert!(html.contains("invalid_request"), "{html}");
    assert!(html.contains(needle), "{needle:?} not in {html}");
}

fn public_exchange(code: &str, redirect_uri: &str) -> Request<Bytes> {
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", VERIFIER),
        ("client_id", URL),
    ];
    form("/token", &pairs)
}

#[tokio::test]
async fn a_metadata_client_goes_through_authorize_token_and_refresh() {
    let (env, fetcher) = cimd_env(|_| {}).await;
    let parsed = ok(&env, URL, APP_REDIRECT).await;
    assert_eq!(parsed.client_id, URL);
    assert_eq!(parsed.client_name.as_deref(), Some("Client <Example>"));
    assert_eq!(parsed.scopes, ["read", "write"]);
    let code = env.code_with(URL, APP_REDIRECT, &[]).await;
    let answer = env.send(public_exchange(&code, APP_REDIRECT)).await;
    assert_eq!(answer.status, 200, "{}", answer.json());
    let tokens = answer.json();
    let info = env.oauth.authenticate(&bearer(tokens["access_token"].as_str().unwrap()), &[]).await.unwrap();
    assert_eq!(info.client_id, URL);
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ("client_id", URL),
    ];
    let rotated = env.send(form("/token", &refresh)).await;
    assert_eq!(rotated.status, 200, "{}", rotated.json());
    // A secret is refused: these clients authenticate with `none` and PKCE.
    let with_secret = env.send(form_basic("/token", &refresh, URL, "guess")).await;
    with_secret.expect_error(401, "invalid_client");
    // One fetch served every step (max-age=600).
    assert_eq!(fetcher.calls(), 1);
    let grants = env.oauth.provider().storage().list_grants("alice", env.clock_now()).await.unwrap();
    assert!(grants.iter().all(|g| g.client_id == URL) && !grants.is_empty());
    // Nothing was stored as a client.
    assert!(env.oauth.provider().get_client(URL).await.unwrap().is_none());
}

#[tokio::test]
async fn redirect_uris_match_exactly_with_any_loopback_port() {
    let (env, _) = cimd_env(|_| {}).await;
    assert!(authorize(&env, URL, "http://127.0.0.1:49152/callback").await.is_ok());
    for wrong in ["https://client.example/cb2", "https://client.example/cb?x", "https://evil.example/cb"] {
        expect_page(authorize(&env, URL, wrong).await.unwrap_err(), "not registered");
    }
}

/// A metadata document is written by whoever controls its URL: its redirect
/// URIs get no error redirect before the user acted (RFC 9700 §4.11.2).
#[tokio::test]
async fn errors_for_metadata_clients_are_pages_never_redirects() {
    let (env, _) = cimd_env(|_| {}).await;
    let challenge = pkce_s256(VERIFIER);
    let mut pairs = auth_params(URL, APP_REDIRECT);
    pairs.extend([("code_challenge", challenge.as_str()), ("scope", "admin")]);
    let answer = Answer::from(env.oauth.authorize_request(&authorize_uri(&pairs)).await.unwrap_err());
    assert_eq!((answer.status.as_u16(), answer.header("location")), (400, None));
    let html = String::from_utf8(answer.body.to_vec()).unwrap();
    assert!(html.contains("invalid_scope") && html.contains("href=\"https://client.example\""), "{html}");
}

#[tokio::test]
async fn invalid_documents_and_failed_fetches_are_400_pages_and_invalid_client() {
    let big = "x".repeat(MAX_DOCUMENT_BYTES);
    let cases: Vec<(Canned, &str)> = vec![
        (
            Ok(doc_body(json!({"client_id": "https://other.example/c", "client_name": "A",
            "redirect_uris": [APP_REDIRECT]}))),
            "does not match",
        ),
        (Ok(doc_body(json!({"client_id": URL, "client_name": "A"}))), "no redirect_uris"),
        (Ok(doc_body(with(json!({"client_secret": "s"})))), "client_secret"),
        (Ok(doc_body(with(json!({"token_endpoint_auth_method": "client_secret_basic"})))), "shared-secret"),
        (Ok(doc_body(with(json!({"client_name": big})))), "larger than"),
        (Err(FetchError::TooLarge), "larger than"),
        (Err(FetchError::Redirected(302)), "redirected"),
        (Err(FetchError::Status(500)), "status 500"),
        (Err(FetchError::Timeout), "timed out"),
        (Err(FetchError::Refused("10.0.0.1".into())), "not a public address"),
    ];
    for (canned, needle) in cases {
        let (env, fetcher) = cimd_env(|_| {}).await;
        fetcher.serve(URL, canned);
        expect_page(authorize(&env, URL, APP_REDIRECT).await.unwrap_err(), needle);
        let answer = env.send(public_exchange("g.code", APP_REDIRECT)).await;
        answer.expect_error(401, "invalid_client");
        let description = answer.json()["error_description"].as_str().unwrap().to_string();
        assert!(description.contains(needle), "{needle:?} not in {description:?}");
        // The failure is remembered: the second request fetched nothing.
        assert_eq!(fetcher.calls(), 1);
    }
}

fn with(extra: Value) -> Value {
    let mut doc = document(URL);
    for (k, v) in extra.as_object().unwrap() {
        doc[k] = v.clone();
    }
    doc
}

fn doc_body(doc: Value) -> FetchedDocument {
    FetchedDocument { body: doc.to_string().into_bytes(), cache_control: None, content_type: None }
}

#[tokio::test]
async fn malformed_urls_are_refused_before_any_fetch() {
    let (env, fetcher) = cimd_env(|_| {}).await;
    for (url, needle) in [
        ("https://client.example/", "must have a path"),
        ("https://client.example/c?x=1", "query"),
        ("https://client.example/a/../c", "malformed"),
        ("https://u@client.example/c", "username"),
        ("https://127.0.0.1:9/c", "loopback"),
        // Without the switch an http id is no metadata URL at all.
        ("http://127.0.0.1:9/c", "unknown client_id"),
    ] {
        expect_page(authorize(&env, url, APP_REDIRECT).await.unwrap_err(), needle);
    }
    assert_eq!(fetcher.calls(), 0);
}

/// Hosts written as addresses: private, CGNAT, link-local (cloud metadata),
/// multicast, documentation, unspecified, unique-local, IPv4-mapped and NAT64
/// forms, and public ones too.
const LITERALS: [&str; 14] = [
    "https://10.0.0.5/x",
    "https://192.168.1.1/c",
    "https://100.64.0.1/c",
    "https://169.254.169.254/latest/meta-data",
    "https://224.0.0.1/c",
    "https://192.0.2.1/c",
    "https://0.0.0.0/c",
    "https://93.184.215.14/c",
    "https://[fd00::1]/c",
    "https://[fe80::1]/c",
    "https://[ff02::1]/c",
    "https://[::]/c",
    "https://[::ffff:10.0.0.5]/c",
    "https://[64:ff9b::a00:5]/c",
];

#[tokio::test]
async fn address_literals_never_reach_the_fetcher() {
    for allow_loopback in [false, true] {
        let (env, fetcher) = cimd_env(|c| c.cimd_allow_loopback = allow_loopback).await;
        for url in LITERALS {
            expect_page(authorize(&env, url, APP_REDIRECT).await.unwrap_err(), "IP address literal");
            let refresh = [("grant_type", "refresh_token"), ("refresh_token", "g.s"), ("client_id", url)];
            env.send(form("/token", &refresh)).await.expect_error(401, "invalid_client");
            let introspect = form("/introspect", &[("token", "g.s"), ("client_id", url)]);
            env.send(introspect).await.expect_error(401, "invalid_client");
        }
        assert_eq!(fetcher.calls(), 0, "allow_loopback: {allow_loopback}");
    }
}

/// A fetcher that holds every fetch until released.
#[derive(Default)]
struct Gate {
    open: tokio::sync::Notify,
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl MetadataFetcher for Gate {
    async fn fetch(&self, url: &str) -> Result<FetchedDocument, FetchError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.open.notified().await;
        Ok(doc_body(document(url)))
    }
}

#[tokio::test]
async fn fetches_in_flight_are_bounded_per_host() {
    use std::future::Future;
    let gate = Arc::new(Gate::default());
    let provider =
        Provider::new(base_config(ISSUER), MemoryStorage::new()).unwrap().with_metadata_fetcher(gate.clone());
    let env = Env { oauth: OAuthHttp::new(provider), clock: FakeClock::at(START) };
    let urls: Vec<String> = (0..5).map(|i| format!("https://client.example/c/{i}")).collect();
    let mut held: Vec<_> = urls[..4].iter().map(|url| Box::pin(authorize(&env, url, APP_REDIRECT))).collect();
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    for pending in &mut held {
        assert!(pending.as_mut().poll(&mut cx).is_pending(), "its fetch is held at the gate");
    }
    // Refused at once, not held (polled once: it must already be done).
    let mut fifth = Box::pin(authorize(&env, &urls[4], APP_REDIRECT));
    let std::task::Poll::Ready(Err(busy)) = fifth.as_mut().poll(&mut cx) else {
        panic!("a fifth fetch to the host was started or waits");
    };
    assert_eq!(busy.status, 503);
    assert!(String::from_utf8_lossy(&busy.body).contains("try again shortly"));
    let other_host = "https://other.example/c";
    let mut other = Box::pin(authorize(&env, other_host, APP_REDIRECT));
    assert!(other.as_mut().poll(&mut cx).is_pending(), "another host has its own bound");
    assert_eq!(gate.calls.load(Ordering::SeqCst), 5);
    gate.open.notify_waiters();
    for pending in held {
        assert!(pending.await.is_ok());
    }
    let _ = other.await;
    // Busy was not remembered as the URL's failure, and the slots are free.
    let mut retried = Box::pin(authorize(&env, &urls[4], APP_REDIRECT));
    assert!(retried.as_mut().poll(&mut cx).is_pending(), "fetched this time");
    gate.open.notify_waiters();
    assert!(retried.await.is_ok());
    assert_eq!(gate.calls.load(Ordering::SeqCst), 6);
}

#[tokio::test]
async fn loopback_documents_only_with_the_switch() {
    let local = "http://127.0.0.1:8123/client.json";
    let (env, fetcher) = cimd_env(|c| c.cimd_allow_loopback = true).await;
    fetcher.serve_json(local, document(local), None);
    assert!(authorize(&env, local, APP_REDIRECT).await.is_ok());
}

#[tokio::test]
async fn the_cache_follows_cache_control_and_remembers_failures_for_a_minute() {
    let (env, fetcher) = cimd_env(|_| {}).await;
    ok(&env, URL, APP_REDIRECT).await;
    ok(&env, URL, APP_REDIRECT).await;
    assert_eq!(fetcher.calls(), 1, "one fetch for two authorizations");
    env.clock.advance(600);
    ok(&env, URL, APP_REDIRECT).await;
    assert_eq!(fetcher.calls(), 2, "refetched after max-age");

    let (env, fetcher) = cimd_env(|_| {}).await;
    fetcher.serve_json(URL, document(URL), Some("no-store"));
    ok(&env, URL, APP_REDIRECT).await;
    ok(&env, URL, APP_REDIRECT).await;
    assert_eq!(fetcher.calls(), 2, "no-store is fetched every time");

    let (env, fetcher) = cimd_env(|_| {}).await;
    fetcher.serve(URL, Err(FetchError::Status(503)));
    assert!(authorize(&env, URL, APP_REDIRECT).await.is_err());
    fetcher.serve_json(URL, document(URL), Some("max-age=0"));
    env.clock.advance(59);
    expect_page(authorize(&env, URL, APP_REDIRECT).await.unwrap_err(), "status 503");
    assert_eq!(fetcher.calls(), 1, "the failure is remembered for a minute");
    env.clock.advance(1);
    ok(&env, URL, APP_REDIRECT).await;
    assert_eq!(fetcher.calls(), 2, "then fetched again");
    env.clock.advance(299);
    ok(&env, URL, APP_REDIRECT).await;
    assert_eq!(fetcher.calls(), 2, "max-age=0 is raised to five minutes");
}

#[tokio::test]
async fn the_cache_is_bounded() {
    let (env, fetcher) = cimd_env(|_| {}).await;
    let urls: Vec<String> = (0..1001).map(|i| format!("https://client.example/c/{i}")).collect();
    for (i, url) in urls.iter().enumerate() {
        fetcher.serve_json(url, document(url), Some("max-age=3600"));
        ok(&env, url, APP_REDIRECT).await;
        if i == 0 {
            env.clock.advance(1);
        }
    }
    assert_eq!(fetcher.calls(), 1001);
    ok(&env, &urls[1000], APP_REDIRECT).await;
    assert_eq!(fetcher.calls(), 1001, "the newest is cached");
    ok(&env, &urls[0], APP_REDIRECT).await;
    assert_eq!(fetcher.calls(), 1002, "the oldest was evicted");
}

#[tokio::test]
async fn without_a_fetcher_url_ids_are_unknown_and_metadata_says_so() {
    let env = env().await;
    expect_page(authorize(&env, URL, APP_REDIRECT).await.unwrap_err(), "unknown client_id");
    let doc = env.send(get("/.well-known/oauth-authorization-server")).await.json();
    assert!(doc.get("client_id_metadata_document_supported").is_none());
    let (env, _) = cimd_env(|_| {}).await;
    let doc = env.send(get("/.well-known/oauth-authorization-server")).await.json();
    assert_eq!(doc["client_id_metadata_document_supported"], true);
}

#[tokio::test]
async fn registered_ids_never_look_like_metadata_urls() {
    let (env, fetcher) = cimd_env(|_| {}).await;
    for _ in 0..20 {
        let body = json!({ "redirect_uris": [APP_REDIRECT], "token_endpoint_auth_method": "none" });
        let ct = [("content-type", "application/json")];
        let answer = env.send(request(Method::POST, "/register", &ct, body.to_string())).await;
        assert_eq!(answer.status, 201);
        let id = answer.json()["client_id"].as_str().unwrap().to_string();
        assert!(id.starts_with("mcp_") && !simply_mcp_oauth::cimd::is_metadata_client_id(&id, true), "{id}");
        ok(&env, &id, APP_REDIRECT).await;
    }
    assert_eq!(fetcher.calls(), 0);
}

#[tokio::test]
async fn configured_clients_keep_url_like_ids() {
    let (env, fetcher) = cimd_env(|c| c.clients[1].client_id = "https://configured.example/c".into()).await;
    assert!(authorize(&env, "https://configured.example/c", LOOPBACK).await.is_ok());
    assert_eq!(fetcher.calls(), 0);
}

impl Env {
    fn clock_now(&self) -> UnixTime {
        use simply_mcp_oauth::clock::Clock as _;
        self.clock.now()
    }
}
