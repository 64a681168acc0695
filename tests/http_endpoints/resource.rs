//! The resource side.

use crate::support::*;

#[tokio::test]
async fn bearer_challenges_follow_rfc_6750_and_9728() {
    let env = env().await;
    let metadata = "https://auth.example.com/.well-known/oauth-protected-resource/mcp";

    let none = Request::builder().uri("/mcp").body(()).unwrap();
    let missing = Answer::from(env.oauth.authenticate(&none, &[]).await.unwrap_err());
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.header("www-authenticate"),
        Some(format!("Bearer resource_metadata=\"{metadata}\"").as_str())
    );
    // Another scheme counts as no credentials: no error attribute either.
    let other = Request::builder().uri("/mcp").header("authorization", basic("a", "b")).body(()).unwrap();
    let answer = Answer::from(env.oauth.authenticate(&other, &[]).await.unwrap_err());
    assert_eq!(answer.status, 401);
    assert!(!answer.header("www-authenticate").unwrap().contains("error="));

    let invalid = Answer::from(env.oauth.authenticate(&bearer("not-a-token"), &[]).await.unwrap_err());
    invalid.expect_error(401, "invalid_token");
    let challenge = invalid.header("www-authenticate").unwrap();
    assert!(
        challenge.starts_with(&format!(
            "Bearer resource_metadata=\"{metadata}\", error=\"invalid_token\", error_description=\""
        )),
        "{challenge}"
    );
    assert!(!challenge.contains("not-a-token"));

    let malformed = Request::builder().uri("/mcp").header("authorization", "Bearer a b").body(()).unwrap();
    let answer = Answer::from(env.oauth.authenticate(&malformed, &[]).await.unwrap_err());
    answer.expect_error(400, "invalid_request");
    assert!(answer.header("www-authenticate").unwrap().contains("error=\"invalid_request\""));

    let (access, _) = env.tokens().await;
    // Only the header is a bearer method: a token in the query is ignored.
    let in_query = Request::builder().uri(format!("/mcp?access_token={access}")).body(()).unwrap();
    assert_eq!(env.oauth.authenticate(&in_query, &[]).await.unwrap_err().status(), 401);
    let lower =
        Request::builder().uri("/mcp").header("authorization", format!("bearer {access}")).body(()).unwrap();
    assert!(env.oauth.authenticate(&lower, &["read", "write"]).await.is_ok());

    let code = env.code_with(CLIENT, REDIRECT, &[("scope", "read")]).await;
    let read_only = env.exchange(&code).await.json()["access_token"].as_str().unwrap().to_string();
    let forbidden =
        Answer::from(env.oauth.authenticate(&bearer(&read_only), &["read", "write"]).await.unwrap_err());
    forbidden.expect_error(403, "insufficient_scope");
    let challenge = forbidden.header("www-authenticate").unwrap();
    assert!(challenge.contains("error=\"insufficient_scope\""), "{challenge}");
    assert!(challenge.contains("scope=\"read write\""), "{challenge}");
    assert!(challenge.contains(&format!("resource_metadata=\"{metadata}\"")), "{challenge}");
}

#[tokio::test]
async fn authenticate_futures_are_send_for_any_body_type() {
    fn assert_send<T: Send>(_: &T) {}
    let env = env().await;
    // A body that is Send but not Sync, like axum's.
    let request = Request::builder().uri("/mcp").body(std::cell::Cell::new(0u8)).unwrap();
    let future = env.oauth.authenticate(&request, &[]);
    assert_send(&future);
    assert_eq!(future.await.unwrap_err().status(), 401);
    let authorize = env.oauth.authorize_request(&request);
    assert_send(&authorize);
    assert_eq!(authorize.await.unwrap_err().status(), 400);
}

#[tokio::test]
async fn an_unreachable_store_is_503_with_retry_after() {
    let (env, down) = flaky_env().await;
    let answer =
        env.send(form_basic("/token", &[("grant_type", "client_credentials")], CLIENT, SECRET)).await;
    assert_eq!(answer.status, 200);
    let access = answer.json()["access_token"].as_str().unwrap().to_string();

    down.store(true, Ordering::SeqCst);
    let token = env.send(form_basic("/token", &[("grant_type", "client_credentials")], CLIENT, SECRET)).await;
    token.expect_error(503, "temporarily_unavailable");
    assert_eq!(token.header("retry-after"), Some("5"));
    let machines = MachineClients::Allowed;
    let check = || env.oauth.authenticate_with(&bearer(&access), RESOURCE, &[], machines);
    let bearer_answer = Answer::from(check().await.unwrap_err());
    bearer_answer.expect_error(503, "temporarily_unavailable");
    assert_eq!(bearer_answer.header("retry-after"), Some("5"));
    let revoke = env.send(form_basic("/revoke", &[("token", &access)], CLIENT, SECRET)).await;
    revoke.expect_error(503, "temporarily_unavailable");
    // Configured clients are cached by the provider; a client it has not read
    // yet (registered by another instance, say) needs the store.
    let uncached = authorize_uri(&auth_params("registered-elsewhere", REDIRECT));
    let page = env.oauth.authorize_request(&uncached).await.unwrap_err();
    assert_eq!(page.status(), 503);
    assert!(page.headers().get("location").is_none());

    down.store(false, Ordering::SeqCst);
    assert!(check().await.is_ok());
}

/// Every 401 and 403 names the scopes the route needs (MCP authorization:
/// the client asks for them when it starts an authorization), and never
/// `offline_access`.
#[tokio::test]
async fn every_challenge_names_the_routes_scopes_but_never_offline_access() {
    let env = env().await;
    let none = Request::builder().uri("/mcp").body(()).unwrap();
    let required = ["read", "offline_access", "write"];
    let missing = Answer::from(env.oauth.authenticate(&none, &required).await.unwrap_err());
    assert_eq!(missing.status, 401);
    let challenge = missing.header("www-authenticate").unwrap();
    assert!(challenge.ends_with(", scope=\"read write\""), "{challenge}");
    assert!(!challenge.contains("error="), "no credentials, no error (RFC 6750 §3.1): {challenge}");
    let invalid = Answer::from(env.oauth.authenticate(&bearer("x.y"), &required).await.unwrap_err());
    let challenge = invalid.header("www-authenticate").unwrap();
    assert!(
        challenge.contains("error=\"invalid_token\"") && challenge.contains("scope=\"read write\""),
        "{challenge}"
    );
    let code = env.code_with(CLIENT, REDIRECT, &[("scope", "read")]).await;
    let read_only = env.exchange(&code).await.json()["access_token"].as_str().unwrap().to_string();
    let forbidden = Answer::from(env.oauth.authenticate(&bearer(&read_only), &required).await.unwrap_err());
    forbidden.expect_error(403, "insufficient_scope");
    let challenge = forbidden.header("www-authenticate").unwrap();
    assert!(
        challenge.contains("scope=\"read write\"") && !challenge.contains("offline_access"),
        "{challenge}"
    );
    // A route that needs no scope names none.
    let bare = Answer::from(env.oauth.authenticate(&none, &["offline_access"]).await.unwrap_err());
    assert!(!bare.header("www-authenticate").unwrap().contains("scope="));
}
