//! Hostile values in every parameter of every endpoint, with a metadata
//! fetcher configured (so URL-shaped client ids take the metadata-document
//! path before authentication, as on the demo server and the Worker). Each
//! answer must be a 4xx (an error redirect, for `/authorize` once client and
//! redirect URI are known good): never a panic, never a 5xx.
//!
//! Found by an attacker's review: `client_id=https:/é` on `/token`,
//! `/introspect`, `/revoke` and `/authorize` panicked in
//! `is_metadata_client_id` (a `str` sliced inside a character), which
//! dropped the connection natively and trapped the wasm module.

use std::panic::AssertUnwindSafe;

use futures::FutureExt as _;
use simply_mcp_oauth::cimd::{FetchError, FetchedDocument, MetadataFetcher};

use crate::support::*;

/// Serves, for any URL, a valid document naming that URL, so that hostile
/// ids that pass the URL rules reach the document's validation too.
struct EchoFetcher;

#[async_trait::async_trait]
impl MetadataFetcher for EchoFetcher {
    async fn fetch(&self, url: &str) -> Result<FetchedDocument, FetchError> {
        let document = json!({
            "client_id": url,
            "client_name": "Echo",
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "none",
        });
        Ok(FetchedDocument {
            body: document.to_string().into_bytes(),
            cache_control: None,
            content_type: None,
        })
    }
}

/// Non-ASCII (also split across the 7- and 8-byte `http://`/`https://`
/// prefixes), control and bidi characters, and overlong values.
fn hostile_values() -> Vec<String> {
    let mut values: Vec<String> = [
        "https:/é",
        "http:/é",
        "https:/\u{10FFFF}",
        "httpsé",
        "é",
        "https://é.example/c",
        "https://client.example/é",
        "https://client.example/c\u{0}",
        "\u{0}",
        "a\r\nb",
        "\u{7f}",
        "\u{202E}abc",
        "\u{FEFF}",
        "%ff",
        "%",
    ]
    .map(String::from)
    .to_vec();
    values.push("x".repeat(20_000));
    values.push(format!("https://client.example/{}", "é".repeat(3_000)));
    values.push("é".repeat(10_000));
    values
}

/// Runs `answer`, turning a panic into a failure that names the case.
async fn status_of(case: &str, answer: impl std::future::Future<Output = u16>) -> u16 {
    match AssertUnwindSafe(answer).catch_unwind().await {
        Ok(status) => status,
        Err(_) => panic!("{case}: the server panicked"),
    }
}

#[track_caller]
fn assert_client_error(case: &str, status: u16) {
    assert!((400..500).contains(&status), "{case}: status {status}, not a 4xx");
}

/// The pairs of `base` with pair `index` set to `value` (or, past the end,
/// one unknown parameter added whose name and value are `value`).
fn with_value<'a>(base: &[(&'a str, &'a str)], index: usize, value: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut pairs = base.to_vec();
    match pairs.get_mut(index) {
        Some(pair) => pair.1 = value,
        None => pairs.push((value, value)),
    }
    pairs
}

async fn hostile_env() -> Env {
    let mut config = base_config(ISSUER);
    config.allow_dynamic_registration = true;
    let clock = FakeClock::at(START);
    let provider = Provider::new(config, MemoryStorage::new())
        .unwrap()
        .with_clock(clock.clone())
        .with_metadata_fetcher(Arc::new(EchoFetcher));
    provider.initialize().await.unwrap();
    Env { oauth: OAuthHttp::new(provider), clock }
}

#[tokio::test]
async fn form_endpoints_answer_every_hostile_parameter_with_a_4xx() {
    let env = hostile_env().await;
    let (access, refresh) = env.tokens().await;
    let code = env.code().await;
    let endpoints: [(&str, Vec<(&str, &str)>); 6] = [
        (
            "/token",
            vec![
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", PUBLIC),
            ],
        ),
        (
            "/token",
            vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("scope", "read"),
                ("resource", RESOURCE),
                ("client_id", CLIENT),
                ("client_secret", SECRET),
            ],
        ),
        (
            "/token",
            vec![
                ("grant_type", "client_credentials"),
                ("scope", "read"),
                ("resource", RESOURCE),
                ("client_id", CLIENT),
                ("client_secret", SECRET),
            ],
        ),
        ("/introspect", vec![("token", &access), ("token_type_hint", "access_token"), ("client_id", CLIENT)]),
        ("/revoke", vec![("token", "unknown"), ("token_type_hint", "refresh_token"), ("client_id", PUBLIC)]),
        ("/revoke", vec![("token", "unknown"), ("client_id", CLIENT), ("client_secret", SECRET)]),
    ];
    let values = hostile_values();
    for (path, base) in &endpoints {
        for index in 0..=base.len() {
            for value in &values {
                let pairs = with_value(base, index, value);
                let case = format!("{path} {:?}={:.60?}", pairs.get(index).map(|p| p.0), value);
                let status =
                    status_of(&case, async { env.send(form(path, &pairs)).await.status.as_u16() }).await;
                // A success is fine only where the value is not one (an
                // unknown parameter, ignored as RFC 6749 §3.1 asks, and
                // `/revoke` of an unknown token, RFC 7009 §2.2).
                if status == 200 && (index == base.len() || *path == "/revoke") {
                    continue;
                }
                assert_client_error(&case, status);
            }
        }
    }
    // The same values as HTTP Basic credentials (decoded, they are the
    // client id and secret: `https:/é` reached the metadata path this way).
    for value in &values {
        for (id, secret) in [(value.as_str(), SECRET), (CLIENT, value.as_str())] {
            let case = format!("Basic {id:.60?}:{secret:.60?}");
            for path in ["/token", "/introspect", "/revoke"] {
                let pairs = [("grant_type", "client_credentials"), ("token", "unknown")];
                let status = status_of(&case, async {
                    env.send(form_basic(path, &pairs, id, secret)).await.status.as_u16()
                })
                .await;
                assert_client_error(&format!("{path} {case}"), status);
            }
        }
    }
}

