//! /revoke and /introspect.

use crate::support::*;

#[tokio::test]
async fn revocation_is_200_for_unknown_tokens_and_cascades() {
    let env = env().await;
    let (access, refresh) = env.tokens().await;
    let before = env.stats().await;
    for token in ["unknown", "aaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"] {
        let answer = env.send(form_basic("/revoke", &[("token", token)], CLIENT, SECRET)).await;
        assert_eq!(answer.status, 200);
        assert!(answer.body.is_empty());
    }
    // Another client's revocation of our token changes nothing.
    let other = env.send(form("/revoke", &[("token", &refresh), ("client_id", PUBLIC)])).await;
    assert_eq!(other.status, 200);
    assert_eq!(env.stats().await, before);
    assert_eq!(env.auth_status(&access).await, 200);

    env.send(form_basic("/revoke", &[], CLIENT, SECRET)).await.expect_error(400, "invalid_request");
    env.send(form_basic("/revoke", &[("token", "a"), ("token", "b")], CLIENT, SECRET))
        .await
        .expect_error(400, "invalid_request");
    env.send(form("/revoke", &[("token", &refresh)])).await.expect_error(401, "invalid_client");
    env.send(form_basic("/revoke", &[("token", &refresh)], CLIENT, "wrong"))
        .await
        .expect_error(401, "invalid_client");
    assert_eq!(env.stats().await, before);

    // Revoking the refresh token (with an odd hint) ends the access token too.
    let pairs = [("token", refresh.as_str()), ("token_type_hint", "something_else")];
    assert_eq!(env.send(form_basic("/revoke", &pairs, CLIENT, SECRET)).await.status, 200);
    assert_eq!(env.auth_status(&access).await, 401);
    env.refresh(&refresh, &[]).await.expect_error(400, "invalid_grant");
}

#[tokio::test]
async fn revoking_an_access_token_ends_its_grant() {
    let env = env().await;
    let (access, refresh) = env.tokens().await;
    let pairs = [("token", access.as_str()), ("token_type_hint", "access_token")];
    assert_eq!(env.send(form_basic("/revoke", &pairs, CLIENT, SECRET)).await.status, 200);
    assert_eq!(env.auth_status(&access).await, 401);
    env.refresh(&refresh, &[]).await.expect_error(400, "invalid_grant");
}

#[tokio::test]
async fn introspection_reports_active_and_inactive_tokens() {
    let env = env().await;
    let (access, refresh) = env.tokens().await;
    let answer = env.send(form_basic("/introspect", &[("token", &access)], CLIENT, SECRET)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let body = answer.json();
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], CLIENT);
    assert_eq!(body["sub"], "alice");
    assert_eq!(body["scope"], "read write");
    assert_eq!(body["aud"], RESOURCE);
    assert_eq!(body["iss"], ISSUER);
    assert_eq!(body["token_type"], "access_token");
    assert_eq!(body["exp"], START + 3600);

    let body = env.send(form_basic("/introspect", &[("token", &refresh)], CLIENT, SECRET)).await.json();
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "refresh_token");

    // A public client sees only its own tokens.
    let body = env.send(form("/introspect", &[("token", &access), ("client_id", PUBLIC)])).await.json();
    assert_eq!(body, json!({"active": false}));

    let body = env.send(form_basic("/introspect", &[("token", "garbage")], CLIENT, SECRET)).await.json();
    assert_eq!(body, json!({"active": false}));
    env.send(form("/introspect", &[("token", &access)])).await.expect_error(401, "invalid_client");
    env.send(form_basic("/introspect", &[], CLIENT, SECRET)).await.expect_error(400, "invalid_request");

    env.clock.advance(3601);
    let body = env.send(form_basic("/introspect", &[("token", &access)], CLIENT, SECRET)).await.json();
    assert_eq!(body, json!({"active": false}));
}

#[tokio::test]
async fn a_registered_client_introspects_only_its_own_tokens() {
    let env = env().await;
    let (victims_access, victims_refresh) = env.tokens().await;
    let body = json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_basic"});
    let ct = [("content-type", "application/json")];
    let registered = env.send(request(Method::POST, "/register", &ct, body.to_string())).await.json();
    let (id, secret) =
        (registered["client_id"].as_str().unwrap(), registered["client_secret"].as_str().unwrap());
    for token in [&victims_access, &victims_refresh] {
        let answer = env.send(form_basic("/introspect", &[("token", token)], id, secret)).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.json(), json!({"active": false}), "another client's token, as if unknown");
    }
    // Its own token it sees; the configured resource server sees any.
    let code = env.code_with(id, REDIRECT, &[]).await;
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let own = env.send(form_basic("/token", &pairs, id, secret)).await.json();
    let own = own["access_token"].as_str().unwrap();
    let answer = env.send(form_basic("/introspect", &[("token", own)], id, secret)).await.json();
    assert_eq!((answer["active"].clone(), answer["client_id"].clone()), (json!(true), json!(id)));
    let answer = env.send(form_basic("/introspect", &[("token", own)], CLIENT, SECRET)).await.json();
    assert_eq!(answer["active"], true);
}
