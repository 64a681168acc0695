//! /register.

use crate::support::*;

#[tokio::test]
async fn registration_creates_a_client_that_can_authorize() {
    let env = env().await;
    let ct = [("content-type", "application/json; charset=utf-8")];
    let body = json!({
        "redirect_uris": ["http://localhost/cb"],
        "token_endpoint_auth_method": "none",
        "client_name": "<b>Inspector</b>",
        "unknown_field": 1,
    });
    let answer = env.send(request(Method::POST, "/register", &ct, body.to_string())).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.json());
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
    let client = answer.json();
    assert!(client.get("client_secret").is_none());
    assert_eq!(client["token_endpoint_auth_method"], "none");
    let client_id = client["client_id"].as_str().unwrap();
    assert_eq!(env.stats().await.clients, 3);

    let redirect_uri = "http://localhost:4444/cb";
    let code = env.code_with(client_id, redirect_uri, &[]).await;
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri),
        ("code_verifier", VERIFIER),
        ("client_id", client_id),
    ];
    assert_eq!(env.send(form("/token", &pairs)).await.status, 200);

    // A confidential registration gets its secret once, and it works.
    let body = json!({"redirect_uris": ["https://c.example/cb"]});
    let confidential = env.send(request(Method::POST, "/register", &ct, body.to_string())).await.json();
    let (id, secret) =
        (confidential["client_id"].as_str().unwrap(), confidential["client_secret"].as_str().unwrap());
    let answer = env.send(form_basic("/introspect", &[("token", "unknown")], id, secret)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["active"], false);
    let wrong = env.send(form_basic("/introspect", &[("token", "unknown")], id, "wrong")).await;
    assert_eq!(wrong.status, 401);
}

/// Open registration is how a user connects a new app, after consent; it
/// must never mint tokens that stand for no user. On `main`, registering
/// `client_credentials` succeeded, and its token (every scope, no subject)
/// was accepted by the protected route.
#[tokio::test]
async fn registration_never_grants_client_credentials() {
    let env = env().await;
    let before = env.stats().await;
    let ct = [("content-type", "application/json")];
    for body in [
        json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_post"}),
        json!({"grant_types": ["client_credentials"]}),
        json!({"redirect_uris": ["https://c.example/cb"],
               "grant_types": ["authorization_code", "refresh_token", "client_credentials"]}),
        json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}),
    ] {
        let answer = env.send(request(Method::POST, "/register", &ct, body.to_string())).await;
        answer.expect_error(400, "invalid_client_metadata");
        let description = answer.json()["error_description"].as_str().unwrap().to_string();
        assert!(description.contains("client_credentials"), "{description}");
    }
    assert_eq!(env.stats().await, before, "nothing stored");
}

