//! Metadata, routing, CORS.

use crate::support::*;

#[tokio::test]
async fn authorization_server_metadata_describes_every_endpoint() {
    let env = env().await;
    let answer = env.send(get("/.well-known/oauth-authorization-server")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
    let doc = answer.json();
    assert_eq!(doc["issuer"], ISSUER);
    assert_eq!(doc["authorization_endpoint"], format!("{ISSUER}/authorize"));
    assert_eq!(doc["token_endpoint"], format!("{ISSUER}/token"));
    assert_eq!(doc["registration_endpoint"], format!("{ISSUER}/register"));
    assert_eq!(doc["revocation_endpoint"], format!("{ISSUER}/revoke"));
    assert_eq!(doc["introspection_endpoint"], format!("{ISSUER}/introspect"));
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        doc["grant_types_supported"],
        json!(["authorization_code", "refresh_token", "client_credentials"])
    );
    let methods = json!(["client_secret_basic", "client_secret_post", "none"]);
    assert_eq!(doc["token_endpoint_auth_methods_supported"], methods);
    assert_eq!(doc["revocation_endpoint_auth_methods_supported"], methods);
    assert_eq!(doc["introspection_endpoint_auth_methods_supported"], methods);
    assert_eq!(doc["scopes_supported"], json!(["read", "write"]));
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);

    let head = env.send(request(Method::HEAD, "/.well-known/oauth-authorization-server", &[], "")).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let post = env.send(form("/.well-known/oauth-authorization-server", &[])).await;
    post.expect_error(405, "invalid_request");
    assert_eq!(post.header("allow"), Some("GET, HEAD, OPTIONS"));
}

#[tokio::test]
async fn registration_endpoint_is_hidden_and_refused_when_disabled() {
    let env = env_with(|c| c.allow_dynamic_registration = false).await;
    let doc = env.send(get("/.well-known/oauth-authorization-server")).await.json();
    assert!(doc.get("registration_endpoint").is_none());
    let ct = [("content-type", "application/json")];
    let body = r#"{"redirect_uris":["https://x.example/cb"]}"#;
    let answer = env.send(request(Method::POST, "/register", &ct, body)).await;
    answer.expect_error(403, "access_denied");
    assert_eq!(env.stats().await.clients, 2);
}

#[tokio::test]
async fn protected_resource_metadata_at_path_and_root() {
    let env = env().await;
    for path in ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"] {
        let answer = env.send(get(path)).await;
        assert_eq!(answer.status, 200, "{path}");
        let doc = answer.json();
        assert_eq!(doc["resource"], RESOURCE);
        assert_eq!(doc["authorization_servers"], json!([ISSUER]));
        assert_eq!(doc["scopes_supported"], json!(["read", "write"]));
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
    }
    let extra = env.send(get("/.well-known/oauth-protected-resource/api")).await.json();
    assert_eq!(extra["resource"], "https://other.example/api");
}

#[tokio::test]
async fn issuer_with_a_path_serves_endpoints_under_it() {
    let provider =
        Provider::create(base_config("https://x.example/auth"), MemoryStorage::new()).await.unwrap();
    let env = Env { oauth: OAuthHttp::new(provider), clock: FakeClock::at(START) };
    for path in
        ["/.well-known/oauth-authorization-server/auth", "/auth/.well-known/oauth-authorization-server"]
    {
        let answer = env.send(get(path)).await;
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(answer.json()["token_endpoint"], "https://x.example/auth/token");
    }
    let resource = env.send(get("/.well-known/oauth-protected-resource/auth/mcp")).await.json();
    assert_eq!(resource["resource"], "https://x.example/auth/mcp");
    let pairs = [("grant_type", "client_credentials")];
    let answer = env.send(form_basic("/auth/token", &pairs, CLIENT, SECRET)).await;
    assert_eq!(answer.status, 200);
    // Absolute-form request targets route the same way.
    let absolute = env.send(form_basic("https://x.example/auth/token", &pairs, CLIENT, SECRET)).await;
    assert_eq!(absolute.status, 200);
    env.send(form_basic("/token", &pairs, CLIENT, SECRET)).await.expect_error(404, "not_found");
    env.send(get("/.well-known/oauth-authorization-server")).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn unknown_paths_and_authorize_are_404_json_without_cors() {
    let env = env().await;
    for path in ["/nope", "/authorize", "/token/", "/.well-known/openid-configuration"] {
        let answer = env.send(get(path)).await;
        answer.expect_error(404, "not_found");
        assert_eq!(answer.header("access-control-allow-origin"), None, "{path}");
    }
    let authorize = env.send(get("/authorize?response_type=code&client_id=conf-client")).await;
    assert!(authorize.json()["error_description"].as_str().unwrap().contains("host application"));
}

#[tokio::test]
async fn cors_preflight_and_headers_on_browser_endpoints() {
    let env = env().await;
    for path in ["/token", "/register", "/revoke", "/introspect"] {
        let headers = [("origin", "https://app.example"), ("access-control-request-method", "POST")];
        let answer = env.send(request(Method::OPTIONS, path, &headers, "")).await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT, "{path}");
        assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
        assert_eq!(answer.header("access-control-allow-methods"), Some("POST, OPTIONS"));
        assert_eq!(
            answer.header("access-control-allow-headers"),
            Some("Authorization, Content-Type, MCP-Protocol-Version")
        );
        // Errors are readable cross-origin too.
        let error = env.send(form(path, &[])).await;
        assert_eq!(error.header("access-control-allow-origin"), Some("*"), "{path}");
    }
    let preflight =
        env.send(request(Method::OPTIONS, "/.well-known/oauth-protected-resource/mcp", &[], "")).await;
    assert_eq!(preflight.status, StatusCode::NO_CONTENT);
    assert_eq!(preflight.header("access-control-allow-methods"), Some("GET, HEAD, OPTIONS"));
    let bad = env.oauth.authorize_request(&authorize_uri(&[("client_id", "nobody")])).await.unwrap_err();
    assert!(bad.headers().get("access-control-allow-origin").is_none());
}
