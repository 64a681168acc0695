//! Strict absolute URIs (RFC 3986), for the values this server checks and
//! then hands back to browsers: redirect URIs, resources and the issuer.
//!
//! # Why not a WHATWG URL parser
//!
//! A redirect URI is checked once and then used as the very string the client
//! sent: the provider appends `code` and `state` to it and answers with a
//! `Location` header. A WHATWG parser (the `url` crate, browsers) repairs
//! what it reads: it turns `\` into `/`, drops tabs and newlines, decodes
//! percent-escapes in host names, maps Unicode hosts through IDNA, reads
//! `0x7f.1` as an IPv4 address, skips surplus slashes after `https:` and
//! resolves `.` and `..` segments. Whatever it validated is then its repaired
//! reading, not the string that is sent on, and a browser may read that
//! string differently again. That gap between the checked form and the used
//! form is where open redirects come from (`https://app.example\@evil.example`
//! is one host to one reader and another host to the next).
//!
//! [`Uri::parse`] closes the gap by refusing instead of repairing. It accepts
//! only ASCII characters that RFC 3986 allows, each in the component that
//! allows it, and it also refuses what is legal but read differently by
//! different parsers:
//!
//! - whitespace, control characters, non-ASCII, `\`, `"`, `<`, `>`, `^`,
//!   `` ` ``, `{`, `|`, `}`, and `%` not followed by two hex digits;
//! - an empty host, a percent-escape in a host, empty host labels (also a
//!   trailing dot), host characters other than letters, digits, `-`, `.`
//!   and `_`, and names that a browser would read as a number (`2130706433`,
//!   `0x7f.1`, `127.1`) unless they are a plain dotted-quad IPv4 address;
//! - IPv6 zone identifiers and `[v…]` future address forms;
//! - more than one `@` in the authority, an empty port, a port with a
//!   leading zero, and a port above 65535;
//! - `.` and `..` path segments, also percent-encoded (`%2e`), since they
//!   change which path a URI names;
//! - `http:`, `https:`, `ws:`, `wss:`, `ftp:` and `file:` without `//host`,
//!   which a browser would repair into something else.
//!
//! Anything the parser accepts therefore names one thing to every reader, and
//! comparing its parts compares what a browser will visit. User information
//! (`user:password@`) is syntax RFC 3986 allows, so it is parsed and reported
//! by [`Uri::has_userinfo`]; the redirect rules refuse it.
//!
//! ```
//! use simply_mcp_oauth::uri::{Host, Uri};
//!
//! let uri = Uri::parse("http://127.0.0.1:8080/cb?x=1").unwrap();
//! assert_eq!(uri.scheme(), "http");
//! assert_eq!(uri.host(), Some(&Host::Ipv4([127, 0, 0, 1].into())));
//! assert_eq!(uri.port(), Some(8080));
//! assert_eq!(uri.path(), "/cb");
//! assert_eq!(uri.query(), Some("x=1"));
//! assert!(uri.is_loopback());
//! assert_eq!(uri.with_query_pairs([("code", "a b")]), "http://127.0.0.1:8080/cb?x=1&code=a+b");
//! assert!(Uri::parse("https://app.example\\@evil.example/").is_err());
//! ```

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Why a string is not a URI this module accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriError {
    /// No scheme, or a scheme with characters RFC 3986 does not allow
    /// (relative references have no scheme).
    Scheme,
    /// A character that is not allowed where it appears: non-ASCII,
    /// whitespace, a control character, `\` and the like.
    Character,
    /// A `%` not followed by two hexadecimal digits.
    PercentEncoding,
    /// A host that is empty, percent-encoded, ambiguous or malformed.
    Host,
    /// A port that is empty, has a leading zero or exceeds 65535.
    Port,
    /// More than one `@` in the authority.
    Userinfo,
    /// A `.` or `..` path segment.
    DotSegment,
    /// A scheme that needs `//host` (such as `https:`) without one.
    MissingAuthority,
}

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Scheme => "no valid scheme",
            Self::Character => "a character that is not allowed",
            Self::PercentEncoding => "a malformed percent-escape",
            Self::Host => "an invalid host",
            Self::Port => "an invalid port",
            Self::Userinfo => "an ambiguous user part",
            Self::DotSegment => "a . or .. path segment",
            Self::MissingAuthority => "no //host",
        })
    }
}

