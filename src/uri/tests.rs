//! Tests of the strict URI parser: accepted forms and every refusal.

use super::*;

fn err(uri: &str) -> UriError {
    Uri::parse(uri).expect_err(uri)
}

#[test]
fn parses_the_parts() {
    let uri = Uri::parse("https://user:pw@App.Example:8443/a/b%20c?x=1&y=/?#frag/?").unwrap();
    assert_eq!(uri.scheme(), "https");
    assert!(uri.has_authority() && uri.has_userinfo());
    assert_eq!(uri.host(), Some(&Host::Name("app.example")));
    assert_eq!(uri.host_str(), Some("App.Example"));
    assert_eq!(uri.port(), Some(8443));
    assert_eq!(uri.path(), "/a/b%20c");
    assert_eq!(uri.query(), Some("x=1&y=/?"));
    assert_eq!(uri.fragment(), Some("frag/?"));
    assert_eq!(uri.as_str(), "https://user:pw@App.Example:8443/a/b%20c?x=1&y=/?#frag/?");
    assert_eq!(uri.to_string(), uri.as_str());

    let bare = Uri::parse("http://localhost").unwrap();
    assert_eq!((bare.path(), bare.query(), bare.fragment(), bare.port()), ("", None, None, None));
    assert!(!bare.has_userinfo());
    let empty = Uri::parse("http://localhost/?#").unwrap();
    assert_eq!((empty.path(), empty.query(), empty.fragment()), ("/", Some(""), Some("")));
}

#[test]
fn parses_uris_without_authority() {
    let app = Uri::parse("com.example.app:/cb").unwrap();
    assert_eq!((app.scheme(), app.path(), app.host()), ("com.example.app", "/cb", None));
    assert!(!app.has_authority() && !app.is_loopback() && app.origin().is_none());
    let urn = Uri::parse("urn:example:mcp").unwrap();
    assert_eq!(urn.path(), "example:mcp");
    assert_eq!(Uri::parse("javascript:alert(1)").unwrap().path(), "alert(1)");
    assert_eq!(Uri::parse("mailto:a@b.example").unwrap().path(), "a@b.example");
    let custom = Uri::parse("com.example.app://cb.host/x").unwrap();
    assert_eq!(custom.host(), Some(&Host::Name("cb.host")));
}

#[test]
fn case_handling() {
    let uri = Uri::parse("HTTPS://MCP.Example/Path").unwrap();
    assert_eq!(uri.scheme(), "HTTPS");
    assert!(uri.scheme_is("https") && !uri.scheme_is("http"));
    assert_eq!(uri.host(), Some(&Host::Name("mcp.example")));
    assert_eq!(uri.path(), "/Path", "paths are case-sensitive");
    assert_eq!(uri.origin().as_deref(), Some("https://mcp.example"));
    assert!(Uri::parse("http://LocalHost/").unwrap().is_loopback());
    assert_eq!(err("HTTPS:cb"), UriError::MissingAuthority, "special schemes in any case");
}

