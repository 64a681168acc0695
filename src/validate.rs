//! Syntax rules for the values clients send: redirect URIs, scopes, resources.
//!
//! URIs go through the strict parser of [`crate::uri`], so what is checked
//! here is the very string that is later redirected to.

use crate::uri::{Uri, UriError};

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub fn is_valid_scope_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 128
        && token.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// Longest `state` accepted: far above what clients send (a random value, at
/// most a small encoded object), and bounded because it is echoed back.
pub const MAX_STATE_LEN: usize = 2048;

/// RFC 6749 Appendix A.5: `state = 1*VSCHAR` (`%x20-7E`), at most
/// [`MAX_STATE_LEN`]. Anything else (control characters, non-ASCII) would be
/// echoed into the redirect the user's browser follows.
pub fn is_valid_state(state: &str) -> bool {
    !state.is_empty() && state.len() <= MAX_STATE_LEN && state.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// Splits a space-delimited scope string, de-duplicating; `None` if a token is invalid.
pub fn parse_scope(scope: &str) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for token in scope.split(' ').filter(|t| !t.is_empty()) {
        if !is_valid_scope_token(token) {
            return None;
        }
        if !out.iter().any(|t| t == token) {
            out.push(token.to_string());
        }
    }
    Some(out)
}

/// Whether a name a client gives itself (`client_name`) is safe to show on a
/// consent page: no control characters, and no bidirectional overrides,
/// isolates or marks (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C),
/// which can make `Evil\u{202E}ppa.knab` read as another app's name
/// (Unicode TR36 §2.1; RFC 7591 §5 asks servers to guard displayed metadata).
pub fn is_displayable_name(name: &str) -> bool {
    !name.chars().any(|c| {
        c.is_control()
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
    })
}

/// `localhost`, `127.0.0.0/8` or `[::1]`.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Schemes that must never receive a browser redirect.
const FORBIDDEN_SCHEMES: [&str; 5] = ["javascript", "data", "file", "vbscript", "blob"];

/// Whether a redirect URI may be registered: absolute, no fragment, and
/// `https`, `http` on loopback only, or a private-use scheme for native apps
/// (RFC 8252 §7.1: a scheme with a dot, such as `com.example.app`).
///
/// The URI must also pass [`Uri::parse`], which refuses anything a browser
/// might read differently from this check (backslashes, whitespace, dot
/// segments, percent-encoded hosts, ...).
pub fn check_redirect_uri(uri: &str) -> Result<(), RedirectUriError> {
    if uri.len() > 2000 {
        return Err(RedirectUriError::TooLong);
    }
    let url = Uri::parse(uri).map_err(RedirectUriError::Malformed)?;
    if url.fragment().is_some() {
        return Err(RedirectUriError::Fragment);
    }
    if url.has_userinfo() {
        return Err(RedirectUriError::Credentials);
    }
    let scheme = url.scheme().to_ascii_lowercase();
    match scheme.as_str() {
        "https" => Ok(()),
        "http" if url.is_loopback() => Ok(()),
        "http" => Err(RedirectUriError::HttpNotLoopback),
        private if private.contains('.') => Ok(()),
        other => Err(match FORBIDDEN_SCHEMES.iter().find(|f| **f == other) {
            Some(forbidden) => RedirectUriError::ForbiddenScheme(forbidden),
            None => RedirectUriError::UnsupportedScheme(scheme),
        }),
    }
}

/// Why [`check_redirect_uri`] refuses a URI. The message completes a
/// sentence whose subject is the URI ("redirect URI must not contain a
/// fragment"), as registration, document and configuration errors show it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedirectUriError {
    /// Longer than 2000 characters.
    #[error("must be at most 2000 characters")]
    TooLong,
    /// Not a strict absolute URI (see [`Uri::parse`]).
    #[error("is not a strict absolute URI (it has {0})")]
    Malformed(UriError),
    /// A `#fragment` (RFC 6749 §3.1.2).
    #[error("must not contain a fragment")]
    Fragment,
    /// A `user:password@` part.
    #[error("must not contain credentials")]
    Credentials,
    /// `http` to a host that is not loopback.
    #[error("may use http only for a loopback host")]
    HttpNotLoopback,
    /// A scheme no browser redirect may go to (`javascript`, `data`, ...), lowercase.
    #[error("must not use {0}:")]
    ForbiddenScheme(&'static str),
    /// Neither `https` nor a private-use scheme (one with a dot), lowercase.
    #[error("uses {0}:, which is neither https nor a private-use scheme")]
    UnsupportedScheme(String),
}

