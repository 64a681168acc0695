//! CSRF protection for an application's own forms, such as a consent page:
//! the pieces the demo server's consent and connected-apps pages use, public
//! so that any host app (axum or not) can protect its forms the same way.
//!
//! The `GET` that shows a form sets an `HttpOnly; SameSite=Strict` cookie
//! holding a random nonce and puts `<expiry>.HMAC-SHA256(key, purpose ||
//! expiry || nonce || canonical fields)` in the form. The `POST` needs both,
//! a match and a time before the expiry, so neither another site nor a
//! tampered or stale form gets through; the purpose keeps a token of one form
//! from being accepted by another. Over `https` the cookie is `__Host-`
//! prefixed (`Secure`, `Path=/`, no `Domain`), so no sibling host can plant
//! or overwrite it (RFC 6265bis §4.1.3.2).
//!
//! ```
//! use http::header::{COOKIE, SET_COOKIE};
//! use http::HeaderMap;
//! use simply_mcp_oauth::http::csrf::{self, CsrfCookie, FORM_LIFETIME};
//!
//! let key = [7u8; 32]; // random per process in a real server
//! let cookie = CsrfCookie { name: "consent_csrf", path: "/authorize", secure: false };
//! let fields = [("client_id".to_string(), "c1".to_string())];
//! let now = 1_700_000_000;
//!
//! // GET: the cookie (the browser's nonce if it sent one) and the form's token.
//! let nonce = cookie.nonce_or_fresh(&HeaderMap::new()).unwrap();
//! let mut page = HeaderMap::new();
//! page.insert(SET_COOKIE, cookie.set(&nonce).unwrap());
//! let token = csrf::token(&key, "consent", &nonce, &fields, now);
//!
//! // POST: the browser's cookie, and the form's fields and token.
//! let mut post = HeaderMap::new();
//! post.insert(COOKIE, format!("consent_csrf={nonce}").parse().unwrap());
//! let sent = cookie.nonce(&post).unwrap();
//! assert!(csrf::verify(&key, "consent", &sent, &fields, &token, now + 1));
//! // Not for another form, and not once the form's lifetime is over.
//! assert!(!csrf::verify(&key, "apps", &sent, &fields, &token, now + 1));
//! let later = now + u64::from(FORM_LIFETIME);
//! assert!(!csrf::verify(&key, "consent", &sent, &fields, &token, later));
//! ```

use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use sha2::{Digest as _, Sha256};

use crate::clock::UnixTime;
use crate::crypto::{base64url, base64url_decode, constant_time_eq, random_secret, RandomnessError};

/// Seconds a form (its token and its cookie) stays usable.
pub const FORM_LIFETIME: u32 = 600;

/// One form's cookie: its name and the path it is sent to. Each form (or
/// family of forms) has its own name, so two pages do not share a nonce.
#[derive(Clone, Copy, Debug)]
pub struct CsrfCookie<'a> {
    /// The name, without the `__Host-` prefix that [`secure`](Self::secure) adds.
    pub name: &'static str,
    /// The path, over `http` only: a `__Host-` cookie must have `Path=/`.
    pub path: &'a str,
    /// `Secure` and the `__Host-` prefix (the issuer is `https`).
    pub secure: bool,
}

