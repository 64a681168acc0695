//! Codes, refresh tokens and expiry.

use crate::support::*;

#[tokio::test]
async fn replayed_code_fails_and_revokes_the_first_tokens() {
    let env = env().await;
    let code = env.code().await;
    let first = env.exchange(&code).await.json();
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(env.auth_status(access).await, 200);

    let replay = env.exchange(&code).await;
    replay.expect_error(400, "invalid_grant");
    assert_eq!(env.auth_status(access).await, 401);
    env.refresh(first["refresh_token"].as_str().unwrap(), &[]).await.expect_error(400, "invalid_grant");
    let stats = env.stats().await;
    assert_eq!((stats.tokens, stats.refresh_tokens), (0, 0));
}

#[tokio::test]
async fn refresh_retry_returns_the_same_successor_and_reuse_revokes_the_grant() {
    let env = env().await;
    let (_, r0) = env.tokens().await;
    let first = env.refresh(&r0, &[]).await.json();
    let r1 = first["refresh_token"].as_str().unwrap().to_string();
    // The response was "lost": the client retries with r0 and gets r1 again.
    let retry = env.refresh(&r0, &[]).await;
    assert_eq!(retry.status, 200);
    assert_eq!(retry.json()["refresh_token"], r1.as_str());
    // r1 is used; r0 is now reuse, which ends the whole grant.
    let second = env.refresh(&r1, &[]).await.json();
    let r2 = second["refresh_token"].as_str().unwrap();
    let a2 = second["access_token"].as_str().unwrap();
    assert_eq!(env.auth_status(a2).await, 200);
    env.refresh(&r0, &[]).await.expect_error(400, "invalid_grant");
    env.refresh(r2, &[]).await.expect_error(400, "invalid_grant");
    assert_eq!(env.auth_status(a2).await, 401);
}

#[tokio::test]
async fn downscoping_is_allowed_and_upscoping_refused() {
    let env = env().await;
    let (_, refresh) = env.tokens().await;
    let narrow = env.refresh(&refresh, &[("scope", "read")]).await;
    assert_eq!(narrow.status, 200);
    let body = narrow.json();
    assert_eq!(body["scope"], "read");
    let access = body["access_token"].as_str().unwrap();
    assert!(env.oauth.authenticate(&bearer(access), &["read"]).await.is_ok());
    let denied = Answer::from(env.oauth.authenticate(&bearer(access), &["write"]).await.unwrap_err());
    denied.expect_error(403, "insufficient_scope");

    // A grant of "read" only cannot be widened.
    let code = env.code_with(CLIENT, REDIRECT, &[("scope", "read")]).await;
    let tokens = env.exchange(&code).await.json();
    let before = env.stats().await;
    let wider = env.refresh(tokens["refresh_token"].as_str().unwrap(), &[("scope", "read write")]).await;
    wider.expect_error(400, "invalid_scope");
    env.refresh(tokens["refresh_token"].as_str().unwrap(), &[("scope", "bad\"scope")])
        .await
        .expect_error(400, "invalid_scope");
    assert_eq!(env.stats().await, before);
}

#[tokio::test]
async fn expired_code_access_and_refresh_tokens_are_refused() {
    let env = env().await;
    let code = env.code().await;
    env.clock.advance(601);
    env.exchange(&code).await.expect_error(400, "invalid_grant");

    let (access, refresh) = env.tokens().await;
    env.clock.advance(3599);
    assert_eq!(env.auth_status(&access).await, 200);
    env.clock.advance(2);
    let expired = Answer::from(env.oauth.authenticate(&bearer(&access), &[]).await.unwrap_err());
    expired.expect_error(401, "invalid_token");
    assert!(expired.header("www-authenticate").unwrap().contains("error=\"invalid_token\""));
    // The refresh token outlives the access token...
    let next = env.refresh(&refresh, &[]).await;
    assert_eq!(next.status, 200);
    // ...but not its own lifetime.
    env.clock.advance(86_401);
    env.refresh(next.json()["refresh_token"].as_str().unwrap(), &[]).await.expect_error(400, "invalid_grant");
}

