//! CSRF protection for the demo's forms (the consent page, the connected-apps
//! page).
//!
//! The `GET` that shows a form sets an `HttpOnly; SameSite=Strict` cookie
//! holding a random nonce and puts HMAC-SHA256(key, purpose || nonce ||
//! canonical fields) in the form. The `POST` needs both and a match, so
//! neither another site nor a tampered form gets through; the purpose keeps a
//! token of one form from being accepted by another.

use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use sha2::{Digest as _, Sha256};

use crate::crypto::{base64url, base64url_decode, constant_time_eq, random_secret, RandomnessError};

/// One form's cookie: its name and the path it is sent to.
pub(super) struct CsrfCookie<'a> {
    pub name: &'static str,
    pub path: &'a str,
    /// Seconds the form stays usable.
    pub max_age: u32,
    /// `Secure` (the issuer is `https`).
    pub secure: bool,
}

impl CsrfCookie<'_> {
    /// The nonce the browser sent, if present and well-formed (43 base64url characters).
    pub fn nonce(&self, headers: &HeaderMap) -> Option<String> {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.name)
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
        let secure = if self.secure { "; Secure" } else { "" };
        let cookie = format!(
            "{}={nonce}; Path={}; Max-Age={}; HttpOnly; SameSite=Strict{secure}",
            self.name, self.path, self.max_age
        );
        HeaderValue::try_from(cookie).ok()
    }
}

/// HMAC-SHA256(key, purpose || 0 || nonce || 0 || canonical fields),
/// base64url. The fields are sorted, so the token does not depend on the
/// order a browser submits them.
pub(super) fn token(key: &[u8; 32], purpose: &str, nonce: &str, fields: &[(String, String)]) -> String {
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
        .chain_update(nonce.as_bytes())
        .chain_update([0u8])
        .chain_update(canonical.as_bytes())
        .finalize();
    let mac = Sha256::new().chain_update(outer_pad).chain_update(inner).finalize();
    base64url(&mac)
}

/// Whether `presented` is the token for these inputs (constant time).
pub(super) fn verify(
    key: &[u8; 32],
    purpose: &str,
    nonce: &str,
    fields: &[(String, String)],
    presented: &str,
) -> bool {
    constant_time_eq(&token(key, purpose, nonce, fields), presented)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn token_binds_purpose_nonce_and_fields_not_order() {
        let key = [7u8; 32];
        let a = pairs(&[("a", "1"), ("b", "2")]);
        let b = pairs(&[("b", "2"), ("a", "1")]);
        let nonce = "n".repeat(43);
        assert_eq!(token(&key, "p", &nonce, &a), token(&key, "p", &nonce, &b));
        assert!(verify(&key, "p", &nonce, &b, &token(&key, "p", &nonce, &a)));
        assert_ne!(token(&key, "p", &nonce, &a), token(&key, "p", &"m".repeat(43), &a));
        assert_ne!(token(&key, "p", &nonce, &a), token(&key, "q", &nonce, &a));
        assert_ne!(token(&key, "p", &nonce, &a), token(&key, "p", &nonce, &pairs(&[("a", "1"), ("b", "3")])));
        assert_ne!(token(&key, "p", &nonce, &a), token(&[8u8; 32], "p", &nonce, &a));
    }

    #[test]
    fn reads_only_its_own_well_formed_nonce() {
        let cookie = CsrfCookie { name: "form_csrf", path: "/", max_age: 60, secure: false };
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
            format!("form_csrf={nonce}; Path=/; Max-Age=60; HttpOnly; SameSite=Strict")
        );
    }
}
