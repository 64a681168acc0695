//! The authorization request (`OAuthHttp::authorize_request`, which calls
//! `Provider::parse_authorization`) with any query string. The input is the
//! query. It is never an open redirect: a refusal is a `400` HTML page
//! without `Location`, or a `302` to a redirect URI registered for the
//! client, carrying `error` and `iss`; never a 5xx. An accepted request names
//! a registered redirect URI and completes to a redirect there with a code.
//! URL client ids resolve (through the fuzz support's fetcher) to a document
//! with the first redirect URI, so the metadata-document path is reached too.
#![no_main]

use std::sync::OnceLock;

use fuzz_support::*;
use http::Request;
use libfuzzer_sys::fuzz_target;
use simply_mcp_oauth::cimd::is_metadata_client_id;
use simply_mcp_oauth::http::OAuthHttp;
use simply_mcp_oauth::provider::Approval;
use simply_mcp_oauth::uri::Uri;
use simply_mcp_oauth::{MemoryStorage, Params};

static OAUTH: OnceLock<OAuthHttp<MemoryStorage>> = OnceLock::new();

/// Whether `uri` is one of the clients' redirect URIs (a loopback one on
/// any port, RFC 8252 §7.3), up to its query.
fn registered(uri: &str) -> bool {
    let Ok(uri) = Uri::parse(uri) else { return false };
    REDIRECT_URIS.iter().any(|r| {
        let r = Uri::parse(r).unwrap();
        uri.scheme_is(r.scheme())
            && r.host() == uri.host()
            && r.path() == uri.path()
            && (r.port() == uri.port() || r.is_loopback())
    })
}

fuzz_target!(|data: &[u8]| {
    let oauth = OAUTH.get_or_init(oauth);
    let Ok(query) = std::str::from_utf8(data) else { return };
    let Ok(request) = Request::get(format!("{ISSUER}/authorize?{query}")).body(()) else { return };
    let query = request.uri().query().unwrap_or("");
    match block_on(oauth.authorize_request(&request)) {
        Ok(authorization) => {
            assert!(registered(&authorization.redirect_uri), "{:?}", authorization.redirect_uri);
            let client_id = authorization.client_id.as_str();
            // Or a metadata-document client (every URL resolves to `VALID_DOCUMENT`).
            assert!(
                [CONFIDENTIAL_ID, PUBLIC_ID].contains(&client_id) || is_metadata_client_id(client_id, false)
            );
            assert_eq!(authorization.code_challenge.len(), 43);
            assert!(authorization.scopes.iter().all(|s| s == "read" || s == "write"));
            let approval = Approval { subject: "user".into(), ..Approval::default() };
            let location = block_on(oauth.provider().complete_authorization(&authorization, approval))
                .unwrap_or_else(|e| panic!("an accepted request did not complete: {e:?}"));
            assert!(registered(&location), "{location:?}");
            let sent = Uri::parse(&location).unwrap();
            let answer = Params::parse(sent.query().unwrap());
            assert!(answer.required("code").is_ok());
            assert_eq!(answer.single("state").unwrap(), authorization.state.as_deref());
        }
        Err(response) => match response.status().as_u16() {
            400 => {
                assert!(response.headers().get("location").is_none());
                let content_type = response.headers().get("content-type").unwrap();
                assert!(content_type.as_bytes().starts_with(b"text/html"));
            }
            302 => {
                let location = response.headers().get("location").unwrap().to_str().unwrap();
                assert!(registered(location), "redirected to {location:?} for {query:?}");
                let answer = Params::parse(Uri::parse(location).unwrap().query().unwrap());
                assert!(answer.required("error").is_ok(), "{location:?}");
                assert_eq!(answer.required("iss").unwrap(), ISSUER);
            }
            status => panic!("{status} for {query:?}: {response:?}"),
        },
    }
});
