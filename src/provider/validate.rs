//! Syntax rules for the values clients send: redirect URIs, scopes, resources.

use url::Url;

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub fn is_valid_scope_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 128
        && token.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
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
pub fn check_redirect_uri(uri: &str) -> Result<(), String> {
    if uri.len() > 2000 {
        return Err("must be at most 2000 characters".into());
    }
    let url = Url::parse(uri).map_err(|e| format!("is not an absolute URI ({e})"))?;
    if url.fragment().is_some() || uri.contains('#') {
        return Err("must not contain a fragment".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain credentials".into());
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(url.host_str().unwrap_or("")) => Ok(()),
        "http" => Err("may use http only for a loopback host".into()),
        scheme if FORBIDDEN_SCHEMES.contains(&scheme) => Err(format!("must not use {scheme}:")),
        scheme if scheme.contains('.') => Ok(()),
        scheme => Err(format!("uses {scheme}:, which is neither https nor a private-use scheme")),
    }
}

/// Whether `presented` matches `registered`: exactly, or for loopback `http`
/// URIs with any port (RFC 8252 §7.3).
pub fn redirect_uri_matches(registered: &str, presented: &str) -> bool {
    if registered == presented {
        return true;
    }
    let (Ok(reg), Ok(pre)) = (Url::parse(registered), Url::parse(presented)) else {
        return false;
    };
    let loopback = |u: &Url| u.scheme() == "http" && is_loopback_host(u.host_str().unwrap_or(""));
    loopback(&reg)
        && loopback(&pre)
        && reg.host_str() == pre.host_str()
        && reg.path() == pre.path()
        && reg.query() == pre.query()
        && pre.fragment().is_none()
        && presented.len() <= 2000
}

/// RFC 8707 §2: an absolute URI without a fragment.
pub fn is_valid_resource(resource: &str) -> bool {
    resource.len() <= 2000
        && !resource.contains('#')
        && Url::parse(resource).is_ok_and(|u| !u.cannot_be_a_base())
}

/// Compares resource URIs loosely enough for a trailing slash.
pub fn same_resource(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
