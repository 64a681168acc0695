//! Bearer tokens on requests to the protected resource (RFC 6750 §2.1),
//! through `OAuthHttp::authenticate`. The first byte picks the case:
//! - `r`: the rest is up to three `Authorization` headers, one a line: never
//!   accepted (no such token exists), and the refusal is RFC 6750 §3: `400
//!   invalid_request` or `401` (`invalid_token`, or no error attribute when no
//!   bearer credentials were sent), with a `Bearer` challenge naming the
//!   resource metadata;
//! - `v`: a live token with a fuzzed scheme case and spacing: accepted;
//! - `x`: a live token with the rest appended to it: refused, unless the rest
//!   is only spaces and tabs, which end the header value and are not part of
//!   it (RFC 9110 §5.5): then accepted.
#![no_main]

use std::sync::OnceLock;

use fuzz_support::*;
use http::Request;
use libfuzzer_sys::fuzz_target;
use simply_mcp_oauth::http::OAuthHttp;
use simply_mcp_oauth::MemoryStorage;

static STATE: OnceLock<(OAuthHttp<MemoryStorage>, String)> = OnceLock::new();

fn state() -> (OAuthHttp<MemoryStorage>, String) {
    let oauth = oauth();
    let token = user_access_token(&oauth);
    (oauth, token)
}

fuzz_target!(|data: &[u8]| {
    let (oauth, token) = STATE.get_or_init(state);
    let Some((&mode, rest)) = data.split_first() else { return };
    let headers: Vec<Vec<u8>> = match mode {
        b'v' => {
            let bit = |i: usize| rest.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0);
            let scheme: String = "Bearer"
                .chars()
                .enumerate()
                .map(|(i, c)| if bit(i) { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
                .collect();
            let spaces = |from: usize| " ".repeat(1 + (0..3).filter(|i| bit(from + i)).count());
            vec![format!("{}{scheme}{}{token}{}", &spaces(6)[1..], spaces(9), &spaces(12)[1..]).into_bytes()]
        }
        b'x' => {
            if rest.is_empty() {
                return;
            }
            vec![[b"Bearer ", token.as_bytes(), rest].concat()]
        }
        _ => rest.split(|&b| b == b'\n').take(3).map(<[u8]>::to_vec).collect(),
    };
    let mut request = Request::get(format!("{ISSUER}/mcp"));
    for value in &headers {
        let Ok(value) = http::HeaderValue::from_bytes(value) else { return };
        request = request.header("authorization", value);
    }
    let request = request.body(()).unwrap();
    let result = block_on(oauth.authenticate(&request, &["read"]));
    let trailing_space = mode == b'x' && rest.iter().all(|b| matches!(b, b' ' | b'\t'));
    if mode == b'v' || trailing_space {
        let info = result.unwrap_or_else(|r| panic!("a live token in {headers:?} was refused: {r:?}"));
        assert_eq!(info.client_id, PUBLIC_ID);
        return;
    }
    let response = match result {
        Ok(_) => panic!("accepted {headers:?}"),
        Err(response) => response,
    };
    let status = response.status().as_u16();
    let challenge = response.headers().get("www-authenticate").expect("a challenge").to_str().unwrap();
    assert!(challenge.starts_with("Bearer resource_metadata=\""), "{challenge}");
    let body: serde_json::Value = serde_json::from_slice(response.body()).expect("a JSON body");
    let code = body["error"].as_str().expect("an error code");
    match (status, code) {
        (400, "invalid_request") => assert!(challenge.contains("error=\"invalid_request\"")),
        (401, "invalid_token") => {}
        _ => panic!("{status} {code} for {headers:?}"),
    }
});
