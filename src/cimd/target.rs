//! What a metadata URL may name, decided from its text before any lookup or
//! connection, on every target: [`super::resolve`] checks it before handing
//! a URL to any fetcher (the JS host's `fetch` included, which has no
//! resolver to filter), and the native fetcher once more.
//!
//! Every IP literal is refused, not only the special-use ones (private,
//! loopback, link-local, CGNAT, unique-local, multicast, documentation,
//! unspecified, IPv4-mapped…): a client's document lives at a name, and a
//! literal is either one of those ranges or an address that no certificate
//! names in practice. Refusing all of them needs no table of ranges, so it
//! costs the wasm module next to nothing and no spelling slips through.
//!
//! # Numeric hosts
//!
//! A host written as an address is refused, whatever its spelling. WHATWG URL
//! parsers (browsers, the `url` crate the HTTP client uses) read far more
//! than dotted quads as IPv4: `2130706433`, `0x7f000001`, `0x7f.1`,
//! `0177.0.0.1`, `017700000001`, `127.1` and `127.0.1` all mean 127.0.0.1. The
//! rule that covers every such spelling without knowing them: a host whose
//! last label is all digits or starts with `0x` is numeric, and so is any
//! bracketed (IPv6) host. [`Uri::parse`] already refuses every numeric
//! spelling but the plain dotted quad and turns that and brackets into
//! [`Host::Ipv4`] / [`Host::Ipv6`]; [`is_numeric_name`] repeats the rule on
//! the names it lets through, so it holds even if that parser changes.
//!
//! The one exception is the development switch: with `allow_loopback`, the
//! loopback literals `127.0.0.0/8` and `[::1]` are allowed (over http or
//! https), as is the name `localhost`, which never goes to DNS then.

use crate::cimd::FetchError;
use crate::uri::{Host, Uri};

fn refuse(why: impl Into<String>) -> FetchError {
    FetchError::Refused(why.into())
}

/// Whether a registered name would be read as an IPv4 number by some parser.
pub(crate) fn is_numeric_name(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    let lower = last.to_ascii_lowercase();
    lower.starts_with("0x") || (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
}

/// Checks scheme and host of `url` against the fetch rules.
pub(crate) fn check(url: &str, allow_loopback: bool) -> Result<(), FetchError> {
    let uri = Uri::parse(url).map_err(|e| refuse(format!("not a URL this server fetches ({e})")))?;
    let https = uri.scheme_is("https");
    if !https && !uri.scheme_is("http") {
        return Err(refuse("only https URLs are fetched"));
    }
    if uri.has_userinfo() {
        return Err(refuse("a URL with a user part is not fetched"));
    }
    let host = uri.host().ok_or_else(|| refuse("the URL has no host"))?;
    // `true` for the loopback hosts; other literals are refused here.
    let loopback = match *host {
        Host::Name(name) if is_numeric_name(name) => return Err(refuse("the host is a number")),
        Host::Name(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) if ip.is_loopback() => true,
        Host::Ipv6(ip) if ip.is_loopback() => true,
        Host::Ipv4(_) | Host::Ipv6(_) => return Err(refuse("the host is an IP address literal")),
    };
    if loopback && !allow_loopback {
        return Err(refuse("the host is loopback"));
    }
    if !https && !loopback {
        return Err(refuse("only https URLs are fetched"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_names() {
        for name in ["2130706433", "0x7f000001", "0X7F.1", "127.1", "a.0x", "017700000001", "1.2.3.4"] {
            assert!(is_numeric_name(name), "{name}");
        }
        for name in ["example.com", "0a.example", "x0.com", "1.example", "xn--0x"] {
            assert!(!is_numeric_name(name), "{name}");
        }
    }

    #[test]
    fn rules() {
        let refused = |url: &str, loopback| matches!(check(url, loopback), Err(FetchError::Refused(_)));
        for url in [
            "https://2130706433/",
            "https://0x7f000001/",
            "https://0x7f.1/",
            "https://0177.0.0.1/",
            "https://017700000001/",
            "https://127.1/",
            "https://127.0.1/",
            "https://[::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://8.8.8.8/",
            "https://[2606:4700::1111]/",
            "https://localhost/",
            "http://example.com/",
            "ftp://example.com/",
            "https://user@example.com/",
            "https://example.com\\@evil/",
        ] {
            assert!(refused(url, false), "{url}");
        }
        for url in ["http://example.com/", "https://10.0.0.5/", "http://[fd00::1]/", "http://2130706433/"] {
            assert!(refused(url, true), "{url} with allow_loopback");
        }
        for url in ["https://example.com/c", "HTTPS://Example.COM:8443/c?x"] {
            assert_eq!(check(url, false), Ok(()), "{url}");
        }
        for url in
            ["https://example.com/c", "http://LocalHost:8080/c", "http://127.0.0.1:9/c", "https://[::1]:9/"]
        {
            assert_eq!(check(url, true), Ok(()), "{url} with allow_loopback");
        }
    }
}
