//! Transport-level bad input.

use crate::support::*;

#[tokio::test]
async fn post_endpoints_refuse_other_methods_with_allow() {
    let env = env().await;
    for path in ["/token", "/register", "/revoke", "/introspect"] {
        for method in [Method::GET, Method::PUT, Method::DELETE] {
            let answer = env.send(request(method.clone(), path, &[], "")).await;
            answer.expect_error(405, "invalid_request");
            assert_eq!(answer.header("allow"), Some("POST, OPTIONS"), "{method} {path}");
        }
    }
}

#[tokio::test]
async fn wrong_or_missing_content_type_is_refused() {
    let env = env().await;
    let body = encode(&[("grant_type", "client_credentials")]);
    let auth = basic(CLIENT, SECRET);
    for ct in [None, Some("application/json"), Some("text/plain"), Some("multipart/form-data")] {
        let mut headers = vec![("authorization", auth.as_str())];
        if let Some(ct) = ct {
            headers.push(("content-type", ct));
        }
        let answer = env.send(request(Method::POST, "/token", &headers, body.clone())).await;
        answer.expect_error(415, "invalid_request");
    }
    // Parameters on the media type are ignored.
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "Application/X-WWW-Form-Urlencoded; charset=UTF-8"),
    ];
    assert_eq!(env.send(request(Method::POST, "/token", &headers, body)).await.status, 200);
    // /register wants JSON.
    let form_ct = [("content-type", "application/x-www-form-urlencoded")];
    let answer = env.send(request(Method::POST, "/register", &form_ct, "redirect_uris=x")).await;
    answer.expect_error(415, "invalid_request");
}

#[tokio::test]
async fn oversized_bodies_are_413_and_invalid_utf8_is_400() {
    let env = env().await;
    let before = env.stats().await;
    let big = format!("grant_type=client_credentials&pad={}", "a".repeat(MAX_BODY_BYTES));
    let ct = [("content-type", "application/x-www-form-urlencoded")];
    for path in ["/token", "/revoke", "/introspect"] {
        env.send(request(Method::POST, path, &ct, big.clone())).await.expect_error(413, "invalid_request");
    }
    let json_ct = [("content-type", "application/json")];
    let big_json = format!("{{\"client_name\":\"{}\"}}", "a".repeat(MAX_BODY_BYTES));
    env.send(request(Method::POST, "/register", &json_ct, big_json))
        .await
        .expect_error(413, "invalid_request");

    let invalid = Bytes::from_static(b"grant_type=client_credentials&x=\xff\xfe");
    env.send(request(Method::POST, "/token", &ct, invalid)).await.expect_error(400, "invalid_request");
    let invalid_json = Bytes::from_static(b"{\"client_name\":\"\xff\"}");
    env.send(request(Method::POST, "/register", &json_ct, invalid_json))
        .await
        .expect_error(400, "invalid_request");
    assert_eq!(env.stats().await, before);
}

#[tokio::test]
async fn hostile_inputs_never_panic_and_always_answer_json() {
    let env = env().await;
    let ct = [("content-type", "application/x-www-form-urlencoded")];
    let bodies: [&[u8]; 8] = [
        b"",
        b"&&&===&",
        b"grant_type",
        b"grant_type=%zz&code=%",
        b"grant_type=authorization_code&code=..........&redirect_uri=&code_verifier=x",
        b"grant_type=refresh_token&refresh_token=aaaaaaaaaaaaaaaaaaaaaa.bbbb",
        b"\x00\x01\x02",
        b"token=%00%0d%0a&client_id=%0d%0a",
    ];
    for path in ["/token", "/revoke", "/introspect", "/register"] {
        for body in bodies {
            let answer = env.send(request(Method::POST, path, &ct, Bytes::from_static(body))).await;
            assert!(answer.status.is_client_error(), "{path} {body:?} -> {}", answer.status);
            let _ = answer.json();
        }
    }
    let weird_auth = ["Basic", "Basic ====", "Basic \u{e9}t\u{e9}", "Bearer x", "Digest a=b", "basic Og=="];
    for auth in weird_auth {
        let headers = [ct[0], ("authorization", auth)];
        let answer =
            env.send(request(Method::POST, "/token", &headers, "grant_type=client_credentials")).await;
        assert!(answer.status.is_client_error(), "{auth}");
    }
}
