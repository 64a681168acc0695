//! HTTP Basic client authentication at `/token` (RFC 6749 §2.3.1), through
//! `OAuthHttp::handle`. The first byte picks the case:
//! - `r`: the rest is a raw `Authorization` header: the answer is a token or
//!   an RFC 6749 error (a `Basic` challenge with `invalid_client`), never 5xx;
//! - `e`: the right credentials, encoded the ways RFC 6749 §2.3.1 allows
//!   (fuzzed scheme case, `%XX` or literal characters, `+` or `%20` for a
//!   space, surrounding spaces): always a token;
//! - `w`: the rest is a secret that is not the client's, correctly encoded:
//!   always `401 invalid_client` with the challenge.
#![no_main]

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use fuzz_support::*;
use libfuzzer_sys::fuzz_target;

const FORM: (&str, &[u8]) = ("content-type", b"application/x-www-form-urlencoded");
const BODY: &[u8] = b"grant_type=client_credentials&scope=read";

/// Form-encodes `text`, each byte's spelling chosen by the next choice bit.
fn encode(text: &str, choices: &mut impl Iterator<Item = bool>) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        let escape = choices.next().unwrap_or(false);
        let literal_ok = b.is_ascii_alphanumeric() || b"-._~!$&'()*,;=/".contains(&b);
        match b {
            b' ' if !escape => out.push('+'),
            _ if literal_ok && !escape => out.push(b as char),
            _ if choices.next().unwrap_or(false) => out.push_str(&format!("%{b:02x}")),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn header(id: &str, secret: &str, choices: &[u8]) -> Vec<u8> {
    let mut bits = choices.iter().flat_map(|byte| (0..8).map(move |i| byte & (1 << i) != 0));
    let scheme: String = "Basic"
        .chars()
        .map(|c| if bits.next().unwrap_or(false) { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
        .collect();
    let spaces = |bits: &mut dyn Iterator<Item = bool>| " ".repeat(bits.take(2).filter(|b| *b).count());
    let lead = spaces(&mut bits);
    let credentials = format!("{}:{}", encode(id, &mut bits), encode(secret, &mut bits));
    let trail = spaces(&mut bits);
    format!("{lead}{scheme} {}{trail}", STANDARD.encode(credentials)).into_bytes()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let (value, expect) = match mode {
        b'e' => (header(CONFIDENTIAL_ID, CONFIDENTIAL_SECRET, rest), Some(true)),
        b'w' => {
            let Ok(secret) = std::str::from_utf8(rest) else { return };
            if secret == CONFIDENTIAL_SECRET || secret.is_empty() {
                return;
            }
            (header(CONFIDENTIAL_ID, secret, &[]), Some(false))
        }
        _ => (rest.to_vec(), None),
    };
    let Some(request) = post("/token", &[FORM, ("authorization", &value)], BODY) else { return };
    // A fresh store each time: every token issued stays in memory until it
    // expires (about 1.4 KB each), which filled libFuzzer's 2 GB limit after
    // 7.6 million runs when one store served the whole campaign.
    let oauth = oauth();
    let response = block_on(oauth.handle(request));
    if response.status() == 200 {
        assert_ne!(expect, Some(false), "a wrong secret got a token");
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert!(body["access_token"].is_string() && body["token_type"] == "Bearer");
        return;
    }
    assert_ne!(expect, Some(true), "the right credentials, encoded {value:?}, were refused: {response:?}");
    let code = assert_oauth_error(&response);
    if code == "invalid_client" {
        let challenge = response.headers().get("www-authenticate").expect("a Basic challenge");
        assert!(challenge.as_bytes().starts_with(b"Basic realm=\""), "{challenge:?}");
    }
    if expect == Some(false) {
        assert_eq!((response.status().as_u16(), code.as_str()), (401, "invalid_client"));
    }
});
