//! /authorize.

use crate::support::*;

#[tokio::test]
async fn untrusted_redirects_get_an_escaped_400_page_never_a_redirect() {
    let env = env().await;
    let before = env.stats().await;
    let challenge = pkce_s256(VERIFIER);
    let attempts = [
        (CLIENT, "https://evil.example/callback"),
        (CLIENT, "javascript:alert(1)//https://app.example/callback"),
        (CLIENT, "https://app.example:8443/callback"),
        (CLIENT, "https://app.example/callback/../evil"),
        (CLIENT, "https://app.example/callback?x=1"),
        (CLIENT, "<script>alert(1)</script>"),
        (PUBLIC, "http://127.0.0.1:9999/other"),
        (PUBLIC, "http://evil.example/cb"),
        ("nobody", REDIRECT),
    ];
    for (client, redirect_uri) in attempts {
        let mut pairs = auth_params(client, redirect_uri);
        pairs.push(("code_challenge", &challenge));
        let response = env.oauth.authorize_request(&authorize_uri(&pairs)).await.unwrap_err();
        let answer = Answer::from(response);
        assert_eq!(answer.status, 400, "{client} {redirect_uri}");
        assert_eq!(answer.header("location"), None);
        assert_eq!(answer.header("content-type"), Some("text/html; charset=utf-8"));
        let html = String::from_utf8(answer.body.to_vec()).unwrap();
        assert!(html.contains("invalid_request"));
        assert!(!html.contains("<script>"), "{html}");
    }
    // Missing or repeated client_id / redirect_uri are page errors too.
    for pairs in [
        vec![("redirect_uri", REDIRECT)],
        vec![("client_id", CLIENT)],
        vec![("client_id", CLIENT), ("client_id", CLIENT), ("redirect_uri", REDIRECT)],
        vec![("client_id", CLIENT), ("redirect_uri", REDIRECT), ("redirect_uri", REDIRECT)],
    ] {
        let response = env.oauth.authorize_request(&authorize_uri(&pairs)).await.unwrap_err();
        assert_eq!(response.status(), 400);
        assert!(response.headers().get("location").is_none());
    }
    assert_eq!(env.stats().await, before);
}

#[tokio::test]
async fn errors_after_the_redirect_uri_is_trusted_redirect_with_state_and_iss() {
    let env = env().await;
    let challenge = pkce_s256(VERIFIER);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("code_challenge", &challenge), ("code_challenge_method", "plain")], "invalid_request"),
        (vec![], "invalid_request"), // missing code_challenge
        (vec![("code_challenge", "too-short")], "invalid_request"),
        (vec![("code_challenge", &challenge), ("response_type", "token")], "unsupported_response_type"),
        (vec![("code_challenge", &challenge), ("scope", "read admin")], "invalid_scope"),
        (vec![("code_challenge", &challenge), ("resource", "https://unknown.example/mcp")], "invalid_target"),
        (
            vec![("code_challenge", &challenge), ("resource", "https://auth.example.com/mcp#frag")],
            "invalid_target",
        ),
    ];
    for (extra, error) in cases {
        let mut pairs: Vec<(&str, &str)> =
            vec![("client_id", CLIENT), ("redirect_uri", REDIRECT), ("state", "s1")];
        if !extra.iter().any(|(k, _)| *k == "response_type") {
            pairs.push(("response_type", "code"));
        }
        if !extra.iter().any(|(k, _)| *k == "code_challenge_method") {
            pairs.push(("code_challenge_method", "S256"));
        }
        pairs.extend(extra);
        let answer = Answer::from(env.oauth.authorize_request(&authorize_uri(&pairs)).await.unwrap_err());
        assert_eq!(answer.status, StatusCode::FOUND, "{error}");
        assert_eq!(answer.header("cache-control"), Some("no-store"));
        let location = answer.header("location").unwrap();
        assert!(location.starts_with(REDIRECT), "{location}");
        let query = query_of(location);
        assert_eq!(query.single("error").unwrap(), Some(error), "{location}");
        assert_eq!(query.single("state").unwrap(), Some("s1"));
        assert_eq!(query.single("iss").unwrap(), Some(ISSUER));
    }
}

/// Registers a public client with `redirect_uri` through `/register`; its id.
async fn register_public(env: &Env, redirect_uri: &str) -> String {
    let ct = [("content-type", "application/json")];
    let body = json!({"redirect_uris": [redirect_uri], "token_endpoint_auth_method": "none"});
    let answer = env.send(request(Method::POST, "/register", &ct, body.to_string())).await;
    assert_eq!(answer.status, 201, "{}", answer.json());
    answer.json()["client_id"].as_str().unwrap().to_string()
}

