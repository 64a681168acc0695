//! Rate limits of the native server: the axum router keys the per-IP limits
//! on the connection's address (`ConnectInfo`); and the binary answers 429 on
//! `/token`. (The demo's consent page under its limit is tested in the
//! binary: `src/bin/server/demo/tests.rs`.)

mod e2e;

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::json;
use simply_mcp_oauth::config::{RateLimit, RateLimits};
use simply_mcp_oauth::http::OAuthHttp;
use simply_mcp_oauth::server::router;
use simply_mcp_oauth::{MemoryStorage, Provider, ProviderConfig};

use e2e::*;

/// The library's router in this process with `limits`, served with `ConnectInfo`.
async fn serve(limits: RateLimits) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let config = ProviderConfig { rate_limits: limits, ..ProviderConfig::new(format!("http://{addr}")) };
    let oauth = Arc::new(OAuthHttp::new(Provider::create(config, MemoryStorage::new()).await.unwrap()));
    let app = router(oauth);
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    addr
}

/// A blocking request off the runtime's threads.
async fn send(
    addr: &str,
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
) -> Response {
    let addr = addr.to_string();
    tokio::task::spawn_blocking(move || {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        request(&addr, method, &path, &headers, &body)
    })
    .await
    .unwrap()
}

async fn register(addr: &str) -> Response {
    let body = json!({"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "none"}).to_string();
    let headers = vec![("Content-Type", "application/json".to_string())];
    send(addr, "POST", "/register".into(), headers, body.into_bytes()).await
}

/// Real time passes between the requests (a loaded machine may take
/// seconds), so the wait left is within a few seconds of the full refill.
fn assert_retry_after_within(response: &Response, range: std::ops::RangeInclusive<u64>) {
    let retry: u64 = response.header("retry-after").expect("Retry-After").parse().expect("seconds");
    assert!(range.contains(&retry), "Retry-After {retry} not in {range:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_limits_registration_by_the_connection_address() {
    let addr =
        serve(RateLimits { register_per_ip: Some(RateLimit::per(2, 3600)), ..RateLimits::off() }).await;
    assert_eq!(register(&addr).await.status, 201);
    assert_eq!(register(&addr).await.status, 201);
    let refused = register(&addr).await;
    assert_eq!(refused.status, 429, "{}", refused.text());
    assert_retry_after_within(&refused, 1795..=1800);
    assert_eq!(refused.json()["error"], "too_many_requests");
}

/// The binary with its default limits: a client hammering `/token` is held
/// back (per client id at 300 a minute, or sooner per IP when the binary
/// serves with `ConnectInfo`). The client authenticates each time; its grant
/// (a made-up refresh token) is refused, which costs the server the same work.
#[test]
fn the_binary_answers_429_on_a_token_flood() {
    let server = start();
    let metadata = json!({"redirect_uris": ["https://c.example/cb"], "token_endpoint_auth_method": "client_secret_post"});
    let client = server.post_json("/register", &metadata, &[]).json();
    let (id, secret) = (client["client_id"].as_str().unwrap(), client["client_secret"].as_str().unwrap());
    let pairs = [
        ("grant_type", "refresh_token"),
        ("refresh_token", "made-up"),
        ("client_id", id),
        ("client_secret", secret),
    ];
    let mut answered = 0;
    for _ in 0..400 {
        let response = server.post_form("/token", &pairs, &[]);
        match response.status {
            400 => answered += 1,
            429 => {
                assert_eq!(response.json()["error"], "too_many_requests");
                let retry: u64 = response.header("retry-after").expect("Retry-After").parse().unwrap();
                assert!((1..=60).contains(&retry), "Retry-After {retry}");
                assert!(answered >= 100, "limited after only {answered} requests");
                return;
            }
            other => panic!("status {other}: {}", response.text()),
        }
    }
    panic!("{answered} answers and never a 429");
}