impl std::error::Error for UriError {}

/// The host of a URI.
#[derive(Debug, Clone, Copy, Eq)]
pub enum Host<'a> {
    /// A registered name as written; compared without regard to ASCII case.
    Name(&'a str),
    /// An IPv4 address in dotted-quad form.
    Ipv4(Ipv4Addr),
    /// An IPv6 address, written in brackets.
    Ipv6(Ipv6Addr),
}

impl PartialEq for Host<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Name(a), Self::Name(b)) => a.eq_ignore_ascii_case(b),
            (Self::Ipv4(a), Self::Ipv4(b)) => a == b,
            (Self::Ipv6(a), Self::Ipv6(b)) => a == b,
            _ => false,
        }
    }
}

impl Host<'_> {
    /// `localhost`, an address in `127.0.0.0/8`, or `::1`.
    pub fn is_loopback(&self) -> bool {
        match self {
            Self::Name(name) => name.eq_ignore_ascii_case("localhost"),
            Self::Ipv4(ip) => ip.is_loopback(),
            Self::Ipv6(ip) => ip.is_loopback(),
        }
    }
}

/// An absolute URI, `scheme ":" ["//" [userinfo "@"] host [":" port]] path
/// ["?" query] ["#" fragment]`, borrowed from the string it was parsed from.
/// See the [module documentation](self) for what [`Uri::parse`] refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri<'a> {
    source: &'a str,
    scheme: &'a str,
    authority: Option<Authority<'a>>,
    path: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Authority<'a> {
    userinfo: bool,
    host_text: &'a str,
    host: Host<'a>,
    port: Option<u16>,
}

/// Schemes a browser parses as "special" and repairs when `//` is missing.
const SPECIAL_SCHEMES: [&str; 6] = ["http", "https", "ws", "wss", "ftp", "file"];

/// RFC 3986 character classes, as bits of [`CLASSES`].
const UNRESERVED: u8 = 1;
const SUB_DELIM: u8 = 2;
const COLON: u8 = 4;
const AT: u8 = 8;
const SLASH: u8 = 16;
const QUESTION: u8 = 32;
/// `userinfo` without `%`.
const USERINFO: u8 = UNRESERVED | SUB_DELIM | COLON;
/// `pchar` and `/` (a path) without `%`.
const PATH: u8 = USERINFO | AT | SLASH;
/// A query or a fragment, without `%`.
const QUERY: u8 = PATH | QUESTION;

/// The classes of each ASCII byte (one table keeps the wasm module small).
const CLASSES: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        table[b] = if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
            UNRESERVED
        } else if matches!(c, b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=') {
            SUB_DELIM
        } else {
            match c {
                b':' => COLON,
                b'@' => AT,
                b'/' => SLASH,
                b'?' => QUESTION,
                _ => 0,
            }
        };
        b += 1;
    }
    table
};

/// Checks that every byte is in one of the classes `allowed` or starts a
/// valid `%XX`.
fn check_chars(text: &str, allowed: u8) -> Result<(), UriError> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return Err(UriError::PercentEncoding);
            }
            i += 3;
        } else if CLASSES.get(b as usize).is_some_and(|class| class & allowed != 0) {
            i += 1;
        } else {
            return Err(UriError::Character);
        }
    }
    Ok(())
}

/// Whether a path segment is `.` or `..`, also spelled with `%2e`.
fn is_dot_segment(segment: &str) -> bool {
    let rest = segment.as_bytes();
    let mut dots = 0;
    let mut i = 0;
    while i < rest.len() {
        if rest[i] == b'.' {
            i += 1;
        } else if rest[i..].len() >= 3 && rest[i..i + 3].eq_ignore_ascii_case(b"%2e") {
            i += 3;
        } else {
            return false;
        }
        dots += 1;
    }
    dots == 1 || dots == 2
}

