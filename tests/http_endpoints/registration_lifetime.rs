//! Registrations that never complete an authorization expire
//! (`ProviderConfig::registration_lifetime`), and a registration flood
//! leaves the store bounded: on the fake clock.

#[cfg(feature = "rate-limit")]
use simply_mcp_oauth::config::{RateLimit, RateLimits};
use simply_mcp_oauth::http::ClientIp;

use crate::support::*;

const LIFETIME: u64 = 600;
const REDIRECT_URI: &str = "http://localhost:4444/cb";

async fn register(env: &Env, ip: &str) -> Answer {
    let body = json!({"redirect_uris": ["http://localhost/cb"], "token_endpoint_auth_method": "none"});
    let mut request =
        request(Method::POST, "/register", &[("content-type", "application/json")], body.to_string());
    request.extensions_mut().insert(ClientIp(ip.to_string()));
    env.send(request).await
}

async fn registered(env: &Env) -> String {
    let answer = register(env, "192.0.2.1").await;
    assert_eq!(answer.status, 201);
    answer.json()["client_id"].as_str().unwrap().to_string()
}

async fn exchange(env: &Env, client_id: &str) -> Answer {
    let code = env.code_with(client_id, REDIRECT_URI, &[]).await;
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", VERIFIER),
        ("client_id", client_id),
    ];
    env.send(form("/token", &pairs)).await
}

async fn authorize_status(env: &Env, client_id: &str) -> u16 {
    let challenge = pkce_s256(VERIFIER);
    let mut pairs = auth_params(client_id, REDIRECT_URI);
    pairs.push(("code_challenge", &challenge));
    match env.oauth.authorize_request(&authorize_uri(&pairs)).await {
        Ok(_) => 200,
        Err(response) => response.status().as_u16(),
    }
}

#[tokio::test]
async fn a_registration_that_never_completes_expires() {
    let env = env_with(|c| c.registration_lifetime = LIFETIME).await;
    let client_id = registered(&env).await;
    env.clock.advance(LIFETIME - 1);
    assert_eq!(authorize_status(&env, &client_id).await, 200, "alive within its lifetime");
    env.clock.advance(1);
    // Past the client cache's lifetime too: what storage says decides.
    env.clock.advance(60);
    assert_eq!(authorize_status(&env, &client_id).await, 400, "an expired registration is unknown");
    let pairs =
        [("grant_type", "refresh_token"), ("refresh_token", "x.y"), ("client_id", client_id.as_str())];
    env.send(form("/token", &pairs)).await.expect_error(401, "invalid_client");
    assert_eq!(env.stats().await.clients, 2, "only the configured clients count");
    env.oauth.provider().sweep().await.unwrap();
    assert_eq!(env.oauth.provider().list_clients().await.unwrap().len(), 2, "and the record is gone");
}

#[tokio::test]
async fn a_registration_that_gets_its_first_token_stays() {
    let env = env_with(|c| c.registration_lifetime = LIFETIME).await;
    let client_id = registered(&env).await;
    let stored = env.oauth.provider().storage().get_client(&client_id).await.unwrap().unwrap();
    assert_eq!(stored.expires_at, Some(START + LIFETIME));
    env.clock.advance(LIFETIME / 2);
    assert_eq!(exchange(&env, &client_id).await.status, 200);
    let stored = env.oauth.provider().storage().get_client(&client_id).await.unwrap().unwrap();
    assert_eq!(stored.expires_at, None, "kept for good by its first token");
    env.clock.advance(10 * LIFETIME);
    env.oauth.provider().sweep().await.unwrap();
    assert_eq!(authorize_status(&env, &client_id).await, 200);
    assert_eq!(exchange(&env, &client_id).await.status, 200);
}

#[tokio::test]
async fn the_lifetime_is_at_most_a_day() {
    let config = ProviderConfig { registration_lifetime: 86_401, ..base_config(ISSUER) };
    let error = config.validate().unwrap_err();
    assert_eq!(error.field, "registrationLifetime");
    assert_eq!(ProviderConfig::new(ISSUER).registration_lifetime, 86_400);
}

/// Twelve hours of five registrations every ten seconds, each from a new
/// address: the ceiling for everyone admits `limit` per `period` (after a
/// first burst of `limit`), and each registration lives `lifetime`, so the
/// store never holds more than `limit × (1 + lifetime / period)` of them,
/// without a sweeper: registrations sweep what is due before they are stored.
#[cfg(feature = "rate-limit")]
#[tokio::test]
async fn a_registration_flood_leaves_the_store_bounded() {
    const LIMIT: u32 = 60;
    const PERIOD: u64 = 3600;
    let env = env_with(|c| {
        c.registration_lifetime = PERIOD;
        c.rate_limits =
            RateLimits { register_total: Some(RateLimit::per(LIMIT, PERIOD)), ..RateLimits::default() };
    })
    .await;
    let bound = LIMIT as usize * (1 + (PERIOD / PERIOD) as usize) + 2;
    let (mut accepted, mut refused, mut most_held) = (0, 0, 0);
    for step in 0..(12 * 3600 / 10) {
        for i in 0..5 {
            let n = step * 5 + i;
            let ip = format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255);
            match register(&env, &ip).await.status.as_u16() {
                201 => accepted += 1,
                429 => refused += 1,
                other => panic!("status {other}"),
            }
        }
        let held = env.oauth.provider().storage().list_clients().await.unwrap().len();
        most_held = most_held.max(held);
        env.clock.advance(10);
    }
    assert!(accepted >= LIMIT as usize * 12, "the flood kept registering: {accepted} accepted");
    assert!(refused > 20_000, "{refused} refused");
    assert!(most_held <= bound, "the store held {most_held} clients, over {bound}");
    assert!(most_held >= LIMIT as usize, "{most_held}: the bound is not vacuous");
}
