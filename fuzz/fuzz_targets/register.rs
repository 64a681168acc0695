//! Dynamic client registration (RFC 7591) through `OAuthHttp::handle`. The
//! input is a `Content-Type` line and the body. The answer is `201` with a
//! usable client, or an RFC 6749-shaped 4xx error (`invalid_client_metadata`,
//! `invalid_redirect_uri`, or the transport errors 413 and 415), never 5xx.
//! A registered client can start an authorization at its first redirect URI.
#![no_main]

use fuzz_support::*;
use http::Request;
use libfuzzer_sys::fuzz_target;
use simply_mcp_oauth::uri::Uri;

fuzz_target!(|data: &[u8]| {
    let [content_type, body] = fields::<2>(data);
    let headers: &[(&str, &[u8])] =
        if content_type.is_empty() { &[] } else { &[("content-type", content_type)] };
    let Some(request) = post("/register", headers, body) else { return };
    // A fresh store each time, so that a long run does not fill memory.
    let oauth = oauth();
    let response = block_on(oauth.handle(request));
    if response.status() != 201 {
        let code = assert_oauth_error(&response);
        assert!(
            ["invalid_client_metadata", "invalid_redirect_uri", "invalid_request"].contains(&code.as_str()),
            "{code}"
        );
        return;
    }
    // Syntax only: RFC 8259's grammar allows lone surrogates (`"\udc00"`), which
    // `serde_json::Value` refuses but an ignored member may hold.
    assert!(body.trim_ascii_start().starts_with(b"{"));
    serde_json::from_slice::<serde::de::IgnoredAny>(body).expect("a registered body is JSON");
    let client: serde_json::Value = serde_json::from_slice(response.body()).expect("a JSON answer");
    let client_id = client["client_id"].as_str().expect("a client_id");
    let uris = client["redirect_uris"].as_array().expect("redirect_uris");
    for uri in uris {
        let uri = uri.as_str().expect("a string");
        let parsed = Uri::parse(uri).unwrap_or_else(|e| panic!("registered {uri:?}: {e}"));
        assert!(!parsed.has_userinfo() && parsed.fragment().is_none(), "{uri:?}");
    }
    let grants = client["grant_types"].as_array().expect("grant_types");
    assert!(grants.iter().any(|g| g == "authorization_code" || g == "client_credentials"), "{client}");
    if !grants.iter().any(|g| g == "authorization_code") {
        return;
    }
    assert!(!uris.is_empty(), "{client}");
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", uris[0].as_str().unwrap())
        .append_pair("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        .append_pair("code_challenge_method", "S256")
        .finish();
    let authorize = Request::get(format!("{ISSUER}/authorize?{query}")).body(()).unwrap();
    if let Err(response) = block_on(oauth.authorize_request(&authorize)) {
        panic!("the registered client {client} cannot authorize: {response:?}");
    }
});