/// Anyone may register any redirect URI, so an error found before the user
/// acted must not be sent there: that would make this server an open
/// redirector (RFC 9700 §4.11.2). A 400 page names the error and links back
/// to the client's site instead.
#[tokio::test]
async fn errors_for_registered_clients_are_pages_with_a_link_never_redirects() {
    let env = env().await;
    let evil = "https://evil.example/x";
    let client = register_public(&env, evil).await;
    let challenge = pkce_s256(VERIFIER);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("response_type", "bogus")], "unsupported_response_type"),
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("scope", "<b>admin</b>")], "invalid_scope"),
        (vec![("resource", "https://unknown.example/mcp")], "invalid_target"),
    ];
    for (extra, error) in cases {
        let mut pairs: Vec<(&str, &str)> = vec![
            ("client_id", &client),
            ("redirect_uri", evil),
            ("state", "s1"),
            ("code_challenge", &challenge),
        ];
        for name in ["response_type", "code_challenge_method"] {
            if !extra.iter().any(|(k, _)| *k == name) {
                pairs.push((name, if name == "response_type" { "code" } else { "S256" }));
            }
        }
        pairs.extend(extra);
        let answer = Answer::from(env.oauth.authorize_request(&authorize_uri(&pairs)).await.unwrap_err());
        assert_eq!(answer.status, 400, "{error}");
        assert_eq!(answer.header("location"), None, "{error}");
        assert_eq!(answer.header("content-type"), Some("text/html; charset=utf-8"));
        let html = String::from_utf8(answer.body.to_vec()).unwrap();
        assert!(html.contains(&format!("<code>{error}</code>")), "{html}");
        assert!(
            html.contains("<a href=\"https://evil.example\""),
            "a link back to the client's site: {html}"
        );
        assert!(!html.contains("<b>"), "escaped: {html}");
    }
    // A private-use scheme gets no link: a page cannot vouch for where it goes.
    let app = register_public(&env, "com.evil.app://accounts.bank.example/cb").await;
    let mut pairs = auth_params(&app, "com.evil.app://accounts.bank.example/cb");
    pairs.retain(|(k, _)| *k != "response_type");
    pairs.extend([("response_type", "bogus"), ("code_challenge", &challenge)]);
    let answer = Answer::from(env.oauth.authorize_request(&authorize_uri(&pairs)).await.unwrap_err());
    assert_eq!((answer.status.as_u16(), answer.header("location")), (400, None));
    let html = String::from_utf8(answer.body.to_vec()).unwrap();
    assert!(html.contains("unsupported_response_type") && !html.contains("<a "), "{html}");
    // The operator's configured client keeps the RFC 6749 §4.1.2.1 redirect.
    let mut pairs = auth_params(CLIENT, REDIRECT);
    pairs.retain(|(k, _)| *k != "response_type");
    pairs.extend([("response_type", "bogus"), ("code_challenge", &challenge)]);
    let answer = Answer::from(env.oauth.authorize_request(&authorize_uri(&pairs)).await.unwrap_err());
    assert_eq!(answer.status, StatusCode::FOUND);
    assert!(answer.header("location").unwrap().starts_with(REDIRECT));
}

/// The user clicked Deny: that was their act, so `access_denied` goes back
/// to a registered client's redirect URI as RFC 6749 §4.1.2.1 says.
#[tokio::test]
async fn a_denial_still_redirects_for_registered_clients() {
    let env = env().await;
    let client = register_public(&env, "https://app.example/registered").await;
    let challenge = pkce_s256(VERIFIER);
    let mut pairs = auth_params(&client, "https://app.example/registered");
    pairs.push(("code_challenge", &challenge));
    let parsed = env.oauth.authorize_request(&authorize_uri(&pairs)).await.unwrap();
    let location = env.oauth.provider().deny_authorization(&parsed);
    assert!(location.starts_with("https://app.example/registered?"), "{location}");
    assert_eq!(query_of(&location).single("error").unwrap(), Some("access_denied"));
}

#[tokio::test]
async fn wrong_pkce_verifier_and_redirect_uri_fail_the_exchange() {
    let env = env().await;
    let code = env.code().await;
    let before = env.stats().await;
    let cases = [
        ("another-verifier-of-at-least-forty-three-characters-0000", REDIRECT),
        ("short", REDIRECT),
        (VERIFIER, "https://app.example/other"),
    ];
    for (verifier, redirect_uri) in cases {
        let pairs = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ];
        env.send(form_basic("/token", &pairs, CLIENT, SECRET)).await.expect_error(400, "invalid_grant");
    }
    // Another client cannot redeem it either.
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", PUBLIC),
    ];
    env.send(form("/token", &pairs)).await.expect_error(400, "invalid_grant");
    assert_eq!(env.stats().await, before);
}
