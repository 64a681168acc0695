//! Every endpoint with arbitrary UTF-8 in every parameter, and a metadata
//! document fetcher that answers from the input, so URL-shaped client ids
//! reach the metadata-document path before any authentication (as on the
//! demo server and the Worker). Input lines:
//! 1. the endpoint: `authorize`, `token`, `introspect`, `revoke`, `register`,
//!    `metadata` or `bearer`; a trailing `+` turns on loopback documents
//!    (`http://127.0.0.1/…` client ids, the development switch);
//! 2. the metadata document served for every URL (`{url}` becomes the URL);
//! 3. the `Authorization` header (none when empty);
//! 4. and on: parameters, `name=value` one a line, any UTF-8 (invalid bytes
//!    become U+FFFD), which the target encodes, so that every value arrives
//!    as written. `register` makes a JSON object of them (`redirect_uris`,
//!    `grant_types` and `response_types` as arrays); `metadata` reads the
//!    path from `path=`; `bearer` adds `token=` values as `Bearer` headers.
//!
//! Never a panic, never a 5xx: errors of the form endpoints and `/register`
//! are RFC 6749 JSON errors with a 4xx; `/authorize` answers a 400 page or a
//! 302; the resource side a 400, 401 or 403.
//!
//! Found by it: `client_id=https:/é` (any non-ASCII character right after
//! `https:/`) panicked in `cimd::url::is_metadata_client_id`, which sliced the
//! id at byte 8, inside the character.
#![no_main]

use bytes::Bytes;
use fuzz_support::*;
use http::{HeaderValue, Request, Response};
use libfuzzer_sys::fuzz_target;
use simply_mcp_oauth::http::OAuthHttp;
use simply_mcp_oauth::MemoryStorage;

/// The parameters, as `name=value` lines (a line without `=` is a name with
/// an empty value).
fn params(lines: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(lines);
    text.split('\n')
        .filter(|line| !line.is_empty())
        .map(|line| match line.split_once('=') {
            Some((name, value)) => (name.to_string(), value.to_string()),
            None => (line.to_string(), String::new()),
        })
        .collect()
}

fn encoded(params: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish()
}

/// The JSON object `/register` gets.
fn registration(params: &[(String, String)]) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    for (name, value) in params {
        if matches!(name.as_str(), "redirect_uris" | "grant_types" | "response_types") {
            let entry = object.entry(name.clone()).or_insert_with(|| serde_json::json!([]));
            if let Some(array) = entry.as_array_mut() {
                array.push(value.clone().into());
            }
        } else {
            object.insert(name.clone(), value.clone().into());
        }
    }
    object.into()
}

fn with_authorization(
    mut builder: http::request::Builder,
    authorization: &[u8],
) -> Option<http::request::Builder> {
    if !authorization.is_empty() {
        builder = builder.header("authorization", HeaderValue::from_bytes(authorization).ok()?);
    }
    Some(builder)
}

fn send(oauth: &OAuthHttp<MemoryStorage>, request: Request<Bytes>) -> Response<Bytes> {
    block_on(oauth.handle(request))
}

fuzz_target!(|data: &[u8]| {
    let [endpoint, document, authorization, rest] = fields::<4>(data);
    let (endpoint, allow_loopback) = match endpoint.strip_suffix(b"+") {
        Some(endpoint) => (endpoint, true),
        None => (endpoint, false),
    };
    let params = params(rest);
    let oauth = oauth_fetching(document, allow_loopback);
    match endpoint {
        b"authorize" => {
            let uri = format!("{ISSUER}/authorize?{}", encoded(&params));
            let Some(builder) = with_authorization(Request::get(uri), authorization) else { return };
            let Ok(request) = builder.body(()) else { return };
            if let Err(response) = block_on(oauth.authorize_request(&request)) {
                let status = response.status().as_u16();
                assert!(matches!(status, 302 | 400), "{status} for {params:?}");
            }
        }
        b"register" => {
            let body = registration(&params).to_string();
            let headers =
                [("content-type", b"application/json".as_slice()), ("authorization", authorization)];
            let headers = if authorization.is_empty() { &headers[..1] } else { &headers[..] };
            let Some(request) = post("/register", headers, body.as_bytes()) else { return };
            let response = send(&oauth, request);
            if response.status() != 201 {
                assert_oauth_error(&response);
            }
        }
        b"metadata" => {
            let path = params.iter().find(|(name, _)| name == "path").map_or("", |(_, v)| v.as_str());
            let path: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
            let query = encoded(&params);
            for base in ["/.well-known/oauth-authorization-server", "/.well-known/oauth-protected-resource"] {
                let uri = format!("{ISSUER}{base}/{path}?{query}");
                let Ok(request) = Request::get(uri).body(Bytes::new()) else { continue };
                let status = send(&oauth, request).status().as_u16();
                assert!(matches!(status, 200 | 404 | 405), "{status} for {path:?}");
            }
        }
        b"bearer" => {
            let mut builder = Request::get(format!("{ISSUER}/mcp"));
            if !authorization.is_empty() {
                let Ok(value) = HeaderValue::from_bytes(authorization) else { return };
                builder = builder.header("authorization", value);
            }
            for (_, token) in params.iter().filter(|(name, _)| name == "token") {
                let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}")) else { return };
                builder = builder.header("authorization", value);
            }
            let request = builder.body(()).unwrap();
            if let Err(response) = block_on(oauth.authenticate(&request, &["read"])) {
                let status = response.status().as_u16();
                assert!(matches!(status, 400 | 401 | 403), "{status}");
            }
        }
        _ => {
            let path = match endpoint {
                b"introspect" => "/introspect",
                b"revoke" => "/revoke",
                _ => "/token",
            };
            let body = encoded(&params);
            let content_type = b"application/x-www-form-urlencoded".as_slice();
            let headers = [("content-type", content_type), ("authorization", authorization)];
            let headers = if authorization.is_empty() { &headers[..1] } else { &headers[..] };
            let Some(request) = post(path, headers, body.as_bytes()) else { return };
            let response = send(&oauth, request);
            if response.status() != 200 {
                assert_oauth_error(&response);
            }
        }
    }
});
