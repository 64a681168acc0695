//! The happy flow.

use crate::support::*;

#[tokio::test]
async fn full_flow_through_handle_authorize_request_and_authenticate() {
    let env = env().await;
    let code = env.code().await;
    let answer = env.exchange(&code).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    assert_eq!(answer.header("pragma"), Some("no-cache"));
    assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
    let body = answer.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "read write");
    let access = body["access_token"].as_str().unwrap();
    let refresh = body["refresh_token"].as_str().unwrap();

    let info = env.oauth.authenticate(&bearer(access), &["read"]).await.unwrap();
    assert_eq!(info.client_id, CLIENT);
    assert_eq!(info.subject.as_deref(), Some("alice"));
    assert_eq!(info.props["tenant"], "acme");
    assert_eq!(info.resource, RESOURCE);

    let rotated = env.refresh(refresh, &[]).await;
    assert_eq!(rotated.status, 200);
    let next = rotated.json();
    assert_ne!(next["refresh_token"], body["refresh_token"]);
    assert_eq!(env.auth_status(next["access_token"].as_str().unwrap()).await, 200);
}

#[tokio::test]
async fn public_client_uses_pkce_without_a_secret_on_any_loopback_port() {
    let env = env().await;
    let redirect_uri = "http://127.0.0.1:53117/cb";
    let code = env.code_with(PUBLIC, redirect_uri, &[]).await;
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri),
        ("code_verifier", VERIFIER),
        ("client_id", PUBLIC),
    ];
    let answer = env.send(form("/token", &pairs)).await;
    assert_eq!(answer.status, 200, "{}", answer.json());
    assert_eq!(env.auth_status(answer.json()["access_token"].as_str().unwrap()).await, 200);
}

#[tokio::test]
async fn redirect_helpers_answer_302_and_303_without_caching() {
    let found = Answer::from(redirect("https://app.example/cb?code=x"));
    assert_eq!(found.status, StatusCode::FOUND);
    assert_eq!(found.header("location"), Some("https://app.example/cb?code=x"));
    assert_eq!(found.header("cache-control"), Some("no-store"));
    let other = Answer::from(see_other("https://app.example/cb"));
    assert_eq!(other.status, StatusCode::SEE_OTHER);
    assert_eq!(other.header("location"), Some("https://app.example/cb"));
}

/// RFC 9700 §4.14.2, as an attacker would try it: whoever refreshes a stolen
/// refresh token first, the other party's use of it after the grace period
/// is reuse and ends the grant for both, instead of sharing one chain.
#[tokio::test]
async fn refresh_reuse_after_the_grace_period_revokes_the_grant() {
    let env = env().await;
    let (_, stolen) = env.tokens().await;
    let first = env.refresh(&stolen, &[]).await;
    assert_eq!(first.status, 200);
    let first = first.json();
    env.clock.advance(1);
    let retry = env.refresh(&stolen, &[]).await;
    assert_eq!(retry.status, 200, "within the grace: a retry");
    assert_eq!(retry.json()["refresh_token"], first["refresh_token"], "the same successor");
    env.clock.advance(simply_mcp_oauth::config::DEFAULT_REFRESH_GRACE - 1);
    env.refresh(&stolen, &[]).await.expect_error(400, "invalid_grant");
    let successor = first["refresh_token"].as_str().unwrap();
    env.refresh(successor, &[]).await.expect_error(400, "invalid_grant");
    assert_eq!(env.auth_status(first["access_token"].as_str().unwrap()).await, 401, "the grant is gone");
}