impl CsrfCookie<'_> {
    /// The name on the wire: `__Host-<name>` over `https`.
    fn wire_name(&self) -> String {
        if self.secure {
            format!("__Host-{}", self.name)
        } else {
            self.name.to_string()
        }
    }

    /// The nonce the browser sent, if present and well-formed (43 base64url characters).
    pub fn nonce(&self, headers: &HeaderMap) -> Option<String> {
        let name = self.wire_name();
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(found, _)| *found == name)
            .map(|(_, value)| value.trim())
            .filter(|value| value.len() == 43 && base64url_decode(value).is_some())
            .map(str::to_string)
    }

    /// The browser's nonce, or a fresh one: a second tab keeps the first
    /// tab's form valid.
    pub fn nonce_or_fresh(&self, headers: &HeaderMap) -> Result<String, RandomnessError> {
        match self.nonce(headers) {
            Some(nonce) => Ok(nonce),
            None => random_secret(),
        }
    }

    /// The `Set-Cookie` value carrying `nonce`.
    pub fn set(&self, nonce: &str) -> Option<HeaderValue> {
        let (path, secure) = if self.secure { ("/", "; Secure") } else { (self.path, "") };
        let cookie = format!(
            "{}={nonce}; Path={path}; Max-Age={FORM_LIFETIME}; HttpOnly; SameSite=Strict{secure}",
            self.wire_name()
        );
        HeaderValue::try_from(cookie).ok()
    }
}

/// The form token for a form shown at `now`: `<expiry>.<mac>`, the expiry
/// ([`FORM_LIFETIME`] from `now`) being part of what the MAC covers.
///
/// `key` is the server's secret (random per process is enough: a restart
/// only voids open forms); `purpose` names the form, so that a token of one
/// form is refused by another; `nonce` is the cookie's
/// ([`CsrfCookie::nonce_or_fresh`]); `fields` are the form's other fields,
/// in any order, which the token pins against tampering.
pub fn token(
    key: &[u8; 32],
    purpose: &str,
    nonce: &str,
    fields: &[(String, String)],
    now: UnixTime,
) -> String {
    let expires_at = now.saturating_add(u64::from(FORM_LIFETIME));
    format!("{expires_at}.{}", mac(key, purpose, expires_at, nonce, fields))
}

/// HMAC-SHA256(key, purpose || 0 || expiry || 0 || nonce || 0 || canonical
/// fields), base64url. The fields are sorted, so the token does not depend on
/// the order a browser submits them.
fn mac(
    key: &[u8; 32],
    purpose: &str,
    expires_at: UnixTime,
    nonce: &str,
    fields: &[(String, String)],
) -> String {
    let mut sorted: Vec<_> = fields.iter().collect();
    sorted.sort();
    let canonical = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(sorted.iter().map(|(k, v)| (k, v)))
        .finish();
    let mut inner_pad = [0x36u8; 64];
    let mut outer_pad = [0x5cu8; 64];
    for (i, byte) in key.iter().enumerate() {
        inner_pad[i] ^= byte;
        outer_pad[i] ^= byte;
    }
    let inner = Sha256::new()
        .chain_update(inner_pad)
        .chain_update(purpose.as_bytes())
        .chain_update([0u8])
        .chain_update(expires_at.to_string().as_bytes())
        .chain_update([0u8])
        .chain_update(nonce.as_bytes())
        .chain_update([0u8])
        .chain_update(canonical.as_bytes())
        .finalize();
    let mac = Sha256::new().chain_update(outer_pad).chain_update(inner).finalize();
    base64url(&mac)
}

