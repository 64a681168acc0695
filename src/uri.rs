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
#[non_exhaustive]
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
mod tests;
