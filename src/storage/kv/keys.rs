//! The keys only [`KvStorage`](super::KvStorage) writes, on top of the
//! shared layout (`storage/layout.rs`, which has the table of both
//! backends), and how a listed key is read.

use crate::crypto::SecretDigest;

pub(crate) use crate::storage::layout::Keys;

/// The key-value backend's own keys: its indexes (one key per entry) and
/// the health probe.
impl Keys {
    pub(crate) fn by_subject(&self, subject: &str, grant_id: &str) -> String {
        format!("{}{grant_id}", self.subject_prefix(subject))
    }

    pub(crate) fn subject_prefix(&self, subject: &str) -> String {
        format!("{}subject:{}:", self.prefix(), escape(subject))
    }

    pub(crate) fn by_client(&self, client_id: &str, grant_id: &str) -> String {
        format!("{}{grant_id}", self.client_grants_prefix(client_id))
    }

    pub(crate) fn client_grants_prefix(&self, client_id: &str) -> String {
        format!("{}clientgrant:{}:", self.prefix(), escape(client_id))
    }

    pub(crate) fn health(&self) -> String {
        format!("{}health", self.prefix())
    }
}

/// What a key under [`Keys::grants_prefix`] holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum GrantKey<'a> {
    /// A grant record, with its id.
    Grant(&'a str),
    /// An access record.
    Access,
    /// Anything else.
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

/// Components longer than this are replaced by their digest, so that every
/// key stays far below Deno KV's 2 KiB limit whatever a subject or client id is.
const MAX_COMPONENT_BYTES: usize = 256;

/// Escapes `%` and `:` so that an escaped component never contains the
/// separator; a long component becomes `%h` and its SHA-256 in hex, which no
/// escaped component can spell (a literal `%` is always `%25`).
fn escape(component: &str) -> String {
    if component.len() > MAX_COMPONENT_BYTES {
        return format!("%h{}", SecretDigest::of(component).to_hex());
    }
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
    fn long_components_are_digested_and_cannot_collide_with_short_ones() {
        let keys = Keys::new("oauth:");
        let long = "s".repeat(5000);
        let key = keys.by_subject(&long, "g1");
        assert!(key.len() < 200, "{} bytes", key.len());
        assert_ne!(key, keys.by_subject(&"s".repeat(5001), "g1"));
        let spelled = format!("%h{}", SecretDigest::of(&long).to_hex());
        assert_ne!(keys.by_subject(&spelled, "g1"), key, "a literal %h is escaped");
        assert_eq!(keys.by_subject(&"a".repeat(256), "g"), format!("oauth:subject:{}:g", "a".repeat(256)));
    }

    #[test]
    fn grant_keys_are_classified() {
        let keys = Keys::new("p:");
        assert_eq!(classify(&keys, &keys.grant("g1")), GrantKey::Grant("g1"));
        assert_eq!(classify(&keys, &keys.access("g1", &SecretDigest::of("x"))), GrantKey::Access);
        assert_eq!(classify(&keys, &format!("{}{{g1}}:lock", keys.prefix())), GrantKey::Other);
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