/// Whether a browser would read this registered name as an IPv4 number: its
/// last label is all digits, or `0x` and hex digits.
fn looks_numeric(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    let hex = last.strip_prefix("0x").or_else(|| last.strip_prefix("0X"));
    match hex {
        Some(digits) => digits.bytes().all(|b| b.is_ascii_hexdigit()),
        None => !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()),
    }
}

fn parse_host(text: &str) -> Result<Host<'_>, UriError> {
    if let Some(inner) = text.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or(UriError::Host)?;
        // std's parser takes only plain IPv6 text: no zone, no `v1.` forms.
        return inner.parse().map(Host::Ipv6).map_err(|_| UriError::Host);
    }
    if text.is_empty()
        || text.split('.').any(str::is_empty)
        || !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    {
        return Err(UriError::Host);
    }
    if looks_numeric(text) {
        // Only the one spelling every reader agrees on: four decimal octets
        // without leading zeros (std refuses `127.1`, `0x7f` and `01`).
        return text.parse().map(Host::Ipv4).map_err(|_| UriError::Host);
    }
    Ok(Host::Name(text))
}

fn parse_port(text: &str) -> Result<u16, UriError> {
    let valid = !text.is_empty()
        && text.len() <= 5
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if !valid {
        return Err(UriError::Port);
    }
    text.parse().map_err(|_| UriError::Port)
}

fn parse_authority(text: &str) -> Result<Authority<'_>, UriError> {
    let (userinfo, host_port) = match text.split_once('@') {
        Some((user, rest)) => {
            if rest.contains('@') {
                return Err(UriError::Userinfo);
            }
            check_chars(user, USERINFO)?;
            (true, rest)
        }
        None => (false, text),
    };
    // The port follows the last `:` outside an IPv6 literal.
    let port_at = match host_port.rfind(']') {
        Some(end) => host_port[end..].find(':').map(|i| end + i),
        None => host_port.find(':'),
    };
    let (host_text, port) = match port_at {
        Some(i) => (&host_port[..i], Some(parse_port(&host_port[i + 1..])?)),
        None => (host_port, None),
    };
    let host = parse_host(host_text)?;
    Ok(Authority { userinfo, host_text, host, port })
}

