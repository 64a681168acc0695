//! The key layout of the stores that keep records under string keys: the
//! key-value backend ([`KvStorage`](super::KvStorage)) and Redis
//! (`redis/wire.rs` and its Lua scripts). One [`Keys`] builds every key; the
//! keys only Redis writes (its sets) are added in `redis/wire.rs`, and one
//! place here parses the keys a key-value listing returns.
//!
//! | key | key-value backend | Redis |
//! |---|---|---|
//! | `<prefix>{<grant id>}:grant` | the grant | the grant (its stored form) |
//! | `<prefix>{<grant id>}:at:<digest hex>` | an access record | an access record |
//! | `<prefix>client:<client id>` | a client | a client |
//! | `<prefix>clients` | | set of client ids |
//! | `<prefix>subject:<subject>:<grant id>` | index entry (subject escaped) | |
//! | `<prefix>subject:<subject>` | | index: set of grant ids |
//! | `<prefix>clientgrant:<client id>:<grant id>` | index entry (client id escaped) | |
//! | `<prefix>clientgrants:<client id>` | | index: set of grant ids |
//! | `<prefix>{stats}:<kind>` | | sorted sets `stats()` counts |
//! | `<prefix>health` | the health probe | |
//!
//! Every key of a grant carries the hash tag `{<grant id>}`, so a Redis
//! script touches one cluster slot, and one prefix lists a grant's keys.
//!
//! The per-client index has two names on purpose: a key-value index is one
//! key per pair (`clientgrant:<client>:<grant>`, listed by prefix, since a
//! key-value host has no sets), a Redis index is one set per client
//! (`clientgrants:<client>`). The names are part of data already stored:
//! renaming either would leave deployed stores with index entries the new
//! code does not list, so `delete_client` would stop revoking the grants
//! indexed before the upgrade.

use crate::crypto::SecretDigest;

/// Builds every key from the configured prefix (Redis adds its sets in `redis/wire.rs`).
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

    /// Every grant and access key starts with this.
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

    #[test]
    fn a_grants_keys_share_its_hash_tag_and_prefix() {
        let keys = Keys::new("p:");
        let digest = SecretDigest::of("x");
        assert_eq!(keys.grant("g1"), "p:{g1}:grant");
        assert_eq!(keys.access("g1", &digest), format!("p:{{g1}}:at:{}", digest.to_hex()));
        assert!(keys.access("g1", &digest).starts_with(&keys.access_prefix("g1")));
        assert!(keys.grant("g1").starts_with(&keys.grants_prefix()));
        assert_eq!(keys.client("c1"), "p:client:c1");
        assert!(keys.client("c1").starts_with(&keys.clients_prefix()));
    }

    /// The Lua scripts build some keys themselves from the prefix they find:
    /// they must spell them as the Rust side does.
    #[cfg(all(feature = "redis", not(target_arch = "wasm32")))]
    #[test]
    fn the_redis_scripts_spell_keys_as_the_layout_does() {
        let keys = Keys::new("");
        let common = include_str!("../redis/scripts/common.lua");
        let put = include_str!("../redis/scripts/put.lua");
        let by_client = format!("prefix .. '{}' .. g.client_id", keys.client_grants(""));
        assert!(common.contains(&by_client) && put.contains(&by_client), "{by_client}");
        let by_subject = format!("prefix .. '{}' .. g.subject", keys.subject(""));
        assert!(common.contains(&by_subject), "{by_subject}");
        let grant_key = keys.grant("ID");
        let (open, close) = grant_key.split_once("ID").unwrap_or_default();
        let grant = format!("prefix .. '{open}' .. id .. '{close}'");
        assert!(put.contains(&grant), "{grant}");
    }
}