#[tokio::test]
async fn malformed_registrations_are_refused_and_store_nothing() {
    let env = env().await;
    let before = env.stats().await;
    let ct = [("content-type", "application/json")];
    let cases = [
        ("{", "invalid_client_metadata"),
        ("", "invalid_client_metadata"),
        ("[]", "invalid_client_metadata"),
        ("[[\"https://x.example/cb\"]]", "invalid_client_metadata"),
        ("null", "invalid_client_metadata"),
        (r#"{"redirect_uris":"https://x.example/cb"}"#, "invalid_client_metadata"),
        (
            r#"{"redirect_uris":["https://x.example/cb"],"redirect_uris":["https://y.example/cb"]}"#,
            "invalid_client_metadata",
        ),
        (
            r#"{"redirect_uris":["https://x.example/cb"],"token_endpoint_auth_method":"private_key_jwt"}"#,
            "invalid_client_metadata",
        ),
        (r#"{"redirect_uris":["https://x.example/cb"],"scope":"admin"}"#, "invalid_client_metadata"),
        (r#"{"redirect_uris":["http://evil.example/cb"]}"#, "invalid_redirect_uri"),
        (r#"{"redirect_uris":["javascript:alert(1)"]}"#, "invalid_redirect_uri"),
        (r#"{}"#, "invalid_redirect_uri"),
    ];
    for (body, error) in cases {
        let answer = env.send(request(Method::POST, "/register", &ct, body)).await;
        assert_eq!(answer.status, 400, "{body}");
        assert_eq!(answer.error(), error, "{body}");
    }
    assert_eq!(env.stats().await, before);
}

/// MCP step-up: a client registered for `read` meets a 403 asking for
/// `write` and asks again, wider, without registering again. Its registered
/// list stays the default; scopes the server does not support stay refused.
#[tokio::test]
async fn a_registered_client_may_ask_for_more_supported_scopes() {
    let env = env().await;
    let ct = [("content-type", "application/json")];
    let body = json!({"redirect_uris": ["http://localhost/cb"], "token_endpoint_auth_method": "none", "scope": "read"});
    let client = env.send(request(Method::POST, "/register", &ct, body.to_string())).await.json();
    let client_id = client["client_id"].as_str().unwrap();
    let challenge = pkce_s256(VERIFIER);
    let ask = |scope: Option<&'static str>| {
        let mut pairs = auth_params(client_id, "http://localhost:4444/cb");
        pairs.push(("code_challenge", &challenge));
        if let Some(scope) = scope {
            pairs.push(("scope", scope));
        }
        authorize_uri(&pairs)
    };
    let default = env.oauth.authorize_request(&ask(None)).await.expect("no scope named");
    assert_eq!(default.scopes, ["read"], "the registered list is the default");
    let wider = env.oauth.authorize_request(&ask(Some("read write"))).await.expect("step-up");
    assert_eq!(wider.scopes, ["read", "write"]);
    let unknown = env.oauth.authorize_request(&ask(Some("read admin"))).await.expect_err("unsupported");
    // Shown to the user, not redirected: the client is not the operator's.
    let unknown = Answer::from(unknown);
    assert_eq!((unknown.status.as_u16(), unknown.header("location")), (400, None));
    assert!(String::from_utf8_lossy(&unknown.body).contains("invalid_scope"));
}

/// A name is what the user judges on the consent page: bidi overrides can
/// make `Evil\u{202E}ppa.knab` read as another app's name, control
/// characters can hide parts of it. Refused at registration.
#[tokio::test]
async fn client_names_with_control_or_bidi_characters_are_refused() {
    let env = env().await;
    let before = env.stats().await;
    let ct = [("content-type", "application/json")];
    for name in ["Evil\u{202E}knab", "a\u{2066}b\u{2069}", "\u{200F}x", "x\u{061C}", "tab\there", "nul\u{0}"]
    {
        let body = json!({"redirect_uris": ["https://x.example/cb"], "client_name": name});
        let answer = env.send(request(Method::POST, "/register", &ct, body.to_string())).await;
        answer.expect_error(400, "invalid_client_metadata");
    }
    assert_eq!(env.stats().await, before);
    let body = json!({"redirect_uris": ["https://x.example/cb"], "client_name": "Café – 日本語 App"});
    let answer = env.send(request(Method::POST, "/register", &ct, body.to_string())).await;
    assert_eq!(answer.status, 201, "{}", answer.json());
}

/// Found by `fuzz/fuzz_targets/register.rs` (seed `fuzz/corpus/register/no-usable-grant`):
/// `"grant_types": []` was stored as a client that could never obtain a token.
#[tokio::test]
async fn a_registration_without_a_usable_grant_type_is_refused() {
    let env = env().await;
    let before = env.stats().await;
    let ct = [("content-type", "application/json")];
    for grant_types in [json!([]), json!(["refresh_token"])] {
        let body = json!({"redirect_uris": ["https://x.example/cb"], "grant_types": grant_types});
        let answer = env.send(request(Method::POST, "/register", &ct, body.to_string())).await;
        assert_eq!(answer.status, 400, "{body}");
        assert_eq!(answer.error(), "invalid_client_metadata", "{body}");
    }
    assert_eq!(env.stats().await, before);
}