/// Whether `presented` matches `registered`: exactly, or for loopback `http`
/// URIs with any port (RFC 8252 §7.3) and otherwise the same host, path and
/// query. Both must then parse strictly, so dot segments, which would change
/// the path a browser visits, never match.
pub fn redirect_uri_matches(registered: &str, presented: &str) -> bool {
    if registered == presented {
        return true;
    }
    if presented.len() > 2000 {
        return false;
    }
    let (Ok(reg), Ok(pre)) = (Uri::parse(registered), Uri::parse(presented)) else {
        return false;
    };
    let loopback = |u: &Uri| u.scheme_is("http") && u.is_loopback() && !u.has_userinfo();
    // `http://host` and `http://host/` name the same resource (RFC 9110 §4.2.3).
    fn path<'a>(u: &Uri<'a>) -> &'a str {
        if u.path().is_empty() {
            "/"
        } else {
            u.path()
        }
    }
    loopback(&reg)
        && loopback(&pre)
        && reg.host() == pre.host()
        && path(&reg) == path(&pre)
        && reg.query() == pre.query()
        && reg.fragment().is_none()
        && pre.fragment().is_none()
}

/// RFC 8707 §2: an absolute URI without a fragment; hierarchical (with a
/// host or a path starting with `/`), so that its metadata URL exists.
pub fn is_valid_resource(resource: &str) -> bool {
    resource.len() <= 2000
        && Uri::parse(resource)
            .is_ok_and(|u| u.fragment().is_none() && (u.has_authority() || u.path().starts_with('/')))
}