impl<'a> Uri<'a> {
    /// Parses an absolute URI, refusing everything the
    /// [module documentation](self) lists.
    pub fn parse(source: &'a str) -> Result<Self, UriError> {
        if !source.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(UriError::Character);
        }
        let (scheme, rest) = source.split_once(':').ok_or(UriError::Scheme)?;
        let mut scheme_bytes = scheme.bytes();
        if !scheme_bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
            || !scheme_bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        {
            return Err(UriError::Scheme);
        }
        let (rest, fragment) = match rest.split_once('#') {
            Some((rest, fragment)) => (rest, Some(fragment)),
            None => (rest, None),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((rest, query)) => (rest, Some(query)),
            None => (rest, None),
        };
        let (authority, path) = match rest.strip_prefix("//") {
            Some(after) => {
                let end = after.find('/').unwrap_or(after.len());
                (Some(parse_authority(&after[..end])?), &after[end..])
            }
            None => (None, rest),
        };
        if authority.is_none() && SPECIAL_SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
            return Err(UriError::MissingAuthority);
        }
        check_chars(path, PATH)?;
        if path.split('/').any(is_dot_segment) {
            return Err(UriError::DotSegment);
        }
        for part in [query, fragment].into_iter().flatten() {
            check_chars(part, QUERY)?;
        }
        Ok(Self { source, scheme, authority, path, query, fragment })
    }

    /// The whole URI, exactly as parsed.
    pub fn as_str(&self) -> &'a str {
        self.source
    }

    /// The scheme as written; compare it with [`Uri::scheme_is`].
    pub fn scheme(&self) -> &'a str {
        self.scheme
    }

    /// Whether the scheme is `name`, without regard to ASCII case.
    pub fn scheme_is(&self, name: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(name)
    }

    /// Whether the URI has an authority (`//host`).
    pub fn has_authority(&self) -> bool {
        self.authority.is_some()
    }

    /// Whether the authority has a user part (`user:password@`).
    pub fn has_userinfo(&self) -> bool {
        self.authority.as_ref().is_some_and(|a| a.userinfo)
    }

    /// The host; `None` without an authority.
    pub fn host(&self) -> Option<&Host<'a>> {
        self.authority.as_ref().map(|a| &a.host)
    }

    /// The host as written, IPv6 literals with their brackets.
    pub fn host_str(&self) -> Option<&'a str> {
        self.authority.as_ref().map(|a| a.host_text)
    }

    /// The explicit port, if any (a default port is not filled in).
    pub fn port(&self) -> Option<u16> {
        self.authority.as_ref().and_then(|a| a.port)
    }

    /// The path as written: empty, or starting with `/` after an authority.
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// The query without its `?` (`Some("")` for a bare `?`).
    pub fn query(&self) -> Option<&'a str> {
        self.query
    }

    /// The fragment without its `#` (`Some("")` for a bare `#`).
    pub fn fragment(&self) -> Option<&'a str> {
        self.fragment
    }

    /// Whether the host is loopback (`localhost`, `127.0.0.0/8`, `[::1]`).
    pub fn is_loopback(&self) -> bool {
        self.host().is_some_and(Host::is_loopback)
    }

    /// The RFC 6454 origin, `scheme://host[:port]`: scheme and host in
    /// lowercase, without user part, and without the port when it is the
    /// default one of `http` (80) or `https` (443). `None` without a host.
    pub fn origin(&self) -> Option<String> {
        let authority = self.authority.as_ref()?;
        let scheme = self.scheme.to_ascii_lowercase();
        let default = match scheme.as_str() {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        };
        let mut origin = format!("{scheme}://{}", authority.host_text.to_ascii_lowercase());
        if let Some(port) = authority.port.filter(|&p| Some(p) != default) {
            origin.push_str(&format!(":{port}"));
        }
        Some(origin)
    }

    /// This URI with form-encoded pairs added to its query; see
    /// [`append_query_pairs`].
    pub fn with_query_pairs<'p>(&self, pairs: impl IntoIterator<Item = (&'p str, &'p str)>) -> String {
        append_query_pairs(self.source, pairs)
    }
}

impl fmt::Display for Uri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.source)
    }
}

/// Adds `application/x-www-form-urlencoded` pairs to the query of `uri`,
/// leaving every other character as it was: after the existing query with
/// `&` (none after a bare `?`), or as a new query, before any fragment.
///
/// It works on the string alone, so a URI stored before a rule got stricter
/// still gets its parameters; in a URI, the first `?` before the first `#`
/// starts the query.
pub fn append_query_pairs<'p>(uri: &str, pairs: impl IntoIterator<Item = (&'p str, &'p str)>) -> String {
    let (base, fragment) = match uri.find('#') {
        Some(i) => uri.split_at(i),
        None => (uri, ""),
    };
    let encoded = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    if encoded.is_empty() {
        return uri.to_string();
    }
    let separator = match base.find('?') {
        None => "?",
        Some(i) if i + 1 == base.len() => "",
        Some(_) => "&",
    };
    format!("{base}{separator}{encoded}{fragment}")
}

/// The origin-form request target (`/path?query`) of an absolute URL as a
/// web runtime hands it over (`Request.url`, already serialized by a WHATWG
/// parser). Lenient on purpose: this is for routing requests, not for
/// validating URIs (use [`Uri::parse`]). The fragment is dropped, an empty
/// path becomes `/`; `None` unless the first `:` is followed by `//`.
pub fn request_target(url: &str) -> Option<String> {
    let after = url[url.find(':')? + 1..].strip_prefix("//")?;
    let without_fragment = after.split('#').next().unwrap_or(after);
    let start = without_fragment.find(['/', '?']).unwrap_or(without_fragment.len());
    let target = &without_fragment[start..];
    Some(if target.starts_with('/') { target.to_string() } else { format!("/{target}") })
}

#[cfg(test)]
mod tests {
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
}
