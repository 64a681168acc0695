//! The token request (and `/revoke` and `/introspect`, which share its form
//! and client authentication) through `OAuthHttp::handle`. Input lines: the
//! endpoint (`token`, `revoke` or `introspect`), the `Authorization` header
//! (none when empty), the `Content-Type` (none when empty), then the body.
//! In the body, `{code}`, `{verifier}`, `{refresh}` and `{access}` become a
//! live authorization code (of the public client, for the first redirect URI)
//! with its PKCE verifier, and a live refresh and access token, so that the
//! fuzzer reaches the success paths too.
//! Every answer is a success of the endpoint's shape or an RFC 6749 error
//! with a 4xx status, never 5xx.
#![no_main]

use fuzz_support::*;
use libfuzzer_sys::fuzz_target;
use simply_mcp_oauth::provider::ClientAuth;

fuzz_target!(|data: &[u8]| {
    let [endpoint, authorization, content_type, body] = fields::<4>(data);
    let path = match endpoint {
        b"revoke" => "/revoke",
        b"introspect" => "/introspect",
        _ => "/token",
    };
    // A fresh store each time: the run stays reproducible, and memory flat.
    let oauth = oauth();
    let mut body = body.to_vec();
    if body.contains(&b'{') {
        let first = user_code(&oauth);
        let public = ClientAuth::public(PUBLIC_ID);
        let tokens = block_on(oauth.provider().exchange_authorization_code(
            &public,
            &first,
            REDIRECT_URIS[0],
            VERIFIER,
            None,
        ))
        .unwrap();
        let live = [
            ("{code}", user_code(&oauth)),
            ("{verifier}", VERIFIER.to_string()),
            ("{refresh}", tokens.refresh_token.unwrap()),
            ("{access}", tokens.access_token),
        ];
        for (placeholder, value) in live {
            body = replace_all(&body, placeholder.as_bytes(), value.as_bytes());
        }
    }
    let mut headers: Vec<(&str, &[u8])> = Vec::new();
    if !authorization.is_empty() {
        headers.push(("authorization", authorization));
    }
    if !content_type.is_empty() {
        headers.push(("content-type", content_type));
    }
    let Some(request) = post(path, &headers, &body) else { return };
    let response = block_on(oauth.handle(request));
    if response.status().is_success() {
        assert_eq!(response.status(), 200);
        match path {
            "/token" => {
                let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
                assert!(body["access_token"].is_string() && body["token_type"] == "Bearer", "{body}");
            }
            "/introspect" => {
                let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
                assert!(body["active"].is_boolean(), "{body}");
            }
            _ => {}
        }
        return;
    }
    let code = assert_oauth_error(&response);
    if code == "invalid_client" && response.status() == 401 && !authorization.is_empty() {
        let challenge = response.headers().get("www-authenticate").expect("a Basic challenge");
        assert!(challenge.as_bytes().starts_with(b"Basic realm=\""), "{challenge:?}");
    }
});