/// Compares resource URIs loosely enough for a trailing slash.
pub fn same_resource(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_control_or_bidi_characters_are_not_displayable() {
        assert!(is_displayable_name("My App – café 日本"));
        for bad in [
            "a\nb",
            "a\u{7}",
            "Evil\u{202E}ppa",
            "x\u{2066}y",
            "x\u{2069}",
            "\u{200E}x",
            "\u{200F}",
            "\u{061C}x",
        ] {
            assert!(!is_displayable_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn state_is_visible_ascii_and_bounded() {
        for ok in ["st", "a b", "%ff", "{\"k\":1}", "~", &"x".repeat(MAX_STATE_LEN)] {
            assert!(is_valid_state(ok), "{ok}");
        }
        for bad in ["", "é", "a\r\nb", "\u{0}", "\u{7f}", "\u{202E}x", &"x".repeat(MAX_STATE_LEN + 1)] {
            assert!(!is_valid_state(bad), "{bad:?}");
        }
    }

    #[test]
    fn redirect_rules() {
        assert!(check_redirect_uri("https://app.example/cb").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1/cb").is_ok());
        assert!(check_redirect_uri("http://localhost:8080/cb").is_ok());
        assert!(check_redirect_uri("com.example.app:/cb").is_ok());
        assert!(check_redirect_uri("http://evil.example/cb").is_err());
        assert!(check_redirect_uri("javascript:alert(1)").is_err());
        assert!(check_redirect_uri("https://app.example/cb#frag").is_err());
        assert!(check_redirect_uri("https://user:pw@app.example/cb").is_err());
        assert!(check_redirect_uri("/relative").is_err());
    }

    #[test]
    fn loopback_any_port_only() {
        assert!(redirect_uri_matches("http://127.0.0.1/cb", "http://127.0.0.1:53211/cb"));
        assert!(redirect_uri_matches("http://localhost:3000/cb", "http://localhost:4000/cb"));
        assert!(!redirect_uri_matches("http://127.0.0.1/cb", "http://127.0.0.1:1/other"));
        assert!(!redirect_uri_matches("https://a.example/cb", "https://a.example/cb/"));
        assert!(!redirect_uri_matches("https://a.example/cb", "https://a.example:444/cb"));
        assert!(!redirect_uri_matches("http://localhost/cb", "http://127.0.0.1/cb"));
    }

    #[test]
    fn scopes() {
        assert_eq!(parse_scope("read  write read").unwrap(), vec!["read", "write"]);
        assert!(parse_scope("bad\"scope").is_none());
        assert!(is_valid_resource("https://mcp.example/mcp"));
        assert!(!is_valid_resource("https://mcp.example/mcp#x"));
        assert!(!is_valid_resource("relative"));
    }

    #[test]
    fn redirect_rules_in_detail() {
        assert!(check_redirect_uri("http://[::1]:8080/cb").is_ok());
        assert!(check_redirect_uri("http://127.0.0.2/cb").is_ok());
        assert!(check_redirect_uri("HTTPS://App.Example/cb?x=1").is_ok());
        assert!(check_redirect_uri("com.example.app://cb").is_ok());
        assert!(check_redirect_uri(&format!("https://app.example/{}", "a".repeat(1980))).is_ok());
        assert!(check_redirect_uri(&format!("https://app.example/{}", "a".repeat(1990))).is_err());
        for (uri, why) in [
            ("data:text/html,hi", "data:"),
            ("file://host/etc/passwd", "file:"),
            ("vbscript:msgbox", "vbscript:"),
            ("blob:https://app.example/x", "blob:"),
            ("JavaScript:alert(1)", "javascript:"),
            ("myapp:/cb", "private-use"),
            ("http://10.0.0.1/cb", "loopback"),
            ("http://localhost.evil.example/cb", "loopback"),
            ("https://app.example/cb#", "fragment"),
            ("https://user@app.example/cb", "credentials"),
        ] {
            let reason = check_redirect_uri(uri).expect_err(uri).to_string();
            assert!(reason.contains(why), "{uri}: {reason}");
        }
    }

    /// What the strict parser refuses although a WHATWG parser (the `url`
    /// crate, browsers) would have repaired it into something valid.
    #[test]
    fn redirect_uris_a_browser_would_repair_are_refused() {
        for uri in [
            "https://app.example\\@evil.example/cb",
            "https://app.example/\\evil.example",
            "https:/\\evil.example/cb",
            "https:evil.example/cb",
            "https:///evil.example/cb",
            "https://app.example/c\tb",
            "https://app.example/cb\n",
            " https://app.example/cb",
            "https://app.example/cb/../evil",
            "https://app.example/cb/%2e%2e/evil",
            "https://evil%2eexample/cb",
            "https://exämple.example/cb",
            "https://app.example./cb",
            "https://app.example:/cb",
            "https://app.example:0443/cb",
            "https://app.example:65536/cb",
            "http://0x7f.1/cb",
            "http://2130706433/cb",
            "http://127.1/cb",
            "http://[::1%251]/cb",
            "https://a@b@evil.example/cb",
            "https://app.example/cb?x={}",
            "com.example.app:/cb/../x",
        ] {
            assert!(check_redirect_uri(uri).is_err(), "{uri:?}");
            assert!(!redirect_uri_matches("http://localhost/cb", uri), "{uri:?}");
        }
    }

    #[test]
    fn loopback_matching_in_detail() {
        assert!(redirect_uri_matches("http://[::1]/cb", "http://[::1]:9/cb"));
        assert!(redirect_uri_matches("http://127.0.0.1/cb?a=1", "http://127.0.0.1:9/cb?a=1"));
        assert!(redirect_uri_matches("http://localhost", "http://localhost:9/"));
        assert!(redirect_uri_matches("http://localhost/cb", "http://LOCALHOST:9/cb"));
        assert!(!redirect_uri_matches("http://localhost/cb", "http://localhost:9/cb/../cb"));
        assert!(!redirect_uri_matches("http://localhost/cb", "http://localhost:9/cb?a=1"));
        assert!(!redirect_uri_matches("http://localhost/cb?a=1", "http://localhost:9/cb"));
        assert!(!redirect_uri_matches("http://localhost/cb", "http://localhost:9/cb#x"));
        assert!(!redirect_uri_matches("http://localhost/cb", "http://localhost:9/CB"));
        assert!(!redirect_uri_matches("http://localhost/cb", "http://u@localhost:9/cb"));
        assert!(!redirect_uri_matches("http://localhost/cb", "https://localhost:9/cb"));
        assert!(!redirect_uri_matches("http://127.0.0.1/cb", "http://127.0.0.2:9/cb"));
        assert!(!redirect_uri_matches("http://[::1]/cb", "http://127.0.0.1:9/cb"));
        assert!(!redirect_uri_matches(
            "http://localhost/cb",
            &format!("http://localhost:9/cb?{}", "a".repeat(2000))
        ));
        // Exact matches need no parsing; anything else on a non-loopback host never matches.
        assert!(redirect_uri_matches("https://app.example/cb?x=1", "https://app.example/cb?x=1"));
        assert!(!redirect_uri_matches("https://app.example/cb", "https://APP.example/cb"));
    }

    #[test]
    fn resources() {
        assert!(is_valid_resource("https://mcp.example"));
        assert!(is_valid_resource("https://mcp.example:8443/a/b?x=1"));
        assert!(is_valid_resource("com.example:/mcp"));
        assert!(!is_valid_resource("urn:example:mcp"), "not hierarchical");
        assert!(!is_valid_resource("https://mcp.example/#"));
        assert!(!is_valid_resource("https://mcp.example/a/../b"));
        assert!(!is_valid_resource("https://mcp.example\\x/"));
        assert!(!is_valid_resource(&format!("https://mcp.example/{}", "a".repeat(2000))));
    }

    #[test]
    fn loopback_hosts() {
        for host in ["localhost", "LocalHost", "127.0.0.1", "127.9.9.9", "[::1]", "::1"] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in ["", "localhost.", "127.0.0.1.nip.io", "10.0.0.1", "[::2]", "0.0.0.0"] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
