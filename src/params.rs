//! Request parameters (query strings and form bodies) with OAuth's rules:
//! a parameter sent twice is an error (RFC 6749 §3.1), an empty value counts
//! as absent.

use crate::error::OAuthError;

/// Decoded `name=value` pairs, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses `application/x-www-form-urlencoded` text.
    pub fn parse(encoded: &str) -> Self {
        Self(form_urlencoded::parse(encoded.as_bytes()).into_owned().collect())
    }

    /// Builds from pairs.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }

    /// The single value of `name`; `invalid_request` if it appears twice.
    pub fn single(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        let mut values = self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(OAuthError::invalid_request(format!("{name} must not be repeated")));
        }
        Ok(first.filter(|v| !v.is_empty()))
    }

    /// Like [`single`](Self::single) but absent is `invalid_request` too.
    pub fn required(&self, name: &str) -> Result<&str, OAuthError> {
        self.single(name)?.ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
    }

    /// Every pair.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_and_empties() {
        let p = Params::parse("a=1&b=&a=2&c=x%20y");
        assert!(p.single("a").is_err());
        assert_eq!(p.single("b").unwrap(), None);
        assert_eq!(p.single("c").unwrap(), Some("x y"));
        assert!(p.required("missing").is_err());
    }
}
