//! Which client ids are metadata document URLs, and the rules such a URL
//! must keep (draft-ietf-oauth-client-id-metadata-document-01 §3: an https
//! URL with a path, without dot segments, fragment, userinfo or query).
//!
//! The checks run on the strict parser of [`crate::uri`], which already
//! refuses `.`/`..` segments (also `%2e`), percent-encoded and numeric-looking
//! hosts and every character a browser would repair. The URL is then fetched
//! and compared as the very string the client sent: the document's
//! `client_id` must equal it byte for byte (§4.1).

use crate::uri::{Uri, UriError};

/// Longest metadata URL accepted. Long enough for any real client, short
/// enough that a flood of distinct URLs cannot make the cache large.
pub const MAX_URL_LEN: usize = 2000;

/// Whether `client_id` names a metadata document rather than a client this
/// server knows: it starts with `https://` (or `http://` when loopback
/// documents are allowed for development). Such ids are then checked with
/// [`check_metadata_url`], so that a malformed one is reported as such
/// instead of as an unknown client. Ids this server issues (`mcp_…`) never
/// look like this.
///
/// It compares bytes: the id is request data, and slicing a `str` at a byte
/// offset that falls inside a character (`https:/é`) would panic.
pub fn is_metadata_client_id(client_id: &str, allow_loopback: bool) -> bool {
    let starts = |prefix: &str| {
        let head = client_id.as_bytes().get(..prefix.len());
        head.is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
    };
    starts("https://") || (allow_loopback && starts("http://"))
}

/// Why a URL cannot be a metadata document's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// Longer than [`MAX_URL_LEN`].
    #[error("the client_id URL is longer than {MAX_URL_LEN} characters")]
    TooLong,
    /// Not a strict absolute URI (see [`crate::uri`]); dot segments land here.
    #[error("the client_id URL is malformed: it has {0}")]
    Malformed(UriError),
    /// Not `https` (nor `http` on a loopback host with the switch on).
    #[error("the client_id URL must use https")]
    NotHttps,
    /// A loopback host (over http or https), with loopback documents not allowed.
    #[error("the client_id URL names a loopback host, which this server allows only in local development")]
    LoopbackRefused,
    /// The path is empty or `/` (§3: the URL must contain a path).
    #[error("the client_id URL must have a path")]
    NoPath,
    /// A fragment (§3).
    #[error("the client_id URL must not have a fragment")]
    Fragment,
    /// A `user:password@` part (§3).
    #[error("the client_id URL must not have a username or password")]
    Userinfo,
    /// A query (§3 says SHOULD NOT; refused here so one document has one URL).
    #[error("the client_id URL must not have a query")]
    Query,
}

/// Checks a metadata URL. `allow_loopback` admits `http://` on loopback hosts
/// (`localhost`, `127.0.0.0/8`, `[::1]`) for local development and tests;
/// https on a loopback host is allowed only with it as well, since the
/// documents a loopback host serves are the operator's own, never a client's.
pub fn check_metadata_url(url: &str, allow_loopback: bool) -> Result<(), UrlError> {
    if url.len() > MAX_URL_LEN {
        return Err(UrlError::TooLong);
    }
    let parsed = match Uri::parse(url) {
        Ok(parsed) => parsed,
        // A `.`/`..` segment is the one rule of §3 the parser itself enforces.
        Err(error) => return Err(UrlError::Malformed(error)),
    };
    if parsed.scheme_is("https") {
        if parsed.is_loopback() && !allow_loopback {
            return Err(UrlError::LoopbackRefused);
        }
    } else if parsed.scheme_is("http") && parsed.is_loopback() {
        if !allow_loopback {
            return Err(UrlError::LoopbackRefused);
        }
    } else {
        return Err(UrlError::NotHttps);
    }
    if parsed.has_userinfo() {
        return Err(UrlError::Userinfo);
    }
    if parsed.fragment().is_some() {
        return Err(UrlError::Fragment);
    }
    if parsed.query().is_some() {
        return Err(UrlError::Query);
    }
    if parsed.path().is_empty() || parsed.path() == "/" {
        return Err(UrlError::NoPath);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_ids_are_metadata_urls() {
        assert!(is_metadata_client_id("https://app.example/client.json", false));
        assert!(is_metadata_client_id("HTTPS://app.example/c", false));
        assert!(!is_metadata_client_id("http://127.0.0.1/c", false));
        assert!(is_metadata_client_id("http://127.0.0.1/c", true));
        assert!(!is_metadata_client_id("mcp_abc", true));
        assert!(!is_metadata_client_id("https:/", true));
        assert!(!is_metadata_client_id("é", true));
    }

    #[test]
    fn a_character_across_the_prefix_end_is_no_match_and_no_panic() {
        // `é` is two bytes; the 8-byte prefix ends inside it (the fuzz crash).
        for id in ["https:/é", "http:/é", "https:/\u{10FFFF}", "httpé", "ĥttps://a.example/c"] {
            assert!(!is_metadata_client_id(id, true), "{id}");
        }
        assert!(
            is_metadata_client_id("https://é.example/c", false),
            "a match, refused later by the URL rules"
        );
    }

    #[test]
    fn accepts_https_urls_with_a_path() {
        assert_eq!(check_metadata_url("https://app.example/client.json", false), Ok(()));
        assert_eq!(check_metadata_url("https://app.example:8443/a/b", false), Ok(()));
        assert_eq!(check_metadata_url("https://app.example/", false), Err(UrlError::NoPath));
        assert_eq!(check_metadata_url("https://app.example", false), Err(UrlError::NoPath));
    }

    #[test]
    fn refuses_what_section_3_forbids() {
        let check = |url| check_metadata_url(url, false);
        assert_eq!(check("http://app.example/c"), Err(UrlError::NotHttps));
        assert_eq!(check("ftp://app.example/c"), Err(UrlError::NotHttps));
        assert_eq!(check("https://app.example/c#x"), Err(UrlError::Fragment));
        assert_eq!(check("https://app.example/c#"), Err(UrlError::Fragment));
        assert_eq!(check("https://app.example/c?x=1"), Err(UrlError::Query));
        assert_eq!(check("https://app.example/c?"), Err(UrlError::Query));
        assert_eq!(check("https://u:p@app.example/c"), Err(UrlError::Userinfo));
        assert_eq!(check("https://u@app.example/c"), Err(UrlError::Userinfo));
        for dots in ["https://a.example/./c", "https://a.example/x/../c", "https://a.example/%2e%2E/c"] {
            assert_eq!(check(dots), Err(UrlError::Malformed(UriError::DotSegment)), "{dots}");
        }
        assert!(matches!(check("https://a.example\\@evil.example/c"), Err(UrlError::Malformed(_))));
        assert!(matches!(check("https://0x7f.1/c"), Err(UrlError::Malformed(_))));
        let long = format!("https://a.example/{}", "x".repeat(MAX_URL_LEN));
        assert_eq!(check(&long), Err(UrlError::TooLong));
    }

    #[test]
    fn loopback_only_with_the_switch() {
        for url in ["http://127.0.0.1:9000/c", "http://localhost/c", "http://[::1]/c", "https://localhost/c"]
        {
            assert_eq!(check_metadata_url(url, false), Err(UrlError::LoopbackRefused), "{url}");
            assert_eq!(check_metadata_url(url, true), Ok(()), "{url}");
        }
        assert_eq!(check_metadata_url("http://app.example/c", true), Err(UrlError::NotHttps));
        assert_eq!(check_metadata_url("http://127.0.0.1/", true), Err(UrlError::NoPath));
    }
}