#[tokio::test]
async fn resource_indicators_bind_tokens_to_their_audience() {
    let env = env().await;
    let code = env.code().await;
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("resource", "https://other.example/api"),
    ];
    env.send(form_basic("/token", &pairs, CLIENT, SECRET)).await.expect_error(400, "invalid_target");

    // A grant for the extra resource: valid there, refused at the default one.
    let code = env.code_with(CLIENT, REDIRECT, &[("resource", "https://other.example/api")]).await;
    let access = env.exchange(&code).await.json()["access_token"].as_str().unwrap().to_string();
    let request = bearer(&access);
    assert!(env.oauth.authenticate_for(&request, "https://other.example/api/", &[]).await.is_ok());
    let wrong = Answer::from(env.oauth.authenticate(&request, &[]).await.unwrap_err());
    wrong.expect_error(401, "invalid_token");
    let challenge = wrong.header("www-authenticate").unwrap();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains("audience"), "{challenge}");
}

#[tokio::test]
async fn client_credentials_for_confidential_clients_only() {
    let env = env().await;
    let answer = env
        .send(form_basic(
            "/token",
            &[("grant_type", "client_credentials"), ("scope", "read")],
            CLIENT,
            SECRET,
        ))
        .await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    assert!(body.get("refresh_token").is_none());
    assert_eq!(body["scope"], "read");
    let token = bearer(body["access_token"].as_str().unwrap());
    // A route accepts a token without a user only when it opts in (SEP-1046).
    let machines = MachineClients::Allowed;
    let info = env.oauth.authenticate_with(&token, RESOURCE, &["read"], machines).await.unwrap();
    assert_eq!(info.subject, None);
    assert_eq!(info.client_id, CLIENT);

    let before = env.stats().await;
    let public =
        env.send(form("/token", &[("grant_type", "client_credentials"), ("client_id", PUBLIC)])).await;
    public.expect_error(400, "unauthorized_client");
    let scope = env
        .send(form_basic(
            "/token",
            &[("grant_type", "client_credentials"), ("scope", "admin")],
            CLIENT,
            SECRET,
        ))
        .await;
    scope.expect_error(400, "invalid_scope");
    assert_eq!(env.stats().await, before);
}

/// On `main`, a `client_credentials` token (no user) passed `authenticate`
/// like a user's: every protected route served machine clients. Now it is
/// `403 insufficient_scope` unless the route opts in.
#[tokio::test]
async fn routes_refuse_tokens_without_a_user_unless_they_opt_in() {
    let env = env().await;
    let pairs = [("grant_type", "client_credentials")];
    let answer = env.send(form_basic("/token", &pairs, CLIENT, SECRET)).await;
    let token = bearer(answer.json()["access_token"].as_str().unwrap());
    let refused = Answer::from(env.oauth.authenticate(&token, &["read"]).await.unwrap_err());
    refused.expect_error(403, "insufficient_scope");
    let challenge = refused.header("www-authenticate").unwrap();
    assert!(challenge.contains("error=\"insufficient_scope\""), "{challenge}");
    assert!(challenge.contains("resource_metadata="), "{challenge}");
    let refused = env.oauth.authenticate_with(&token, RESOURCE, &[], MachineClients::Refused).await;
    assert_eq!(refused.unwrap_err().status(), 403, "no scope needed: still refused");
    assert!(env.oauth.authenticate_with(&token, RESOURCE, &["read"], MachineClients::Allowed).await.is_ok());

    // A user's token passes either way.
    let (access, _) = env.tokens().await;
    assert!(env.oauth.authenticate(&bearer(&access), &["read"]).await.is_ok());
    let allowed = env.oauth.authenticate_with(&bearer(&access), RESOURCE, &[], MachineClients::Allowed);
    assert!(allowed.await.is_ok());
}
