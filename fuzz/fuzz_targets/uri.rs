//! The strict URI parser: never panics; what it accepts is printable ASCII,
//! serializes back to the very string it read, is put together from exactly
//! the parts it reports, parses again to the same value, and stays a valid
//! URI with the same parts when query parameters are appended (the redirect
//! the provider builds from it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use simply_mcp_oauth::uri::{append_query_pairs, request_target, Host, Uri};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // The lenient reader of runtime URLs must not panic either.
    if let Some(target) = request_target(text) {
        assert!(target.starts_with('/'));
    }
    let Ok(uri) = Uri::parse(text) else { return };
    assert!(text.bytes().all(|b| b.is_ascii_graphic()));
    assert_eq!(uri.to_string(), text);
    assert_eq!(uri.as_str(), text);
    assert_eq!(Uri::parse(&uri.to_string()).as_ref(), Ok(&uri));

    // scheme ":" ["//" [userinfo "@"] host [":" port]] path ["?" query] ["#" fragment]
    let mut rebuilt = format!("{}:", uri.scheme());
    if let Some(host) = uri.host_str() {
        rebuilt.push_str("//");
        if uri.has_userinfo() {
            let start = text.find("//").unwrap() + 2;
            let at = text[start..].find('@').unwrap();
            rebuilt.push_str(&text[start..=start + at]);
        }
        rebuilt.push_str(host);
        if let Some(port) = uri.port() {
            rebuilt.push_str(&format!(":{port}"));
        }
        assert!(uri.path().is_empty() || uri.path().starts_with('/'));
    } else {
        assert!(uri.host().is_none() && uri.port().is_none() && !uri.has_userinfo());
    }
    rebuilt.push_str(uri.path());
    if let Some(query) = uri.query() {
        rebuilt.push('?');
        rebuilt.push_str(query);
    }
    if let Some(fragment) = uri.fragment() {
        rebuilt.push('#');
        rebuilt.push_str(fragment);
    }
    assert_eq!(rebuilt, text, "the parts do not make the URI");
    assert!(!uri.path().split('/').any(|s| s == "." || s == ".."));

    if let Some(host) = uri.host() {
        let written = uri.host_str().unwrap();
        match host {
            Host::Ipv6(_) => assert!(written.starts_with('[') && written.ends_with(']')),
            Host::Ipv4(ip) => assert_eq!(ip.to_string(), written),
            Host::Name(_) => assert!(!written.is_empty() && !written.contains('%')),
        }
        // The origin is itself a URI with the same host, without user part.
        let origin = uri.origin().unwrap();
        let parsed = Uri::parse(&origin).unwrap_or_else(|e| panic!("origin {origin:?}: {e}"));
        assert_eq!(parsed.host(), Some(host));
        assert!(!parsed.has_userinfo() && parsed.path().is_empty());
        assert_eq!(parsed.is_loopback(), uri.is_loopback());
    } else {
        assert!(uri.origin().is_none());
    }

    // The provider's redirect: same URI, parameters added before the fragment.
    let appended = uri.with_query_pairs([("code", "a b&c=d"), ("state", "#?%")]);
    assert_eq!(append_query_pairs(text, [("code", "a b&c=d"), ("state", "#?%")]), appended);
    let again = Uri::parse(&appended).unwrap_or_else(|e| panic!("{appended:?}: {e}"));
    assert_eq!(again.scheme(), uri.scheme());
    assert_eq!(again.host(), uri.host());
    assert_eq!(again.port(), uri.port());
    assert_eq!(again.path(), uri.path());
    assert_eq!(again.fragment(), uri.fragment());
    let query = again.query().unwrap();
    assert!(query.ends_with("code=a+b%26c%3Dd&state=%23%3F%25"), "query {query:?}");
    assert_eq!(uri.with_query_pairs(std::iter::empty()), text);
});
