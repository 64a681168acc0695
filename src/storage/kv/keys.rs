//! The key layout of [`KvStorage`](super::KvStorage) (the table is in the
//! parent module's docs): one place builds and parses every key.

use crate::crypto::SecretDigest;

/// Builds every key from the configured prefix.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    pub(crate) fn new(prefix: impl Into<String>) -> Self {
        Self { prefix: prefix.into() }
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(crate) fn grant(&self, grant_id: &str) -> String {
        format!("{}{{{grant_id}}}:grant", self.prefix)
    }

    pub(crate) fn access(&self, grant_id: &str, digest: &SecretDigest) -> String {
        format!("{}{{{grant_id}}}:at:{}", self.prefix, digest.to_hex())
    }

    /// Every access key of one grant starts with this.
    pub(crate) fn access_prefix(&self, grant_id: &str) -> String {
        format!("{}{{{grant_id}}}:at:", self.prefix)
    }

    pub(crate) fn lock(&self, grant_id: &str) -> String {
        format!("{}{{{grant_id}}}:lock", self.prefix)
    }

    /// Every grant, access and lock key starts with this.
    pub(crate) fn grants_prefix(&self) -> String {
        format!("{}{{", self.prefix)
    }

    pub(crate) fn client(&self, client_id: &str) -> String {
        format!("{}client:{client_id}", self.prefix)
    }

    pub(crate) fn clients_prefix(&self) -> String {
        format!("{}client:", self.prefix)
    }

    pub(crate) fn by_subject(&self, subject: &str, grant_id: &str) -> String {
        format!("{}{grant_id}", self.subject_prefix(subject))
    }

    pub(crate) fn subject_prefix(&self, subject: &str) -> String {
        format!("{}subject:{}:", self.prefix, escape(subject))
    }

    pub(crate) fn by_client(&self, client_id: &str, grant_id: &str) -> String {
        format!("{}{grant_id}", self.client_grants_prefix(client_id))
    }

    pub(crate) fn client_grants_prefix(&self, client_id: &str) -> String {
        format!("{}clientgrant:{}:", self.prefix, escape(client_id))
    }

    pub(crate) fn health(&self) -> String {
        format!("{}health", self.prefix)
    }
}

/// What a key under [`Keys::grants_prefix`] holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum GrantKey<'a> {
    /// A grant record, with its id.
    Grant(&'a str),
    /// An access record.
    Access,
    /// Anything else (locks).
    Other,
}

/// Classifies a key found by listing [`Keys::grants_prefix`].
pub(crate) fn classify<'a>(keys: &Keys, key: &'a str) -> GrantKey<'a> {
    let Some(rest) = key.strip_prefix(&keys.grants_prefix()) else { return GrantKey::Other };
    if let Some(id) = rest.strip_suffix("}:grant") {
        return GrantKey::Grant(id);
    }
    // `…}:at:` and 64 hex digits; byte checks rather than a reverse substring
    // search, whose code the wasm module would otherwise carry for this alone.
    let bytes = rest.as_bytes();
    let access = bytes.len() >= 69
        && bytes[bytes.len() - 69..bytes.len() - 64] == *b"}:at:"
        && bytes[bytes.len() - 64..].iter().all(u8::is_ascii_hexdigit);
    if access {
        GrantKey::Access
    } else {
        GrantKey::Other
    }
}

/// Escapes `%` and `:` so that an escaped component never contains the separator.
fn escape(component: &str) -> String {
    let mut out = String::with_capacity(component.len());
    for c in component.chars() {
        match c {
            '%' => out.push_str("%25"),
            ':' => out.push_str("%3A"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_subject_prefix_never_lists_another() {
        let keys = Keys::new("oauth:");
        let other = keys.by_subject("alice:x", "g1");
        assert!(!other.starts_with(&keys.subject_prefix("alice")));
        assert_eq!(keys.by_subject("a%b", "g1"), "oauth:subject:a%25b:g1");
        assert!(!keys.client_grants_prefix("c").starts_with(&keys.clients_prefix()));
    }

    #[test]
    fn grant_keys_are_classified() {
        let keys = Keys::new("p:");
        assert_eq!(classify(&keys, &keys.grant("g1")), GrantKey::Grant("g1"));
        assert_eq!(classify(&keys, &keys.access("g1", &SecretDigest::of("x"))), GrantKey::Access);
        assert_eq!(classify(&keys, &keys.lock("g1")), GrantKey::Other);
        let hex = SecretDigest::of("x").to_hex();
        let prefix = keys.grants_prefix();
        assert_eq!(classify(&keys, &format!("{prefix}{{a}}:at:b}}:at:{hex}")), GrantKey::Access);
        assert_eq!(classify(&keys, &format!("{prefix}}}:at:{hex}")), GrantKey::Access);
        assert_eq!(classify(&keys, &format!("{prefix}{{g}}:at:{}", &hex[1..])), GrantKey::Other);
        assert_eq!(classify(&keys, &format!("{prefix}{{g}}:at:{hex}0")), GrantKey::Other);
        assert_eq!(classify(&keys, &format!("{prefix}{{g}}:at:{}g", &hex[1..])), GrantKey::Other);
        assert_eq!(classify(&keys, &format!("{prefix}{{g}}:xx:{hex}")), GrantKey::Other);
        assert_eq!(classify(&keys, &format!("{prefix}é{hex}")), GrantKey::Other);
        assert_eq!(classify(&keys, &format!("{prefix}{{g}}é:at:{hex}")), GrantKey::Other);
        assert_eq!(classify(&keys, &format!("{prefix}{hex}")), GrantKey::Other);
    }
}
