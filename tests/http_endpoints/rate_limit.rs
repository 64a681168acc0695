//! Request limits (`ProviderConfig::rate_limits`) through `OAuthHttp`: the
//! native limiter `OAuthHttp::new` installs, on the fake clock.

use simply_mcp_oauth::config::{RateLimit, RateLimits};
use simply_mcp_oauth::http::{Bucket, ClientIp, RateLimiter, RetryAfter};

use crate::support::*;

/// `request` as if it came from `ip` (what a host sets).
fn from<B>(ip: &str, mut request: Request<B>) -> Request<B> {
    request.extensions_mut().insert(ClientIp(ip.to_string()));
    request
}

fn registration() -> Request<Bytes> {
    let body = json!({"redirect_uris": ["http://localhost/cb"], "token_endpoint_auth_method": "none"});
    request(Method::POST, "/register", &[("content-type", "application/json")], body.to_string())
}

async fn limited(limits: RateLimits) -> Env {
    env_with(|c| c.rate_limits = limits).await
}

#[track_caller]
fn expect_429(answer: &Answer, retry_after: u64) {
    answer.expect_error(429, "too_many_requests");
    assert_eq!(answer.header("retry-after"), Some(retry_after.to_string().as_str()));
    let description = answer.json()["error_description"].as_str().unwrap().to_string();
    assert!(description.contains(&format!("retry after {retry_after} seconds")), "{description}");
}

#[tokio::test]
async fn registration_is_limited_per_ip_with_retry_after() {
    let env =
        limited(RateLimits { register_per_ip: Some(RateLimit::per(3, 3600)), ..RateLimits::off() }).await;
    for _ in 0..3 {
        assert_eq!(env.send(from("203.0.113.7", registration())).await.status, 201);
    }
    let answer = env.send(from("203.0.113.7", registration())).await;
    expect_429(&answer, 1200);
    assert_eq!(answer.header("access-control-allow-origin"), Some("*"), "browsers can read the 429");
    assert_eq!(env.stats().await.clients, 2 + 3, "the refused registration stored nothing");
    assert_eq!(env.send(from("198.51.100.1", registration())).await.status, 201, "another address");
    assert_eq!(env.send(registration()).await.status, 201, "no address: no per-IP limit");

    env.clock.advance(1199);
    expect_429(&env.send(from("203.0.113.7", registration())).await, 1);
    env.clock.advance(1);
    assert_eq!(env.send(from("203.0.113.7", registration())).await.status, 201, "one more per 1200 s");
}

#[tokio::test]
async fn registration_has_a_ceiling_for_everyone_together() {
    let env = limited(RateLimits { register_total: Some(RateLimit::per(2, 60)), ..RateLimits::off() }).await;
    assert_eq!(env.send(from("192.0.2.1", registration())).await.status, 201);
    assert_eq!(env.send(from("192.0.2.2", registration())).await.status, 201);
    expect_429(&env.send(from("192.0.2.3", registration())).await, 30);
    expect_429(&env.send(registration()).await, 30);
}

#[tokio::test]
async fn token_requests_are_limited_per_ip_before_the_body_is_read() {
    let env = limited(RateLimits { token_per_ip: Some(RateLimit::per(2, 60)), ..RateLimits::off() }).await;
    let junk = || form("/token", &[("grant_type", "password")]);
    assert_eq!(env.send(from("192.0.2.9", junk())).await.error(), "invalid_client");
    assert_eq!(env.send(from("192.0.2.9", junk())).await.error(), "invalid_client");
    expect_429(&env.send(from("192.0.2.9", junk())).await, 30);
    // Even a body that would be refused as malformed: no parsing is spent on it.
    let malformed = request(Method::POST, "/token", &[("content-type", "text/plain")], "x");
    expect_429(&env.send(from("192.0.2.9", malformed)).await, 30);
    assert_eq!(env.send(from("192.0.2.10", junk())).await.error(), "invalid_client");
}

