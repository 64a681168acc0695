//! The Client ID Metadata Document parser: never panics, and whatever it
//! accepts is a public client that is safe to send users to: its id is the
//! document's URL, it has no secret, every redirect URI is one the strict
//! URI parser accepts, and its grants and scopes stay within what a public
//! client of this server may have.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simply_mcp_oauth::cimd::parse_document;
use simply_mcp_oauth::storage::AuthMethod;
use simply_mcp_oauth::uri::Uri;

const URL: &str = "https://app.example/oauth/client.json";

fuzz_target!(|data: &[u8]| {
    let supported = ["read".to_string(), "write".to_string()];
    let Ok(client) = parse_document(URL, data, &supported, 1_700_000_000) else {
        return;
    };
    let doc: serde_json::Value = serde_json::from_slice(data).expect("an accepted document is JSON");
    assert_eq!(doc["client_id"], URL);
    assert!(doc.get("client_secret").is_none());
    assert_eq!(client.client_id, URL);
    assert!(client.secret_digest.is_none(), "a public document gave a client a secret");
    assert_eq!(client.auth_method, AuthMethod::None);
    assert!(!client.redirect_uris.is_empty());
    for uri in &client.redirect_uris {
        let parsed = Uri::parse(uri).unwrap_or_else(|e| panic!("redirect URI {uri:?}: {e}"));
        assert!(!parsed.has_userinfo() && parsed.fragment().is_none(), "{uri:?}");
    }
    assert!(client.scopes.iter().all(|s| supported.contains(s)));
    assert!(client.grant_types.iter().any(|g| g == "authorization_code"));
    assert!(client.grant_types.iter().all(|g| g == "authorization_code" || g == "refresh_token"));
    let name = client.client_name.expect("a name");
    assert!(!name.trim().is_empty() && !name.chars().any(char::is_control));
});