/// Whether `presented` is a [`token`] for these inputs that has not expired
/// at `now` (the MAC compared in constant time). `nonce` is the one the
/// browser sent ([`CsrfCookie::nonce`]; no cookie, no match).
pub fn verify(
    key: &[u8; 32],
    purpose: &str,
    nonce: &str,
    fields: &[(String, String)],
    presented: &str,
    now: UnixTime,
) -> bool {
    let Some((expiry, presented_mac)) = presented.split_once('.') else { return false };
    // Digits only, so that the text signed is the one presented.
    if expiry.is_empty() || expiry.len() > 20 || !expiry.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Ok(expires_at) = expiry.parse::<UnixTime>() else { return false };
    now < expires_at && constant_time_eq(&mac(key, purpose, expires_at, nonce, fields), presented_mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const NOW: UnixTime = 1_700_000_000;

    #[test]
    fn token_binds_purpose_nonce_and_fields_not_order() {
        let key = [7u8; 32];
        let a = pairs(&[("a", "1"), ("b", "2")]);
        let b = pairs(&[("b", "2"), ("a", "1")]);
        let nonce = "n".repeat(43);
        let token_a = token(&key, "p", &nonce, &a, NOW);
        assert_eq!(token_a, token(&key, "p", &nonce, &b, NOW));
        assert!(verify(&key, "p", &nonce, &b, &token_a, NOW));
        assert!(!verify(&key, "p", &"m".repeat(43), &a, &token_a, NOW));
        assert!(!verify(&key, "q", &nonce, &a, &token_a, NOW));
        assert!(!verify(&key, "p", &nonce, &pairs(&[("a", "1"), ("b", "3")]), &token_a, NOW));
        assert!(!verify(&[8u8; 32], "p", &nonce, &a, &token_a, NOW));
    }

    /// A form left open, or a token that leaked, stops working after
    /// [`FORM_LIFETIME`]; the expiry cannot be pushed back, it is signed.
    #[test]
    fn tokens_expire_after_the_form_lifetime_and_the_expiry_is_signed() {
        let key = [7u8; 32];
        let fields = pairs(&[("client_id", "c")]);
        let nonce = "n".repeat(43);
        let issued = token(&key, "p", &nonce, &fields, NOW);
        let lifetime = u64::from(FORM_LIFETIME);
        assert!(lifetime <= 600, "within 10 minutes");
        assert!(verify(&key, "p", &nonce, &fields, &issued, NOW + lifetime - 1));
        assert!(!verify(&key, "p", &nonce, &fields, &issued, NOW + lifetime));
        let (_, mac) = issued.split_once('.').unwrap();
        let pushed_back = format!("{}.{mac}", NOW + 10 * lifetime);
        assert!(!verify(&key, "p", &nonce, &fields, &pushed_back, NOW + lifetime));
        for malformed in
            [mac.to_string(), format!(".{mac}"), format!("+{}.{mac}", NOW + lifetime), String::new()]
        {
            assert!(!verify(&key, "p", &nonce, &fields, &malformed, NOW), "{malformed}");
        }
    }

    #[test]
    fn reads_only_its_own_well_formed_nonce() {
        let cookie = CsrfCookie { name: "form_csrf", path: "/forms", secure: false };
        let mut headers = HeaderMap::new();
        let nonce = "A".repeat(43);
        headers.insert(COOKIE, HeaderValue::try_from(format!("x=1; form_csrf={nonce}")).unwrap());
        assert_eq!(cookie.nonce(&headers), Some(nonce.clone()));
        let other = CsrfCookie { name: "other_csrf", ..cookie };
        assert_eq!(other.nonce(&headers), None);
        headers.insert(COOKIE, HeaderValue::from_static("form_csrf=short"));
        assert_eq!(cookie.nonce(&headers), None);
        let set = cookie.set(&nonce).unwrap();
        assert_eq!(
            set.to_str().unwrap(),
            format!("form_csrf={nonce}; Path=/forms; Max-Age=600; HttpOnly; SameSite=Strict")
        );
    }

    /// Over `https` the cookie is `__Host-` prefixed, which browsers accept
    /// only with `Secure`, `Path=/` and no `Domain`; the plain name is not read.
    #[test]
    fn over_https_the_cookie_is_host_prefixed() {
        let cookie = CsrfCookie { name: "form_csrf", path: "/auth/authorize", secure: true };
        let nonce = "A".repeat(43);
        let set = cookie.set(&nonce).unwrap();
        assert_eq!(
            set.to_str().unwrap(),
            format!("__Host-form_csrf={nonce}; Path=/; Max-Age=600; HttpOnly; SameSite=Strict; Secure")
        );
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::try_from(format!("form_csrf={nonce}")).unwrap());
        assert_eq!(cookie.nonce(&headers), None, "a cookie any sibling host could set");
        headers.insert(COOKIE, HeaderValue::try_from(format!("__Host-form_csrf={nonce}")).unwrap());
        assert_eq!(cookie.nonce(&headers), Some(nonce));
    }
}