#[tokio::test]
async fn the_authorization_endpoint_answers_every_hostile_parameter_with_a_refusal() {
    let env = hostile_env().await;
    let challenge = pkce_s256(VERIFIER);
    let metadata_client = "https://client.example/oauth/client.json";
    let values = hostile_values();
    for client in [CLIENT, PUBLIC, metadata_client] {
        let redirect = if client == PUBLIC { LOOPBACK } else { REDIRECT };
        let base = vec![
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", redirect),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("scope", "read"),
            ("resource", RESOURCE),
            ("state", "st"),
        ];
        for index in 0..=base.len() {
            for value in &values {
                let pairs = with_value(&base, index, value);
                let case =
                    format!("/authorize {:?}={:.60?} ({client})", pairs.get(index).map(|p| p.0), value);
                // Past the URI length `http` can hold, no request is made.
                let uri = format!("/authorize?{}", encode(&pairs));
                let Ok(request) = Request::builder().uri(uri).body(()) else { continue };
                let answer = AssertUnwindSafe(env.oauth.authorize_request(&request)).catch_unwind().await;
                let Ok(answer) = answer else { panic!("{case}: the server panicked") };
                let response = match answer {
                    // An ignored unknown parameter leaves a valid request.
                    Ok(_) if index == base.len() => continue,
                    // `%ff`, the very characters, is a fine state (VSCHAR).
                    Ok(_) if base[index].0 == "state" && value.bytes().all(|b| b.is_ascii_graphic()) => {
                        continue
                    }
                    Ok(_) => panic!("{case}: accepted"),
                    Err(response) => response,
                };
                let status = response.status().as_u16();
                if status == 302 {
                    // RFC 6749 §4.1.2.1: with client and redirect URI known
                    // good, the error goes back to that redirect URI.
                    let location = response.headers()["location"].to_str().unwrap();
                    assert!(location.starts_with(redirect), "{case}: {location}");
                    assert!(query_of(location).single("error").unwrap().is_some(), "{case}: {location}");
                    continue;
                }
                assert_client_error(&case, status);
            }
        }
    }
}

#[tokio::test]
async fn registration_metadata_and_bearer_answer_hostile_values_with_a_4xx() {
    let env = hostile_env().await;
    let ct = [("content-type", "application/json")];
    let values = hostile_values();
    for value in &values {
        let fields = [
            json!({"redirect_uris": [value]}),
            json!({"redirect_uris": [REDIRECT], "client_name": value}),
            json!({"redirect_uris": [REDIRECT], "scope": value}),
            json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": value}),
            json!({"redirect_uris": [REDIRECT], "grant_types": [value]}),
            json!({"redirect_uris": [REDIRECT], "response_types": [value]}),
        ];
        for body in fields {
            let case = format!("/register {:.120}", body.to_string());
            let request = request(Method::POST, "/register", &ct, body.to_string());
            let status = status_of(&case, async { env.send(request).await.status.as_u16() }).await;
            // A name may be in any script (`Café`); only control characters
            // and overlong names are refused there.
            let name = body.get("client_name").is_some();
            let printable = !value.chars().any(char::is_control) && value.chars().count() <= 200;
            if status == 201 && name && printable {
                continue;
            }
            assert_client_error(&case, status);
        }
    }
    // Metadata and unknown paths: a hostile path or query is a 404 or ignored.
    for value in &values {
        let encoded = encode(&[("x", value)]);
        for path in [
            format!("/.well-known/oauth-authorization-server?{encoded}"),
            format!("/.well-known/oauth-protected-resource/mcp?{encoded}"),
            format!("/.well-known/oauth-protected-resource/{}", &encoded[2..]),
            format!("/token/{}", &encoded[2..]),
        ] {
            let status = status_of(&path, async { env.send(get(&path)).await.status.as_u16() }).await;
            let metadata = path.contains('?');
            assert!((metadata && status == 200) || (400..500).contains(&status), "{path:.100}: {status}");
        }
    }
    // Bearer headers: hostile tokens (the header carries only visible
    // ASCII and obs-text bytes, so non-ASCII arrives as Latin-1 bytes).
    for value in &values {
        let bytes: Vec<u8> = value.bytes().filter(|b| *b >= 0x20 && *b != 0x7f).collect();
        for header in [[b"Bearer ".as_slice(), &bytes].concat(), bytes.clone()] {
            let Ok(header) = HeaderValue::from_bytes(&header) else { continue };
            let request = Request::builder().uri("/mcp").header("authorization", header).body(()).unwrap();
            let case = format!("bearer {value:.60?}");
            let answer = async {
                match env.oauth.authenticate(&request, &["read"]).await {
                    Ok(_) => 200,
                    Err(response) => response.status().as_u16(),
                }
            };
            assert_client_error(&case, status_of(&case, answer).await);
        }
    }
}