#[tokio::test]
async fn token_requests_are_limited_per_client_from_any_address() {
    let env =
        limited(RateLimits { token_per_client: Some(RateLimit::per(2, 10)), ..RateLimits::off() }).await;
    let credentials = || form_basic("/token", &[("grant_type", "client_credentials")], CLIENT, SECRET);
    assert_eq!(env.send(from("192.0.2.1", credentials())).await.status, 200);
    assert_eq!(env.send(from("192.0.2.2", credentials())).await.status, 200);
    expect_429(&env.send(from("192.0.2.3", credentials())).await, 5);
    // Another client id is not held back; a wrong secret counts for its id too.
    let other = form("/token", &[("grant_type", "client_credentials"), ("client_id", PUBLIC)]);
    assert_eq!(env.send(other).await.status, 400);
    let wrong = form_basic("/token", &[("grant_type", "client_credentials")], CLIENT, "wrong");
    expect_429(&env.send(wrong).await, 5);
    env.clock.advance(5);
    assert_eq!(env.send(credentials()).await.status, 200);
}

#[tokio::test]
async fn authorize_over_its_limit_is_a_page_never_a_redirect() {
    let env =
        limited(RateLimits { authorize_per_ip: Some(RateLimit::per(1, 900)), ..RateLimits::off() }).await;
    let challenge = pkce_s256(VERIFIER);
    let mut pairs = auth_params(CLIENT, REDIRECT);
    pairs.push(("code_challenge", &challenge));
    assert!(env.oauth.authorize_request(&from("192.0.2.1", authorize_uri(&pairs))).await.is_ok());
    let refused = env.oauth.authorize_request(&from("192.0.2.1", authorize_uri(&pairs))).await.unwrap_err();
    let answer = Answer::from(refused);
    assert_eq!(answer.status, 429);
    assert_eq!(answer.header("retry-after"), Some("900"));
    assert_eq!(answer.header("location"), None, "no redirect before the redirect URI is trusted");
    assert_eq!(answer.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let page = String::from_utf8_lossy(&answer.body).to_string();
    assert!(page.contains("too_many_requests") && page.contains("retry after 900 seconds"), "{page}");
    assert!(env.oauth.authorize_request(&from("192.0.2.2", authorize_uri(&pairs))).await.is_ok());
}

#[tokio::test]
async fn the_defaults_apply_without_any_configuration() {
    let env = env().await;
    assert_eq!(env.oauth.provider().config().rate_limits, RateLimits::default());
    for _ in 0..20 {
        assert_eq!(env.send(from("192.0.2.1", registration())).await.status, 201);
    }
    expect_429(&env.send(from("192.0.2.1", registration())).await, 180);
    let off = limited(RateLimits::off()).await;
    for _ in 0..25 {
        assert_eq!(off.send(from("192.0.2.1", registration())).await.status, 201);
    }
}

/// A limiter of one's own: it is asked for each bucket with its key, and
/// its answer is obeyed.
#[derive(Clone, Default)]
struct Recording(Arc<std::sync::Mutex<Vec<(Bucket, String)>>>);

#[async_trait::async_trait]
impl RateLimiter for Recording {
    async fn check(&self, bucket: Bucket, key: &str) -> Result<(), RetryAfter> {
        self.0.lock().unwrap().push((bucket, key.to_string()));
        if key == "blocked-client" {
            Err(RetryAfter(7))
        } else {
            Ok(())
        }
    }
}

#[tokio::test]
async fn a_custom_limiter_is_asked_for_each_bucket_with_its_key() {
    let calls = Recording::default();
    let provider = Provider::new(base_config(ISSUER), MemoryStorage::new()).unwrap();
    provider.initialize().await.unwrap();
    let oauth = OAuthHttp::new(provider).with_rate_limiter(calls.clone());
    assert_eq!(oauth.handle(from("192.0.2.1", registration())).await.status(), 201);
    let blocked = form("/token", &[("grant_type", "client_credentials"), ("client_id", "blocked-client")]);
    expect_429(&Answer::from(oauth.handle(from("192.0.2.1", blocked)).await), 7);
    assert_eq!(
        *calls.0.lock().unwrap(),
        vec![
            (Bucket::RegisterPerIp, "192.0.2.1".to_string()),
            (Bucket::RegisterTotal, String::new()),
            (Bucket::TokenPerIp, "192.0.2.1".to_string()),
            (Bucket::TokenPerClient, "blocked-client".to_string()),
        ]
    );
}
