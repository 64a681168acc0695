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

fn refresh_as(client: &str, secret: Option<&str>, refresh_token: &str) -> Request<Bytes> {
    let pairs = [("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
    match secret {
        Some(secret) => form_basic("/token", &pairs, client, secret),
        None => form("/token", &[pairs[0], pairs[1], ("client_id", client)]),
    }
}

/// The public client's code exchanged, from `ip`.
async fn public_exchange(env: &Env, ip: &str) -> Answer {
    let code = env.code_with(PUBLIC, LOOPBACK, &[]).await;
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", LOOPBACK),
        ("code_verifier", VERIFIER),
        ("client_id", PUBLIC),
    ];
    env.send(from(ip, form("/token", &pairs))).await
}

/// A confidential client's code exchanged, from `ip`.
async fn confidential_exchange(env: &Env, ip: &str) -> Answer {
    let code = env.code().await;
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    env.send(from(ip, form_basic("/token", &pairs, CLIENT, SECRET))).await
}

#[tokio::test]
async fn naming_a_client_from_other_addresses_never_locks_it_out() {
    let env =
        limited(RateLimits { token_per_client: Some(RateLimit::per(2, 10)), ..RateLimits::off() }).await;
    for i in 0..330 {
        let ip = format!("127.0.0.{}", 2 + i % 3);
        let wrong_secret = env.send(from(&ip, refresh_as(CLIENT, Some("wrong"), "g.s"))).await;
        wrong_secret.expect_error(401, "invalid_client");
        let no_secret = env.send(from(&ip, refresh_as(CLIENT, None, "g.s"))).await;
        no_secret.expect_error(401, "invalid_client");
        let bad_token = env.send(from(&ip, refresh_as(PUBLIC, None, "g.s"))).await;
        bad_token.expect_error(400, "invalid_grant");
    }
    assert_eq!(confidential_exchange(&env, "127.0.0.5").await.status, 200, "the confidential victim");
    assert_eq!(public_exchange(&env, "127.0.0.5").await.status, 200, "the public victim");
}

#[tokio::test]
async fn a_confidential_client_counts_once_its_secret_checked_out() {
    let env =
        limited(RateLimits { token_per_client: Some(RateLimit::per(2, 10)), ..RateLimits::off() }).await;
    assert_eq!(confidential_exchange(&env, "127.0.0.1").await.status, 200);
    // Authenticated, with a bad refresh token: it counts.
    env.send(from("127.0.0.2", refresh_as(CLIENT, Some(SECRET), "g.s")))
        .await
        .expect_error(400, "invalid_grant");
    expect_429(&confidential_exchange(&env, "127.0.0.3").await, 5);
    // While it waits, a wrong secret is still told so (and spends nothing of it).
    env.send(from("127.0.0.4", refresh_as(CLIENT, Some("wrong"), "g.s")))
        .await
        .expect_error(401, "invalid_client");
    env.clock.advance(5);
    assert_eq!(confidential_exchange(&env, "127.0.0.1").await.status, 200);
    expect_429(&confidential_exchange(&env, "127.0.0.1").await, 5);
}

#[tokio::test]
async fn a_public_client_counts_once_its_code_checked_out() {
    let env =
        limited(RateLimits { token_per_client: Some(RateLimit::per(2, 10)), ..RateLimits::off() }).await;
    assert_eq!(public_exchange(&env, "127.0.0.1").await.status, 200);
    assert_eq!(public_exchange(&env, "127.0.0.2").await.status, 200);
    // Over the limit, but the code is spent: answered, and the client owes it.
    assert_eq!(public_exchange(&env, "127.0.0.3").await.status, 200);
    expect_429(&public_exchange(&env, "127.0.0.1").await, 5);
    // Each refill pays the owed request; the next one is answered and owed
    // in turn: one per refill (5 s), as for any client, not two.
    for _ in 0..3 {
        env.clock.advance(5);
        assert_eq!(public_exchange(&env, "127.0.0.1").await.status, 200);
        expect_429(&public_exchange(&env, "127.0.0.2").await, 5);
    }
}

#[tokio::test]
async fn introspection_and_revocation_are_limited_per_address() {
    let env = limited(RateLimits {
        introspect_per_ip: Some(RateLimit::per(3, 60)),
        revoke_per_ip: Some(RateLimit::per(2, 60)),
        ..RateLimits::off()
    })
    .await;
    let guess = |path: &str, secret: &str| form_basic(path, &[("token", "g.s")], CLIENT, secret);
    for i in 0..3 {
        let answer = env.send(from("127.0.0.2", guess("/introspect", &format!("guess-{i}")))).await;
        answer.expect_error(401, "invalid_client");
    }
    let refused = env.send(from("127.0.0.2", guess("/introspect", SECRET))).await;
    expect_429(&refused, 20);
    assert_eq!(refused.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        env.send(from("127.0.0.3", guess("/introspect", SECRET))).await.status,
        200,
        "another address"
    );
    for i in 0..2 {
        let answer = env.send(from("127.0.0.2", guess("/revoke", &format!("guess-{i}")))).await;
        answer.expect_error(401, "invalid_client");
    }
    expect_429(&env.send(from("127.0.0.2", guess("/revoke", SECRET))).await, 30);
    assert_eq!(env.send(from("127.0.0.3", guess("/revoke", SECRET))).await.status, 200);
    env.clock.advance(30);
    assert_eq!(env.send(from("127.0.0.2", guess("/revoke", SECRET))).await.status, 200);
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
        if key == CLIENT {
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
    let blocked =
        form_basic("/token", &[("grant_type", "refresh_token"), ("refresh_token", "g.s")], CLIENT, SECRET);
    expect_429(&Answer::from(oauth.handle(from("192.0.2.1", blocked)).await), 7);
    let token = || form("/introspect", &[("token", "g.s"), ("client_id", PUBLIC)]);
    assert_eq!(oauth.handle(from("192.0.2.1", token())).await.status(), 200);
    let token = form("/revoke", &[("token", "g.s"), ("client_id", PUBLIC)]);
    assert_eq!(oauth.handle(from("192.0.2.1", token)).await.status(), 200);
    assert_eq!(
        *calls.0.lock().unwrap(),
        vec![
            (Bucket::RegisterPerIp, "192.0.2.1".to_string()),
            (Bucket::RegisterTotal, String::new()),
            (Bucket::TokenPerIp, "192.0.2.1".to_string()),
            (Bucket::TokenPerClient, CLIENT.to_string()),
            (Bucket::IntrospectPerIp, "192.0.2.1".to_string()),
            (Bucket::RevokePerIp, "192.0.2.1".to_string()),
        ]
    );
}