#[test]
fn ip_literals() {
    let v4 = Uri::parse("http://127.0.0.1:53211/cb").unwrap();
    assert_eq!(v4.host(), Some(&Host::Ipv4(Ipv4Addr::LOCALHOST)));
    assert!(v4.is_loopback());
    assert!(Uri::parse("http://127.255.0.9/").unwrap().is_loopback());
    assert!(!Uri::parse("http://10.0.0.1/").unwrap().is_loopback());
    let v6 = Uri::parse("http://[::1]:8080/cb").unwrap();
    assert_eq!(v6.host(), Some(&Host::Ipv6(Ipv6Addr::LOCALHOST)));
    assert_eq!(v6.host_str(), Some("[::1]"));
    assert_eq!(v6.port(), Some(8080));
    assert!(v6.is_loopback());
    let long = Uri::parse("https://[2001:DB8:0:0::1]/").unwrap();
    assert_eq!(long.host(), Uri::parse("https://[2001:db8::1]").unwrap().host());
    assert!(!long.is_loopback());
    assert!(!Uri::parse("http://[::ffff:127.0.0.1]/").unwrap().is_loopback(), "only ::1");
    for bad in [
        "http://[::1/",
        "http://[::1]x/",
        "http://[fe80::1%25eth0]/",
        "http://[v1.fe]/",
        "http://[127.0.0.1]/",
        "http://[]/",
        "http://::1/",
    ] {
        assert!(Uri::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn numeric_hosts_only_as_dotted_quads() {
    for bad in [
        "http://2130706433/",
        "http://0x7f.1/",
        "http://0x7f000001/",
        "http://127.1/",
        "http://127.0.0.01/",
        "http://127.0.0.256/",
        "http://1.2.3.4.5/",
        "http://example.0x10/",
    ] {
        assert_eq!(err(bad), UriError::Host, "{bad}");
    }
    assert!(Uri::parse("http://1password.example/").is_ok(), "digits in inner labels are fine");
    assert!(Uri::parse("http://0xdead.example/").is_ok());
}

#[test]
fn ports() {
    assert_eq!(Uri::parse("http://a.example:65535/").unwrap().port(), Some(65535));
    assert_eq!(Uri::parse("http://a.example:0/").unwrap().port(), Some(0));
    assert_eq!(Uri::parse("http://a.example:1").unwrap().port(), Some(1));
    for bad in [
        "http://a.example:65536/",
        "http://a.example:99999/",
        "http://a.example:100000/",
        "http://a.example:/",
        "http://a.example:080/",
        "http://a.example:-1/",
        "http://a.example:+80/",
        "http://a.example:8a/",
        "http://a.example:80:80/",
        "http://[::1]:/",
        "http://[::1]:65536/",
    ] {
        assert_eq!(err(bad), UriError::Port, "{bad}");
    }
}

#[test]
fn refuses_characters_a_browser_would_repair() {
    for bad in [
        "https://a.example\\@evil.example/",
        "https://a.example/\\evil",
        "https:/\\evil.example/",
        "https://a.example/ cb",
        "https://a.example/c\tb",
        "https://a.example/c\nb",
        "https://a.example/c\rb",
        "https://a.example/c\0b",
        "https://a.example/c\x7fb",
        "https://exämple.example/",
        "https://a.example/é",
        " https://a.example/",
        "https://a.example/\"",
        "https://a.example/<x>",
        "https://a.example/?x=`",
        "https://a.example/?x={y}",
        "https://a.example/?x=|",
        "https://a.example/?x=^",
        "https://a.example/#a#b",
        "https://a.example/[x]",
        "https://a!example/",
        "https://a.example;b/",
        "https://a~b.example/",
    ] {
        assert!(Uri::parse(bad).is_err(), "{bad:?}");
    }
    assert_eq!(err("https://a.example\\@evil.example/"), UriError::Character);
}

#[test]
fn refuses_bad_percent_escapes_and_encoded_hosts() {
    assert_eq!(err("https://a.example/%"), UriError::PercentEncoding);
    assert_eq!(err("https://a.example/%2"), UriError::PercentEncoding);
    assert_eq!(err("https://a.example/?x=%zz"), UriError::PercentEncoding);
    assert_eq!(err("https://a.example/#%g0"), UriError::PercentEncoding);
    assert!(Uri::parse("https://a.example/%2F?q=%e2%82%AC#%20").is_ok());
    assert_eq!(err("https://evil%2eexample/"), UriError::Host);
    assert_eq!(err("https://%65vil.example/"), UriError::Host);
    assert_eq!(err("https://u%zz@a.example/"), UriError::PercentEncoding);
}

#[test]
fn refuses_empty_and_malformed_hosts() {
    for bad in [
        "https:///evil.example/",
        "https://",
        "https://:443/",
        "https://user@/",
        "https://.example/",
        "https://a..example/",
        "https://a.example./",
        "com.example.app:///cb",
    ] {
        assert_eq!(err(bad), UriError::Host, "{bad}");
    }
}

#[test]
fn userinfo_is_reported_and_single() {
    assert!(Uri::parse("https://user@a.example/").unwrap().has_userinfo());
    assert!(Uri::parse("https://:pw@a.example/").unwrap().has_userinfo());
    assert_eq!(err("https://a@b@evil.example/"), UriError::Userinfo);
    assert_eq!(err("https://a.example@evil.example@/"), UriError::Userinfo);
    let tricky = Uri::parse("https://a.example@evil.example/").unwrap();
    assert_eq!(tricky.host(), Some(&Host::Name("evil.example")), "the host is after the @");
    assert_eq!(tricky.origin().as_deref(), Some("https://evil.example"));
}

#[test]
fn refuses_dot_segments() {
    for bad in [
        "https://a.example/cb/../evil",
        "https://a.example/./cb",
        "https://a.example/cb/..",
        "https://a.example/cb/%2e%2E/evil",
        "https://a.example/cb/.%2e/evil",
        "https://a.example/%2E/cb",
        "com.example.app:/cb/../x",
        "http://127.0.0.1/a/..",
    ] {
        assert_eq!(err(bad), UriError::DotSegment, "{bad}");
    }
    for good in ["https://a.example/.well-known/x", "https://a.example/.../x", "https://a.example/a..b"] {
        assert!(Uri::parse(good).is_ok(), "{good}");
    }
    assert!(Uri::parse("https://a.example/cb?x=/../").is_ok(), "queries have no segments");
}

#[test]
fn refuses_relative_references_and_bad_schemes() {
    for bad in ["/relative", "relative", "//host/x", "", ":x", "1http://a/", "ht_tp://a/", "-x:y"] {
        assert_eq!(err(bad), UriError::Scheme, "{bad:?}");
    }
    for bad in ["https:cb", "http:/cb", "ws:x", "wss:", "ftp:/x", "file:/etc/passwd"] {
        assert_eq!(err(bad), UriError::MissingAuthority, "{bad}");
    }
    assert!(Uri::parse("a+b-c.d:x").is_ok());
}

#[test]
fn origins() {
    let origin = |uri: &str| Uri::parse(uri).unwrap().origin();
    assert_eq!(origin("https://mcp.example/api/mcp?x").as_deref(), Some("https://mcp.example"));
    assert_eq!(origin("https://mcp.example:443/").as_deref(), Some("https://mcp.example"));
    assert_eq!(origin("http://mcp.example:80").as_deref(), Some("http://mcp.example"));
    assert_eq!(origin("http://mcp.example:443/").as_deref(), Some("http://mcp.example:443"));
    assert_eq!(origin("https://u:p@[::1]:8443/x").as_deref(), Some("https://[::1]:8443"));
    assert_eq!(origin("urn:example:mcp"), None);
}

#[test]
fn appends_query_pairs() {
    let add = |uri: &str| append_query_pairs(uri, [("code", "a b&c=d/é"), ("state", "x+y#z%")]);
    let encoded = "code=a+b%26c%3Dd%2F%C3%A9&state=x%2By%23z%25";
    assert_eq!(add("https://a.example/cb"), format!("https://a.example/cb?{encoded}"));
    assert_eq!(add("https://a.example/cb?x=1"), format!("https://a.example/cb?x=1&{encoded}"));
    assert_eq!(add("https://a.example/cb?"), format!("https://a.example/cb?{encoded}"));
    assert_eq!(add("https://a.example/cb#f?g"), format!("https://a.example/cb?{encoded}#f?g"));
    assert_eq!(add("com.example.app:/cb"), format!("com.example.app:/cb?{encoded}"));
    assert_eq!(add("http://localhost"), format!("http://localhost?{encoded}"));
    assert_eq!(append_query_pairs("https://a.example/cb?x", []), "https://a.example/cb?x");
    assert_eq!(append_query_pairs("https://a.example/cb", []), "https://a.example/cb");
    assert_eq!(
        Uri::parse("HTTP://LOCALHOST:1/cb?k=V").unwrap().with_query_pairs([("a", "1")]),
        "HTTP://LOCALHOST:1/cb?k=V&a=1",
        "the rest of the URI is kept as written"
    );
}

#[test]
fn request_targets() {
    let target = |url: &str| request_target(url);
    assert_eq!(target("https://a.example/x/y?q=1|2#f").as_deref(), Some("/x/y?q=1|2"));
    assert_eq!(target("https://u@a.example:8080/").as_deref(), Some("/"));
    assert_eq!(target("https://a.example?q").as_deref(), Some("/?q"));
    assert_eq!(target("https://a.example").as_deref(), Some("/"));
    assert_eq!(target("https://a.example#/x").as_deref(), Some("/"));
    assert_eq!(target("/relative"), None);
    assert_eq!(target("urn:x://y"), None);
}
