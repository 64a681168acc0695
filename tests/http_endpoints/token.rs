//! /token: parameters and client authentication.

use crate::support::*;

#[tokio::test]
async fn missing_and_repeated_parameters_are_invalid_request() {
    let env = env().await;
    let code = env.code().await;
    let before = env.stats().await;
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![], "invalid_request"),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
            "invalid_request",
        ),
        (
            vec![("grant_type", "authorization_code"), ("code", &code), ("code_verifier", VERIFIER)],
            "invalid_request",
        ),
        (
            vec![("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)],
            "invalid_request",
        ),
        (vec![("grant_type", "refresh_token")], "invalid_request"),
        (vec![("grant_type", "client_credentials"), ("grant_type", "client_credentials")], "invalid_request"),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
            "invalid_request",
        ),
        (
            vec![("grant_type", "client_credentials"), ("scope", "read"), ("scope", "write")],
            "invalid_request",
        ),
        (
            vec![("grant_type", "client_credentials"), ("resource", RESOURCE), ("resource", RESOURCE)],
            "invalid_target",
        ),
        (vec![("grant_type", "password"), ("username", "a"), ("password", "b")], "unsupported_grant_type"),
        (vec![("grant_type", "implicit")], "unsupported_grant_type"),
    ];
    for (pairs, error) in cases {
        let answer = env.send(form_basic("/token", &pairs, CLIENT, SECRET)).await;
        answer.expect_error(400, error);
        assert_eq!(answer.header("pragma"), Some("no-cache"));
    }
    assert_eq!(env.stats().await, before);
    // The code survived all of that.
    assert_eq!(env.exchange(&code).await.status, 200);
}

#[tokio::test]
async fn client_authentication_failures() {
    let env = env().await;
    let code = env.code().await;
    let before = env.stats().await;
    let grant = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut pairs = grant.to_vec();
        pairs.extend_from_slice(extra);
        pairs
    };

    // Wrong secret over Basic: 401 with a Basic challenge.
    let answer = env.send(form_basic("/token", &grant, CLIENT, "wrong")).await;
    answer.expect_error(401, "invalid_client");
    let challenge = answer.header("www-authenticate").unwrap();
    assert!(challenge.starts_with("Basic realm=\""), "{challenge}");
    assert!(!answer.json()["error_description"].as_str().unwrap().contains("wrong"));

    // Unknown client over Basic, and in the body.
    env.send(form_basic("/token", &grant, "nobody", SECRET)).await.expect_error(401, "invalid_client");
    let answer = env.send(form("/token", &with(&[("client_id", "nobody"), ("client_secret", SECRET)]))).await;
    answer.expect_error(401, "invalid_client");
    assert_eq!(answer.header("www-authenticate"), None);

    // Wrong secret in the body; no secret at all for a confidential client.
    env.send(form("/token", &with(&[("client_id", CLIENT), ("client_secret", "nope")])))
        .await
        .expect_error(401, "invalid_client");
    env.send(form("/token", &with(&[("client_id", CLIENT)]))).await.expect_error(401, "invalid_client");
    // No client identification at all.
    env.send(form("/token", &grant)).await.expect_error(401, "invalid_client");
    // A secret without an id.
    env.send(form("/token", &with(&[("client_secret", SECRET)]))).await.expect_error(400, "invalid_request");

    // Basic and body credentials together.
    let both = with(&[("client_id", CLIENT), ("client_secret", SECRET)]);
    env.send(form_basic("/token", &both, CLIENT, SECRET)).await.expect_error(400, "invalid_request");
    // Basic with a different body client_id.
    env.send(form_basic("/token", &with(&[("client_id", PUBLIC)]), CLIENT, SECRET))
        .await
        .expect_error(400, "invalid_request");
    // Malformed Basic and other schemes.
    for auth in
        ["Basic not-base64!", "Basic", "Bearer abc", &format!("Basic {}", STANDARD.encode("no-colon"))]
    {
        let headers = [("content-type", "application/x-www-form-urlencoded"), ("authorization", auth)];
        let answer = env.send(request(Method::POST, "/token", &headers, encode(&grant))).await;
        answer.expect_error(401, "invalid_client");
        assert!(answer.header("www-authenticate").unwrap().starts_with("Basic "), "{auth}");
    }
    // Two Authorization headers.
    let auth = basic(CLIENT, SECRET);
    let headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("authorization", auth.as_str()),
        ("authorization", auth.as_str()),
    ];
    env.send(request(Method::POST, "/token", &headers, encode(&grant)))
        .await
        .expect_error(400, "invalid_request");

    assert_eq!(env.stats().await, before);
    // The client_secret_post method works once alone.
    let answer = env.send(form("/token", &with(&[("client_id", CLIENT), ("client_secret", SECRET)]))).await;
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn basic_credentials_are_form_urlencoded_before_base64() {
    let id = "weird:id&x";
    let secret = "p@ss word:+%";
    let env = env_with(|c| {
        c.clients.push(ClientConfig {
            client_id: id.into(),
            client_secret: Some(secret.into()),
            redirect_uris: vec![REDIRECT.into()],
            scopes: vec!["read".into()],
        })
    })
    .await;
    let answer = env.send(form_basic("/token", &[("grant_type", "client_credentials")], id, secret)).await;
    assert_eq!(answer.status, 200, "{}", answer.json());
}
